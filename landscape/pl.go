package landscape

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/internal/nilcheck"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// PLRatio returns |grad f|^2 / (2 (f - fstar)), the largest mu for which
// the Polyak-Lojasiewicz inequality 0.5 |grad f(x)|^2 >= mu (f(x) - f*)
// holds at this point (Polyak 1963). It returns NaN when f <= fstar, where
// the ratio says nothing.
func PLRatio(gradNormSq, f, fstar float64) float64 {
	gap := f - fstar
	if !(gap > 0) {
		return math.NaN()
	}
	return gradNormSq / (2 * gap)
}

// Trajectory is a record of f and |grad f|^2 at the points of a run,
// which the PL and Lojasiewicz estimates work on.
type Trajectory struct {
	Steps      []int
	F          []float64
	GradNormSq []float64
}

// Append adds one point of the run.
func (t *Trajectory) Append(step int, f, gradNormSq float64) {
	t.Steps = append(t.Steps, step)
	t.F = append(t.F, f)
	t.GradNormSq = append(t.GradNormSq, gradNormSq)
}

// Len returns the number of points.
func (t *Trajectory) Len() int { return len(t.F) }

// MinF returns the smallest f seen: the estimate of f* when it is not
// known. It is biased upwards (f* <= min f), so the gaps near the end of
// the run are underestimated and the PL ratios there overestimated; the
// last point gets a zero gap and a NaN ratio. Prefer a known f* (0 for a
// square loss that the model can interpolate).
func (t *Trajectory) MinF() float64 {
	m := math.Inf(1)
	for _, f := range t.F {
		m = math.Min(m, f)
	}
	return m
}

// PLRatios returns the PL ratio at every point for the given f*.
func (t *Trajectory) PLRatios(fstar float64) []float64 {
	r := make([]float64, len(t.F))
	for i, f := range t.F {
		r[i] = PLRatio(t.GradNormSq[i], f, fstar)
	}
	return r
}

// WindowMin returns, for every i, the minimum of the non-NaN values among
// vals[max(0, i-window+1) .. i] (NaN if there are none): along a run, the
// empirical PL constant mu over the last window points. window <= 0 means
// the whole prefix. Any point of a run gives an upper bound on the true
// mu, so the window minimum is the tightest estimate the run offers.
func WindowMin(vals []float64, window int) []float64 {
	out := make([]float64, len(vals))
	// Monotone deque of indices with increasing values: O(len) overall.
	dq := make([]int, 0, len(vals))
	for i, v := range vals {
		if window > 0 {
			for len(dq) > 0 && dq[0] <= i-window {
				dq = dq[1:]
			}
		}
		if !math.IsNaN(v) {
			for len(dq) > 0 && vals[dq[len(dq)-1]] >= v {
				dq = dq[:len(dq)-1]
			}
			dq = append(dq, i)
		}
		if len(dq) == 0 {
			out[i] = math.NaN()
		} else {
			out[i] = vals[dq[0]]
		}
	}
	return out
}

// EmpiricalPL returns the minimum PL ratio over the last window points of
// the trajectory (all of them if window <= 0) with the given f*.
func (t *Trajectory) EmpiricalPL(fstar float64, window int) float64 {
	if t.Len() == 0 {
		return math.NaN()
	}
	w := WindowMin(t.PLRatios(fstar), window)
	return w[len(w)-1]
}

// PLStar returns scale * lambda_min(J J^T) for a Jacobian J [N, P] of the
// model outputs (all examples and output coordinates stacked) with respect
// to the parameters: the PL* constant of Liu, Zhu and Belkin (2022) for a
// square loss. For L(w) = (s/2) |F(w) - y|^2 the gradient is s J^T r with
// r = F - y, so
//
//	|grad L|^2 = s^2 r^T (J J^T) r >= s^2 lambda_min(J J^T) |r|^2 = 2 s lambda_min(J J^T) L,
//
// that is, the PL inequality with f* = 0 and mu = s lambda_min(K), K = J
// J^T the empirical neural tangent kernel on the data. The scale s is the
// loss's normalization: 1 for 0.5|Ax - b|^2 (J = A), 1/(n k) for
// nn.HalfMSE, 2/(n k) for nn.MSE over n examples with k outputs (see
// MSEScale). When N > P, K is singular and the constant is 0: PL* needs
// overparameterization. The value holds at the point where J was taken;
// Liu, Zhu and Belkin show it persists over a ball for wide networks.
func PLStar(j mat.Matrix, scale float64) (float64, error) {
	if !(scale > 0) {
		return 0, fmt.Errorf("landscape.PLStar: scale = %v, want > 0", scale)
	}
	r, c := j.Dims()
	if r == 0 || c == 0 {
		return 0, errors.New("landscape.PLStar: empty Jacobian")
	}
	k := mat.NewSymDense(r, nil)
	k.SymOuterK(1, j)
	var es mat.EigenSym
	if !es.Factorize(k, false) {
		return 0, errors.New("landscape.PLStar: eigendecomposition of J J^T failed")
	}
	ev := es.Values(nil) // ascending
	return scale * math.Max(ev[0], 0), nil
}

