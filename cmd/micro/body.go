package main

import (
	stderrors "errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// openBody opens where the request comes from, or the requests of a stream,
// one per line: the argument, or -d, or else standard input. An argument or
// -d value "@file" reads a file, "@-" standard input, and anything else is
// the JSON itself. terminal reports that the requests come from a terminal,
// where a person types them.
func openBody(arg, data string, argGiven, dataGiven bool, stdin io.Reader) (body io.ReadCloser, terminal bool, err error) {
	source := "@-"
	switch {
	case argGiven && dataGiven:
		return nil, false, &usageError{stderrors.New("give the request as an argument or with -d, not both")}
	case argGiven:
		source = arg
	case dataGiven:
		source = data
	}
	switch name, ok := strings.CutPrefix(source, "@"); {
	case !ok:
		return io.NopCloser(strings.NewReader(source)), false, nil
	case name == "-":
		return io.NopCloser(stdin), isTerminal(stdin), nil
	default:
		f, err := os.Open(name)
		if err != nil {
			return nil, false, fmt.Errorf("read the request: %w", err)
		}
		return f, false, nil
	}
}

// isTerminal reports whether r is a terminal (a character device) rather
// than a pipe, a file or a buffer.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
