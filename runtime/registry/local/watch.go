package local

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/internal/watch"
)

// poller turns successive looks at the directory into events. It reads a
// service's directory again only when the directory itself changed (a node
// file was created, replaced or removed), and looks at a node's file only when
// the node seems to have expired, so that heartbeats, which just touch files,
// cost nothing until then.
type poller struct {
	r    *Registry
	only string // the escaped name of the one service watched, or ""
	dirs map[string]*dirState
}

// dirState is what the poller knows of one service's directory.
type dirState struct {
	modified time.Time
	nodes    map[string]*nodeState // by file name
}

// nodeState is what the poller knows of one node file.
type nodeState struct {
	modified time.Time
	data     []byte
	entry    *entry
	alive    bool // reported to watchers as present
}

// run polls until q is stopped.
func (p *poller) run(q *watch.Queue) {
	ticker := time.NewTicker(p.r.poll)
	defer ticker.Stop()
	for {
		select {
		case <-q.Done():
			return
		case <-ticker.C:
			_ = p.scan(time.Now(), q.Push) // a failed look is retried at the next tick
		}
	}
}

// recent is how close to now a directory's modification time must be for
// the poller to read the directory again regardless: file systems with coarse
// timestamps can change a directory twice within one timestamp.
const recent = 2 * time.Second

// scan looks at the directory once and emits the changes since the last look;
// emit is nil for the first look.
func (p *poller) scan(now time.Time, emit func(*registry.Event)) error {
	names := []string{p.only}
	if p.only == "" {
		entries, err := os.ReadDir(p.r.dir)
		if err != nil {
			return err
		}
		names = names[:0]
		for _, e := range entries {
			if e.IsDir() {
				names = append(names, e.Name())
			}
		}
	}
	var events []*registry.Event
	seen := make(map[string]bool, len(names))
	for _, name := range names {
		seen[name] = true
		state := p.dirs[name]
		if state == nil {
			state = &dirState{nodes: make(map[string]*nodeState)}
			p.dirs[name] = state
		}
		events = append(events, p.scanDir(name, state, now)...)
	}
	for _, name := range sortedKeys(p.dirs) {
		if !seen[name] { // the whole directory went away
			events = append(events, p.forget(p.dirs[name], nil)...)
			delete(p.dirs, name)
		}
	}
	if emit != nil {
		for _, e := range events {
			emit(e)
		}
	}
	return nil
}

func (p *poller) scanDir(name string, state *dirState, now time.Time) []*registry.Event {
	dir := filepath.Join(p.r.dir, name)
	var events []*registry.Event
	info, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return p.forget(state, nil)
	}
	if err == nil && (!info.ModTime().Equal(state.modified) || now.Sub(info.ModTime()) < recent) {
		state.modified = info.ModTime()
		events = append(events, p.readDir(dir, state, now)...)
	}
	// Nodes whose TTL seems to have passed: look again, since heartbeats
	// touch files without changing the directory.
	for _, file := range sortedKeys(state.nodes) {
		node := state.nodes[file]
		if !node.entry.expired(node.modified, now) {
			continue
		}
		info, err := os.Lstat(filepath.Join(dir, file))
		if err != nil {
			continue // removed: the next directory read reports it
		}
		node.modified = info.ModTime()
		switch expired := node.entry.expired(node.modified, now); {
		case expired && node.alive:
			node.alive = false
			events = append(events, event(registry.EventDelete, node.entry))
		case !expired && !node.alive:
			node.alive = true
			events = append(events, event(registry.EventCreate, node.entry))
		}
	}
	return events
}

// readDir reads the node files of one service directory and returns what
// was created, updated or removed.
func (p *poller) readDir(dir string, state *dirState, now time.Time) []*registry.Event {
	files, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var events []*registry.Event
	present := make(map[string]bool, len(files))
	for _, f := range files {
		if !isNodeFile(f.Name()) {
			continue
		}
		present[f.Name()] = true
		info, err := f.Info()
		if err != nil {
			continue
		}
		node := state.nodes[f.Name()]
		if node != nil && info.ModTime().Equal(node.modified) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			continue
		}
		e := new(entry)
		if json.Unmarshal(data, e) != nil || e.Service == nil || len(e.Service.Nodes) != 1 {
			continue // half-written by a crashed writer, or not ours
		}
		alive := !e.expired(info.ModTime(), now)
		switch {
		case node == nil:
			if alive {
				events = append(events, event(registry.EventCreate, e))
			}
			state.nodes[f.Name()] = &nodeState{modified: info.ModTime(), data: data, entry: e, alive: alive}
			continue
		case !bytes.Equal(node.data, data) && alive:
			typ := registry.EventUpdate
			if !node.alive {
				typ = registry.EventCreate
			}
			events = append(events, event(typ, e))
		case node.alive && !alive:
			events = append(events, event(registry.EventDelete, node.entry))
		case !node.alive && alive:
			events = append(events, event(registry.EventCreate, e))
		}
		node.modified, node.data, node.entry, node.alive = info.ModTime(), data, e, alive
	}
	return append(events, p.forget(state, present)...)
}

// forget drops the nodes of state whose files are not present, reporting
// the live ones as deleted; a nil present drops them all.
func (p *poller) forget(state *dirState, present map[string]bool) []*registry.Event {
	var events []*registry.Event
	for _, file := range sortedKeys(state.nodes) {
		if present[file] {
			continue
		}
		if node := state.nodes[file]; node.alive {
			events = append(events, event(registry.EventDelete, node.entry))
		}
		delete(state.nodes, file)
	}
	return events
}

func event(typ registry.EventType, e *entry) *registry.Event {
	return &registry.Event{Type: typ, Service: e.Service.Clone()}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