// MSEScale returns the scale s of PLStar for nn.MSE (half false: L =
// mean((f - y)^2) = (2/(n k))/2 |F - y|^2) or nn.HalfMSE (half true: s =
// 1/(n k)) over n examples with k outputs.
func MSEScale(half bool, n, k int) float64 {
	if half {
		return 1 / float64(n*k)
	}
	return 2 / float64(n*k)
}

// PLStarMLP returns the PL* constant of an MLP under a (half) mean squared
// error on the inputs x [n, d]: MSEScale(half, n, k) times lambda_min of
// the empirical NTK Gram matrix J J^T, with J from nn.Jacobian. J has n k
// rows and P columns, so this is for small subsets.
func PLStarMLP[T tensor.Float](m *nn.MLP[T], x *tensor.Tensor[T], half bool) (float64, error) {
	if m == nil || x == nil || x.NDim() != 2 || x.Dim(0) == 0 {
		return 0, errors.New("landscape.PLStarMLP: need an MLP and a non-empty [n, d] x")
	}
	jt := nn.Jacobian(m, x, 0)
	rows, cols := jt.Dim(0), jt.Dim(1)
	jd := mat.NewDense(rows, cols, nil)
	for i, v := range jt.Data() {
		jd.RawMatrix().Data[i] = float64(v)
	}
	k := m.Config.Dims[len(m.Config.Dims)-1]
	return PLStar(jd, MSEScale(half, x.Dim(0), k))
}

// PLStarModel is PLStarMLP for any model with outputs [n, k]: an *nn.MLP
// goes to PLStarMLP; for another model (a convolutional nn.Net, say) J is
// built row by row, one backward pass of the batch per output coordinate
// (n k passes), from one forward pass of the whole batch x, so that a
// model whose examples interact (BatchNorm in training mode) gets the
// Jacobian of the function it trains with. Buffers that the forward pass
// updates are restored.
func PLStarModel[T tensor.Float](m nn.Module[T], x *tensor.Tensor[T], half bool) (float64, error) {
	if mlp, ok := m.(*nn.MLP[T]); ok {
		return PLStarMLP(mlp, x, half)
	}
	if nilcheck.Nil(m) || x == nil || x.NDim() != 2 || x.Dim(0) == 0 {
		return 0, errors.New("landscape.PLStarModel: need a model and a non-empty [n, d] x")
	}
	bufs := nn.Buffers(m)
	saved := make([]T, 0)
	for _, b := range bufs {
		saved = append(saved, b.Value.Data()...)
	}
	defer restoreBuffers(bufs, saved)
	tape := autograd.NewTape[T]()
	out := m.Forward(tape, tape.Const(x))
	if out.Value().NDim() != 2 {
		return 0, fmt.Errorf("landscape.PLStarModel: outputs of shape %v, want [n, k]", out.Shape())
	}
	n, k := out.Shape()[0], out.Shape()[1]
	vars := nn.ParamVars(nil, tape, m)
	jd := mat.NewDense(n*k, nn.NumParams(m), nil)
	seed := tensor.New[T](n, k)
	sd := seed.Data()
	for r := range n * k {
		sd[r] = 1
		gs := tape.Grad(out, vars, autograd.GradOptions[T]{Seed: tape.Const(seed)})
		sd[r] = 0
		row, j := jd.RawRowView(r), 0
		for _, g := range gs {
			for _, v := range g.Value().Data() {
				row[j] = float64(v)
				j++
			}
		}
	}
	return PLStar(jd, MSEScale(half, n, k))
}
