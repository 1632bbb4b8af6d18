// Package templates holds the project templates that micro new lays out, one
// directory per kind of project, embedded in the micro binary.
//
// Every file is a text/template with Masterminds/sprig's hermetic functions,
// named as it renders plus ".tmpl": service/main.go.tmpl becomes main.go, and
// proto/{{.ProtoName}}/v1/{{.ProtoName}}.proto.tmpl becomes
// proto/greeter/v1/greeter.proto. The data the templates see is documented on
// the micro command's new.go.
package templates
