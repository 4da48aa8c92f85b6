package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// This file holds the plumbing the study commands (sweep, meanfield,
// coordcheck) share: lists and positional arguments on the command line,
// and the output directory.

// parseFlagsAndArgs is parseFlags for commands that take positional
// arguments: flags may come before, between or after them.
func parseFlagsAndArgs(fs *flag.FlagSet, args []string, stdout io.Writer) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return nil, err
		}
		if err != nil {
			return nil, usageError{fmt.Errorf("%s: %w (see train %s -h)", fs.Name(), err, fs.Name())}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// intList parses a comma-separated list of positive integers (widths) for
// the flag -name, sorted and without duplicates.
func intList(name, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v <= 0 {
			return nil, usagef("-%s %q: %q is not a positive integer", name, s, f)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, usagef("-%s %q: want a comma-separated list such as 64,128,256", name, s)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// prepareOut creates the output directory dir and records the settings
// there as config.json (b from flagConfig). A directory that cannot be
// created is the user's to fix.
func prepareOut(dir string, b []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return usageError{err}
	}
	return writeFlagConfig(dir, b)
}

// humanOut is where a command's messages for people go: stdout, or stderr
// when -json reserves stdout for JSON lines.
func humanOut(asJSON bool, stdout, stderr io.Writer) io.Writer {
	if asJSON {
		return stderr
	}
	return stdout
}
