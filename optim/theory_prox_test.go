package optim

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/tensor"
)

// lasso is F(x) = 0.5 |Ax - b|^2 + lambda |x|_1 with a planted sparse signal.
type lasso struct {
	a      *mat.Dense
	b      []float64
	lambda float64
	truth  []float64
	r      []float64 // scratch residual
}

func newLasso(rng *rand.Rand) *lasso {
	const m, d, k = 100, 200, 8
	a := mat.NewDense(m, d, nil)
	for i := 0; i < m; i++ {
		for j := 0; j < d; j++ {
			a.Set(i, j, rng.NormFloat64()/math.Sqrt(m))
		}
	}
	truth := make([]float64, d)
	for _, j := range rng.Perm(d)[:k] {
		truth[j] = (1 + rng.Float64())
		if rng.IntN(2) == 0 {
			truth[j] = -truth[j]
		}
	}
	b := make([]float64, m)
	bv := mat.NewVecDense(m, b)
	bv.MulVec(a, mat.NewVecDense(d, truth))
	for i := range b {
		b[i] += 0.01 * rng.NormFloat64()
	}
	return &lasso{a: a, b: b, lambda: 0.1, truth: truth, r: make([]float64, m)}
}

// grad writes A^T(Ax - b) into g and returns the smooth part 0.5|Ax - b|^2.
func (l *lasso) grad(x, g []float64) float64 {
	m, d := l.a.Dims()
	rv := mat.NewVecDense(m, l.r)
	rv.MulVec(l.a, mat.NewVecDense(d, x))
	for i := range l.r {
		l.r[i] -= l.b[i]
	}
	if g != nil {
		mat.NewVecDense(d, g).MulVec(l.a.T(), rv)
	}
	return 0.5 * dot(l.r, l.r)
}

func (l *lasso) value(x []float64) float64 {
	return l.grad(x, nil) + L1[float64]{Lambda: l.lambda}.Value(x)
}

func (l *lasso) smoothness(t *testing.T) float64 {
	var ata mat.SymDense
	ata.SymOuterK(1, l.a.T())
	ev := symEigen(t, &ata)
	return ev[len(ev)-1]
}

func support(x []float64) []bool {
	s := make([]bool, len(x))
	for i, v := range x {
		s[i] = v != 0
	}
	return s
}

// runProx runs n steps of a proximal method on the lasso from x = 0 and
// returns F at the method's iterate after every step.
func runProx(t *testing.T, l *lasso, n int, mk func(p *Param[float64]) (Optimizer[float64], func() []float64)) []float64 {
	_, d := l.a.Dims()
	p := vecParam("x", make([]float64, d))
	opt, iterate := mk(p)
	out := make([]float64, n)
	for k := range out {
		l.grad(p.Value.Data(), p.Grad.Data())
		opt.Step()
		out[k] = l.value(iterate())
	}
	return out
}

