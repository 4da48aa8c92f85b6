package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"time"
	"unicode"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// fitParts are the pieces of a fit built from its configuration.
type fitParts[T tensor.Float] struct {
	tk    *task[T]
	dims  []int // an MLP's widths; nil for a net spec
	model nn.Module[T]
	// save writes the model file (an *nn.MLP's or an *nn.Net's Save).
	save   func(io.Writer) error
	desc   string // the model in the header line
	loss   train.Loss[T]
	loader *data.Loader[T]
	tr     *train.Trainer[T]
}

// buildFit loads the data and builds the model, loss, optimizer, schedule,
// loader and trainer of cfg; every error is the user's (exit status 2).
func buildFit[T tensor.Float](cfg fitConfig, metrics io.Writer, callbacks ...train.Callback[T]) (*fitParts[T], error) {
	tk, err := loadTask[T](cfg.Data, cfg.TestFrac, cfg.Seed)
	if err != nil {
		return nil, err
	}
	f := &fitParts[T]{tk: tk}
	if err := buildModel(f, cfg); err != nil {
		return nil, err
	}
	loss, oneHot, err := parseLoss[T](cfg.Loss, tk)
	if err != nil {
		return nil, err
	}
	f.loss = loss
	opt, err := optimizerFor(cfg, f.model.Params())
	if err != nil {
		return nil, err
	}
	sched, err := scheduleFor(cfg)
	if err != nil {
		return nil, err
	}
	if f.loader, err = data.NewLoader(tk.Train, data.LoaderConfig{BatchSize: cfg.Batch, Shuffle: true, Seed: cfg.Seed, OneHot: oneHot}); err != nil {
		return nil, usageError{err}
	}
	f.tr, err = train.New(train.Config[T]{
		Model: f.model, Loss: loss, Optimizer: opt, Schedule: sched, Train: f.loader,
		Evals:  []train.Eval[T]{{Name: "test", Data: tk.Test}},
		Epochs: cfg.Epochs, Steps: cfg.Steps, LogEvery: cfg.LogEvery, Metrics: metrics, Callbacks: callbacks,
		ClipNorm: cfg.ClipNorm, MaxLossRatio: cfg.MaxLoss, Checkpoint: filepath.Join(cfg.Out, train.CheckpointFile), CheckpointEvery: cfg.CkptEvery,
	})
	if err != nil {
		return nil, usageError{err}
	}
	return f, nil
}

// buildModel builds the model -arch names: an MLP for widths
// ("784-512-10", "auto"), an nn.Net for a spec with layer names
// ("conv6k5p2-relu-...-fc10") on the data's example shape.
func buildModel[T tensor.Float](f *fitParts[T], cfg fitConfig) error {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x1417))
	if !isNetSpec(cfg.Arch) {
		var err error
		if f.dims, err = parseArch(cfg.Arch, f.tk.Train.Dim(), f.tk.Outputs); err != nil {
			return err
		}
		mcfg, err := modelConfig(cfg, f.dims)
		if err != nil {
			return err
		}
		m, err := nn.NewMLP[T](mcfg, rng)
		if err != nil {
			return usageError{err}
		}
		f.model, f.save = m, m.Save
		f.desc = fmt.Sprintf("MLP %s %s/%s", joinInts(f.dims), cfg.Activation, cfg.Param)
		return nil
	}
	if cfg.Activation != "relu" {
		return usagef("-act %s: a net spec names its activations itself (e.g. conv6k5-%s-...); drop -act", cfg.Activation, cfg.Activation)
	}
	shape := f.tk.Train.ExampleShape()
	ncfg, err := netConfig(cfg, shape)
	if err != nil {
		return err
	}
	net, err := nn.NewNetWith[T](ncfg, rng)
	if err != nil {
		return usagef("-arch: %v", err)
	}
	if out := net.OutputShape(); len(out) != 1 || out[0] != f.tk.Outputs {
		return usagef("-arch %s: the net's output for one example has shape %v, but %s needs %d outputs (end the spec with fc%d)", cfg.Arch, out, f.tk.Name, f.tk.Outputs, f.tk.Outputs)
	}
	f.model, f.save = net, net.Save
	f.desc = fmt.Sprintf("net %s on %v (%d parameters)", cfg.Arch, shape, nn.NumParams[T](net))
	if ncfg.Parameterization != nn.Standard {
		f.desc += ", " + string(ncfg.Parameterization)
	}
	return nil
}

// isNetSpec reports whether -arch names layers (letters other than the
// MLP keyword "auto"): a net spec rather than MLP widths.
func isNetSpec(arch string) bool {
	return arch != "auto" && strings.ContainsFunc(arch, unicode.IsLetter)
}

// fit trains one model as cfg says, in the run directory -out.
func fit[T tensor.Float](ctx context.Context, cfg fitConfig, run fitRun, stdout, stderr io.Writer) error {
	rd, err := openOut("fit", cfg.Out, run.mode)
	if err != nil {
		return err
	}
	defer rd.Close()
	prog := train.NewProgress[T](stderr, 0)
	f, err := buildFit(cfg, rd.Metrics(), prog)
	if err != nil {
		return err
	}
	prog.SetTotal(f.tr.TotalSteps())
	if err := startFit(f, cfg, run, rd, stdout); err != nil {
		return err
	}
	human := humanOut(cfg.JSON, stdout, stderr)
	fmt.Fprintf(human, "gradflow fit: %s (%d train, %d test), %s, %s lr %g, batch %d, %s, %d threads\n",
		f.tk.Name, f.tk.Train.Len(), f.tk.Test.Len(), f.desc, cfg.Opt, cfg.LR, cfg.Batch, cfg.DType, runtime.GOMAXPROCS(0))
	start, startStep := time.Now(), f.tr.StepCount()
	res, runErr := f.tr.Run(ctx)
	prog.Done()
	if err := endFit(f, cfg, rd, res, runErr); err != nil {
		return err
	}
	return reportFit(human, f, cfg, res, startStep, time.Since(start))
}

