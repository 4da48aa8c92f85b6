package landscape

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// NoiseStats summarizes the per-example gradients g_1..g_N of a loss L =
// (1/N) sum_i l_i at one point.
type NoiseStats struct {
	// N is the number of examples and Dim the number of parameters.
	N, Dim int
	// GradNormSq is |G|^2 for the mean gradient G = (1/N) sum_i g_i.
	GradNormSq float64
	// TraceCov is tr(Sigma) for the sample covariance Sigma = (1/(N-1))
	// sum_i (g_i - G)(g_i - G)^T: an unbiased estimate of the covariance
	// of one example's gradient when the N examples are drawn from a
	// larger population.
	TraceCov float64
	// GradNormSqUnbiased is GradNormSq - TraceCov/N, an unbiased estimate
	// of the squared norm of the population gradient: E|G|^2 = |G_pop|^2 +
	// tr(Sigma_pop)/N. When the N examples are the whole training set,
	// GradNormSq is exact and this correction does not apply.
	GradNormSqUnbiased float64
	// BSimple is TraceCov / GradNormSq, the simple noise scale of
	// McCandlish et al. (2018), and BSimpleUnbiased is TraceCov /
	// GradNormSqUnbiased (NaN if that is not positive).
	BSimple, BSimpleUnbiased float64
}

// GradientNoise computes NoiseStats from the N x P matrix of per-example
// gradients (row i = g_i; ModelObjective.PerExampleGrads gives it). N must
// be at least 2.
//
// The simple noise scale B_simple = tr(Sigma) / |G|^2 (McCandlish, Kaplan,
// Amodei et al., "An empirical model of large-batch training", 2018) is the
// batch size at which the minibatch gradient's noise E|g_B - G|^2 =
// tr(Sigma)/B equals the signal |G|^2: below it, doubling the batch nearly
// halves the steps to a given loss (perfect scaling); well above it extra
// examples are wasted. It estimates the critical batch size.
func GradientNoise(g mat.Matrix) (NoiseStats, error) {
	n, p := g.Dims()
	if n < 2 {
		return NoiseStats{}, fmt.Errorf("landscape.GradientNoise: %d per-example gradients, want >= 2", n)
	}
	mean := make([]float64, p)
	row := make([]float64, p)
	for i := range n {
		mat.Row(row, i, g)
		axpy(1/float64(n), row, mean)
	}
	ss := 0.0
	for i := range n {
		mat.Row(row, i, g)
		for j, v := range row {
			d := v - mean[j]
			ss += d * d
		}
	}
	s := NoiseStats{N: n, Dim: p, GradNormSq: dot(mean, mean), TraceCov: ss / float64(n-1)}
	s.GradNormSqUnbiased = s.GradNormSq - s.TraceCov/float64(n)
	s.BSimple = s.TraceCov / s.GradNormSq
	s.BSimpleUnbiased = math.NaN()
	if s.GradNormSqUnbiased > 0 {
		s.BSimpleUnbiased = s.TraceCov / s.GradNormSqUnbiased
	}
	return s, nil
}

// MinibatchVariance returns E|g_B - G|^2, the expected squared distance
// between the mean gradient of a minibatch of b examples drawn from the N
// examples and their full mean G. With replacement (b i.i.d. uniform
// draws) it is tr(Sigma_N)/b, where Sigma_N = ((N-1)/N) Sigma is the
// covariance of the N gradients as a population; without replacement (a
// uniformly random b-subset, what a shuffling loader gives) the finite
// population correction multiplies it by (N - b)/(N - 1), so that
//
//	with replacement:     tr(Sigma) (N - 1) / (N b)
//	without replacement:  tr(Sigma) (N - b) / (N b)     (0 at b = N)
//
// with Sigma = TraceCov's unbiased covariance. For N much larger than b
// both are tr(Sigma)/b, the law McCandlish et al. build on.
func (s NoiseStats) MinibatchVariance(b int, withReplacement bool) (float64, error) {
	if b < 1 {
		return 0, fmt.Errorf("landscape.MinibatchVariance: b = %d, want >= 1", b)
	}
	n := float64(s.N)
	if withReplacement {
		return s.TraceCov * (n - 1) / (n * float64(b)), nil
	}
	if b > s.N {
		return 0, fmt.Errorf("landscape.MinibatchVariance: b = %d exceeds N = %d without replacement", b, s.N)
	}
	return s.TraceCov * (n - float64(b)) / (n * float64(b)), nil
}

// MeasureMinibatchVariance estimates E|g_B - G|^2 by drawing minibatches of
// b rows of the per-example gradient matrix g (with or without
// replacement) and averaging |g_B - G|^2 over draws; it returns the mean
// and its standard error. It is the Monte Carlo counterpart of
// NoiseStats.MinibatchVariance.
func MeasureMinibatchVariance(g mat.Matrix, b, draws int, withReplacement bool, rng *rand.Rand) (mean, stderr float64, err error) {
	n, p := g.Dims()
	switch {
	case n < 1:
		return 0, 0, errors.New("landscape.MeasureMinibatchVariance: no gradients")
	case b < 1 || (!withReplacement && b > n):
		return 0, 0, fmt.Errorf("landscape.MeasureMinibatchVariance: b = %d, want in [1, %d]", b, n)
	case draws < 2:
		return 0, 0, fmt.Errorf("landscape.MeasureMinibatchVariance: draws = %d, want >= 2", draws)
	case rng == nil:
		return 0, 0, errors.New("landscape.MeasureMinibatchVariance: rng is nil")
	}
	full := make([]float64, p)
	row := make([]float64, p)
	for i := range n {
		mat.Row(row, i, g)
		axpy(1/float64(n), row, full)
	}
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	gb := make([]float64, p)
	var m, m2 float64
	for k := 1; k <= draws; k++ {
		clear(gb)
		for j := range b {
			var i int
			if withReplacement {
				i = rng.IntN(n)
			} else {
				// Partial Fisher-Yates: the first b entries of perm
				// become a uniform b-subset.
				r := j + rng.IntN(n-j)
				perm[j], perm[r] = perm[r], perm[j]
				i = perm[j]
			}
			mat.Row(row, i, g)
			axpy(1/float64(b), row, gb)
		}
		d := 0.0
		for j, v := range gb {
			e := v - full[j]
			d += e * e
		}
		delta := d - m
		m += delta / float64(k)
		m2 += delta * (d - m)
	}
	return m, math.Sqrt(m2/float64(draws-1)) / math.Sqrt(float64(draws)), nil
}
