// Package local is a [registry.Registry] that needs nothing installed: the
// processes of one user on one host share it through files in a private
// directory, one file per node. It is micro's default registry.
//
// A node registered with a TTL is alive while its file's modification time is
// within the TTL; registering it again with the same content only touches the
// file, which is the heartbeat. A process that dies without deregistering
// leaves a file that every reader ignores once the TTL has passed, and that is
// removed a minute later. Watchers poll the directory (every 250ms by
// default), so they see a change within one poll interval, and changes made
// faster than that may reach them merged.
//
// The directory is $TMPDIR/micro-<uid>/registry unless [WithDir] says
// otherwise; it and its files are readable by their owner only.
package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/protomicro/micro/runtime/internal/userdir"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/internal/watch"
)

// Registry is a registry kept in a directory. It is safe for concurrent use
// by any number of goroutines and processes.
type Registry struct {
	dir  string
	poll time.Duration

	gcMu   sync.Mutex
	lastGC time.Time
}

var _ registry.Registry = (*Registry)(nil)

// entry is the content of a node's file.
type entry struct {
	// Service is the service version with this one node.
	Service *registry.Service `json:"service"`
	// TTLMillis is how long the node stays alive after its file's last
	// change; zero means until it is deregistered.
	TTLMillis int64 `json:"ttl_ms,omitempty"`
}

func (e *entry) ttl() time.Duration { return time.Duration(e.TTLMillis) * time.Millisecond }

// expired reports whether a node whose file was last touched at modified
// is dead at now.
func (e *entry) expired(modified, now time.Time) bool {
	return e.TTLMillis > 0 && now.Sub(modified) > e.ttl()
}

// New opens the registry directory, creating it if need be.
func New(opts ...Option) (*Registry, error) {
	o := options{poll: 250 * time.Millisecond}
	for _, opt := range opts {
		opt.apply(&o)
	}
	if o.dir == "" {
		dir, err := userdir.Path("registry")
		if err != nil {
			return nil, fmt.Errorf("local registry: %w", err)
		}
		o.dir = dir
	}
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return nil, fmt.Errorf("local registry: %w", err)
	}
	return &Registry{dir: o.dir, poll: o.poll}, nil
}

// String returns "local".
func (r *Registry) String() string { return "local" }

// Dir returns the directory the registry lives in.
func (r *Registry) Dir() string { return r.dir }

// Register implements [registry.Registry].
func (r *Registry) Register(ctx context.Context, s *registry.Service, opts ...registry.RegisterOption) error {
	if err := s.Validate(); err != nil {
		return err
	}
	o := registry.NewRegisterOptions(opts...)
	for _, n := range s.Nodes {
		one := s.Clone()
		one.Nodes = []*registry.Node{n}
		data, err := json.Marshal(entry{Service: one, TTLMillis: o.TTL.Milliseconds()})
		if err != nil {
			return fmt.Errorf("register service %q: %w", s.Name, err)
		}
		if err := r.put(r.nodePath(s.Name, s.Version, n.ID), data); err != nil {
			return fmt.Errorf("register service %q node %q: %w", s.Name, n.ID, err)
		}
	}
	r.collectGarbage(time.Now())
	return nil
}

// put makes the file at path hold data: an unchanged file is only touched,
// which renews its TTL; a changed or new one is replaced atomically, so that
// readers never see half a file.
func (r *Registry) put(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		now := time.Now()
		if err := os.Chtimes(path, now, now); err == nil {
			return nil
		}
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return err
}

