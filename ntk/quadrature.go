package ntk

import "math"

// This file evaluates the Gaussian expectations of an activation that has
// no closed-form kernel: E[phi(u) phi(v)] and E[phi'(u) phi'(v)] for
// (u, v) ~ N(0, [[q1, c], [c, q2]]), the numbers neural-tangents'
// stax.ElementwiseNumerical computes with a fixed Gauss-Hermite rule.
//
// A fixed Gauss-Hermite rule converges slowly for ReLU-like activations
// (the kink makes the error algebraic in the order) and for smooth ones
// whose variance is large (erf(u) with u ~ N(0, 1e4) is nearly a step on
// the scale of the Gaussian), so the integrals here are iterated and
// adaptive instead. Conditioning on u,
//
//	v | u ~ N(c u / q1, (q1 q2 - c^2) / q1),
//
// so E[phi(u) phi(v)] = E_u[phi(u) g(u)] with g(u) = E[phi(v) | u], and
// the same with phi' for the derivative kernel. Both one-dimensional
// Gaussian expectations run on [m - 10 sd, m + 10 sd] (the normal mass
// outside is 2e-19) with adaptive Gauss-Kronrod (7, 15) panels split at
// the kinks of the activations (v = 0: the kink of ReLU and leaky ReLU and
// the steepest point of the sigmoidal ones, and the mean), so that a
// panel never straddles a discontinuity of phi'. A panel is accepted
// when QUADPACK's error estimate of the 15-point value is below
// quadRelTol of the integral of |f| on the panel or of the integral of |f|
// over the whole range in proportion to the panel's width. When q1 q2 - c^2 rounds to 0 (correlation +-1) the inner
// expectation is phi at the conditional mean.

// quadRelTol is the acceptance threshold of a Gauss-Kronrod panel's error
// estimate relative to the integral of the absolute integrand;
// TestQuadratureMatchesClosedForms measures the error it gives.
const quadRelTol = 1e-10

// quadHalfWidth is the half-width of the integration range in standard
// deviations.
const quadHalfWidth = 9

// quadMaxDepth bounds the bisections of a panel; 2^-40 of the range is
// below any feature a float64 kernel resolves.
const quadMaxDepth = 40

// quadBudget bounds the panels of one adaptive integral, a guard against
// an integrand that is noisy at the tolerance.
const quadBudget = 400

// The 15-point Gauss-Kronrod rule on [-1, 1] (Kronrod 1965; the constants
// of QUADPACK's qk15): gk15x are the non-negative Kronrod nodes, in
// decreasing order, gk15w their weights, and g7w the weights of the
// 7-point Gauss rule at the odd-indexed nodes gk15x[1], gk15x[3],
// gk15x[5], gk15x[7].
var (
	gk15x = [8]float64{
		0.991455371120812639206854697526329,
		0.949107912342758524526189684047851,
		0.864864423359769072789712788640926,
		0.741531185599394439863864773280788,
		0.586087235467691130294144845693013,
		0.405845151377397166906606412076961,
		0.207784955007898467600689403773245,
		0,
	}
	gk15w = [8]float64{
		0.022935322010529224963732008058970,
		0.063092092629978553290700663189204,
		0.104790010322250183839876322541518,
		0.140653259715525918745189590510238,
		0.169004726639267902826583426598550,
		0.190350578064785409913256402421014,
		0.204432940075298892414161999234649,
		0.209482141084727828012999174891714,
	}
	g7w = [4]float64{
		0.129484966168869693270611432679082,
		0.279705391489276667901467771423780,
		0.381830050505118944950369775488975,
		0.417959183673469387755102040816327,
	}
)

// pairFunc is an integrand with two components, integrated together so
// that the kernel and the derivative kernel share their evaluations of
// phi.
type pairFunc func(x float64) (a, b float64)

