package gateway

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	grpcmetadata "google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/internal/grpcwire"
	"github.com/protomicro/micro/runtime/metadata"
	"github.com/protomicro/micro/runtime/rpc"
)

// The transcoder hands the gateway each call in gRPC, as an HTTP request to
// a handler. A unary call is served here, straight from that request: its
// one message read whole, the service called through the client, and the
// answer written back as a gRPC response (headers, the message, and the
// status in trailers), as grpc-go's http.Handler transport writes it. That
// transport, which the streaming methods still go through, costs a
// goroutine, a channel and a copy of every header per call, about as much as
// the rest of the gateway's work on a small call.

// envelopeSize is the size of a gRPC message's prefix: a flags byte, and
// the message's length in 4 bytes.
const envelopeSize = 5

// serveUnary serves the transcoder's gRPC request r of spec, a unary
// method of b. A call the gateway made already (see serveREST) is answered
// with its outcome, not made again.
func (g *Gateway) serveUnary(w http.ResponseWriter, r *http.Request, b *backend, spec rpc.Spec) {
	ctx := r.Context()
	if made, ok := ctx.Value(outcomeKey{}).(*outcome); ok {
		markReached(ctx)
		made.write(w, r)
		return
	}
	if v := r.Header.Get("Grpc-Timeout"); v != "" {
		timeout, err := parseGRPCTimeout(v)
		if err != nil {
			http.Error(w, "malformed grpc-timeout: "+err.Error(), http.StatusBadRequest)
			return
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	ctx, cancel := g.defaultTimeout(ctx)
	defer cancel()
	pairs, err := outgoingHeaders(r.Header)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	made := g.callUnary(ctx, b, spec, pairs, func() (grpcwire.Frame, error) { return readUnaryRequest(r.Body, g.config.bodyLimit) })
	made.write(w, r)
}

// defaultTimeout returns ctx with the gateway's default timeout for a
// unary call, unless it has a deadline already or there is no default. The
// client the gateway made enforces the default itself, as its safety net,
// without sending it; a client given with WithClient is sent the deadline.
func (g *Gateway) defaultTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok || g.config.timeout <= 0 || g.ownClient {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, g.config.timeout)
}

// outcome is how a unary call the gateway made ended: the answer's message
// and metadata, or the error.
type outcome struct {
	res             grpcwire.Frame
	header, trailer metadata.Metadata
	err             error
	// opts holds the call's options, saving them an allocation.
	opts [4]client.CallOption
}

// outcomeKey is the context key of the outcome of a call made before the
// transcoder saw the request, for serveUnary to answer with.
type outcomeKey struct{}

// callUnary calls spec of b, with the outgoing metadata pairs and the
// message read returns, once the call is authorized.
func (g *Gateway) callUnary(ctx context.Context, b *backend, spec rpc.Spec, pairs []string, read func() (grpcwire.Frame, error)) *outcome {
	made := new(outcome)
	var req grpcwire.Frame
	made.err = g.authorize(ctx, spec, pairs)
	if made.err == nil {
		req, made.err = read()
	}
	if made.err == nil {
		markReached(ctx)
		opts := append(made.opts[:0], frames, client.WithResponseHeader(&made.header), client.WithResponseTrailer(&made.trailer))
		if len(pairs) > 0 {
			opts = append(opts, client.WithHeaders(pairs...))
		}
		made.err = g.client.Invoke(ctx, b.name, spec, &req, &made.res, opts...)
	}
	g.stats.add(b.name, made.err)
	return made
}

// write answers the transcoder's gRPC request r with o, as a gRPC
// response: headers, the message, and the status in trailers.
func (o *outcome) write(w http.ResponseWriter, r *http.Request) {
	writeGRPCHeaders(w, r, incoming(o.header))
	if o.err == nil {
		w.WriteHeader(http.StatusOK)
		var prefix [envelopeSize]byte
		binary.BigEndian.PutUint32(prefix[1:], uint32(len(o.res))) //nolint:gosec // at most the client's message limit
		_, _ = w.Write(prefix[:])
		_, _ = w.Write(o.res)
	}
	writeGRPCStatus(w, incoming(o.trailer), status.Convert(statusError(o.err)))
}

// readUnaryRequest reads a unary call's one message from body, which holds
// it in a gRPC envelope.
func readUnaryRequest(body io.Reader, limit int64) (grpcwire.Frame, error) {
	var prefix [envelopeSize]byte
	if _, err := io.ReadFull(body, prefix[:]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, status.Error(codes.Internal, "the request has no message")
		}
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if prefix[0] != 0 {
		return nil, status.Error(codes.Internal, "the request's message is compressed")
	}
	size := binary.BigEndian.Uint32(prefix[1:])
	if int64(size) > limit {
		return nil, status.Errorf(codes.ResourceExhausted, "received message larger than max (%d vs. %d)", size, limit)
	}
	frame := make(grpcwire.Frame, size)
	if _, err := io.ReadFull(body, frame); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, status.Error(codes.Internal, "the request's message is cut short")
		}
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	var more [1]byte
	for {
		n, err := body.Read(more[:])
		if n > 0 {
			return nil, status.Error(codes.Internal, "the request has more than one message")
		}
		if err == io.EOF {
			return frame, nil
		}
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
	}
}

