// protoc-gen-micro is a protoc plugin that generates micro client and handler
// stubs for the services in .proto files. Put it on PATH and run protoc with
// protoc-gen-go beside it:
//
//	protoc --go_out=. --go_opt=paths=source_relative \
//	       --micro_out=. --micro_opt=paths=source_relative greeter/v1/greeter.proto
//
// or name it as a local plugin in buf.gen.yaml:
//
//	plugins:
//	  - local: protoc-gen-micro
//	    out: gen
//	    opt: paths=source_relative
//
// For greeter/v1/greeter.proto this writes greeter/v1/greeter.pb.micro.go, in
// the Go package of protoc-gen-go's greeter.pb.go.
//
// Parameters: package_suffix=<suffix> puts the code in a sub-package named
// after the messages' package plus the suffix (greeterv1micro), for projects
// that also run protoc-gen-go-grpc; paths, module and M<file>=<import path>
// work as they do for protoc-gen-go.
//
// Flags: --version prints the version, --help this text.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"

	"google.golang.org/protobuf/compiler/protogen"

	"github.com/protomicro/micro/generator"
)

const usage = `protoc-gen-micro generates micro client and handler stubs; protoc or buf runs it.

  protoc --go_out=. --micro_out=. greeter/v1/greeter.proto

Parameters (--micro_opt, or opt: in buf.gen.yaml):
  package_suffix=<suffix>  generate into a sub-package of the messages' package
  paths, module, M...      as for protoc-gen-go

Flags:
  --version  print the version and exit
  --help     print this text and exit
`

func main() {
	if len(os.Args) == 2 {
		switch os.Args[1] {
		case "--version":
			fmt.Println(filepath.Base(os.Args[0]), version())
			return
		case "-h", "--help":
			fmt.Print(usage)
			return
		}
	}
	var opts generator.Options
	// opts.Generate binds &opts, so it sees the parameters Set records.
	protogen.Options{ParamFunc: opts.Set}.Run(opts.Generate)
}

// version is the module version the binary was built from: a tag when
// installed with go install, "(devel)" in a checkout.
func version() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}
