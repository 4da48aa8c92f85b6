package ntk

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/internal/nilcheck"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// LazyConfig configures a LazyProbe.
type LazyConfig[T tensor.Float] struct {
	// Model is the network being trained. Any nn.Module mapping [n, d] to
	// [n, k] works; an *nn.MLP or *nn.Linear uses the structured NTK and
	// Linearize, other modules the Jacobian contraction and JVP.
	Model nn.Module[T]
	// Probe holds the fixed inputs X [n, d] every metric is measured on
	// (training or held-out points; a few hundred at most keeps a record
	// cheap, see LazyProbe).
	Probe *tensor.Tensor[T]
	// Every is the number of optimizer steps between records (OnStep
	// records at steps Every, 2 Every, ...). 0 records at the trainer's
	// own records instead (OnRecord: every Config.LogEvery steps, every
	// epoch end, and the end of the run).
	Every int
	// Out receives one JSON object per record (LazyRecord.MarshalJSON);
	// may be nil.
	Out io.Writer
	// Kernel configures the empirical NTK (traced or Full, parameter
	// subset, memory budget, method, parameter weights), as for
	// Empirical. A nil Kernel.ParamWeight selects LRWeights(Model): the
	// probe measures the learning-rate-weighted kernel sum_p s_p J_p
	// J_p^T that drives the outputs under the parameterization's
	// per-layer rates (see LRWeights); set ParamWeight to a function
	// returning 1 for the plain J J^T.
	Kernel Options
	// OutputScale divides the linearization gap in GapRelative; 0 selects
	// the root mean square of the outputs f(X; theta_0) on the probe set.
	OutputScale float64
	// Spectrum adds the smallest and largest eigenvalues of the traced
	// kernel Theta_t to every record (an O(n^3) eigendecomposition).
	Spectrum bool
	// Targets [n, k'], when set, adds the kernel-target alignment of
	// Theta_t with Targets (KernelAlignment) to every record. Needs a
	// traced kernel.
	Targets *tensor.Tensor[T]
}

// LazyRecord holds the lazy-training metrics of one point of a run,
// measured on the probe set X against the parameters theta_0 and the
// kernel Theta_0 of the model when the LazyProbe was created.
type LazyRecord struct {
	// Step is the number of optimizer steps taken (0 at creation), and
	// Epoch the trainer's epoch counter: train.Step.Epoch (0-based, the
	// epoch of that step) for records made by OnStep and Finish,
	// train.Record.Epoch for those made by OnRecord.
	Step, Epoch int
	// KernelDrift is ||Theta_t - Theta_0||_F / ||Theta_0||_F for the
	// empirical NTK on X (KernelDriftTensor), by default the
	// learning-rate-weighted one (LazyConfig.Kernel, LRWeights).
	KernelDrift float64
	// WeightChange is ||theta_t - theta_0||_2 / ||theta_0||_2 over all
	// parameters together, and Params the same per parameter tensor (a
	// Linear layer's weight and bias are separate entries), as
	// Snapshot.RelativeChange computes them. A parameter that starts at
	// zero and moves has relative change +Inf.
	WeightChange float64
	Params       []ParamChange
	// The linearization gap is the remainder of the first-order Taylor
	// model around theta_0 (Lee et al. 2019):
	//
	//	r_t = f(X; theta_t) - f_lin(X; theta_t),  f_lin(theta) = f(theta_0) + J(theta_0)(theta - theta_0)
	//
	// over the n k outputs, computed as (f(theta_t) - f(theta_0)) -
	// J(theta_0)(theta_t - theta_0) so that it is exactly 0 at theta_0.
	// GapRMS is sqrt(mean r^2), GapMax is max |r| and GapRelative is
	// GapRMS / LazyConfig.OutputScale (by default the RMS of f(X;
	// theta_0)).
	GapRMS, GapMax, GapRelative float64
	// LambdaMin and LambdaMax are the extreme eigenvalues of the traced
	// Theta_t (with LazyConfig.Spectrum), Alignment its kernel-target
	// alignment (with LazyConfig.Targets); nil otherwise.
	LambdaMin, LambdaMax *float64
	Alignment            *float64
}