// outgoingHeaders returns, as key/value pairs, the request headers that
// become outgoing metadata (see outgoing), the values of binary ("-bin")
// headers decoded from base64.
func outgoingHeaders(h http.Header) ([]string, error) {
	var pairs []string
	for key := range h {
		if !strings.EqualFold(key, "authorization") && (len(key) <= len(metadataPrefix) || !strings.EqualFold(key[:len(metadataPrefix)], metadataPrefix)) {
			continue
		}
		lower := strings.ToLower(key)
		name := strings.TrimPrefix(lower, metadataPrefix)
		for _, v := range h[key] {
			if strings.HasSuffix(lower, "-bin") {
				data, err := decodeBinary(v)
				if err != nil {
					return nil, fmt.Errorf("malformed binary metadata %q in header %q: %w", v, lower, err)
				}
				v = string(data)
			}
			pairs = append(pairs, name, v)
		}
	}
	return pairs, nil
}

// decodeBinary decodes a binary header's value, base64 with or without
// padding.
func decodeBinary(v string) ([]byte, error) {
	if len(v)%4 == 0 {
		return base64.StdEncoding.DecodeString(v)
	}
	return base64.RawStdEncoding.DecodeString(v)
}

// grpcTrailers are the trailers a gRPC response declares, and grpcOK the
// grpc-status of a success; shared, full (len == cap) and never written.
var (
	grpcTrailers = []string{"Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin"}
	grpcOK       = []string{"0"}
)

// writeGRPCHeaders sets the headers of a gRPC response: its content type,
// the trailers it declares, and md, the service's headers.
func writeGRPCHeaders(w http.ResponseWriter, r *http.Request, md grpcmetadata.MD) {
	h := w.Header()
	h["Date"] = nil
	// The values are shared where they can be, saving a slice each: a
	// header's values are replaced or appended to (which copies a full
	// slice), not written in place.
	if contentType := r.Header["Content-Type"]; len(contentType) == 1 {
		h["Content-Type"] = contentType
	} else {
		h.Set("Content-Type", r.Header.Get("Content-Type"))
	}
	if len(h["Trailer"]) == 0 {
		h["Trailer"] = grpcTrailers
	} else {
		h["Trailer"] = append(h["Trailer"], grpcTrailers...)
	}
	for key, values := range md {
		for _, v := range values {
			h.Add(key, metadataValue(key, v))
		}
	}
}

// writeGRPCStatus ends a gRPC response, whose headers are set, with st and
// the service's trailers.
func writeGRPCStatus(w http.ResponseWriter, trailer grpcmetadata.MD, st *status.Status) {
	h := w.Header()
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	if st.Code() == codes.OK {
		h["Grpc-Status"] = grpcOK
	} else {
		h.Set("Grpc-Status", strconv.Itoa(int(st.Code())))
	}
	if m := st.Message(); m != "" {
		h.Set("Grpc-Message", percentEncode(m))
	}
	if p := st.Proto(); len(p.GetDetails()) > 0 {
		if data, err := proto.Marshal(p); err == nil {
			h.Set("Grpc-Status-Details-Bin", base64.RawStdEncoding.EncodeToString(data))
		}
	}
	for key, values := range trailer {
		for _, v := range values {
			h.Add(http.TrailerPrefix+key, metadataValue(key, v))
		}
	}
}

// metadataValue returns a metadata value as a header carries it: base64 for
// a binary ("-bin") key.
func metadataValue(key, v string) string {
	if strings.HasSuffix(key, "-bin") {
		return base64.RawStdEncoding.EncodeToString([]byte(v))
	}
	return v
}

// percentEncode encodes a grpc-message: printable ASCII but '%' as it is,
// every other character as the percent-encoded bytes of its UTF-8 (an
// invalid byte as those of U+FFFD).
func percentEncode(m string) string {
	plain := true
	for i := range len(m) {
		if c := m[i]; c < ' ' || c > '~' || c == '%' {
			plain = false
			break
		}
	}
	if plain {
		return m
	}
	const hex = "0123456789ABCDEF"
	out := make([]byte, 0, len(m)*3)
	for _, c := range m {
		if c >= ' ' && c <= '~' && c != '%' {
			out = append(out, byte(c))
			continue
		}
		for _, b := range utf8.AppendRune(nil, c) {
			out = append(out, '%', hex[b>>4], hex[b&0xf])
		}
	}
	return string(out)
}
