package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// outputFlag is the --output flag of the commands that print tables: text
// for people, json for scripts.
type outputFlag struct{ json bool }

// addOutputFlag adds --output (-o) to cmd.
func addOutputFlag(cmd *cobra.Command) *outputFlag {
	f := new(outputFlag)
	cmd.Flags().VarP(f, "output", "o", "the output format: text or json")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return f
}

// String implements pflag.Value.
func (f *outputFlag) String() string {
	if f.json {
		return "json"
	}
	return "text"
}

// Set implements pflag.Value.
func (f *outputFlag) Set(value string) error {
	switch value {
	case "text", "json":
		f.json = value == "json"
		return nil
	}
	return fmt.Errorf("want text or json")
}

// Type implements pflag.Value.
func (f *outputFlag) Type() string { return "format" }

// writeJSON writes v as indented JSON and a newline, with <, > and & as
// they are ("map<string, string>").
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes rows of cells with aligned columns.
type table struct{ w *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.row(header...)
	return t
}

// row adds a row; an empty cell is written "-", so that every column of a
// row can be told apart.
func (t *table) row(cells ...string) {
	for i, cell := range cells {
		if cell == "" {
			cells[i] = "-"
		}
	}
	_, _ = fmt.Fprintln(t.w, strings.Join(cells, "\t"))
}

// flush writes the table out.
func (t *table) flush() error { return t.w.Flush() }
