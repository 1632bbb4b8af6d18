// Package microv1 is the Go code of micro/v1/options.proto, micro's own
// proto options: a message's event topic, and who may call a method
// (Access). Protos that import micro/v1/options.proto compile to Go that
// imports this package; protoc-gen-micro reads the options and carries them
// into the generated registration, so programs rarely use it directly.
package microv1
