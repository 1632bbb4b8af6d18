package local_test

import (
	"context"
	"encoding/binary"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protomicro/micro/runtime/broker"
)

// BenchmarkRoundTrip publishes events of 64 B and 16 KiB from 16
// goroutines, each waiting for its event to be handled before the next, as
// bench/cmd/eventbench's closed loop does: allocs/op and ns/op are per
// event, publish and delivery together.
func BenchmarkRoundTrip(b *testing.B) {
	for _, size := range []int{64, 16 << 10} {
		b.Run(map[int]string{64: "64B", 16 << 10: "16KiB"}[size], func(b *testing.B) {
			const publishers = 16
			br := newBroker(b, b.TempDir())
			b.Cleanup(func() { _ = br.Close(context.Background()) })
			waiters := make([]chan struct{}, publishers)
			for i := range waiters {
				waiters[i] = make(chan struct{}, 1)
			}
			if err := broker.Subscribe(br, "bench", func(_ context.Context, m *wrapperspb.BytesValue) error {
				waiters[binary.LittleEndian.Uint32(m.GetValue())] <- struct{}{}
				return nil
			}, broker.WithGroup("bench")); err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			var next sync.WaitGroup
			work := make(chan struct{}, b.N)
			for range b.N {
				work <- struct{}{}
			}
			close(work)
			b.ReportAllocs()
			before := cpuTime(b)
			b.ResetTimer()
			for w := range publishers {
				next.Go(func() {
					payload := make([]byte, size)
					binary.LittleEndian.PutUint32(payload, uint32(w))
					for range work {
						if err := broker.Publish(ctx, br, "bench", &wrapperspb.BytesValue{Value: payload}); err != nil {
							b.Error(err)
							return
						}
						<-waiters[w]
					}
				})
			}
			next.Wait()
			b.ReportMetric(float64(cpuTime(b)-before)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the CPU time this process has used: the cost of an event on
// a loaded machine, where ns/op is mostly waiting.
func cpuTime(b *testing.B) time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		b.Fatal(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
