package landscape

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/internal/nilcheck"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// StudyConfig is a training run and the probe that measures it. The run is
// a train.Trainer over a shuffling loader of Train; the probe is the
// trainer's first callback.
type StudyConfig[T tensor.Float] struct {
	// Model is trained and measured. The widths of an *nn.MLP, or the
	// spec of an *nn.Net, label the result (StudyResult.Arch).
	Model nn.Module[T]
	Loss  train.Loss[T]
	// Optimizer's rate (of group 0) when the study is built is the base
	// rate eta: 2/eta is the threshold the sharpness is compared with.
	Optimizer optim.Optimizer[T]
	// Schedule scales eta along the run (nil: constant).
	Schedule optim.Schedule
	// Train holds the examples trained on, from which the probe draws its
	// subset. Test, if not nil, is evaluated at the end of the run, as
	// Train is.
	Train, Test *data.Dataset[T]
	// DataName labels Train in the result (StudyResult.Data).
	DataName string
	// Batch is the minibatch size (0: all of Train, i.e. full-batch
	// gradient descent).
	Batch int
	// OneHot fills the targets with one-hot labels (MSE on classes), for
	// the loader and the probe alike.
	OneHot bool
	// Epochs and Steps bound the run as in train.Config.
	Epochs, Steps int
	// ClipNorm > 0 rescales the gradient to at most this global norm.
	ClipNorm float64
	// MaxLossRatio > 0 stops the run as diverged when a step's loss
	// exceeds this multiple of the first step's (train.Config.MaxLossRatio).
	MaxLossRatio float64
	// Callbacks observe the steps of the run after the probe (a progress
	// display, say). They are not passed the records: the run records at
	// the end of every epoch, which for full batches is every step, and
	// the probe's measurements are the study's report.
	Callbacks []train.Callback[T]
	// PlainGD says that Optimizer steps by -eta grad f with one rate for
	// every parameter (no momentum, no adaptive or per-layer rates): with
	// full batches this is the method whose stability threshold 2/eta is
	// (StudyResult.FullBatchGD). It is not inferred because an Optimizer
	// does not expose its update rule.
	PlainGD bool

	// Every and Subset are the probe's (ProbeConfig): steps between
	// measurements and the size of its fixed subset of Train (0: all).
	Every, Subset int
	// Sharpness is always measured; zero fields take SharpnessBudget's
	// defaults.
	Sharpness SharpnessBudget
	Trace     *TraceBudget // nil: off
	Noise     *NoiseBudget // nil: off
	// PL is always measured; PL.FStar is also the f* of the Lojasiewicz
	// fit.
	PL PLBudget
	// PLStar is the number of examples (the first of the probe's subset)
	// on which the PL* constant is computed before the first step and at
	// the end (0: off). The Jacobian it needs has PLStar x outputs rows,
	// which is why it is not measured on the whole subset. It needs a
	// *train.MSE loss (PLStarModel).
	PLStar int
	// LojTail is the fraction of the measurements, those closest to f*,
	// that the Lojasiewicz fit uses (0: all).
	LojTail float64
	// Seed seeds the data order, the probe's subset and estimators, and
	// the bootstrap of the Lojasiewicz fit: the same seed gives the same
	// result bit for bit.
	Seed uint64
	// Out receives every measurement as one JSON line (may be nil).
	Out io.Writer
}

// Study is a training run with a landscape probe attached, built by
// NewStudy and run (once) by Run. Building first lets a caller report the
// settings, or refuse bad ones, before the run takes its time.
type Study[T tensor.Float] struct {
	cfg     StudyConfig[T]
	probe   *Probe[T]
	trainer *train.Trainer[T]
	mlp     *nn.MLP[T] // nil unless the model is an MLP
	lr      float64    // base rate
	batch   int
	subset  int
	ran     bool
}

