package micro_test

import (
	"net"
	"strings"
	"testing"

	"github.com/protomicro/micro/runtime/micro"
)

func TestNewBroker(t *testing.T) {
	t.Parallel()
	b, err := micro.NewBroker("memory", "")
	if err != nil {
		t.Fatalf("NewBroker(memory): %v", err)
	}
	if got := b.String(); got != "memory" {
		t.Errorf("NewBroker(memory).String() = %q, want memory", got)
	}
	if err := b.Close(t.Context()); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := micro.NewBroker("kafka", ""); err == nil || !strings.Contains(err.Error(), "memory, nats") {
		t.Errorf("NewBroker(kafka) error = %v, want one listing the brokers known", err)
	}
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	address := "nats://" + l.Addr().String()
	l.Close()
	if _, err := micro.NewBroker("nats", address); err == nil || !strings.Contains(err.Error(), address) {
		t.Errorf("NewBroker(nats, %q) error = %v, want one naming the address", address, err)
	}
}
