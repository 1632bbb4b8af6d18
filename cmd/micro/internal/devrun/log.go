package devrun

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// colors are the ANSI foreground colours services' prefixes take in turn.
var colors = []string{"36", "33", "35", "32", "34", "31", "96", "93", "95", "92"}

// Stream is the one log stream of micro run: whole lines, each prefixed
// with who wrote it, from any number of goroutines. Make it with
// [NewStream].
type Stream struct {
	mu    sync.Mutex
	out   io.Writer
	color bool
	width int // of the widest prefix
	next  int // the next colour
}

// NewStream returns a stream of lines written to out, their prefixes
// coloured with ANSI escapes when color is set.
func NewStream(out io.Writer, color bool) *Stream {
	return &Stream{out: out, color: color}
}

// Writer returns a writer of lines prefixed with name, such as the
// gateway's, in a colour of its own when the stream is coloured. Close
// writes a last partial line.
func (s *Stream) Writer(name string) io.WriteCloser { return s.writer(name) }

func (s *Stream) writer(name string) *lineWriter {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.width = max(s.width, len(name))
	color := colors[s.next%len(colors)]
	s.next++
	return &lineWriter{s: s, name: name, color: color}
}

// write writes one line with its prefix.
func (s *Stream) write(name, color string, line []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.color {
		_, _ = fmt.Fprintf(s.out, "\x1b[%sm%-*s |\x1b[0m %s", color, s.width, name, line)
		return
	}
	_, _ = fmt.Fprintf(s.out, "%-*s | %s", s.width, name, line)
}

// lineWriter is an [io.Writer] that writes whole lines to a stream.
type lineWriter struct {
	s           *Stream
	name, color string
	mu          sync.Mutex
	buf         []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.s.write(w.name, w.color, w.buf[:i+1])
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

// printf writes a line.
func (w *lineWriter) printf(format string, args ...any) {
	_, _ = fmt.Fprintf(w, format+"\n", args...)
}

// Close writes what is left of a line.
func (w *lineWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.s.write(w.name, w.color, append(w.buf, '\n'))
		w.buf = nil
	}
	return nil
}
