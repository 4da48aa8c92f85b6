package ntk

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/internal/powerlaw"
	"github.com/gradflow/gradflow/landscape"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// duProblem returns n points on the unit sphere of R^d and targets y
// ~ N(0, 1) [n, 1]: Du et al.'s setting (|x_i| = 1, |y_i| = O(1)).
func duProblem(seed uint64, n, d int) *data.Dataset[float64] {
	x, err := data.Sphere[float64](rand.New(rand.NewPCG(seed, 3)), n, d)
	if err != nil {
		panic(err)
	}
	return &data.Dataset[float64]{X: x, Y: randTensor(seed+1, n, 1)}
}

// DuGram is the tangent kernel of f with respect to W: it must agree with
// the Jacobian contraction on the same network, and DuHInf with the
// analytic NTK recursion (d times the first layer's share, see TestDuHInf).
func TestDuGramIsTangentKernel(t *testing.T) {
	const n, d, m = 6, 5, 64
	ds := duProblem(40, n, d)
	net, err := NewDuNet(rand.New(rand.NewPCG(1, 2)), d, m)
	if err != nil {
		t.Fatal(err)
	}
	want, err := EmpiricalGram(nil, net, ds.X, Options{Method: Contraction})
	if err != nil {
		t.Fatal(err)
	}
	got := net.DuGram(nil, ds.X)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			// Both sum m products of O(1) terms: rounding ~1e-15.
			if math.Abs(got.At(i, j)-want.At(i, j)) > 1e-12 {
				t.Errorf("H(%d,%d) = %.16g, J J^T = %.16g", i, j, got.At(i, j), want.At(i, j))
			}
		}
	}
	xm := mat.NewDense(n, d, ds.X.Data())
	hinf, err := DuHInf(xm)
	if err != nil {
		t.Fatal(err)
	}
	k, err := Arch{Depth: 1}.Kernels(xm, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if w := d * (k.NTK.At(i, j) - k.NNGP.At(i, j)); math.Abs(hinf.At(i, j)-w) > 1e-12 {
				t.Errorf("H_inf(%d,%d) = %.16g, analytic NTK gives %.16g", i, j, hinf.At(i, j), w)
			}
		}
	}
	// Du et al.'s setting only: off-sphere inputs are refused by name.
	xm.Set(2, 0, 3)
	if _, err := DuHInf(xm); err == nil || !strings.Contains(err.Error(), "row 2") {
		t.Errorf("DuHInf off the sphere: err = %v, want one naming row 2", err)
	}
	// Only W is a parameter, so train.New accepts an optimizer over
	// Params and the signs stay fixed.
	if ps := net.Params(); len(ps) != 1 || ps[0].Value.Dim(0) != m || ps[0].Value.Dim(1) != d {
		t.Errorf("DuNet.Params: %d params, want W [%d, %d] alone", len(ps), m, d)
	}
}

