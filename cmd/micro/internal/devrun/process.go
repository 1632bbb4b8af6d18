package devrun

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/protomicro/micro/runtime/registry"
)

// proc is one run of a service's binary.
type proc struct {
	cmd     *exec.Cmd
	address string        // where it was told to listen
	started time.Time     // when it started
	done    chan struct{} // closed once it has exited
	err     error         // how it exited, once done is closed
	ready   chan struct{} // closed once it is registered and serving
	// stopping is set when micro run stops it, so that its exit is not a
	// crash; only the run loop reads and writes it.
	stopping bool
}

// start runs bin with args and env, telling it to listen on a free loopback
// port, and reports its exit on exits.
func start(bin string, args, env []string, out *lineWriter, exits chan<- *proc) (*proc, error) {
	address, err := freeAddress()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(env, "MICRO_ADDRESS="+address)
	cmd.Stdout, cmd.Stderr = out, out
	// A process the service started that keeps its output open must not
	// keep micro run waiting.
	cmd.WaitDelay = time.Second
	isolate(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, address: address, started: time.Now(), done: make(chan struct{}), ready: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
		exits <- p
	}()
	return p, nil
}

// stop drains p: SIGTERM, then SIGKILL if it has not exited after grace.
func (p *proc) stop(grace time.Duration) {
	p.stopping = true
	select {
	case <-p.done:
		return
	default:
	}
	_ = terminate(p.cmd.Process.Pid)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		_ = kill(p.cmd.Process.Pid)
		<-p.done
	}
}

// status describes how p exited.
func (p *proc) status() string {
	if p.err == nil {
		return "exit status 0"
	}
	return p.err.Error()
}

// waitReady returns once a node at p's address is in reg and answers
// grpc.health.v1 SERVING, with the name it registered as; it gives up when p
// exits or ctx is done. The caller closes p.ready, after saying so in the
// log, so that the log shows a dependency serving before its dependents
// start.
func (p *proc) waitReady(ctx context.Context, reg registry.Registry) (string, bool) {
	conn, err := grpc.NewClient(p.address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return "", false
	}
	defer func() { _ = conn.Close() }()
	health := healthpb.NewHealthClient(conn)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	name := ""
	for {
		if name == "" {
			name = registeredAs(ctx, reg, p.address)
		}
		if name != "" {
			checkCtx, cancel := context.WithTimeout(ctx, time.Second)
			res, err := health.Check(checkCtx, &healthpb.HealthCheckRequest{})
			cancel()
			if err == nil && res.GetStatus() == healthpb.HealthCheckResponse_SERVING {
				return name, true
			}
		}
		select {
		case <-ctx.Done():
			return "", false
		case <-p.done:
			return "", false
		case <-tick.C:
		}
	}
}

// registeredAs returns the name of the service with a node at address in
// reg, or "".
func registeredAs(ctx context.Context, reg registry.Registry, address string) string {
	_, port, _ := net.SplitHostPort(address)
	services, err := reg.ListServices(ctx)
	if err != nil {
		return ""
	}
	for _, s := range services {
		versions, err := reg.GetService(ctx, s.Name)
		if err != nil {
			continue
		}
		for _, v := range versions {
			for _, n := range v.Nodes {
				// The node advertises the address it was told, or the same
				// port on another of this host's addresses.
				if _, p, _ := net.SplitHostPort(n.Address); n.Address == address || p == port {
					return s.Name
				}
			}
		}
	}
	return ""
}

// freeAddress returns a loopback address with a port nothing listens on.
func freeAddress() (string, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer func() { _ = lis.Close() }()
	return "127.0.0.1:" + strconv.Itoa(lis.Addr().(*net.TCPAddr).Port), nil
}
