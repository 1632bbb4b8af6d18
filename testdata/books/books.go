// Package books implements the http.v1.Books test service (every method with
// an HTTP route, from testdata/proto/http) for the gateway's tests.
package books

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/protomicro/micro/runtime/errors"
	"github.com/protomicro/micro/runtime/metadata"
	"github.com/protomicro/micro/runtime/server"
	"github.com/protomicro/micro/testdata/golden/http"
)

// Handler implements [http.BooksHandler]. Every book it returns is named as
// asked and titled "Dune", and every answer carries the header x-book
// (the name) and the trailer x-done.
//
// A name that ends in "error-<code>" ("shelves/1/books/error-not_found")
// fails with that code and a google.rpc.ErrorInfo detail; a book named
// "metadata" is titled with the metadata the call carried, "key=value"
// pairs sorted and joined by ";".
type Handler struct {
	http.UnimplementedBooksHandler
}

var _ http.BooksHandler = Handler{}

// GetBook returns the book called req.Name.
func (Handler) GetBook(ctx context.Context, req *http.GetBookRequest) (*http.Book, error) {
	return book(ctx, req.GetName())
}

// CreateBook returns req.Book, named as the first book of req.Parent.
func (Handler) CreateBook(ctx context.Context, req *http.CreateBookRequest) (*http.Book, error) {
	b, err := book(ctx, req.GetParent()+"/books/1")
	if err != nil {
		return nil, err
	}
	b.Title = req.GetBook().GetTitle()
	return b, nil
}

// UpdateBook returns req.Book.
func (Handler) UpdateBook(ctx context.Context, req *http.UpdateBookRequest) (*http.Book, error) {
	if _, err := book(ctx, req.GetBook().GetName()); err != nil {
		return nil, err
	}
	return req.GetBook(), nil
}

// ReplaceBook returns req.Book.
func (h Handler) ReplaceBook(ctx context.Context, req *http.UpdateBookRequest) (*http.Book, error) {
	return h.UpdateBook(ctx, req)
}

// DeleteBook returns the book deleted.
func (Handler) DeleteBook(ctx context.Context, req *http.GetBookRequest) (*http.Book, error) {
	return book(ctx, req.GetName())
}

// Head returns the book called req.Name.
func (Handler) Head(ctx context.Context, req *http.GetBookRequest) (*http.Book, error) {
	return book(ctx, req.GetName())
}

// WatchBooks sends two books of the shelf req.Name.
func (Handler) WatchBooks(ctx context.Context, req *http.GetBookRequest, stream server.ServerStream[http.Book]) error {
	for _, n := range []string{"1", "2"} {
		b, err := book(ctx, req.GetName()+"/books/"+n)
		if err != nil {
			return err
		}
		if err := stream.Send(b); err != nil {
			return err
		}
	}
	return nil
}

// NoRoute returns the book called req.Name, titled "no route".
func (Handler) NoRoute(ctx context.Context, req *http.GetBookRequest) (*http.Book, error) {
	b, err := book(ctx, req.GetName())
	if err == nil {
		b.Title = "no route"
	}
	return b, err
}

func book(ctx context.Context, name string) (*http.Book, error) {
	if i := strings.LastIndex(name, "error-"); i >= 0 {
		var code errors.Code
		if err := code.UnmarshalText([]byte(name[i+len("error-"):])); err != nil {
			return nil, errors.New(errors.CodeInvalidArgument, err)
		}
		e := errors.Errorf(code, "asked for %s", code)
		if err := e.AddDetail(&errdetails.ErrorInfo{Reason: "BOOKS_ASKED", Domain: "books.micro.test"}); err != nil {
			return nil, err
		}
		return nil, e
	}
	_ = server.SetHeader(ctx, metadata.New("x-book", name))
	_ = server.SetTrailer(ctx, metadata.New("x-done", "yes"))
	b := &http.Book{Name: name, Title: "Dune"}
	if name == "metadata" {
		md := metadata.FromIncomingContext(ctx)
		var pairs []string
		for key := range md {
			pairs = append(pairs, key+"="+strings.Join(md.Values(key), ","))
		}
		slices.Sort(pairs)
		b.Title = strings.Join(pairs, ";")
	}
	return b, nil
}
