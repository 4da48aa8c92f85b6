package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/gradflow/gradflow/internal/settings"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
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
	return numberList(name, s, "a positive integer", "64,128,256", func(f string) (int, bool) {
		v, err := strconv.Atoi(f)
		return v, err == nil && v > 0
	})
}

// floatList parses a comma-separated list of positive finite numbers
// (step sizes, SVAG's l) for the flag -name, sorted and without
// duplicates.
func floatList(name, s string) ([]float64, error) {
	return numberList(name, s, "a positive number", "0.1,0.2,0.4", func(f string) (float64, bool) {
		v, err := strconv.ParseFloat(f, 64)
		return v, err == nil && positive(v)
	})
}

// numberList parses the comma-separated list s of the flag -name with
// parse, which reports whether a field is what (such as "a number"); the
// result is sorted and without duplicates.
func numberList[N int | float64](name, s, what, example string, parse func(string) (N, bool)) ([]N, error) {
	var out []N
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, ok := parse(f)
		if !ok {
			return nil, usagef("-%s %q: %q is not %s", name, s, f, what)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, usagef("-%s %q: want a comma-separated list such as %s", name, s, example)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// openOut opens the output directory dir of command cmd (train.OpenRunDir)
// and turns a refusal into a usage error that says what to do.
func openOut(cmd, dir string, mode train.RunMode) (*train.RunDir, error) {
	rd, err := train.OpenRunDir(dir, mode)
	var exists *train.ExistingRunError
	switch {
	case errors.As(err, &exists) && cmd == "fit":
		return nil, usagef("fit: -out %v; continue it with train fit -resume %s, replace it with -overwrite, or choose another -out", err, dir)
	case errors.As(err, &exists):
		return nil, usagef("%s: -out %v; replace it with -overwrite or choose another -out", cmd, err)
	case errors.As(err, new(*train.LockedError)):
		return nil, usagef("%s: %v", cmd, err)
	case err != nil:
		return nil, usagef("%s: -out: %v", cmd, err)
	}
	return rd, nil
}

// overwriteUsage is the usage text of -overwrite.
const overwriteUsage = "replace the run in -out (a directory holding a run is refused otherwise)"

// runMode is the train.RunMode of -overwrite.
func runMode(overwrite bool) train.RunMode {
	if overwrite {
		return train.OverwriteRun
	}
	return train.NewRun
}

// parseArch is train.ParseArch for the flag -arch.
func parseArch(spec string, in, out int) ([]int, error) {
	dims, err := train.ParseArch(spec, in, out)
	if err != nil {
		return nil, usagef("-arch %v", err)
	}
	return dims, nil
}

// parseLoss is train.ParseLoss for the flag -loss and the task tk.
func parseLoss[T tensor.Float](name string, tk *task[T]) (train.Loss[T], bool, error) {
	l, oneHot, err := train.ParseLoss[T](name, tk.Classes > 0)
	if err != nil {
		return nil, false, usagef("-loss %v", err)
	}
	return l, oneHot, nil
}

// joinInts writes widths as "64-128-10".
func joinInts(d []int) string {
	s := make([]string, len(d))
	for i, v := range d {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, "-")
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

// studyReport is what a study command (meanfield, sde) shows and writes
// once its study has run: the result as JSON lines (with -json) or as a
// table on stdout, its figures in the run directory unless -no-figures, and
// a line naming the outputs.
type studyReport struct {
	asJSON, noFigures bool
	jsonl, table      func(io.Writer) error
	figures           func(dir string) error
	// files names the outputs besides the figures, figureFiles the figures.
	files, figureFiles string
	// extra, if not nil, runs after the figures (a further part of the
	// study) and returns the names of the files it wrote.
	extra func() (string, error)
}

// emit prints the result on stdout, writes the figures into rd and names
// the outputs on human.
func (r studyReport) emit(rd *train.RunDir, stdout, human io.Writer) error {
	show := r.table
	if r.asJSON {
		show = r.jsonl
	}
	if err := show(stdout); err != nil {
		return err
	}
	written := r.files
	if !r.noFigures {
		if err := rd.Stage(r.figures); err != nil {
			return fmt.Errorf("figures: %w", err)
		}
		written += " " + r.figureFiles
	}
	if r.extra != nil {
		w, err := r.extra()
		if err != nil {
			return err
		}
		written += w
	}
	_, err := fmt.Fprintf(human, "outputs in %s: %s\n", rd.Dir(), written)
	return err
}

// parseStudy binds the settings struct f to the flags of command cmd and
// parses args into it (with a -config file, if given): the preamble of
// every research command.
func parseStudy[C any](cmd, usage string, f *C, args []string, stdout, stderr io.Writer) (train.RunMode, error) {
	fs := newFlags(cmd, usage, stderr)
	settings.Bind(fs, f)
	_, mode, err := parseWithConfig(fs, f, args, stdout)
	return mode, err
}

// beginOut opens the run directory out of command cmd and records the
// settings f in it as config.json. The caller closes the directory.
func beginOut(cmd string, f any, out string, mode train.RunMode) (*train.RunDir, error) {
	config, err := configJSON(cmd, f, nil)
	if err != nil {
		return nil, err
	}
	rd, err := openOut(cmd, out, mode)
	if err != nil {
		return nil, err
	}
	if err := rd.Begin(config); err != nil {
		rd.Close()
		return nil, err
	}
	return rd, nil
}
