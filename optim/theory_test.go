package optim

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestGDLinearRateUnderPL checks the Polyak-Lojasiewicz rate of gradient
// descent with eta = 1/L, f_k - f* <= (1 - mu/L)^k (f_0 - f*), at every step,
// on two PL problems that are not strongly convex (Karimi et al. 2016).
func TestGDLinearRateUnderPL(t *testing.T) {
	t.Run("wide least squares", func(t *testing.T) {
		// f(x) = (1/2n)|Ax - b|^2 with A 20x50 and b = A x_true: the
		// Hessian A^T A/n is singular (30 zero eigenvalues), f* = 0, and
		// PL holds with mu the smallest nonzero eigenvalue, which is
		// lambda_min(A A^T/n); L = lambda_max.
		rng := rand.New(rand.NewPCG(1, 2))
		const n, d = 20, 50
		ls := newRegression(rng, n, d, 0, 0)
		var g mat.SymDense
		g.SymOuterK(1/float64(n), ls.a)
		ev := symEigen(t, &g)
		mu, L := ev[0], ev[n-1]
		if !(mu > 0) {
			t.Fatalf("A A^T is singular (mu = %g)", mu)
		}
		opt, err := NewSGD([]*Param[float64]{ls.p}, SGDConfig{LR: 1 / L})
		mustNoErr(t, err)
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		f0 := ls.value(ls.p.Value.Data())
		rate := 1 - mu/L
		for k := 1; k <= 400; k++ {
			ls.Grad(all)
			opt.Step()
			f := ls.value(ls.p.Value.Data())
			// The relative slack covers rounding in f; the absolute floor
			// is where f reaches rounding level of f_0.
			if bound := math.Pow(rate, float64(k)) * f0; f > bound*(1+1e-9)+1e-26*f0 {
				t.Fatalf("step %d: f - f* = %g > (1 - mu/L)^k (f0 - f*) = %g (mu = %g, L = %g)", k, f, bound, mu, L)
			}
		}
		t.Logf("mu = %.4g, L = %.4g, final f = %.3g (f0 = %.3g)", mu, L, ls.value(ls.p.Value.Data()), f0)
	})
	t.Run("x^2 + 3 sin^2 x", func(t *testing.T) {
		// f = x^2 + 3 sin^2 x is nonconvex (f'' = 2 + 6 cos 2x dips to
		// -4), 8-smooth (f'' <= 8), and PL with mu = 1/32 (Karimi et al.);
		// f* = 0 at x = 0.
		f := func(x float64) float64 { s := math.Sin(x); return x*x + 3*s*s }
		df := func(x float64) float64 { return 2*x + 3*math.Sin(2*x) }
		const mu, L = 1.0 / 32, 8.0
		// Check the PL constant on a fine grid before relying on it.
		for x := -20.0; x <= 20; x += 1e-3 {
			if g := df(x); 0.5*g*g < mu*f(x)*(1-1e-12) {
				t.Fatalf("PL with mu = 1/32 fails at x = %g", x)
			}
		}
		for _, x0 := range []float64{-7, -2.5, -1, 0.3, 1.9, 4, 11} {
			p := vecParam("x", []float64{x0})
			opt, err := NewSGD([]*Param[float64]{p}, SGDConfig{LR: 1 / L})
			mustNoErr(t, err)
			f0 := f(x0)
			for k := 1; k <= 2000; k++ {
				p.Grad.Data()[0] = df(p.Value.Data()[0])
				opt.Step()
				fk := f(p.Value.Data()[0])
				if bound := math.Pow(1-mu/L, float64(k)) * f0; fk > bound*(1+1e-9)+1e-300 {
					t.Fatalf("x0 = %g, step %d: f = %g > bound %g", x0, k, fk, bound)
				}
			}
		}
	})
}

// fittedRate runs step on a diagonal quadratic 0.5 sum lambda_i x_i^2 from
// x = 1 and returns exp of the fitted slope of log|x_k| over k in [from, to].
func fittedRate(t *testing.T, lambda []float64, cfg SGDConfig, from, to int) float64 {
	x := make([]float64, len(lambda))
	for i := range x {
		x[i] = 1
	}
	p := vecParam("x", x)
	opt, err := NewSGD([]*Param[float64]{p}, cfg)
	mustNoErr(t, err)
	var ks, logs []float64
	for k := 1; k <= to; k++ {
		xv, g := p.Value.Data(), p.Grad.Data()
		for i, l := range lambda {
			g[i] = l * xv[i]
		}
		opt.Step()
		if k >= from {
			ks = append(ks, float64(k))
			logs = append(logs, 0.5*math.Log(dot(p.Value.Data(), p.Value.Data())))
		}
	}
	return math.Exp(fitSlope(ks, logs))
}

// TestMomentumRates checks the asymptotic contraction factors on an
// ill-conditioned quadratic (kappa = 100, eigenvalues evenly spread in
// [mu, L]) against the theory, with the parameters computed from mu and L:
// gradient descent (eta = 1/L) 1 - mu/L; Polyak's heavy ball with his
// optimal eta = 4/(sqrt L + sqrt mu)^2 and momentum
// ((sqrt L - sqrt mu)/(sqrt L + sqrt mu))^2: (sqrt kappa - 1)/(sqrt kappa + 1);
// Nesterov with eta = 1/L and momentum (sqrt kappa - 1)/(sqrt kappa + 1):
// 1 - 1/sqrt kappa. The two momentum methods have a double root at the
// extreme eigenvalue, so the error behaves like k r^k and a fit over
// k in [150, 300] overestimates r by about r/k < 0.006: the tolerance.
func TestMomentumRates(t *testing.T) {
	const mu, L, d = 0.01, 1.0, 50
	lambda := make([]float64, d)
	for i := range lambda {
		lambda[i] = mu + (L-mu)*float64(i)/(d-1)
	}
	kappa := L / mu
	sk, sm, sl := math.Sqrt(kappa), math.Sqrt(mu), math.Sqrt(L)

	gd := fittedRate(t, lambda, SGDConfig{LR: 1 / L}, 300, 600)
	if want := 1 - mu/L; math.Abs(gd-want) > 1e-3 {
		t.Errorf("GD: fitted rate %.5f, theory 1 - mu/L = %.5f", gd, want)
	}
	hb := fittedRate(t, lambda, SGDConfig{LR: 4 / ((sl + sm) * (sl + sm)),
		Momentum: math.Pow((sl-sm)/(sl+sm), 2)}, 150, 300)
	if want := (sk - 1) / (sk + 1); math.Abs(hb-want) > 0.006 {
		t.Errorf("heavy ball: fitted rate %.5f, theory (sqrt k - 1)/(sqrt k + 1) = %.5f", hb, want)
	}
	nest := fittedRate(t, lambda, SGDConfig{LR: 1 / L, Momentum: (sk - 1) / (sk + 1), Nesterov: true}, 150, 300)
	if want := 1 - 1/sk; math.Abs(nest-want) > 0.006 {
		t.Errorf("Nesterov: fitted rate %.5f, theory 1 - 1/sqrt(kappa) = %.5f", nest, want)
	}
	if !(hb < nest && nest < gd) {
		t.Errorf("rates not ordered heavy ball < Nesterov < GD: %.4f, %.4f, %.4f", hb, nest, gd)
	}
	t.Logf("kappa = %g: GD %.5f, heavy ball %.5f, Nesterov %.5f", kappa, gd, hb, nest)
}
