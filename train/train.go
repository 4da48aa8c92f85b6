package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/internal/nilcheck"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
)

// Eval is a dataset evaluated (full pass, no gradients) at every record.
type Eval[T tensor.Float] struct {
	Name string
	Data *data.Dataset[T]
}

// EarlyStop ends training when Metric (an evaluation loss, "<eval>.loss",
// or accuracy, "<eval>.accuracy") has not improved by more than MinDelta
// for Patience consecutive records.
type EarlyStop struct {
	Metric   string
	Patience int
	MinDelta float64
}

// Config is everything a training run needs.
type Config[T tensor.Float] struct {
	Model     nn.Module[T]
	Loss      Loss[T]
	Optimizer optim.Optimizer[T]
	// Schedule scales every group's base learning rate (the rate the
	// optimizer was built with) by Factor(step). Nil means constant.
	Schedule optim.Schedule
	Train    *data.Loader[T]
	// Evals are evaluated at every record. With an optimizer that
	// averages its iterates (optim.Averaged, Spec.Average), each is also
	// evaluated at the averaged parameters once some are averaged, and
	// recorded as "<name>@avg".
	Evals []Eval[T]
	// EvalBatch is the batch size of evaluation passes (default 1024).
	EvalBatch int
	// Epochs and Steps bound the run; whichever is reached first ends it.
	// At least one must be positive.
	Epochs, Steps int
	// LogEvery is the number of steps between records; 0 records once per
	// epoch only.
	LogEvery int
	// Metrics receives one JSON object per record; may be nil.
	Metrics io.Writer
	// Callbacks run after every step and at every record, in order.
	Callbacks []Callback[T]
	EarlyStop *EarlyStop
	// ClipNorm > 0 rescales the gradient to at most this global norm.
	ClipNorm float64
	// MaxLossRatio > 0 stops the run as diverged when a step's loss
	// exceeds MaxLossRatio times the first step's (StepConfig.MaxLossRatio).
	MaxLossRatio float64
	// Checkpoint, when non-empty, is the file a checkpoint is written to
	// every CheckpointEvery steps (if > 0), at the end of every epoch, and
	// when the run ends or is cancelled.
	// When the run diverges, the state before the diverged step goes to
	// LastFiniteCheckpoint(Checkpoint) instead, and Checkpoint is left as
	// it was.
	Checkpoint      string
	CheckpointEvery int
}

// Record is one line of metrics.
type Record struct {
	Step          int                           `json:"step"`
	Epoch         int                           `json:"epoch"`
	Loss          float64                       `json:"loss"`
	Accuracy      *float64                      `json:"accuracy,omitempty"`
	GradNorm      float64                       `json:"grad_norm"`
	LR            float64                       `json:"lr"`
	SamplesPerSec float64                       `json:"samples_per_sec"`
	Time          float64                       `json:"time"`
	Evals         map[string]map[string]float64 `json:"eval,omitempty"`
}

// Step is what a callback sees after every optimizer step.
type Step[T tensor.Float] struct {
	Step, Epoch int
	Loss        float64
	GradNorm    float64
	LR          float64
	Batch       *data.Batch[T]
	Output      *autograd.Var[T]
}

// Callback observes the run (probes for NTK, landscape, mean-field
// metrics). A returned error stops the run with that error; ErrStop stops
// it cleanly.
type Callback[T tensor.Float] interface {
	OnStep(s *Step[T]) error
	//
	// The record belongs to the trainer and is reused (so that a record
	// costs no allocation): keep copies of its values, not the pointer
	// or r.Accuracy.
	OnRecord(r *Record) error
}

// ErrStop, returned by a callback, ends the run without error.
var ErrStop = errors.New("train: stop requested")

// Result summarises a finished run.
type Result struct {
	Steps, Epochs int
	Last          Record
	Stopped       string // "steps", "epochs", "early_stop", "callback", "cancelled", "diverged", "error"
}

