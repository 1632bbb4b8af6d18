package e2e

import (
	"context"
	"io"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/golden/commentbytes"
	"github.com/protomicro/micro/testdata/golden/comments"
	"github.com/protomicro/micro/testdata/golden/deprecated"
	"github.com/protomicro/micro/testdata/golden/editions"
	"github.com/protomicro/micro/testdata/golden/http"
	"github.com/protomicro/micro/testdata/golden/importmsg"
	"github.com/protomicro/micro/testdata/golden/keywords"
	"github.com/protomicro/micro/testdata/golden/keywords/c"
	"github.com/protomicro/micro/testdata/golden/mparam"
	"github.com/protomicro/micro/testdata/golden/multiservice"
	"github.com/protomicro/micro/testdata/golden/pkgsuffix"
	"github.com/protomicro/micro/testdata/golden/pkgsuffix/pkgsuffixmicro"
	"github.com/protomicro/micro/testdata/golden/proto2"
	"github.com/protomicro/micro/testdata/golden/sourcerel"
	"github.com/protomicro/micro/testdata/golden/unary"
)

// The tests below run each golden package's generated client against its
// generated handler. Handlers implement some methods and embed Unimplemented
// for the rest, so that both paths are exercised.

type greeter struct {
	unary.UnimplementedGreeterHandler
}

func (greeter) Hello(_ context.Context, req *unary.HelloRequest) (*unary.HelloResponse, error) {
	return &unary.HelloResponse{Message: req.GetGreeting() + ", " + req.GetName()}, nil
}

func TestGoldenUnary(t *testing.T) {
	t.Parallel()
	c := unary.NewGreeterClient("greeter", inMemory(t, func(s server.Server) error {
		return unary.RegisterGreeterHandler(s, greeter{})
	}))
	res, err := c.Hello(testContext(t), &unary.HelloRequest{Name: "Ada", Greeting: proto.String("Hello")})
	if err != nil || res.GetMessage() != "Hello, Ada" {
		t.Errorf("Hello = %v, %v, want %q", res, err, "Hello, Ada")
	}
}

type library struct {
	comments.UnimplementedLibraryHandler
}

func (library) Lend(_ context.Context, req *comments.LendRequest) (*comments.LendResponse, error) {
	return &comments.LendResponse{}, nil
}

func TestGoldenComments(t *testing.T) {
	t.Parallel()
	c := comments.NewLibraryClient("library", inMemory(t, func(s server.Server) error {
		return comments.RegisterLibraryHandler(s, library{})
	}))
	ctx := testContext(t)
	if _, err := c.Lend(ctx, &comments.LendRequest{Isbn: "1"}); err != nil {
		t.Errorf("Lend: %v", err)
	}
	_, err := c.Undocumented(ctx, &comments.LendRequest{})
	wantUnimplemented(t, err, comments.LibraryUndocumentedProcedure)
	_, err = c.Return(ctx, &comments.LendRequest{})
	wantUnimplemented(t, err, comments.LibraryReturnProcedure)
}

type pasted struct {
	commentbytes.UnimplementedPastedHandler
}

func (pasted) Echo(_ context.Context, req *commentbytes.EchoRequest) (*commentbytes.EchoResponse, error) {
	return &commentbytes.EchoResponse{Text: req.GetText()}, nil
}

// TestGoldenCommentBytes runs the package whose proto comments hold bytes
// that are illegal in Go source: that it compiles is most of the test.
func TestGoldenCommentBytes(t *testing.T) {
	t.Parallel()
	c := commentbytes.NewPastedClient("pasted", inMemory(t, func(s server.Server) error {
		return commentbytes.RegisterPastedHandler(s, pasted{})
	}))
	ctx := testContext(t)
	if res, err := c.Echo(ctx, &commentbytes.EchoRequest{Text: "hi"}); err != nil || res.GetText() != "hi" {
		t.Errorf("Echo = %v, %v, want %q", res, err, "hi")
	}
	_, err := c.Block(ctx, &commentbytes.EchoRequest{})
	wantUnimplemented(t, err, commentbytes.PastedBlockProcedure)
}

type old struct {
	deprecated.UnimplementedOldHandler
}

func (old) Ping(context.Context, *deprecated.PingRequest) (*deprecated.PingResponse, error) {
	return &deprecated.PingResponse{}, nil
}

type mixed struct {
	deprecated.UnimplementedMixedHandler
}

