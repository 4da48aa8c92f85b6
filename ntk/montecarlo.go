package ntk

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// MonteCarloConfig configures MonteCarlo.
type MonteCarloConfig[T tensor.Float] struct {
	// Seeds is the number of networks averaged (at least 2, for a
	// standard error).
	Seeds int
	// FirstSeed is the seed of the first network; the others follow
	// consecutively.
	FirstSeed uint64
	// Options configures the empirical NTK (Empirical).
	Options Options
	// NoNTK and NoNNGP skip one of the two kernels.
	NoNTK, NoNNGP bool
	// NNGP computes one network's empirical NNGP kernel between x1 and
	// x2 (nil x2: x1). nil selects EmpiricalNNGP for an *nn.MLP and, for
	// any other module, the output second moment (1/k) f(x1) . f(x2)
	// (averaged over initializations it is the NNGP kernel of the
	// finite network; a FeatureKernel of the last hidden layer converges
	// faster when the model has one).
	NNGP func(m nn.Module[T], x1, x2 *tensor.Tensor[T]) (*mat.Dense, error)
	// Each, when set, is called with every network's kernels (nil when
	// skipped) before they are averaged, for per-seed statistics; an
	// error stops MonteCarlo. The matrices are not reused.
	Each func(seed uint64, ntk, nngp *mat.Dense) error
}

// MonteCarloResult holds Monte Carlo estimates of the NTK and the NNGP
// kernel: per entry the mean over the networks and its standard error
// (the sample standard deviation over sqrt(Seeds)). It marshals to JSON
// with the matrices as arrays of rows.
type MonteCarloResult struct {
	// Seeds is the number of networks averaged.
	Seeds int
	// NTK and NTKStdErr are the mean empirical NTK and its standard
	// error (nil with NoNTK).
	NTK, NTKStdErr *mat.Dense
	// NNGP and NNGPStdErr are the mean empirical NNGP kernel and its
	// standard error (nil with NoNNGP).
	NNGP, NNGPStdErr *mat.Dense
}

// MarshalJSON writes the result as {"seeds", "ntk", "ntk_stderr",
// "nngp", "nngp_stderr"}, each matrix an array of rows and omitted when
// nil.
func (r *MonteCarloResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Seeds      int         `json:"seeds"`
		NTK        [][]float64 `json:"ntk,omitempty"`
		NTKStdErr  [][]float64 `json:"ntk_stderr,omitempty"`
		NNGP       [][]float64 `json:"nngp,omitempty"`
		NNGPStdErr [][]float64 `json:"nngp_stderr,omitempty"`
	}{r.Seeds, denseRows(r.NTK), denseRows(r.NTKStdErr), denseRows(r.NNGP), denseRows(r.NNGPStdErr)})
}

// denseRows returns the rows of a (nil for nil).
func denseRows(a *mat.Dense) [][]float64 {
	if a == nil {
		return nil
	}
	r, _ := a.Dims()
	rows := make([][]float64, r)
	for i := range rows {
		rows[i] = append([]float64(nil), a.RawRowView(i)...)
	}
	return rows
}

