package generator

import (
	"fmt"
	"go/token"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/compiler/protogen"
)

// names holds every identifier generated for one service. It is the only
// place generated names are derived.
type names struct {
	ServiceName       string // GreeterName
	Client            string // GreeterClient
	ClientConstructor string // NewGreeterClient
	ClientImpl        string // greeterClient
	Handler           string // GreeterHandler
	Unimplemented     string // UnimplementedGreeterHandler
	Register          string // RegisterGreeterHandler
	Methods           []methodNames
}

// methodNames holds the identifiers generated for one method.
type methodNames struct {
	Procedure string // GreeterHelloProcedure
	Field     string // hello: the method's field in the client implementation
}

func newNames(service *protogen.Service) names {
	base := service.GoName
	n := names{
		ServiceName:       base + "Name",
		Client:            base + "Client",
		ClientConstructor: "New" + base + "Client",
		ClientImpl:        unexport(base) + "Client",
		Handler:           base + "Handler",
		Unimplemented:     "Unimplemented" + base + "Handler",
		Register:          "Register" + base + "Handler",
	}
	fields := make(map[string]bool)
	for _, method := range service.Methods {
		field := unexport(method.GoName)
		for token.IsKeyword(field) || fields[field] {
			field += "Method"
		}
		fields[field] = true
		n.Methods = append(n.Methods, methodNames{
			Procedure: base + method.GoName + "Procedure",
			Field:     field,
		})
	}
	return n
}

// packageLevel lists the package-level identifiers of the service with the
// proto element each is generated for, in output order.
func (n names) packageLevel(service *protogen.Service) []declared {
	element := "service " + string(service.Desc.FullName())
	out := []declared{
		{n.ServiceName, element}, {n.Client, element}, {n.ClientConstructor, element},
		{n.ClientImpl, element}, {n.Handler, element}, {n.Unimplemented, element}, {n.Register, element},
	}
	for i, method := range service.Methods {
		out = append(out, declared{n.Methods[i].Procedure, "method " + string(method.Desc.FullName())})
	}
	return out
}

// topicNames holds the identifiers generated for a message that declares
// its event topic.
type topicNames struct {
	Topic     string // OrderCreatedTopic
	Publish   string // PublishOrderCreated
	Subscribe string // SubscribeOrderCreated
}

func newTopicNames(message *protogen.Message) topicNames {
	// A nested message's Go name is Outer_Inner; generated names have no
	// underscores.
	base := strings.ReplaceAll(message.GoIdent.GoName, "_", "")
	return topicNames{
		Topic:     base + "Topic",
		Publish:   "Publish" + base,
		Subscribe: "Subscribe" + base,
	}
}

// packageLevel lists the package-level identifiers generated for the topic
// of t's message, with the proto element each is generated for.
func (n topicNames) packageLevel(t topicMessage) []declared {
	element := fmt.Sprintf("the topic %q of message %s", t.topic, t.message.Desc.FullName())
	return []declared{{n.Topic, element}, {n.Publish, element}, {n.Subscribe, element}}
}

// generated lists the package-level identifiers generated for file.
func generated(file *protogen.File, topics []topicMessage) []declared {
	var out []declared
	for _, service := range file.Services {
		out = append(out, newNames(service).packageLevel(service)...)
	}
	for _, t := range topics {
		out = append(out, newTopicNames(t.message).packageLevel(t)...)
	}
	return out
}

// declared is a package-level Go identifier and the proto element it stands for.
type declared struct {
	ident   string
	element string
}