// TestISTAFISTALasso checks the Beck-Teboulle bounds on a LASSO with a
// planted 8-sparse signal at every step k <= 300, with L = lambda_max(A^T A)
// and eta = 1/L:
//
//	ISTA  F(x_k) - F* <= L |x0 - x*|^2 / (2k)           (Thm. 3.1)
//	FISTA F(x_k) - F* <= 2 L |x0 - x*|^2 / (k+1)^2      (Thm. 4.4)
//
// with F* and x* from 20000 steps of restarted FISTA whose optimality
// (KKT) conditions are checked to 1e-9. It also checks that FISTA needs
// fewer steps than ISTA to reach 1e-4 relative accuracy, restarted FISTA
// fewer than plain FISTA to reach 1e-10, and that ISTA and FISTA both
// recover the support of the planted signal.
func TestISTAFISTALasso(t *testing.T) {
	l := newLasso(rand.New(rand.NewPCG(21, 22)))
	L := l.smoothness(t)
	_, d := l.a.Dims()
	l1 := L1[float64]{Lambda: l.lambda}

	// Reference solution, then its KKT conditions:
	// A_j^T r = -lambda sign(x_j) on the support, |A_j^T r| <= lambda off it.
	ref := vecParam("x", make([]float64, d))
	fr, err := NewFISTA([]*Param[float64]{ref}, FISTAConfig[float64]{LR: 1 / L, Prox: l1, Restart: GradientRestart})
	mustNoErr(t, err)
	for k := 0; k < 20000; k++ {
		l.grad(ref.Value.Data(), ref.Grad.Data())
		fr.Step()
	}
	fr.UseIterate()
	xs := ref.Value.Data()
	g := make([]float64, d)
	l.grad(xs, g)
	for j, v := range xs {
		if v != 0 && math.Abs(g[j]+l.lambda*math.Copysign(1, v)) > 1e-9 ||
			v == 0 && math.Abs(g[j]) > l.lambda+1e-9 {
			t.Fatalf("reference solution violates the KKT conditions at %d: x = %g, A^T r = %g", j, v, g[j])
		}
	}
	fStar := l.value(xs)
	r0 := dist2(make([]float64, d), xs)
	f0 := l.value(make([]float64, d)) - fStar

	const n = 3000
	ista := runProx(t, l, n, func(p *Param[float64]) (Optimizer[float64], func() []float64) {
		o, err := NewProxSGD([]*Param[float64]{p}, ProxConfig[float64]{LR: 1 / L, Prox: l1})
		mustNoErr(t, err)
		return o, p.Value.Data
	})
	fista := func(r Restart) ([]float64, *FISTA[float64]) {
		var o *FISTA[float64]
		var p0 *Param[float64]
		out := runProx(t, l, n, func(p *Param[float64]) (Optimizer[float64], func() []float64) {
			var err error
			o, err = NewFISTA([]*Param[float64]{p}, FISTAConfig[float64]{LR: 1 / L, Prox: l1, Restart: r,
				Smooth: func() float64 { return l.grad(p.Value.Data(), nil) }})
			mustNoErr(t, err)
			p0 = p
			return o, func() []float64 { return o.Iterate(0, 0) }
		})
		o.UseIterate()
		if got, want := p0.Value.Data(), o.Iterate(0, 0); &got[0] == &want[0] || dist2(got, want) != 0 {
			t.Fatal("UseIterate did not copy the iterate into the parameter")
		}
		return out, o
	}
	plain, _ := fista(NoRestart)
	grest, og := fista(GradientRestart)
	frest, of := fista(FunctionRestart)

	// The slack 1e-12 covers the error of F* (the reference is optimal to
	// rounding) relative to F's scale.
	slack := 1e-12 * math.Max(1, fStar)
	for k := 1; k <= 300; k++ {
		if gap, b := ista[k-1]-fStar, L*r0/(2*float64(k)); gap > b+slack {
			t.Fatalf("ISTA step %d: F - F* = %.3g > L|x0 - x*|^2/(2k) = %.3g", k, gap, b)
		}
		if gap, b := plain[k-1]-fStar, 2*L*r0/float64((k+1)*(k+1)); gap > b+slack {
			t.Fatalf("FISTA step %d: F - F* = %.3g > 2L|x0 - x*|^2/(k+1)^2 = %.3g", k, gap, b)
		}
	}
	reach := func(tr []float64, tol float64) int {
		for k, f := range tr {
			if f-fStar <= tol*f0 {
				return k + 1
			}
		}
		return len(tr) + 1
	}
	ki, kf := reach(ista, 1e-4), reach(plain, 1e-4)
	kp, kg, kfr := reach(plain, 1e-10), reach(grest, 1e-10), reach(frest, 1e-10)
	t.Logf("steps to 1e-4: ISTA %d, FISTA %d; to 1e-10: FISTA %d, gradient restart %d (%d restarts), function restart %d (%d restarts)",
		ki, kf, kp, kg, og.Restarts(), kfr, of.Restarts())
	if !(kf < ki) {
		t.Errorf("FISTA (%d steps) not faster than ISTA (%d) to 1e-4", kf, ki)
	}
	if !(kg < kp && kfr < kp) || kg > n || kfr > n {
		t.Errorf("restarted FISTA (%d gradient, %d function) not faster than FISTA (%d) to 1e-10", kg, kfr, kp)
	}
	if og.Restarts() == 0 || of.Restarts() == 0 {
		t.Errorf("no restart happened (gradient %d, function %d)", og.Restarts(), of.Restarts())
	}

	// Support recovery by ISTA and FISTA after n steps.
	want := support(l.truth)
	for name, mk := range map[string]func(p *Param[float64]) (Optimizer[float64], func() []float64){
		"ISTA": func(p *Param[float64]) (Optimizer[float64], func() []float64) {
			o, _ := NewProxSGD([]*Param[float64]{p}, ProxConfig[float64]{LR: 1 / L, Prox: l1})
			return o, p.Value.Data
		},
		"FISTA": func(p *Param[float64]) (Optimizer[float64], func() []float64) {
			o, _ := NewFISTA([]*Param[float64]{p}, FISTAConfig[float64]{LR: 1 / L, Prox: l1})
			return o, func() []float64 { return o.Iterate(0, 0) }
		},
	} {
		p := vecParam("x", make([]float64, d))
		o, it := mk(p)
		for k := 0; k < n; k++ {
			l.grad(p.Value.Data(), p.Grad.Data())
			o.Step()
		}
		got := support(it())
		for j := range want {
			if got[j] != want[j] {
				t.Errorf("%s: support differs from the planted signal at %d (x = %g, truth %g)", name, j, it()[j], l.truth[j])
			}
		}
	}
}

