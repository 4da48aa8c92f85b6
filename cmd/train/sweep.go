package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/gradflow/gradflow/sweep"
)

const sweepUsage = `usage: train sweep [flags]
       train sweep merge -out DST SRC...      combine the output directories of shards
       train sweep analyze DIR                 re-print the slope table of a sweep
       train sweep init FILE                   write an example configuration (- for stdout)

Runs a width-scaling sweep (package sweep): every point of the grid widths x
parameterizations x seeds x learning rates x optimizers of the -config file
trains an MLP and writes one JSON-lines result file DIR/runs/<id>.jsonl. The
sweep is resumable: run the same command again after an interruption and the
finished runs are skipped. Run unsharded, it then prints the log-log slope of
every metric against the width (mean over seeds with a 95% t-interval) and
writes figures (PNG and SVG) into DIR/figures and the fits into
DIR/slopes.jsonl. Without -config it runs the built-in example sweep (NTK,
mean-field and muP two-layer nets, widths 64..2048, 4 seeds) in seconds.

Sharding across machines: -shard i/n runs the runs with grid index = i mod n;
-shard-count n takes i from the job array instead (SLURM_ARRAY_TASK_ID minus
SLURM_ARRAY_TASK_MIN, or a Kubernetes Indexed Job's JOB_COMPLETION_INDEX).
Shards may write into one shared directory or into their own, combined
afterwards by "train sweep merge" into the result of a single-machine run.

examples:
  train sweep
  train sweep init sweep.json && train sweep -config sweep.json -out out/sweep -workers 8
  train sweep -config sweep.json -out out/s0 -shard 0/2     (on one machine)
  train sweep -config sweep.json -out out/s1 -shard 1/2     (on another)
  train sweep merge -out out/sweep out/s0 out/s1
  train sweep -config sweep.json -out $SCRATCH/s$SLURM_ARRAY_TASK_ID -shard-count $SLURM_ARRAY_TASK_COUNT
`

const sweepMergeUsage = `usage: train sweep merge -out DST SRC...

Combines the output directories SRC... of the shards of one sweep into DST,
which then holds exactly what a single-machine run writes (the result files
are copied byte for byte), prints the slope table and writes the figures into
DST/figures. It refuses directories of different sweeps and names the runs
that no shard has finished.

example:
  train sweep merge -out out/sweep out/shard-*
`

const sweepAnalyzeUsage = `usage: train sweep analyze [flags] DIR

Loads the sweep in DIR (written by "train sweep" or "train sweep merge") and
prints its slope table; runs without a finished result file are counted as
missing. It writes nothing unless -figures is given.

example:
  train sweep analyze -figures out/sweep/figures out/sweep
`

const sweepInitUsage = `usage: train sweep init FILE

Writes an example sweep configuration to FILE (- for stdout), to edit and
pass to "train sweep -config FILE". An existing file is not overwritten.

example:
  train sweep init sweep.json
`

// exampleSweepConfig is the sweep run without -config and written by
// "train sweep init": NTK, mean-field and muP scaling of a two-layer tanh
// net on a teacher on the sphere, small enough to finish in seconds on a
// laptop and wide enough (6 widths over a factor 32, 4 seeds) for the
// slopes to mean something: weight change ~ n^-1/2 under NTK, displacement
// ~ n^0 under mean field and muP.
const exampleSweepConfig = `{
  "name": "example: NTK vs mean-field vs muP scaling of a two-layer tanh net",
  "dataset": {"kind": "teacher-sphere", "n": 32, "dim": 8, "seed": 1},
  "widths": [64, 128, 256, 512, 1024, 2048],
  "depth": 1,
  "activation": "tanh",
  "parameterizations": ["ntk", "meanfield", "mup"],
  "seeds": [1, 2, 3, 4],
  "lrs": [0.5],
  "optimizers": ["sgd"],
  "steps": 100,
  "batch_size": 0,
  "log_every": 10,
  "kernel_every": 0,
  "kernel_points": 16
}
`

