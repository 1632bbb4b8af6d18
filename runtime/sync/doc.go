// Package sync coordinates processes: distributed locks with fencing tokens,
// and leader election.
//
// [Sync] is the interface every backend implements; each backend is a child
// package named after the system it uses: sync/local for the processes of one
// host (nothing to install), sync/etcd for processes spread over many hosts,
// and sync/memory for tests and single processes. Every backend passes the
// same conformance suite, sync/synctest.
//
// A [Lock] carries a fencing token that grows with every acquisition of its
// key. Hand it to whatever the lock protects and have that refuse a token
// smaller than the largest it has seen: a holder that lost its lock without
// noticing (a long pause, a partition) is then turned away instead of
// corrupting data. [Lock.Done] is closed when the lock is released or lost.
//
// The package is named sync because that is what it does; inside it, and in
// its backends, the standard library's sync is imported as stdsync.
// Callers that need both can import this one as msync.
package sync
