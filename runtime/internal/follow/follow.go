// Package follow keeps a view of a registry's services current: the HTTP
// gateway and the MCP server both read each service's endpoints and schema
// when it registers or changes, and forget it when it leaves.
package follow

import (
	"context"
	stderrors "errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/registry"
)

// Update reads the named services again, as they are in the registry now,
// and returns the names to try again later (a service whose schema could
// not be read). It is called from one goroutine at a time.
type Update func(ctx context.Context, names []string) (retry []string)

// Follower calls an [Update] with the services that change in a registry.
type Follower struct {
	watcher registry.Watcher
	stop    context.CancelFunc
	done    chan struct{}
	close   sync.Once
}

// Start watches reg, then calls update with every service registered now
// (ctx bounds that first call) and, until [Follower.Close], with the names of
// those that change, gathered while the previous update ran. Names update
// returns are given again after a backoff from one second, doubling to 30.
// Logs go to logger with what (the program's name, "gateway") first.
func Start(ctx context.Context, reg registry.Registry, logger *slog.Logger, what string, update Update) (*Follower, error) {
	// Watch before listing, so that no change falls between the two.
	loopCtx, stop := context.WithCancel(context.Background())
	w, err := reg.Watch(loopCtx)
	if err != nil {
		stop()
		return nil, fmt.Errorf("watch registry %s: %w", reg, err)
	}
	f := &Follower{watcher: w, stop: stop, done: make(chan struct{})}
	names, err := registry.ServiceNames(ctx, reg)
	if err != nil {
		stop()
		w.Stop()
		return nil, fmt.Errorf("list the services of registry %s: %w", reg, err)
	}
	retry := update(ctx, names)
	go f.loop(loopCtx, logger, what, update, retry)
	return f, nil
}

// Close stops following the registry and waits for an update in progress.
// It is safe to call more than once.
func (f *Follower) Close() {
	f.close.Do(func() {
		f.stop()
		f.watcher.Stop()
		<-f.done
	})
}

func (f *Follower) loop(ctx context.Context, logger *slog.Logger, what string, update Update, retry []string) {
	defer close(f.done)
	changed := make(chan string, 64)
	go func() {
		for {
			event, err := f.watcher.Next()
			if err != nil {
				if !stderrors.Is(err, registry.ErrWatcherStopped) {
					logger.Error(what+": registry watch ended; no longer following the registry", "error", err)
				}
				close(changed)
				return
			}
			changed <- event.Service.Name
		}
	}()
	backoff := time.Second
	timer := time.NewTimer(backoff)
	defer timer.Stop()
	for {
		pending := slices.Clone(retry)
		select {
		case <-ctx.Done():
			return
		case name, ok := <-changed:
			if !ok {
				<-ctx.Done()
				return
			}
			pending = append(pending, name)
		case <-timer.C:
			if len(retry) == 0 {
				timer.Reset(backoff)
				continue
			}
			backoff = min(2*backoff, 30*time.Second)
		}
	drain:
		for {
			select {
			case name, ok := <-changed:
				if !ok {
					break drain
				}
				pending = append(pending, name)
			default:
				break drain
			}
		}
		slices.Sort(pending)
		retry = update(ctx, slices.Compact(pending))
		if len(retry) == 0 {
			backoff = time.Second
		}
		timer.Reset(backoff)
	}
}

// Lookup returns what the registry says of the service called name, over all
// its versions: the addresses of its nodes as a client dials them
// ([client.NodeAddress]: "tls://host:port" for a node that serves TLS),
// sorted and distinct, and its
// endpoints, each procedure once, the first version's. A service with no
// nodes left returns no error and no nodes.
func Lookup(ctx context.Context, reg registry.Registry, name string) (nodes []string, endpoints []*registry.Endpoint, err error) {
	versions, err := reg.GetService(ctx, name)
	if stderrors.Is(err, registry.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	for _, v := range versions {
		for _, n := range v.Nodes {
			nodes = append(nodes, client.NodeAddress(n))
		}
		for _, e := range v.Endpoints {
			if !slices.ContainsFunc(endpoints, func(x *registry.Endpoint) bool { return x.Procedure == e.Procedure }) {
				endpoints = append(endpoints, e)
			}
		}
	}
	slices.Sort(nodes)
	return slices.Compact(nodes), endpoints, nil
}
