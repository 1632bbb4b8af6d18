// Package local is a [broker.Broker] that needs nothing installed: the
// processes of one user on one host exchange events through files in a
// private directory, $TMPDIR/micro-<uid>/broker unless [WithDir] says
// otherwise. It is the default broker of a service.
//
// Each topic is an append-only log, <dir>/<topic>/v2/log: a file header
// holding the committed end of the log, then binary records, each its
// length, a CRC-32C checksum and the event's CloudEvents headers and data.
// A publisher appends under flock(2) of the log: it writes its records past
// the committed end, then moves the committed end past them, and readers
// read only up to the committed end, so a publisher that dies mid-write
// leaves nothing that a subscriber sees, and the next publisher writes over
// what it left. The publishers of one broker that publish on a topic at
// the same time are written together, in one write under one lock. Each
// queue group keeps its place in the log in a file of its own,
// <dir>/<topic>/v2/groups/<group>.offset: the byte offset of the next event
// to handle and how many times that event has been delivered. The offset
// moves only after the handler has returned nil (or the event has been
// dead-lettered), and the delivery count is written before the handler
// runs (in the same write that saves the move past the event before it).
// A subscription learns of the events published through its own broker at
// once, of those of other processes from the operating system's file
// notifications (inotify, kqueue), and polls the log too (every 20ms by
// default, [WithPollInterval]) in case a notification is missed or the
// system has none.
//
// This is the second format of the directory. The first, JSON lines in
// <dir>/<topic>/log (micro before the binary log), is neither read nor
// written: a process of an older micro and one of this version on the same
// directory do not see each other's events, and events an older version
// left unhandled in its log are not delivered by this one.
//
// One subscription of a group at a time, in whatever process, holds the
// group's lease (a flock on <group>.lease) and handles all of its events, in
// the order they were published, one at a time; the group's other
// subscriptions stand by and the first to notice takes over when the holder
// closes or its process dies. The group is shared for failover, not for load.
//
// What this means for an event:
//   - Publish returns once the event is written to the topic's log and the
//     log's committed end moved past it. After that the publisher may exit
//     or crash: the event is in the file (in the page cache: see below for
//     fsync). A publisher that crashes before that leaves no event.
//   - A group that has subscribed once keeps its place while no subscriber
//     of it is up, and handles the events published meanwhile when one comes
//     back. A group that has never subscribed starts with the events
//     published after its first subscription; events published on a topic
//     nobody has subscribed to are kept but handled by no one.
//   - A broadcast subscription ([broker.Broadcast]) keeps its place in
//     memory only: it gets the events published while it is up.
//   - A subscriber that crashes mid-handler leaves its event unacknowledged:
//     the operating system releases the lease, and the next subscriber of the
//     group (another node, or the same service restarted) delivers it again,
//     counting the crashed delivery, so an event that keeps crashing its
//     handler is dead-lettered after the maximum number of deliveries.
//   - A broker closed while a handler is still running past the drain
//     deadline leaves the event for redelivery, without counting that
//     delivery. An event waiting for a retry when its broker closes is
//     delivered again by the next subscriber of its group.
//   - Delivery is at least once: a handler may see an event again after a
//     crash. Events are not deduplicated by ID.
//
// Nothing is fsynced (neither the logs nor the offsets), and $TMPDIR may be
// cleared at boot: events survive the processes, not the host. After a crash
// of the host a log may hold records that were never written whole; a
// subscriber dead-letters such a record, with the checksum or length error as
// the reason, and goes on with the next. Logs are never truncated; remove the
// directory (with no service running) to reclaim the space. flock exists on
// Linux, macOS and the BSDs; elsewhere [New] fails.
package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/runtime/internal/flock"
	"github.com/protomicro/micro/runtime/internal/userdir"
)