// Trainer runs a Config.
type Trainer[T tensor.Float] struct {
	cfg    Config[T]
	params []*nn.Param[T]
	// st runs every step; its count is the run's step number.
	st    *Stepper[T]
	tape  *autograd.Tape[T]
	epoch int
	// running sums since the last record
	sumLoss            float64
	sumCorrect, sumN   int
	stepsSinceRecord   int
	lastGradNorm, lr   float64
	start, recordStart time.Time
	elapsed            float64 // seconds of earlier sessions (resume)
	best               float64
	bad                int
	last, rec          Record
	recAcc             float64 // rec.Accuracy points here
	// evalLoaders keeps one loader per evaluated dataset, so that an
	// evaluation every epoch does not allocate a batch (3 MB for 1000
	// MNIST images) each time.
	evalLoaders map[*data.Dataset[T]]*data.Loader[T]
}

// New validates cfg and returns a Trainer positioned at step 0. Besides
// the fields themselves it checks that the model and loss fit the data: it
// runs the model and the loss on one example of the batch Train delivers
// next (putting the loader back where it was) and of every Eval dataset,
// and returns an error naming the dataset and the shapes when the loss
// lacks its targets (class labels for CrossEntropy, real targets Y for
// MSE), the model does not take the data's width, or its output does not
// match the targets (a width other than Y's, fewer outputs than classes).
// Labels of later training batches are checked at every step.
func New[T tensor.Float](cfg Config[T]) (*Trainer[T], error) {
	switch {
	case nilcheck.Nil(cfg.Model):
		return nil, errors.New("train: Config.Model is nil")
	case nilcheck.Nil(cfg.Loss):
		return nil, errors.New("train: Config.Loss is nil")
	case nilcheck.Nil(cfg.Optimizer):
		return nil, errors.New("train: Config.Optimizer is nil")
	case cfg.Train == nil:
		return nil, errors.New("train: Config.Train is nil")
	case cfg.Epochs <= 0 && cfg.Steps <= 0:
		return nil, fmt.Errorf("train: Epochs (%d) or Steps (%d) must be positive", cfg.Epochs, cfg.Steps)
	case cfg.LogEvery < 0 || cfg.CheckpointEvery < 0 || cfg.ClipNorm < 0 || cfg.EvalBatch < 0:
		return nil, errors.New("train: LogEvery, CheckpointEvery, ClipNorm and EvalBatch must not be negative")
	}
	st, err := newStepper(StepConfig[T]{Model: cfg.Model, Loss: cfg.Loss, Optimizer: cfg.Optimizer, Schedule: cfg.Schedule, ClipNorm: cfg.ClipNorm, MaxLossRatio: cfg.MaxLossRatio}, "Config")
	if err != nil {
		return nil, err
	}
	st.source = "Config.Train"
	if es := cfg.EarlyStop; es != nil {
		if es.Patience <= 0 {
			return nil, fmt.Errorf("train: EarlyStop.Patience = %d, want > 0", es.Patience)
		}
		if _, _, err := splitMetric(es.Metric, cfg.Evals); err != nil {
			return nil, err
		}
	}
	if cfg.EvalBatch == 0 {
		cfg.EvalBatch = 1024
	}
	if err := checkData(&cfg); err != nil {
		return nil, err
	}
	tr := &Trainer[T]{cfg: cfg, params: st.params, st: st, tape: st.tape}
	tr.best = math.NaN()
	return tr, nil
}

func splitMetric[T tensor.Float](m string, evals []Eval[T]) (name, field string, err error) {
	for _, e := range evals {
		for _, f := range []string{"loss", "accuracy"} {
			if m == e.Name+"."+f {
				return e.Name, f, nil
			}
		}
	}
	return "", "", fmt.Errorf("train: EarlyStop.Metric %q is not <eval name>.loss or <eval name>.accuracy of a configured Eval", m)
}

// StepCount returns the number of optimizer steps taken.
func (tr *Trainer[T]) StepCount() int { return tr.st.count }

// Stepper returns the trainer's training step.
func (tr *Trainer[T]) Stepper() *Stepper[T] { return tr.st }

// EpochCount returns the current epoch (0-based).
func (tr *Trainer[T]) EpochCount() int { return tr.epoch }

