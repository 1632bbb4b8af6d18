// Package devrun is the development loop of micro run: it finds the services
// of a workspace, builds each into a temporary binary, runs them with a
// shared registry and broker, prints their output as one prefixed log
// stream, and rebuilds and restarts the services a changed file affects.
//
// It is a development tool. Nothing here is meant for production, where
// services run as the binaries go build makes.
package devrun
