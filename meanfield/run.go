package meanfield

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// RunConfig describes one training run of a two-layer network by full-batch
// gradient descent (or Adam) on the half mean squared error
// 0.5 mean((f(x) - y)^2) of a fixed training set.
type RunConfig struct {
	Net  Config `json:"net"`
	Seed uint64 `json:"seed"` // initialization: PCG(Seed, Seed)
	// LR is the base learning rate eta; each parameter's rate is eta times
	// Config.LRScale(), which makes eta width-independent.
	LR    float64 `json:"lr"`
	Steps int     `json:"steps"`
	// Every is the number of steps between records (default 1); step 0
	// and the last step are always recorded.
	Every int `json:"every,omitempty"`
	// Optimizer is "sgd" (default) or "adam" (torch's defaults but LR);
	// "adam" requires Net.AdaptiveLR.
	Optimizer string `json:"optimizer,omitempty"`
	// NoKernel skips the kernel, whose cost is O(n^2 m) per record.
	NoKernel bool `json:"no_kernel,omitempty"`
}

// Record holds the measurements of a run at one step, taken at the
// parameters before that step's update (step 0 is the initialization).
type Record struct {
	Step int     `json:"step"`
	Loss float64 `json:"loss"` // 0.5 mean((f - y)^2) on the training set
	// OutputRMS is sqrt(mean f(x)^2) over the training set: Theta(m^-1/2)
	// at initialization in mean field, Theta(1) under NTK scaling.
	OutputRMS float64 `json:"output_rms"`
	// WeightChange is ||theta_t - theta_0|| / ||theta_0|| over all
	// parameters.
	WeightChange float64 `json:"weight_change"`
	// Displacement is (1/m) sum_i ||theta_i(t) - theta_i(0)|| over the
	// neurons.
	Displacement float64 `json:"displacement"`
	// KernelDrift is ||Theta_t - Theta_0||_F / ||Theta_0||_F on the
	// training inputs (0 with NoKernel).
	KernelDrift float64 `json:"kernel_drift"`
	// Time is Step * LR, the time t = k eta of the gradient flow the
	// steps discretize (package documentation, "Energy and dissipation").
	Time float64 `json:"time"`
	// Dissipation is D = sum_p LRScale_p |dL/dp|^2 at the record's
	// parameters, the rate -dL/dt at which the loss (the energy) decreases
	// along the flow dp/dt = -LRScale_p dL/dp; equally (1/m) sum_i
	// |grad_theta Psi(theta_i)|^2 with Psi the first variation of the
	// energy. It is that rate for SGD only: with an adaptive optimizer it
	// is the same formula, not the loss's rate of decrease.
	Dissipation float64 `json:"dissipation"`
}

// Trace is the outcome of Run: the records and the particle clouds at
// initialization and at the end.
type Trace struct {
	Config  RunConfig `json:"config"` // with defaults filled in
	Records []Record  `json:"records"`
	Initial Particles `json:"-"`
	Final   Particles `json:"-"`
}

// Last returns the final record.
func (t *Trace) Last() Record { return t.Records[len(t.Records)-1] }

// Losses returns the loss of every record.
func (t *Trace) Losses() []float64 {
	out := make([]float64, len(t.Records))
	for i, r := range t.Records {
		out[i] = r.Loss
	}
	return out
}

// WriteJSONL writes the configuration as a first JSON line {"config": ...}
// and then one line per record.
func (t *Trace) WriteJSONL(w io.Writer) error {
	enc := json.NewEncoder(w)
	if err := enc.Encode(struct {
		Config RunConfig `json:"config"`
	}{t.Config}); err != nil {
		return err
	}
	for _, r := range t.Records {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// NewRNG returns the generator Run initializes a network with for a seed:
// PCG seeded with (seed, seed).
func NewRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed)) }

// Run builds the network of cfg from cfg.Seed and trains it on x [n, d]
// and y [n, k] by full-batch steps, recording Record at step 0, every
// cfg.Every steps and at the end. The result depends only on cfg and the
// data, bit for bit.
func Run(cfg RunConfig, x, y *tensor.Tensor[float64]) (*Trace, error) {
	return run(cfg, nil, x, y)
}

// RunFrom is Run from the given initial particles instead of a draw from
// cfg.Seed (which it does not use): the network of cfg.Net with its neurons
// set to init (Net.SetParticles), of width init.Len() if cfg.Net.Width is
// 0. Runs from nested clouds (the first m particles of a wider one) are the
// coupled runs of Chaos.
func RunFrom(cfg RunConfig, init Particles, x, y *tensor.Tensor[float64]) (*Trace, error) {
	if cfg.Net.Width == 0 {
		cfg.Net.Width = init.Len()
	}
	return run(cfg, &init, x, y)
}

