package optim

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

// The Robbins-Monro tests run SGD on many independent copies ("chains") of
// one noisy strongly convex quadratic in R^2,
//
//	f(x) = 0.5 (x - x*)^T H (x - x*),   g(x) = H (x - x*) + L z,  z ~ N(0, I_2),
//
// with L L^T = S the gradient-noise covariance. The chains are the rows of
// one [chains, 2] parameter updated by the real optimizer (New + Scheduler
// + Step, with Spec.Average for the averaged runs); only the gradient
// oracle is test code. Means over chains estimate expectations: the
// Monte Carlo error of a mean of |x - x*|^2 over 2000 chains is about 3%,
// which moves a slope fitted over a factor 16 in t by about 0.02.
var (
	rmH  = [2][2]float64{{2, 0.6}, {0.6, 1}}   // eigenvalues 0.719 and 2.281
	rmS  = [2][2]float64{{1, 0.3}, {0.3, 0.5}} // gradient-noise covariance
	rmXs = [2]float64{1, -2}
)

// rmMu is the smallest eigenvalue of rmH, mu.
func rmMu() float64 {
	tr, det := rmH[0][0]+rmH[1][1], rmH[0][0]*rmH[1][1]-rmH[0][1]*rmH[1][0]
	return tr/2 - math.Sqrt(tr*tr/4-det)
}

// quadChains is the gradient oracle of the chains.
type quadChains struct {
	p    *Param[float64]
	rngs []*rand.Rand // one per chain, or a single one shared by all
	l    [2][2]float64
}

// newQuadChains returns n chains started at x* + x0, each drawing its noise
// from its own generator PCG(seed, chain) when perChainSeed, else all from
// PCG(seed, 0).
func newQuadChains(n int, seed uint64, x0 [2]float64, perChainSeed bool) *quadChains {
	v := make([]float64, 2*n)
	for i := range n {
		v[2*i], v[2*i+1] = rmXs[0]+x0[0], rmXs[1]+x0[1]
	}
	q := &quadChains{p: &Param[float64]{Name: "x", Value: tensor.FromSlice(v, n, 2), Grad: tensor.New[float64](n, 2)}}
	if perChainSeed {
		for i := range n {
			q.rngs = append(q.rngs, rand.New(rand.NewPCG(seed, uint64(i))))
		}
	} else {
		q.rngs = []*rand.Rand{rand.New(rand.NewPCG(seed, 0))}
	}
	// Cholesky factor of S.
	q.l[0][0] = math.Sqrt(rmS[0][0])
	q.l[1][0] = rmS[1][0] / q.l[0][0]
	q.l[1][1] = math.Sqrt(rmS[1][1] - q.l[1][0]*q.l[1][0])
	return q
}

// grad writes the stochastic gradient of every chain into p.Grad.
func (q *quadChains) grad() {
	x, g := q.p.Value.Data(), q.p.Grad.Data()
	for i := 0; i < len(x); i += 2 {
		r := q.rngs[0]
		if len(q.rngs) > 1 {
			r = q.rngs[i/2]
		}
		z0, z1 := r.NormFloat64(), r.NormFloat64()
		e0, e1 := x[i]-rmXs[0], x[i+1]-rmXs[1]
		g[i] = rmH[0][0]*e0 + rmH[0][1]*e1 + q.l[0][0]*z0
		g[i+1] = rmH[1][0]*e0 + rmH[1][1]*e1 + q.l[1][0]*z0 + q.l[1][1]*z1
	}
}

// meanSqErr returns the mean over chains of |x - x*|^2 for the chains'
// values x (interleaved pairs).
func meanSqErr(x []float64) float64 {
	var s float64
	for i := 0; i < len(x); i += 2 {
		e0, e1 := x[i]-rmXs[0], x[i+1]-rmXs[1]
		s += e0*e0 + e1*e1
	}
	return s / float64(len(x)/2)
}

// rmRun is the record of one Robbins-Monro run: at t = 2^k steps, the mean
// squared error of the last iterate and (with averaging) of the average.
type rmRun struct {
	last, avg map[int]float64
}

