package ntk

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/tensor"
)

// gpSetup returns the kernels of a two-hidden-layer ReLU Arch between n
// training and m test inputs, and n x k targets.
func gpSetup(t *testing.T, n, m, k int) (GPKernels, *mat.Dense) {
	t.Helper()
	arch := Arch{Depth: 2, WStd: 1.4, BStd: 0.3}
	x := tensor.ToDense(randTensor(301, n, 5))
	xs := tensor.ToDense(randTensor(302, m, 5))
	g, err := arch.Gram(x)
	if err != nil {
		t.Fatal(err)
	}
	kt, err := arch.Kernels(xs, x)
	if err != nil {
		t.Fatal(err)
	}
	gs, err := arch.Gram(xs)
	if err != nil {
		t.Fatal(err)
	}
	y := tensor.ToDense(randTensor(303, n, k))
	return GPKernels{TrainNNGP: g.NNGP, TrainNTK: g.NTK, TestTrainNNGP: kt.NNGP, TestTrainNTK: kt.NTK, TestNNGP: gs.NNGP}, y
}

// matRelDiff returns max |a - b| / max |b|.
func matRelDiff(a, b mat.Matrix) float64 {
	var d mat.Dense
	d.Sub(a, b)
	return mat.Norm(&d, math.Inf(1)) / mat.Norm(b, math.Inf(1))
}

// solveDense returns (k + reg I)^-1 b by LU, the independent reference of
// the Cholesky and eigenbasis solves.
func solveDense(t *testing.T, k mat.Symmetric, reg float64, b mat.Matrix) *mat.Dense {
	t.Helper()
	kd := mat.DenseCopyOf(k)
	n, _ := kd.Dims()
	for i := 0; i < n; i++ {
		kd.Set(i, i, kd.At(i, i)+reg)
	}
	var x mat.Dense
	if err := x.Solve(kd, b); err != nil {
		t.Fatal(err)
	}
	return &x
}

