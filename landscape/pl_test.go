package landscape

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// wideLeastSquares returns 0.5|Ax - b|^2 with A [m, d], m < d, Gaussian,
// and the eigenvalues (ascending) and eigenvectors of A A^T.
func wideLeastSquares(t *testing.T, seed uint64, m, d int) (*LeastSquares, []float64, *mat.Dense) {
	t.Helper()
	rng := newRand(seed)
	a := gaussianMatrix(rng, m, d)
	b := make([]float64, m)
	for i := range b {
		b[i] = rng.NormFloat64()
	}
	k := mat.NewSymDense(m, nil)
	k.SymOuterK(1, a)
	var es mat.EigenSym
	if !es.Factorize(k, true) {
		t.Fatal("eigendecomposition failed")
	}
	var u mat.Dense
	es.VectorsTo(&u)
	return &LeastSquares{A: a, B: b}, es.Values(nil), &u
}

// gdTrajectory runs gradient descent with step eta for steps steps from x0
// and records f and |grad f|^2 before every step.
func gdTrajectory(obj Objective, x0 []float64, eta float64, steps int) *Trajectory {
	x := append([]float64(nil), x0...)
	g := make([]float64, len(x))
	tr := &Trajectory{}
	for s := 0; s < steps; s++ {
		f := obj.Grad(x, g)
		tr.Append(s, f, dot(g, g))
		axpy(-eta, g, x)
	}
	return tr
}

// On 0.5|Ax - b|^2 with a wide A, f* = 0 and the PL constant is mu =
// lambda_min^+(A^T A) = lambda_min(A A^T) (Karimi-Nutini-Schmidt 2016).
// Along GD the residual r_k = (I - eta K)^k r_0, K = A A^T, so with c_i the
// coordinates of r_0 in K's eigenbasis the PL ratio is exactly
//
//	ratio_k = sum_i lambda_i c_i^2 (1 - eta lambda_i)^{2k} / sum_i c_i^2 (1 - eta lambda_i)^{2k},
//
// a weighted mean of the eigenvalues that tends to lambda_min as the
// bottom direction dominates. The test checks the measured ratios against
// this closed form, the PL inequality ratio >= mu at every step, the PL*
// constant of the Jacobian J = A (scale 1), and that the empirical mu
// (window minimum) approaches mu.
func TestPLLeastSquares(t *testing.T) {
	const m, d = 20, 50
	ls, lam, u := wideLeastSquares(t, 3, m, d)
	mu, lmax := lam[0], lam[m-1]

	star, err := PLStar(ls.A, 1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(star-mu) > 1e-10*mu {
		t.Errorf("PLStar %v, want lambda_min(A A^T) = %v", star, mu)
	}

	eta := 1 / lmax
	// 300 steps keep f above 1e-20 or so, far from the rounding floor
	// of the residual (about 1e-16 |b|), so the ratios are accurate.
	const steps = 300
	x0 := make([]float64, d)
	tr := gdTrajectory(ls, x0, eta, steps)
	ratios := tr.PLRatios(0)

	r0 := ls.residual(x0)
	c := make([]float64, m)
	mat.NewVecDense(m, c).MulVec(u.T(), mat.NewVecDense(m, r0))
	for k, got := range ratios {
		var num, den float64
		for i := range m {
			w := c[i] * c[i] * math.Pow(1-eta*lam[i], 2*float64(k))
			num += lam[i] * w
			den += w
		}
		want := num / den
		if math.Abs(got-want) > 1e-6*want {
			t.Fatalf("step %d: PL ratio %v, closed form %v", k, got, want)
		}
		if got < mu*(1-1e-9) {
			t.Fatalf("step %d: PL ratio %v below mu = %v", k, got, mu)
		}
	}
	emp := tr.EmpiricalPL(0, 50)
	t.Logf("mu = lambda_min(AA^T) = %.6f, L = %.3f; empirical mu (last 50 of %d GD steps) %.6f; ratio at step 0 %.3f",
		mu, lmax, steps, emp, ratios[0])
	// The closed form's last value is within (lambda_2/lambda_1 ratio of
	// contraction)^(2*300) of mu; 1e-3 is far above that.
	if math.Abs(emp-mu) > 1e-3*mu {
		t.Errorf("empirical PL constant %v, want mu = %v to 1e-3", emp, mu)
	}
}

func TestWindowMin(t *testing.T) {
	v := []float64{5, 3, math.NaN(), 4, 6, 1, 2}
	got := WindowMin(v, 2)
	want := []float64{5, 3, 3, 4, 4, 1, 1}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("WindowMin(.., 2) = %v, want %v", got, want)
		}
	}
	all := WindowMin(v, 0)
	if all[4] != 3 || all[6] != 1 {
		t.Errorf("WindowMin(.., 0) = %v", all)
	}
	if !math.IsNaN(PLRatio(1, 1, 1)) {
		t.Error("PLRatio at f = f* is not NaN")
	}
}