// runRobbinsMonro runs SGD (lr 1, scheduled by rm) for 2^lastPow steps on
// the chains, with the Spec.Average option average, recording at powers
// of two from 2^firstPow.
func runRobbinsMonro(t *testing.T, q *quadChains, rm RobbinsMonro, average string, firstPow, lastPow int) rmRun {
	t.Helper()
	opt, err := New([]*Param[float64]{q.p}, Spec{Name: "sgd", LR: 1, Average: average})
	mustNoErr(t, err)
	sc, err := NewScheduler[float64](opt, rm)
	mustNoErr(t, err)
	av, _ := opt.(*Averaged[float64])
	run := rmRun{last: map[int]float64{}, avg: map[int]float64{}}
	buf := make([]float64, q.p.Value.Len())
	for k := 1; k <= 1<<lastPow; k++ {
		q.grad()
		opt.Step()
		mustNoErr(t, sc.Step())
		if k&(k-1) != 0 || k < 1<<firstPow {
			continue
		}
		p := int(math.Log2(float64(k)))
		run.last[p] = meanSqErr(q.p.Value.Data())
		if av != nil {
			av.Average(0, buf)
			run.avg[p] = meanSqErr(buf)
		}
	}
	return run
}

// logSlope fits log m[k] against log 2^k for k in [from, to].
func logSlope(m map[int]float64, from, to int) float64 {
	var lt, lm []float64
	for k := from; k <= to; k++ {
		lt = append(lt, float64(k)*math.Ln2)
		lm = append(lm, math.Log(m[k]))
	}
	return fitSlope(lt, lm)
}

// TestRobbinsMonroExponents checks the last-iterate rate of SGD with steps
// eta_t = c/(t0 + t)^alpha on the noisy quadratic: E|x_t - x*|^2 ~ t^-alpha
// for 1/2 < alpha < 1, and for alpha = 1 ~ 1/t exactly when 2 c mu > 1.
//
// Why: the second moment V_t = E e_t e_t^T (e = x - x*) obeys
// V_{t+1} = (I - eta H) V_t (I - eta H) + eta^2 S. For alpha < 1 the step
// decays slower than the relaxation, V_t tracks its quasi-stationary value
// eta_t V1 with H V1 + V1 H = S, up to a relative O(t^(alpha-1)) (which
// moves the fitted slope by < 0.02 here), so the slope is -alpha. For
// alpha = 1, write eta = c/t: in the eigendirection of eigenvalue lambda,
// v' = -(2 c lambda/t) v + c^2 s/t^2, whose solution is
// c^2 s/((2 c lambda - 1) t) + O(t^(-2 c lambda)): the 1/t term wins iff
// 2 c lambda > 1 for every lambda, i.e. 2 c mu > 1 (Chung 1954, Fabian
// 1968); otherwise the rate is t^(-2 c mu). Both regimes are checked: c = 2
// (2 c mu = 2.88), whose constant must also match tr(V)/t with
// (cH - I/2) V + V (cH - I/2) = c^2 S; and c = 0.3 (2 c mu = 0.43), whose
// slope must be -2 c mu.
//
// Tolerances: slope +- 0.1 (Monte Carlo error 0.02, asymptotic corrections
// below 0.02 for t in [2^10, 2^14]); the alpha = 1 constant within 10%
// (3% Monte Carlo, O(t0/t) and O(t^(1 - 2 c lambda)) corrections < 1%).
func TestRobbinsMonroExponents(t *testing.T) {
	const chains, firstPow, lastPow, t0 = 2000, 10, 14, 8
	mu := rmMu()
	for i, tc := range []struct {
		alpha, c, want float64
	}{
		{0.6, 2, -0.6},
		{0.75, 2, -0.75},
		{1, 2, -1},
		{1, 0.3, -2 * 0.3 * mu}, // 2 c mu < 1: slower than 1/t
	} {
		rm := RobbinsMonro{C: tc.c, T0: t0, Alpha: tc.alpha}
		if !rm.SatisfiesRobbinsMonro() {
			t.Fatalf("alpha = %v must satisfy the Robbins-Monro conditions", tc.alpha)
		}
		// Start away from x* along the slow direction, so that the
		// transient is visible in the 2 c mu < 1 case.
		q := newQuadChains(chains, uint64(100+i), [2]float64{2, -3}, false)
		run := runRobbinsMonro(t, q, rm, "", firstPow, lastPow)
		slope := logSlope(run.last, firstPow, lastPow)
		t.Logf("alpha %.2f c %.1f (2 c mu = %.2f): E|x-x*|^2 at t=2^%d: %.3g, 2^%d: %.3g; slope %.3f (want %.3f)",
			tc.alpha, tc.c, 2*tc.c*mu, firstPow, run.last[firstPow], lastPow, run.last[lastPow], slope, tc.want)
		if math.Abs(slope-tc.want) > 0.1 {
			t.Errorf("alpha %.2f c %.1f: log-log slope of E|x_t - x*|^2 = %.3f, want %.3f +- 0.1", tc.alpha, tc.c, slope, tc.want)
		}
		if tc.alpha == 1 && 2*tc.c*mu > 1 {
			want := lyapunovTrace(tc.c) / (1<<lastPow + t0)
			ratio := run.last[lastPow] / want
			t.Logf("alpha 1 c %.1f: t E|x_t - x*|^2 / tr V = %.3f", tc.c, ratio)
			if math.Abs(ratio-1) > 0.1 {
				t.Errorf("alpha 1 c %.1f: E|x_t - x*|^2 = %.4g, want tr(V)/t = %.4g within 10%%", tc.c, run.last[lastPow], want)
			}
		}
	}
}

