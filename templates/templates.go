package templates

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// files holds one directory per kind of project.
//
//go:embed all:service all:client
var files embed.FS

// Kinds returns the names of the kinds of project there are templates for,
// sorted: "client" and "service".
func Kinds() []string {
	entries, _ := files.ReadDir(".") // an embedded directory always reads
	var kinds []string
	for _, e := range entries {
		if e.IsDir() {
			kinds = append(kinds, e.Name())
		}
	}
	slices.Sort(kinds)
	return kinds
}

// FS returns the templates of one kind of project, as a file system rooted at
// the project's root.
func FS(kind string) (fs.FS, error) {
	if !slices.Contains(Kinds(), kind) {
		return nil, fmt.Errorf("unknown template %q: want %s, or a directory of templates", kind, strings.Join(Kinds(), " or "))
	}
	return fs.Sub(files, kind)
}
