package config

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	kjson "github.com/knadh/koanf/parsers/json"
	"github.com/knadh/koanf/parsers/toml/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/v2"
	gotoml "github.com/pelletier/go-toml/v2"
	yamlv4 "go.yaml.in/yaml/v4"
)

// FileOption configures a [File] source.
type FileOption interface {
	applyFile(*fileOptions)
}

type fileOptions struct {
	optional bool
	lookup   func(string) (string, bool)
}

type fileOptionFunc func(*fileOptions)

func (f fileOptionFunc) applyFile(o *fileOptions) { f(o) }

// Optional makes a missing file an empty source rather than an error; once
// the file appears, a watching [Config] loads it. By default a missing file
// is an error.
func Optional() FileOption {
	return fileOptionFunc(func(o *fileOptions) { o.optional = true })
}

// WithLookupEnv sets where ${VAR} in the file's values is looked up. The
// default is [os.LookupEnv].
func WithLookupEnv(lookup func(key string) (string, bool)) FileOption {
	return fileOptionFunc(func(o *fileOptions) { o.lookup = lookup })
}

// File returns a source that reads path, in YAML (.yaml, .yml), JSON
// (.json) or TOML (.toml) by its extension. In string values, ${VAR} is
// replaced by the environment variable VAR, which must be set, and
// ${VAR:default} by VAR or, when VAR is unset or empty, by default.
//
// The source is a [Watcher]: it watches path's directory, so that a save in
// place, an atomic rename over path and a Kubernetes ConfigMap update (a
// ..data symlink swap) are all seen.
func File(path string, opts ...FileOption) Source {
	f := &file{path: path, options: fileOptions{lookup: os.LookupEnv}}
	for _, o := range opts {
		o.applyFile(&f.options)
	}
	return f
}

type file struct {
	path    string
	options fileOptions
}

func (f *file) String() string { return f.path }

func (f *file) parser() (koanf.Parser, error) {
	switch strings.ToLower(filepath.Ext(f.path)) {
	case ".yaml", ".yml":
		return yaml.Parser(), nil
	case ".json":
		return kjson.Parser(), nil
	case ".toml":
		return toml.Parser(), nil
	}
	return nil, &Error{Source: f.path, Err: errors.New("unknown format: want a .yaml, .yml, .json or .toml file")}
}

func (f *file) Load(context.Context) (map[string]any, error) {
	parser, err := f.parser()
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) && f.options.optional {
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config file: %w", err)
	}
	m, err := parser.Unmarshal(data)
	if err != nil {
		return nil, syntaxError(f.path, data, err)
	}
	if m == nil {
		m = map[string]any{}
	}
	if err := f.expand(m, ""); err != nil {
		return nil, err
	}
	return m, nil
}

