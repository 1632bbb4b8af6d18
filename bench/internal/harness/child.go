package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/protomicro/micro/bench/internal/measure"
	"github.com/protomicro/micro/bench/internal/target"
)

// The lines children print for the driver start with '@'; anything else they
// print (a framework's log) is kept only to explain a failure.
const (
	lineListening = "@listening " // followed by the address
	lineUsage     = "@usage "     // followed by a measure.Usage in JSON
	lineReady     = "@ready"
	lineResult    = "@result " // followed by a loadResult in JSON
)

// The lines the driver sends children.
const (
	commandUsage = "usage"
	commandGo    = "go"
)

// Child runs this process as the driver's child when args name a child
// role ("serve" or "load", followed by its flags), and reports whether they
// did.
func Child(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) (bool, error) {
	if len(args) == 0 {
		return false, nil
	}
	switch args[0] {
	case "serve":
		return true, Serve(args[1:], stdin, stdout)
	case "load":
		return true, Load(ctx, args[1:], stdin, stdout)
	}
	return false, nil
}

// Serve is the server process: it serves a target on a free loopback port
// and prints "@listening ADDR"; then it answers every "usage" line on stdin
// with "@usage" and its usage so far in JSON, until stdin closes, when it
// stops the server and returns.
//
//	microbench serve -target micro
func Serve(args []string, stdin io.Reader, stdout io.Writer) error {
	flags := flag.NewFlagSet("serve", flag.ContinueOnError)
	name := flags.String("target", "", "the `target` to serve")
	if err := flags.Parse(args); err != nil {
		return err
	}
	t, err := target.ByName(*name)
	if err != nil {
		return err
	}
	srv, err := t.Serve("127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("serve %s: %w", t.Name, err)
	}
	defer func() { _ = srv.Stop() }() // the process exits next
	if _, err := fmt.Fprintf(stdout, "%s%s\n", lineListening, srv.Addr()); err != nil {
		return err
	}
	lines := bufio.NewScanner(stdin)
	for lines.Scan() {
		if lines.Text() != commandUsage {
			return fmt.Errorf("unknown command %q", lines.Text())
		}
		u, err := measure.ReadUsage()
		if err != nil {
			return err
		}
		if err := printJSON(stdout, lineUsage, u); err != nil {
			return err
		}
	}
	return lines.Err()
}

// loadResult is what the load process reports of its measured window.
type loadResult struct {
	Ops     int64         `json:"ops"`
	Elapsed time.Duration `json:"elapsed_ns"`
	P50     time.Duration `json:"p50_ns"`
	P90     time.Duration `json:"p90_ns"`
	P99     time.Duration `json:"p99_ns"`
	Usage   measure.Usage `json:"usage"`
}

// Load is the load-generator process: it calls a target's server with a
// workload for the warm-up time, prints "@ready", waits for "go" on stdin,
// runs the workload for the measured time and prints "@result" and what it
// measured in JSON.
//
//	microbench load -target micro -addr 127.0.0.1:4000 -kind unary -concurrency 16 -payload 64
func Load(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	flags := flag.NewFlagSet("load", flag.ContinueOnError)
	var (
		name     = flags.String("target", "", "the `target` to call")
		addr     = flags.String("addr", "", "the `address` its server listens on")
		kind     = flags.String("kind", string(measure.Unary), "the `kind` of operation: unary, stream or chat")
		conc     = flags.Int("concurrency", 1, "how many `callers` run at once")
		payload  = flags.Int("payload", 64, "the message size in `bytes`")
		warmup   = flags.Duration("warmup", time.Second, "how long to warm up")
		duration = flags.Duration("duration", 2*time.Second, "how long to measure")
	)
	if err := flags.Parse(args); err != nil {
		return err
	}
	t, err := target.ByName(*name)
	if err != nil {
		return err
	}
	k, err := measure.ParseKind(*kind)
	if err != nil {
		return err
	}
	w := measure.Workload{Kind: k, Concurrency: *conc, Payload: *payload}
	client, err := t.Dial(*addr)
	if err != nil {
		return fmt.Errorf("dial %s at %s: %w", t.Name, *addr, err)
	}
	defer func() { _ = client.Close() }() // the process exits next
	runner, err := measure.NewRunner(ctx, client, w)
	if err != nil {
		return err
	}
	defer runner.Close()
	if _, err := runner.Run(*warmup); err != nil {
		return fmt.Errorf("warm up: %w", err)
	}
	if _, err := fmt.Fprintln(stdout, lineReady); err != nil {
		return err
	}
	lines := bufio.NewScanner(stdin)
	if !lines.Scan() || lines.Text() != commandGo {
		return errors.Join(errors.New("the driver did not say go"), lines.Err())
	}
	before, err := measure.ReadUsage()
	if err != nil {
		return err
	}
	window, runErr := runner.Run(*duration)
	after, err := measure.ReadUsage()
	// End the streams before reporting, so that the server has stopped
	// sending by the time the driver reads its usage.
	runner.Close()
	if err := errors.Join(runErr, err); err != nil {
		return err
	}
	return printJSON(stdout, lineResult, loadResult{
		Ops:     window.Ops,
		Elapsed: window.Elapsed,
		P50:     window.Latency.Quantile(0.50),
		P90:     window.Latency.Quantile(0.90),
		P99:     window.Latency.Quantile(0.99),
		Usage:   after.Sub(before),
	})
}

func printJSON(w io.Writer, prefix string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s%s\n", prefix, data)
	return err
}