// MonteCarlo estimates the kernels of the architecture that build
// constructs: for seeds FirstSeed, FirstSeed+1, ..., it builds a network
// with build(seed) and computes its empirical NTK (EmpiricalGram or
// EmpiricalCross with cfg.Options) and its empirical NNGP kernel between
// the rows of x1 and x2 (nil means x1), and returns their means and
// standard errors per entry. build is any constructor, an MLP or a CNN,
// whose seed sets the random initialization; for an NTK-parameterized
// network the means converge to the analytic kernels as the widths grow,
// and at a fixed width a mean over seeds is neural-tangents'
// monte_carlo_kernel_fn. Errors are those of build and of the kernels,
// with the seed.
func MonteCarlo[T tensor.Float](build func(seed uint64) (nn.Module[T], error), x1, x2 *tensor.Tensor[T], cfg MonteCarloConfig[T]) (*MonteCarloResult, error) {
	if build == nil {
		return nil, errNil("MonteCarlo", "the build function")
	}
	if err := nonNilTensors("MonteCarlo", []string{"x1"}, x1); err != nil {
		return nil, err
	}
	if cfg.Seeds < 2 {
		return nil, fmt.Errorf("ntk: MonteCarloConfig.Seeds = %d, want at least 2 for a standard error", cfg.Seeds)
	}
	if cfg.NoNTK && cfg.NoNNGP {
		return nil, errors.New("ntk: MonteCarloConfig skips both kernels (NoNTK and NoNNGP)")
	}
	nngp := cfg.NNGP
	if nngp == nil {
		nngp = defaultNNGP[T]
	}
	var ntkAcc, nngpAcc welford
	for s := 0; s < cfg.Seeds; s++ {
		seed := cfg.FirstSeed + uint64(s)
		m, err := build(seed)
		if err != nil {
			return nil, fmt.Errorf("ntk: MonteCarlo: building the network of seed %d: %w", seed, err)
		}
		if err := nonNilModel("MonteCarlo", m); err != nil {
			return nil, err
		}
		var th, k *mat.Dense
		if !cfg.NoNTK {
			if x2 == nil {
				g, err := EmpiricalGram(nil, m, x1, cfg.Options)
				if err != nil {
					return nil, fmt.Errorf("ntk: MonteCarlo seed %d: %w", seed, err)
				}
				side := g.SymmetricDim()
				th = mat.NewDense(side, side, g.RawSymmetric().Data)
			} else if th, err = EmpiricalCross(nil, m, x1, x2, cfg.Options); err != nil {
				return nil, fmt.Errorf("ntk: MonteCarlo seed %d: %w", seed, err)
			}
			if err := ntkAcc.add(th); err != nil {
				return nil, err
			}
		}
		if !cfg.NoNNGP {
			if k, err = nngp(m, x1, x2); err != nil {
				return nil, fmt.Errorf("ntk: MonteCarlo seed %d: NNGP kernel: %w", seed, err)
			}
			if err := nngpAcc.add(k); err != nil {
				return nil, err
			}
		}
		if cfg.Each != nil {
			if err := cfg.Each(seed, th, k); err != nil {
				return nil, err
			}
		}
	}
	r := &MonteCarloResult{Seeds: cfg.Seeds}
	r.NTK, r.NTKStdErr = ntkAcc.result()
	r.NNGP, r.NNGPStdErr = nngpAcc.result()
	return r, nil
}

// defaultNNGP is MonteCarloConfig's default NNGP kernel of one network.
func defaultNNGP[T tensor.Float](m nn.Module[T], x1, x2 *tensor.Tensor[T]) (*mat.Dense, error) {
	if mlp, ok := m.(*nn.MLP[T]); ok {
		return EmpiricalNNGP(mlp, x1, x2)
	}
	return OutputKernel(m, x1, x2)
}

// OutputKernel returns (1/k) f(x1) f(x2)^T for a model with k outputs
// (x2 nil means x1, and the result is then exactly symmetric): one
// network's sample of the output covariance, whose mean over random
// initializations is the NNGP kernel of the architecture at that width.
func OutputKernel[T tensor.Float](m nn.Module[T], x1, x2 *tensor.Tensor[T]) (*mat.Dense, error) {
	if err := nonNilModel("OutputKernel", m); err != nil {
		return nil, err
	}
	return FeatureKernel(func(x *tensor.Tensor[T]) (*tensor.Tensor[T], error) {
		tape := autograd.NewTape[T]()
		out := m.Forward(tape, tape.Const(x)).Value()
		if len(out.Shape()) != 2 {
			return nil, fmt.Errorf("ntk: OutputKernel: model output has shape %v, want [n k]", out.Shape())
		}
		return out, nil
	}, x1, x2)
}

// welford accumulates the per-entry mean and sum of squared deviations of
// matrices (Welford's update, stable for entries with a large mean).
type welford struct {
	n        int
	mean, m2 *mat.Dense
}

// add includes a; it returns an error if a's shape differs from the first.
func (w *welford) add(a *mat.Dense) error {
	if w.mean == nil {
		r, c := a.Dims()
		w.mean, w.m2 = mat.NewDense(r, c, nil), mat.NewDense(r, c, nil)
	}
	if !sameDims(a, w.mean) {
		r, c := a.Dims()
		mr, mc := w.mean.Dims()
		return fmt.Errorf("ntk: MonteCarlo: kernel is %d x %d, the first was %d x %d", r, c, mr, mc)
	}
	w.n++
	md, sd := w.mean.RawMatrix().Data, w.m2.RawMatrix().Data
	r, c := a.Dims()
	for i := 0; i < r; i++ {
		row := a.RawRowView(i)
		for j, v := range row {
			k := i*c + j
			d := v - md[k]
			md[k] += d / float64(w.n)
			sd[k] += d * (v - md[k])
		}
	}
	return nil
}

// result returns the mean and its standard error sqrt(m2 / (n-1) / n).
func (w *welford) result() (mean, se *mat.Dense) {
	if w.mean == nil {
		return nil, nil
	}
	se = w.m2
	data := se.RawMatrix().Data
	for i, v := range data {
		data[i] = math.Sqrt(v / float64(w.n-1) / float64(w.n))
	}
	return w.mean, se
}

// sameDims reports whether a and b have the same shape.
func sameDims(a, b mat.Matrix) bool {
	ar, ac := a.Dims()
	br, bc := b.Dims()
	return ar == br && ac == bc
}