// lyapunovTrace returns tr V for the solution of
// (cH - I/2) V + V (cH - I/2) = c^2 S (2x2, symmetric V = [[a, b], [b, d]]).
func lyapunovTrace(c float64) float64 {
	p, r, s := c*rmH[0][0]-0.5, c*rmH[0][1], c*rmH[1][1]-0.5 // A = [[p, r], [r, s]]
	c2 := c * c
	// 2p a + 2r b = c2 S00;  r a + (p+s) b + r d = c2 S01;  2r b + 2s d = c2 S11.
	// From the first and third: a = (c2 S00 - 2r b)/(2p), d = (c2 S11 - 2r b)/(2s).
	// Substituting: b ((p+s) - r^2/p - r^2/s) = c2 S01 - r c2 S00/(2p) - r c2 S11/(2s).
	b := (c2*rmS[0][1] - r*c2*rmS[0][0]/(2*p) - r*c2*rmS[1][1]/(2*s)) / ((p + s) - r*r/p - r*r/s)
	a := (c2*rmS[0][0] - 2*r*b) / (2 * p)
	d := (c2*rmS[1][1] - 2*r*b) / (2 * s)
	return a + d
}

// sandwichTrace returns tr(H^-1 S H^-1), the trace of the asymptotic
// covariance of sqrt(t)(xbar_t - x*) under Polyak-Ruppert averaging, which
// is the Cramer-Rao bound for estimating x* from t noisy gradients.
func sandwichTrace() float64 {
	det := rmH[0][0]*rmH[1][1] - rmH[0][1]*rmH[1][0]
	inv := [2][2]float64{{rmH[1][1] / det, -rmH[0][1] / det}, {-rmH[1][0] / det, rmH[0][0] / det}}
	var tr float64
	for i := range 2 {
		for j := range 2 {
			for k := range 2 {
				tr += inv[i][j] * rmS[j][k] * inv[k][i] // (H^-1 S H^-1)_ii
			}
		}
	}
	return tr
}

