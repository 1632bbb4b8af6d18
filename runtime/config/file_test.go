package config

import (
	"errors"
	"testing"
)

// TestYAMLErrorUnplaced covers data that yaml/v3 refuses and yaml/v4 loads:
// the error keeps v3's line and says the column is unknown.
func TestYAMLErrorUnplaced(t *testing.T) {
	t.Parallel()
	e := &Error{Source: "c.yaml", Err: errors.New("yaml: line 3: something v3 alone refuses")}
	yamlError(e, []byte("a: 1\n"))
	const want = "c.yaml:3: something v3 alone refuses (column unknown)"
	if e.Line != 3 || e.Column != 0 || e.Error() != want {
		t.Errorf("yamlError() = %v at %d:%d, want %s at 3:0", e, e.Line, e.Column, want)
	}
}
