package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/gradflow/gradflow/internal/progress"
	"github.com/gradflow/gradflow/internal/settings"
	"github.com/gradflow/gradflow/sweep"
	"github.com/gradflow/gradflow/train"
)

const sweepUsage = `usage: train sweep [flags]
       train sweep merge -out DST SRC...      combine the output directories of shards
       train sweep analyze DIR                 re-print the slope table (and correlations) of a sweep
       train sweep init [-geometry|-cnn] FILE  write an example configuration (- for stdout)

Runs a width-scaling sweep (package sweep): every point of the grid widths x
parameterizations x seeds x learning rates x optimizers of the -config file
trains an MLP and writes one JSON-lines result file DIR/runs/<id>.jsonl. The
sweep is resumable: run the same command again after an interruption and the
finished runs are skipped. Run unsharded, it then prints the log-log slope of
every metric against the width (mean over seeds with a 95% t-interval) and
writes figures (PNG and SVG) into DIR/figures and the fits into
DIR/slopes.jsonl. Without -config it runs the built-in example sweep (NTK,
mean-field and muP two-layer nets, widths 64..2048, 4 seeds) in seconds.

A configuration with a "geometry" block (train sweep init -geometry writes
one: digits, widths x learning rates x batch sizes) also measures, for every
run, the PL ratio along the path, the Lojasiewicz exponent, the sharpness,
the Hessian trace, the gradient noise scale and the distance from the
initialization, and the report ranks each against the generalization gap
(Kendall tau-b with bootstrap intervals; DIR/correlations.jsonl and
DIR/figures/kendall_tau).

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
prints its slope table. Runs without a finished result file are missing: a
sweep with missing runs is an error (exit status 1) unless -partial is
given, and then the table counts them. It writes nothing unless -figures is
given.

For a sweep with a "geometry" block it then prints the correlation table:
Kendall's tau-b between each geometric measure at the end of the runs and
the generalization gap (test loss - training loss, and accuracy gap), with
percentile bootstrap intervals over runs (-resamples, -seed). With -json the
fits are followed by one {"kind":"correlation",...} line per measure and a
{"kind":"summary",...} line last.

example:
  train sweep analyze -figures out/sweep/figures out/sweep
`

