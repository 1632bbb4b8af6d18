package errors

import "testing"

func TestCodeText(t *testing.T) {
	t.Parallel()
	for code := CodeOK; code <= maxCode+1; code++ {
		text, err := code.MarshalText()
		if err != nil {
			t.Fatalf("Code(%d).MarshalText() error: %v", code, err)
		}
		var got Code
		if err := got.UnmarshalText(text); err != nil {
			t.Fatalf("UnmarshalText(%q) error: %v", text, err)
		}
		if got != code {
			t.Errorf("UnmarshalText(%q) = %v, want %v", text, got, code)
		}
	}
	var c Code
	if err := c.UnmarshalText([]byte("NOT_FOUND")); err != nil || c != CodeNotFound {
		t.Errorf("UnmarshalText(%q) = %v, %v, want %v", "NOT_FOUND", c, err, CodeNotFound)
	}
	if err := c.UnmarshalText([]byte("nonsense")); err == nil {
		t.Errorf("UnmarshalText(%q) succeeded, want error", "nonsense")
	}
	if got, want := Code(99).String(), "code_99"; got != want {
		t.Errorf("Code(99).String() = %q, want %q", got, want)
	}
}
