package local

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/protomicro/micro/runtime/broker"
	"github.com/protomicro/micro/runtime/internal/flock"
)

// The format of a topic's log, <dir>/<topic>/v2/log:
//
//	file header, logHeaderSize bytes:
//	  [8]  logMagic
//	  [8]  the committed end: the offset just past the last whole record, little-endian
//	  [4]  CRC-32C of those 8 bytes, so that a read racing the write is seen torn
//	  [12] zero
//	records, from logHeaderSize to the committed end, each:
//	  [4]  n, the length of the body, little-endian
//	  [4]  CRC-32C (Castagnoli) of the body
//	  [n]  body: uvarint count of header keys, then for each key its
//	       uvarint-prefixed name, the uvarint count of its values and each
//	       uvarint-prefixed value; then the event's data, to the end of the body
//
// A publisher appends under flock(2) of the log: it reads the committed end,
// writes its records there and then moves the committed end past them, in
// one write of the file header. Readers read only up to the committed end,
// so records that a publisher dying mid-write left past it are never seen,
// and the next publisher writes over them.
const (
	logHeaderSize    = 32
	recordHeaderSize = 8
	// formatDir is the directory of a topic's files in this format; the JSON
	// lines of the first format, <topic>/log, are neither read nor written.
	formatDir = "v2"
)

var (
	logMagic   = [8]byte{'m', 'i', 'c', 'r', 'o', 'e', 'v', '2'}
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	// errTorn is a file header read while it was being written.
	errTorn = errors.New("torn log header")
)

// readEnd returns the committed end of the log f: logHeaderSize for an
// empty file.
func readEnd(f *os.File, h *[logHeaderSize]byte) (int64, error) {
	n, err := f.ReadAt(h[:], 0)
	if n < logHeaderSize {
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		// Not yet begun, or begun by a publisher that died writing the file
		// header, before any record was committed.
		return logHeaderSize, nil
	}
	if [8]byte(h[:8]) != logMagic {
		return 0, fmt.Errorf("%s: not a micro event log (format 2)", f.Name())
	}
	if crc32.Checksum(h[8:16], castagnoli) != binary.LittleEndian.Uint32(h[16:20]) {
		return 0, errTorn
	}
	end := int64(binary.LittleEndian.Uint64(h[8:16]))
	if end < logHeaderSize {
		return 0, fmt.Errorf("%s: committed end %d before the first record", f.Name(), end)
	}
	return end, nil
}

// committedEnd is readEnd, read again while it races a publisher's write.
func committedEnd(f *os.File, h *[logHeaderSize]byte) (int64, error) {
	for range 100 {
		end, err := readEnd(f, h)
		if !errors.Is(err, errTorn) {
			return end, err
		}
	}
	return 0, fmt.Errorf("%s: %w", f.Name(), errTorn)
}

// writeEnd writes the file header of f with the committed end.
func writeEnd(f *os.File, h *[logHeaderSize]byte, end int64) error {
	*h = [logHeaderSize]byte{}
	copy(h[:], logMagic[:])
	binary.LittleEndian.PutUint64(h[8:16], uint64(end))
	binary.LittleEndian.PutUint32(h[16:20], crc32.Checksum(h[8:16], castagnoli))
	_, err := f.WriteAt(h[:], 0)
	return err
}

// maxRecordBody bounds a record's body, so that its length fits its field.
const maxRecordBody = 1<<31 - 1

// appendRecord appends to buf the record of an event with header and data.
func appendRecord(buf []byte, header map[string][]string, data []byte) ([]byte, error) {
	start := len(buf)
	buf = append(buf, make([]byte, recordHeaderSize)...)
	buf = binary.AppendUvarint(buf, uint64(len(header)))
	for key, values := range header {
		buf = appendString(buf, key)
		buf = binary.AppendUvarint(buf, uint64(len(values)))
		for _, v := range values {
			buf = appendString(buf, v)
		}
	}
	buf = append(buf, data...)
	return finishRecord(buf, start)
}

// appendEventRecord appends to buf the record of e, with the header
// e.Header() holds, written without building it.
func appendEventRecord(buf []byte, e *broker.Event) ([]byte, error) {
	start := len(buf)
	buf = append(buf, make([]byte, recordHeaderSize)...)
	count := 5 + len(e.Extensions)
	if !e.Time.IsZero() {
		count++
	}
	buf = binary.AppendUvarint(buf, uint64(count))
	buf = appendHeader(buf, "ce-specversion", "1.0")
	buf = appendHeader(buf, "ce-id", e.ID)
	buf = appendHeader(buf, "ce-source", e.Source)
	buf = appendHeader(buf, "ce-type", e.Type)
	if !e.Time.IsZero() {
		buf = appendString(buf, "ce-time")
		buf = append(buf, 1)
		var t [64]byte
		stamp := e.Time.UTC().AppendFormat(t[:0], time.RFC3339Nano)
		buf = binary.AppendUvarint(buf, uint64(len(stamp)))
		buf = append(buf, stamp...)
	}
	contentType := e.DataContentType
	if contentType == "" {
		contentType = broker.ContentTypeProto
	}
	buf = appendHeader(buf, "content-type", contentType)
	for name, value := range e.Extensions {
		buf = binary.AppendUvarint(buf, uint64(len("ce-")+len(name)))
		buf = append(buf, "ce-"...)
		buf = append(buf, name...)
		buf = append(buf, 1)
		buf = appendString(buf, value)
	}
	buf = append(buf, e.Data...)
	return finishRecord(buf, start)
}