const sweepInitUsage = `usage: train sweep init [-geometry|-cnn] FILE

Writes an example sweep configuration to FILE (- for stdout), to edit and
pass to "train sweep -config FILE". An existing file is not overwritten.
-geometry writes the geometry-vs-generalization sweep instead (digits,
3 widths x 3 learning rates x 3 batch sizes, with a "geometry" block);
-cnn a sweep of a CNN whose channels scale with the width: its "net" field
is a net spec template (the grammar of "train fit -arch", with {w} and {Kw}
standing for the width and K times it) that replaces the MLP of "depth" and
"activation".

examples:
  train sweep init sweep.json
  train sweep init -geometry geometry.json && train sweep -config geometry.json -out out/geometry
  train sweep init -cnn cnn.json && train sweep -config cnn.json -out out/cnn
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
	settings.Bind(fs, &f)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if f.ExampleConfig != "" {
		return writeExampleSweep(f.ExampleConfig, sweep.ExampleConfig, stdout)
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
	// Shards may share the directory; two processes running the same
	// shard there may not. A path that cannot be created is the user's to
	// fix, unlike the I/O failures sweep.Run may meet later.
	rd, err := train.OpenSharedDir(f.Out, "shard-"+shard.String())
	if errors.As(err, new(*train.LockedError)) {
		return usagef("sweep: shard %s of %v", shard, err)
	} else if err != nil {
		return usagef("sweep: -out: %v", err)
	}
	defer rd.Close()
	fmt.Fprintf(human, "gradflow sweep %s: %d runs, shard %s holds %d; %d workers; results in %s\n", name, runs, shard, mine, f.Workers, f.Out)
	rep := progress.New(stderr)
	stop := rep.Busy(fmt.Sprintf("sweep: training the %d runs of shard %s", mine, shard))
	err = sweep.Run(ctx, cfg, f.Out, shard, f.Workers, rep)
	stop()
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
	partial := fs.Bool("partial", false, "analyze a sweep with missing runs (by default an error, exit status 1)")
	var co sweep.CorrelationOptions
	fs.IntVar(&co.Resamples, "resamples", 1000, "bootstrap resamples of the correlation intervals (geometry sweeps)")
	fs.Uint64Var(&co.Seed, "seed", 1, "seed of the bootstrap resampling (geometry sweeps)")
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
	if n := len(rep.Missing); n > 0 && !*partial {
		return fmt.Errorf("sweep analyze: %s is missing %d of %d runs (%s ...): run the sweep (or its missing shards) again to finish them, or give -partial to analyze the finished ones",
			dirs[0], n, len(rep.Config.Runs()), rep.Missing[0])
	}
	if co.Resamples < 1 {
		return usagef("sweep analyze: -resamples %d: want at least 1", co.Resamples)
	}
	if err := printSweep(rep, stdout, *asJSON, co); err != nil {
		return err
	}
	if *figures != "" {
		if err := rep.WriteFigures(*figures); err != nil {
			return fmt.Errorf("figures: %w", err)
		}
		if rep.Config.Geometry != nil {
			if err := rep.WriteCorrelationFigures(*figures, co); err != nil {
				return fmt.Errorf("figures: %w", err)
			}
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
	geometry := fs.Bool("geometry", false, "write the geometry-vs-generalization example (digits, widths x learning rates x batch sizes)")
	cnn := fs.Bool("cnn", false, "write the CNN example (digits, channels x sp/mup, a \"net\" spec template)")
	files, err := parseFlagsAndArgs(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return usagef("sweep init: want one file name (- for stdout), got %d arguments", len(files))
	}
	example := sweep.ExampleConfig
	switch {
	case *geometry && *cnn:
		return usagef("sweep init: give -geometry or -cnn, not both")
	case *geometry:
		example = sweep.GeometryExampleConfig
	case *cnn:
		example = sweep.CNNExampleConfig
	}
	return writeExampleSweep(files[0], example, stdout)
}

// writeExampleSweep writes the example configuration example to path, or
// to stdout for "-"; it never overwrites a file, which may be a user's
// edited sweep.
func writeExampleSweep(path, example string, stdout io.Writer) error {
	if path == "-" {
		_, err := io.WriteString(stdout, example)
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return usagef("sweep: %s exists; not overwriting it", path)
	} else if err != nil {
		return usageError{err}
	}
	_, err = io.WriteString(f, example)
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
	co := sweep.CorrelationOptions{Seed: 1}
	if err := printSweep(rep, stdout, asJSON, co); err != nil {
		return err
	}
	if err := rep.Save(dir, figures); err != nil {
		return err
	}
	written := "config.json runs/*.jsonl slopes.jsonl"
	if rep.Config.Geometry != nil {
		if err := rep.SaveCorrelations(dir, co, figures); err != nil {
			return err
		}
		written += " correlations.jsonl"
	}
	if figures {
		written += " figures/*.png/svg"
	}
	fmt.Fprintf(human, "outputs in %s: %s\n", dir, written)
	return nil
}

// printSweep writes the slope table, or with asJSON one JSON line per fit,
// and for a sweep with a geometry block the correlations (table, or JSON
// lines with the summary last) with the bootstrap options co.
func printSweep(rep *sweep.Report, w io.Writer, asJSON bool, co sweep.CorrelationOptions) error {
	if asJSON {
		if err := rep.WriteFits(w); err != nil {
			return err
		}
		if rep.Config.Geometry == nil {
			return nil
		}
		return rep.WriteCorrelationsJSON(w, co)
	}
	if err := rep.WriteTables(w); err != nil {
		return err
	}
	if rep.Config.Geometry == nil {
		return nil
	}
	fmt.Fprintln(w)
	return rep.WriteCorrelations(w, co)
}