func (mixed) Legacy(_ context.Context, _ *deprecated.PingRequest, stream server.ServerStream[deprecated.PingResponse]) error {
	return stream.Send(&deprecated.PingResponse{})
}

func TestGoldenDeprecated(t *testing.T) {
	t.Parallel()
	cc := inMemory(t, func(s server.Server) error {
		if err := deprecated.RegisterOldHandler(s, old{}); err != nil { //nolint:staticcheck // testing a deprecated service
			return err
		}
		return deprecated.RegisterMixedHandler(s, mixed{})
	})
	ctx := testContext(t)
	if _, err := deprecated.NewOldClient("old", cc).Ping(ctx, &deprecated.PingRequest{}); err != nil { //nolint:staticcheck // as above
		t.Errorf("Ping: %v", err)
	}
	m := deprecated.NewMixedClient("mixed", cc)
	_, err := m.Current(ctx, &deprecated.PingRequest{})
	wantUnimplemented(t, err, deprecated.MixedCurrentProcedure)
	stream, err := m.Legacy(ctx, &deprecated.PingRequest{}) //nolint:staticcheck // as above
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, stream.Recv); n != 1 {
		t.Errorf("Legacy streamed %d messages, want 1", n)
	}
	up, err := m.LegacyUndocumented(ctx) //nolint:staticcheck // as above
	if err != nil {
		t.Fatal(err)
	}
	_, err = up.CloseAndRecv()
	wantUnimplemented(t, err, deprecated.MixedLegacyUndocumentedProcedure) //nolint:staticcheck // as above
}

// count receives until io.EOF and returns how many messages came.
func count[T any](t *testing.T, recv func() (*T, error)) int {
	t.Helper()
	n := 0
	for {
		_, err := recv()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		n++
	}
}

type inventory struct {
	proto2.UnimplementedInventoryHandler
}

func (inventory) Reserve(_ context.Context, req *proto2.ReserveRequest) (*proto2.ReserveResponse, error) {
	// The default of an unset proto2 field arrives intact.
	ok := req.GetQuantity() == 1 && proto.GetExtension(req, proto2.E_Note) == "gift"
	return &proto2.ReserveResponse{Reserved: proto.Bool(ok)}, nil
}

func TestGoldenProto2(t *testing.T) {
	t.Parallel()
	c := proto2.NewInventoryClient("inventory", inMemory(t, func(s server.Server) error {
		return proto2.RegisterInventoryHandler(s, inventory{})
	}))
	req := &proto2.ReserveRequest{Sku: proto.String("sku-1")}
	proto.SetExtension(req, proto2.E_Note, "gift")
	res, err := c.Reserve(testContext(t), req)
	if err != nil || !res.GetReserved() {
		t.Errorf("Reserve = %v, %v, want reserved (default and extension seen by the handler)", res, err)
	}
}

type notes struct {
	editions.UnimplementedNotesHandler
}

func (notes) Stream(_ context.Context, stream server.BidiStream[editions.AddRequest, editions.AddResponse]) error {
	for id := int64(1); ; id++ {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if req.Priority == nil {
			id = -1
		}
		if err := stream.Send(&editions.AddResponse{Id: id}); err != nil {
			return err
		}
	}
}

