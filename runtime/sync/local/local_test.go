package local_test

import (
	"os"
	"path/filepath"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/protomicro/micro/runtime/sync"
	"github.com/protomicro/micro/runtime/sync/local"
	"github.com/protomicro/micro/runtime/sync/synctest"
	"github.com/protomicro/micro/testdata/testutil"
)

func TestMain(m *testing.M) {
	synctest.Child(open)
	goleak.VerifyTestMain(m)
}

func open(dir string) (sync.Sync, error) {
	return local.New(local.WithDir(dir), local.WithPollInterval(10*time.Millisecond))
}

func TestConformance(t *testing.T) {
	t.Parallel()
	var (
		mu   stdsync.Mutex
		dirs = make(map[*testing.T]string)
	)
	synctest.Run(t, func(t *testing.T) sync.Sync {
		// The syncs of one test share a directory, as processes would.
		mu.Lock()
		dir, ok := dirs[t]
		if !ok {
			dir = t.TempDir()
			dirs[t] = dir
		}
		mu.Unlock()
		s, err := open(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func TestProcesses(t *testing.T) {
	synctest.RunProcesses(t, t.TempDir(), open)
}

// TestLongKey checks that keys too long to escape into a file name still
// get files of their own.
func TestLongKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := local.New(local.WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	a, b := strings.Repeat("/", sync.MaxKeyLen), strings.Repeat("/", sync.MaxKeyLen-1)
	la, err := s.TryLock(testutil.Context(t), a)
	if err != nil {
		t.Fatalf("TryLock of a %d-byte key = %v", len(a), err)
	}
	lb, err := s.TryLock(testutil.Context(t), b)
	if err != nil {
		t.Fatalf("TryLock of another long key = %v", err)
	}
	for _, l := range []sync.Lock{la, lb} {
		if err := l.Unlock(testutil.Context(t)); err != nil {
			t.Fatal(err)
		}
	}
	files, err := os.ReadDir(filepath.Join(dir, "lock"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Errorf("%d lock files for 2 keys, want 2", len(files))
	}
}

// TestDefaultDir checks that the default directory is private to the user.
func TestDefaultDir(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	s, err := local.New()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	info, err := os.Stat(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o700 {
		t.Errorf("mode of %s = %v, want 0700", s.Dir(), perm)
	}
	if !strings.HasPrefix(s.Dir(), os.TempDir()) || filepath.Base(s.Dir()) != "sync" {
		t.Errorf("Dir() = %q, want $TMPDIR/micro-<uid>/sync", s.Dir())
	}
}