// Broker is a broker kept in a directory. It is safe for concurrent use by
// any number of goroutines and processes; Close it when done.
type Broker struct {
	dir          string
	poll         time.Duration
	maxEventSize int

	ctx    context.Context // of the handlers; canceled when a drain runs out of time
	cancel context.CancelFunc
	stop   chan struct{}  // closed when Close begins
	wg     sync.WaitGroup // the subscriptions' goroutines

	mu     sync.Mutex
	closed bool
	logs   map[string]*topicLog // by topic: the logs this broker has published on; nil once closed

	// watcher tells of writes to the topics' logs, so that subscriptions
	// need not wait for their next poll; nil if the system could not make
	// one, and then they poll.
	watcher *fsnotify.Watcher
	wmu     sync.Mutex
	changed map[string]*change // by topic
}

var _ broker.Broker = (*Broker)(nil)

// New opens the broker's directory, creating it if need be.
func New(opts ...Option) (*Broker, error) {
	if !flock.Supported {
		return nil, fmt.Errorf("local broker: no flock on %s", runtime.GOOS)
	}
	o := options{poll: 20 * time.Millisecond, maxEventSize: 1 << 20}
	for _, opt := range opts {
		opt.apply(&o)
	}
	if o.dir == "" {
		dir, err := userdir.Path("broker")
		if err != nil {
			return nil, fmt.Errorf("local broker: %w", err)
		}
		o.dir = dir
	} else if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return nil, fmt.Errorf("local broker: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Broker{
		dir:          o.dir,
		poll:         o.poll,
		maxEventSize: o.maxEventSize,
		ctx:          ctx,
		cancel:       cancel,
		stop:         make(chan struct{}),
		changed:      make(map[string]*change),
		logs:         make(map[string]*topicLog),
	}
	if w, err := fsnotify.NewWatcher(); err == nil {
		b.watcher = w
		b.wg.Add(1)
		go b.watch()
	}
	return b, nil
}

// watch wakes the subscriptions of a topic when its log is written, until
// the watcher is closed.
func (b *Broker) watch() {
	defer b.wg.Done()
	for {
		select {
		case ev, ok := <-b.watcher.Events:
			if !ok {
				return
			}
			if filepath.Base(ev.Name) == "log" {
				b.wake(filepath.Base(filepath.Dir(filepath.Dir(ev.Name))))
			}
		case _, ok := <-b.watcher.Errors:
			if !ok {
				return
			}
			// Events may have been missed: wake everyone to look.
			b.wmu.Lock()
			for _, ch := range b.changed {
				ch.wake()
			}
			b.wmu.Unlock()
		}
	}
}

// change is how a topic's subscriptions in this broker learn of writes to
// its log: by this broker's publishers, or by others through the watcher.
type change struct {
	c   chan struct{} // closed at the next write; nil if no one waits
	gen uint64        // counts the writes told of
}

func (ch *change) wake() {
	ch.gen++
	if ch.c != nil {
		close(ch.c)
		ch.c = nil
	}
}

// wake tells topic's subscriptions of a write to its log.
func (b *Broker) wake(topic string) {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	if ch, ok := b.changed[topic]; ok {
		ch.wake()
	}
}

// nextChange returns a channel closed at the next write to topic's log that
// this broker or the watcher sees, and the count of writes seen so far;
// taken before looking at the log, so that a write just after is not
// missed, and so that a subscription that has looked since the count last
// moved need not look again.
func (b *Broker) nextChange(topic string) (<-chan struct{}, uint64) {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	ch, ok := b.changed[topic]
	if !ok {
		ch = &change{}
		b.changed[topic] = ch
	}
	if ch.c == nil {
		ch.c = make(chan struct{})
	}
	return ch.c, ch.gen
}

// String returns "local".
func (b *Broker) String() string { return "local" }

// Dir returns the directory the broker keeps its logs in.
func (b *Broker) Dir() string { return b.dir }