// The Lojasiewicz exponent is 1/2 on a PL problem (least squares) and 3/4
// for f(x) = sum x_i^4, where |grad f| ~ 4 f^{3/4} near 0 (for one
// coordinate exactly; for several, all coordinates of GD decay like
// (8 eta k)^{-1/2} and the relation holds asymptotically).
func TestLojasiewiczExponent(t *testing.T) {
	ls, _, _ := wideLeastSquares(t, 4, 20, 50)
	var lmax float64
	{
		k := mat.NewSymDense(20, nil)
		k.SymOuterK(1, ls.A)
		var es mat.EigenSym
		es.Factorize(k, false)
		lmax = es.Values(nil)[19]
	}
	pl := gdTrajectory(ls, make([]float64, 50), 1/lmax, 300)
	fitPL, err := FitLojasiewicz(pl, LojasiewiczOptions{FStar: 0, Rand: newRand(5)})
	if err != nil {
		t.Fatal(err)
	}
	quartic := gdTrajectory(Quartic(3), []float64{1, -0.7, 0.4}, 0.05, 3000)
	fitQ, err := FitLojasiewicz(quartic, LojasiewiczOptions{FStar: 0, Rand: newRand(6)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("least squares (PL): theta %.4f [%.4f, %.4f], c %.3f (the inequality holds with c = sqrt(2 mu)), %d points", fitPL.Theta, fitPL.Lo, fitPL.Hi, fitPL.C, fitPL.Points)
	t.Logf("sum x^4: theta %.4f [%.4f, %.4f], c %.3f (theory 3/4; c -> 4 * 3^(-1/4) = 3.04 as the coordinates equalize)", fitQ.Theta, fitQ.Lo, fitQ.Hi, fitQ.C)
	// Tolerance 0.05: the transient of GD, where the ratio |g|^2/f moves
	// from a mean of the spectrum to its bottom over ~20 decades of f,
	// bends the lower envelope by at most log(L/mu)/(2 ln(1e20)) ~ 0.04.
	if math.Abs(fitPL.Theta-0.5) > 0.05 {
		t.Errorf("PL problem: theta %v, want 1/2 +- 0.05", fitPL.Theta)
	}
	if math.Abs(fitQ.Theta-0.75) > 0.05 {
		t.Errorf("x^4: theta %v, want 3/4 +- 0.05", fitQ.Theta)
	}
	if fitQ.Lo <= fitPL.Hi {
		t.Errorf("intervals overlap: x^4 [%v, %v], PL [%v, %v]", fitQ.Lo, fitQ.Hi, fitPL.Lo, fitPL.Hi)
	}
	if !(fitPL.Lo <= fitPL.Theta && fitPL.Theta <= fitPL.Hi) {
		t.Errorf("PL fit %v outside its interval [%v, %v]", fitPL.Theta, fitPL.Lo, fitPL.Hi)
	}
	// Option errors name the field.
	if _, err := FitLojasiewicz(pl, LojasiewiczOptions{Quantile: 2, Rand: newRand(1)}); err == nil {
		t.Error("Quantile 2: no error")
	}
	if _, err := FitLojasiewicz(pl, LojasiewiczOptions{}); err == nil {
		t.Error("nil Rand: no error")
	}
	if _, err := FitLojasiewicz(&Trajectory{}, LojasiewiczOptions{Rand: newRand(1)}); err == nil {
		t.Error("empty trajectory: no error")
	}
}
