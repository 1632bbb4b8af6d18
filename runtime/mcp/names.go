package mcp

import (
	"crypto/sha256"
	"encoding/hex"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// maxNameLength is the longest tool name: MCP allows 128 characters, but
// clients such as OpenAI's and Anthropic's APIs accept only 64.
const maxNameLength = 64

// toolNames returns the name of each offer: its service's registry name and
// its method's, joined by "_" ("greeter_Hello"), with characters other than
// [A-Za-z0-9_-] replaced by "_". A name that would be longer than 64
// characters, or that two offers would share (two proto services of one
// registry service with a method of the same name, or names that differ
// only in replaced characters), is cut to 57 and given "_" and 6 hex digits
// of a hash of the service and procedure, so that every name is unique and
// depends only on what it names and what else is registered, never on the
// order things registered in.
func toolNames(offers []*offer) []string {
	names := make([]string, len(offers))
	uses := make(map[string]int)
	for i, o := range offers {
		names[i] = sanitize(o.service + "_" + string(o.method.Name()))
		uses[names[i]]++
	}
	for i, o := range offers {
		if uses[names[i]] == 1 && len(names[i]) <= maxNameLength {
			continue
		}
		sum := sha256.Sum256([]byte(o.service + procedure(o.method)))
		suffix := "_" + hex.EncodeToString(sum[:3])
		names[i] = names[i][:min(len(names[i]), maxNameLength-len(suffix))] + suffix
	}
	return names
}

// procedure returns the gRPC path of m, "/greeter.v1.Greeter/Hello".
func procedure(m protoreflect.MethodDescriptor) string {
	return "/" + string(m.Parent().FullName()) + "/" + string(m.Name())
}
