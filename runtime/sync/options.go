package sync

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"
)

// LockOption configures one [Sync.Lock] or [Sync.TryLock] call.
type LockOption interface {
	applyLock(*LockOptions)
}

// LockOptions is what the [LockOption]s of a call add up to. Backends read it
// with [NewLockOptions].
type LockOptions struct {
	// TTL is how long the lock outlives a holder that died or lost touch
	// with the backend; zero means the backend's default.
	TTL time.Duration
}

// NewLockOptions applies opts in order. Used by backends.
func NewLockOptions(opts ...LockOption) LockOptions {
	var o LockOptions
	for _, opt := range opts {
		opt.applyLock(&o)
	}
	return o
}

// ElectOption configures one [Sync.Elect] call.
type ElectOption interface {
	applyElect(*ElectOptions)
}

// ElectOptions is what the [ElectOption]s of a call add up to. Backends read
// it with [NewElectOptions].
type ElectOptions struct {
	// ID names the candidate; see [WithID].
	ID string
	// TTL is how long leadership outlives a leader that died or lost touch
	// with the backend; zero means the backend's default.
	TTL time.Duration
}

// NewElectOptions applies opts in order, and fills in a default ID. Used by
// backends.
func NewElectOptions(opts ...ElectOption) ElectOptions {
	var o ElectOptions
	for _, opt := range opts {
		opt.applyElect(&o)
	}
	if o.ID == "" {
		o.ID = defaultID()
	}
	return o
}

// defaultID is "host-pid-random": unique among the candidates of one
// election, and says where the leader runs.
func defaultID() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	var b [4]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Option configures both locks and elections.
type Option interface {
	LockOption
	ElectOption
}

type ttlOption time.Duration

func (t ttlOption) applyLock(o *LockOptions)   { o.TTL = time.Duration(t) }
func (t ttlOption) applyElect(o *ElectOptions) { o.TTL = time.Duration(t) }

// WithTTL sets how long a lock or leadership outlives a holder that died or
// lost touch with the backend, so that others can take over. The default is
// the backend's: 10s for etcd. Backends whose holders cannot outlive their
// process (local, memory) release at once and ignore it.
func WithTTL(ttl time.Duration) Option { return ttlOption(ttl) }

type idOption string

func (id idOption) applyElect(o *ElectOptions) { o.ID = string(id) }

// WithID names the candidate, as [Sync.Leader] reports it: its address, say,
// so that followers can reach the leader. The default is
// "<hostname>-<pid>-<random>".
func WithID(id string) ElectOption { return idOption(id) }
