package generator

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	microv1 "github.com/protomicro/micro/runtime/proto/micro/v1"
)

// Bounds on the proto comments carried into the registration: a method's
// registration should stay small next to the messages it serves, and the
// registry carries it to every gateway and tool.
const (
	maxDocBytes      = 1024 // a method's comment
	maxFieldDocBytes = 256  // one request field's comment
	maxFieldDocs     = 64   // fields with comments, per method
	maxFieldDepth    = 3    // nesting of request fields walked for comments
)

// methodInfo is what the proto says about a method beyond its types, as the
// registration carries it.
type methodInfo struct {
	http      []httpRule
	access    *microv1.Access
	doc       string
	fieldDocs []fieldDoc
}

// fieldDoc is the comment of a request field, by its path from the request.
type fieldDoc struct {
	path, text string
}

// methodInfos reads the options and comments of every method in file.
func methodInfos(file *protogen.File) (map[*protogen.Method]*methodInfo, error) {
	rules, err := httpRules(file)
	if err != nil {
		return nil, err
	}
	infos := make(map[*protogen.Method]*methodInfo)
	for _, service := range file.Services {
		serviceAccess, err := accessOption(service.Desc.Options(), microv1.E_ServiceAccess)
		if err != nil {
			return nil, fmt.Errorf("service %s: option (%s): %w", service.Desc.FullName(), microv1.E_ServiceAccess.TypeDescriptor().FullName(), err)
		}
		for _, method := range service.Methods {
			access, err := accessOption(method.Desc.Options(), microv1.E_Access)
			if err != nil {
				return nil, fmt.Errorf("method %s: option (%s): %w", method.Desc.FullName(), microv1.E_Access.TypeDescriptor().FullName(), err)
			}
			if access == nil {
				access = serviceAccess
			}
			infos[method] = &methodInfo{
				http:      rules[method],
				access:    access,
				doc:       commentText(method.Comments.Leading, maxDocBytes),
				fieldDocs: fieldDocs(method.Input),
			}
		}
	}
	return infos, nil
}

// accessOption returns the Access option xt of opts, or nil, and rejects an
// access that is public and lists scopes, or lists an empty scope.
func accessOption(opts protoreflect.ProtoMessage, xt protoreflect.ExtensionType) (*microv1.Access, error) {
	access := new(microv1.Access)
	ok, err := extension(opts, xt, access)
	if err != nil || !ok {
		return nil, err
	}
	if access.GetPublic() && len(access.GetScopes()) > 0 {
		return nil, fmt.Errorf("public and scopes %q: a public method is called without credentials, so it can require no scopes; drop one", access.GetScopes())
	}
	for i, scope := range access.GetScopes() {
		if strings.TrimSpace(scope) == "" {
			return nil, fmt.Errorf("scopes[%d] is empty", i)
		}
	}
	return access, nil
}

// extension reads the message-valued extension xt of opts into into, and
// reports whether it is set. When the request holds the file that declares
// xt (a project that keeps google/api or micro/v1 among its own protos),
// protogen resolves the option to a dynamic message of that file's type, so
// the value is copied through its wire form.
func extension(opts protoreflect.ProtoMessage, xt protoreflect.ExtensionType, into proto.Message) (bool, error) {
	v, ok := findExtension(opts, xt)
	if !ok {
		return false, nil
	}
	wire, err := proto.Marshal(v.Message().Interface())
	if err == nil {
		err = proto.Unmarshal(wire, into)
	}
	return true, err
}

// stringExtension returns the string-valued extension xt of opts, and
// whether it is set, however protogen resolved it.
func stringExtension(opts protoreflect.ProtoMessage, xt protoreflect.ExtensionType) (string, bool) {
	v, ok := findExtension(opts, xt)
	if !ok {
		return "", false
	}
	return v.String(), true
}

// findExtension returns the value of the extension of opts with xt's full
// name, whether protogen resolved it to xt itself or to a dynamic type of
// the same name.
func findExtension(opts protoreflect.ProtoMessage, xt protoreflect.ExtensionType) (protoreflect.Value, bool) {
	var (
		value protoreflect.Value
		found bool
	)
	if opts == nil {
		return value, false
	}
	name := xt.TypeDescriptor().FullName()
	opts.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.IsExtension() && fd.FullName() == name {
			value, found = v, true
			return false
		}
		return true
	})
	return value, found
}

// fieldDocs returns the comments of the request's fields and of the fields of
// its nested messages, depth first in declaration order, within the bounds
// above. A message met again on the way down (a recursive type) is not
// walked twice.
func fieldDocs(request *protogen.Message) []fieldDoc {
	var docs []fieldDoc
	var walk func(m *protogen.Message, prefix string, depth int, seen []*protogen.Message)
	walk = func(m *protogen.Message, prefix string, depth int, seen []*protogen.Message) {
		if depth > maxFieldDepth || slices.Contains(seen, m) {
			return
		}
		seen = append(seen, m)
		for _, field := range m.Fields {
			if len(docs) == maxFieldDocs {
				return
			}
			path := prefix + string(field.Desc.Name())
			if text := commentText(field.Comments.Leading, maxFieldDocBytes); text != "" {
				docs = append(docs, fieldDoc{path: path, text: text})
			}
			if field.Message != nil && !field.Desc.IsMap() {
				walk(field.Message, path+".", depth+1, seen)
			}
		}
	}
	walk(request, "", 1, nil)
	return docs
}

// commentText is a proto comment as plain text for a registration: lines
// trimmed and joined by newlines, valid UTF-8 whatever the proto held, and
// cut at max bytes on a character boundary, with an ellipsis.
func commentText(comments protogen.Comments, max int) string {
	var lines []string
	for line := range strings.SplitSeq(sanitize(string(comments)), "\n") {
		lines = append(lines, strings.TrimSpace(line))
	}
	text := strings.TrimSpace(strings.Join(lines, "\n"))
	if len(text) <= max {
		return text
	}
	const ellipsis = "…"
	cut := max - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return strings.TrimSpace(text[:cut]) + ellipsis
}
