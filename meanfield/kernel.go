package meanfield

import (
	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/tensor"
)

// Kernel returns the empirical neural tangent kernel of the network on the
// rows of x [n, d], Theta = J J^T with J the Jacobian of the outputs with
// respect to all parameters (a_i, w_i, b_i), traced over the k outputs as
// neural-tangents does (the same quantity as ntk.Empirical, in closed form):
//
//	Theta(x, x') = alpha^2 sum_i [ h_i(x) h_i(x') + (|a_i|^2/k) act'(z_i(x)) act'(z_i(x')) (c^2 x.x' + 1{bias}) ]
//
// with z_i(x) = c w_i . x + b_i and h_i = act(z_i). It costs O(n^2 m) and
// needs no tape, which keeps kernel drift affordable at every record of a
// run on wide networks. Every parameter has the same learning-rate
// multiplier, so Theta is, up to that constant, the kernel that drives the
// outputs under gradient descent.
func (n *Net) Kernel(x *tensor.Tensor[float64]) *mat.SymDense {
	n.checkInput("Kernel", x)
	rows, m, k := x.Dim(0), n.Config.Width, n.Config.Outputs
	h, dh := n.features(x, true)
	a := n.Readout.Weight.Value.Data()
	// Fold |a_i|^2/k into one copy of act'.
	scaled := make([]float64, len(dh))
	for i := 0; i < m; i++ {
		var a2 float64
		for o := 0; o < k; o++ {
			a2 += a[o*m+i] * a[o*m+i]
		}
		a2 /= float64(k)
		for r := 0; r < rows; r++ {
			scaled[r*m+i] = dh[r*m+i] * a2
		}
	}
	H := mat.NewDense(rows, m, h)
	D := mat.NewDense(rows, m, dh)
	S := mat.NewDense(rows, m, scaled)
	X := mat.NewDense(rows, n.Config.InputDim, x.Clone().Data())
	var hh, dd, xx mat.Dense
	hh.Mul(H, H.T())
	dd.Mul(S, D.T())
	xx.Mul(X, X.T())
	c2 := n.Hidden.Alpha * n.Hidden.Alpha
	bias := 0.0
	if n.Hidden.Bias != nil {
		bias = 1
	}
	s2 := n.Readout.Alpha * n.Readout.Alpha
	K := mat.NewSymDense(rows, nil)
	for i := 0; i < rows; i++ {
		for j := i; j < rows; j++ {
			// Symmetrize explicitly: S D^T is symmetric only up to rounding.
			d := 0.5 * (dd.At(i, j) + dd.At(j, i))
			K.SetSym(i, j, s2*(hh.At(i, j)+d*(c2*xx.At(i, j)+bias)))
		}
	}
	return K
}

// KernelDrift returns ||Theta_t - Theta_0||_F / ||Theta_0||_F: O(m^-1/2) in
// the lazy regime (Jacot et al. 2018; Lee et al. 2019), O(1) in mean field.
func KernelDrift(theta0, thetaT mat.Matrix) float64 {
	var diff mat.Dense
	diff.Sub(thetaT, theta0)
	return mat.Norm(&diff, 2) / mat.Norm(theta0, 2)
}
