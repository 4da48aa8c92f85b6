package landscape

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/gradflow/gradflow/internal/powerlaw"
)

// LojasiewiczOptions configures FitLojasiewicz.
type LojasiewiczOptions struct {
	// FStar is the optimal value f*. Use the Trajectory's MinF when it is
	// not known (see its caveat).
	FStar float64
	// Quantile tau in (0, 1) of the regression (default 0.1): the fitted
	// line lies below a fraction 1 - tau of the points, a lower envelope,
	// because the inequality bounds |grad f| from below.
	Quantile float64
	// Tail in (0, 1] keeps the fraction of points with the smallest gaps f
	// - f* (default 1, all): the Lojasiewicz inequality is a statement
	// near a critical point, and the transient at the start of a run can
	// bend the fit.
	Tail float64
	// Bootstrap is the number of bootstrap resamples for the interval
	// (default 200; at least 20).
	Bootstrap int
	// Level is the coverage of the interval (default 0.95).
	Level float64
	// Rand draws the bootstrap resamples; required.
	Rand *rand.Rand
}

// LojasiewiczFit is the result of FitLojasiewicz.
type LojasiewiczFit struct {
	// Theta and C are the fitted exponent and constant of |grad f| >= C
	// (f - f*)^Theta.
	Theta, C float64
	// Lo and Hi bound the percentile bootstrap interval of Theta.
	Lo, Hi float64
	// Points is the number of points the fit used.
	Points int
}

// FitLojasiewicz fits the exponent theta of the Lojasiewicz gradient
// inequality |grad f(x)| >= c |f(x) - f*|^theta (Lojasiewicz 1963) to the
// points of a trajectory. In logarithms the inequality says that the
// points (log(f - f*), log |grad f|) lie above the line log c + theta
// log(f - f*); the fit is the linear quantile regression (Koenker and
// Bassett 1978) of log |grad f| on log(f - f*) at a low quantile, which
// follows the lower edge of the cloud instead of its middle. For fixed
// theta the best intercept is the tau-quantile of the residuals, so the
// convex check loss is minimized over theta alone, by golden-section
// search on [-2, 4]. The interval comes from refitting on bootstrap
// resamples of the points (percentile bootstrap).
//
// theta = 1/2 is the PL inequality (mu = c^2/2); for f = |x|^p near 0,
// |f'| = p f^{(p-1)/p}, so theta = 3/4 for x^4: the flatter the minimum,
// the larger theta and the slower gradient descent (sublinear for theta >
// 1/2). Points with f <= f* or a zero gradient are dropped.
func FitLojasiewicz(t *Trajectory, opts LojasiewiczOptions) (LojasiewiczFit, error) {
	if t == nil {
		return LojasiewiczFit{}, errors.New("landscape.FitLojasiewicz: trajectory is nil")
	}
	if opts.Quantile == 0 {
		opts.Quantile = 0.1
	}
	if !(opts.Quantile > 0 && opts.Quantile < 1) {
		return LojasiewiczFit{}, fmt.Errorf("landscape.FitLojasiewicz: Quantile = %v, want in (0, 1)", opts.Quantile)
	}
	if opts.Tail == 0 {
		opts.Tail = 1
	}
	if !(opts.Tail > 0 && opts.Tail <= 1) {
		return LojasiewiczFit{}, fmt.Errorf("landscape.FitLojasiewicz: Tail = %v, want in (0, 1]", opts.Tail)
	}
	if opts.Bootstrap == 0 {
		opts.Bootstrap = 200
	}
	if opts.Bootstrap < 20 {
		return LojasiewiczFit{}, fmt.Errorf("landscape.FitLojasiewicz: Bootstrap = %d, want >= 20", opts.Bootstrap)
	}
	if opts.Level == 0 {
		opts.Level = 0.95
	}
	if !(opts.Level > 0 && opts.Level < 1) {
		return LojasiewiczFit{}, fmt.Errorf("landscape.FitLojasiewicz: Level = %v, want in (0, 1)", opts.Level)
	}
	if opts.Rand == nil {
		return LojasiewiczFit{}, errors.New("landscape.FitLojasiewicz: Rand is nil")
	}
	var xs, ys []float64
	for i, f := range t.F {
		gap, g2 := f-opts.FStar, t.GradNormSq[i]
		if gap > 0 && g2 > 0 && !math.IsInf(gap, 0) && !math.IsInf(g2, 0) {
			xs = append(xs, math.Log(gap))
			ys = append(ys, 0.5*math.Log(g2))
		}
	}
	if opts.Tail < 1 && len(xs) > 0 {
		idx := make([]int, len(xs))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return xs[idx[a]] < xs[idx[b]] })
		keep := max(int(math.Ceil(opts.Tail*float64(len(xs)))), 1)
		nx, ny := make([]float64, keep), make([]float64, keep)
		for i, j := range idx[:keep] {
			nx[i], ny[i] = xs[j], ys[j]
		}
		xs, ys = nx, ny
	}
	if len(xs) < 3 {
		return LojasiewiczFit{}, fmt.Errorf("landscape.FitLojasiewicz: %d usable points, want >= 3", len(xs))
	}
	q := &quantileFit{tau: opts.Quantile}
	theta, a := q.fit(xs, ys)
	fit := LojasiewiczFit{Theta: theta, C: math.Exp(a), Points: len(xs)}
	bx, by := make([]float64, len(xs)), make([]float64, len(xs))
	thetas := make([]float64, opts.Bootstrap)
	for b := range thetas {
		for i := range bx {
			j := opts.Rand.IntN(len(xs))
			bx[i], by[i] = xs[j], ys[j]
		}
		thetas[b], _ = q.fit(bx, by)
	}
	sort.Float64s(thetas)
	alpha := (1 - opts.Level) / 2
	fit.Lo = powerlaw.SortedQuantile(thetas, alpha)
	fit.Hi = powerlaw.SortedQuantile(thetas, 1-alpha)
	return fit, nil
}