func TestGoldenEditions(t *testing.T) {
	t.Parallel()
	c := editions.NewNotesClient("notes", inMemory(t, func(s server.Server) error {
		return editions.RegisterNotesHandler(s, notes{})
	}))
	ctx := testContext(t)
	_, err := c.Add(ctx, &editions.AddRequest{})
	wantUnimplemented(t, err, editions.NotesAddProcedure)
	stream, err := c.Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&editions.AddRequest{Text: "a", Priority: proto.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	res, err := stream.Recv()
	if err != nil || res.GetId() != 1 {
		t.Errorf("Stream answer = %v, %v, want id 1 (explicit presence of a zero priority kept)", res, err)
	}
	_ = stream.CloseSend()
	if _, err := stream.Recv(); err != io.EOF {
		t.Errorf("Recv after CloseSend = %v, want io.EOF", err)
	}
}

type users struct {
	multiservice.UnimplementedUsersHandler
}

func (users) Get(_ context.Context, req *multiservice.GetRequest) (*multiservice.Item, error) {
	return &multiservice.Item{Id: "user " + req.GetId()}, nil
}

type orders struct {
	multiservice.UnimplementedOrdersHandler
}

func (orders) Get(_ context.Context, req *multiservice.GetRequest) (*multiservice.Item, error) {
	return &multiservice.Item{Id: "order " + req.GetId()}, nil
}

func TestGoldenMultiservice(t *testing.T) {
	t.Parallel()
	cc := inMemory(t, func(s server.Server) error {
		if err := multiservice.RegisterUsersHandler(s, users{}); err != nil {
			return err
		}
		if err := multiservice.RegisterEmptyHandler(s, multiservice.UnimplementedEmptyHandler{}); err != nil {
			return err
		}
		return multiservice.RegisterOrdersHandler(s, orders{})
	})
	ctx := testContext(t)
	u, err := multiservice.NewUsersClient("shop", cc).Get(ctx, &multiservice.GetRequest{Id: "1"})
	if err != nil || u.GetId() != "user 1" {
		t.Errorf("Users.Get = %v, %v, want user 1", u, err)
	}
	o, err := multiservice.NewOrdersClient("shop", cc).Get(ctx, &multiservice.GetRequest{Id: "1"})
	if err != nil || o.GetId() != "order 1" {
		t.Errorf("Orders.Get = %v, %v, want order 1 (same method name, other service)", o, err)
	}
	_ = multiservice.NewEmptyClient("shop", cc)
}

type relay struct {
	importmsg.UnimplementedRelayHandler
}

func (relay) Hello(_ context.Context, req *unary.HelloRequest) (*unary.HelloResponse, error) {
	return &unary.HelloResponse{Message: req.GetName()}, nil
}

func (relay) Names(_ context.Context, _ *emptypb.Empty, stream server.ServerStream[wrapperspb.StringValue]) error {
	for _, name := range []string{"a", "b"} {
		if err := stream.Send(wrapperspb.String(name)); err != nil {
			return err
		}
	}
	return nil
}

func TestGoldenImportmsg(t *testing.T) {
	t.Parallel()
	c := importmsg.NewRelayClient("relay", inMemory(t, func(s server.Server) error {
		return importmsg.RegisterRelayHandler(s, relay{})
	}))
	ctx := testContext(t)
	if res, err := c.Hello(ctx, &unary.HelloRequest{Name: "x"}); err != nil || res.GetMessage() != "x" {
		t.Errorf("Hello = %v, %v", res, err)
	}
	_, err := c.Ping(ctx, &emptypb.Empty{})
	wantUnimplemented(t, err, importmsg.RelayPingProcedure)
	names, err := c.Names(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, names.Recv); n != 2 {
		t.Errorf("Names streamed %d, want 2", n)
	}
}

type funcHandler struct {
	keywords.UnimplementedFuncHandler
}

func (funcHandler) Type(_ context.Context, req *c.Thing) (*c.Thing, error) { return req, nil }

func (funcHandler) Error(_ context.Context, req *keywords.Struct) (*keywords.Struct, error) {
	return &keywords.Struct{Map: "error"}, nil
}

type odd struct {
	keywords.UnimplementedOdd_2Handler
}

func TestGoldenKeywords(t *testing.T) {
	t.Parallel()
	cc := inMemory(t, func(s server.Server) error {
		if err := keywords.RegisterFuncHandler(s, funcHandler{}); err != nil {
			return err
		}
		return keywords.RegisterOdd_2Handler(s, odd{})
	})
	ctx := testContext(t)
	f := keywords.NewFuncClient("func", cc)
	if res, err := f.Type(ctx, &c.Thing{Type: "t"}); err != nil || res.GetType() != "t" {
		t.Errorf("Type = %v, %v", res, err)
	}
	if res, err := f.Error(ctx, &keywords.Struct{}); err != nil || res.GetMap() != "error" {
		t.Errorf("Error = %v, %v", res, err)
	}
	for procedure, call := range map[string]func() error{
		keywords.FuncType_MethodProcedure:    func() error { _, err := f.Type_Method(ctx, &c.Thing{}); return err },
		keywords.FuncLowerSnakeCaseProcedure: func() error { _, err := f.LowerSnakeCase(ctx, &keywords.Struct{}); return err },
		keywords.FuncContextProcedure:        func() error { _, err := f.Context(ctx, &keywords.Struct{}); return err },
		keywords.FuncStringProcedure:         func() error { _, err := f.String(ctx, &keywords.Struct{}); return err },
		keywords.FuncGoProcedure: func() error {
			s, err := f.Go(ctx, &c.Thing{})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		},
		keywords.FuncSelectProcedure: func() error {
			s, err := f.Select(ctx)
			if err != nil {
				return err
			}
			_, err = s.CloseAndRecv()
			return err
		},
		keywords.Odd_2RangeProcedure: func() error {
			s, err := keywords.NewOdd_2Client("odd", cc).Range(ctx)
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		},
	} {
		wantUnimplemented(t, call(), procedure)
	}
}

type books struct{ http.UnimplementedBooksHandler }

func (books) GetBook(_ context.Context, req *http.GetBookRequest) (*http.Book, error) {
	return &http.Book{Name: req.GetName(), Title: "Dune"}, nil
}

func TestGoldenHTTP(t *testing.T) {
	t.Parallel()
	var descs []*server.ServiceDesc
	c := http.NewBooksClient("books", inMemory(t, func(s server.Server) error {
		err := http.RegisterBooksHandler(s, books{})
		descs = s.Services()
		return err
	}))
	if res, err := c.GetBook(testContext(t), &http.GetBookRequest{Name: "shelves/1/books/2"}); err != nil || res.GetTitle() != "Dune" {
		t.Errorf("GetBook = %v, %v", res, err)
	}
	// The HTTP routes reach the registration, for a gateway to use.
	get := descs[0].Methods[0]
	if len(get.HTTP) != 3 || get.HTTP[0].Method != "GET" || get.HTTP[2].Body != "*" {
		t.Errorf("GetBook routes = %+v, want the rule and its two additional bindings", get.HTTP)
	}
}

type paths struct {
	sourcerel.UnimplementedPathsHandler
}

type mapped struct {
	mparam.UnimplementedMappedHandler
}

func TestGoldenParams(t *testing.T) {
	t.Parallel()
	cc := inMemory(t, func(s server.Server) error {
		if err := sourcerel.RegisterPathsHandler(s, paths{}); err != nil {
			return err
		}
		return mparam.RegisterMappedHandler(s, mapped{})
	})
	ctx := testContext(t)
	_, err := sourcerel.NewPathsClient("paths", cc).Get(ctx, &sourcerel.Msg{})
	wantUnimplemented(t, err, sourcerel.PathsGetProcedure)
	_, err = mparam.NewMappedClient("mapped", cc).Get(ctx, &mparam.Msg{})
	wantUnimplemented(t, err, mparam.MappedGetProcedure)
}

// microEcho implements the pkgsuffix Echo service with micro's handler
// interface from the sub-package.
type microEcho struct{}

func (microEcho) Echo(_ context.Context, req *pkgsuffix.EchoRequest) (*pkgsuffix.EchoResponse, error) {
	return &pkgsuffix.EchoResponse{Message: req.GetMessage(), Number: req.GetNumber()}, nil
}

func (microEcho) Count(_ context.Context, req *pkgsuffix.EchoRequest, stream server.ServerStream[pkgsuffix.EchoResponse]) error {
	for i := int64(1); i <= req.GetNumber(); i++ {
		if err := stream.Send(&pkgsuffix.EchoResponse{Message: req.GetMessage(), Number: i}); err != nil {
			return err
		}
	}
	return nil
}

func (microEcho) Sum(_ context.Context, stream server.ClientStream[pkgsuffix.EchoRequest]) (*pkgsuffix.EchoResponse, error) {
	res := new(pkgsuffix.EchoResponse)
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return res, nil
		}
		if err != nil {
			return nil, err
		}
		res.Number += req.GetNumber()
	}
}

func (microEcho) Chat(_ context.Context, stream server.BidiStream[pkgsuffix.EchoRequest, pkgsuffix.EchoResponse]) error {
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&pkgsuffix.EchoResponse{Message: req.GetMessage()}); err != nil {
			return err
		}
	}
}

func TestGoldenPkgsuffix(t *testing.T) {
	t.Parallel()
	c := pkgsuffixmicro.NewEchoClient("echo", inMemory(t, func(s server.Server) error {
		return pkgsuffixmicro.RegisterEchoHandler(s, microEcho{})
	}))
	ctx := testContext(t)
	if res, err := c.Echo(ctx, &pkgsuffix.EchoRequest{Message: "m"}); err != nil || res.GetMessage() != "m" {
		t.Errorf("Echo = %v, %v", res, err)
	}
	stream, err := c.Count(ctx, &pkgsuffix.EchoRequest{Number: 2})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, stream.Recv); n != 2 {
		t.Errorf("Count streamed %d, want 2", n)
	}
}
