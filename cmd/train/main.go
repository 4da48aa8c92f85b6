// Command train is gradflow's command-line face.
//
//	go run ./cmd/train                     train an MLP on the embedded UCI digits (the default fit)
//	go run ./cmd/train fit [flags]         train on digits, MNIST, a CSV file or a synthetic problem
//	go run ./cmd/train ntk [flags]         empirical vs analytic NTK: spectrum, alignment, kernel regression
//	go run ./cmd/train landscape [flags]   sharpness vs 2/eta, Hessian trace, PL and Lojasiewicz constants
//	go run ./cmd/train flow [flags]        GD vs gradient flow vs modified flow: orders in the step size
//	go run ./cmd/train sde [flags]         SGD, SVAG and the SME of SGD: stationary variances against closed forms
//	go run ./cmd/train stability [flags]   coupled runs: measured stability against its bounds, generalization gap vs n
//	go run ./cmd/train sweep [flags]       width-scaling sweeps (sharded, resumable); sweep merge/analyze/init
//	go run ./cmd/train meanfield [flags]   two-layer nets in mean-field, NTK and lazy scales vs width
//	go run ./cmd/train coordcheck [flags]  muP coordinate check across widths
//	go run ./cmd/train mutransfer [flags]  muTransfer: optimal learning rate vs width, SP vs muP
//	go run ./cmd/train batch [flags]       critical batch size: noise scale B_noise vs the fitted steps-vs-examples B_crit
//	go run ./cmd/train info                SIMD tier, blocking parameters, GOMAXPROCS, Go version
//
// "train -h" or "train help" lists the commands; "train CMD -h" (or "train
// help CMD") shows a command's flags and an example.
//
// Exit status: 0 on success, 1 on a runtime failure (for example a diverged
// run), 2 on a usage or input error (bad flag, missing or malformed file,
// an architecture that does not fit the data), 130 when interrupted (after
// writing a checkpoint). Errors are one line on stderr, never a panic trace.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

// usageError marks errors caused by the user's input (exit status 2).
type usageError struct{ err error }

// Error implements error.
func (u usageError) Error() string { return u.err.Error() }

// Unwrap returns the underlying error.
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// command is a subcommand: its name, its line in the help and the function
// that runs it on the arguments after its name.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands are the subcommands, in the order the help lists them.
var commands = []command{
	{"fit", "train an MLP (the default when no command is given)", runFit},
	{"ntk", "empirical and analytic NTK of an MLP: spectrum, alignment, kernel regression", runNTK},
	{"landscape", "sharpness vs 2/eta, Hessian trace, PL and Lojasiewicz constants, gradient noise along a run", runLandscape},
	{"flow", "gradient descent vs gradient flow and its modified flow: distances and orders in the step size", runFlow},
	{"sde", "SGD, SVAG and the stochastic modified equation on the noisy quadratic: variances vs closed forms", runSDE},
	{"stability", "algorithmic stability: coupled runs on S and S^(i) against the HRS and PL bounds, gap vs n", runStability},
	{"sweep", "width-scaling sweep from a JSON config (sharded, resumable); sweep merge / analyze / init", runSweep},
	{"meanfield", "two-layer nets in mean-field, NTK and lazy scales: displacement, kernel drift vs width", runMeanfield},
	{"coordcheck", "muP coordinate check: mean |activation| per layer for the first steps across widths", runCoordCheck},
	{"batch", "critical batch size: B_noise = tr(H Sigma)/(G^T H G) vs B_crit from the steps-vs-examples trade-off", runBatch},
	{"mutransfer", "muTransfer: optimal learning rate vs width under SP and muP (loss vs lr grid, drift in octaves)", runMuTransfer},
	{"info", "print the SIMD tier, blocking parameters, GOMAXPROCS and Go version", runInfo},
}

// topUsage is the text of "train -h" and "train help".
func topUsage() string {
	var b strings.Builder
	b.WriteString("usage: train [command] [flags]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-11s %s\n", c.name, c.summary)
	}
	b.WriteString(`
Run "train <command> -h" (or "train help <command>") for a command's flags
and an example; "train [flags]" with no command runs fit.

A command refuses an -out directory that holds a run, or that another run
is writing to: continue a fit with "train fit -resume DIR", or replace the
run with -overwrite. With -json, stdout carries JSON lines only.

Exit status: 0 ok, 1 runtime failure, 2 usage or input error (one line on
stderr), 130 interrupted (after writing what can be resumed).
`)
	return b.String()
}

// commandList returns "fit, ntk, ... or info".
func commandList() string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// isHelpFlag reports whether arg is one of the flag package's help flags.
func isHelpFlag(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--h" || arg == "--help"
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit status. It is
// main without the process, so tests can call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		// A panic is a bug in gradflow; still, the user gets one line.
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "train: internal error: %v\n", r)
			code = 1
		}
	}()
	if len(args) > 0 && isHelpFlag(args[0]) {
		// "train -h": the list of commands, not the flags of the
		// default command fit.
		fmt.Fprint(stdout, topUsage())
		return 0
	}
	cmd := "fit"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	if cmd == "help" {
		switch {
		case len(args) == 0 || isHelpFlag(args[0]) || args[0] == "help":
			fmt.Fprint(stdout, topUsage())
			return 0
		case len(args) > 1:
			fmt.Fprintf(stderr, "train: help takes one command, got %q (see train help)\n", args)
			return 2
		}
		return run(ctx, []string{args[0], "-h"}, stdout, stderr) // "train help fit" = "train fit -h"
	}
	i := slices.IndexFunc(commands, func(c command) bool { return c.name == cmd })
	if i < 0 {
		fmt.Fprintf(stderr, "train: unknown command %q (want %s; see train help)\n", cmd, commandList())
		return 2
	}
	err := commands[i].run(ctx, args, stdout, stderr)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	// Errors of package train start with "train: " too: one is enough.
	fmt.Fprintln(stderr, "train:", strings.TrimPrefix(err.Error(), "train: "))
	switch {
	case errors.Is(err, errInterrupted):
		return 130
	case errors.As(err, new(usageError)):
		return 2
	}
	return 1
}

var errInterrupted = errors.New("interrupted")

// newFlags returns a flag set that reports errors instead of exiting, and
// whose usage text starts with the command's synopsis and example.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), synopsis)
		fmt.Fprintln(fs.Output(), "\nflags:")
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, which must hold flags only.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return flagError(fs, err, stdout)
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// flagError turns an error of fs.Parse into the command's: for -h the
// usage text on stdout (and flag.ErrHelp, exit status 0), else a usage
// error that names the command.
func flagError(fs *flag.FlagSet, err error, stdout io.Writer) error {
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fs.Usage()
		return err
	}
	return usageError{fmt.Errorf("%s: %w (see train %s -h)", fs.Name(), err, fs.Name())}
}

// preParse reads the flags named in extra (such as -config and -resume)
// before the real parse, because they decide the starting values of every
// other flag. register declares the command's other flags on a scratch set
// so that they are accepted here and checked by the real parse.
func preParse(name string, args []string, register func(*flag.FlagSet), extra ...string) (map[string]string, error) {
	pre := flag.NewFlagSet(name, flag.ContinueOnError)
	pre.SetOutput(io.Discard)
	vals := make(map[string]*string, len(extra))
	for _, e := range extra {
		vals[e] = pre.String(e, "", "")
	}
	register(pre)
	if err := pre.Parse(args); err != nil && !errors.Is(err, flag.ErrHelp) {
		return nil, flagError(pre, err, nil)
	}
	out := make(map[string]string, len(extra))
	for e, v := range vals {
		out[e] = *v
	}
	return out, nil
}
