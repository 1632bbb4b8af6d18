// Package oracle holds tests that check micro against other projects'
// implementations of the same protocols: a connect-go client calling
// through runtime/gateway, in Connect and gRPC-Web. They live in the bench
// module so that micro's own module never depends on those projects.
package oracle