// quantileFit is linear quantile regression y ~ a + theta x with reused
// buffers.
type quantileFit struct {
	tau float64
	r   []float64
}

// fit returns theta and a minimizing sum rho_tau(y - a - theta x).
func (q *quantileFit) fit(xs, ys []float64) (theta, a float64) {
	lo, hi := -2.0, 4.0
	const g = 0.6180339887498949
	c, d := hi-g*(hi-lo), lo+g*(hi-lo)
	fc, fd := q.loss(xs, ys, c), q.loss(xs, ys, d)
	for hi-lo > 1e-10 {
		if fc <= fd {
			hi, d, fd = d, c, fc
			c = hi - g*(hi-lo)
			fc = q.loss(xs, ys, c)
		} else {
			lo, c, fc = c, d, fd
			d = lo + g*(hi-lo)
			fd = q.loss(xs, ys, d)
		}
	}
	theta = 0.5 * (lo + hi)
	return theta, q.intercept(xs, ys, theta)
}

// intercept returns the tau-quantile of y - theta x, the optimal a.
func (q *quantileFit) intercept(xs, ys []float64, theta float64) float64 {
	if cap(q.r) < len(xs) {
		q.r = make([]float64, len(xs))
	}
	r := q.r[:len(xs)]
	for i := range xs {
		r[i] = ys[i] - theta*xs[i]
	}
	k := int(math.Ceil(q.tau*float64(len(r)))) - 1
	return selectKth(r, max(k, 0))
}

// loss is the check loss at theta with the optimal intercept.
func (q *quantileFit) loss(xs, ys []float64, theta float64) float64 {
	a := q.intercept(xs, ys, theta)
	s := 0.0
	for i := range xs {
		u := ys[i] - theta*xs[i] - a
		if u >= 0 {
			s += q.tau * u
		} else {
			s += (q.tau - 1) * u
		}
	}
	return s
}

// selectKth returns the k-th smallest element (0-based) of r, reordering
// r (Hoare's quickselect with a median-of-three pivot).
func selectKth(r []float64, k int) float64 {
	lo, hi := 0, len(r)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if r[mid] < r[lo] {
			r[mid], r[lo] = r[lo], r[mid]
		}
		if r[hi] < r[lo] {
			r[hi], r[lo] = r[lo], r[hi]
		}
		if r[hi] < r[mid] {
			r[hi], r[mid] = r[mid], r[hi]
		}
		p := r[mid]
		i, j := lo, hi
		for i <= j {
			for r[i] < p {
				i++
			}
			for r[j] > p {
				j--
			}
			if i <= j {
				r[i], r[j] = r[j], r[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return r[k]
		}
	}
	return r[k]
}