// Deregister implements [registry.Registry].
func (r *Registry) Deregister(ctx context.Context, s *registry.Service) error {
	if s == nil || s.Name == "" {
		return fmt.Errorf("deregister: service has no name")
	}
	for _, n := range s.Nodes {
		if err := os.Remove(r.nodePath(s.Name, s.Version, n.ID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("deregister service %q node %q: %w", s.Name, n.ID, err)
		}
	}
	return nil
}

// GetService implements [registry.Registry].
func (r *Registry) GetService(ctx context.Context, name string) ([]*registry.Service, error) {
	nodes, err := r.readService(escape(name), time.Now())
	if err != nil {
		return nil, fmt.Errorf("get service %q: %w", name, err)
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("get service %q: %w", name, registry.ErrNotFound)
	}
	return registry.Group(nodes), nil
}

// ListServices implements [registry.Registry].
func (r *Registry) ListServices(ctx context.Context) ([]*registry.Service, error) {
	dirs, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	now := time.Now()
	var all []*registry.Service
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		nodes, err := r.readService(d.Name(), now)
		if err != nil {
			return nil, fmt.Errorf("list services: %w", err)
		}
		all = append(all, nodes...)
	}
	return registry.Group(all), nil
}

// readService returns the live nodes of the service stored in the directory
// named dir, one single-node service each.
func (r *Registry) readService(dir string, now time.Time) ([]*registry.Service, error) {
	files, err := os.ReadDir(filepath.Join(r.dir, dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var nodes []*registry.Service
	for _, f := range files {
		path := filepath.Join(r.dir, dir, f.Name())
		e, info, err := readEntry(path)
		if err != nil || e == nil || e.expired(info.ModTime(), now) {
			continue // gone, half-written by a crashed writer, or dead
		}
		nodes = append(nodes, e.Service)
	}
	return nodes, nil
}

// readEntry reads the node file at path. It returns a nil entry for files
// that are not node files, and an error for unreadable or malformed ones.
func readEntry(path string) (*entry, fs.FileInfo, error) {
	if !isNodeFile(filepath.Base(path)) {
		return nil, nil, nil
	}
	info, err := os.Lstat(path)
	if err != nil {
		return nil, nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	e := new(entry)
	if err := json.Unmarshal(data, e); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if e.Service == nil || len(e.Service.Nodes) != 1 {
		return nil, nil, fmt.Errorf("%s: not a node entry", path)
	}
	return e, info, nil
}

// Watch implements [registry.Registry]. Changes are found by polling.
func (r *Registry) Watch(ctx context.Context, opts ...registry.WatchOption) (registry.Watcher, error) {
	o := registry.NewWatchOptions(opts...)
	q := watch.New(ctx, o, nil)
	p := &poller{r: r, dirs: make(map[string]*dirState)}
	if o.Service != "" {
		p.only = escape(o.Service)
	}
	if err := p.scan(time.Now(), nil); err != nil {
		q.Stop()
		return nil, fmt.Errorf("watch: %w", err)
	}
	go p.run(q)
	return q, nil
}

// collectGarbage removes, at most once a minute, the files of nodes dead for
// over a minute. Node IDs are new for every process, so a removed file is
// never one that a live process is about to renew.
func (r *Registry) collectGarbage(now time.Time) {
	r.gcMu.Lock()
	if now.Sub(r.lastGC) < time.Minute {
		r.gcMu.Unlock()
		return
	}
	r.lastGC = now
	r.gcMu.Unlock()
	_ = filepath.WalkDir(r.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil //nolint:nilerr // garbage collection is best effort
		}
		e, info, err := readEntry(path)
		switch {
		case err != nil && strings.HasPrefix(d.Name(), tempPrefix):
			if info, statErr := d.Info(); statErr == nil && now.Sub(info.ModTime()) > time.Minute {
				_ = os.Remove(path) // left by a writer that died mid-write
			}
		case e != nil && e.expired(info.ModTime().Add(time.Minute), now):
			_ = os.Remove(path)
		}
		return nil
	})
}

const tempPrefix = ".tmp-"

func isNodeFile(name string) bool {
	return strings.HasSuffix(name, ".json") && !strings.HasPrefix(name, tempPrefix)
}

// nodePath is the file of one node of one service version.
func (r *Registry) nodePath(name, version, id string) string {
	return filepath.Join(r.dir, escape(name), escape(version)+"@"+escape(id)+".json")
}

// escape makes s safe as one file name: letters, digits, '-', '_' and '.'
// (but for a leading one) stay, every other byte becomes %XX.
func escape(s string) string {
	var b strings.Builder
	for i := range len(s) {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' && i > 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
