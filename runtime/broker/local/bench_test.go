package local_test

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/testdata/testutil"
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
			before := testutil.CPUTime(b)
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
			b.ReportMetric(float64(testutil.CPUTime(b)-before)/float64(b.N), "cpu-ns/op")
		})
	}
}