// gk15 integrates f over [lo, hi] and returns the 15-point Kronrod values,
// their error estimates (qkErr) and the Kronrod integrals of |f|.
func gk15(f pairFunc, lo, hi float64) (ka, kb, ea, eb, absA, absB float64) {
	mid, half := (lo+hi)/2, (hi-lo)/2
	var ga, gb float64
	for i, x := range gk15x {
		var fa, fb float64
		if x == 0 {
			fa, fb = f(mid)
		} else {
			a1, b1 := f(mid - half*x)
			a2, b2 := f(mid + half*x)
			fa, fb = a1+a2, b1+b2
			absA += gk15w[i] * (math.Abs(a1) + math.Abs(a2))
			absB += gk15w[i] * (math.Abs(b1) + math.Abs(b2))
		}
		if x == 0 {
			absA += gk15w[i] * math.Abs(fa)
			absB += gk15w[i] * math.Abs(fb)
		}
		ka += gk15w[i] * fa
		kb += gk15w[i] * fb
		if i%2 == 1 {
			ga += g7w[i/2] * fa
			gb += g7w[i/2] * fb
		}
	}
	absA, absB = absA*half, absB*half
	return ka * half, kb * half, qkErr(math.Abs(ka-ga)*half, absA), qkErr(math.Abs(kb-gb)*half, absB), absA, absB
}

// qkErr is QUADPACK's error estimate of a 15-point Kronrod value from the
// Kronrod-Gauss difference d and the integral of |f|, abs: abs *
// min(1, (200 d / abs)^1.5). The 15-point value converges much faster
// than the 7-point one, so d itself would grossly overestimate the error.
func qkErr(d, abs float64) float64 {
	if abs == 0 || d == 0 {
		return d
	}
	return abs * math.Min(1, math.Pow(200*d/abs, 1.5))
}

// adaptive integrates f over the sorted breakpoints edges by adaptive
// bisection of Gauss-Kronrod panels.
//
// A panel is accepted when its error estimate is below quadRelTol times
// the largest of: the integral of |f| on it, its share (by width) of the
// integral of |f| over the whole range, and its share of the scales
// scaleA, scaleB the caller gives (the size of the final kernel, so that
// an inner integral is not refined beyond what the outer one can see: the
// derivative 1 - tanh^2 loses all relative precision in the tails, and a
// purely relative test would bisect it without end). At most quadBudget
// panels are evaluated.
func adaptive(f pairFunc, edges []float64, scaleA, scaleB float64) (a, b float64) {
	type panel struct {
		lo, hi         float64
		ka, kb, ea, eb float64
		absA, absB     float64
		depth          int
	}
	var stack []panel
	var totA, totB float64
	evals := 0
	for i := 0; i+1 < len(edges); i++ {
		lo, hi := edges[i], edges[i+1]
		if hi <= lo {
			continue
		}
		p := panel{lo: lo, hi: hi}
		p.ka, p.kb, p.ea, p.eb, p.absA, p.absB = gk15(f, lo, hi)
		totA += p.absA
		totB += p.absB
		stack = append(stack, p)
	}
	width := edges[len(edges)-1] - edges[0]
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		frac := (p.hi - p.lo) / width
		okA := p.ea <= quadRelTol*math.Max(p.absA, frac*math.Max(totA, scaleA))
		okB := p.eb <= quadRelTol*math.Max(p.absB, frac*math.Max(totB, scaleB))
		if (okA && okB) || p.depth >= quadMaxDepth || evals >= quadBudget {
			a += p.ka
			b += p.kb
			continue
		}
		mid := (p.lo + p.hi) / 2
		for _, q := range [2]panel{{lo: p.lo, hi: mid, depth: p.depth + 1}, {lo: mid, hi: p.hi, depth: p.depth + 1}} {
			q.ka, q.kb, q.ea, q.eb, q.absA, q.absB = gk15(f, q.lo, q.hi)
			evals++
			stack = append(stack, q)
		}
	}
	return a, b
}

// invSqrt2Pi is 1/sqrt(2 pi), the standard normal density at 0.
const invSqrt2Pi = 0.398942280401432677939946059934381868