// run is Run, or RunFrom if init is not nil.
func run(cfg RunConfig, init *Particles, x, y *tensor.Tensor[float64]) (*Trace, error) {
	if cfg.Steps < 0 {
		return nil, fmt.Errorf("meanfield: RunConfig.Steps = %d must be non-negative", cfg.Steps)
	}
	if !(cfg.LR >= 0) || math.IsInf(cfg.LR, 0) {
		return nil, fmt.Errorf("meanfield: RunConfig.LR = %v must be finite and non-negative", cfg.LR)
	}
	if cfg.Every == 0 {
		cfg.Every = 1
	}
	if cfg.Every < 0 {
		return nil, fmt.Errorf("meanfield: RunConfig.Every = %d must be positive", cfg.Every)
	}
	if cfg.Optimizer == "" {
		cfg.Optimizer = "sgd"
	}
	net, err := New(cfg.Net, NewRNG(cfg.Seed))
	if err != nil {
		return nil, err
	}
	if init != nil {
		if err := net.SetParticles(*init); err != nil {
			return nil, err
		}
	}
	cfg.Net = net.Config
	if x.NDim() != 2 || x.Dim(1) != net.Config.InputDim || y.NDim() != 2 || y.Dim(0) != x.Dim(0) || y.Dim(1) != net.Config.Outputs {
		return nil, fmt.Errorf("meanfield: data shapes x %v, y %v do not fit a network %d -> %d", x.Shape(), y.Shape(), net.Config.InputDim, net.Config.Outputs)
	}
	spec, err := optim.DefaultSpec(cfg.Optimizer)
	if err != nil {
		return nil, fmt.Errorf("meanfield: RunConfig.Optimizer: %w", err)
	}
	if adaptive := optim.Adaptive(cfg.Optimizer); adaptive != net.Config.AdaptiveLR {
		return nil, fmt.Errorf("meanfield: RunConfig.Optimizer %s with Net.AdaptiveLR = %v: the per-neuron learning-rate scales must be those of the optimizer's kind (AdaptiveLR for adam, adamw, adagrad, rmsprop)", cfg.Optimizer, net.Config.AdaptiveLR)
	}
	spec.LR = cfg.LR
	opt, err := optim.New(net.Params(), spec)
	if err != nil {
		return nil, err
	}
	rec := &recorder{cfg: cfg, net: net, x: x, tr: &Trace{Config: cfg, Initial: net.Particles()}}
	rec.theta0 = flatParams(net)
	if !cfg.NoKernel {
		rec.k0 = net.Kernel(x)
	}
	rec.measure(0)
	if cfg.Steps > 0 {
		t, err := newTrainer(cfg, net, opt, x, y, rec)
		if err != nil {
			return nil, err
		}
		if _, err := t.Run(context.Background()); err != nil {
			var div *train.DivergenceError
			if errors.As(err, &div) {
				// The loss of step s is that of the parameters after s-1
				// updates; a non-finite gradient spoils the next ones.
				at := div.Step
				if div.What == "loss" {
					at--
				}
				return rec.tr, fmt.Errorf("meanfield: %s is %v at step %d (learning rate too large?)", div.What, div.Value, at)
			}
			return nil, err
		}
	}
	// The last record's loss, outputs and gradient: one forward and
	// backward pass at the final parameters, as the steps compute them.
	lv, out := net.lossGrad(x, y)
	if math.IsNaN(lv) || math.IsInf(lv, 0) {
		return rec.tr, fmt.Errorf("meanfield: loss is %v at step %d (learning rate too large?)", lv, cfg.Steps)
	}
	rec.complete(lv, out)
	rec.tr.Final = net.Particles()
	return rec.tr, nil
}

// halfMSE is the loss of every run.
var halfMSE = &train.MSE[float64]{Half: true}

// lossGrad returns the loss 0.5 mean((f(x) - y)^2) of a run and the outputs
// f(x), and leaves its gradient in the parameters' Grad, as a training step
// computes them (without the update).
func (n *Net) lossGrad(x, y *tensor.Tensor[float64]) (loss float64, out *tensor.Tensor[float64]) {
	for _, p := range n.params {
		p.ZeroGrad()
	}
	tape := autograd.NewTape[float64]()
	f := n.Forward(tape, tape.Const(x))
	l := halfMSE.Eval(f, &data.Batch[float64]{Y: y})
	tape.Backward(l)
	return l.Value().Item(), f.Value()
}