// Run trains until the step or epoch budget is reached, early stopping
// fires, a callback stops it, or ctx is cancelled. On cancellation it writes
// a final checkpoint (when configured) and returns ctx's error.
func (tr *Trainer[T]) Run(ctx context.Context) (Result, error) {
	cfg := &tr.cfg
	tr.start = time.Now()
	tr.recordStart = tr.start
	for {
		switch {
		case cfg.Epochs > 0 && tr.epoch >= cfg.Epochs:
			return tr.finish("epochs", nil)
		case cfg.Steps > 0 && tr.st.count >= cfg.Steps:
			return tr.finish("steps", nil)
		case ctx.Err() != nil:
			return tr.finish("cancelled", ctx.Err())
		}
		before := cfg.Train.State()
		var why string
		var err error
		if cfg.Train.Next() {
			why, err = tr.step(cfg.Train.Batch(), before)
		} else {
			why, err = tr.endEpoch()
		}
		if why != "" {
			return tr.finish(why, err)
		}
	}
}

// step runs one step on b (which the loader delivered from position
// before) with its record and checkpoint; a non-empty why ends the run.
func (tr *Trainer[T]) step(b *data.Batch[T], before data.LoaderState) (why string, err error) {
	cfg := &tr.cfg
	if err := tr.trainStep(b); err != nil {
		var div *DivergenceError
		switch {
		case errors.Is(err, ErrStop):
			return "callback", nil
		case errors.As(err, &div):
			if cfg.Checkpoint != "" {
				err = tr.saveLastFinite(div, before)
			}
			return "diverged", err
		}
		return "error", err
	}
	if cfg.LogEvery > 0 && tr.st.count%cfg.LogEvery == 0 {
		if why, err := tr.recordOrStop(); why != "" {
			return why, err
		}
	}
	if cfg.Checkpoint != "" && cfg.CheckpointEvery > 0 && tr.st.count%cfg.CheckpointEvery == 0 {
		if err := tr.SaveCheckpoint(cfg.Checkpoint); err != nil {
			return "error", err
		}
	}
	return "", nil
}

// endEpoch counts the epoch the loader just finished, records it (unless a
// LogEvery record just covered the same steps) and checkpoints.
func (tr *Trainer[T]) endEpoch() (why string, err error) {
	tr.epoch++
	if tr.stepsSinceRecord > 0 {
		if why, err := tr.recordOrStop(); why != "" {
			return why, err
		}
	}
	if tr.cfg.Checkpoint != "" {
		if err := tr.SaveCheckpoint(tr.cfg.Checkpoint); err != nil {
			return "error", err
		}
	}
	return "", nil
}

// recordOrStop writes a record; a non-empty why ends the run (early
// stopping or a callback's ErrStop without error, else the error).
func (tr *Trainer[T]) recordOrStop() (why string, err error) {
	if err := tr.record(); err != nil {
		if errors.Is(err, ErrStop) {
			return tr.stopReason(), nil
		}
		return "error", err
	}
	return "", nil
}

// finish ends a run: the record of the steps since the last one (also for
// a diverged run, so that its metrics show the climb), the final
// checkpoint (not for a diverged run or an error) and the Result.
func (tr *Trainer[T]) finish(why string, err error) (Result, error) {
	cfg := &tr.cfg
	var div *DivergenceError
	if tr.stepsSinceRecord > 0 && (err == nil || errors.As(err, &div)) {
		if rerr := tr.record(); rerr != nil && !errors.Is(rerr, ErrStop) && err == nil {
			err = rerr
		}
	}
	if cfg.Checkpoint != "" && (err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		if cerr := tr.SaveCheckpoint(cfg.Checkpoint); cerr != nil && err == nil {
			err = cerr
		}
	}
	res := Result{Steps: tr.st.count, Epochs: tr.epoch, Last: tr.last, Stopped: why}
	if a := res.Last.Accuracy; a != nil {
		acc := *a // the trainer's slot is overwritten by the next record
		res.Last.Accuracy = &acc
	}
	return res, err
}

func (tr *Trainer[T]) stopReason() string {
	if tr.cfg.EarlyStop != nil && tr.bad >= tr.cfg.EarlyStop.Patience {
		return "early_stop"
	}
	return "callback"
}