// NewStudy validates cfg (errors name the field at fault) and builds the
// loader, the probe and the trainer.
func NewStudy[T tensor.Float](cfg StudyConfig[T]) (*Study[T], error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	n := cfg.Train.Len()
	s := &Study[T]{cfg: cfg, lr: cfg.Optimizer.LR(0), batch: cmp.Or(cfg.Batch, n), subset: cmp.Or(cfg.Subset, n)}
	s.cfg.LojTail = cmp.Or(cfg.LojTail, 1)
	s.mlp, _ = cfg.Model.(*nn.MLP[T])
	loader, err := data.NewLoader(cfg.Train, data.LoaderConfig{BatchSize: s.batch, Shuffle: true, Seed: cfg.Seed, OneHot: cfg.OneHot})
	if err != nil {
		return nil, err
	}
	sharp, pl := cfg.Sharpness, cfg.PL
	s.probe, err = NewProbe(ProbeConfig[T]{
		Model: cfg.Model, Loss: cfg.Loss, Data: cfg.Train, Subset: cfg.Subset, OneHot: cfg.OneHot,
		Every: cfg.Every, Out: cfg.Out, Seed: cfg.Seed, Sharpness: &sharp, Trace: cfg.Trace, PL: &pl, Noise: cfg.Noise,
	})
	if err != nil {
		return nil, err
	}
	callbacks := []train.Callback[T]{s.probe}
	for _, c := range cfg.Callbacks {
		callbacks = append(callbacks, stepsOnly[T]{c})
	}
	s.trainer, err = train.New(train.Config[T]{
		Model: cfg.Model, Loss: cfg.Loss, Optimizer: cfg.Optimizer, Schedule: cfg.Schedule, Train: loader,
		Epochs: cfg.Epochs, Steps: cfg.Steps, ClipNorm: cfg.ClipNorm, MaxLossRatio: cfg.MaxLossRatio,
		Callbacks: callbacks,
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// stepsOnly passes a callback the steps but not the records.
type stepsOnly[T tensor.Float] struct{ train.Callback[T] }

// OnRecord implements train.Callback; records are not passed on.
func (stepsOnly[T]) OnRecord(*train.Record) error { return nil }

// check validates what the probe and the trainer do not.
func (c *StudyConfig[T]) check() error {
	switch {
	case nilcheck.Nil(c.Model):
		return errors.New("landscape.StudyConfig.Model is nil")
	case nilcheck.Nil(c.Loss):
		return errors.New("landscape.StudyConfig.Loss is nil")
	case nilcheck.Nil(c.Optimizer) || c.Optimizer.NumGroups() == 0:
		return errors.New("landscape.StudyConfig.Optimizer is nil or has no parameter groups")
	case c.Train == nil || c.Train.X == nil || c.Train.Len() == 0:
		return errors.New("landscape.StudyConfig.Train is nil or empty")
	case c.Batch < 0 || c.Batch > c.Train.Len():
		return fmt.Errorf("landscape.StudyConfig.Batch = %d, want in [0, %d] (the training examples)", c.Batch, c.Train.Len())
	case c.Subset < 0 || c.Subset > c.Train.Len():
		return fmt.Errorf("landscape.StudyConfig.Subset = %d, want in [0, %d] (the training examples)", c.Subset, c.Train.Len())
	case c.Every < 1:
		return fmt.Errorf("landscape.StudyConfig.Every = %d, want >= 1", c.Every)
	case c.LojTail < 0 || c.LojTail > 1:
		return fmt.Errorf("landscape.StudyConfig.LojTail = %v, want in [0, 1]", c.LojTail)
	case c.PLStar < 0:
		return fmt.Errorf("landscape.StudyConfig.PLStar = %d is negative", c.PLStar)
	case c.PLStar == 0:
		return nil
	}
	if subset := cmp.Or(c.Subset, c.Train.Len()); c.PLStar > subset {
		return fmt.Errorf("landscape.StudyConfig.PLStar = %d is larger than the probe's subset (%d examples)", c.PLStar, subset)
	}
	if _, ok := c.Loss.(*train.MSE[T]); !ok {
		return errors.New("landscape.StudyConfig.PLStar needs a *train.MSE loss (PL* is for square losses)")
	}
	return nil
}

// Describe says what the probe measures and at what cost, in one line
// (as "train landscape" prints it before the run).
func (s *Study[T]) Describe() string {
	pc := s.probe.cfg
	trace, noise, plstar := "off", "off", "off"
	if pc.Trace != nil {
		trace = fmt.Sprintf("%d probes", pc.Trace.Probes)
	}
	if pc.Noise != nil {
		noise = "on"
	}
	if s.cfg.PLStar > 0 {
		plstar = fmt.Sprintf("on %d examples", s.cfg.PLStar)
	}
	return fmt.Sprintf("every %d steps on %d examples; Lanczos top %d (<= %d HVPs); trace %s; noise %s; PL* %s",
		pc.Every, s.subset, pc.Sharpness.K, pc.Sharpness.Iters, trace, noise, plstar)
}

// Probe returns the study's probe, whose Objective is the loss on the
// subset the measurements are taken on.
func (s *Study[T]) Probe() *Probe[T] { return s.probe }

// Run measures once before the first step (where progressive sharpening
// starts from), trains with the probe measuring every Every steps, and
// summarizes. Whatever ends the run, what was measured is summarized: the
// measurements before a divergence are the interesting ones. When the run
// fails or ctx is cancelled after the first measurement, Run returns the
// result (Stopped says why; PL* at the end and the final evaluation are
// left out) together with the error; errors.Is(err, context.Canceled)
// tells a cancelled run. Other errors come with a nil result.
func (s *Study[T]) Run(ctx context.Context) (*StudyResult, error) {
	if s.ran {
		// The trainer and the probe would go on from where they
		// stopped, which is not the study the result describes.
		return nil, errors.New("landscape: Study.Run called twice")
	}
	s.ran = true
	r := s.newResult()
	start := time.Now()
	var err error
	if r.PLStar.Examples > 0 {
		if r.PLStar.Initial, err = s.plStar(); err != nil {
			return nil, err
		}
	}
	eta0 := s.lr
	if s.cfg.Schedule != nil {
		// The rate of the first step, which the first measurement's
		// stability ratio compares with.
		eta0 = s.lr * s.cfg.Schedule.Factor(0)
	}
	var res train.Result
	_, runErr := s.probe.Measure(0, eta0)
	if runErr == nil {
		res, runErr = s.trainer.Run(ctx)
	}
	interrupted := errors.Is(runErr, context.Canceled)
	if runErr != nil && !interrupted && len(s.probe.History()) == 0 {
		return nil, runErr
	}
	r.Steps, r.Stopped, r.Seconds = res.Steps, res.Stopped, time.Since(start).Seconds()
	if runErr != nil && !interrupted {
		r.Stopped = "error: " + runErr.Error()
	}
	r.summarize(s.probe.History(), s.probe.Trajectory(), s.summaryOptions())
	if runErr != nil {
		return r, runErr
	}
	if r.PLStar.Examples > 0 {
		if r.PLStar.Final, err = s.plStar(); err != nil {
			return nil, err
		}
	}
	r.Train, r.Test = s.evaluate(s.cfg.Train), s.evaluate(s.cfg.Test)
	return r, nil
}

// newResult holds the settings the result reports.
func (s *Study[T]) newResult() *StudyResult {
	r := &StudyResult{
		Data: s.cfg.DataName, Examples: s.cfg.Train.Len(), Subset: s.subset, Batch: s.batch, LR: s.lr, FStar: s.cfg.PL.FStar,
		FullBatchGD: s.cfg.PlainGD && s.batch == s.cfg.Train.Len(),
	}
	if s.mlp != nil {
		w := make([]string, len(s.mlp.Config.Dims))
		for i, d := range s.mlp.Config.Dims {
			w[i] = strconv.Itoa(d)
		}
		r.Arch = strings.Join(w, "-")
	} else if n, ok := s.cfg.Model.(*nn.Net[T]); ok {
		r.Arch = n.Spec
	}
	if s.cfg.PLStar > 0 {
		r.PLStar.Examples = s.cfg.PLStar
	}
	return r
}

// summaryOptions are the settings of the analysis after the run.
func (s *Study[T]) summaryOptions() summaryOptions {
	o := summaryOptions{fstar: s.cfg.PL.FStar, window: s.cfg.PL.Window, lojTail: s.cfg.LojTail, seed: s.cfg.Seed}
	if t := s.probe.cfg.Trace; t != nil {
		o.traceProbes = t.Probes
	}
	return o
}

// plStar is the PL* constant on the first PLStar examples of the probe's
// subset at the model's current parameters.
func (s *Study[T]) plStar() (*float64, error) {
	x := s.probe.Objective().Batch().X
	m, d := s.cfg.PLStar, x.Dim(1)
	rows := tensor.FromSlice(slices.Clone(x.Data()[:m*d]), m, d)
	v, err := PLStarModel(s.cfg.Model, rows, s.cfg.Loss.(*train.MSE[T]).Half)
	if err != nil {
		return nil, fmt.Errorf("landscape: PL*: %w", err)
	}
	return finitePtr(v), nil
}

// evaluate returns the loss (and, for a classification loss, the
// accuracy) on ds, or nil when there is nothing to evaluate or the model
// does not fit ds.
func (s *Study[T]) evaluate(ds *data.Dataset[T]) *EvalSummary {
	if ds == nil || ds.Len() == 0 {
		return nil
	}
	l, a, err := s.trainer.Evaluate(ds)
	if err != nil {
		return nil
	}
	e := &EvalSummary{Loss: finitePtr(l)}
	if s.cfg.Loss.Classification() {
		e.Accuracy = finitePtr(a)
	}
	return e
}
