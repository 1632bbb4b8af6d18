package registrytest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/protomicro/micro/runtime/registry"
)

// Scale measures a registry holding 1,000 services of 5 nodes each and
// reports, as benchmark metrics: the latency of ListServices and of
// GetService, and how long a watcher takes to see a node registered
// elsewhere. Run it with -benchtime=1x; it sizes its own samples.
func Scale(b *testing.B, newRegistry func(b *testing.B) registry.Registry) {
	const services, nodes = 1000, 5
	ctx := context.Background()
	r := newRegistry(b)
	for i := range services {
		s := &registry.Service{Name: fmt.Sprintf("scale%04d", i), Version: "v1"}
		for n := range nodes {
			s.Nodes = append(s.Nodes, &registry.Node{ID: fmt.Sprintf("%d-%d", i, n), Address: fmt.Sprintf("10.0.%d.%d:8080", i%250, n)})
		}
		if err := r.Register(ctx, s, registry.WithTTL(time.Minute)); err != nil {
			b.Fatalf("register: %v", err)
		}
	}
	b.ResetTimer()

	list := timeIt(b, 5, func(int) {
		all, err := r.ListServices(ctx)
		if err != nil || len(all) != services {
			b.Fatalf("ListServices = %d services, %v, want %d", len(all), err, services)
		}
	})
	get := timeIt(b, 200, func(i int) {
		got, err := r.GetService(ctx, fmt.Sprintf("scale%04d", i*7%services))
		if err != nil || len(got[0].Nodes) != nodes {
			b.Fatalf("GetService = %v, %v", got, err)
		}
	})
	w, err := r.Watch(ctx, registry.WatchService("scale-watched"))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	propagation := timeIt(b, 20, func(i int) {
		s := &registry.Service{Name: "scale-watched", Nodes: []*registry.Node{{ID: fmt.Sprint(i), Address: "10.1.0.1:8080"}}}
		if err := r.Register(ctx, s); err != nil {
			b.Fatal(err)
		}
		if _, err := w.Next(); err != nil {
			b.Fatal(err)
		}
	})
	b.ReportMetric(float64(list.Microseconds())/1000, "list-ms")
	b.ReportMetric(float64(get.Microseconds()), "get-µs")
	b.ReportMetric(float64(propagation.Microseconds())/1000, "watch-ms")
}

// timeIt runs f n times and returns the mean duration of one run.
func timeIt(b *testing.B, n int, f func(i int)) time.Duration {
	b.Helper()
	start := time.Now()
	for i := range n {
		f(i)
	}
	return time.Since(start) / time.Duration(n)
}
