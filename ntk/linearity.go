package ntk

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/internal/nilcheck"
	"github.com/gradflow/gradflow/landscape"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// outputLoss is the "loss" g = sum_{i,a} c_ia f_a(x_i) of a model output
// weighted by the fixed coefficients c [n, k]: as a train.Loss it turns
// landscape.ModelObjective into the network output seen as a function of
// the parameters, whose Hessian-vector products are then the double
// backward of the output, not of a loss.
type outputLoss[T tensor.Float] struct{ c *tensor.Tensor[T] }

// Eval implements train.Loss: the weighted sum of the outputs, so that
// second derivatives of the "loss" are those of the output itself.
func (o outputLoss[T]) Eval(out *autograd.Var[T], _ *data.Batch[T]) *autograd.Var[T] {
	return autograd.Sum(autograd.Mul(out, out.Tape().Const(o.c)))
}

// Classification implements train.Loss.
func (outputLoss[T]) Classification() bool { return false }

// Name implements train.Loss.
func (outputLoss[T]) Name() string { return "output" }

// NewOutputObjective returns the network output as a landscape.Objective
// of the parameters (flattened in Params order),
//
//	g(w) = sum_i sum_a c_ia f_a(x_i; w),
//
// for inputs x [n, d] and coefficients c [n, k] (nil: all ones, which for
// one input and one output is f(x) itself). Its HVP is the Hessian of the
// output times a vector by double backward (Pearlmutter's trick), so
// landscape.Lanczos and landscape.PowerIteration estimate the spectrum of
// d^2 g / dw^2. The model's parameters are unchanged after every call.
func NewOutputObjective[T tensor.Float](model nn.Module[T], x, c *tensor.Tensor[T]) (*landscape.ModelObjective[T], error) {
	if nilcheck.Nil(model) {
		return nil, errors.New("ntk.NewOutputObjective: model is nil")
	}
	if x == nil || x.NDim() != 2 || x.Dim(0) == 0 {
		return nil, errors.New("ntk.NewOutputObjective: x must be a non-empty [n, d] tensor")
	}
	k, err := outputWidth(model, x.Dim(1))
	if err != nil {
		return nil, fmt.Errorf("ntk.NewOutputObjective: %w", err)
	}
	if c == nil {
		c = tensor.Ones[T](x.Dim(0), k)
	} else if c.NDim() != 2 || c.Dim(0) != x.Dim(0) || c.Dim(1) != k {
		return nil, fmt.Errorf("ntk.NewOutputObjective: coefficients of shape %v, want [%d, %d] (one per input and output)", c.Shape(), x.Dim(0), k)
	}
	obj, err := landscape.NewModelObjective[T](model, outputLoss[T]{c: c}, &data.Batch[T]{X: x})
	if err != nil {
		return nil, fmt.Errorf("ntk.NewOutputObjective: %w", err)
	}
	return obj, nil
}

// HessianNorm is the spectral norm of the Hessian of a network output
// with respect to the parameters, estimated by Lanczos.
type HessianNorm struct {
	// Norm is max(|Top|, |Bottom|).
	Norm float64 `json:"norm"`
	// Top and Bottom are the largest and smallest Ritz values: the output
	// Hessian is indefinite (for a network with one hidden layer its
	// spectrum is symmetric about 0).
	Top    float64 `json:"top"`
	Bottom float64 `json:"bottom"`
	// Iters is the number of Hessian-vector products; Converged reports
	// whether the top Ritz pair met the tolerance.
	Iters     int  `json:"iters"`
	Converged bool `json:"converged"`
}

// OutputHessianNorm returns |d^2 g / dw^2|_2 for the output g of
// NewOutputObjective(model, x, c) at the model's current parameters, by
// landscape.Lanczos on output Hessian-vector products (opts as for
// Lanczos; Iters 0 selects 40, and memory is Iters vectors of length P).
// Liu, Zhu and Belkin (2020) show that for NTK-parameterized networks of
// width m this norm is O~(m^-1/2) while the tangent kernel stays Theta(1):
// "transition to linearity".
func OutputHessianNorm[T tensor.Float](model nn.Module[T], x, c *tensor.Tensor[T], opts landscape.EigenOptions) (HessianNorm, error) {
	obj, err := NewOutputObjective(model, x, c)
	if err != nil {
		return HessianNorm{}, err
	}
	if opts.Iters == 0 {
		opts.Iters = 40
	}
	h, err := lanczosNorm(obj, obj.Point(nil), opts)
	if err != nil {
		return HessianNorm{}, fmt.Errorf("ntk.OutputHessianNorm: %w", err)
	}
	return h, nil
}

