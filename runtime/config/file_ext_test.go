package config_test

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/protomicro/micro/runtime/config"
	"github.com/protomicro/micro/testdata/testutil"
)

// change is one call of a watch callback.
type change struct {
	old, new settings
	err      error
	at       time.Time
}

// recorder collects the calls of a [config.Value] watch callback.
type recorder struct {
	mu      sync.Mutex
	changes []change
}

func (r *recorder) record(old, new settings, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, change{old, new, err, time.Now()})
}

// wait waits for the n-th call and returns it.
func (r *recorder) wait(t *testing.T, n int) change {
	t.Helper()
	var got change
	testutil.WaitFor(t, "a call of the watch callback", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		if len(r.changes) < n {
			return false
		}
		got = r.changes[n-1]
		return true
	})
	return got
}

// bindFile binds settings to the file at path, watched, logging to log.
func bindFile(t *testing.T, path string, log *testutil.Buffer) (*config.Value[settings], *recorder) {
	t.Helper()
	c := newConfig(t, config.WithSources(config.File(path)), config.WithLogger(slog.New(slog.NewTextHandler(log, nil))))
	v, err := config.Bind[settings](c)
	if err != nil {
		t.Fatal(err)
	}
	r := new(recorder)
	t.Cleanup(v.Watch(r.record))
	return v, r
}

func TestWatchFile(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		// setup lays out the file in dir and returns the path to watch.
		setup func(t *testing.T, dir string) string
		// edit changes what the file at path says to content.
		edit func(t *testing.T, dir, path, content string)
	}{
		{
			name:  "in place",
			setup: func(t *testing.T, dir string) string { return writeFile(t, dir, "config.yaml", "port: 1\n") },
			edit: func(t *testing.T, dir, path, content string) {
				f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if _, err := f.WriteString(content); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name:  "atomic rename",
			setup: func(t *testing.T, dir string) string { return writeFile(t, dir, "config.yaml", "port: 1\n") },
			edit: func(t *testing.T, dir, path, content string) {
				tmp := writeFile(t, dir, ".config.yaml.swp", content)
				if err := os.Rename(tmp, path); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			// A Kubernetes ConfigMap volume: config.yaml -> ..data/config.yaml,
			// ..data -> ..2026_01_01; an update writes a new timestamped
			// directory and renames a new ..data link over the old.
			name: "configmap symlink swap",
			setup: func(t *testing.T, dir string) string {
				configMapVersion(t, dir, "..v1", "port: 1\n")
				if err := os.Symlink("..v1", filepath.Join(dir, "..data")); err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(dir, "config.yaml")
				if err := os.Symlink(filepath.Join("..data", "config.yaml"), path); err != nil {
					t.Fatal(err)
				}
				return path
			},
			edit: func(t *testing.T, dir, path, content string) {
				version := fmt.Sprintf("..v%d", time.Now().UnixNano())
				configMapVersion(t, dir, version, content)
				if err := os.Symlink(version, filepath.Join(dir, "..data_tmp")); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
					t.Fatal(err)
				}
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := tt.setup(t, dir)
			var log testutil.Buffer
			v, r := bindFile(t, path, &log)
			if got := v.Get().Port; got != 1 {
				t.Fatalf("Get().Port = %d, want 1", got)
			}

			start := time.Now()
			tt.edit(t, dir, path, "port: 2\n")
			got := r.wait(t, 1)
			t.Logf("the change reached the callback after %s", got.at.Sub(start))
			if got.err != nil || got.old.Port != 1 || got.new.Port != 2 || v.Get().Port != 2 {
				t.Fatalf("callback(old %d, new %d, %v), Get().Port = %d; want (1, 2, nil), 2", got.old.Port, got.new.Port, got.err, v.Get().Port)
			}
			if late := got.at.Sub(start); late > time.Second && !testing.Short() {
				t.Logf("slow: %s (a loaded machine?)", late)
			}

			// A broken edit keeps the last good value and says where it broke.
			tt.edit(t, dir, path, "port: 3\nname: a: b\n")
			got = r.wait(t, 2)
			var configErr *config.Error
			if !errors.As(got.err, &configErr) || configErr.Line != 2 || configErr.Column != 8 || !strings.HasSuffix(configErr.Source, "config.yaml") {
				t.Fatalf("callback error = %v, want an *config.Error at config.yaml:2:8", got.err)
			}
			if !strings.Contains(log.String(), "config.yaml:2:8: mapping values are not allowed") {
				t.Errorf("log = %q, want the rejected reload with the file, line and column", log.String())
			}
			if got.new.Port != 2 || v.Get().Port != 2 {
				t.Errorf("after a broken edit, callback new.Port = %d and Get().Port = %d, want the last good 2", got.new.Port, v.Get().Port)
			}

			// Fixed, it loads again.
			tt.edit(t, dir, path, "port: 4\n")
			if got = r.wait(t, 3); got.err != nil || got.old.Port != 2 || got.new.Port != 4 {
				t.Errorf("callback(old %d, new %d, %v), want (2, 4, nil)", got.old.Port, got.new.Port, got.err)
			}
		})
	}
}

// configMapVersion writes one version of a ConfigMap volume's files.
func configMapVersion(t *testing.T, dir, version, content string) {
	t.Helper()
	if err := os.Mkdir(filepath.Join(dir, version), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, version), "config.yaml", content)
}

func TestWatchOff(t *testing.T) {
	t.Parallel()
	path := writeFile(t, t.TempDir(), "config.yaml", "port: 1\n")
	c := newConfig(t, config.WithoutWatch(), config.WithSources(config.File(path)))
	v, err := config.Bind[settings](c)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Dir(path), "config.yaml", "port: 2\n")
	if got := v.Get().Port; got != 1 {
		t.Errorf("unwatched Get().Port = %d before Reload, want 1", got)
	}
	if err := c.Reload(testutil.Context(t)); err != nil {
		t.Fatal(err)
	}
	if got := v.Get().Port; got != 2 {
		t.Errorf("Get().Port = %d after Reload, want 2", got)
	}
}

func TestValidatorRejectsReload(t *testing.T) {
	t.Parallel()
	path := writeFile(t, t.TempDir(), "config.yaml", "port: 1\n")
	c := newConfig(t, config.WithoutWatch(), config.WithSources(config.File(path)))
	v, err := config.Bind[settings](c, config.Validate(func(s settings) error {
		if s.Port > 1000 {
			return errors.New("port is over 1000")
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	var snapshotErr error
	defer c.Watch(func(_, _ *config.Snapshot, err error) { snapshotErr = err })()
	writeFile(t, filepath.Dir(path), "config.yaml", "port: 5000\n")
	err = c.Reload(testutil.Context(t))
	if err == nil || !strings.Contains(err.Error(), "port is over 1000") || !errors.Is(snapshotErr, err) {
		t.Errorf("Reload = %v, snapshot callback got %v; want both to say the port is over 1000", err, snapshotErr)
	}
	if got := v.Get().Port; got != 1 {
		t.Errorf("Get().Port = %d after a rejected reload, want 1", got)
	}
	if got := c.Snapshot().Get("port"); got != 1 {
		t.Errorf("Snapshot().Get(port) = %v after a rejected reload, want 1", got)
	}
}