// variable is ${NAME} or ${NAME:default}.
var variable = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}`)

// expand replaces the variables in the strings of m, in place.
func (f *file) expand(m map[string]any, prefix string) error {
	for k, v := range m {
		key := prefix + k
		var err error
		m[k], err = f.expandValue(v, key)
		if err != nil {
			return err
		}
	}
	return nil
}

func (f *file) expandValue(v any, key string) (any, error) {
	switch v := v.(type) {
	case string:
		var missing string
		out := variable.ReplaceAllStringFunc(v, func(ref string) string {
			sub := variable.FindStringSubmatch(ref)
			value, ok := f.options.lookup(sub[1])
			if value == "" && strings.Contains(ref, ":") {
				return sub[2]
			}
			if !ok && missing == "" {
				missing = sub[1]
			}
			return value
		})
		if missing != "" {
			return nil, &Error{Source: f.path, Key: key, Err: fmt.Errorf("${%s} is not set: set it, or give a default as ${%s:default}", missing, missing)}
		}
		return out, nil
	case map[string]any:
		return v, f.expand(v, key+".")
	case []any:
		for i, e := range v {
			var err error
			if v[i], err = f.expandValue(e, key+"."+strconv.Itoa(i)); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

// yamlLine finds the position in a YAML error message.
var yamlLine = regexp.MustCompile(`^yaml: (?:unmarshal errors:\n\s*)?line (\d+)(?:, column (\d+))?: `)

// syntaxError turns a parser's error into an [*Error] at a line and column.
func syntaxError(path string, data []byte, err error) error {
	e := &Error{Source: path, Err: err}
	var jsonErr *json.SyntaxError
	var tomlErr *gotoml.DecodeError
	switch {
	case errors.As(err, &jsonErr):
		// Offset is just after the byte that was wrong.
		before := data[:max(0, min(int(jsonErr.Offset), len(data))-1)]
		e.Line = bytes.Count(before, []byte("\n")) + 1
		e.Column = len(before) - bytes.LastIndexByte(before, '\n')
	case errors.As(err, &tomlErr):
		e.Line, e.Column = tomlErr.Position()
		e.Err = errors.New(tomlErr.Error())
	default:
		yamlError(e, data)
	}
	return e
}

// yamlError sets e's position and message for YAML data that
// go.yaml.in/yaml/v3 (koanf's parser) refused. v3 says only "line N", and
// for a parser error N is where the enclosing construct starts, counted
// from 0 (an unclosed bracket on line 2 is "line 1"); so the data is parsed
// again, by yaml/v4, whose errors carry the line and column. That happens
// only for data that fails: what loads is what v3 makes of it.
func yamlError(e *Error, data []byte) {
	var v any
	var loadErr *yamlv4.LoadError
	var loadErrs *yamlv4.LoadErrors
	switch err := yamlv4.Unmarshal(data, &v); {
	case errors.As(err, &loadErrs) && len(loadErrs.Errors) > 0:
		loadErr = loadErrs.Errors[0]
	case errors.As(err, &loadErr):
	}
	if loadErr == nil || loadErr.Mark.Line == 0 {
		// v4 does not place it: give v3's line, and say the column is unknown
		// rather than guess.
		msg := e.Err.Error()
		if sub := yamlLine.FindStringSubmatch(msg); sub != nil {
			e.Line, _ = strconv.Atoi(sub[1])
			e.Column, _ = strconv.Atoi(sub[2])
			msg = strings.TrimPrefix(msg, sub[0])
		}
		if e.Column == 0 {
			msg += " (column unknown)"
		}
		e.Err = errors.New(msg)
		return
	}
	e.Line, e.Column = loadErr.Mark.Line, loadErr.Mark.Column
	msg := loadErr.Message
	// A flow collection or a quoted scalar ends at a character the file
	// lacks; the error is found where the parser gave up, often the end of
	// the file, so say where the construct opens too. For block contexts,
	// that is the start of the enclosing mapping, which does not help.
	if ctx := loadErr.ContextMsg; loadErr.ContextMark.Line > 0 && loadErr.ContextMark != loadErr.Mark &&
		(strings.Contains(ctx, "flow") || strings.Contains(ctx, "quoted scalar")) {
		msg += fmt.Sprintf(" (%s from %d:%d)", ctx, loadErr.ContextMark.Line, loadErr.ContextMark.Column)
	}
	if loadErrs != nil && len(loadErrs.Errors) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(loadErrs.Errors)-1)
	}
	if e.Column == 0 {
		msg += " (column unknown)"
	}
	e.Err = errors.New(msg)
}

// settle is how long after an event in the file's directory the file is
// read: an editor's save or a ConfigMap swap is several events, and an
// in-place write can be seen half done (a later event reads it again).
const settle = 50 * time.Millisecond

func (f *file) Watch(ctx context.Context, changed func()) (<-chan struct{}, error) {
	dir := filepath.Dir(f.path)
	done := make(chan struct{})
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) && f.options.optional {
		// Nothing to watch, and nothing will be unless the directory is made.
		go func() { <-ctx.Done(); close(done) }()
		return done, nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", f.path, err)
	}
	if err := w.Add(dir); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("watch %s: %w", f.path, err)
	}
	last := f.fingerprint()
	go func() {
		defer close(done)
		defer func() { _ = w.Close() }()
		timer := time.NewTimer(settle)
		timer.Stop()
		defer timer.Stop()
		pending := false // the timer runs
		arm := func() {
			if !pending {
				timer.Reset(settle)
				pending = true
			}
		}
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-w.Events:
				if !ok {
					return
				}
				// Any event in the directory may be the file: its name, a
				// rename over it, or the swap of a symlink on its path. The
				// first starts the timer, so that a busy directory cannot
				// put the read off for ever.
				arm()
			case _, ok := <-w.Errors:
				if !ok {
					return
				}
				arm() // events may have been lost: look anyway
			case <-timer.C:
				pending = false
				if now := f.fingerprint(); now != last {
					last = now
					changed()
				}
			}
		}
	}()
	return done, nil
}

// fingerprint is what the file's content is, to tell a change from noise
// in its directory.
func (f *file) fingerprint() [sha256.Size]byte {
	data, err := os.ReadFile(f.path)
	if err != nil {
		data = []byte("error: " + err.Error())
	}
	return sha256.Sum256(data)
}
