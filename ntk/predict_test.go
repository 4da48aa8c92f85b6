package ntk

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// testProblem returns a training kernel (an analytic ReLU NTK on random
// inputs), the matching test-train kernel, targets and initial outputs.
func testProblem(t *testing.T, n, m, k int) (ktr *mat.SymDense, kts *mat.Dense, y, f0, g0 *mat.Dense) {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 12))
	x := randInputs(rng, n+m, 3)
	arch := Arch{Depth: 2, BStd: 0.1}
	g, err := arch.Gram(x.Slice(0, n, 0, 3))
	if err != nil {
		t.Fatal(err)
	}
	cross, err := arch.Kernels(x.Slice(n, n+m, 0, 3), x.Slice(0, n, 0, 3))
	if err != nil {
		t.Fatal(err)
	}
	ktr, kts = g.NTK, cross.NTK
	y, f0, g0 = mat.NewDense(n, k, nil), mat.NewDense(n, k, nil), mat.NewDense(m, k, nil)
	for _, a := range []*mat.Dense{y, f0, g0} {
		r, c := a.Dims()
		for i := 0; i < r; i++ {
			for j := 0; j < c; j++ {
				a.Set(i, j, rng.NormFloat64())
			}
		}
	}
	return ktr, kts, y, f0, g0
}

func maxAbsDiff(a, b mat.Matrix) float64 {
	var d mat.Dense
	d.Sub(a, b)
	return mat.Norm(&d, math.Inf(1)) // max row sum; fine as an upper bound
}