// TestPolyakStep checks Polyak's step with known f*. For any convex f,
// |x_{k+1} - x*|^2 <= |x_k - x*|^2 - (f_k - f*)^2/|g_k|^2 (Polyak 1987): it is
// checked at every step, on a nonsmooth sharp problem (mean absolute
// residual of a consistent system, f* = 0) where it converges linearly, and
// on a smooth mu-strongly convex quadratic where it implies
// |x_k - x*|^2 <= (1 - mu/(4L))^k |x_0 - x*|^2, also checked.
func TestPolyakStep(t *testing.T) {
	const n, d = 60, 10
	rng := rand.New(rand.NewPCG(31, 32))
	a := mat.NewDense(n, d, nil)
	xt := make([]float64, d)
	for j := range xt {
		xt[j] = rng.NormFloat64()
	}
	b := make([]float64, n)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			a.Set(i, j, rng.NormFloat64())
		}
		b[i] = dot(a.RawRowView(i), xt)
	}
	l1res := func(x, g []float64) float64 {
		var f float64
		clear(g)
		for i := 0; i < n; i++ {
			row := a.RawRowView(i)
			r := dot(row, x) - b[i]
			f += math.Abs(r) / n
			s := 0.0
			if r > 0 {
				s = 1.0 / n
			} else if r < 0 {
				s = -1.0 / n
			}
			for j, v := range row {
				g[j] += s * v
			}
		}
		return f
	}
	run := func(t *testing.T, f func(x, g []float64) float64, fstar float64, xs []float64, steps int, extra func(k int, e2 float64)) float64 {
		p := vecParam("x", make([]float64, d))
		opt, err := NewPolyak([]*Param[float64]{p}, PolyakConfig{LR: 1, FStar: fstar})
		mustNoErr(t, err)
		e2 := dist2(p.Value.Data(), xs)
		var fk float64
		for k := 1; k <= steps; k++ {
			fk = f(p.Value.Data(), p.Grad.Data())
			g2 := dot(p.Grad.Data(), p.Grad.Data())
			if fk-fstar <= 1e-14*(1+math.Abs(fstar)) || g2 == 0 {
				break // at the rounding floor, the inequality is about rounding
			}
			opt.SetLoss(fk)
			opt.Step()
			e2n := dist2(p.Value.Data(), xs)
			// On a piecewise-linear f the inequality can hold with
			// equality, so the slack is rounding: x carries errors of
			// about 1e-16 |x*| per coordinate, which move |x - x*|^2 by
			// about 2 |x - x*| 1e-16 sqrt(d) |x*|.
			slack := 1e-9*e2 + 1e-14*math.Sqrt(e2)*(1+math.Sqrt(dot(xs, xs)))
			if dec := (fk - fstar) * (fk - fstar) / g2; e2n > e2-dec+slack {
				t.Fatalf("step %d: |x - x*|^2 went %.6g -> %.6g, Polyak guarantees <= %.6g", k, e2, e2n, e2-dec)
			}
			e2 = e2n
			if extra != nil {
				extra(k, e2)
			}
		}
		return fk - fstar
	}
	t.Run("nonsmooth sharp", func(t *testing.T) {
		if gap := run(t, l1res, 0, xt, 3000, nil); gap > 1e-10 {
			t.Errorf("Polyak on |Ax - b|_1: f - f* = %.3g after 3000 steps, want linear convergence", gap)
		}
	})
	t.Run("strongly convex", func(t *testing.T) {
		ls := &leastSquares{a: a, b: b, ridge: 0.5}
		xs := ls.minimizer(t)
		ev := symEigen(t, ls.hessian())
		mu, L := ev[0], ev[len(ev)-1]
		all := allIndices(n)
		e0 := dist2(make([]float64, d), xs)
		f := func(x, g []float64) float64 {
			ls.p = &Param[float64]{Value: tensor.FromSlice(x), Grad: tensor.FromSlice(g)}
			ls.Grad(all)
			return ls.value(x)
		}
		run(t, f, ls.value(xs), xs, 500, func(k int, e2 float64) {
			if b := math.Pow(1-mu/(4*L), float64(k)) * e0; e2 > b*(1+1e-9)+1e-28 {
				t.Fatalf("step %d: |x - x*|^2 = %.3g > (1 - mu/4L)^k |x0 - x*|^2 = %.3g", k, e2, b)
			}
		})
	})
	t.Run("estimated f*", func(t *testing.T) {
		// Without f*, the level f_best - delta with delta >= DeltaMin
		// guarantees inf_k f(x_k) <= f* + DeltaMin (Nedić and Bertsekas
		// 2001); progress per step is of order delta, so
		// DeltaMin is not tiny here.
		p := vecParam("x", make([]float64, d))
		const dmin = 1e-2
		opt, err := NewPolyak([]*Param[float64]{p}, PolyakConfig{LR: 1, Estimate: true, Delta: 1, DeltaMin: dmin, Shrink: 0.5, Grow: 1.5})
		mustNoErr(t, err)
		best := math.Inf(1)
		for k := 0; k < 2000; k++ {
			fk := l1res(p.Value.Data(), p.Grad.Data())
			best = math.Min(best, fk)
			opt.SetLoss(fk)
			opt.Step()
		}
		t.Logf("best f with estimated f*: %.3g (DeltaMin %g)", best, dmin)
		if best > dmin {
			t.Errorf("Polyak with estimated f*: best f - f* = %.3g > DeltaMin", best)
		}
	})
}

