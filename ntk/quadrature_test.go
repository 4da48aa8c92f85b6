package ntk

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// The Gauss-Kronrod constants integrate monomials exactly: the 15-point
// rule up to degree 22 (3*7+1) and the embedded 7-point Gauss rule up to
// degree 13, which catches a mistyped digit in any node or weight.
func TestGK15Exactness(t *testing.T) {
	for deg := 0; deg <= 23; deg++ {
		f := func(x float64) (float64, float64) { return math.Pow(x, float64(deg)), 0 }
		k, _, e, _, _, _ := gk15(f, -1, 1)
		want := 0.0
		if deg%2 == 0 {
			want = 2 / float64(deg+1)
		}
		g := k - e // |k - g| = e, and for even degree g <= k is not known: recompute
		_ = g
		if deg <= 22 && math.Abs(k-want) > 1e-15 {
			t.Errorf("Kronrod degree %d: %.17g, want %.17g", deg, k, want)
		}
		if deg <= 13 && e > 1e-13 {
			t.Errorf("Gauss degree %d: |K - G| = %g, want 0", deg, e)
		}
		if deg == 14 && e == 0 {
			t.Errorf("Gauss degree 14: |K - G| = %g, want the Gauss rule to be inexact", e)
		}
	}
}

// pairGrid is the grid of (q1, q2, rho) the quadrature is checked on:
// tiny, unit and huge variances, and correlations including +-1 and
// within 1e-6 of them.
func pairGrid() [][3]float64 {
	var g [][3]float64
	qs := []float64{1e-6, 0.3, 1, 50, 1e4}
	rhos := []float64{-1, -0.999999, -0.9, -0.5, 0, 0.2, 0.7, 0.99, 0.999999, 1}
	for _, q1 := range qs {
		for _, q2 := range qs {
			for _, r := range rhos {
				g = append(g, [3]float64{q1, q2, r})
			}
		}
	}
	return g
}

// The quadrature of any activation against the closed forms of ReLU,
// leaky ReLU and erf over pairGrid, with errors relative to the natural
// scales sqrt(K(x,x) K(x',x')) and sqrt(Kdot(x,x) Kdot(x',x')): at most
// 1e-10 (the test's bound), and the achieved maximum is logged.
func TestQuadratureMatchesClosedForms(t *testing.T) {
	for _, act := range []nn.Activation{nn.ReLU, nn.LeakyReLU, nn.Erf} {
		closed, err := kernelMapOf(act)
		if err != nil {
			t.Fatal(err)
		}
		num := numericKernelMap(act.Eval)
		var worstK, worstKd float64
		for _, p := range pairGrid() {
			q1, q2 := p[0], p[1]
			c := p[2] * math.Sqrt(q1*q2)
			k, kd := num.pair(q1, q2, c)
			wk, wkd := closed.pair(q1, q2, c)
			_, kd1 := closed.pair(q1, q1, q1)
			_, kd2 := closed.pair(q2, q2, q2)
			sk := math.Sqrt(closed.diag(q1) * closed.diag(q2))
			skd := math.Sqrt(kd1 * kd2)
			ek, ekd := math.Abs(k-wk)/sk, math.Abs(kd-wkd)/skd
			if ek > 1e-10 || ekd > 1e-10 {
				t.Errorf("%s q1=%g q2=%g rho=%g: K %.16g Kdot %.16g, closed form %.16g %.16g (relative errors %.2g, %.2g)", act, q1, q2, p[2], k, kd, wk, wkd, ek, ekd)
			}
			worstK, worstKd = math.Max(worstK, ek), math.Max(worstKd, ekd)
			if d, wd := num.diag(q1), closed.diag(q1); math.Abs(d-wd) > 1e-10*wd {
				t.Errorf("%s diag(%g) = %.16g, closed form %.16g", act, q1, d, wd)
			}
		}
		t.Logf("%s: largest relative error over %d grid points: K %.2g, Kdot %.2g", act, len(pairGrid()), worstK, worstKd)
	}
}

// sin's closed form against the quadrature of the same function, on
// variances up to 4 (beyond, the integrand oscillates many times per
// standard deviation and the kernel is below exp(-q)).
func TestSinClosedForm(t *testing.T) {
	num := numericKernelMap(func(z float64) (float64, float64) { s, c := math.Sincos(z); return s, c })
	closed, err := kernelMapOf(Sin)
	if err != nil {
		t.Fatal(err)
	}
	for _, q1 := range []float64{1e-4, 0.5, 1, 4} {
		for _, q2 := range []float64{1e-4, 0.5, 1, 4} {
			for _, r := range []float64{-1, -0.6, 0, 0.3, 0.999, 1} {
				c := r * math.Sqrt(q1*q2)
				k, kd := num.pair(q1, q2, c)
				wk, wkd := closed.pair(q1, q2, c)
				if math.Abs(k-wk) > 1e-12 || math.Abs(kd-wkd) > 1e-12 {
					t.Errorf("sin q1=%g q2=%g rho=%g: quadrature %.16g %.16g, closed form %.16g %.16g", q1, q2, r, k, kd, wk, wkd)
				}
			}
			if d, wd := num.diag(q1), closed.diag(q1); math.Abs(d-wd) > 1e-12 {
				t.Errorf("sin diag(%g) = %.16g, closed form %.16g", q1, d, wd)
			}
		}
	}
}

