package main

import (
	"io"
	"io/fs"
	"path"

	"github.com/spf13/cobra"

	"github.com/protomicro/micro/generator/bufgen"
)

func newProtoCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "proto",
		Short: "Work with the protos micro has built in",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "export DIR",
		Short: "Write the protos micro generate has built in, for protoc and buf",
		Long: `Write the protos that micro generate resolves imports from, besides the
project's own and the well-known types, under DIR by import path:
google/api/annotations.proto and google/api/http.proto, which a proto using
google.api.http imports. Give DIR to protoc with -I DIR, or list it as a module
in buf.yaml, and protoc and buf find them as micro generate does. Files already
there with the same content are left alone.`,
		Example: `  micro proto export third_party`,
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return exportProtos(cmd.ErrOrStderr(), args[0])
		},
	})
	return cmd
}

// exportProtos writes [bufgen.Imports] under dir.
func exportProtos(log io.Writer, dir string) error {
	files, err := builtInProtos(".")
	if err != nil {
		return err
	}
	return writeFiles(log, dir, files, true)
}

// builtInProtos returns [bufgen.Imports] as files under dir, a slash-separated
// path.
func builtInProtos(dir string) ([]bufgen.File, error) {
	imports := bufgen.Imports()
	var files []bufgen.File
	err := fs.WalkDir(imports, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		content, err := fs.ReadFile(imports, name)
		files = append(files, bufgen.File{Path: path.Join(dir, name), Content: content})
		return err
	})
	return files, err
}
