package devrun

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/protomicro/micro/runtime/registry"
)

// Config is what [Run] needs. Dir, Out, Env and Registry are required.
type Config struct {
	// Dir is the workspace: a micro.yaml there lists its services, or
	// else its services are the main packages under it that import
	// [RuntimePackage].
	Dir string
	// Log is the log stream: micro run's own lines ("micro"), and each
	// service's output and build errors, prefixed with its name.
	Log *Stream
	// Env is the environment of go list, go build and the services, where
	// MICRO_REGISTRY and MICRO_BROKER (and their addresses) name what all
	// the services share. Each service's env from micro.yaml is added to it,
	// and MICRO_ADDRESS.
	Env []string
	// Registry is the registry the services register in, where micro run
	// finds a started service's node to check its health.
	Registry registry.Registry
	// Generate regenerates the code of the project in dir (holding a
	// buf.gen.yaml) after a proto in it changed, writing its messages to
	// log. Protos are left alone when it is nil.
	Generate func(ctx context.Context, log io.Writer, dir string) error
	// Grace is how long a service has to drain after SIGTERM before it is
	// killed (default 10s).
	Grace time.Duration
	// ReadyTimeout bounds the wait for a dependency to serve before its
	// dependents start anyway (default 1m).
	ReadyTimeout time.Duration
	// Debounce is how long files must stay unchanged before a change is
	// acted on (default 150ms).
	Debounce time.Duration
	// Started, when set, is called once every service has been started.
	Started func()
}

// Backoff bounds of the restart of a crashed service: the wait doubles from
// minBackoff to maxBackoff, a run longer than stableRun resets it, and after
// maxCrashes crashes in a row micro run waits for a change to the code.
const (
	minBackoff = 500 * time.Millisecond
	maxBackoff = 10 * time.Second
	stableRun  = 10 * time.Second
	maxCrashes = 6
)

// service is one service of the workspace and its current run.
type service struct {
	spec    Spec
	dir     string // its main package, absolute
	log     *lineWriter
	bin     string // the binary running, or to run
	builds  int    // binaries built so far, naming the next one
	proc    *proc  // running, or nil
	crashes int    // in a row
	backoff *time.Timer
}

// runner is the state of [Run]; its run loop owns it.
type runner struct {
	cfg      Config
	log      *lineWriter // micro run's own lines
	binDir   string
	roots    []string
	graph    *graph
	services []*service // in start order
	exits    chan *proc
	restarts chan *service
}

// Run runs the services of the workspace until ctx is done, rebuilding and
// restarting those a changed file affects, then drains them all and
// returns ctx's error. It returns at once when the workspace has no
// services, or a service's first build fails.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Grace <= 0 {
		cfg.Grace = 10 * time.Second
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = time.Minute
	}
	if cfg.Debounce <= 0 {
		cfg.Debounce = 150 * time.Millisecond
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return err
	}
	cfg.Dir = dir
	r := &runner{cfg: cfg, exits: make(chan *proc, 16), restarts: make(chan *service, 16)}
	if err := r.load(ctx); err != nil {
		return err
	}
	r.binDir, err = os.MkdirTemp("", "micro-run-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(r.binDir) }()

	w, err := newWatcher(dir, cfg.Debounce, r.log.printf)
	if err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	batches := make(chan []string)
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go w.run(watchCtx, batches)

	defer r.stopAll()
	for _, s := range r.services {
		if err := r.build(ctx, s); err != nil {
			return fmt.Errorf("build %s: %w", s.spec.Name, err)
		}
	}
	for _, s := range r.services {
		r.waitDependencies(ctx, s)
		r.start(ctx, s)
	}
	if cfg.Started != nil {
		cfg.Started()
	}
	r.log.printf("watching %s for changes", dir)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case p := <-r.exits:
			r.exited(p)
		case s := <-r.restarts:
			if s.proc == nil {
				r.start(ctx, s)
			}
		case batch := <-batches:
			r.changed(ctx, batch)
		}
	}
}

