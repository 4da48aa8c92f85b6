package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

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

// sweepFlags are the flags of "train sweep" (see bindFlags).
type sweepFlags struct {
	Config        string `json:"config" help:"sweep configuration (JSON; see train sweep init); empty: the built-in example"`
	Out           string `json:"out" help:"output directory (shards may share it)"`
	Workers       int    `json:"workers" help:"runs trained at the same time"`
	Shard         string `json:"shard" help:"run only shard i/n of the grid (run index mod n = i)"`
	ShardCount    int    `json:"shard_count" help:"number of shards; the index comes from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX"`
	JSON          bool   `json:"json" help:"print the slope fits as JSON lines on stdout (other messages go to stderr)"`
	NoFigures     bool   `json:"no_figures" help:"skip the PNG/SVG figures"`
	ExampleConfig string `json:"example_config" help:"write an example configuration to this file (- for stdout) and exit"`
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
	f := sweepFlags{Out: "out/sweep", Workers: runtime.GOMAXPROCS(0)}
	fs := newFlags("sweep", sweepUsage, stderr)
	bindFlags(fs, &f)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if f.ExampleConfig != "" {
		return writeExampleSweep(f.ExampleConfig, stdout)
	}
	if f.Workers < 1 {
		return usagef("sweep: -workers %d: want at least 1", f.Workers)
	}
	shard, err := sweepShard(f.Shard, f.ShardCount, stderr)
	if err != nil {
		return err
	}
	cfg, err := loadSweepConfig(f.Config)
	if err != nil {
		return err
	}
	human := humanOut(f.JSON, stdout, stderr)
	runs, mine := len(cfg.Runs()), len(shard.Runs(cfg))
	name := cfg.Name
	if f.Config == "" {
		name += " (built-in; train sweep init FILE writes it)"
	}
	fmt.Fprintf(human, "gradflow sweep %s: %d runs, shard %s holds %d; %d workers; results in %s\n", name, runs, shard, mine, f.Workers, f.Out)
	// An output path that cannot be created is the user's to fix, unlike
	// the I/O failures sweep.Run may meet later.
	if err := os.MkdirAll(f.Out, 0o755); err != nil {
		return usageError{err}
	}
	err = sweep.Run(ctx, cfg, f.Out, shard, f.Workers, stderr)
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: the sweep is resumable: run the same command again and the finished runs in %s are kept", errInterrupted, f.Out)
	}
	if err != nil {
		return sweepError(err)
	}
	if shard != sweep.All {
		fmt.Fprintf(human, "shard %s done (%d runs) in %s\n", shard, mine, f.Out)
		fmt.Fprintf(human, "when every shard is done: train sweep merge -out DST SHARD_DIR... (or train sweep analyze DIR if the shards share DIR)\n")
		return nil
	}
	return sweepReport(f.Out, stdout, human, f.JSON, !f.NoFigures)
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
	// Every failure of Merge is about the directories the user named
	// (none, not sweeps, different sweeps, unfinished runs, conflicting
	// files): input errors.
	if err := sweep.Merge(*out, srcs...); err != nil {
		return usageError{err}
	}
	human := humanOut(*asJSON, stdout, stderr)
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
		_, err := io.WriteString(stdout, sweep.ExampleConfig)
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return usagef("sweep: %s exists; not overwriting it", path)
	} else if err != nil {
		return usageError{err}
	}
	_, err = io.WriteString(f, sweep.ExampleConfig)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		fmt.Fprintf(stdout, "wrote %s; run it with: train sweep -config %s -out out/sweep\n", path, path)
	}
	return err
}

// loadSweepConfig reads the -config file, or the built-in example for "".
func loadSweepConfig(path string) (sweep.Config, error) {
	if path == "" {
		return sweep.ParseConfig([]byte(sweep.ExampleConfig))
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
	case count != 0:
		s, err := sweep.ShardFromJobArray(count)
		if errors.Is(err, sweep.ErrNoJobArray) {
			return s, usagef("-shard-count %d: %v (use -shard i/%d outside a job array)", count, err, count)
		} else if err != nil {
			return s, usagef("-shard-count: %v", err)
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

// analyzeSweep loads a sweep directory; every failure (no sweep there, an
// unreadable or foreign result file) is about the directory the user named.
func analyzeSweep(dir string) (*sweep.Report, error) {
	rep, err := sweep.Analyze(dir)
	if err != nil {
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
	if err := rep.Save(dir, figures); err != nil {
		return err
	}
	written := "config.json runs/*.jsonl slopes.jsonl"
	if figures {
		written += " figures/*.png/svg"
	}
	fmt.Fprintf(human, "outputs in %s: %s\n", dir, written)
	return nil
}

// printSweep writes the slope table, or with asJSON one JSON line per fit.
func printSweep(rep *sweep.Report, w io.Writer, asJSON bool) error {
	if asJSON {
		return rep.WriteFits(w)
	}
	return rep.WriteTables(w)
}