// lazyJSON is the JSON form of a LazyRecord. JSON has no infinities, so a
// relative change of +Inf (a parameter that started at zero) is null.
type lazyJSON struct {
	Step         int         `json:"step"`
	Epoch        int         `json:"epoch"`
	KernelDrift  float64     `json:"kernel_drift"`
	WeightChange float64     `json:"weight_change"`
	Params       []paramJSON `json:"params"`
	GapRMS       float64     `json:"gap_rms"`
	GapMax       float64     `json:"gap_max"`
	GapRelative  float64     `json:"gap_relative"`
	LambdaMin    *float64    `json:"lambda_min,omitempty"`
	LambdaMax    *float64    `json:"lambda_max,omitempty"`
	Alignment    *float64    `json:"alignment,omitempty"`
}

type paramJSON struct {
	Name     string   `json:"name"`
	Abs      float64  `json:"abs"`
	Relative *float64 `json:"relative"` // null for +Inf
}

// MarshalJSON writes r as one object with the keys step, epoch,
// kernel_drift, weight_change, params (a list of {name, abs, relative}),
// gap_rms, gap_max, gap_relative and, when measured, lambda_min,
// lambda_max and alignment. A relative change of +Inf is written as null.
func (r LazyRecord) MarshalJSON() ([]byte, error) {
	j := lazyJSON{
		Step: r.Step, Epoch: r.Epoch, KernelDrift: r.KernelDrift, WeightChange: r.WeightChange,
		Params: make([]paramJSON, len(r.Params)),
		GapRMS: r.GapRMS, GapMax: r.GapMax, GapRelative: r.GapRelative,
		LambdaMin: r.LambdaMin, LambdaMax: r.LambdaMax, Alignment: r.Alignment,
	}
	for i, p := range r.Params {
		j.Params[i] = paramJSON{Name: p.Name, Abs: p.Abs}
		if !math.IsInf(p.Relative, 0) && !math.IsNaN(p.Relative) {
			rel := p.Relative
			j.Params[i].Relative = &rel
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes; a null relative change is
// read as +Inf.
func (r *LazyRecord) UnmarshalJSON(b []byte) error {
	var j lazyJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = LazyRecord{
		Step: j.Step, Epoch: j.Epoch, KernelDrift: j.KernelDrift, WeightChange: j.WeightChange,
		GapRMS: j.GapRMS, GapMax: j.GapMax, GapRelative: j.GapRelative,
		LambdaMin: j.LambdaMin, LambdaMax: j.LambdaMax, Alignment: j.Alignment,
	}
	if j.Params != nil {
		r.Params = make([]ParamChange, len(j.Params))
	}
	for i, p := range j.Params {
		r.Params[i] = ParamChange{Name: p.Name, Abs: p.Abs, Relative: math.Inf(1)}
		if p.Relative != nil {
			r.Params[i].Relative = *p.Relative
		}
	}
	return nil
}

// LazyProbe is a train.Callback that measures how far a run is from the
// kernel (lazy) regime (Jacot et al. 2018; Lee et al. 2019; Chizat, Oyallon
// and Bach 2019). NewLazyProbe keeps theta_0, the kernel Theta_0 = sum_p
// s_p J_p(X; theta_0) J_p(X; theta_0)^T (the learning-rate-weighted
// tangent kernel, LRWeights; J J^T when every multiplier s_p is 1, as
// under SP and NTK scaling) and the outputs f(X; theta_0) on the fixed
// probe set X, and writes the record of step 0 (all metrics exactly 0). Then,
// every Every optimizer steps (or at the trainer's records when Every is
// 0), it appends a LazyRecord: the relative kernel drift, the relative
// weight change overall and per parameter tensor, and the linearization
// gap (see LazyRecord), optionally the extreme eigenvalues of Theta_t and
// its alignment with targets, and writes it as a JSON line to Out. Finish
// adds the last step of a run that did not end on a multiple of Every.
//
// Cost of one record, for n probe points, k outputs and P parameters: one
// Jacobian of the probe set, in the form of its empirical NTK (Empirical:
// for an MLP or Linear the structured method, about k+1 forward passes of
// n points plus two n x n x width GEMMs per layer; for other modules the
// Jacobian contraction, n k backward passes), two forward passes and a
// Jacobian-vector product for the gap (forward mode for an MLP, a double
// backward pass otherwise), O(P) for the weights, O(n^2 k^2) for the drift
// and O(n^3) with Spectrum. Memory besides the kernel's scratch
// (Kernel.MemoryBudget): Theta_0 (n^2, or n^2 k^2 with Kernel.Full),
// f(X; theta_0), a copy of theta_0, and for an MLP or Linear its
// linearization (two more copies), otherwise two scratch copies during a
// record.
//
// The probe does not change the parameters or their gradients: for
// modules other than MLP and Linear it sets the parameters to theta_0 for
// the Jacobian-vector product and restores them bit for bit. Records carry
// the trainer's step count; create the probe before training starts, since
// theta_0 is the model at creation.
type LazyProbe[T tensor.Float] struct {
	cfg      LazyConfig[T]
	snap     *Snapshot[T]
	k0       *tensor.Tensor[T] // Theta_0
	f0       *tensor.Tensor[T] // f(X; theta_0)
	lin      *Linearized[T]    // MLP and Linear only
	flin0    *tensor.Tensor[T] // lin.Eval at theta_0
	targets  *mat.Dense
	sym      *mat.SymDense // Theta_t for Spectrum and Targets
	scale    float64
	records  []LazyRecord
	enc      *json.Encoder
	seenStep int // last step OnStep saw, and its epoch
	seenEp   int
	lastStep int // step of the last record
}

var _ train.Callback[float64] = (*LazyProbe[float64])(nil)

// NewLazyProbe validates cfg, measures theta_0, Theta_0 and f(X; theta_0),
// and records (and writes) step 0. Errors name the field at fault: a nil
// model, a probe set that is nil, empty or not [n, d] with the model's d,
// a module whose output on X is not [n, k], a zero initial kernel, zero
// parameters, zero outputs (set OutputScale), Spectrum or Targets with a
// full kernel, targets without n rows, or a failed write to Out.
func NewLazyProbe[T tensor.Float](cfg LazyConfig[T]) (*LazyProbe[T], error) {
	x := cfg.Probe
	switch {
	case nilcheck.Nil(cfg.Model):
		return nil, errors.New("ntk.LazyConfig.Model is nil")
	case x == nil:
		return nil, errors.New("ntk.LazyConfig.Probe is nil")
	case x.NDim() != 2:
		return nil, fmt.Errorf("ntk.LazyConfig.Probe has shape %v, want [n, d]", x.Shape())
	case x.Dim(0) == 0:
		return nil, fmt.Errorf("ntk.LazyConfig.Probe has shape %v: the probe set is empty", x.Shape())
	case cfg.Every < 0:
		return nil, fmt.Errorf("ntk.LazyConfig.Every = %d, want >= 0", cfg.Every)
	case !(cfg.OutputScale >= 0) || math.IsInf(cfg.OutputScale, 0):
		return nil, fmt.Errorf("ntk.LazyConfig.OutputScale = %v, want finite and >= 0", cfg.OutputScale)
	case cfg.Kernel.Full && (cfg.Spectrum || cfg.Targets != nil):
		return nil, errors.New("ntk.LazyConfig: Spectrum and Targets need a traced kernel (Kernel.Full is set)")
	}
	n := x.Dim(0)
	if net, ok := denseOf(cfg.Model); ok && net.in() != x.Dim(1) {
		return nil, fmt.Errorf("ntk.LazyConfig.Probe has shape %v, the model takes %d inputs", x.Shape(), net.in())
	}
	if cfg.Kernel.ParamWeight == nil {
		cfg.Kernel.ParamWeight = LRWeights(cfg.Model)
	}
	p := &LazyProbe[T]{cfg: cfg}
	var err error
	if p.f0, err = outputs(cfg.Model, x); err != nil {
		return nil, fmt.Errorf("ntk.LazyConfig.Model is not supported: %w", err)
	}
	if y := cfg.Targets; y != nil {
		if y.NDim() != 2 || y.Dim(0) != n || y.Dim(1) == 0 {
			return nil, fmt.Errorf("ntk.LazyConfig.Targets has shape %v, want [%d, k]", y.Shape(), n)
		}
		p.targets = mat.NewDense(n, y.Dim(1), nil)
		for i, v := range y.Data() {
			p.targets.Set(i/y.Dim(1), i%y.Dim(1), float64(v))
		}
	}
	p.snap = TakeSnapshot(cfg.Model)
	var norm2 float64
	for _, v := range p.snap.values {
		for _, e := range v.Data() {
			norm2 += float64(e) * float64(e)
		}
	}
	if norm2 == 0 {
		return nil, errors.New("ntk.LazyConfig.Model: all parameters are zero, so the relative weight change is undefined")
	}
	if p.k0, err = Empirical(cfg.Model, x, nil, cfg.Kernel); err != nil {
		return nil, fmt.Errorf("ntk.LazyConfig: initial kernel: %w", err)
	}
	if _, err := KernelDriftTensor(p.k0, p.k0); err != nil {
		return nil, fmt.Errorf("ntk.LazyConfig: initial kernel on the probe set: %w", err)
	}
	if _, ok := denseOf(cfg.Model); ok {
		if p.lin, err = Linearize(cfg.Model); err != nil {
			return nil, err
		}
		if p.flin0, err = p.lin.Eval(x, nil); err != nil {
			return nil, err
		}
	}
	p.scale = cfg.OutputScale
	if p.scale == 0 {
		var s float64
		for _, v := range p.f0.Data() {
			s += float64(v) * float64(v)
		}
		p.scale = math.Sqrt(s / float64(p.f0.Len()))
		if p.scale == 0 || math.IsInf(p.scale, 0) {
			return nil, fmt.Errorf("ntk.LazyConfig.OutputScale: the outputs at theta_0 have RMS %v on the probe set; set OutputScale", p.scale)
		}
	}
	if cfg.Out != nil {
		p.enc = json.NewEncoder(cfg.Out)
	}
	if _, err := p.measure(0, 0, p.k0); err != nil {
		return nil, err
	}
	return p, nil
}

// outputs returns m(x) [n, k] without recording gradients; a panic of the
// module on x (an input shape it rejects) becomes an error.
func outputs[T tensor.Float](m nn.Module[T], x *tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	var f *tensor.Tensor[T]
	err := catchShape(func() {
		t := autograd.NewTape[T]()
		t.SetGradEnabled(false)
		f = m.Forward(t, t.Const(x)).Value().Clone()
	})
	if err != nil {
		return nil, fmt.Errorf("it rejects inputs of shape %v: %v", x.Shape(), err)
	}
	if f.NDim() != 2 || f.Dim(0) != x.Dim(0) {
		return nil, fmt.Errorf("it maps inputs of shape %v to %v, want [%d, k]", x.Shape(), f.Shape(), x.Dim(0))
	}
	for _, v := range f.Data() {
		if fv := float64(v); math.IsNaN(fv) || math.IsInf(fv, 0) {
			return nil, fmt.Errorf("its outputs on the probe set are not finite (%v)", fv)
		}
	}
	return f, nil
}

// Records returns the records so far, the first one at step 0. The slice
// is the probe's own; do not modify it.
func (p *LazyProbe[T]) Records() []LazyRecord { return p.records }

// OnStep implements train.Callback: with Every > 0 it records at every
// multiple of Every. An error (a diverged model whose kernel is not finite,
// parameters that no longer match theta_0, a failed write) stops the run
// with that error.
func (p *LazyProbe[T]) OnStep(s *train.Step[T]) error {
	p.seenStep, p.seenEp = s.Step, s.Epoch
	if p.cfg.Every > 0 && s.Step%p.cfg.Every == 0 {
		_, err := p.measure(s.Step, s.Epoch, nil)
		return err
	}
	return nil
}

// OnRecord implements train.Callback: with Every = 0 it records at each of
// the trainer's records (labelled with the record's step and epoch), which
// include the end of the run.
func (p *LazyProbe[T]) OnRecord(r *train.Record) error {
	if p.cfg.Every == 0 && r.Step != p.lastStep {
		_, err := p.measure(r.Step, r.Epoch, nil)
		return err
	}
	return nil
}

// Finish records the last step OnStep saw unless it is already recorded
// (the trainer has no end-of-run hook besides its final record): call it
// after Trainer.Run when Every > 0 so the end of the run is included. It
// is a no-op when called again.
func (p *LazyProbe[T]) Finish() error {
	if p.seenStep == p.lastStep {
		return nil
	}
	_, err := p.measure(p.seenStep, p.seenEp, nil)
	return err
}

// Measure records the metrics at the model's current parameters, labelled
// with step and epoch, for use outside a train.Trainer (a hand-written
// loop). The record is appended to Records and written to Out.
func (p *LazyProbe[T]) Measure(step, epoch int) (LazyRecord, error) {
	return p.measure(step, epoch, nil)
}

// measure computes a record; kt is Theta_t if already known.
func (p *LazyProbe[T]) measure(step, epoch int, kt *tensor.Tensor[T]) (LazyRecord, error) {
	m, x := p.cfg.Model, p.cfg.Probe
	r := LazyRecord{Step: step, Epoch: epoch}
	fail := func(err error) (LazyRecord, error) {
		return r, fmt.Errorf("ntk.LazyProbe at step %d: %w", step, err)
	}
	var err error
	if r.Params, r.WeightChange, err = p.snap.RelativeChange(m); err != nil {
		return fail(err)
	}
	if kt == nil {
		if kt, err = Empirical(m, x, nil, p.cfg.Kernel); err != nil {
			return fail(err)
		}
	}
	if r.KernelDrift, err = KernelDriftTensor(p.k0, kt); err != nil {
		return fail(err)
	}
	f, err := outputs(m, x)
	if err != nil {
		return fail(fmt.Errorf("model outputs: %w", err))
	}
	lin, err := p.linearTerm()
	if err != nil {
		return fail(err)
	}
	// r_t = (f_t - f_0) - J_0 (theta_t - theta_0): equal to f_t - f_lin_t,
	// and exactly 0 at theta_0 although Forward and the linearization
	// evaluate f(theta_0) with different rounding.
	var ss float64
	f0 := p.f0.Data()
	for i, v := range f.Data() {
		d := (float64(v) - float64(f0[i])) - float64(lin.Data()[i])
		ss += d * d
		r.GapMax = max(r.GapMax, math.Abs(d))
	}
	r.GapRMS = math.Sqrt(ss / float64(f.Len()))
	r.GapRelative = r.GapRMS / p.scale
	if math.IsNaN(r.GapRMS) || math.IsInf(r.GapRMS, 0) {
		return fail(errors.New("linearization gap is not finite"))
	}
	if p.cfg.Spectrum || p.targets != nil {
		n := kt.Dim(0)
		// A view of kt in float64; in float32, one conversion into a
		// buffer reused from record to record.
		p.sym = symOf(p.sym, kt)
		k := p.sym
		if p.cfg.Spectrum {
			ev, err := Spectrum(k)
			if err != nil {
				return fail(err)
			}
			r.LambdaMin, r.LambdaMax = &ev[0], &ev[n-1]
		}
		if p.targets != nil {
			a, err := KernelAlignment(k, p.targets)
			if err != nil {
				return fail(err)
			}
			r.Alignment = &a
		}
	}
	p.records = append(p.records, r)
	p.lastStep = step
	if p.enc != nil {
		if err := p.enc.Encode(r); err != nil {
			return fail(fmt.Errorf("writing the record: %w", err))
		}
	}
	return r, nil
}

// linearTerm returns J(X; theta_0) (theta_t - theta_0) [n, k]: for an MLP
// or Linear f_lin(theta_t) - f_lin(theta_0) from Linearized.Eval; for
// other modules JVP at theta_0, with the module's parameters set to theta_0
// for the call and restored afterwards. The snapshot's names and shapes
// have been checked by RelativeChange.
func (p *LazyProbe[T]) linearTerm() (*tensor.Tensor[T], error) {
	m, x := p.cfg.Model, p.cfg.Probe
	if p.lin != nil {
		fl, err := p.lin.Eval(x, m.Params())
		if err != nil {
			return nil, err
		}
		return tensor.SubInto(fl, fl, p.flin0), nil
	}
	ps := m.Params()
	cur := make([]*tensor.Tensor[T], len(ps))
	u := make([]*tensor.Tensor[T], len(ps))
	for i, q := range ps {
		cur[i] = q.Value.Clone()
		u[i] = tensor.Sub(q.Value, p.snap.values[i])
	}
	defer func() {
		for i, q := range ps {
			q.Value.CopyFrom(cur[i])
		}
	}()
	for i, q := range ps {
		q.Value.CopyFrom(p.snap.values[i])
	}
	var jv *tensor.Tensor[T]
	var err error
	if perr := catchShape(func() { jv, err = JVP(m, x, u) }); perr != nil {
		return nil, fmt.Errorf("Jacobian-vector product: %w", perr)
	}
	return jv, err
}