// The NNGP posterior against the dense formulas with an LU solve, with a
// relative regularizer, and its covariance PSD.
func TestNNGPPosteriorDense(t *testing.T) {
	kern, y := gpSetup(t, 14, 6, 2)
	opts := PredictOptions{DiagReg: 1e-3}
	p, err := NNGPPosterior(kern, y, opts)
	if err != nil {
		t.Fatal(err)
	}
	reg := 1e-3 * mat.Trace(kern.TrainNNGP) / 14
	a := solveDense(t, kern.TrainNNGP, reg, kern.TestTrainNNGP.T())
	var mean, cov mat.Dense
	mean.Mul(a.T(), y)
	cov.Mul(kern.TestTrainNNGP, a)
	cov.Sub(kern.TestNNGP, &cov)
	if d := matRelDiff(p.Mean, &mean); d > 1e-10 {
		t.Errorf("mean differs from K_*X (K + reg)^-1 y by %.2g relative", d)
	}
	if d := matRelDiff(p.Cov, &cov); d > 1e-10 {
		t.Errorf("covariance differs from the dense formula by %.2g relative", d)
	}
	assertPSD(t, "NNGP posterior covariance", p.Cov)
	if b, err := json.Marshal(p); err != nil || !strings.Contains(string(b), `"cov":[[`) || !strings.Contains(string(b), `"mean":[[`) {
		t.Errorf("JSON %.80s..., %v: want mean and cov as arrays of rows", b, err)
	}
	for i, v := range p.Var {
		if v != p.Cov.At(i, i) {
			t.Errorf("Var[%d] = %v, Cov diagonal %v", i, v, p.Cov.At(i, i))
		}
	}
	// The diagonal alone gives the same variances.
	diag := make([]float64, 6)
	for i := range diag {
		diag[i] = kern.TestNNGP.At(i, i)
	}
	kd := kern
	kd.TestNNGP, kd.TestNNGPDiag = nil, diag
	pd, err := NNGPPosterior(kd, y, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range diag {
		if math.Abs(pd.Var[i]-p.Var[i]) > 1e-12*kern.TestNNGP.At(i, i) || pd.Cov != nil {
			t.Errorf("variance %d from the diagonal %v, from the matrix %v", i, pd.Var[i], p.Var[i])
		}
	}
}

// assertPSD fails if a has an eigenvalue below -1e-10 of its largest.
func assertPSD(t *testing.T, name string, a mat.Symmetric) {
	t.Helper()
	ev, err := Spectrum(a)
	if err != nil {
		t.Fatal(err)
	}
	if ev[0] < -1e-10*math.Abs(ev[len(ev)-1]) {
		t.Errorf("%s has eigenvalue %g (largest %g): not PSD", name, ev[0], ev[len(ev)-1])
	}
}

// The NTK-GP: t = infinity is kernel regression with the NTK (LU
// reference), t = 0 the prior, large finite t converges to infinity, and
// at finite t mean and covariance equal the dense formulas of Lee et al.
// 2019 with the matrix exponential (gonum's Pade mat.Dense.Exp, not the
// eigenbasis At uses).
func TestNTKGPDense(t *testing.T) {
	const n, m, k = 14, 6, 2
	kern, y := gpSetup(t, n, m, k)
	g, err := NewNTKGP(kern, y, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inf, err := g.At(math.Inf(1))
	if err != nil {
		t.Fatal(err)
	}
	a := solveDense(t, kern.TrainNTK, 0, y)
	var want mat.Dense
	want.Mul(kern.TestTrainNTK, a)
	if d := matRelDiff(inf.Mean, &want); d > 1e-10 {
		t.Errorf("t = inf mean differs from Theta_*X Theta^-1 y by %.2g relative", d)
	}
	assertPSD(t, "t = inf covariance", inf.Cov)

	zero, err := g.At(0)
	if err != nil {
		t.Fatal(err)
	}
	if mat.Norm(zero.Mean, math.Inf(1)) != 0 || !mat.Equal(zero.Cov, kern.TestNNGP) {
		t.Errorf("t = 0: mean norm %g, covariance differs from the prior", mat.Norm(zero.Mean, math.Inf(1)))
	}

	// exp(-lambda_min t / N) = e^-40 at t = 40 N / lambda_min.
	ev, _ := Spectrum(kern.TrainNTK)
	late, err := g.At(40 * n * k / ev[0])
	if err != nil {
		t.Fatal(err)
	}
	if d := matRelDiff(late.Mean, inf.Mean); d > 1e-8 {
		t.Errorf("mean at large t differs from t = inf by %.2g", d)
	}
	if d := matRelDiff(late.Cov, inf.Cov); d > 1e-8 {
		t.Errorf("covariance at large t differs from t = inf by %.2g", d)
	}

	for _, tm := range []float64{0.5, 30, 800} {
		p, err := g.At(tm)
		if err != nil {
			t.Fatal(err)
		}
		// T = Theta_*X Theta^-1 (I - exp(-Theta t/N)).
		e := mat.NewDense(n, n, nil)
		e.Scale(-tm/float64(n*k), mat.DenseCopyOf(kern.TrainNTK))
		e.Exp(e)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				v := -e.At(i, j)
				if i == j {
					v++
				}
				e.Set(i, j, v)
			}
		}
		var tt mat.Dense
		tt.Mul(kern.TestTrainNTK, solveDense(t, kern.TrainNTK, 0, e))
		var mean, cov, a1, a2 mat.Dense
		mean.Mul(&tt, y)
		a1.Mul(&tt, kern.TrainNNGP)
		cov.Mul(&a1, tt.T())
		a2.Mul(&tt, kern.TestTrainNNGP.T())
		cov.Sub(&cov, &a2)
		cov.Sub(&cov, a2.T())
		cov.Add(&cov, kern.TestNNGP)
		if d := matRelDiff(p.Mean, &mean); d > 1e-9 {
			t.Errorf("t = %v: mean differs from the dense formula by %.2g relative", tm, d)
		}
		if d := matRelDiff(p.Cov, &cov); d > 1e-9 {
			t.Errorf("t = %v: covariance differs from the dense formula by %.2g relative", tm, d)
		}
		assertPSD(t, "NTK-GP covariance", p.Cov)
	}
}