// TestArmijoLineSearch checks that every step of the line search satisfies
// the Armijo condition, recomputed independently, that on a quadratic with
// smoothness L the accepted step is at least min(eta0, 2 Shrink (1-C)/L),
// and that on Rosenbrock's function (nonconvex) f decreases monotonically
// and reaches the minimum's neighbourhood.
func TestArmijoLineSearch(t *testing.T) {
	t.Run("quadratic", func(t *testing.T) {
		ls := newRegression(rand.New(rand.NewPCG(41, 42)), 100, 10, 0.5, 0.01)
		ev := symEigen(t, ls.hessian())
		L := ev[len(ev)-1]
		cfg := DefaultArmijo(100 / L) // start far too large: backtracking must act
		opt, err := NewLineSearchGD([]*Param[float64]{ls.p}, cfg)
		mustNoErr(t, err)
		all := allIndices(100)
		obj := func(grad bool) float64 {
			if grad {
				ls.Grad(all)
			}
			return ls.value(ls.p.Value.Data())
		}
		minEta := math.Min(cfg.LR, 2*cfg.Shrink*(1-cfg.C)/L)
		for k := 0; k < 50; k++ {
			x0 := append([]float64(nil), ls.p.Value.Data()...)
			f0 := ls.value(x0)
			ls.Grad(all)
			g2 := dot(ls.p.Grad.Data(), ls.p.Grad.Data())
			f1, err := opt.Step(obj)
			mustNoErr(t, err)
			eta := opt.LastStepSize()
			if f1 != ls.value(ls.p.Value.Data()) || f1 > f0-cfg.C*eta*g2 {
				t.Fatalf("step %d: f %.10g -> %.10g with eta %.3g violates Armijo", k, f0, f1, eta)
			}
			if g2 > 0 && eta < minEta*(1-1e-12) {
				t.Fatalf("step %d: accepted eta %.4g below min(eta0, 2 Shrink (1-C)/L) = %.4g", k, eta, minEta)
			}
		}
	})
	t.Run("rosenbrock", func(t *testing.T) {
		p := vecParam("x", []float64{-1.2, 1})
		rosen := func(grad bool) float64 {
			x, y := p.Value.Data()[0], p.Value.Data()[1]
			if grad {
				g := p.Grad.Data()
				g[0] = -2*(1-x) - 400*x*(y-x*x)
				g[1] = 200 * (y - x*x)
			}
			return (1-x)*(1-x) + 100*(y-x*x)*(y-x*x)
		}
		cfg := DefaultArmijo(1)
		cfg.Grow = 2
		opt, err := NewLineSearchGD([]*Param[float64]{p}, cfg)
		mustNoErr(t, err)
		prev := rosen(false)
		for k := 0; k < 20000; k++ {
			f, err := opt.Step(rosen)
			mustNoErr(t, err)
			if f > prev {
				t.Fatalf("step %d: f increased %.10g -> %.10g", k, prev, f)
			}
			prev = f
		}
		if prev > 1e-8 {
			t.Errorf("Rosenbrock after 20000 line-search steps: f = %.3g, want < 1e-8", prev)
		}
		t.Logf("Rosenbrock: f = %.3g at %v after %d evaluations", prev, p.Value.Data(), opt.Evaluations())
	})
}
