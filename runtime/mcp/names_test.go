package mcp

import (
	"regexp"
	"strings"
	"testing"

	commentspb "github.com/protomicro/micro/testdata/golden/comments"
	bookspb "github.com/protomicro/micro/testdata/golden/http"
)

func TestToolNames(t *testing.T) {
	get := bookspb.File_http_http_proto.Services().Get(0).Methods().ByName("GetBook")
	lend := commentspb.File_comments_comments_proto.Services().Get(0).Methods().ByName("Lend")
	long := strings.Repeat("s", 70)
	offers := []*offer{
		{service: "books", method: get},
		{service: "shop.books", method: get}, // sanitizes to shop_books_GetBook
		{service: "shop_books", method: get},
		{service: long, method: lend},
		{service: "lib", method: lend},
	}
	names := toolNames(offers)
	valid := regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	seen := make(map[string]bool)
	for i, name := range names {
		if !valid.MatchString(name) {
			t.Errorf("name of %s %s = %q, not of [A-Za-z0-9_-]{1,64}", offers[i].service, offers[i].method.Name(), name)
		}
		if seen[name] {
			t.Errorf("name %q given twice", name)
		}
		seen[name] = true
	}
	if names[0] != "books_GetBook" || names[4] != "lib_Lend" {
		t.Errorf("names = %q, want books_GetBook and lib_Lend as they are", names)
	}
	for _, i := range []int{1, 2, 3} {
		if len(names[i]) > 64 || !regexp.MustCompile(`_[0-9a-f]{6}$`).MatchString(names[i]) {
			t.Errorf("name %q of a colliding or long name has no hash suffix", names[i])
		}
	}
	// The same offers in another order get the same names.
	again := toolNames([]*offer{offers[4], offers[3], offers[2], offers[1], offers[0]})
	for i := range offers {
		if again[4-i] != names[i] {
			t.Errorf("name of offer %d = %q in another order, %q before", i, again[4-i], names[i])
		}
	}
}
