package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/spf13/cobra"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/protomicro/micro/runtime/client"
	"github.com/protomicro/micro/runtime/registry"
	"github.com/protomicro/micro/runtime/rpc"
)

// healthJSON is one node in the output of micro health -o json.
type healthJSON struct {
	Service string `json:"service"`
	Version string `json:"version,omitempty"`
	Node    string `json:"node,omitempty"`
	Address string `json:"address"`
	// Status is the node's answer, as grpc.health.v1 names it: SERVING,
	// NOT_SERVING, SERVICE_UNKNOWN or UNKNOWN; or ERROR when the node did
	// not answer, with Error saying why.
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`

	dial string // the address as the client dials it (tls://...)
}

// healthCheckProcedure is the procedure of grpc.health.v1's Check.
const healthCheckProcedure = healthpb.Health_Check_FullMethodName

func newHealthCommand(env lookupEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "health [SERVICE]",
		Short: "Check the health of every node of a service, or of every service",
		Long: `Ask every node of SERVICE, or of every registered service, for its health with
grpc.health.v1 (the check of the whole server, as grpc_health_probe and
Kubernetes do), and print a line per node.

The exit status is 0 when every node answers SERVING and 1 otherwise.`,
		Example: `  micro health
  micro health greeter
  micro health greeter -o json
  micro health --address "$ADDRESS"   # a node's host:port`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
	}
	where := addTargetFlags(cmd, env, 10*time.Second, "how long to wait for the registry and the nodes' answers")
	output := addOutputFlag(cmd)
	cmd.ValidArgsFunction = completeArgs(where, nil)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ctx, cancel := where.context(cmd)
		defer cancel()
		targets, err := healthTargets(ctx, cmd, where, argAt(args, 0))
		if err != nil {
			return err
		}
		c, err := where.newClient(cmd)
		if err != nil {
			return err
		}
		defer func() { _ = c.Close() }()
		var results []*healthJSON
		for _, t := range targets {
			for _, n := range t.nodes {
				results = append(results, &healthJSON{Service: t.name, Version: n.version, Node: n.id, Address: n.address, dial: n.dialAddress()})
			}
		}
		var wg sync.WaitGroup
		for _, r := range results {
			wg.Go(func() { r.Status, r.Error = check(ctx, c, r.dial) })
		}
		wg.Wait()

		if output.json {
			if results == nil {
				results = []*healthJSON{}
			}
			err = writeJSON(cmd.OutOrStdout(), results)
		} else {
			table := newTable(cmd.OutOrStdout(), "SERVICE", "VERSION", "NODE", "ADDRESS", "STATUS", "ERROR")
			for _, r := range results {
				table.row(r.Service, r.Version, r.Node, r.Address, r.Status, r.Error)
			}
			err = table.flush()
		}
		if err != nil {
			return err
		}
		unhealthy := 0
		for _, r := range results {
			if r.Status != healthpb.HealthCheckResponse_SERVING.String() {
				unhealthy++
			}
		}
		if unhealthy > 0 {
			return fmt.Errorf("%d of %d nodes are not serving", unhealthy, len(results))
		}
		return nil
	}
	return cmd
}

// healthTargets returns the named service, or every registered service when
// name is "" (only the nodes of --address, when given).
func healthTargets(ctx context.Context, cmd *cobra.Command, where *targetFlags, name string) ([]*target, error) {
	if name != "" || len(where.addresses) > 0 {
		t, err := where.find(ctx, cmd, name)
		if err != nil {
			return nil, err
		}
		return []*target{t}, nil
	}
	reg, err := where.registry.open(cmd)
	if err != nil {
		return nil, err
	}
	defer closeRegistry(reg)
	services, err := reg.ListServices(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the services in the %s registry: %w", reg, err)
	}
	if len(services) == 0 {
		return nil, fmt.Errorf("no services are registered in the %s registry", reg)
	}
	byName := make(map[string][]*registry.Service)
	for _, s := range services {
		byName[s.Name] = append(byName[s.Name], s)
	}
	var targets []*target
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		targets = append(targets, newTarget(name, byName[name]))
	}
	return targets, nil
}

// check asks the node at address for the health of its whole server, and
// returns its status, or "ERROR" and why it did not answer. The check is not
// retried: a node that does not answer at once is what it reports.
func check(ctx context.Context, c client.Client, address string) (status, problem string) {
	res := new(healthpb.HealthCheckResponse)
	err := c.Invoke(ctx, "", rpc.Spec{Procedure: healthCheckProcedure}, &healthpb.HealthCheckRequest{}, res,
		client.WithAddress(address))
	if err != nil {
		return "ERROR", err.Error()
	}
	return res.GetStatus().String(), ""
}
