package config_test

import (
	"sync/atomic"
	"testing"

	"github.com/protomicro/micro/runtime/config"
)

// BenchmarkGetDuringReload measures a typed Get while another goroutine
// reloads the configuration over and over.
func BenchmarkGetDuringReload(b *testing.B) {
	port := atomic.Int64{}
	source := config.Defaults(map[string]any{"name": "bench", "port": 1, "db": map[string]any{"host": "localhost"}})
	c, err := config.New(b.Context(), config.WithoutWatch(), config.WithSources(source, reloading{&port}))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	v, err := config.Bind[settings](c)
	if err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	var reloads atomic.Int64
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := c.Reload(b.Context()); err != nil {
				b.Error(err)
				return
			}
			reloads.Add(1)
		}
	}()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if v.Get().Name != "bench" {
				b.Fatal("lost the name")
			}
		}
	})
	b.StopTimer()
	close(stop)
	<-done
	b.ReportMetric(float64(reloads.Load()), "reloads")
}