// startFit writes config.json and opens metrics.jsonl of a new run, or
// restores a resumed one (train.ResumeFromDir); a diverged run resumed
// from its last finite state records the settings changed to resume it.
func startFit[T tensor.Float](f *fitParts[T], cfg fitConfig, run fitRun, rd *train.RunDir, stdout io.Writer) error {
	var tee io.Writer
	if cfg.JSON {
		tee = stdout
	}
	if run.mode != train.ResumeRun {
		b, _ := json.MarshalIndent(cfg, "", "  ")
		if err := rd.Begin(append(b, '\n')); err != nil {
			return err
		}
		return rd.OpenMetrics(-1, tee)
	}
	diverged, err := train.ResumeFromDir(rd, f.tr, tee)
	if errors.Is(err, fs.ErrNotExist) {
		return usagef("fit: -resume %s: the run stopped before its first checkpoint; start it again with: train fit -config %s -overwrite",
			cfg.Out, rd.Path(train.ConfigFile))
	} else if err != nil {
		return usageError{err}
	} else if !diverged {
		return nil
	}
	b, _ := json.MarshalIndent(run.saved, "", "  ")
	return rd.WriteBytes(train.ConfigFile, append(b, '\n'))
}

// endFit writes what the end of a run leaves: the model (or, after a
// divergence, the last finite model) and the figures; it returns the
// error that ends a diverged, failed or interrupted run.
func endFit[T tensor.Float](f *fitParts[T], cfg fitConfig, rd *train.RunDir, res train.Result, runErr error) error {
	var div *train.DivergenceError
	diverged := errors.As(runErr, &div) && div.Checkpoint != ""
	if runErr != nil && !diverged && !errors.Is(runErr, context.Canceled) {
		return runErr
	}
	model := train.ModelFile
	if diverged {
		model = train.LastFiniteCheckpoint(train.ModelFile)
	}
	if err := rd.WriteFile(model, f.save); err != nil {
		return err
	}
	if !cfg.NoFigures {
		err := rd.Stage(func(dir string) error { return train.SaveMetricsFigures(rd.Path(train.MetricsFile), dir) })
		if err != nil {
			return fmt.Errorf("figures: %w", err)
		}
	}
	switch {
	case diverged:
		return divergedError(div, cfg, model)
	case runErr != nil:
		return fmt.Errorf("%w at step %d; checkpoint in %s (continue with: train fit -resume %s)", errInterrupted, res.Steps, rd.Path(train.CheckpointFile), cfg.Out)
	}
	return nil
}

// divergedError is the one line that reports a divergence: where the last
// finite state is and what to change.
func divergedError(div *train.DivergenceError, cfg fitConfig, model string) error {
	cause := fmt.Sprintf("%s is %v", div.What, div.Value)
	hint := ""
	if div.What == "loss explosion" {
		cause = fmt.Sprintf("the loss %.4g exceeds -max-loss-ratio %g times the first loss %.4g", div.Value, cfg.MaxLoss, div.Initial)
		hint = " (or -max-loss-ratio 0 to let the loss grow)"
	}
	return fmt.Errorf("fit: diverged at step %d: %s; the last finite state (step %d) is in %s and %s; resume with a smaller learning rate: train fit -resume %s -lr %g%s",
		div.Step, cause, div.Step-1, div.Checkpoint, model, cfg.Out, cfg.LR/10, hint)
}

// reportFit prints the end of a fit: its length and the final train and
// test metrics.
func reportFit[T tensor.Float](w io.Writer, f *fitParts[T], cfg fitConfig, res train.Result, startStep int, took time.Duration) error {
	trainLoss, trainAcc, err := f.tr.Evaluate(f.tk.Train)
	if err != nil {
		return err
	}
	last, ok := res.Last.Evals["test"]
	if !ok {
		// No record in this session: a resumed run that had already
		// reached its budget. Its final model is the checkpoint's, so
		// evaluating it gives the metrics of the run's last record.
		l, a, err := f.tr.Evaluate(f.tk.Test)
		if err != nil {
			return err
		}
		last = map[string]float64{"loss": l, "accuracy": a}
	}
	if res.Steps == startStep {
		fmt.Fprintf(w, "the run had already finished (step %d, epoch %d: the -%s budget); 0 new steps (raise -epochs or -steps to continue it)\n", res.Steps, res.Epochs, res.Stopped)
	} else {
		fmt.Fprintf(w, "done in %.1fs: %d steps, %d epochs (%s)\n", took.Seconds(), res.Steps, res.Epochs, res.Stopped)
	}
	if f.tk.Classes > 0 && f.loss.Classification() {
		fmt.Fprintf(w, "train accuracy %.2f%%  loss %.4f\ntest  accuracy %.2f%%  loss %.4f\n", 100*trainAcc, trainLoss, 100*last["accuracy"], last["loss"])
	} else {
		fmt.Fprintf(w, "train loss %.5f\ntest  loss %.5f\n", trainLoss, last["loss"])
	}
	fmt.Fprintf(w, "outputs in %s: config.json metrics.jsonl model.safetensors checkpoint.ckpt", cfg.Out)
	if !cfg.NoFigures {
		fmt.Fprint(w, " loss.png/svg accuracy.png/svg")
	}
	fmt.Fprintln(w)
	return nil
}
