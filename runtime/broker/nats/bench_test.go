package nats_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/runtime/broker/nats"
	"github.com/protomicro/micro/testdata/testutil"
)

// benchmarkServer runs a nats-server without JetStream for b.
func benchmarkServer(b *testing.B) string {
	b.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		b.Fatalf("nats-server: %v", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(20 * time.Second) {
		b.Fatal("nats-server did not start within 20s")
	}
	b.Cleanup(ns.Shutdown)
	return ns.ClientURL()
}

// reportCPU reports the CPU this process used per operation, from when it
// is called to when b ends, as cpu-ns/op: on a loaded machine, steadier than
// the time per operation.
func reportCPU(b *testing.B) {
	b.Helper()
	start := testutil.CPUTime(b)
	b.Cleanup(func() {
		if b.N > 0 {
			b.ReportMetric(float64(testutil.CPUTime(b)-start)/float64(b.N), "cpu-ns/op")
		}
	})
}

// BenchmarkCorePublish publishes 64 B events on core NATS through the typed
// Publish, with no subscriber: what a publish costs micro.
func BenchmarkCorePublish(b *testing.B) {
	url := benchmarkServer(b)
	br, err := nats.New(nats.WithURL(url), nats.WithCore())
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = br.Close(context.Background()) }()
	msg := &wrapperspb.BytesValue{Value: make([]byte, 64)}
	ctx := context.Background()
	b.ReportAllocs()
	reportCPU(b)
	for b.Loop() {
		if err := broker.Publish(ctx, br, "bench.publish", msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCoreRoundTrip publishes 64 B events on core NATS and waits for
// each to be handled by a typed subscriber: a delivery's whole cost.
func BenchmarkCoreRoundTrip(b *testing.B) {
	url := benchmarkServer(b)
	br, err := nats.New(nats.WithURL(url), nats.WithCore())
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = br.Close(context.Background()) }()
	done := make(chan struct{}, 1)
	if err := broker.Subscribe(br, "bench.roundtrip", func(_ context.Context, _ *wrapperspb.BytesValue) error {
		done <- struct{}{}
		return nil
	}, broker.WithGroup("bench")); err != nil {
		b.Fatal(err)
	}
	msg := &wrapperspb.BytesValue{Value: make([]byte, 64)}
	ctx := context.Background()
	b.ReportAllocs()
	reportCPU(b)
	for b.Loop() {
		if err := broker.Publish(ctx, br, "bench.roundtrip", msg); err != nil {
			b.Fatal(err)
		}
		<-done
	}
}

// BenchmarkPlainCoreRoundTrip is BenchmarkCoreRoundTrip with nats.go
// directly, the CloudEvents headers set and read: the peer.
func BenchmarkPlainCoreRoundTrip(b *testing.B) {
	url := benchmarkServer(b)
	nc, err := natsgo.Connect(url)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	done := make(chan struct{}, 1)
	if _, err := nc.QueueSubscribe("plain.roundtrip", "bench", func(msg *natsgo.Msg) {
		var m wrapperspb.BytesValue
		if msg.Header.Get("ce-id") != "" && proto.Unmarshal(msg.Data, &m) == nil {
			done <- struct{}{}
		}
	}); err != nil {
		b.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		b.Fatal(err)
	}
	msg := &wrapperspb.BytesValue{Value: make([]byte, 64)}
	b.ReportAllocs()
	reportCPU(b)
	for b.Loop() {
		publishPlain(b, nc, "plain.roundtrip", msg)
		<-done
	}
}

// BenchmarkCoreFlood publishes 64 B events on core NATS as fast as Publish
// returns and waits for all to be handled: throughput, as eventbench's
// flood measures it.
func BenchmarkCoreFlood(b *testing.B) {
	url := benchmarkServer(b)
	br, err := nats.New(nats.WithURL(url), nats.WithCore())
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = br.Close(context.Background()) }()
	handled := make(chan struct{}, 1<<20)
	if err := broker.Subscribe(br, "bench.flood", func(_ context.Context, _ *wrapperspb.BytesValue) error {
		handled <- struct{}{}
		return nil
	}, broker.WithGroup("bench")); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	reportCPU(b)
	b.SetParallelism(8) // 16 publishers on 2 CPUs, as eventbench has
	b.RunParallel(func(pb *testing.PB) {
		msg := &wrapperspb.BytesValue{Value: make([]byte, 64)}
		for pb.Next() {
			if err := broker.Publish(ctx, br, "bench.flood", msg); err != nil {
				b.Error(err)
				return
			}
		}
	})
	for range b.N {
		<-handled
	}
}

// BenchmarkPlainCoreFlood is BenchmarkCoreFlood with nats.go directly and
// the CloudEvents headers set and read: the peer.
func BenchmarkPlainCoreFlood(b *testing.B) {
	url := benchmarkServer(b)
	nc, err := natsgo.Connect(url)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	handled := make(chan struct{}, 1<<20)
	if _, err := nc.QueueSubscribe("plain.flood", "bench", func(msg *natsgo.Msg) {
		var m wrapperspb.BytesValue
		if msg.Header.Get("ce-id") != "" && proto.Unmarshal(msg.Data, &m) == nil {
			handled <- struct{}{}
		}
	}); err != nil {
		b.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	reportCPU(b)
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		msg := &wrapperspb.BytesValue{Value: make([]byte, 64)}
		for pb.Next() {
			publishPlain(b, nc, "plain.flood", msg)
		}
	})
	for range b.N {
		<-handled
	}
}

// publishPlain publishes msg on subject with nats.go, with the CloudEvents
// headers micro sends.
func publishPlain(b *testing.B, nc *natsgo.Conn, subject string, msg proto.Message) {
	data, err := proto.Marshal(msg)
	if err != nil {
		b.Error(err)
		return
	}
	m := natsgo.NewMsg(subject)
	m.Data = data
	m.Header["ce-specversion"] = []string{"1.0"}
	m.Header["ce-id"] = []string{natsgo.NewInbox()[len(natsgo.InboxPrefix):]}
	m.Header["ce-source"] = []string{"bench"}
	m.Header["ce-type"] = []string{"google.protobuf.BytesValue"}
	m.Header["ce-time"] = []string{time.Now().UTC().Format(time.RFC3339Nano)}
	m.Header["content-type"] = []string{"application/protobuf"}
	if err := nc.PublishMsg(m); err != nil {
		b.Error(err)
	}
}
