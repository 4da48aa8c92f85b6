package ntk

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// mcError returns the relative Frobenius error between the analytic NTK of
// cfg and the empirical NTK of NTK-parameterized nets built from cfg,
// averaged over seeds.
func mcError(t *testing.T, cfg nn.MLPConfig, x *tensor.Tensor[float64], seeds int) float64 {
	t.Helper()
	arch, err := ArchOf(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want, err := arch.Kernels(tensor.ToDense(x), nil)
	if err != nil {
		t.Fatal(err)
	}
	n := x.Dim(0)
	avg := mat.NewDense(n, n, nil)
	for s := 0; s < seeds; s++ {
		m, err := nn.NewMLP[float64](cfg, rand.New(rand.NewPCG(uint64(1000+s), 7)))
		if err != nil {
			t.Fatal(err)
		}
		th, err := Empirical[float64](m, x, nil, Options{})
		if err != nil {
			t.Fatal(err)
		}
		avg.Add(avg, tensor.ToDense(th))
	}
	avg.Scale(1/float64(seeds), avg)
	var d mat.Dense
	d.Sub(avg, want.NTK)
	return mat.Norm(&d, 2) / mat.Norm(want.NTK, 2)
}

// Monte Carlo: the empirical NTK of width-2048 NTK-parameterized ReLU and
// erf nets, averaged over 4 seeds, is within 6e-2 relative Frobenius error
// of the analytic kernel (neural-tangents' own tolerance for its
// Monte-Carlo tests at this width), and the error at width 2048 is below
// the error at width 128 (it shrinks like width^-1/2, so a factor of ~4 is
// expected; the assertion only needs it to shrink).
func TestMonteCarloNTK(t *testing.T) {
	x := randTensor(80, 6, 5)
	for _, act := range []struct {
		name nn.Activation
		wStd float64
	}{{nn.ReLU, math.Sqrt2}, {nn.Erf, 1.2}} {
		errs := map[int]float64{}
		for _, width := range []int{128, 2048} {
			cfg := nn.MLPConfig{Dims: []int{5, width, width, 1}, Activation: act.name, Parameterization: nn.NTK, WStd: act.wStd, BStd: 0.3}
			errs[width] = mcError(t, cfg, x, 4)
		}
		t.Logf("%s: relative Frobenius error width 128: %.4f, width 2048: %.4f", act.name, errs[128], errs[2048])
		if errs[2048] > 6e-2 {
			t.Errorf("%s: width 2048 error %.4f > 6e-2", act.name, errs[2048])
		}
		if errs[2048] >= errs[128] {
			t.Errorf("%s: error did not shrink with width: %.4f (128) vs %.4f (2048)", act.name, errs[128], errs[2048])
		}
	}
}

// slope fits log y = a + s log x by least squares and returns s.
func slope(x, y []float64) float64 {
	lx, ly := make([]float64, len(x)), make([]float64, len(y))
	for i := range x {
		lx[i], ly[i] = math.Log(x[i]), math.Log(y[i])
	}
	_, s := stat.LinearRegression(lx, ly, nil, false)
	return s
}

// lazyRun trains a two-layer NTK-parameterized ReLU net of the given width
// by full-batch GD on 0.5*mean squared error and returns the largest gap
// between its training outputs and the kernel prediction Predictor.GD with
// its own initial NTK, the relative weight change and the kernel drift at
// the end.
func lazyRun(t *testing.T, width int, seed uint64, x, y *tensor.Tensor[float64], eta float64, steps int) (gap, weight, drift float64) {
	cfg := nn.MLPConfig{Dims: []int{x.Dim(1), width, 1}, Parameterization: nn.NTK}
	m, err := nn.NewMLP[float64](cfg, rand.New(rand.NewPCG(seed, 3)))
	if err != nil {
		t.Fatal(err)
	}
	theta0, err := EmpiricalGram(nil, m, x, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPredictor(theta0, tensor.ToDense(y), PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	snap := TakeSnapshot[float64](m)
	tape := autograd.NewTape[float64]()
	var f0 *mat.Dense
	for s := 0; s <= steps; s++ {
		tape.Reset()
		nn.ZeroGrad[float64](m)
		out := m.Forward(tape, tape.Const(x))
		if s == 0 {
			f0 = mat.DenseCopyOf(tensor.ToDense(out.Value()))
		}
		if s%10 == 0 {
			pred, _, err := p.GD(eta, s, f0, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			var d mat.Dense
			d.Sub(pred, tensor.ToDense(out.Value()))
			gap = math.Max(gap, mat.Norm(&d, math.Inf(1)))
		}
		if s == steps {
			break
		}
		tape.Backward(nn.HalfMSE(out, tape.Const(y)))
		for _, q := range m.Params() {
			tensor.Axpy(-eta, q.Grad, q.Value)
		}
	}
	_, weight, err = snap.RelativeChange(m)
	if err != nil {
		t.Fatal(err)
	}
	thetaT, err := EmpiricalGram(nil, m, x, Options{})
	if err != nil {
		t.Fatal(err)
	}
	drift, err = KernelDrift(theta0, thetaT)
	if err != nil {
		t.Fatal(err)
	}
	return gap, weight, drift
}

// Lazy training (Jacot et al. 2018; Lee et al. 2019): a wide two-layer
// NTK-parameterized net trained by GD on MSE follows the kernel prediction
// f_train(t). Over widths 64..4096 (3 seeds each, averaged) the fitted
// log-log slopes of the gap sup_t |f_t - f_lin_t| and of the relative
// weight change are -0.5 +- 0.15.
//
// The kernel drift decays faster: Lee et al.'s O(width^-1/2) is an upper
// bound, and for this net its first-order change is a sum of m terms of
// size O(m^-3/2) with signs set by the random output weights a_r, which
// cancel; the ReLU units whose activation pattern flips (O(m^1/2) of them)
// add O(m^-3/4). Measured slopes are -0.8 to -0.9 over seeds 100, 200, 300.
// The test therefore asserts the bound with the same margin, slope <= -0.35,
// and that the drift is not faster than the second-order O(1/m) (slope >=
// -1.15), which would signal a kernel that does not move at all.
//
// The learning rate is half the largest stable one for the infinite-width
// kernel, so it is the same for every width.
func TestLazyTrainingScaling(t *testing.T) {
	const n, d, steps, seeds = 8, 4, 200, 3
	x := tensor.ToDense(randTensor(90, n, d))
	x = unitRows(x)
	xt := tensor.FromDense(x)
	y := randTensor(91, n, 1)
	arch := Arch{Depth: 1}
	k, err := arch.Gram(x)
	if err != nil {
		t.Fatal(err)
	}
	etaMax, err := MaxLearningRate(k.NTK, n, 0)
	if err != nil {
		t.Fatal(err)
	}
	eta := 0.5 * etaMax
	widths := []float64{64, 256, 1024, 4096}
	var gaps, weights, drifts []float64
	for _, w := range widths {
		var g, wc, dr float64
		for s := 0; s < seeds; s++ {
			a, b, c := lazyRun(t, int(w), uint64(100+s), xt, y, eta, steps)
			g, wc, dr = g+a/seeds, wc+b/seeds, dr+c/seeds
		}
		gaps, weights, drifts = append(gaps, g), append(weights, wc), append(drifts, dr)
	}
	for _, c := range []struct {
		name string
		v    []float64
	}{{"sup_t |f_t - f_lin_t|", gaps}, {"relative weight change", weights}, {"kernel drift", drifts}} {
		s := slope(widths, c.v)
		t.Logf("%s: %s, slope %.3f", c.name, fmtVals(c.v), s)
		if c.name == "kernel drift" {
			if s > -0.35 || s < -1.15 {
				t.Errorf("%s: log-log slope %.3f, want in [-1.15, -0.35]", c.name, s)
			}
			continue
		}
		if math.Abs(s+0.5) > 0.15 {
			t.Errorf("%s: log-log slope %.3f, want -0.5 +- 0.15", c.name, s)
		}
	}
}

func fmtVals(v []float64) string {
	s := ""
	for i, x := range v {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%.3g", x)
	}
	return s
}
