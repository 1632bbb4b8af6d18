package sync_test

import (
	"context"
	"fmt"

	"github.com/protomicro/micro/runtime/sync"
	"github.com/protomicro/micro/runtime/sync/memory"
)

func Example() {
	ctx := context.Background()
	var s sync.Sync = memory.New()
	defer func() { _ = s.Close() }()

	l, err := s.Lock(ctx, "invoices/42")
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = s.TryLock(ctx, "invoices/42")
	fmt.Println(err)
	fmt.Println("token", l.Token())
	_ = l.Unlock(ctx)
	again, _ := s.Lock(ctx, "invoices/42")
	fmt.Println("token", again.Token())
	_ = again.Unlock(ctx)

	lead, _ := s.Elect(ctx, "scheduler", sync.WithID("10.0.0.7:8080"))
	id, _ := s.Leader(ctx, "scheduler")
	fmt.Println("leader", id)
	_ = lead.Resign(ctx)
	_, err = s.Leader(ctx, "scheduler")
	fmt.Println(err)
	// Output:
	// try lock "invoices/42": locked by another holder
	// token 1
	// token 2
	// leader 10.0.0.7:8080
	// leader of "scheduler": no leader
}