// appendHeader appends a header key of one value.
func appendHeader(buf []byte, key, value string) []byte {
	buf = appendString(buf, key)
	buf = append(buf, 1)
	return appendString(buf, value)
}

// finishRecord fills in the length and checksum of the record begun at
// start.
func finishRecord(buf []byte, start int) ([]byte, error) {
	body := buf[start+recordHeaderSize:]
	if len(body) > maxRecordBody {
		return buf[:start], fmt.Errorf("record of %d bytes exceeds the log's limit of %d", len(body), maxRecordBody)
	}
	binary.LittleEndian.PutUint32(buf[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(body, castagnoli))
	return buf, nil
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// errCorrupt is a record whose length or checksum is wrong: after a crash
// of the host, since nothing is fsynced.
var errCorrupt = errors.New("corrupt record")

// decodeBody returns the header and data of a record's body; data aliases
// body.
func decodeBody(body []byte) (map[string][]string, []byte, error) {
	// First pass: where the header ends, with every length checked.
	pos := 0
	uvarint := func() (int, bool) {
		v, n := binary.Uvarint(body[pos:])
		if n <= 0 || v > uint64(len(body)-pos-n) {
			return 0, false
		}
		pos += n
		return int(v), true
	}
	count, ok := uvarint()
	if !ok {
		return nil, nil, fmt.Errorf("%w: bad header count", errCorrupt)
	}
	headerStart := pos
	total := 0
	for range count {
		n, ok := uvarint()
		if !ok {
			return nil, nil, fmt.Errorf("%w: bad header key", errCorrupt)
		}
		pos += n
		values, ok := uvarint()
		if !ok {
			return nil, nil, fmt.Errorf("%w: bad header value count", errCorrupt)
		}
		total += values
		for range values {
			n, ok := uvarint()
			if !ok {
				return nil, nil, fmt.Errorf("%w: bad header value", errCorrupt)
			}
			pos += n
		}
	}
	headerEnd := pos
	// Second pass: the strings, all in one allocation.
	s := string(body[headerStart:headerEnd])
	header := make(map[string][]string, count)
	all := make([]string, total)
	pos = headerStart
	str := func() string {
		n, _ := uvarint()
		v := s[pos-headerStart : pos-headerStart+n]
		pos += n
		return v
	}
	for range count {
		key := str()
		values, _ := uvarint()
		vs := all[:values:values]
		all = all[values:]
		for i := range vs {
			vs[i] = str()
		}
		header[key] = vs
	}
	return header, body[headerEnd:], nil
}

// topicLog is the open log of a topic that this broker publishes on.
type topicLog struct {
	path string

	mu     sync.Mutex // guards cur and spares
	cur    *batch     // the records waiting to be written, nil if none
	spares [][]byte   // written batches' buffers, for the next

	wmu     sync.Mutex // held to write a batch
	f       *os.File   // opened at the first write
	info    os.FileInfo
	checked time.Time // when f was last checked to be the file at path
	header  [logHeaderSize]byte
	closed  bool
}

// batch is the records of publishers that are written together.
type batch struct {
	buf     []byte
	written bool // guarded by topicLog.wmu, as err
	err     error
}

// append has the record of e, or else of header and data, appended to the log, with the records of the
// publishers of this broker writing at the same time: the first of them to
// take the log writes them all, under one flock, in one write.
func (l *topicLog) append(e *broker.Event, header map[string][]string, data []byte) error {
	l.mu.Lock()
	if l.cur == nil {
		l.cur = &batch{}
		if n := len(l.spares); n > 0 {
			l.cur.buf, l.spares = l.spares[n-1][:0], l.spares[:n-1]
		}
	}
	bt := l.cur
	var err error
	if e != nil {
		bt.buf, err = appendEventRecord(bt.buf, e)
	} else {
		bt.buf, err = appendRecord(bt.buf, header, data)
	}
	l.mu.Unlock()
	if err != nil {
		return err
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if bt.written {
		return bt.err
	}
	l.mu.Lock()
	bt = l.cur // bt still, with whatever joined it since
	l.cur = nil
	l.mu.Unlock()
	bt.err = l.write(bt.buf)
	bt.written = true
	l.mu.Lock()
	if cap(bt.buf) <= 4<<20 && len(l.spares) < 4 {
		l.spares = append(l.spares, bt.buf)
	}
	l.mu.Unlock()
	bt.buf = nil
	return bt.err
}

// write appends the records in buf to the log; wmu is held.
func (l *topicLog) write(buf []byte) error {
	if l.closed {
		return errClosedLog
	}
	if l.f != nil && time.Since(l.checked) > replacedCheck {
		// Removed (with its directory, to reclaim the space) and begun again
		// by another process: write to the new file.
		if info, err := os.Stat(l.path); err != nil || !os.SameFile(info, l.info) {
			_ = l.f.Close()
			l.f = nil
		}
		l.checked = time.Now()
	}
	if l.f == nil {
		if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
			return err
		}
		f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		info, err := f.Stat()
		if err != nil {
			_ = f.Close()
			return err
		}
		l.f, l.info, l.checked = f, info, time.Now()
	}
	if err := flock.Lock(l.f); err != nil {
		return fmt.Errorf("lock %s: %w", l.path, err)
	}
	defer func() { _ = flock.Unlock(l.f) }()
	// Under the lock no one else writes, so the header cannot be torn.
	end, err := readEnd(l.f, &l.header)
	if err != nil {
		return err
	}
	if end == logHeaderSize {
		// Begun by this write, or by one that died before its records were
		// committed: a whole header first, so that the file is never without
		// one.
		if err := writeEnd(l.f, &l.header, end); err != nil {
			return err
		}
	}
	if _, err := l.f.WriteAt(buf, end); err != nil {
		return err
	}
	return writeEnd(l.f, &l.header, end+int64(len(buf)))
}

// replacedCheck is how often a publisher checks that its open log is
// still the file at the log's path.
const replacedCheck = time.Second

var errClosedLog = errors.New("log closed")

// close closes the log's file, waiting for a write in progress.
func (l *topicLog) close() {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.closed = true
	if l.f != nil {
		_ = l.f.Close()
		l.f = nil
	}
}

// logReader reads a topic's log for a subscription.
type logReader struct {
	path   string
	f      *os.File // nil until the log exists
	info   os.FileInfo
	buf    []byte
	header [logHeaderSize]byte
}

// end returns the committed end of the log, logHeaderSize if there is none
// yet.
func (r *logReader) end() (int64, error) {
	if r.f == nil {
		f, err := os.Open(r.path)
		if errors.Is(err, os.ErrNotExist) {
			return logHeaderSize, nil
		}
		if err != nil {
			return 0, err
		}
		info, err := f.Stat()
		if err != nil {
			_ = f.Close()
			return 0, err
		}
		r.f, r.info = f, info
	}
	return committedEnd(r.f, &r.header)
}

// checkReplaced has the log opened again at the next end if its file was
// removed or replaced since it was opened.
func (r *logReader) checkReplaced() {
	if r.f == nil {
		return
	}
	if info, err := os.Stat(r.path); err != nil || !os.SameFile(info, r.info) {
		r.close()
	}
}

func (r *logReader) close() {
	if r.f != nil {
		_ = r.f.Close()
		r.f = nil
	}
}

// rawRecord is a record as read from a log.
type rawRecord struct {
	size   int64 // in the log, its header included
	header map[string][]string
	data   []byte // aliases the reader's buffer
	err    error  // why it could not be decoded
}

// read reads the records of the log from offset up to end, at least one,
// into r's buffer and returns them; data stays valid until the next read.
func (r *logReader) read(offset, end int64, recs []rawRecord) ([]rawRecord, error) {
	if end-offset < recordHeaderSize {
		return append(recs[:0], rawRecord{size: end - offset, err: fmt.Errorf("%w at offset %d: %d bytes left before the end of the log, less than a record", errCorrupt, offset, end-offset)}), nil
	}
	want := min(end-offset, 256<<10)
	for {
		if int64(cap(r.buf)) < want {
			r.buf = make([]byte, want)
		}
		buf := r.buf[:want]
		if _, err := r.f.ReadAt(buf, offset); err != nil {
			return recs, err
		}
		recs = recs[:0]
		var pos int64
		for pos+recordHeaderSize <= want {
			n := int64(binary.LittleEndian.Uint32(buf[pos:]))
			size := recordHeaderSize + n
			if offset+pos+size > end {
				// A length no publisher wrote: the rest of the log up to the
				// committed end cannot be read.
				recs = append(recs, rawRecord{size: end - offset - pos, err: fmt.Errorf("%w at offset %d: length %d runs past the end of the log at %d", errCorrupt, offset+pos, n, end)})
				return recs, nil
			}
			if pos+size > want {
				break
			}
			body := buf[pos+recordHeaderSize : pos+size]
			rec := rawRecord{size: size}
			if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(buf[pos+4:]) {
				rec.err = fmt.Errorf("%w at offset %d: checksum mismatch", errCorrupt, offset+pos)
			} else {
				rec.header, rec.data, rec.err = decodeBody(body)
			}
			recs = append(recs, rec)
			pos += size
		}
		if len(recs) > 0 {
			return recs, nil
		}
		// The first record is larger than what was read.
		want = recordHeaderSize + int64(binary.LittleEndian.Uint32(buf))
	}
}
