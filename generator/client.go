package generator

import "google.golang.org/protobuf/compiler/protogen"

func genClientInterface(g *protogen.GeneratedFile, service *protogen.Service, n names) {
	genComment(g, service.Comments.Leading, deprecated(service.Desc.Options()),
		n.Client+" is a client for the "+string(service.Desc.FullName())+" service.")
	g.AnnotateSymbol(n.Client, protogen.Annotation{Location: service.Location})
	g.P("type ", n.Client, " interface {")
	for _, method := range service.Methods {
		g.AnnotateSymbol(n.Client+"."+method.GoName, protogen.Annotation{Location: method.Location})
		genComment(g, method.Comments.Leading, deprecated(method.Desc.Options()), "")
		g.P(clientSignature(g, method))
	}
	g.P("}")
	g.P()
}

func genClientConstructor(g *protogen.GeneratedFile, service *protogen.Service, n names) {
	imports := []protogen.GoImportPath{clientPackage, rpcPackage}
	for _, method := range service.Methods {
		imports = append(imports, method.Input.GoIdent.GoImportPath, method.Output.GoIdent.GoImportPath)
	}
	serviceParam, clientParam := localName("service", imports), localName("c", imports)
	genComment(g, "", deprecated(service.Desc.Options()),
		n.ClientConstructor+" returns a client for the "+string(service.Desc.FullName())+
			" service, which calls the service registered as "+serviceParam+" through "+clientParam+".")
	g.P("func ", n.ClientConstructor, "(", serviceParam, " string, ", clientParam, " ", clientPackage.Ident("Client"), ") ", n.Client, " {")
	g.P("return &", n.ClientImpl, "{")
	for i, method := range service.Methods {
		opts := ""
		if level := idempotency(method); level != "" {
			opts = ", " + g.QualifiedGoIdent(clientPackage.Ident("WithIdempotency")) + "(" + g.QualifiedGoIdent(rpcPackage.Ident(level)) + ")"
		}
		g.P(n.Methods[i].Field, ": ", clientPackage.Ident("NewMethod"), "[", method.Input.GoIdent, ", ", method.Output.GoIdent, "](",
			clientParam, ", ", serviceParam, ", ", n.Methods[i].Procedure, opts, "),")
	}
	g.P("}")
	g.P("}")
	g.P()
}

func genClientImpl(g *protogen.GeneratedFile, service *protogen.Service, n names) {
	genComment(g, "", false, n.ClientImpl+" implements "+n.Client+".")
	g.P("type ", n.ClientImpl, " struct {")
	for i, method := range service.Methods {
		g.P(n.Methods[i].Field, " *", clientPackage.Ident("Method"), "[", method.Input.GoIdent, ", ", method.Output.GoIdent, "]")
	}
	g.P("}")
	g.P()
	for i, method := range service.Methods {
		genComment(g, "", deprecated(method.Desc.Options()), method.GoName+" calls "+string(method.Desc.FullName())+".")
		g.P("func (c *", n.ClientImpl, ") ", clientSignature(g, method), " {")
		field := n.Methods[i].Field
		switch kindOf(method) {
		case unary:
			g.P("return c.", field, ".CallUnary(ctx, req, opts...)")
		case serverStream:
			g.P("return c.", field, ".CallServerStream(ctx, req, opts...)")
		case clientStream:
			g.P("return c.", field, ".CallClientStream(ctx, opts...)")
		case bidiStream:
			g.P("return c.", field, ".CallBidiStream(ctx, opts...)")
		}
		g.P("}")
		g.P()
	}
}

// clientSignature is the signature of method in the client interface.
func clientSignature(g *protogen.GeneratedFile, method *protogen.Method) string {
	ctx := "ctx " + g.QualifiedGoIdent(contextPackage.Ident("Context"))
	opts := "opts ..." + g.QualifiedGoIdent(clientPackage.Ident("CallOption"))
	req := "req *" + g.QualifiedGoIdent(method.Input.GoIdent)
	in, out := g.QualifiedGoIdent(method.Input.GoIdent), g.QualifiedGoIdent(method.Output.GoIdent)
	switch kindOf(method) {
	case serverStream:
		return method.GoName + "(" + ctx + ", " + req + ", " + opts + ") (" +
			g.QualifiedGoIdent(clientPackage.Ident("ServerStream")) + "[" + out + "], error)"
	case clientStream:
		return method.GoName + "(" + ctx + ", " + opts + ") (" +
			g.QualifiedGoIdent(clientPackage.Ident("ClientStream")) + "[" + in + ", " + out + "], error)"
	case bidiStream:
		return method.GoName + "(" + ctx + ", " + opts + ") (" +
			g.QualifiedGoIdent(clientPackage.Ident("BidiStream")) + "[" + in + ", " + out + "], error)"
	}
	return method.GoName + "(" + ctx + ", " + req + ", " + opts + ") (*" + out + ", error)"
}
