package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/spf13/cobra"
	"golang.org/x/mod/modfile"

	"github.com/protomicro/micro/generator/bufgen"
)

func newGenerateCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "generate [PATH...]",
		Short: "Generate code from the project's protos, with nothing installed",
		Long: `Generate the Go code of the project's protos as buf generate would with the
project's buf.gen.yaml, writing the same bytes, but with neither buf, protoc nor
plugins installed: micro compiles the protos itself and runs protoc-gen-go and
protoc-gen-micro built in. Imports resolve from the modules of buf.yaml, the
well-known types and google/api/annotations.proto. Code is generated for every
proto of the modules, or for those under the directories buf.gen.yaml lists as
inputs: micro new's projects keep google/api in a module of its own,
third_party, which they compile against and generate no code for.

PATHs (directories or files, relative to the project) limit generation to the
protos under them. Nothing is written if a proto does not compile; each error
is printed as file:line:col: message.`,
		Example: `  micro generate
  micro generate proto/greeter`,
		RunE: func(cmd *cobra.Command, paths []string) error {
			return runGenerate(cmd.Context(), cmd.ErrOrStderr(), dir, paths)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", ".", "the project's directory, holding buf.gen.yaml")
	return cmd
}

func runGenerate(ctx context.Context, log io.Writer, dir string, paths []string) error {
	files, err := bufgen.Generate(ctx, dir, paths...)
	var compileErr *bufgen.CompileError
	if errors.As(err, &compileErr) {
		for _, e := range compileErr.Errors {
			logf(log, "%s\n", e)
		}
		problems := "errors"
		if len(compileErr.Errors) == 1 {
			problems = "error"
		}
		return fmt.Errorf("%d %s in the protos; nothing was written", len(compileErr.Errors), problems)
	}
	if err != nil {
		return err
	}
	warnVersions(log, dir)
	return writeFiles(log, dir, files, false)
}

// writeFiles writes files under dir with [bufgen.Write] and says which it
// wrote (by their path under dir, or with dir when withDir) and how many
// were already up to date.
func writeFiles(log io.Writer, dir string, files []bufgen.File, withDir bool) error {
	written, err := bufgen.Write(dir, files)
	for _, p := range written {
		if withDir {
			p = filepath.Join(dir, p)
		}
		logf(log, "wrote %s\n", filepath.ToSlash(p))
	}
	if err != nil {
		return err
	}
	if unchanged := len(files) - len(written); unchanged > 0 {
		logf(log, "%d files already up to date\n", unchanged)
	}
	return nil
}

// warnVersions warns when the project pins generators at other versions than
// the ones built in, since buf generate would then write other bytes.
func warnVersions(log io.Writer, dir string) {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return
	}
	mod, err := modfile.ParseLax("go.mod", data, nil)
	if err != nil {
		return
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	builtIn := map[string]string{}
	for _, dep := range info.Deps {
		builtIn[dep.Path] = dep.Version
	}
	for _, r := range mod.Require {
		if r.Mod.Path != "google.golang.org/protobuf" {
			continue
		}
		if v := builtIn[r.Mod.Path]; v != "" && v != r.Mod.Version {
			logf(log, "warning: go.mod requires %s %s, and micro generate has protoc-gen-go %s built in; buf generate would use %s, so the outputs may differ\n",
				r.Mod.Path, r.Mod.Version, v, r.Mod.Version)
		}
	}
}