// An independent check by sampling: draw the outputs of infinitely wide
// networks at initialization from the joint NNGP prior on train and test
// inputs, train each by the linearized gradient flow (Predictor.Flow with
// the NTK), and compare the sample mean and covariance of the test
// outputs at time t with NTKGP.At within 4 standard errors (mean: sd /
// sqrt(S); variance: Var sqrt(2/(S-1)); covariance: sqrt((Var_i Var_j +
// Cov_ij^2)/(S-1))).
func TestNTKGPSampling(t *testing.T) {
	const n, m, k, samples = 8, 4, 1, 20000
	kern, y := gpSetup(t, n, m, k)
	g, err := NewNTKGP(kern, y, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pred, err := NewPredictor(kern.TrainNTK, y, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Joint prior covariance [[K, K_X*], [K_*X, K_**]].
	joint := mat.NewSymDense(n+m, nil)
	for i := 0; i < n+m; i++ {
		for j := i; j < n+m; j++ {
			var v float64
			switch {
			case j < n:
				v = kern.TrainNNGP.At(i, j)
			case i < n:
				v = kern.TestTrainNNGP.At(j-n, i)
			default:
				v = kern.TestNNGP.At(i-n, j-n)
			}
			if i == j {
				v += 1e-12
			}
			joint.SetSym(i, j, v)
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(joint) {
		t.Fatal("joint prior not positive definite")
	}
	var l mat.TriDense
	ch.LTo(&l)
	rng := rand.New(rand.NewPCG(7, 8))
	const tm = 25.0
	want, err := g.At(tm)
	if err != nil {
		t.Fatal(err)
	}
	sum := make([]float64, m)
	outer := mat.NewDense(m, m, nil)
	z := mat.NewVecDense(n+m, nil)
	var f mat.VecDense
	for s := 0; s < samples; s++ {
		for i := 0; i < n+m; i++ {
			z.SetVec(i, rng.NormFloat64())
		}
		f.MulVec(&l, z)
		f0 := mat.NewDense(n, 1, f.RawVector().Data[:n])
		ft0 := mat.NewDense(m, 1, f.RawVector().Data[n:])
		_, ft, err := pred.Flow(tm, f0, ft0, kern.TestTrainNTK)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < m; i++ {
			sum[i] += ft.At(i, 0)
			for j := 0; j < m; j++ {
				outer.Set(i, j, outer.At(i, j)+ft.At(i, 0)*ft.At(j, 0))
			}
		}
	}
	S := float64(samples)
	for i := 0; i < m; i++ {
		mean := sum[i] / S
		v := want.Cov.At(i, i)
		if se := math.Sqrt(v / S); math.Abs(mean-want.Mean.At(i, 0)) > 4*se {
			t.Errorf("test point %d: sample mean %.5g, NTKGP %.5g (se %.2g)", i, mean, want.Mean.At(i, 0), se)
		}
		for j := 0; j < m; j++ {
			c := outer.At(i, j)/S - mean*sum[j]/S
			wc := want.Cov.At(i, j)
			se := math.Sqrt((v*want.Cov.At(j, j) + wc*wc) / (S - 1))
			if math.Abs(c*S/(S-1)-wc) > 4*se {
				t.Errorf("covariance (%d, %d): sample %.5g, NTKGP %.5g (se %.2g)", i, j, c, wc, se)
			}
		}
	}
}

// A singular kernel (rank 3 from 3 features, 10 points) gives an error
// with the smallest eigenvalue and a DiagReg; with that DiagReg the
// posterior exists.
func TestGPNotPositiveDefinite(t *testing.T) {
	x := tensor.ToDense(randTensor(310, 10, 3))
	arch := Arch{Depth: 0}
	gr, err := arch.Gram(x)
	if err != nil {
		t.Fatal(err)
	}
	kt, err := arch.Kernels(x.Slice(0, 4, 0, 3), x)
	if err != nil {
		t.Fatal(err)
	}
	y := tensor.ToDense(randTensor(311, 10, 1))
	kern := GPKernels{TrainNNGP: gr.NNGP, TrainNTK: gr.NTK, TestTrainNNGP: kt.NNGP, TestTrainNTK: kt.NTK}
	for _, abs := range []bool{false, true} {
		_, err = NNGPPosterior(kern, y, PredictOptions{DiagRegAbsolute: abs})
		if err == nil || !strings.Contains(err.Error(), "smallest eigenvalue") {
			t.Fatalf("singular NNGP kernel: error %v, want one naming the smallest eigenvalue", err)
		}
		t.Log(err)
		sm := regexp.MustCompile(`DiagReg to ([0-9.e+-]+)`).FindStringSubmatch(err.Error())
		if sm == nil {
			t.Fatalf("error %q suggests no DiagReg", err)
		}
		reg, _ := strconv.ParseFloat(sm[1], 64)
		if _, err := NNGPPosterior(kern, y, PredictOptions{DiagReg: reg, DiagRegAbsolute: abs}); err != nil {
			t.Errorf("with the suggested DiagReg %g: %v", reg, err)
		}
		g, err := NewNTKGP(kern, y, PredictOptions{DiagRegAbsolute: abs})
		if err != nil {
			t.Fatal(err) // PSD up to rounding: finite times work
		}
		if _, err := g.At(math.Inf(1)); err == nil || !strings.Contains(err.Error(), "DiagReg to") {
			t.Errorf("NTK-GP at t = inf on a singular NTK: error %v, want a DiagReg suggestion", err)
		}
	}
	// Missing kernels and shapes.
	if _, err := NNGPPosterior(GPKernels{TrainNNGP: gr.NNGP}, y, PredictOptions{}); err == nil {
		t.Error("no test-train kernel: no error")
	}
	if _, err := NewNTKGP(GPKernels{TrainNNGP: gr.NNGP, TestTrainNNGP: kt.NNGP}, y, PredictOptions{}); err == nil {
		t.Error("NTK-GP without NTKs: no error")
	}
	if _, err := NNGPPosterior(kern, mat.NewDense(9, 1, nil), PredictOptions{}); err == nil {
		t.Error("9 targets for 10 training points: no error")
	}
}

// The NTK-GP at t = infinity is never more certain than the NNGP
// posterior of the same prior: with A = K_*X K^-1 and T = Theta_*X
// Theta^-1, cov_NTK - cov_NNGP = (T - A) K (T - A)^T exactly.
func TestNTKGPVersusNNGP(t *testing.T) {
	const n, m = 12, 5
	kern, y := gpSetup(t, n, m, 1)
	nngp, err := NNGPPosterior(kern, y, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewNTKGP(kern, y, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inf, err := g.At(math.Inf(1))
	if err != nil {
		t.Fatal(err)
	}
	a := solveDense(t, kern.TrainNNGP, 0, kern.TestTrainNNGP.T())
	tt := solveDense(t, kern.TrainNTK, 0, kern.TestTrainNTK.T())
	var d, dk, want, got mat.Dense
	d.Sub(tt, a) // (T - A)^T, n x m
	dk.Mul(kern.TrainNNGP, &d)
	want.Mul(d.T(), &dk)
	got.Sub(inf.Cov, nngp.Cov)
	if diff := matRelDiff(&got, &want); diff > 1e-8 {
		t.Errorf("cov_NTK - cov_NNGP differs from (T - A) K (T - A)^T by %.2g relative", diff)
	}
}

// A nil *mat.SymDense as the test-test kernel means no covariance, as a
// nil interface does.
func TestGPTypedNil(t *testing.T) {
	kern, y := gpSetup(t, 6, 3, 1)
	var none *mat.SymDense
	kern.TestNNGP = none
	p, err := NNGPPosterior(kern, y, PredictOptions{})
	if err != nil || p.Cov != nil || p.Var != nil {
		t.Errorf("typed nil TestNNGP: %+v, %v; want a mean only", p, err)
	}
	g, err := NewNTKGP(kern, y, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := g.At(1); err != nil || p.Cov != nil {
		t.Errorf("NTK-GP with typed nil TestNNGP: %+v, %v", p, err)
	}
}