// Publish implements [broker.Broker]: it returns once e is appended to
// topic's log. An event larger than the limit ([WithMaxEventSize]) is
// refused.
func (b *Broker) Publish(ctx context.Context, topic string, e *broker.Event) error {
	if err := broker.ValidateTopic(topic); err != nil {
		return err
	}
	if err := e.Validate(); err != nil {
		return err
	}
	if len(e.Data) > b.maxEventSize {
		return fmt.Errorf("event %q of %d bytes exceeds the limit of %d bytes: %w", e.ID, len(e.Data), b.maxEventSize, broker.ErrTooLarge)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.isClosed() {
		return broker.ErrClosed
	}
	if err := b.append(topic, e, nil, nil); err != nil {
		return fmt.Errorf("publish event %q: %w", e.ID, err)
	}
	return nil
}

func (b *Broker) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// topicDir is the directory of topic's files in this format.
func (b *Broker) topicDir(topic string) string { return filepath.Join(b.dir, topic, formatDir) }

func (b *Broker) logPath(topic string) string { return filepath.Join(b.topicDir(topic), "log") }

// append writes one record at the end of topic's log, of e or else of
// header and data, and wakes the
// subscriptions of this broker that wait for it.
func (b *Broker) append(topic string, e *broker.Event, header map[string][]string, data []byte) error {
	b.mu.Lock()
	if b.logs == nil {
		b.mu.Unlock()
		return broker.ErrClosed
	}
	l, ok := b.logs[topic]
	if !ok {
		l = &topicLog{path: b.logPath(topic)}
		b.logs[topic] = l
	}
	b.mu.Unlock()
	if err := l.append(e, header, data); err != nil {
		if errors.Is(err, errClosedLog) {
			return broker.ErrClosed
		}
		return err
	}
	b.wake(topic)
	return nil
}

// Subscribe implements [broker.Broker]. A group that has never subscribed
// to topic starts at the end of its log; one that has resumes where it
// left off.
func (b *Broker) Subscribe(topic string, h broker.Handler, opts ...broker.SubscribeOption) error {
	s, err := broker.NewSubscription(topic, h, opts...)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return broker.ErrClosed
	}
	if err := os.MkdirAll(b.topicDir(topic), 0o700); err != nil {
		return fmt.Errorf("subscribe to %q: %w", topic, err)
	}
	if b.watcher != nil {
		// A failure only means polling.
		_ = b.watcher.Add(b.topicDir(topic))
	}
	r := &logReader{path: b.logPath(topic)}
	end, err := r.end()
	if err != nil {
		r.close()
		return fmt.Errorf("subscribe to %q: %w", topic, err)
	}
	c := &cursor{offset: end}
	if s.Group != "" {
		groups := filepath.Join(b.topicDir(topic), "groups")
		if err := os.MkdirAll(groups, 0o700); err != nil {
			return fmt.Errorf("subscribe to %q: %w", topic, err)
		}
		name := url.PathEscape(s.Group)
		c.offsetPath = filepath.Join(groups, name+".offset")
		c.leasePath = filepath.Join(groups, name+".lease")
		if err := c.create(); err != nil {
			r.close()
			return fmt.Errorf("subscribe to %q in group %q: %w", topic, s.Group, err)
		}
	}
	b.wg.Add(1)
	go b.run(s, c, r)
	return nil
}

// cursor is a subscription's place in its topic's log: in a group's offset
// file, or in memory for a broadcast subscription.
type cursor struct {
	offsetPath string // "" for a broadcast subscription
	leasePath  string
	lease      *os.File
	file       *os.File // the offset file, open while the lease is held

	offset     int64 // of the next event to handle
	deliveries int   // of that event so far
	unsaved    bool  // offset has moved since the last save
	buf        [offsetRecordSize]byte
}

// offsetRecordSize is the size of a group's offset file.
const offsetRecordSize = 32

// create writes the group's offset file with c's offset unless it exists:
// the first subscription of a group sets where it starts.
func (c *cursor) create() error {
	tmp, err := c.writeTemp()
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp) }()
	if err := os.Link(tmp, c.offsetPath); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

