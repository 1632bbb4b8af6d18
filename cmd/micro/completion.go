package main

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protomicro/micro/runtime/dynamic"
	"github.com/protomicro/micro/runtime/rpc"
)

// completionTimeout bounds what completing an argument may ask of the
// registry and the service, so that a shell never hangs on a tab.
const completionTimeout = 3 * time.Second

// completeArgs completes the SERVICE argument with the registered services
// and, when methods is not nil, the METHOD argument with the methods of the
// service whose kind methods accepts, as Service.Method.
func completeArgs(where *targetFlags, methods func(rpc.StreamType) bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		ctx, cancel := context.WithTimeout(ctx, completionTimeout)
		defer cancel()
		var completions []cobra.Completion
		switch {
		case len(args) == 0 && len(where.addresses) == 0:
			reg, err := where.registry.open(cmd)
			if err != nil {
				return nil, cobra.ShellCompDirectiveError
			}
			defer closeRegistry(reg)
			names, err := serviceNames(ctx, reg)
			if err != nil {
				return nil, cobra.ShellCompDirectiveError
			}
			completions = names
		case len(args) == 1 && methods != nil:
			c, _ := where.newClient(cmd)
			if c == nil {
				c = newClient()
			}
			defer func() { _ = c.Close() }()
			_, s, err := where.findSchema(ctx, cmd, c, args[0])
			if err != nil {
				return nil, cobra.ShellCompDirectiveError
			}
			// Service.Method, or the full name where two services share a
			// short name.
			var found []protoreflect.MethodDescriptor
			count := make(map[string]int)
			for _, m := range s.Methods() {
				if methods(dynamic.Spec(m).StreamType) {
					found = append(found, m)
					count[shortName(m)]++
				}
			}
			for _, m := range found {
				name := shortName(m)
				if count[name] > 1 {
					name = string(m.FullName())
				}
				completions = append(completions, cobra.CompletionWithDesc(name, strings.ReplaceAll(dynamic.Spec(m).StreamType.String(), "_", " ")))
			}
		}
		return completions, cobra.ShellCompDirectiveNoFileComp
	}
}

// shortName returns "Greeter.Hello" for greeter.v1.Greeter.Hello.
func shortName(m protoreflect.MethodDescriptor) string {
	return string(m.Parent().Name()) + "." + string(m.Name())
}
