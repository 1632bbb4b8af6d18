package testutil

import (
	"net"
	"testing"
)

// UnusedAddress returns a loopback address, "127.0.0.1:port", that nothing
// listens on (a port the system just handed out and took back), for tests of
// what a client does when its server is not there.
func UnusedAddress(t testing.TB) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	address := lis.Addr().String()
	if err := lis.Close(); err != nil {
		t.Fatal(err)
	}
	return address
}
