// Package templates holds the project templates that micro new lays out, one
// directory per kind of project, embedded in the micro binary. Files are named
// as they render: service/main.go.tmpl becomes main.go.
package templates
