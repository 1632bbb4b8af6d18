// Package oracle holds tests that hold runtime/gateway up against other
// projects' implementations of the same protocols: connect-go's generated
// client calling through it in Connect and gRPC-Web, and grpc-gateway's
// generated mux answering a table of REST requests beside it, in front of
// the same micro server. They live in the bench module so that micro's own
// module never depends on those projects.
package oracle