// DivergenceError reports a non-finite loss or gradient.
type DivergenceError struct {
	Step  int
	What  string // "loss", "gradient norm" or "loss explosion"
	Value float64
	// Initial is the first loss of the run's session (for a loss
	// explosion: Value exceeded Initial * StepConfig.MaxLossRatio).
	Initial float64
	// Checkpoint, if not empty, is the file holding the state before the
	// diverged step (parameters, optimizer, loader positioned at the
	// diverged step's batch): a Trainer that resumes from it with a
	// smaller learning rate retries that step.
	Checkpoint string
}

// Error implements error.
func (e *DivergenceError) Error() string {
	var what string
	if e.What == "loss explosion" {
		what = fmt.Sprintf("the loss %.4g is over %.4g times the first loss %.4g", e.Value, e.Value/e.Initial, e.Initial)
	} else {
		what = fmt.Sprintf("%s is %v", e.What, e.Value)
	}
	if e.Checkpoint != "" {
		return fmt.Sprintf("train: diverged at step %d: %s; the last finite state (after step %d) is in %s", e.Step, what, e.Step-1, e.Checkpoint)
	}
	return fmt.Sprintf("train: diverged at step %d: %s (parameters keep their values from before this step)", e.Step, what)
}

// LastFiniteCheckpoint is the file a Trainer writes the state before a
// diverged step to: the checkpoint's name with ".last-finite" before its
// extension. The regular checkpoint is left as it was.
func LastFiniteCheckpoint(checkpoint string) string {
	ext := filepath.Ext(checkpoint)
	return strings.TrimSuffix(checkpoint, ext) + ".last-finite" + ext
}

// saveLastFinite writes the state before the diverged step div, with the
// loader back at before (the position that delivers the step's batch), to
// LastFiniteCheckpoint, and records the file in div.
func (tr *Trainer[T]) saveLastFinite(div *DivergenceError, before data.LoaderState) error {
	ld := tr.cfg.Train
	after := ld.State()
	if err := ld.Restore(before); err != nil {
		return err
	}
	path := LastFiniteCheckpoint(tr.cfg.Checkpoint)
	err := tr.SaveCheckpoint(path)
	if rerr := ld.Restore(after); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("%w (and saving the last finite state failed: %v)", div, err)
	}
	div.Checkpoint = path
	return div
}

// trainStep runs the stepper on b and accumulates the metrics of the next
// record.
func (tr *Trainer[T]) trainStep(b *data.Batch[T]) error {
	cfg := &tr.cfg
	s, err := tr.st.Step(b)
	if err != nil {
		return err
	}
	s.Epoch = tr.epoch
	tr.lastGradNorm, tr.lr = s.GradNorm, s.LR
	tr.sumLoss += s.Loss * float64(b.Size())
	tr.sumN += b.Size()
	if cfg.Loss.Classification() && b.Labels != nil {
		tr.sumCorrect += correct(s.Output.Value(), b.Labels)
	}
	tr.stepsSinceRecord++
	for _, c := range cfg.Callbacks {
		if err := c.OnStep(s); err != nil {
			return err
		}
	}
	return nil
}

// record writes a metrics record, evaluates, and applies early stopping.
func (tr *Trainer[T]) record() error {
	cfg := &tr.cfg
	now := time.Now()
	// The record lives in the trainer: callbacks receive a pointer to it,
	// and a local would escape and cost an allocation per record (per
	// step in full-batch runs).
	r := &tr.rec
	*r = Record{Step: tr.st.count, Epoch: tr.epoch, GradNorm: tr.lastGradNorm, LR: tr.lr}
	if tr.sumN > 0 {
		r.Loss = tr.sumLoss / float64(tr.sumN)
		if cfg.Loss.Classification() {
			tr.recAcc = float64(tr.sumCorrect) / float64(tr.sumN)
			r.Accuracy = &tr.recAcc
		}
		if dt := now.Sub(tr.recordStart).Seconds(); dt > 0 {
			r.SamplesPerSec = float64(tr.sumN) / dt
		}
	} else {
		r.Loss = math.NaN()
	}
	r.Time = tr.elapsed + now.Sub(tr.start).Seconds()
	if len(cfg.Evals) > 0 {
		r.Evals = make(map[string]map[string]float64, len(cfg.Evals))
		for _, e := range cfg.Evals {
			loss, acc, err := tr.Evaluate(e.Data)
			if err != nil {
				return fmt.Errorf("train: evaluating %q: %w", e.Name, err)
			}
			m := map[string]float64{"loss": loss}
			if cfg.Loss.Classification() {
				m["accuracy"] = acc
			}
			r.Evals[e.Name] = m
		}
		if err := tr.evaluateAverage(r); err != nil {
			return err
		}
	}
	tr.sumLoss, tr.sumCorrect, tr.sumN, tr.stepsSinceRecord = 0, 0, 0, 0
	tr.last = *r
	if cfg.Metrics != nil {
		if err := writeRecord(cfg.Metrics, r); err != nil {
			return fmt.Errorf("train: writing metrics: %w", err)
		}
	}
	for _, c := range cfg.Callbacks {
		if err := c.OnRecord(r); err != nil {
			return err
		}
	}
	tr.recordStart = time.Now() // evaluation time does not count against throughput
	if es := cfg.EarlyStop; es != nil && r.Evals != nil {
		name, field, _ := splitMetric(es.Metric, cfg.Evals)
		v := r.Evals[name][field]
		if field == "loss" {
			v = -v // larger is better below
		}
		if math.IsNaN(tr.best) || v > tr.best+es.MinDelta {
			tr.best, tr.bad = v, 0
		} else if tr.bad++; tr.bad >= es.Patience {
			return ErrStop
		}
	}
	return nil
}