// One training point and k outputs: f(t) = y + exp(-kappa t / k) (f0 - y).
func TestFlowOnePoint(t *testing.T) {
	const kappa, tm = 2.5, 1.7
	p, err := NewPredictor(mat.NewSymDense(1, []float64{kappa}), mat.NewDense(1, 2, []float64{1, -2}), PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f0 := mat.NewDense(1, 2, []float64{0.5, 3})
	kts := mat.NewDense(1, 1, []float64{0.8})
	g0 := mat.NewDense(1, 2, []float64{-1, 1})
	ft, gt, err := p.Flow(tm, f0, g0, kts)
	if err != nil {
		t.Fatal(err)
	}
	e := math.Exp(-kappa * tm / 2)
	for j, yj := range []float64{1, -2} {
		want := yj + e*(f0.At(0, j)-yj)
		// A few roundings: 1e-15.
		if !relClose(ft.At(0, j), want, 1e-15) {
			t.Errorf("f_train[%d] = %.17g, want %.17g", j, ft.At(0, j), want)
		}
		wantG := g0.At(0, j) + 0.8/kappa*(1-e)*(yj-f0.At(0, j))
		if !relClose(gt.At(0, j), wantG, 1e-15) {
			t.Errorf("f_test[%d] = %.17g, want %.17g", j, gt.At(0, j), wantG)
		}
	}
}

// A diagonal kernel decouples the training points.
func TestFlowDiagonal(t *testing.T) {
	diag := []float64{0.3, 1, 4, 0}
	n := len(diag)
	ktr := mat.NewSymDense(n, nil)
	for i, v := range diag {
		ktr.SetSym(i, i, v)
	}
	y := mat.NewDense(n, 1, []float64{1, 2, 3, 4})
	f0 := mat.NewDense(n, 1, []float64{0, 0, 1, -1})
	kts := mat.NewDense(1, n, []float64{0.1, 0.2, 0.3, 0.4})
	p, err := NewPredictor(ktr, y, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const tm = 3.0
	ft, gt, err := p.Flow(tm, f0, nil, kts)
	if err != nil {
		t.Fatal(err)
	}
	var g float64
	for i, l := range diag {
		e := math.Exp(-l * tm / float64(n))
		want := y.At(i, 0) + e*(f0.At(i, 0)-y.At(i, 0))
		if !relClose(ft.At(i, 0), want, 1e-14) {
			t.Errorf("f_train[%d] = %.17g, want %.17g", i, ft.At(i, 0), want)
		}
		h := tm / float64(n) // limit of (1 - e)/l at l = 0
		if l != 0 {
			h = (1 - e) / l
		}
		g += kts.At(0, i) * h * (y.At(i, 0) - f0.At(i, 0))
	}
	if !relClose(gt.At(0, 0), g, 1e-14) {
		t.Errorf("f_test = %.17g, want %.17g", gt.At(0, 0), g)
	}
}

// GD is exact for the linearized dynamics: compare with iterating
// f <- f - eta/N Theta (f - y), f_test <- f_test - eta/N K_ts (f - y).
func TestGDMatchesIteration(t *testing.T) {
	const n, m, k, steps = 7, 3, 2, 40
	ktr, kts, y, f0, g0 := testProblem(t, n, m, k)
	p, err := NewPredictor(ktr, y, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	etaMax, err := MaxLearningRate(ktr, n*k, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, eta := range []float64{0.3 * etaMax, 0.9 * etaMax, 1.2 * etaMax} {
		f, g := mat.DenseCopyOf(f0), mat.DenseCopyOf(g0)
		var r, dg, df mat.Dense
		for s := 0; s < steps; s++ {
			r.Sub(f, y)
			dg.Mul(kts, &r)
			dg.Scale(eta/float64(n*k), &dg)
			g.Sub(g, &dg)
			df.Mul(ktr, &r)
			df.Scale(eta/float64(n*k), &df)
			f.Sub(f, &df)
		}
		ft, gt, err := p.GD(eta, steps, f0, g0, kts)
		if eta > etaMax {
			// Diverging: compare relative to the size reached.
			if err != nil {
				t.Fatal(err)
			}
			if mat.Norm(ft, 2) < 10*mat.Norm(f0, 2) {
				t.Errorf("eta = 1.2 eta_max: |f| = %v did not blow up", mat.Norm(ft, 2))
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		// 40 steps of O(n) accumulated rounding on O(1) values, versus
		// an eigenbasis evaluation with error ~ n eps cond: 1e-10
		// relative to the output scale.
		scale := math.Max(1, mat.Norm(f, math.Inf(1)))
		if dd := maxAbsDiff(ft, f); dd > 1e-10*scale {
			t.Errorf("eta = %.3g: train GD prediction off by %g (scale %g)", eta, dd, scale)
		}
		if dd := maxAbsDiff(gt, g); dd > 1e-10*math.Max(1, mat.Norm(g, math.Inf(1))) {
			t.Errorf("eta = %.3g: test GD prediction off by %g", eta, dd)
		}
	}
}

// Discrete GD with a small learning rate follows gradient flow at t =
// eta*steps: per eigenvalue |(1-a)^s - exp(-a s)| <= s a^2 / 2 with a =
// eta l / N, which bounds the gap.
func TestGDApproachesFlow(t *testing.T) {
	const n, m, k = 6, 2, 1
	ktr, kts, y, f0, g0 := testProblem(t, n, m, k)
	p, err := NewPredictor(ktr, y, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ev := p.Eigenvalues()
	lmax := ev[len(ev)-1]
	const T = 2.0 // flow time eta*steps, in units where lmax T / N = O(1)
	tm := T * float64(n) / lmax
	for _, steps := range []int{1000, 100000} {
		eta := tm / float64(steps)
		a := eta * lmax / float64(n)
		bound := float64(steps) * a * a / 2 * 10 // |f0 - y| and the test map are O(10) here
		ft, gt, err := p.GD(eta, steps, f0, g0, kts)
		if err != nil {
			t.Fatal(err)
		}
		fl, gl, err := p.Flow(tm, f0, g0, kts)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxAbsDiff(ft, fl); d > bound {
			t.Errorf("steps %d: |GD - flow| = %g > bound %g", steps, d, bound)
		}
		if d := maxAbsDiff(gt, gl); d > bound*10 {
			t.Errorf("steps %d: test |GD - flow| = %g > bound %g", steps, d, bound*10)
		}
	}
}

// t -> infinity: the flow converges to the targets on the training set and
// to kernel regression on the test set.
func TestFlowInfinityIsKernelRegression(t *testing.T) {
	const n, m, k = 8, 4, 2
	ktr, kts, y, f0, g0 := testProblem(t, n, m, k)
	p, err := NewPredictor(ktr, y, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fi, gi, err := p.Infinite(f0, g0, kts)
	if err != nil {
		t.Fatal(err)
	}
	// Direct solve for the reference.
	var r, a, want mat.Dense
	r.Sub(y, f0)
	if err := a.Solve(ktr, &r); err != nil {
		t.Fatal(err)
	}
	want.Mul(kts, &a)
	want.Add(&want, g0)
	var c mat.Dense
	c.Mul(ktr, &a)
	cond := mat.Cond(ktr, 2)
	// Backward-stable solves: relative error ~ cond * eps.
	tol := 1e-15 * cond * 100
	if d := maxAbsDiff(gi, &want); d > tol*mat.Norm(&want, math.Inf(1)) {
		t.Errorf("kernel regression off by %g (cond %g)", d, cond)
	}
	if !mat.Equal(fi, y) {
		t.Error("f_train(inf) != y")
	}
	for _, tm := range []float64{math.Inf(1), 1e6 * float64(n*k) / p.Eigenvalues()[0]} {
		ft, gt, err := p.Flow(tm, f0, g0, kts)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxAbsDiff(ft, y); d > tol {
			t.Errorf("t = %g: f_train - y = %g", tm, d)
		}
		if d := maxAbsDiff(gt, gi); d > tol*mat.Norm(gi, math.Inf(1)) {
			t.Errorf("t = %g: f_test differs from kernel regression by %g", tm, d)
		}
	}
}

// Diagonal regularization: relative scale trace/n, as in neural-tangents.
func TestDiagReg(t *testing.T) {
	const n, m, k = 5, 3, 1
	ktr, kts, y, _, _ := testProblem(t, n, m, k)
	const reg = 0.1
	p, err := NewPredictor(ktr, y, PredictOptions{DiagReg: reg})
	if err != nil {
		t.Fatal(err)
	}
	_, gi, err := p.Infinite(nil, nil, kts)
	if err != nil {
		t.Fatal(err)
	}
	kr := mat.NewSymDense(n, nil)
	kr.CopySym(ktr)
	s := reg * mat.Trace(ktr) / n
	for i := 0; i < n; i++ {
		kr.SetSym(i, i, kr.At(i, i)+s)
	}
	var a, want mat.Dense
	if err := a.Solve(kr, y); err != nil {
		t.Fatal(err)
	}
	want.Mul(kts, &a)
	if d := maxAbsDiff(gi, &want); d > 1e-12 {
		t.Errorf("regularized regression off by %g", d)
	}
	// Absolute scale.
	pa, err := NewPredictor(ktr, y, PredictOptions{DiagReg: s, DiagRegAbsolute: true})
	if err != nil {
		t.Fatal(err)
	}
	_, ga, err := pa.Infinite(nil, nil, kts)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(ga, gi); d > 1e-13 {
		t.Errorf("absolute and relative regularization differ by %g", d)
	}
}

// A singular kernel: Infinite errors without regularization; Flow still
// works (the null space is left alone).
func TestSingularKernel(t *testing.T) {
	k := mat.NewSymDense(2, []float64{1, 1, 1, 1})
	y := mat.NewDense(2, 1, []float64{1, 1})
	p, err := NewPredictor(k, y, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Infinite(nil, nil, mat.NewDense(1, 2, []float64{1, 0})); err == nil {
		t.Error("Infinite on a singular kernel: no error")
	}
	ft, gt, err := p.Flow(math.Inf(1), nil, nil, mat.NewDense(1, 2, []float64{0.5, 0.5}))
	if err != nil {
		t.Fatal(err)
	}
	// y lies in the range of K: fitted exactly; K^+ y = (1/2, 1/2), so
	// the test point gets K_ts K^+ y = 1/2.
	if math.Abs(ft.At(0, 0)-1) > 1e-14 || math.Abs(gt.At(0, 0)-0.5) > 1e-14 {
		t.Errorf("singular kernel: f_train %v f_test %v, want 1 and 1/2", ft.At(0, 0), gt.At(0, 0))
	}
}

func TestPredictErrors(t *testing.T) {
	k := mat.NewSymDense(2, []float64{1, 0, 0, 1})
	if _, err := NewPredictor(k, mat.NewDense(3, 1, nil), PredictOptions{}); err == nil {
		t.Error("mismatched targets: no error")
	}
	if _, err := NewPredictor(mat.NewSymDense(2, []float64{1, math.NaN(), math.NaN(), 1}), mat.NewDense(2, 1, nil), PredictOptions{}); err == nil {
		t.Error("NaN kernel: no error")
	}
	p, err := NewPredictor(k, mat.NewDense(2, 1, nil), PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Flow(1, mat.NewDense(2, 2, nil), nil, nil); err == nil {
		t.Error("wrong f0 shape: no error")
	}
	if _, _, err := p.Flow(1, nil, nil, mat.NewDense(1, 3, nil)); err == nil {
		t.Error("wrong test kernel shape: no error")
	}
	if _, _, err := p.Flow(-1, nil, nil, nil); err == nil {
		t.Error("negative time: no error")
	}
	if _, _, err := p.GD(1, -1, nil, nil, nil); err == nil {
		t.Error("negative steps: no error")
	}
	if lr, err := MaxLearningRate(mat.NewSymDense(2, []float64{4, 0, 0, 1}), 0, 0); err != nil || lr != 1 {
		t.Errorf("MaxLearningRate = %v, %v; want 2*2/4 = 1", lr, err)
	}
}
