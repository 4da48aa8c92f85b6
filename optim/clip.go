package optim

import (
	"math"

	"github.com/gradflow/gradflow/internal/simd"
	"github.com/gradflow/gradflow/tensor"
)

// GradNorm returns the Euclidean norm of all the parameters' gradients
// taken together (parameters without a gradient count as zero), accumulated
// in float64. (For float32 gradients, blocks of gradNormBlock squares are
// summed in float32 by the vector dot product, then the block sums in
// float64: a training loop takes this norm every step, and a scalar
// float64 loop over every gradient costs a visible share of a step.)
func GradNorm[T tensor.Float](params []*Param[T]) float64 {
	var s float64
	for _, p := range params {
		if p.Grad != nil {
			s += gradSquares(p.Grad.Data())
		}
	}
	return math.Sqrt(s)
}

// gradNormBlock bounds the float32 partial sums of gradSquares. The dot
// kernels keep at least 4 independent partial sums, so each float32 sum
// has at most 512 non-negative terms: relative error below 512*2^-24 ~
// 3e-5, far below what a norm used for clipping or divergence checks
// needs, while each kernel call and its final reduction are amortized
// over 2048 elements.
const gradNormBlock = 2048

// gradSquares returns sum x_i^2 with the vector dot product: in float64
// directly, in float32 per block of gradNormBlock elements.
func gradSquares[T tensor.Float](x []T) float64 {
	var z T
	if _, ok := any(z).(float64); ok {
		return float64(simd.Dot(x, x))
	}
	var s float64
	for lo := 0; lo < len(x); lo += gradNormBlock {
		c := x[lo:min(lo+gradNormBlock, len(x))]
		b := float64(simd.Dot(c, c))
		if math.IsInf(b, 0) {
			// Squares above float32's range (|g| > 1.8e19) are finite
			// in float64: keep the norm finite as the float64 sum is.
			b = sumSquares(c)
		}
		s += b
	}
	return s
}

// ClipGradNorm rescales the gradients in place so that their joint
// Euclidean norm is at most maxNorm, as torch.nn.utils.clip_grad_norm_: with
// N the norm before clipping, every gradient is multiplied by
// min(1, maxNorm/(N + 1e-6)). It returns N, so that a caller can detect a
// non-finite gradient (N is then NaN or Inf and the gradients are left
// unscaled) or log it. It panics if maxNorm is negative or NaN.
func ClipGradNorm[T tensor.Float](params []*Param[T], maxNorm float64) float64 {
	if !(maxNorm >= 0) {
		panic("optim.ClipGradNorm: maxNorm must be >= 0")
	}
	n := GradNorm(params)
	if math.IsNaN(n) || math.IsInf(n, 0) {
		return n
	}
	// The 1e-6 is torch's, kept so that clipped trajectories agree.
	c := maxNorm / (n + 1e-6)
	if c >= 1 {
		return n
	}
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		g := p.Grad.Data()
		for i := range g {
			g[i] = T(float64(g[i]) * c)
		}
	}
	return n
}

// ClipGradValue clamps every gradient element into [-clip, clip] in place,
// as torch.nn.utils.clip_grad_value_ (NaN elements stay NaN). It panics if
// clip is negative or NaN.
func ClipGradValue[T tensor.Float](params []*Param[T], clip float64) {
	if !(clip >= 0) {
		panic("optim.ClipGradValue: clip must be >= 0")
	}
	hi := T(clip)
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		g := p.Grad.Data()
		for i, v := range g {
			if v > hi {
				g[i] = hi
			} else if v < -hi {
				g[i] = -hi
			}
		}
	}
}
