package optim

import (
	"math"

	"github.com/gradflow/gradflow/tensor"
)

// GradNorm returns the Euclidean norm of all the parameters' gradients
// taken together (parameters without a gradient count as zero), accumulated
// in float64.
func GradNorm[T tensor.Float](params []*Param[T]) float64 {
	var s float64
	for _, p := range params {
		if p.Grad != nil {
			s += sumSquares(p.Grad.Data())
		}
	}
	return math.Sqrt(s)
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