// Du et al. (2019), Theorem 4.1 along real runs: m = 4096, n = 16 points
// on the unit sphere of R^12, full-batch gradient descent on 0.5 mean
// (y - u)^2, i.e. Du's 0.5 |y - u|^2 at eta = lr / n. Two step sizes:
// eta = lambda0 / n^2 (the theorem's O(lambda0 / n^2) with constant 1;
// the bound then moves little in 200 steps, but it is the theorem's
// regime) and eta = 1 / lambda_max(H_inf), outside the theorem's step-size
// condition, where the bound falls by orders of magnitude and so is a
// real check of the rate. At both, |y - u(k)|^2 <= (1 - eta lambda0/2)^k
// |y - u(0)|^2 must hold at every step, and lambda_min(H(k)) must stay
// above lambda0 / 2 (Lemma 3.2's conclusion, on which the rate rests).
// m = 4096 is far below the theorem's m = Omega(n^6 / (lambda0^4
// delta^3)); the test checks the conclusion, not the sufficient width.
func TestDuCertificate(t *testing.T) {
	const n, d, m, steps = 16, 12, 4096, 200
	ds := duProblem(41, n, d)
	for _, big := range []bool{false, true} {
		net, err := NewDuNet(rand.New(rand.NewPCG(3, 4)), d, m)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		c, err := NewDuCertificate(DuConfig{Net: net, X: ds.X, Y: ds.Y, Out: &out})
		if err != nil {
			t.Fatal(err)
		}
		r0 := c.Result()
		eta := r0.EtaTheory
		if big {
			eta = 1 / r0.LambdaMaxInf
		}
		runTrainer(t, net, ds, n, eta*n, train.Config[float64]{Steps: steps, Callbacks: []train.Callback[float64]{c}})
		r := c.Result()
		rate := math.Pow(1-eta*r.Lambda0/2, steps)
		t.Logf("eta %.4g (theory %.4g): lambda0 %.4f, lambda_min(H(0)) %.4f, min lambda_min %.4f at step %d, |H(0)-H_inf|_F %.4f, residual %.4g -> %.4g (bound factor %.3g), max residual/bound %.3g",
			eta, r.EtaTheory, r.Lambda0, r.LambdaMinInit, r.LambdaMinMin, r.LambdaMinStep, r.HInitDistance, r.Residual0, r.Residual, rate, r.MaxBoundRatio)
		if r.Violations != 0 || r.FirstViolation != nil || !(r.MaxBoundRatio <= 1) {
			t.Errorf("eta %.4g: the bound failed at %d steps, first at %v (max ratio %v)", eta, r.Violations, r.FirstViolation, r.MaxBoundRatio)
		}
		if !r.AboveHalfLambda0 || !(r.LambdaMinMin >= r.Lambda0/2) {
			t.Errorf("eta %.4g: min lambda_min(H(k)) = %.4f < lambda0/2 = %.4f", eta, r.LambdaMinMin, r.Lambda0/2)
		}
		recs := c.Records()
		if len(recs) != steps+1 || r.Steps != steps || recs[steps].Step != steps {
			t.Fatalf("%d records, last step %d; want %d", len(recs), r.Steps, steps+1)
		}
		if got := recs[steps].Bound / r.Residual0; math.Abs(got-rate) > 1e-12*rate+1e-300 {
			t.Errorf("bound factor after %d steps = %.16g, want (1 - eta lambda0/2)^k = %.16g", steps, got, rate)
		}
		// The run follows the bound, not just stays under it: with
		// eta = 1/lambda_max the residual falls by at least that factor
		// (it must, if the bound held), which is < 1e-3 here.
		if big && !(rate < 1e-3 && r.Residual < rate*r.Residual0) {
			t.Errorf("eta %.4g: bound factor %.3g, residual ratio %.3g", eta, rate, r.Residual/r.Residual0)
		}
		// One JSON line per record, the initialization first.
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		var last DuRecord
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || len(lines) != steps+1 || last != recs[steps] {
			t.Errorf("JSON: %d lines, last %+v (%v), want %d and %+v", len(lines), last, err, steps+1, recs[steps])
		}
	}
}

// seedSlope fits the log-log slope of y (ys[w][s] at width widths[w], seed
// s) against width: the fit over the seed means of log y, and the interval
// mean +- t_{0.975, S-1} sd / sqrt(S) of the per-seed slopes.
func seedSlope(widths []float64, ys [][]float64) (slope, lo, hi float64) {
	nw, ns := len(ys), len(ys[0])
	mean := make([]float64, nw)
	for w := range ys {
		var s float64
		for _, v := range ys[w] {
			s += math.Log(v)
		}
		mean[w] = math.Exp(s / float64(ns))
	}
	slope = powerlaw.Slope(widths, mean)
	per := make([]float64, ns)
	col := make([]float64, nw)
	var mu float64
	for s := range per {
		for w := range ys {
			col[w] = ys[w][s]
		}
		per[s] = powerlaw.Slope(widths, col)
		mu += per[s] / float64(ns)
	}
	var v float64
	for _, p := range per {
		v += (p - mu) * (p - mu) / float64(ns-1)
	}
	// Student t quantiles at 0.975 for 2..6 degrees of freedom.
	tq := map[int]float64{2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447}[ns-1]
	half := tq * math.Sqrt(v/float64(ns))
	return slope, mu - half, mu + half
}