// load finds the services and the packages they are built from.
func (r *runner) load(ctx context.Context) error {
	specs, err := readConfig(r.cfg.Dir)
	if err != nil {
		return err
	}
	if r.roots, err = moduleRoots(r.cfg.Dir); err != nil {
		return err
	}
	for _, s := range specs {
		// A service of micro.yaml may be in a module outside the ones found.
		dir := filepath.Join(r.cfg.Dir, s.Dir)
		if !slices.ContainsFunc(r.roots, func(root string) bool { return within(root, dir) }) {
			r.roots = append(r.roots, dir)
		}
	}
	if r.graph, err = listPackages(ctx, r.roots, r.cfg.Env); err != nil {
		return err
	}
	if specs == nil {
		specs = discover(r.cfg.Dir, r.graph)
		if len(specs) == 0 {
			return fmt.Errorf("no services in %s: no main package there imports %s, and there is no %s", r.cfg.Dir, RuntimePackage, ConfigFile)
		}
	}
	if specs, err = startOrder(specs); err != nil {
		return err
	}
	r.log = r.cfg.Log.writer("micro")
	for _, spec := range specs {
		dir := filepath.Join(r.cfg.Dir, spec.Dir)
		if p := r.graph.byDir[dir]; p == nil || p.Name != "main" {
			return fmt.Errorf("service %s: %s is not a main package", spec.Name, dir)
		}
		r.services = append(r.services, &service{spec: spec, dir: dir})
	}
	for _, s := range r.services {
		s.log = r.cfg.Log.writer(s.spec.Name)
	}
	return nil
}

// build builds s into a new binary, and makes it the one to run. It writes
// the compiler's errors to s's log.
func (r *runner) build(ctx context.Context, s *service) error {
	s.builds++
	bin := filepath.Join(r.binDir, fmt.Sprintf("%s-%d", strings.ReplaceAll(s.spec.Name, "/", "-"), s.builds))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir, cmd.Env = s.dir, r.cfg.Env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		_, _ = s.log.Write(out.Bytes())
		return fmt.Errorf("go build: %w", err)
	}
	if s.bin != "" {
		_ = os.Remove(s.bin)
	}
	s.bin = bin
	return nil
}

// start starts s's binary and, in the background, waits for it to serve.
func (r *runner) start(ctx context.Context, s *service) {
	env := append(slices.Clone(r.cfg.Env), environ(s.spec.Env)...)
	p, err := start(s.bin, s.spec.Args, env, s.log, r.exits)
	if err != nil {
		r.log.printf("start %s: %v", s.spec.Name, err)
		return
	}
	s.proc = p
	r.log.printf("started %s (pid %d) on %s", s.spec.Name, p.cmd.Process.Pid, p.address)
	go func() {
		readyCtx, cancel := context.WithTimeout(ctx, r.cfg.ReadyTimeout)
		defer cancel()
		if name, ok := p.waitReady(readyCtx, r.cfg.Registry); ok {
			r.log.printf("%s is serving as %s in %s", s.spec.Name, name, time.Since(p.started).Round(time.Millisecond))
			close(p.ready)
		}
	}()
}

// waitDependencies waits for the services s depends on to serve, each for up
// to the ready timeout.
func (r *runner) waitDependencies(ctx context.Context, s *service) {
	for _, name := range s.spec.Depends {
		i := slices.IndexFunc(r.services, func(d *service) bool { return d.spec.Name == name })
		d := r.services[i]
		if d.proc == nil {
			continue
		}
		t := time.NewTimer(r.cfg.ReadyTimeout)
		select {
		case <-d.proc.ready:
		case <-d.proc.done:
			r.log.printf("%s exited before it served; starting %s anyway", name, s.spec.Name)
		case <-t.C:
			r.log.printf("%s is not serving after %s; starting %s anyway", name, r.cfg.ReadyTimeout, s.spec.Name)
		case <-ctx.Done():
		}
		t.Stop()
	}
}

// exited handles the exit of p: a crash is reported and restarted with
// backoff.
func (r *runner) exited(p *proc) {
	i := slices.IndexFunc(r.services, func(s *service) bool { return s.proc == p })
	if p.stopping || i < 0 {
		return
	}
	s := r.services[i]
	s.proc = nil
	ran := time.Since(p.started)
	if ran > stableRun {
		s.crashes = 0
	}
	s.crashes++
	if s.crashes > maxCrashes {
		r.log.printf("%s exited (%s) after %s; it crashed %d times in a row, so it stays stopped until a change rebuilds it",
			s.spec.Name, p.status(), ran.Round(time.Millisecond), maxCrashes)
		return
	}
	wait := min(minBackoff<<(s.crashes-1), maxBackoff)
	r.log.printf("%s exited (%s) after %s; restarting it in %s", s.spec.Name, p.status(), ran.Round(time.Millisecond), wait)
	s.backoff = time.AfterFunc(wait, func() { r.restarts <- s })
}

