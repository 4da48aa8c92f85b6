package meanfield

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// W2 returns the exact 2-Wasserstein distance between the uniform empirical
// measures of the samples x and y (of any sizes n and m) on the real line.
// In one dimension the optimal coupling is monotone, so
//
//	W2^2 = int_0^1 |F^-1(u) - G^-1(u)|^2 du
//
// with F^-1, G^-1 the quantile functions: step functions with jumps at
// multiples of 1/n and 1/m, integrated exactly over the merged breakpoints.
// It returns NaN if either sample is empty.
func W2(x, y []float64) float64 {
	return math.Sqrt(w2sq(slices.Sorted(slices.Values(x)), slices.Sorted(slices.Values(y))))
}

// w2sq is W2^2 for sorted samples.
func w2sq(x, y []float64) float64 {
	n, m := len(x), len(y)
	if n == 0 || m == 0 {
		return math.NaN()
	}
	if n == m {
		var s float64
		for i := range x {
			d := x[i] - y[i]
			s += d * d
		}
		return s / float64(n)
	}
	// Positions in units of 1/(n m): x's quantile jumps at i*m, y's at j*n.
	var s float64
	i, j, cur := 0, 0, 0
	for i < n && j < m {
		next := min((i+1)*m, (j+1)*n)
		d := x[i] - y[j]
		s += float64(next-cur) * d * d
		if (i+1)*m == next {
			i++
		}
		if (j+1)*n == next {
			j++
		}
		cur = next
	}
	return s / (float64(n) * float64(m))
}

// SlicedW2 returns the sliced 2-Wasserstein distance between the uniform
// empirical measures of the point clouds p and q (rows of equal length D;
// the numbers of points may differ),
//
//	SW2(p, q)^2 = E_u [ W2^2(u#p, u#q) ],  u uniform on S^{D-1},
//
// estimated with `projections` directions drawn from rng (Gaussian vectors
// normalized, uniform by rotation invariance), each one-dimensional distance
// computed exactly by W2 (Rabin, Peyré, Delon and Bernot 2011; Bonneel et al.
// 2015). The same rng state gives the same directions, so distances between
// several pairs of clouds are comparable. SW2 is a metric equivalent to W2 on
// compact sets and costs O(projections (n log n + n D)).
func SlicedW2(p, q [][]float64, projections int, rng *rand.Rand) (float64, error) {
	if rng == nil {
		return 0, errNilRNG("meanfield.SlicedW2")
	}
	if len(p) == 0 || len(q) == 0 {
		return 0, fmt.Errorf("meanfield: sliced W2 of empty clouds (%d and %d points)", len(p), len(q))
	}
	if projections <= 0 {
		return 0, fmt.Errorf("meanfield: sliced W2 needs a positive number of projections, got %d", projections)
	}
	dim := len(p[0])
	for _, c := range [2][][]float64{p, q} {
		for i, row := range c {
			if len(row) != dim {
				return 0, fmt.Errorf("meanfield: sliced W2: point %d has %d coordinates, want %d", i, len(row), dim)
			}
		}
	}
	u := make([]float64, dim)
	px, qx := make([]float64, len(p)), make([]float64, len(q))
	var total float64
	for range projections {
		var norm float64
		for j := range u {
			u[j] = rng.NormFloat64()
			norm += u[j] * u[j]
		}
		norm = math.Sqrt(norm)
		for j := range u {
			u[j] /= norm
		}
		project(px, p, u)
		project(qx, q, u)
		slices.Sort(px)
		slices.Sort(qx)
		total += w2sq(px, qx)
	}
	return math.Sqrt(total / float64(projections)), nil
}

func project(dst []float64, pts [][]float64, u []float64) {
	for i, row := range pts {
		var s float64
		for j, v := range row {
			s += v * u[j]
		}
		dst[i] = s
	}
}