// |H(0) - H_inf|_F against width: H(0) is a mean of m i.i.d. matrices
// with mean H_inf, so E|H(0) - H_inf|_F^2 = c / m exactly and the norm
// falls like m^-1/2 (the concentration behind Du et al.'s Lemma 3.1).
// Widths 64..16384 (5), 5 seeds, n = 16 points in R^12 fixed: the fitted
// slope must be -0.5 +- 0.1.
func TestDuInitGramSlope(t *testing.T) {
	const n, d, seeds = 16, 12, 5
	x := duProblem(42, n, d).X
	hinf, err := DuHInf(mat.NewDense(n, d, x.Data()))
	if err != nil {
		t.Fatal(err)
	}
	widths := []float64{64, 256, 1024, 4096, 16384}
	ys := make([][]float64, len(widths))
	for w, m := range widths {
		for s := uint64(0); s < seeds; s++ {
			net, err := NewDuNet(rand.New(rand.NewPCG(100+s, uint64(m))), d, int(m))
			if err != nil {
				t.Fatal(err)
			}
			var diff mat.Dense
			diff.Sub(net.DuGram(nil, x), hinf)
			ys[w] = append(ys[w], mat.Norm(&diff, 2))
		}
	}
	slope, lo, hi := seedSlope(widths, ys)
	t.Logf("|H(0) - H_inf|_F slope %.3f, 95%% interval of per-seed slopes [%.3f, %.3f]; at m = 64: %.4f, m = 16384: %.5f", slope, lo, hi, ys[0][0], ys[len(ys)-1][0])
	if math.Abs(slope+0.5) > 0.1 {
		t.Errorf("slope %.3f [%.3f, %.3f], want -0.5 +- 0.1", slope, lo, hi)
	}
}