// checkNames reports the first generated identifier that would collide with
// another in the Go package the code goes to: with a type or constant that
// protoc-gen-go generates there, or with another generated identifier. It
// also rejects two methods of one service whose Go names are the same.
func checkNames(gen *protogen.Plugin, file *protogen.File, topics []topicMessage, index topicIndex, out output, ownPackage bool) error {
	scope := make(map[string]string)
	ours := make(map[string]bool) // identifiers generated here, not by protoc-gen-go
	if !ownPackage {
		for _, f := range gen.Files {
			if f.GoImportPath == file.GoImportPath {
				protocGenGoScope(f, scope)
			}
		}
	}
	// Every proto file going to the same Go package declares into one scope.
	for _, f := range gen.Files {
		if f == file || !f.Generate || f.GoImportPath != file.GoImportPath {
			continue
		}
		others, _ := index.of(f) // a bad topic is reported with its own file
		for _, d := range generated(f, others) {
			scope[d.ident], ours[d.ident] = d.element, true
		}
	}
	for _, service := range file.Services {
		methods := make(map[string]*protogen.Method)
		for _, method := range service.Methods {
			if other, ok := methods[method.GoName]; ok {
				return fmt.Errorf("service %s: methods %s and %s both become the Go method %s; rename one of them",
					service.Desc.FullName(), other.Desc.Name(), method.Desc.Name(), method.GoName)
			}
			methods[method.GoName] = method
		}
	}
	for _, d := range generated(file, topics) {
		if other, ok := scope[d.ident]; ok {
			hint := "rename one of them"
			if !ownPackage && !ours[d.ident] {
				hint += ", or put the generated code in a sub-package with the plugin parameter package_suffix (for example --micro_opt=package_suffix=micro)"
			}
			return fmt.Errorf("%s: the generated Go identifier %s collides with %s in Go package %s (%s); %s",
				d.element, d.ident, other, out.packageName, out.importPath, hint)
		}
		scope[d.ident], ours[d.ident] = d.element, true
	}
	return nil
}

// protocGenGoScope adds the package-level identifiers protoc-gen-go
// generates for file to scope.
func protocGenGoScope(file *protogen.File, scope map[string]string) {
	scope[file.GoDescriptorIdent.GoName] = "the descriptor of " + file.Desc.Path()
	enum := func(e *protogen.Enum) {
		element := "enum " + string(e.Desc.FullName())
		scope[e.GoIdent.GoName] = element
		scope[e.GoIdent.GoName+"_name"] = element
		scope[e.GoIdent.GoName+"_value"] = element
		for _, v := range e.Values {
			scope[v.GoIdent.GoName] = "enum value " + string(v.Desc.FullName())
		}
	}
	var message func(*protogen.Message)
	message = func(m *protogen.Message) {
		scope[m.GoIdent.GoName] = "message " + string(m.Desc.FullName())
		for _, o := range m.Oneofs {
			if o.Desc.IsSynthetic() {
				continue // proto3 optional: no wrapper types
			}
			for _, f := range o.Fields {
				scope[f.GoIdent.GoName] = "oneof field " + string(f.Desc.FullName())
			}
		}
		for _, e := range m.Enums {
			enum(e)
		}
		for _, x := range m.Extensions {
			scope["E_"+x.GoIdent.GoName] = "extension " + string(x.Desc.FullName())
		}
		for _, nested := range m.Messages {
			message(nested)
		}
	}
	for _, e := range file.Enums {
		enum(e)
	}
	for _, m := range file.Messages {
		message(m)
	}
	for _, x := range file.Extensions {
		scope["E_"+x.GoIdent.GoName] = "extension " + string(x.Desc.FullName())
	}
}

// unexport lower-cases the first letter of a Go name.
func unexport(name string) string {
	r, size := utf8.DecodeRuneInString(name)
	return string(unicode.ToLower(r)) + name[size:]
}

// localName returns want, or want with "x"s appended, whichever first names
// none of the packages in imports: a parameter must not shadow a package the
// function body refers to.
func localName(want string, imports []protogen.GoImportPath) string {
	for {
		taken := false
		for _, p := range imports {
			if path.Base(string(p)) == want {
				taken = true
				break
			}
		}
		if !taken {
			return want
		}
		want += "x"
	}
}
