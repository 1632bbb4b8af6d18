package local_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/registry/local"
	"github.com/protomicro/micro/runtime/registry/registrytest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	registrytest.Run(t, func(t *testing.T) registry.Registry {
		r, err := local.New(local.WithDir(t.TempDir()), local.WithPollInterval(50*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		return r
	})
}

func newRegistry(t *testing.T, dir string) *local.Registry {
	t.Helper()
	r, err := local.New(local.WithDir(dir), local.WithPollInterval(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func node(name, id string) *registry.Service {
	return &registry.Service{Name: name, Nodes: []*registry.Node{{ID: id, Address: "127.0.0.1:1"}}}
}

// TestSharedDirectory stands in for two processes: two registries on one
// directory see each other's nodes and changes.
func TestSharedDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b := newRegistry(t, dir), newRegistry(t, dir)
	ctx := t.Context()
	w, err := b.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if err := a.Register(ctx, node("greeter", "1"), registry.WithTTL(time.Minute)); err != nil {
		t.Fatal(err)
	}
	e, err := w.Next()
	if err != nil || e.Type != registry.EventCreate || e.Service.Nodes[0].ID != "1" {
		t.Fatalf("b's watcher got %v, %v, want a's node created", e, err)
	}
	got, err := b.GetService(ctx, "greeter")
	if err != nil || len(got) != 1 {
		t.Errorf("b.GetService = %v, %v, want a's node", got, err)
	}
}

// TestCrashedNode leaves a node file behind as a killed process would: readers
// ignore it once its TTL has passed, and it is removed a minute later.
func TestCrashedNode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := newRegistry(t, dir)
	ctx := t.Context()
	if err := r.Register(ctx, node("crashed", "1"), registry.WithTTL(time.Second)); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "crashed", "*.json"))
	if len(files) != 1 {
		t.Fatalf("node files = %v, want one", files)
	}
	past := time.Now().Add(-2 * time.Minute)
	if err := os.Chtimes(files[0], past, past); err != nil {
		t.Fatal(err)
	}
	if _, err := r.GetService(ctx, "crashed"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("GetService of an expired node: %v, want ErrNotFound", err)
	}
	// Another process registering triggers the collection of garbage.
	if err := newRegistry(t, dir).Register(ctx, node("other", "2")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(files[0]); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the dead node's file is still there after garbage collection: %v", err)
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	r := newRegistry(t, t.TempDir())
	ctx := t.Context()
	for _, name := range []string{"a/b", "..", ".hidden", "go.micro.srv.greeter", "ünïcode", "sp ace@x"} {
		s := node(name, "../"+name)
		s.Version = "v/1"
		if err := r.Register(ctx, s); err != nil {
			t.Fatalf("Register(%q): %v", name, err)
		}
		got, err := r.GetService(ctx, name)
		if err != nil || got[0].Name != name || got[0].Nodes[0].ID != "../"+name {
			t.Errorf("GetService(%q) = %v, %v", name, got, err)
		}
	}
	all, err := r.ListServices(ctx)
	if err != nil || len(all) != 6 {
		t.Errorf("ListServices = %d services, %v, want 6", len(all), err)
	}
}

func TestUnsafeDirectory(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	base := filepath.Join(os.TempDir(), fmt.Sprintf("micro-%d", os.Getuid()))
	if err := os.Mkdir(base, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := local.New(); err == nil || !strings.Contains(err.Error(), "accessible to other users") {
		t.Errorf("New with a world-readable %s: %v, want an error saying so", base, err)
	}
	if err := os.Chmod(base, 0o700); err != nil {
		t.Fatal(err)
	}
	r, err := local.New()
	if err != nil {
		t.Fatalf("New with a private %s: %v", base, err)
	}
	if want := filepath.Join(base, "registry"); r.Dir() != want {
		t.Errorf("Dir() = %q, want %q", r.Dir(), want)
	}
}

func BenchmarkScale(b *testing.B) {
	registrytest.Scale(b, func(b *testing.B) registry.Registry {
		r, err := local.New(local.WithDir(b.TempDir()))
		if err != nil {
			b.Fatal(err)
		}
		return r
	})
}
