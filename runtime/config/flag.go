package config

import (
	"context"
	"flag"
	"strings"

	"github.com/knadh/koanf/maps"
)

// Flags returns a source of the flags of fs that were set on the command
// line (flags left at their defaults do not override other sources), for a
// program that gives its configuration flags. A flag's name is its key,
// with "-" read as "_" ("db.max-conns" sets db.max_conns). Call it after
// fs.Parse.
func Flags(fs *flag.FlagSet) Source { return &flags{fs: fs} }

type flags struct{ fs *flag.FlagSet }

func (f *flags) String() string { return "flags" }

func (f *flags) Load(context.Context) (map[string]any, error) {
	flat := map[string]any{}
	f.fs.Visit(func(fl *flag.Flag) {
		flat[strings.ReplaceAll(fl.Name, "-", "_")] = fl.Value.String()
	})
	return maps.Unflatten(flat, "."), nil
}
