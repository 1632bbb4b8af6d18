package etcd

import (
	"context"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/protomicro/micro/runtime/sync"
)

// mutex is one holder's place in the queue of a lock: a key under the lock's
// prefix, named after the holder's session lease and kept by it. The holder
// is whoever's key was created first, so waiters are served in order, and
// the key's create revision is the fencing token. This is etcd's lock recipe,
// as in [concurrency.Mutex]; it differs in how a waiter watches the key ahead
// of it. concurrency.Mutex watches from the revision it read, which etcd
// treats as a lagging watch and serves on its next sync of such watches, up
// to 100ms later; mutex watches from now, which etcd serves at once, and then
// checks that the key was not deleted before the watch began.
type mutex struct {
	client   *clientv3.Client
	prefix   string // the lock's, ending in "/"
	key      string // this holder's
	revision int64  // key's create revision
}

// acquire joins the queue of the lock at prefix and waits for its turn, or,
// with try, leaves at once with [sync.ErrLocked] if it is not first.
func acquire(ctx context.Context, sess *concurrency.Session, prefix string, try bool) (*mutex, error) {
	m := &mutex{client: sess.Client(), prefix: prefix, key: fmt.Sprintf("%s%x", prefix, sess.Lease())}
	first := clientv3.OpGet(prefix, clientv3.WithFirstCreate()...)
	var (
		res *clientv3.TxnResponse
		err error
	)
	for {
		res, err = m.client.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(m.key), "=", 0)).
			Then(clientv3.OpPut(m.key, "", clientv3.WithLease(sess.Lease())), first).
			Commit()
		if err != nil {
			return nil, err
		}
		if res.Succeeded {
			break
		}
		// The key is left from an unlock that failed. Taking it over would
		// repeat its token: delete it and queue again.
		if err := m.unlock(ctx); err != nil {
			return nil, err
		}
	}
	m.revision = res.Header.Revision
	if owner := res.Responses[1].GetResponseRange().Kvs; len(owner) == 0 || owner[0].CreateRevision == m.revision {
		return m, nil
	}
	if try {
		err = sync.ErrLocked
	} else {
		err = m.wait(ctx)
	}
	if err != nil {
		// Leave the queue even if ctx is done, within a bound of our own.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return nil, errors.Join(err, m.unlock(ctx))
	}
	return m, nil
}

// wait blocks until no key of the queue is older than m's.
func (m *mutex) wait(ctx context.Context) error {
	for {
		res, err := m.client.Get(ctx, m.prefix, append(clientv3.WithLastCreate(), clientv3.WithMaxCreateRev(m.revision-1))...)
		if err != nil {
			return err
		}
		if len(res.Kvs) == 0 {
			break
		}
		if err := m.waitDelete(ctx, string(res.Kvs[0].Key), res.Kvs[0].CreateRevision); err != nil {
			return err
		}
	}
	// First in the queue, unless the session expired meanwhile and etcd
	// deleted m's key with the others.
	res, err := m.client.Get(ctx, m.key, clientv3.WithCountOnly())
	if err != nil {
		return err
	}
	if res.Count == 0 {
		return concurrency.ErrSessionExpired
	}
	return nil
}

// waitDelete blocks until key, as created at revision, is deleted. The same
// key may be created again at once, when its process locks again, and that
// key is behind m's in the queue, so "the key exists" does not mean "it has
// not been deleted": its create revision tells.
func (m *mutex) waitDelete(ctx context.Context, key string, revision int64) error {
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	changes := m.client.Watch(ctx, key, clientv3.WithFilterPut(), clientv3.WithCreatedNotify())
	for res := range changes {
		if err := res.Err(); err != nil {
			return err
		}
		if len(res.Events) > 0 {
			return nil // a delete: puts are filtered out
		}
		if res.Created {
			// The watch sees every delete from now on; one before shows
			// as the key missing.
			got, err := m.client.Get(ctx, key)
			if err != nil {
				return err
			}
			if len(got.Kvs) == 0 || got.Kvs[0].CreateRevision != revision {
				return nil
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.New("etcd closed the watch")
}

// unlock leaves the queue.
func (m *mutex) unlock(ctx context.Context) error {
	_, err := m.client.Delete(ctx, m.key)
	return err
}