// changed acts on a batch of changed paths: protos are generated first,
// then the services whose packages the changed Go files (or go.mod) are in
// or depend on are rebuilt, and restarted when the build succeeds.
func (r *runner) changed(ctx context.Context, paths []string) {
	started := time.Now()
	var goFiles, protos []string
	for _, p := range paths {
		switch filepath.Ext(p) {
		case ".go":
			goFiles = append(goFiles, p)
		case ".proto":
			protos = append(protos, p)
		case ".mod", ".sum", ".work":
			goFiles = append(goFiles, p)
		case ".yaml":
			if filepath.Base(p) == ConfigFile && filepath.Dir(p) == r.cfg.Dir {
				r.log.printf("%s changed: restart micro run to run what it lists now", ConfigFile)
			}
		}
	}
	if r.cfg.Generate != nil {
		projects := map[string]bool{}
		for _, p := range protos {
			if project := bufProject(r.cfg.Dir, p); project != "" {
				projects[project] = true
			}
		}
		for _, project := range slices.Sorted(maps.Keys(projects)) {
			r.log.printf("a proto changed: generating the code of %s", rel(r.cfg.Dir, project))
			if err := r.cfg.Generate(ctx, r.log, project); err != nil {
				r.log.printf("generate %s: %v; the services keep running the previous build", rel(r.cfg.Dir, project), err)
			}
		}
	}
	if len(goFiles) == 0 {
		return
	}
	affected := r.affected(goFiles)
	if newGraph, err := listPackages(ctx, r.roots, r.cfg.Env); err == nil {
		r.graph = newGraph
		for _, s := range r.affected(goFiles) {
			if !slices.Contains(affected, s) {
				affected = append(affected, s)
			}
		}
	}
	for _, s := range r.services {
		if !slices.Contains(affected, s) {
			continue
		}
		r.log.printf("rebuilding %s", s.spec.Name)
		buildStart := time.Now()
		if err := r.build(ctx, s); err != nil {
			if ctx.Err() != nil {
				return
			}
			status := "keeps running the previous build"
			if s.proc == nil {
				status = "is not running"
			}
			r.log.printf("build of %s failed (%v); %s %s", s.spec.Name, err, s.spec.Name, status)
			continue
		}
		built := time.Since(buildStart)
		if s.backoff != nil {
			s.backoff.Stop()
		}
		if s.proc != nil {
			s.proc.stop(r.cfg.Grace)
			s.proc = nil
		}
		s.crashes = 0
		r.start(ctx, s)
		r.log.printf("restarted %s %s after the change (build %s)", s.spec.Name, time.Since(started).Round(time.Millisecond), built.Round(time.Millisecond))
	}
}

// affected returns the services whose binaries the changed files are part
// of, by the current package graph: a Go file's directory is that of one of
// the packages a service is built from, or a go.mod's module holds it.
func (r *runner) affected(files []string) []*service {
	var out []*service
	for _, s := range r.services {
		pkg := r.graph.byDir[s.dir]
		if pkg == nil {
			continue
		}
		dirs := r.graph.dirs(pkg)
		for _, f := range files {
			d := filepath.Dir(f)
			if dirs[d] || (filepath.Ext(f) != ".go" && within(d, s.dir)) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// stopAll drains every running service, the dependents first.
func (r *runner) stopAll() {
	for _, s := range slices.Backward(r.services) {
		if s.backoff != nil {
			s.backoff.Stop()
		}
		if s.proc != nil {
			r.log.printf("stopping %s (pid %d)", s.spec.Name, s.proc.cmd.Process.Pid)
			s.proc.stop(r.cfg.Grace)
			s.proc = nil
		}
	}
}

// bufProject returns the directory of the buf.gen.yaml nearest above path,
// within root, or "".
func bufProject(root, path string) string {
	for dir := filepath.Dir(path); within(root, dir); dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "buf.gen.yaml")); err == nil {
			return dir
		}
		if dir == root {
			break
		}
	}
	return ""
}

// within reports whether path is dir or under it.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// rel returns path relative to dir, for messages.
func rel(dir, path string) string {
	if r, err := filepath.Rel(dir, path); err == nil {
		return r
	}
	return path
}

// environ returns env as KEY=value entries, sorted.
func environ(env map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}