// TestPolyakRuppertAveraging checks Polyak-Ruppert averaging (Spec.Average
// = "polyak") of SGD with eta_t = c/(t0 + t)^0.6: the last iterate only
// reaches t^-0.6, the average reaches the optimal 1/t with the optimal
// constant, E|xbar_t - x*|^2 = tr(H^-1 S H^-1)/t (1 + o(1)) (Ruppert 1988,
// Polyak and Juditsky 1992). Why: summing e_{t+1} = e_t - eta_t (H e_t +
// xi_t) gives H sum e_t = -sum xi_t + sum (e_t - e_{t+1})/eta_t; the
// second sum is O(t^(alpha/2)) in norm, negligible against the
// O(sqrt t) first when alpha < 1, so xbar_t - x* ~ -H^-1 mean(xi).
//
// Tolerances: slope -1 +- 0.15 over t in [2^10, 2^14]; at t = 2^14 the
// variance t E|xbar - x*|^2 within 20% of tr(H^-1 S H^-1) (Monte Carlo
// 3%, the remainder's relative O(t^(alpha-1)) ~ 2-6%).
func TestPolyakRuppertAveraging(t *testing.T) {
	const chains, firstPow, lastPow, t0 = 2000, 10, 14, 8
	q := newQuadChains(chains, 7, [2]float64{2, -3}, false)
	run := runRobbinsMonro(t, q, RobbinsMonro{C: 2, T0: t0, Alpha: 0.6}, "polyak", firstPow, lastPow)
	lastSlope := logSlope(run.last, firstPow, lastPow)
	avgSlope := logSlope(run.avg, firstPow, lastPow)
	ratio := float64(int(1)<<lastPow) * run.avg[lastPow] / sandwichTrace()
	t.Logf("alpha 0.6: last-iterate slope %.3f, averaged slope %.3f; t E|xbar-x*|^2 / tr(H^-1 S H^-1) = %.3f (tr = %.4f)",
		lastSlope, avgSlope, ratio, sandwichTrace())
	if math.Abs(avgSlope+1) > 0.15 {
		t.Errorf("averaged iterate: log-log slope %.3f, want -1 +- 0.15", avgSlope)
	}
	if math.Abs(lastSlope+0.6) > 0.1 {
		t.Errorf("last iterate: log-log slope %.3f, want -0.6 +- 0.1", lastSlope)
	}
	if math.Abs(ratio-1) > 0.2 {
		t.Errorf("averaged iterate: t E|xbar_t - x*|^2 = %.4f, want the sandwich value %.4f within 20%%", ratio*sandwichTrace(), sandwichTrace())
	}
}

// TestRobbinsMonroAlmostSure checks almost-sure convergence path by path:
// 200 chains, each with its own seed, run SGD with eta_t = 2/(8 + t)^0.75;
// M_k, the largest |x_t - x*| of any chain over the dyadic block
// t in (2^(k-1), 2^k], must decrease block after block and end small. A
// typical |x_t - x*| is about sqrt(eta_t tr V1) (V1 as in
// TestRobbinsMonroExponents), so M_k should shrink by about
// 2^(-0.375) = 0.77 per block; the sup over a block and 200 paths sits a few
// standard deviations out, so strict decrease is robust from k = 9 on. A
// single path that failed to settle (or diverged) would break it.
func TestRobbinsMonroAlmostSure(t *testing.T) {
	const chains, firstPow, lastPow = 200, 8, 17
	q := newQuadChains(chains, 11, [2]float64{2, -3}, true)
	opt, err := New([]*Param[float64]{q.p}, Spec{Name: "sgd", LR: 1})
	mustNoErr(t, err)
	sc, err := NewScheduler[float64](opt, RobbinsMonro{C: 2, T0: 8, Alpha: 0.75})
	mustNoErr(t, err)
	sup := make([]float64, lastPow+1)
	for k := 1; k <= 1<<lastPow; k++ {
		q.grad()
		opt.Step()
		mustNoErr(t, sc.Step())
		block := bits.Len(uint(k - 1)) // t in (2^(b-1), 2^b]
		x := q.p.Value.Data()
		for i := 0; i < len(x); i += 2 {
			e := math.Hypot(x[i]-rmXs[0], x[i+1]-rmXs[1])
			sup[block] = max(sup[block], e)
		}
	}
	t.Logf("max over 200 paths of sup_{t in (2^(k-1), 2^k]} |x_t - x*|, k = %d..%d: %.3g", firstPow, lastPow, sup[firstPow:])
	for k := firstPow + 1; k <= lastPow; k++ {
		if !(sup[k] < sup[k-1]) {
			t.Errorf("block %d: max deviation %.4g did not decrease from %.4g", k, sup[k], sup[k-1])
		}
	}
	if sup[lastPow] > 0.1 || sup[lastPow] > sup[firstPow]/4 {
		t.Errorf("max deviation over the last block %.4g, want < 0.1 and < 1/4 of the first block's %.4g", sup[lastPow], sup[firstPow])
	}
}