// sweepFlags are the flags of "train sweep".
type sweepFlags struct {
	config     string
	out        string
	workers    int
	shard      string
	shardCount int
	json       bool
	noFigures  bool
	example    string
}

func (f *sweepFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "sweep configuration (JSON; see train sweep init); empty: the built-in example")
	fs.StringVar(&f.out, "out", "out/sweep", "output directory (shards may share it)")
	fs.IntVar(&f.workers, "workers", runtime.GOMAXPROCS(0), "runs trained at the same time")
	fs.StringVar(&f.shard, "shard", "", "run only shard i/n of the grid (run index mod n = i)")
	fs.IntVar(&f.shardCount, "shard-count", 0, "number of shards; the index comes from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX")
	fs.BoolVar(&f.json, "json", false, "print the slope fits as JSON lines on stdout (other messages go to stderr)")
	fs.BoolVar(&f.noFigures, "no-figures", false, "skip the PNG/SVG figures")
	fs.StringVar(&f.example, "example-config", "", "write an example configuration to this file (- for stdout) and exit")
}

// runSweep dispatches "train sweep" and its sub-subcommands.
func runSweep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "merge":
			return runSweepMerge(args[1:], stdout, stderr)
		case "analyze":
			return runSweepAnalyze(args[1:], stdout, stderr)
		case "init":
			return runSweepInit(args[1:], stdout, stderr)
		}
	}
	var f sweepFlags
	fs := newFlags("sweep", sweepUsage, stderr)
	f.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if f.example != "" {
		return writeExampleSweep(f.example, stdout)
	}
	if f.workers < 1 {
		return usagef("sweep: -workers %d: want at least 1", f.workers)
	}
	shard, err := sweepShard(f.shard, f.shardCount, stderr)
	if err != nil {
		return err
	}
	cfg, err := loadSweepConfig(f.config)
	if err != nil {
		return err
	}
	// With -json, stdout carries nothing but JSON lines.
	human := stdout
	if f.json {
		human = stderr
	}
	runs := cfg.Runs()
	mine := 0
	for _, r := range runs {
		if shard.Owns(r.Index) {
			mine++
		}
	}
	name := cfg.Name
	if f.config == "" {
		name += " (built-in; train sweep init FILE writes it)"
	}
	fmt.Fprintf(human, "gradflow sweep %s: %d runs, shard %s holds %d; %d workers; results in %s\n", name, len(runs), shard, mine, f.workers, f.out)
	// An output path that cannot be created is the user's to fix, unlike
	// the I/O failures sweep.Run may meet later.
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return usageError{err}
	}
	err = sweep.Run(ctx, cfg, f.out, shard, f.workers, stderr)
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: the sweep is resumable: run the same command again and the finished runs in %s are kept", errInterrupted, f.out)
	}
	if err != nil {
		return sweepError(err)
	}
	if shard != sweep.All {
		fmt.Fprintf(human, "shard %s done (%d runs) in %s\n", shard, mine, f.out)
		fmt.Fprintf(human, "when every shard is done: train sweep merge -out DST SHARD_DIR... (or train sweep analyze DIR if the shards share DIR)\n")
		return nil
	}
	return sweepReport(f.out, stdout, human, f.json, !f.noFigures)
}

// runSweepMerge is "train sweep merge -out DST SRC...".
func runSweepMerge(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sweep merge", sweepMergeUsage, stderr)
	out := fs.String("out", "", "destination directory (required)")
	asJSON := fs.Bool("json", false, "print the slope fits as JSON lines on stdout")
	noFigures := fs.Bool("no-figures", false, "skip the PNG/SVG figures")
	srcs, err := parseFlagsAndArgs(fs, args, stdout)
	if err != nil {
		return err
	}
	if *out == "" {
		return usagef("sweep merge: -out DST is required (see train sweep merge -h)")
	}
	if len(srcs) == 0 {
		return usagef("sweep merge: no source directories (see train sweep merge -h)")
	}
	for _, s := range srcs {
		if filepath.Clean(s) == filepath.Clean(*out) {
			return usagef("sweep merge: source %s is the destination", s)
		}
		if _, err := os.Stat(filepath.Join(s, "config.json")); err != nil {
			return usagef("sweep merge: %s is not a sweep output directory (no config.json)", s)
		}
	}
	// Every failure of Merge is about the directories the user named
	// (different sweeps, unfinished runs, conflicting files): input errors.
	if err := sweep.Merge(*out, srcs...); err != nil {
		return usageError{err}
	}
	human := stdout
	if *asJSON {
		human = stderr
	}
	fmt.Fprintf(human, "merged %d directories into %s\n", len(srcs), *out)
	return sweepReport(*out, stdout, human, *asJSON, !*noFigures)
}

