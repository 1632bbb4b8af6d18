package devrun

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watcher reports the files changed under a directory tree, in batches: a
// batch is sent once no file has changed for the debounce interval, so that
// an editor's save (often several writes and renames) or a generator's
// output is one batch.
type watcher struct {
	fs       *fsnotify.Watcher
	debounce time.Duration
	errorf   func(format string, args ...any)
}

// newWatcher watches every directory under root but those [skipDir] names.
func newWatcher(root string, debounce time.Duration, errorf func(string, ...any)) (*watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	w := &watcher{fs: fw, debounce: debounce, errorf: errorf}
	if err := w.addTree(root); err != nil {
		_ = fw.Close()
		return nil, err
	}
	return w, nil
}

// addTree watches dir and the directories under it.
func (w *watcher) addTree(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			// A directory removed while walking is not an error.
			return nil //nolint:nilerr // see above
		}
		if !d.IsDir() {
			return nil
		}
		if path != dir && skipDir(d.Name()) {
			return filepath.SkipDir
		}
		return w.fs.Add(path)
	})
}

// run sends batches of changed paths, each sorted and once, on batches
// until ctx is done, and then closes the watcher.
func (w *watcher) run(ctx context.Context, batches chan<- []string) {
	defer func() { _ = w.fs.Close() }()
	pending := map[string]bool{}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case err, ok := <-w.fs.Errors:
			if !ok {
				return
			}
			w.errorf("watch: %v", err)
		case ev, ok := <-w.fs.Events:
			if !ok {
				return
			}
			if ignored(ev.Name) {
				continue
			}
			if ev.Has(fsnotify.Create) {
				// A new directory (or one moved in) is watched at once; files
				// already written into it are in the batch as its path.
				if err := w.addTree(ev.Name); err != nil {
					w.errorf("watch %s: %v", ev.Name, err)
				}
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			pending[ev.Name] = true
			timer.Reset(w.debounce)
		case <-timer.C:
			batch := make([]string, 0, len(pending))
			for p := range pending {
				batch = append(batch, p)
			}
			clear(pending)
			select {
			case batches <- batch:
			case <-ctx.Done():
				return
			}
		}
	}
}

// ignored reports whether path is an editor's temporary or backup file
// (vim's .swp and 4913, emacs's .#lock and #autosave#, the ~ backups of
// both) or inside a directory micro run does not watch.
func ignored(path string) bool {
	base := filepath.Base(path)
	switch {
	case base == "4913",
		strings.HasSuffix(base, "~"),
		strings.HasSuffix(base, ".swp"), strings.HasSuffix(base, ".swx"), strings.HasSuffix(base, ".swo"),
		strings.HasPrefix(base, ".#"),
		strings.HasPrefix(base, "#") && strings.HasSuffix(base, "#"),
		strings.HasSuffix(base, ".tmp"):
		return true
	}
	return skipDir(base) && base != "." && base != ".."
}
