package generator

import (
	"strings"

	"google.golang.org/protobuf/compiler/protogen"

	microv1 "github.com/protomicro/micro/runtime/proto/micro/v1"
)

func genHandlerInterface(g *protogen.GeneratedFile, service *protogen.Service, n names) {
	genComment(g, service.Comments.Leading, deprecated(service.Desc.Options()),
		n.Handler+" is the server side of the "+string(service.Desc.FullName())+" service: implement it "+
			"and register the implementation with "+n.Register+". Embed "+n.Unimplemented+
			" to keep compiling when methods are added to the service.")
	g.AnnotateSymbol(n.Handler, protogen.Annotation{Location: service.Location})
	g.P("type ", n.Handler, " interface {")
	for _, method := range service.Methods {
		g.AnnotateSymbol(n.Handler+"."+method.GoName, protogen.Annotation{Location: method.Location})
		genComment(g, method.Comments.Leading, deprecated(method.Desc.Options()), "")
		g.P(method.GoName, handlerSignature(g, method, true))
	}
	g.P("}")
	g.P()
}

func genUnimplemented(g *protogen.GeneratedFile, service *protogen.Service, n names) {
	genComment(g, "", false, n.Unimplemented+" answers every method of "+n.Handler+" with "+
		"errors.CodeUnimplemented. Embed it by value in a handler so that methods added to the service "+
		"later compile and answer Unimplemented until written.")
	g.P("type ", n.Unimplemented, " struct{}")
	g.P()
	for i, method := range service.Methods {
		genComment(g, "", false, method.GoName+" answers errors.CodeUnimplemented.")
		g.P("func (", n.Unimplemented, ") ", method.GoName, handlerSignature(g, method, false), " {")
		failure := g.QualifiedGoIdent(errorsPackage.Ident("Errorf")) + "(" + g.QualifiedGoIdent(errorsPackage.Ident("CodeUnimplemented")) +
			`, "%s is not implemented", ` + n.Methods[i].Procedure + ")"
		switch kindOf(method) {
		case unary, clientStream:
			g.P("return nil, ", failure)
		default:
			g.P("return ", failure)
		}
		g.P("}")
		g.P()
	}
}

func genRegister(g *protogen.GeneratedFile, service *protogen.Service, n names, infos map[*protogen.Method]*methodInfo) {
	genComment(g, "", deprecated(service.Desc.Options()),
		n.Register+" registers h on s as the "+string(service.Desc.FullName())+
			" service. opts apply to this service's methods only.")
	g.P("func ", n.Register, "(s ", serverPackage.Ident("Server"), ", h ", n.Handler, ", opts ...", serverPackage.Ident("HandlerOption"), ") error {")
	// Taking h's methods below would panic on a nil handler, or on a nil
	// embedded Unimplemented handler: say so as an error instead.
	g.P("if err := ", serverPackage.Ident("CheckHandler"), "(", n.ServiceName, ", h); err != nil {")
	g.P("return err")
	g.P("}")
	g.P("return s.Register(", serverPackage.Ident("NewServiceDesc"), "(", n.ServiceName, ",")
	for i, method := range service.Methods {
		var constructor string
		switch kindOf(method) {
		case unary:
			constructor = "NewUnaryMethod"
		case serverStream:
			constructor = "NewServerStreamMethod"
		case clientStream:
			constructor = "NewClientStreamMethod"
		case bidiStream:
			constructor = "NewBidiStreamMethod"
		}
		var opts []string
		if level := idempotency(method); level != "" {
			opts = append(opts, g.QualifiedGoIdent(serverPackage.Ident("WithIdempotency"))+"("+g.QualifiedGoIdent(rpcPackage.Ident(level))+")")
		}
		info := infos[method]
		for _, rule := range info.http {
			opts = append(opts, g.QualifiedGoIdent(serverPackage.Ident("WithHTTPRule"))+"("+httpRuleLiteral(g, rule)+")")
		}
		if info.access != nil {
			opts = append(opts, g.QualifiedGoIdent(serverPackage.Ident("WithAccess"))+"("+accessLiteral(g, info.access)+")")
		}
		if info.doc != "" {
			opts = append(opts, g.QualifiedGoIdent(serverPackage.Ident("WithDoc"))+"("+quote(info.doc)+")")
		}
		for _, doc := range info.fieldDocs {
			opts = append(opts, g.QualifiedGoIdent(serverPackage.Ident("WithFieldDoc"))+"("+quote(doc.path)+", "+quote(doc.text)+")")
		}
		call := g.QualifiedGoIdent(serverPackage.Ident(constructor)) + "(" + n.Methods[i].Procedure + ", h." + method.GoName
		if len(opts) == 0 {
			g.P(call, "),")
			continue
		}
		g.P(call, ",")
		for _, opt := range opts {
			g.P(opt, ",")
		}
		g.P("),")
	}
	g.P("), opts...)")
	g.P("}")
	g.P()
}

// handlerSignature is the parameters and results of method in the handler
// interface, with parameter names when named.
func handlerSignature(g *protogen.GeneratedFile, method *protogen.Method, named bool) string {
	param := func(name, typ string) string {
		if named {
			return name + " " + typ
		}
		return typ
	}
	ctx := param("ctx", g.QualifiedGoIdent(contextPackage.Ident("Context")))
	in, out := g.QualifiedGoIdent(method.Input.GoIdent), g.QualifiedGoIdent(method.Output.GoIdent)
	switch kindOf(method) {
	case serverStream:
		stream := g.QualifiedGoIdent(serverPackage.Ident("ServerStream")) + "[" + out + "]"
		return "(" + ctx + ", " + param("req", "*"+in) + ", " + param("stream", stream) + ") error"
	case clientStream:
		stream := g.QualifiedGoIdent(serverPackage.Ident("ClientStream")) + "[" + in + "]"
		return "(" + ctx + ", " + param("stream", stream) + ") (*" + out + ", error)"
	case bidiStream:
		stream := g.QualifiedGoIdent(serverPackage.Ident("BidiStream")) + "[" + in + ", " + out + "]"
		return "(" + ctx + ", " + param("stream", stream) + ") error"
	}
	return "(" + ctx + ", " + param("req", "*"+in) + ") (*" + out + ", error)"
}

// accessLiteral is an rpc.Access composite literal, without empty fields.
func accessLiteral(g *protogen.GeneratedFile, access *microv1.Access) string {
	var fields []string
	if access.GetPublic() {
		fields = append(fields, "Public: true")
	}
	if scopes := access.GetScopes(); len(scopes) > 0 {
		quoted := make([]string, len(scopes))
		for i, scope := range scopes {
			quoted[i] = quote(scope)
		}
		fields = append(fields, "Scopes: []string{"+strings.Join(quoted, ", ")+"}")
	}
	if access.GetDelegate() {
		fields = append(fields, "Delegate: true")
	}
	return g.QualifiedGoIdent(rpcPackage.Ident("Access")) + "{" + strings.Join(fields, ", ") + "}"
}

// httpRuleLiteral is an rpc.HTTPRule composite literal, without empty fields.
func httpRuleLiteral(g *protogen.GeneratedFile, rule httpRule) string {
	fields := []string{"Method: " + quote(rule.method), "Path: " + quote(rule.path)}
	if rule.body != "" {
		fields = append(fields, "Body: "+quote(rule.body))
	}
	if rule.responseBody != "" {
		fields = append(fields, "ResponseBody: "+quote(rule.responseBody))
	}
	return g.QualifiedGoIdent(rpcPackage.Ident("HTTPRule")) + "{" + strings.Join(fields, ", ") + "}"
}
