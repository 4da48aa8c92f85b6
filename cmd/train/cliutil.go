package main

import (
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// This file holds the plumbing the commands share: lists and positional
// arguments on the command line, checks of settings, and the output
// directory.

// parseFlagsAndArgs is parseFlags for commands that take positional
// arguments: flags may come before, between or after them.
func parseFlagsAndArgs(fs *flag.FlagSet, args []string, stdout io.Writer) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, flagError(fs, err, stdout)
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
// there as config.json (b from configJSON). A directory that cannot be
// created is the user's to fix.
func prepareOut(dir string, b []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return usageError{err}
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
}

// rule is a check of settings: bad says whether it fails, msg what is
// wrong, naming the flag at fault.
type rule struct {
	bad bool
	msg string
}

// checkRules returns the first failing rule as a usage error of command
// cmd, or nil.
func checkRules(cmd string, rules ...rule) error {
	for _, r := range rules {
		if r.bad {
			return usagef("%s: %s", cmd, r.msg)
		}
	}
	return nil
}

// positive reports whether x is a positive finite number.
func positive(x float64) bool { return x > 0 && !math.IsInf(x, 1) }

// finite reports whether x is neither NaN nor infinite.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// humanOut is where a command's messages for people go: stdout, or stderr
// when -json reserves stdout for JSON lines.
func humanOut(asJSON bool, stdout, stderr io.Writer) io.Writer {
	if asJSON {
		return stderr
	}
	return stdout
}