// writeTemp writes c's place to a new file beside the offset file.
func (c *cursor) writeTemp() (string, error) {
	f, err := os.CreateTemp(filepath.Dir(c.offsetPath), ".offset-*")
	if err != nil {
		return "", err
	}
	_, err = f.Write(c.record())
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// record is c's place as the offset file holds it: fixed-width, so that
// each save overwrites the whole of the last one.
func (c *cursor) record() []byte {
	b := c.buf[:0]
	b = appendPadded(b, c.offset, 20)
	b = append(b, ' ')
	b = appendPadded(b, int64(c.deliveries), 10)
	return append(b, '\n')
}

// appendPadded appends n in decimal, at least width digits, zeros first.
func appendPadded(b []byte, n int64, width int) []byte {
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], n, 10)
	for i := len(d); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, d...)
}

// load reads the group's place; the lease is held.
func (c *cursor) load() error {
	data, err := os.ReadFile(c.offsetPath)
	if err != nil {
		return err
	}
	fields := strings.Fields(string(data))
	if len(fields) != 2 {
		return fmt.Errorf("%s: malformed offset %q", c.offsetPath, data)
	}
	offset, err := strconv.ParseInt(fields[0], 10, 64)
	if err != nil {
		return fmt.Errorf("%s: %w", c.offsetPath, err)
	}
	deliveries, err := strconv.Atoi(fields[1])
	if err != nil {
		return fmt.Errorf("%s: %w", c.offsetPath, err)
	}
	c.offset, c.deliveries = offset, deliveries
	return nil
}

// save records c's place for whoever holds the lease next: in one write at
// the start of the offset file, which a crash of the process cannot tear (a
// file of an older version, written with variable widths, is replaced
// whole). A broadcast subscription's place is in memory only.
func (c *cursor) save() error {
	c.unsaved = false
	if c.offsetPath == "" {
		return nil
	}
	if c.file != nil {
		_, err := c.file.WriteAt(c.record(), 0)
		return err
	}
	tmp, err := c.writeTemp()
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, c.offsetPath); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// run delivers the events of s's topic to it until the broker closes: for a
// group, once it holds the group's lease.
func (b *Broker) run(s *broker.Subscription, c *cursor, r *logReader) {
	defer b.wg.Done()
	defer r.close()
	if c.leasePath != "" {
		if !b.takeLease(c) {
			return
		}
		defer func() {
			if c.unsaved {
				_ = c.save()
			}
			if c.file != nil {
				_ = c.file.Close()
				c.file = nil
			}
			_ = c.lease.Close() // releases the lease
		}()
	}
	var recs []rawRecord
	timer := time.NewTimer(b.poll) // reset for each wait
	timer.Stop()
	const unknown = ^uint64(0)
	var end int64
	known := unknown // the count of writes when end was read
	for {
		changed, gen := b.nextChange(s.Topic)
		var err error
		if gen != known {
			// Written since end was read (or a poll is due): read it again.
			known = gen
			end, err = r.end()
		}
		if err == nil && end < c.offset {
			c.offset, c.deliveries = logHeaderSize, 0 // the log was removed and begun again
		}
		if err != nil || end == c.offset {
			if c.unsaved {
				// The last event handled, acknowledged now that no other's
				// delivery count does it.
				_ = c.save()
			}
			ok, idle := b.waitChange(changed, timer)
			if !ok {
				return
			}
			if idle || err != nil {
				// A write may have gone untold: look at the log itself.
				r.checkReplaced()
				known = unknown
			}
			continue
		}
		recs, err = r.read(c.offset, end, recs)
		if err != nil {
			r.close()
			known = unknown
			if !b.sleep(b.poll) {
				return
			}
			continue
		}
		for i := range recs {
			if !b.handle(s, c, &recs[i]) {
				return
			}
		}
	}
}

