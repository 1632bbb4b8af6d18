package micro

import (
	"fmt"
	"strings"

	"github.com/protomicro/micro/runtime/sync"
	"github.com/protomicro/micro/runtime/sync/etcd"
	"github.com/protomicro/micro/runtime/sync/local"
	"github.com/protomicro/micro/runtime/sync/memory"
)

// SyncNames returns the names [NewSync] knows, which are what --sync and
// MICRO_SYNC accept.
func SyncNames() []string { return []string{"local", "etcd", "memory"} }

// NewSync builds the lock and election backend named name (one of
// [SyncNames]) at address, or at its default address when address is "": a
// directory for local, comma-separated endpoints for etcd; memory takes none.
// The caller closes it. Services use it for --sync and --sync_address
// (MICRO_SYNC, MICRO_SYNC_ADDRESS).
func NewSync(name, address string) (sync.Sync, error) {
	switch name {
	case "local":
		var opts []local.Option
		if address != "" {
			opts = append(opts, local.WithDir(address))
		}
		return local.New(opts...)
	case "memory":
		return memory.New(), nil
	case "etcd":
		var opts []etcd.Option
		if address != "" {
			opts = append(opts, etcd.WithEndpoints(strings.Split(address, ",")...))
		}
		return etcd.New(opts...)
	}
	return nil, fmt.Errorf("unknown sync %q: want one of %s", name, strings.Join(SyncNames(), ", "))
}