// gaussMean returns E[f(m + sd z)] for z ~ N(0, 1) (sd > 0), with the
// range split at z = 0, at the point where m + sd z = 0 and at the extra
// points in (-quadHalfWidth, quadHalfWidth); scaleA and scaleB are the
// absolute scales of adaptive.
func gaussMean(f pairFunc, m, sd, scaleA, scaleB float64, extra ...float64) (a, b float64) {
	var buf [24]float64
	edges := append(buf[:0], -quadHalfWidth, -6, -4.5, -3, -1.5, 0, 1.5, 3, 4.5, 6, quadHalfWidth)
	for _, e := range extra {
		if e > -quadHalfWidth && e < quadHalfWidth {
			edges = append(edges, e)
		}
	}
	if z0 := -m / sd; z0 > -quadHalfWidth && z0 < quadHalfWidth {
		// A duplicate edge gives an empty panel, which adaptive skips.
		edges = append(edges, z0)
	}
	sortSmall(edges)
	return adaptive(func(z float64) (float64, float64) {
		w := invSqrt2Pi * math.Exp(-z*z/2)
		fa, fb := f(m + sd*z)
		return w * fa, w * fb
	}, edges, scaleA, scaleB)
}

// sortSmall sorts a short slice in place by insertion.
func sortSmall(x []float64) {
	for i := 1; i < len(x); i++ {
		for j := i; j > 0 && x[j-1] > x[j]; j-- {
			x[j-1], x[j] = x[j], x[j-1]
		}
	}
}

// numericPair returns E[phi(u) phi(v)] and E[phi'(u) phi'(v)] for (u, v)
// ~ N(0, [[q1, c], [c, q2]]) by iterated adaptive quadrature; phi returns
// the activation and its derivative.
func numericPair(phi func(float64) (float64, float64), q1, q2, c float64) (k, kdot float64) {
	if q1 <= 0 {
		// u = 0 almost surely.
		p, dp := phi(0)
		g, h := numericMean(phi, q2)
		return p * g, dp * h
	}
	if q2 <= 0 {
		p, dp := phi(0)
		g, h := numericMean(phi, q1)
		return p * g, dp * h
	}
	// The scales of the result: sqrt(E phi(u)^2 E phi(v)^2) and the same
	// for phi', by Cauchy-Schwarz bounds on both kernels; the inner
	// integrals get them divided by the outer factor's scale.
	p1, d1 := numericSquares(phi, q1)
	p2, d2 := numericSquares(phi, q2)
	sk, skd := math.Sqrt(p1*p2), math.Sqrt(d1*d2)
	// The conditional standard deviation from the same rounded q1 q2 - c^2
	// that the closed forms use, so that the two agree near +-1.
	sd := math.Sqrt(math.Max(q1*q2-c*c, 0) / q1)
	slope := c / q1
	inner := func(u float64) (float64, float64) {
		m := slope * u
		if sd == 0 {
			return phi(m)
		}
		return gaussMean(phi, m, sd, math.Sqrt(p2), math.Sqrt(d2))
	}
	// g(u) changes on the scale where the conditional mean c u / q1 is
	// within a few sd of phi's kink at 0: |u| ~ sd q1 / |c|. When that is
	// far below sqrt(q1) (correlation near +-1) a panel of the outer
	// integral could hold all of it between its nodes, so the outer range
	// is split there too.
	var extra []float64
	if w := sd * math.Sqrt(q1) / math.Abs(c); c != 0 && w < 1 {
		extra = []float64{-9 * w, -3 * w, -w, w, 3 * w, 9 * w}
	}
	return gaussMean(func(u float64) (float64, float64) {
		p, dp := phi(u)
		if p == 0 && dp == 0 {
			return 0, 0
		}
		g, h := inner(u)
		return p * g, dp * h
	}, 0, math.Sqrt(q1), sk, skd, extra...)
}

// numericSquares returns E[phi(u)^2] and E[phi'(u)^2] for u ~ N(0, q).
func numericSquares(phi func(float64) (float64, float64), q float64) (float64, float64) {
	if q <= 0 {
		p, dp := phi(0)
		return p * p, dp * dp
	}
	return gaussMean(func(u float64) (float64, float64) {
		p, dp := phi(u)
		return p * p, dp * dp
	}, 0, math.Sqrt(q), 0, 0)
}

// numericMean returns E[phi(u)] and E[phi'(u)] for u ~ N(0, q).
func numericMean(phi func(float64) (float64, float64), q float64) (float64, float64) {
	if q <= 0 {
		return phi(0)
	}
	return gaussMean(phi, 0, math.Sqrt(q), 0, 0)
}

// numericDiag returns E[phi(u)^2] for u ~ N(0, q).
func numericDiag(phi func(float64) (float64, float64), q float64) float64 {
	k, _ := numericSquares(phi, q)
	return k
}