// runSweepAnalyze is "train sweep analyze DIR".
func runSweepAnalyze(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sweep analyze", sweepAnalyzeUsage, stderr)
	asJSON := fs.Bool("json", false, "print the slope fits as JSON lines instead of the table")
	figures := fs.String("figures", "", "also write the figures into this directory")
	dirs, err := parseFlagsAndArgs(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(dirs) != 1 {
		return usagef("sweep analyze: want one sweep directory, got %d arguments (see train sweep analyze -h)", len(dirs))
	}
	rep, err := analyzeSweep(dirs[0])
	if err != nil {
		return err
	}
	if err := printSweep(rep, stdout, *asJSON); err != nil {
		return err
	}
	if *figures != "" {
		if err := rep.WriteFigures(*figures); err != nil {
			return fmt.Errorf("figures: %w", err)
		}
		if !*asJSON {
			fmt.Fprintf(stdout, "figures in %s\n", *figures)
		}
	}
	return nil
}

// runSweepInit is "train sweep init FILE".
func runSweepInit(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sweep init", sweepInitUsage, stderr)
	files, err := parseFlagsAndArgs(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return usagef("sweep init: want one file name (- for stdout), got %d arguments", len(files))
	}
	return writeExampleSweep(files[0], stdout)
}

// writeExampleSweep writes the example configuration to path, or to stdout
// for "-"; it never overwrites a file, which may be a user's edited sweep.
func writeExampleSweep(path string, stdout io.Writer) error {
	if path == "-" {
		_, err := io.WriteString(stdout, exampleSweepConfig)
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return usagef("sweep: %s exists; not overwriting it", path)
		}
		return usageError{err}
	}
	if _, err := io.WriteString(f, exampleSweepConfig); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s; run it with: train sweep -config %s -out out/sweep\n", path, path)
	return nil
}

// loadSweepConfig reads the -config file, or the built-in example for "".
func loadSweepConfig(path string) (sweep.Config, error) {
	if path == "" {
		return sweep.ParseConfig([]byte(exampleSweepConfig))
	}
	cfg, err := sweep.LoadConfig(path)
	if err != nil {
		// A missing file, a JSON error (with line, column and field) or
		// an invalid field: all the user's to fix.
		return cfg, usageError{err}
	}
	return cfg, nil
}

// sweepShard decides the shard from -shard or -shard-count and the job
// array environment.
func sweepShard(spec string, count int, stderr io.Writer) (sweep.Shard, error) {
	switch {
	case spec != "" && count != 0:
		return sweep.Shard{}, usagef("sweep: give -shard or -shard-count, not both")
	case spec != "":
		s, err := sweep.ParseShard(spec)
		if err != nil {
			return s, usagef("-shard: %v", err)
		}
		return s, nil
	case count < 0:
		return sweep.Shard{}, usagef("sweep: -shard-count %d: want a positive count", count)
	case count > 0:
		_, slurm := os.LookupEnv("SLURM_ARRAY_TASK_ID")
		_, k8s := os.LookupEnv("JOB_COMPLETION_INDEX")
		if !slurm && !k8s {
			// Running the whole sweep here would silently repeat the
			// work of every other shard.
			return sweep.Shard{}, usagef("sweep: -shard-count %d: neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set (use -shard i/%d outside a job array)", count, count)
		}
		s, err := sweep.ShardFromEnv(count)
		if err != nil {
			return s, usageError{err}
		}
		if s.Count != count {
			return s, usagef("sweep: -shard-count %d, but the job array has %d tasks (SLURM_ARRAY_TASK_COUNT)", count, s.Count)
		}
		return s, nil
	}
	if _, ok := os.LookupEnv("SLURM_ARRAY_TASK_ID"); ok {
		fmt.Fprintln(stderr, "train sweep: note: SLURM_ARRAY_TASK_ID is set but neither -shard nor -shard-count is given: running the whole sweep")
	}
	return sweep.All, nil
}

