package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/protomicro/micro/runtime/config"
	"github.com/protomicro/micro/runtime/config/etcd"
	"github.com/protomicro/micro/runtime/registry/etcd/etcdtest"
	"github.com/protomicro/micro/testdata/testutil"
)

// TestMain checks that a closed Config leaves no goroutine of its etcd
// source behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type settings struct {
	Port int `json:"port"`
	DB   struct {
		Host string `json:"host"`
	} `json:"db"`
}

var prefixes atomic.Int64

// setup returns a client of a real etcd and a prefix of the test's own.
func setup(t *testing.T, endpoint string) (*clientv3.Client, string) {
	t.Helper()
	client, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client, fmt.Sprintf("/test/%d/", prefixes.Add(1))
}

// bind watches defaults (port 1) under an etcd source made with opts, and
// binds settings to them.
func bind(t *testing.T, opts ...etcd.Option) (*config.Config, *config.Value[settings]) {
	t.Helper()
	source, err := etcd.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.New(testutil.Context(t), config.WithSources(config.Defaults(map[string]any{"port": 1}), source),
		config.WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	v, err := config.Bind[settings](c)
	if err != nil {
		t.Fatal(err)
	}
	return c, v
}

func put(t *testing.T, client *clientv3.Client, key, value string) {
	t.Helper()
	if _, err := client.Put(testutil.Context(t), key, value); err != nil {
		t.Fatal(err)
	}
}

func TestWatch(t *testing.T) {
	t.Parallel()
	endpoint := etcdtest.Start(t)
	client, prefix := setup(t, endpoint)
	put(t, client, prefix+"port", "8080")
	put(t, client, prefix+"db/host", "db1")

	c, v := bind(t, etcd.WithEndpoints(endpoint), etcd.WithPrefix(prefix))
	if got := v.Get(); got.Port != 8080 || got.DB.Host != "db1" {
		t.Fatalf("Get() = %+v, want port 8080 and db.host db1 from etcd", got)
	}
	if got, want := c.Snapshot().Source("db.host"), "etcd "+endpoint+" "+prefix; got != want {
		t.Errorf("Source(db.host) = %q, want %q", got, want)
	}

	var mu sync.Mutex
	var changes []settings
	defer v.Watch(func(_, new settings, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			changes = append(changes, new)
		}
	})()
	put(t, client, prefix+"db/host", "db2")
	testutil.WaitFor(t, "the etcd change to reach the callback", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(changes) > 0 && changes[len(changes)-1].DB.Host == "db2"
	})
	if got := v.Get().DB.Host; got != "db2" {
		t.Errorf("Get().DB.Host = %q, want db2", got)
	}
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	address := lis.Addr().String()
	_ = lis.Close() // nothing listens there now
	for _, tt := range []struct {
		name string
		opts []config.Option
	}{
		{name: "watched"},
		{name: "unwatched", opts: []config.Option{config.WithoutWatch()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			source, err := etcd.New(etcd.WithEndpoints(address), etcd.WithTimeout(500*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			_, err = config.New(ctx, append(tt.opts, config.WithSources(source))...)
			t.Log(err)
			var configErr *config.Error
			if !errors.As(err, &configErr) || !strings.Contains(err.Error(), "etcd "+address) {
				t.Errorf("New with etcd at %s = %v, want an *config.Error naming the address", address, err)
			}
		})
	}
}

// TestOutage cuts the connection to etcd while a Config watches it: a reload
// then fails and keeps the last good config, and once etcd is back, a change
// made meanwhile arrives.
func TestOutage(t *testing.T) {
	t.Parallel()
	endpoint := etcdtest.Start(t)
	client, prefix := setup(t, endpoint)
	put(t, client, prefix+"port", "1")
	p := newProxy(t, endpoint)

	c, v := bind(t, etcd.WithEndpoints(p.address), etcd.WithPrefix(prefix), etcd.WithTimeout(time.Second))

	p.cut()
	put(t, client, prefix+"port", "2")
	if err := c.Reload(testutil.Context(t)); err == nil || !strings.Contains(err.Error(), "etcd "+p.address) {
		t.Errorf("Reload with etcd cut off = %v, want an error naming %s", err, p.address)
	}
	if got := v.Get().Port; got != 1 {
		t.Errorf("Get().Port = %d with etcd cut off, want the last good 1", got)
	}
	p.restore(t)
	testutil.WaitFor(t, "the change made during the outage", func() bool { return v.Get().Port == 2 })
}

// proxy forwards TCP connections to etcd, and can cut them off.
type proxy struct {
	address, target string
	mu              sync.Mutex
	lis             net.Listener
	conns           []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{address: lis.Addr().String(), target: target}
	p.serve(lis)
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) serve(lis net.Listener) {
	p.mu.Lock()
	p.lis = lis
	p.mu.Unlock()
	go func() {
		for {
			conn, err := lis.Accept()
			if err != nil {
				return
			}
			upstream, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = conn.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, conn, upstream)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(upstream, conn); _ = upstream.Close() }()
			go func() { _, _ = io.Copy(conn, upstream); _ = conn.Close() }()
		}
	}()
}

// cut closes the listener and every connection.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.lis.Close()
	for _, conn := range p.conns {
		_ = conn.Close()
	}
	p.conns = nil
}

// restore listens again at the same address.
func (p *proxy) restore(t *testing.T) {
	t.Helper()
	lis, err := net.Listen("tcp", p.address)
	if err != nil {
		t.Fatal(err)
	}
	p.serve(lis)
}