// PL* (Liu, Zhu and Belkin 2022) along real runs: one-hidden-layer
// NTK-parameterized ReLU nets (W_std^2 = 2, no bias) on 16 points of the
// sphere of radius sqrt(8) in R^8 with Gaussian targets, trained by
// full-batch GD on 0.5 mean squared error at half the largest stable rate
// (lr = N / lambda_max(K_0)) for 300 steps, which fits them to a loss
// below 1e-8. For the widest width, 4096, the minimum of lambda_min(K(w_t))
// along the run must stay above half its initial value for every seed
// (the PL* condition holds on the whole path, which is what makes the run
// converge linearly); measured 0.97..0.98, against 0.78..0.97 at width 64,
// which the log shows. The initial value must match landscape.PLStarMLP, the
// nn.Jacobian route to the same constant.
func TestPLStarAlongTraining(t *testing.T) {
	const n, d, steps = 16, 8, 300
	ds := duProblem(43, n, d)
	tensor.ScaleInto(ds.X, ds.X, math.Sqrt(d))
	for _, w := range []int{64, 256, 1024, 4096} {
		for seed := uint64(1); seed <= 3; seed++ {
			m := newMLP(t, nn.MLPConfig{Dims: []int{d, w, 1}, Parameterization: nn.NTK, WStd: math.Sqrt2}, seed)
			p, err := NewPLStarProbe(PLStarConfig[float64]{Model: m, X: ds.X, Every: 10})
			if err != nil {
				t.Fatal(err)
			}
			init := p.Result().Initial
			want, err := landscape.PLStarMLP(m, ds.X, true)
			if err != nil {
				t.Fatal(err)
			}
			// lambda_min of two roundings of the same 16x16 matrix.
			if math.Abs(init.Mu-want) > 1e-10*want {
				t.Errorf("width %d: mu(w_0) = %.15g, landscape.PLStarMLP %.15g", w, init.Mu, want)
			}
			k, err := EmpiricalGram(nil, m, ds.X, Options{})
			if err != nil {
				t.Fatal(err)
			}
			lr, err := MaxLearningRate(k, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			res := runTrainer(t, m, ds, n, lr/2, train.Config[float64]{Steps: steps, Callbacks: []train.Callback[float64]{p}})
			r := p.Result()
			t.Logf("width %4d seed %d: lambda_min(K) %.4f at init, min %.4f at step %d (ratio %.4f), last %.4f; loss %.2g",
				w, seed, r.Initial.LambdaMin, r.Min.LambdaMin, r.Min.Step, r.MinRatio, r.Last.LambdaMin, res.Last.Loss)
			if r.Measurements != steps/10+1 || r.Last.Step != steps {
				t.Errorf("width %d: %d measurements, last at %d; want %d, %d", w, r.Measurements, r.Last.Step, steps/10+1, steps)
			}
			if w == 4096 && !(r.MinRatio >= 0.5) {
				t.Errorf("width %d seed %d: PL* minimum along the run is %.4f of its initial value, want >= 0.5", w, seed, r.MinRatio)
			}
			if !(res.Last.Loss < 1e-8) {
				t.Errorf("width %d seed %d: loss %.3g after %d steps: the run did not converge", w, seed, res.Last.Loss, steps)
			}
		}
	}
}

// The certificate refuses what the theorem excludes, naming it: inputs
// off the unit sphere, two parallel inputs (lambda0 = 0), mismatched
// shapes.
func TestDuCertificateErrors(t *testing.T) {
	const n, d = 4, 3
	ds := duProblem(44, n, d)
	net, err := NewDuNet(rand.New(rand.NewPCG(1, 1)), d, 32)
	if err != nil {
		t.Fatal(err)
	}
	par := ds.X.Clone()
	copy(par.Data()[d:2*d], par.Data()[:d]) // x_1 = x_0
	off := ds.X.Clone()
	off.Data()[0] *= 2
	for _, c := range []struct {
		cfg  DuConfig
		want string
	}{
		{DuConfig{Net: net, X: par, Y: ds.Y}, "parallel"},
		{DuConfig{Net: net, X: off, Y: ds.Y}, "row 0"},
		{DuConfig{Net: net, X: ds.X, Y: randTensor(1, n+1, 1)}, "DuConfig.Y"},
		{DuConfig{Net: net, X: randTensor(1, n, d+1), Y: ds.Y}, "DuConfig.X"},
		{DuConfig{Net: net, X: ds.X, Y: ds.Y, LossScale: -1}, "LossScale"},
		{DuConfig{X: ds.X, Y: ds.Y}, "Net is nil"},
	} {
		if _, err := NewDuCertificate(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want one containing %q", err, c.want)
		}
	}
}

// A measurement allocates only what gonum's eigensolver takes: the
// forward pass, H and the residual reuse their buffers.
func TestDuCertificateAllocs(t *testing.T) {
	ds := duProblem(45, 16, 8)
	net, err := NewDuNet(rand.New(rand.NewPCG(1, 1)), 8, 1024)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewDuCertificate(DuConfig{Net: net, X: ds.X, Y: ds.Y})
	if err != nil {
		t.Fatal(err)
	}
	c.records = make([]DuRecord, 0, 200)
	k := 0
	allocs := testing.AllocsPerRun(20, func() {
		k++
		if _, err := c.measure(k, 0.1); err != nil {
			t.Fatal(err)
		}
	})
	// Measured: 5, all in EigenSym.Factorize, independent of m.
	t.Logf("%.0f allocations per measurement", allocs)
	if allocs > 8 {
		t.Errorf("%.0f allocations per measurement, want <= 8", allocs)
	}
}
