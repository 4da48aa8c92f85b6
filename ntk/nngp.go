package ntk

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// EmpiricalNNGP returns the empirical NNGP kernel of the MLP m between the
// rows of x1 [n1, d] and x2 [n2, d] (nil means x1, and the result is then
// exactly symmetric): with h(x) the post-activation of the last hidden
// layer (width n_L; the input itself for an MLP without hidden layers),
//
//	K(x, x') = W_std^2 h(x) . h(x') / n_L + b_std^2
//
// (b_std^2 only when the readout has a bias). It is the covariance of one
// output over the random readout layer with the hidden layers fixed, the
// readout Dense map of Arch's recursion applied to the empirical feature
// covariance, and so it converges to Arch.Kernels' NNGP as the widths grow
// (Lee et al. 2018; Matthews et al. 2018), with fluctuations of order
// n^-1/2. Only the NTK and standard parameterizations with their own
// initializers have this readout (under muP and mean field the readout is
// scaled by 1/n and the output covariance vanishes); FeatureKernel takes
// the features of any other model.
func EmpiricalNNGP[T tensor.Float](m *nn.MLP[T], x1, x2 *tensor.Tensor[T]) (*mat.Dense, error) {
	if m == nil {
		return nil, errNil("EmpiricalNNGP", "the MLP")
	}
	if err := nonNilTensors("EmpiricalNNGP", []string{"x1"}, x1); err != nil {
		return nil, err
	}
	cfg := m.Config
	if _, err := ArchOf(cfg); err != nil {
		return nil, fmt.Errorf("ntk: EmpiricalNNGP needs an MLP whose readout has an NNGP limit: %w (use FeatureKernel)", err)
	}
	L := len(m.Layers)
	features := func(x *tensor.Tensor[T]) (*tensor.Tensor[T], error) {
		if s := x.Shape(); len(s) != 2 || s[1] != cfg.Dims[0] {
			return nil, fmt.Errorf("ntk: EmpiricalNNGP input has shape %v, want [n %d]", s, cfg.Dims[0])
		}
		if L == 1 {
			return x, nil
		}
		tape := autograd.NewTape[T]()
		h := tape.Const(x)
		for _, l := range m.Layers[:L-1] {
			h = l.Forward(tape, h)
		}
		return h.Value(), nil
	}
	k, err := FeatureKernel(features, x1, x2)
	if err != nil {
		return nil, err
	}
	w := cfg.WStd
	if w == 0 {
		w = 1
	}
	// FeatureKernel divides by the width already.
	var b2 float64
	if cfg.HasBias() {
		b2 = cfg.BStd * cfg.BStd
	}
	data := k.RawMatrix().Data
	for i := range data {
		data[i] = w*w*data[i] + b2
	}
	return k, nil
}

// FeatureKernel returns Phi(x1) Phi(x2)^T / p for a feature map that
// returns [n, p] features of [n, d] inputs (x2 nil means x1, and the
// result is then exactly symmetric): the empirical NNGP kernel of any
// model whose readout is a Dense layer with unit weight variance on those
// features (scale it by W_std^2 and add b_std^2 for another readout), as
// for a CNN's flattened last hidden layer.
func FeatureKernel[T tensor.Float](features func(x *tensor.Tensor[T]) (*tensor.Tensor[T], error), x1, x2 *tensor.Tensor[T]) (*mat.Dense, error) {
	if features == nil {
		return nil, errNil("FeatureKernel", "the feature map")
	}
	if err := nonNilTensors("FeatureKernel", []string{"x1"}, x1); err != nil {
		return nil, err
	}
	f1, err := featureMatrix(features, x1)
	if err != nil {
		return nil, err
	}
	f2 := f1
	if x2 != nil {
		if f2, err = featureMatrix(features, x2); err != nil {
			return nil, err
		}
		if _, p1 := f1.Dims(); true {
			if _, p2 := f2.Dims(); p1 != p2 {
				return nil, fmt.Errorf("ntk: FeatureKernel: features have widths %d and %d", p1, p2)
			}
		}
	}
	n1, p := f1.Dims()
	n2, _ := f2.Dims()
	k := mat.NewDense(n1, n2, nil)
	k.Mul(f1, f2.T())
	k.Scale(1/float64(p), k)
	if x2 == nil {
		symmetrize(k)
	}
	return k, finite("NNGP kernel", k)
}

// featureMatrix returns the features of x as a float64 n x p matrix.
func featureMatrix[T tensor.Float](features func(x *tensor.Tensor[T]) (*tensor.Tensor[T], error), x *tensor.Tensor[T]) (*mat.Dense, error) {
	f, err := features(x)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, fmt.Errorf("ntk: the feature map returned nil for %v inputs", x.Shape())
	}
	s := f.Shape()
	if len(s) != 2 || s[0] != x.Dim(0) || s[1] == 0 {
		return nil, fmt.Errorf("ntk: the feature map returned shape %v for %d inputs, want [%d p] with p > 0", s, x.Dim(0), x.Dim(0))
	}
	out := mat.NewDense(s[0], s[1], nil)
	data := out.RawMatrix().Data
	for i, v := range f.Data() {
		data[i] = float64(v)
	}
	return out, nil
}