// lanczosNorm runs Lanczos on obj at w.
func lanczosNorm(obj landscape.Objective, w []float64, opts landscape.EigenOptions) (HessianNorm, error) {
	res, err := landscape.Lanczos(obj, w, opts)
	if err != nil {
		return HessianNorm{}, err
	}
	v := res.Values
	return HessianNorm{Norm: res.Smoothness(), Top: v[0], Bottom: v[len(v)-1], Iters: res.Iters, Converged: res.Converged}, nil
}

// LinearityConfig configures a LinearityProbe.
type LinearityConfig[T tensor.Float] struct {
	// Model is the network being trained.
	Model nn.Module[T]
	// X and C are the inputs and output coefficients of the output g (see
	// NewOutputObjective); a single input and nil C measure the Hessian of
	// f(x) itself.
	X, C *tensor.Tensor[T]
	// Every is the number of steps between measurements (default 1).
	Every int
	// Eigen is the Lanczos budget (Rand or Start must be set).
	Eigen landscape.EigenOptions
}

// LinearityRecord is one measurement of a LinearityProbe.
type LinearityRecord struct {
	Step int `json:"step"`
	HessianNorm
}

// LinearityProbe is a train.Callback that measures the spectral norm of
// the output Hessian along a run, every Every steps (Liu, Zhu and Belkin
// 2020: for a wide network it stays O(m^-1/2) along the run, which keeps
// the tangent kernel nearly constant). Every measurement starts Lanczos
// from a fresh vector of Eigen.Rand (or from Eigen.Start), not from the
// previous Ritz vector: the extreme eigenvalue of an indefinite spectrum
// can change sign from one point to the next.
type LinearityProbe[T tensor.Float] struct {
	cfg     LinearityConfig[T]
	obj     *landscape.ModelObjective[T]
	w       []float64
	records []LinearityRecord
}

// NewLinearityProbe validates cfg, measures the initialization (step 0)
// and returns the probe.
func NewLinearityProbe[T tensor.Float](cfg LinearityConfig[T]) (*LinearityProbe[T], error) {
	if cfg.Every < 0 {
		return nil, fmt.Errorf("ntk.NewLinearityProbe: LinearityConfig.Every = %d, want >= 0 (0: every step)", cfg.Every)
	}
	if cfg.Every == 0 {
		cfg.Every = 1
	}
	if cfg.Eigen.Rand == nil && cfg.Eigen.Start == nil {
		cfg.Eigen.Rand = rand.New(rand.NewPCG(1, 2))
	}
	if cfg.Eigen.Iters == 0 {
		cfg.Eigen.Iters = 40
	}
	obj, err := NewOutputObjective(cfg.Model, cfg.X, cfg.C)
	if err != nil {
		return nil, err
	}
	p := &LinearityProbe[T]{cfg: cfg, obj: obj}
	if _, err := p.Measure(0); err != nil {
		return nil, err
	}
	return p, nil
}

// Measure records the output Hessian norm at the current parameters as
// step step.
func (p *LinearityProbe[T]) Measure(step int) (LinearityRecord, error) {
	p.w = p.obj.Point(p.w)
	h, err := lanczosNorm(p.obj, p.w, p.cfg.Eigen)
	if err != nil {
		return LinearityRecord{}, fmt.Errorf("ntk.LinearityProbe: step %d: %w", step, err)
	}
	r := LinearityRecord{Step: step, HessianNorm: h}
	p.records = append(p.records, r)
	return r, nil
}

// OnStep implements train.Callback.
func (p *LinearityProbe[T]) OnStep(s *train.Step[T]) error {
	if s.Step%p.cfg.Every != 0 {
		return nil
	}
	_, err := p.Measure(s.Step)
	return err
}

// OnRecord implements train.Callback; the probe works on steps.
func (p *LinearityProbe[T]) OnRecord(*train.Record) error { return nil }

// Records returns the measurements, the initialization first.
func (p *LinearityProbe[T]) Records() []LinearityRecord { return p.records }