// sweepError sorts an error of package sweep: a *sweep.ConfigError (a
// configuration refused at run time, or an output directory holding another
// sweep) is the user's to fix (exit 2); anything else is a runtime failure.
func sweepError(err error) error {
	if ce := new(sweep.ConfigError); errors.As(err, &ce) {
		return usageError{err}
	}
	return err
}

// analyzeSweep loads a sweep directory, turning a missing or unreadable
// config.json into an input error.
func analyzeSweep(dir string) (*sweep.Report, error) {
	rep, err := sweep.Analyze(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, usagef("sweep: %s is not a sweep output directory (no config.json)", dir)
		}
		return nil, usageError{err}
	}
	return rep, nil
}

// sweepReport prints the table (or JSON lines) of the sweep in dir, and
// writes dir/slopes.jsonl and, if figures, dir/figures.
func sweepReport(dir string, stdout, human io.Writer, asJSON, figures bool) error {
	rep, err := analyzeSweep(dir)
	if err != nil {
		return err
	}
	if err := printSweep(rep, stdout, asJSON); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "slopes.jsonl"))
	if err != nil {
		return err
	}
	err = writeSweepFits(rep, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	written := []string{"config.json", "runs/*.jsonl", "slopes.jsonl"}
	if figures {
		if err := rep.WriteFigures(filepath.Join(dir, "figures")); err != nil {
			return fmt.Errorf("figures: %w", err)
		}
		written = append(written, "figures/*.png/svg")
	}
	fmt.Fprintf(human, "outputs in %s: %s\n", dir, strings.Join(written, " "))
	return nil
}

// printSweep writes the slope table, or with asJSON one JSON line per fit.
func printSweep(rep *sweep.Report, w io.Writer, asJSON bool) error {
	if asJSON {
		return writeSweepFits(rep, w)
	}
	return rep.WriteTables(w)
}

// sweepFit is the JSON form of a sweep.Fit; NaNs (a width without a
// positive value, an interval from one seed) become null.
type sweepFit struct {
	Parameterization string     `json:"parameterization"`
	LR               float64    `json:"lr"`
	Optimizer        string     `json:"optimizer"`
	Metric           string     `json:"metric"`
	Step             int        `json:"step"`
	Widths           []int      `json:"widths"`
	Mean             []*float64 `json:"mean"` // geometric mean over seeds per width
	PerSeed          []float64  `json:"per_seed_slopes"`
	Slope            float64    `json:"slope"`
	Lo               *float64   `json:"ci_lo"`
	Hi               *float64   `json:"ci_hi"`
}

// writeSweepFits writes one JSON line per group and metric of
// rep.Metrics(), in the order of the table.
func writeSweepFits(rep *sweep.Report, w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, g := range rep.Groups() {
		for _, m := range rep.Metrics() {
			f, err := rep.Fit(m, g, -1)
			if err != nil {
				continue // the metric was never measured or positive for two widths
			}
			line := sweepFit{Parameterization: g.Parameterization, LR: g.LR, Optimizer: g.Optimizer, Metric: m,
				Step: f.Step, Widths: f.Widths, PerSeed: f.PerSeed, Slope: f.Slope, Lo: finite(f.Lo), Hi: finite(f.Hi)}
			for _, v := range f.Mean {
				line.Mean = append(line.Mean, finite(v))
			}
			if err := enc.Encode(line); err != nil {
				return err
			}
		}
	}
	return nil
}

// finite returns &v, or nil (JSON null) for a NaN or infinity, which JSON
// cannot represent.
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

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