// Energy returns the energy of the network on the training set (x [n, d],
// y [n, k]), E = 0.5 mean((f(x) - y)^2), the loss of Run, and its
// dissipation D = sum_p LRScale_p |dL/dp|^2 = (1/m) sum_i |grad_theta
// Psi(theta_i)|^2, the rate -dE/dt along the gradient flow that Run's SGD
// steps discretize in time t = k eta (package documentation). It
// overwrites the parameters' Grad with dE/dp.
func (n *Net) Energy(x, y *tensor.Tensor[float64]) (energy, dissipation float64) {
	n.checkInput("Energy", x)
	if y.NDim() != 2 || y.Dim(0) != x.Dim(0) || y.Dim(1) != n.Config.Outputs {
		panic(fmt.Sprintf("meanfield.Energy: targets of shape %v for inputs %v and %d outputs", y.Shape(), x.Shape(), n.Config.Outputs))
	}
	energy, _ = n.lossGrad(x, y)
	return energy, n.dissipation()
}

// dissipation returns sum_p LRScale_p |Grad_p|^2 over the parameters: with
// the loss's gradient in Grad, the rate at which the loss decreases along
// the flow dp/dt = -LRScale_p dL/dp. Allocation-free: the recorder calls
// it between steps.
func (n *Net) dissipation() float64 {
	var d float64
	for _, p := range n.params {
		var s float64
		for _, g := range p.Grad.Data() {
			s += g * g
		}
		d += p.LRScale * s
	}
	return d
}

// newTrainer returns the train.Trainer of cfg's full-batch steps on (x, y),
// with rec recording along.
func newTrainer(cfg RunConfig, net *Net, opt optim.Optimizer[float64], x, y *tensor.Tensor[float64], rec *recorder) (*train.Trainer[float64], error) {
	ds := &data.Dataset[float64]{X: x, Y: y}
	loader, err := data.NewLoader(ds, data.LoaderConfig{BatchSize: x.Dim(0)})
	if err != nil {
		return nil, err
	}
	return train.New(train.Config[float64]{Model: net, Loss: halfMSE, Optimizer: opt, Train: loader,
		Steps: cfg.Steps, Callbacks: []train.Callback[float64]{rec}})
}

// recorder takes the Records of a run as a training callback. A record
// describes the parameters after Step updates, and its loss and outputs are
// those the next step computes on them before updating: so the parameter
// measurements (weight change, displacement, kernel drift) are taken after
// step s, and the record is completed with the loss and outputs the step
// s+1 reports.
type recorder struct {
	cfg     RunConfig
	net     *Net
	x       *tensor.Tensor[float64]
	theta0  []float64
	k0      *mat.SymDense
	tr      *Trace
	pending *Record
}

// measure starts the record of step if it is one to keep.
func (r *recorder) measure(step int) {
	if step != 0 && step != r.cfg.Steps && step%r.cfg.Every != 0 {
		return
	}
	rec := Record{Step: step, Time: float64(step) * r.cfg.LR}
	rec.WeightChange = relativeChange(r.theta0, flatParams(r.net))
	rec.Displacement, _ = MeanDisplacement(r.tr.Initial, r.net.Particles())
	if r.k0 != nil {
		rec.KernelDrift = KernelDrift(r.k0, r.net.Kernel(r.x))
	}
	r.pending = &rec
}

// complete fills the pending record's loss, output size and dissipation
// and keeps it. The parameters' Grad must hold the gradient of the loss at
// the record's parameters: in OnStep, the gradient the step computed before
// its update.
func (r *recorder) complete(loss float64, out *tensor.Tensor[float64]) {
	if r.pending == nil {
		return
	}
	r.pending.Loss, r.pending.OutputRMS = loss, rms(out.Data())
	r.pending.Dissipation = r.net.dissipation()
	r.tr.Records = append(r.tr.Records, *r.pending)
	r.pending = nil
}

// OnStep implements train.Callback: s reports the loss and outputs of the
// parameters before its update, and the parameters' Grad still holds the
// gradient the step took there (the next step zeroes it).
func (r *recorder) OnStep(s *train.Step[float64]) error {
	r.complete(s.Loss, s.Output.Value())
	r.measure(s.Step)
	return nil
}

// OnRecord implements train.Callback.
func (*recorder) OnRecord(*train.Record) error { return nil }

func flatParams(n *Net) []float64 {
	var out []float64
	for _, p := range n.Params() {
		out = append(out, p.Value.Data()...)
	}
	return out
}

func relativeChange(theta0, theta []float64) float64 {
	var num, den float64
	for i, v := range theta0 {
		d := theta[i] - v
		num += d * d
		den += v * v
	}
	return math.Sqrt(num / den)
}

func rms(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s / float64(len(v)))
}