// writeRecord writes r as one JSON line; NaN and Inf (which JSON cannot
// hold: a record of diverged parameters evaluates to NaN) are written as
// null.
func writeRecord(w io.Writer, r *Record) error {
	type alias Record
	b, err := json.Marshal((*alias)(r))
	if err != nil {
		b, err = json.Marshal(nullable(r))
		if err != nil {
			return err
		}
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// recordJSON is Record with every number that can be non-finite a pointer,
// nil (null) for NaN and Inf.
type recordJSON struct {
	Step          int                            `json:"step"`
	Epoch         int                            `json:"epoch"`
	Loss          *float64                       `json:"loss"`
	Accuracy      *float64                       `json:"accuracy,omitempty"`
	GradNorm      *float64                       `json:"grad_norm"`
	LR            *float64                       `json:"lr"`
	SamplesPerSec *float64                       `json:"samples_per_sec"`
	Time          *float64                       `json:"time"`
	Evals         map[string]map[string]*float64 `json:"eval,omitempty"`
}

func nullable(r *Record) recordJSON {
	f := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	out := recordJSON{Step: r.Step, Epoch: r.Epoch, Loss: f(r.Loss), GradNorm: f(r.GradNorm), LR: f(r.LR),
		SamplesPerSec: f(r.SamplesPerSec), Time: f(r.Time)}
	if r.Accuracy != nil {
		out.Accuracy = f(*r.Accuracy)
	}
	if r.Evals != nil {
		out.Evals = make(map[string]map[string]*float64, len(r.Evals))
		for name, m := range r.Evals {
			out.Evals[name] = make(map[string]*float64, len(m))
			for k, v := range m {
				out.Evals[name][k] = f(v)
			}
		}
	}
	return out
}

// Evaluate returns the mean loss and the accuracy (0 unless the loss is a
// classification loss) of the model on ds, in batches of EvalBatch without
// recording gradients. A dataset the model and loss do not fit (checked as
// in New, on its first use) gives an error naming the shapes.
func (tr *Trainer[T]) Evaluate(ds *data.Dataset[T]) (loss, acc float64, err error) {
	ld := tr.evalLoaders[ds]
	if ld == nil {
		if err := checkDataset(tr.cfg.Model, tr.cfg.Loss, "the dataset", ds); err != nil {
			return 0, 0, fmt.Errorf("train: %w", err)
		}
		if ld, err = evalLoader(tr.cfg.Loss, ds, tr.cfg.EvalBatch); err != nil {
			return 0, 0, err
		}
		if tr.evalLoaders == nil {
			tr.evalLoaders = make(map[*data.Dataset[T]]*data.Loader[T])
		}
		tr.evalLoaders[ds] = ld
	}
	return evaluate(tr.cfg.Model, tr.cfg.Loss, ld, tr.tape)
}

// Evaluate computes the mean loss and accuracy of model on ds in batches
// of batch rows, with gradients off. tape may be nil (a new one is made).
// Each call builds its own batch buffer (batch rows of ds); to evaluate the
// same dataset repeatedly without allocating, use Trainer.Evaluate, which
// keeps one loader per dataset. A dataset the model and loss do not fit
// (checked as in New) gives an error naming the shapes.
func Evaluate[T tensor.Float](model nn.Module[T], loss Loss[T], ds *data.Dataset[T], batch int, tape *autograd.Tape[T]) (float64, float64, error) {
	switch {
	case nilcheck.Nil(model):
		return 0, 0, errors.New("train.Evaluate: the model is nil")
	case nilcheck.Nil(loss):
		return 0, 0, errors.New("train.Evaluate: the loss is nil")
	}
	if err := checkDataset(model, loss, "the dataset", ds); err != nil {
		return 0, 0, fmt.Errorf("train: %w", err)
	}
	if tape == nil {
		tape = autograd.NewTape[T]()
	}
	ld, err := evalLoader(loss, ds, batch)
	if err != nil {
		return 0, 0, err
	}
	return evaluate(model, loss, ld, tape)
}

// evalLoader returns an unshuffled loader over ds in batches of batch rows
// (1024 when batch <= 0).
func evalLoader[T tensor.Float](loss Loss[T], ds *data.Dataset[T], batch int) (*data.Loader[T], error) {
	if batch <= 0 {
		batch = 1024
	}
	return data.NewLoader(ds, data.LoaderConfig{BatchSize: batch, OneHot: needsOneHot(loss, ds)})
}

// evaluate runs one epoch of ld from its start.
func evaluate[T tensor.Float](model nn.Module[T], loss Loss[T], ld *data.Loader[T], tape *autograd.Tape[T]) (float64, float64, error) {
	if st := ld.State(); st.Offset != 0 {
		// An earlier evaluation stopped inside an epoch (a panic in the
		// model): start the next epoch at its beginning.
		st.Epoch, st.Offset = st.Epoch+1, 0
		if err := ld.Restore(st); err != nil {
			return 0, 0, err
		}
	}
	prev := tape.SetGradEnabled(false)
	defer tape.SetGradEnabled(prev)
	// Evaluate as torch's model.eval() would: BatchNorm with its running
	// statistics (left unchanged), Dropout off; then back to the mode the
	// model was in.
	was := nn.SetTraining(model, false)
	defer nn.SetTraining(model, was)
	var sum float64
	var n, ok int
	for ld.Next() {
		b := ld.Batch()
		tape.Reset()
		out := model.Forward(tape, tape.Const(b.X))
		l := float64(loss.Eval(out, b).Item())
		sum += l * float64(b.Size())
		n += b.Size()
		if loss.Classification() && b.Labels != nil {
			ok += correct(out.Value(), b.Labels)
		}
	}
	tape.Reset()
	if n == 0 {
		return 0, 0, errors.New("empty dataset")
	}
	return sum / float64(n), float64(ok) / float64(n), nil
}

// needsOneHot: an MSE loss on a labelled dataset without Y trains on
// one-hot targets.
func needsOneHot[T tensor.Float](loss Loss[T], ds *data.Dataset[T]) bool {
	_, isMSE := loss.(*MSE[T])
	return isMSE && ds.Y == nil && ds.Labels != nil
}

// averager is the part of optim.Averaged the trainer uses.
type averager interface {
	Count() int64
	SwapIn()
	SwapOut()
}

// evaluateAverage adds, when the optimizer averages its iterates and has
// averaged some, the evaluations at the averaged parameters to r, named
// "<eval>@avg".
func (tr *Trainer[T]) evaluateAverage(r *Record) error {
	av, ok := tr.cfg.Optimizer.(averager)
	if !ok || av.Count() == 0 {
		return nil
	}
	av.SwapIn()
	defer av.SwapOut()
	for _, e := range tr.cfg.Evals {
		loss, acc, err := tr.Evaluate(e.Data)
		if err != nil {
			return fmt.Errorf("train: evaluating %q at the averaged parameters: %w", e.Name, err)
		}
		m := map[string]float64{"loss": loss}
		if tr.cfg.Loss.Classification() {
			m["accuracy"] = acc
		}
		r.Evals[e.Name+"@avg"] = m
	}
	return nil
}