// takeLease waits for the group's lease, then loads its place; it reports
// false if the broker closes first.
func (b *Broker) takeLease(c *cursor) bool {
	for {
		if f, err := os.OpenFile(c.leasePath, os.O_RDWR|os.O_CREATE, 0o600); err == nil {
			if ok, _ := flock.TryLock(f, false); ok && c.load() == nil {
				c.lease = f
				if c.save() == nil { // whole, at the fixed width
					c.file, _ = os.OpenFile(c.offsetPath, os.O_RDWR, 0)
				}
				return true
			}
			_ = f.Close()
		}
		// Someone else holds the lease, or the files could not be read: try
		// again after a while.
		if !b.sleep(b.poll) {
			return false
		}
	}
}

// waitChange waits for changed to be closed, or for the poll interval, and
// reports true, or false if the broker closes first, and whether the poll
// interval passed without a change; timer is stopped, and stopped again
// after.
func (b *Broker) waitChange(changed <-chan struct{}, timer *time.Timer) (ok, idle bool) {
	select {
	case <-changed:
		return true, false
	default:
	}
	timer.Reset(b.poll)
	defer timer.Stop()
	select {
	case <-changed:
		return true, false
	case <-timer.C:
		return true, true
	case <-b.stop:
		return false, false
	}
}

// sleep waits for d and reports true, or false if the broker closes first.
func (b *Broker) sleep(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-b.stop:
		return false
	}
}

func (b *Broker) stopping() bool {
	select {
	case <-b.stop:
		return true
	default:
		return false
	}
}

// handle delivers the record rec until it is acknowledged or
// dead-lettered, then moves c past it; it reports false if the broker closes
// first, leaving the record where it is. The move is saved with the next
// delivery count, or when the log has nothing more.
func (b *Broker) handle(s *broker.Subscription, c *cursor, rec *rawRecord) bool {
	decodeErr := rec.err
	for {
		if b.stopping() {
			return false
		}
		c.deliveries++
		// Counted before the handler runs, so that a crash counts too. A failed
		// save loses only that count; the delivery goes ahead.
		_ = c.save()
		var v broker.Verdict
		var e *broker.Event
		err := decodeErr
		if err == nil {
			e, err = broker.ParseEvent(rec.header, append([]byte(nil), rec.data...))
		}
		if err != nil {
			v = s.Reject(err, c.deliveries)
		} else {
			v = s.Handle(b.ctx, e, c.deliveries)
		}
		switch v.Action {
		case broker.Retry:
			if !b.sleep(v.Delay) {
				return false
			}
			continue
		case broker.Abandon:
			c.deliveries-- // interrupted by Close, not a failure
			_ = c.save()
			return false
		case broker.DeadLetter:
			header := broker.DeadLetterHeader(rec.header, s.Topic, v.Reason, c.deliveries)
			if err := b.append(s.DeadLetterTopic, nil, header, rec.data); err != nil {
				// Not dead-lettered, so not acknowledged: try again later.
				c.deliveries--
				if !b.sleep(b.poll) {
					return false
				}
				continue
			}
		case broker.Ack:
		}
		c.offset += rec.size
		c.deliveries = 0
		c.unsaved = true // if lost, the event is delivered again: at least once
		return true
	}
}

// Close implements [broker.Broker]. A subscription waiting to retry an event
// leaves it in the log for the next subscriber of its group.
func (b *Broker) Close(ctx context.Context) error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.stop)
		if b.watcher != nil {
			_ = b.watcher.Close() // ends watch
		}
	}
	b.mu.Unlock()
	done := make(chan struct{})
	go func() {
		b.wg.Wait()
		// No subscription dead-letters any more: the logs can close.
		b.mu.Lock()
		logs := b.logs
		b.logs = nil
		b.mu.Unlock()
		for _, l := range logs {
			l.close()
		}
		close(done)
	}()
	select {
	case <-done:
		b.cancel()
		return nil
	case <-ctx.Done():
		b.cancel()
		return fmt.Errorf("drain local broker: %w", ctx.Err())
	}
}