// The smooth activations without a closed form against an independent
// reference: 80-node tensor Gauss-Hermite (the test helper gaussExpect),
// which converges for these entire or meromorphic integrands at moderate
// variance. Every activation of the vocabulary has a kernel map.
func TestQuadratureSmoothActivations(t *testing.T) {
	for _, act := range []nn.Activation{nn.Tanh, nn.Sigmoid, nn.GELU, nn.SiLU, nn.Softplus} {
		km, err := kernelMapOf(act)
		if err != nil {
			t.Fatal(err)
		}
		if km.kind != actNumeric {
			t.Errorf("%s: kind %d, want numeric", act, km.kind)
		}
		for _, p := range [][3]float64{{1, 1, 0.3}, {0.5, 2, -0.6}, {0.3, 0.2, 0.2}, {1, 1.5, 0.999}} {
			q1, q2, c := p[0], p[1], p[2]
			k, kd := km.pair(q1, q2, c)
			wk := gaussExpect(q1, q2, c, func(u, v float64) float64 { a, _ := act.Eval(u); b, _ := act.Eval(v); return a * b })
			wkd := gaussExpect(q1, q2, c, func(u, v float64) float64 { _, a := act.Eval(u); _, b := act.Eval(v); return a * b })
			if !relClose(k, wk, 1e-9) || !relClose(kd, wkd, 1e-9) {
				t.Errorf("%s %v: K %.15g Kdot %.15g, Gauss-Hermite %.15g %.15g", act, p, k, kd, wk, wkd)
			}
		}
	}
	for _, a := range []nn.Activation{nn.Identity, nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.SiLU, nn.Softplus, nn.Erf, Sin, ""} {
		if _, err := kernelMapOf(a); err != nil {
			t.Errorf("kernelMapOf(%q): %v", a, err)
		}
	}
	if _, err := kernelMapOf("swish"); err == nil {
		t.Error(`kernelMapOf("swish"): no error`)
	}
}

// The quadrature path of Arch.Kernels: one input set (upper triangle,
// mirrored, rows in parallel) against two copies of it (every entry), and
// a 1-hidden-layer NNGP entry against the pair map directly.
func TestNumericArchKernels(t *testing.T) {
	x := tensor.ToDense(randTensor(420, 5, 3))
	arch := Arch{Depth: 2, Act: nn.SiLU, WStd: 1.3, BStd: 0.2}
	same, err := arch.Kernels(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	cross, err := arch.Kernels(x, mat.DenseCopyOf(x))
	if err != nil {
		t.Fatal(err)
	}
	if d := matRelDiff(same.NNGP, cross.NNGP); d > 1e-13 {
		t.Errorf("NNGP of one set and of two copies differ by %.2g", d)
	}
	if d := matRelDiff(same.NTK, cross.NTK); d > 1e-13 {
		t.Errorf("NTK of one set and of two copies differ by %.2g", d)
	}
	one, err := Arch{Depth: 1, Act: nn.SiLU}.Kernels(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	km, _ := kernelMapOf(nn.SiLU)
	var q0, q1, c float64
	for j := 0; j < 3; j++ {
		q0 += x.At(0, j) * x.At(0, j) / 3
		q1 += x.At(1, j) * x.At(1, j) / 3
		c += x.At(0, j) * x.At(1, j) / 3
	}
	if k, _ := km.pair(q0, q1, c); math.Abs(one.NNGP.At(0, 1)-k) > 1e-15*math.Abs(k) || one.NNGP.At(1, 0) != one.NNGP.At(0, 1) {
		t.Errorf("NNGP(0,1) = %v (mirrored %v), pair map %v", one.NNGP.At(0, 1), one.NNGP.At(1, 0), k)
	}
}

// Arch.Numeric: true exactly for the activations without a closed form.
func TestArchNumeric(t *testing.T) {
	for _, c := range []struct {
		act  nn.Activation
		want bool
	}{{"", false}, {nn.ReLU, false}, {nn.LeakyReLU, false}, {nn.Erf, false}, {nn.Identity, false}, {Sin, false},
		{nn.Tanh, true}, {nn.Sigmoid, true}, {nn.GELU, true}, {nn.SiLU, true}, {nn.Softplus, true}, {"swish", false}} {
		if got := (Arch{Depth: 1, Act: c.act}).Numeric(); got != c.want {
			t.Errorf("Arch{Act: %q}.Numeric() = %v, want %v", c.act, got, c.want)
		}
	}
}
