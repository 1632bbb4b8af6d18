package target

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"google.golang.org/protobuf/proto"

	echov1 "github.com/protomicro/micro/bench/gen/echo/v1"
)

// Raw is the floor: protobuf messages in length-prefixed frames over plain
// TCP, one call at a time per connection, no headers, deadlines, errors or
// multiplexing. The caller keeps a pool of connections, one per concurrent
// call. Whatever a framework costs beyond this is what it does for you.
func Raw() Target {
	return Target{
		Name:  "raw-tcp",
		About: "floor: protobuf in 4-byte length-prefixed frames over TCP, one connection per concurrent call",
		Serve: serveRaw,
		Dial: func(addr string) (Client, error) {
			return &rawCaller{addr: addr, idle: make(chan *frameConn, 1024)}, nil
		},
	}
}

// The first byte a caller sends on a connection says which method it is for.
const (
	rawEcho   byte = 'e'
	rawStream byte = 's'
	rawChat   byte = 'c'
)

// maxFrame bounds the frames a peer accepts, so that a corrupt length cannot
// make it allocate without limit.
const maxFrame = 4 << 20

// frameConn reads and writes length-prefixed protobuf frames. Its buffers
// are reused from frame to frame, as a hand-written protocol would. It is not
// safe for concurrent use.
type frameConn struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	rbuf []byte
	wbuf []byte
}

func newFrameConn(conn net.Conn) *frameConn {
	return &frameConn{conn: conn, r: bufio.NewReaderSize(conn, 32<<10), w: bufio.NewWriterSize(conn, 32<<10)}
}

// send writes m, and flushes it to the connection at once unless more
// frames follow: a server stream leaves frames in the buffer until it fills,
// the way grpc-go's transport batches the frames it has queued.
func (c *frameConn) send(m proto.Message, moreFollow bool) error {
	buf, err := proto.MarshalOptions{}.MarshalAppend(append(c.wbuf[:0], 0, 0, 0, 0), m)
	if err != nil {
		return err
	}
	binary.BigEndian.PutUint32(buf, uint32(len(buf)-4))
	c.wbuf = buf
	if _, err := c.w.Write(buf); err != nil || moreFollow {
		return err
	}
	return c.w.Flush()
}

func (c *frameConn) recv(m proto.Message) error {
	var header [4]byte
	if _, err := io.ReadFull(c.r, header[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(header[:])
	if n > maxFrame {
		return fmt.Errorf("frame of %d bytes is over the limit of %d", n, maxFrame)
	}
	if cap(c.rbuf) < int(n) {
		c.rbuf = make([]byte, n)
	}
	c.rbuf = c.rbuf[:n]
	if _, err := io.ReadFull(c.r, c.rbuf); err != nil {
		return err
	}
	return proto.Unmarshal(c.rbuf, m)
}

func serveRaw(addr string) (Server, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &rawServer{lis: lis, conns: make(map[net.Conn]bool)}
	go s.serve()
	return server{addr: lis.Addr().String(), stop: s.stop}, nil
}

type rawServer struct {
	lis   net.Listener
	mu    sync.Mutex
	conns map[net.Conn]bool
}

func (s *rawServer) serve() {
	for {
		conn, err := s.lis.Accept()
		if err != nil {
			return // closed by stop
		}
		s.mu.Lock()
		s.conns[conn] = true
		s.mu.Unlock()
		go func() {
			_ = s.handle(newFrameConn(conn)) // a connection ends when its caller goes away
			s.mu.Lock()
			delete(s.conns, conn)
			s.mu.Unlock()
			_ = conn.Close()
		}()
	}
}

func (s *rawServer) handle(c *frameConn) error {
	method, err := c.r.ReadByte()
	if err != nil {
		return err
	}
	switch method {
	case rawEcho:
		for {
			req := new(echov1.EchoRequest)
			if err := c.recv(req); err != nil {
				return err
			}
			if err := c.send(echo(req), false); err != nil {
				return err
			}
		}
	case rawStream:
		req := new(echov1.StreamRequest)
		if err := c.recv(req); err != nil {
			return err
		}
		return stream(context.Background(), req, func(res *echov1.StreamResponse) error { return c.send(res, true) })
	case rawChat:
		return serveChat(func() (*echov1.ChatRequest, error) {
			req := new(echov1.ChatRequest)
			return req, c.recv(req)
		}, func(res *echov1.ChatResponse) error { return c.send(res, false) })
	}
	return fmt.Errorf("unknown method %q", method)
}

func (s *rawServer) stop() error {
	err := s.lis.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for conn := range s.conns {
		_ = conn.Close()
	}
	return err
}

// rawCaller keeps idle connections for unary calls; streams get their own.
type rawCaller struct {
	addr string
	idle chan *frameConn
}

func (c *rawCaller) dial(ctx context.Context, method byte) (*frameConn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Write([]byte{method}); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return newFrameConn(conn), nil
}

func (c *rawCaller) Echo(ctx context.Context, req *echov1.EchoRequest) (*echov1.EchoResponse, error) {
	var conn *frameConn
	select {
	case conn = <-c.idle:
	default:
		var err error
		if conn, err = c.dial(ctx, rawEcho); err != nil {
			return nil, err
		}
	}
	res := new(echov1.EchoResponse)
	if err := conn.send(req, false); err != nil {
		_ = conn.conn.Close()
		return nil, err
	}
	if err := conn.recv(res); err != nil {
		_ = conn.conn.Close()
		return nil, err
	}
	select {
	case c.idle <- conn:
	default:
		_ = conn.conn.Close()
	}
	return res, nil
}

// open dials a connection for a stream, which ctx's end closes.
func (c *rawCaller) open(ctx context.Context, method byte) (*frameConn, error) {
	conn, err := c.dial(ctx, method)
	if err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, func() { _ = conn.conn.Close() })
	return conn, nil
}

func (c *rawCaller) Stream(ctx context.Context, req *echov1.StreamRequest) (Receiver, error) {
	conn, err := c.open(ctx, rawStream)
	if err != nil {
		return nil, err
	}
	if err := conn.send(req, false); err != nil {
		return nil, err
	}
	return rawReceiver{conn}, nil
}

func (c *rawCaller) Chat(ctx context.Context) (Chat, error) {
	conn, err := c.open(ctx, rawChat)
	if err != nil {
		return nil, err
	}
	return rawChatter{conn}, nil
}

func (c *rawCaller) Close() error {
	var errs []error
	for {
		select {
		case conn := <-c.idle:
			errs = append(errs, conn.conn.Close())
		default:
			return errors.Join(errs...)
		}
	}
}

type rawReceiver struct{ c *frameConn }

func (r rawReceiver) Recv() (*echov1.StreamResponse, error) {
	res := new(echov1.StreamResponse)
	return res, r.c.recv(res)
}

type rawChatter struct{ c *frameConn }

func (r rawChatter) Send(req *echov1.ChatRequest) error { return r.c.send(req, false) }

func (r rawChatter) Recv() (*echov1.ChatResponse, error) {
	res := new(echov1.ChatResponse)
	return res, r.c.recv(res)
}
