package grpcwire

import (
	"context"
	stderrors "errors"
	"io"

	"google.golang.org/grpc"
	grpcmetadata "google.golang.org/grpc/metadata"

	"github.com/protomicro/micro/runtime/metadata"
	"github.com/protomicro/micro/runtime/rpc"
)

// PipeFrames forwards a stream the gateway or the proxy serves (ss) to the
// stream it opened to a service (cs), frames undecoded, until either ends.
// Requests flow on their own, since a stream's two directions are
// independent; a failure to read one cancels the call, which cancel does
// (cs must have been opened with a context cancel ends). Each message is
// passed on in the buffers grpc-go read it into, uncopied (see [Buffers]). The service's
// headers and trailers reach the caller through respond, which turns them
// into what the caller is sent. It returns nil when the service ended the
// stream successfully.
func PipeFrames(cancel context.CancelFunc, ss grpc.ServerStream, cs rpc.ClientConn, respond func(metadata.Metadata) grpcmetadata.MD) error {
	go func() {
		var f Buffers // each message in the buffers grpc-go read it into
		defer f.Free()
		for {
			if err := ss.RecvMsg(&f); err != nil {
				if stderrors.Is(err, io.EOF) {
					_ = cs.CloseSend()
				} else {
					cancel()
				}
				return
			}
			err := cs.SendMsg(&f)
			f.Free()
			if err != nil {
				return // RecvMsg below reports why
			}
		}
	}()
	header, err := cs.Header()
	if err == nil {
		err = ss.SendHeader(respond(header))
	}
	var f Buffers
	for err == nil {
		if err = cs.RecvMsg(&f); err == nil {
			err = ss.SendMsg(&f)
			f.Free()
		}
	}
	ss.SetTrailer(respond(cs.Trailer()))
	if stderrors.Is(err, io.EOF) {
		return nil
	}
	return err
}
