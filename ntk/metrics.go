package ntk

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// Spectrum returns the eigenvalues of the symmetric matrix k in ascending
// order (not clamped: a kernel's tiny negative eigenvalues show how far
// rounding has moved it from positive semidefinite).
func Spectrum(k mat.Symmetric) ([]float64, error) { return spectrum("Spectrum", "k", k) }

// spectrum is Spectrum; errors for a nil k name function fn's argument.
func spectrum(fn, name string, k mat.Symmetric) ([]float64, error) {
	if err := nonNilMatrix(fn, name, k); err != nil {
		return nil, err
	}
	if k.SymmetricDim() == 0 {
		return nil, errors.New("ntk: empty kernel has no spectrum")
	}
	if err := finite("kernel", k); err != nil {
		return nil, err
	}
	var es mat.EigenSym
	if !es.Factorize(k, false) {
		return nil, errors.New("ntk: eigendecomposition did not converge")
	}
	return es.Values(nil), nil
}

// LambdaMin returns the smallest eigenvalue of k, which sets the slowest
// rate exp(-eta lambda_min t / N) at which gradient flow fits the training
// set (Du et al. 2019; Liu, Zhu and Belkin's PL* constant for the square
// loss).
func LambdaMin(k mat.Symmetric) (float64, error) {
	ev, err := spectrum("LambdaMin", "k", k)
	if err != nil {
		return 0, err
	}
	return ev[0], nil
}

// KernelDrift returns ||Theta_t - Theta_0||_F / ||Theta_0||_F, the relative
// change of the kernel during training: O(width^-1/2) in the lazy (NTK)
// regime (Jacot et al. 2018; Lee et al. 2019), O(1) with feature learning.
func KernelDrift(theta0, thetaT mat.Matrix) (float64, error) {
	if err := nonNilMatrix("KernelDrift", "theta0", theta0); err != nil {
		return 0, err
	}
	if err := nonNilMatrix("KernelDrift", "thetaT", thetaT); err != nil {
		return 0, err
	}
	r0, c0 := theta0.Dims()
	r1, c1 := thetaT.Dims()
	if r0 != r1 || c0 != c1 {
		return 0, fmt.Errorf("ntk: kernels are %d x %d and %d x %d", r0, c0, r1, c1)
	}
	var d mat.Dense
	d.Sub(thetaT, theta0)
	n0 := mat.Norm(theta0, 2)
	if n0 == 0 {
		return 0, errors.New("ntk: initial kernel is zero")
	}
	v := mat.Norm(&d, 2) / n0
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errors.New("ntk: kernel drift is not finite")
	}
	return v, nil
}

// KernelDriftTensor is KernelDrift for kernels held as tensors of any
// (equal) shape, e.g. the n1 x n2 x k x k output of Empirical.
func KernelDriftTensor[T tensor.Float](theta0, thetaT *tensor.Tensor[T]) (float64, error) {
	if err := nonNilTensors("KernelDriftTensor", []string{"theta0", "thetaT"}, theta0, thetaT); err != nil {
		return 0, err
	}
	if !tensor.SameShape(theta0, thetaT) {
		return 0, fmt.Errorf("ntk: kernels have shapes %v and %v", theta0.Shape(), thetaT.Shape())
	}
	var num, den float64
	a, b := theta0.Data(), thetaT.Data()
	for i := range a {
		d := float64(b[i]) - float64(a[i])
		num += d * d
		den += float64(a[i]) * float64(a[i])
	}
	if den == 0 {
		return 0, errors.New("ntk: initial kernel is zero")
	}
	v := math.Sqrt(num / den)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errors.New("ntk: kernel drift is not finite")
	}
	return v, nil
}

// KernelAlignment returns the kernel-target alignment of Cristianini et
// al. (2002), <K, Y Y^T>_F / (||K||_F ||Y Y^T||_F), for an n x n kernel and
// n x k targets: 1 when K is a multiple of Y Y^T, near 0 when unrelated. Its
// growth during training measures how much the kernel adapted to the task
// (Baratin et al. 2021; Kopitkov and Indelman 2020).
func KernelAlignment(k, y mat.Matrix) (float64, error) {
	if err := nonNilMatrix("KernelAlignment", "k", k); err != nil {
		return 0, err
	}
	if err := nonNilMatrix("KernelAlignment", "y", y); err != nil {
		return 0, err
	}
	n, n2 := k.Dims()
	ny, _ := y.Dims()
	if n != n2 || ny != n {
		return 0, fmt.Errorf("ntk: kernel is %d x %d but targets have %d rows", n, n2, ny)
	}
	var yy mat.Dense
	yy.Mul(y, y.T())
	var num float64
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			num += k.At(i, j) * yy.At(i, j)
		}
	}
	den := mat.Norm(k, 2) * mat.Norm(&yy, 2)
	if den == 0 {
		return 0, errors.New("ntk: alignment undefined for a zero kernel or zero targets")
	}
	v := num / den
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errors.New("ntk: alignment is not finite")
	}
	return v, nil
}

// Snapshot holds copies of a model's parameters, typically at
// initialization, to measure how far training moves them.
type Snapshot[T tensor.Float] struct {
	names  []string
	values []*tensor.Tensor[T]
}

// TakeSnapshot copies the current values of m's parameters. It panics if
// m is nil.
func TakeSnapshot[T tensor.Float](m nn.Module[T]) *Snapshot[T] {
	if err := nonNilModel("TakeSnapshot", m); err != nil {
		panic(err.Error())
	}
	s := &Snapshot[T]{}
	for _, p := range m.Params() {
		s.names = append(s.names, p.Name)
		s.values = append(s.values, p.Value.Clone())
	}
	return s
}

// ParamChange is the change of one parameter tensor since a snapshot.
type ParamChange struct {
	Name     string
	Abs      float64 // ||theta_t - theta_0||_2
	Relative float64 // ||theta_t - theta_0||_2 / ||theta_0||_2 (+Inf if theta_0 = 0 and theta_t != 0)
}

// RelativeChange returns, for every parameter of m in order, the change
// ||theta_t - theta_0|| / ||theta_0|| since the snapshot (per layer: a
// Linear layer's weight and bias are separate entries), and the same ratio
// for all parameters together. In the NTK parameterization the weights of
// a width-n net move by O(n^-1/2) relative to their size (lazy training);
// under mean-field scaling by O(1). It returns an error if m's parameters
// do not match the snapshot's names and shapes.
func (s *Snapshot[T]) RelativeChange(m nn.Module[T]) (perParam []ParamChange, total float64, err error) {
	if s == nil {
		return nil, 0, errNil("Snapshot.RelativeChange", "the Snapshot")
	}
	if err := nonNilModel("Snapshot.RelativeChange", m); err != nil {
		return nil, 0, err
	}
	ps := m.Params()
	if len(ps) != len(s.values) {
		return nil, 0, fmt.Errorf("ntk: model has %d parameters, snapshot %d", len(ps), len(s.values))
	}
	var num, den float64
	for i, p := range ps {
		v0 := s.values[i]
		if p.Name != s.names[i] || !tensor.SameShape(p.Value, v0) {
			return nil, 0, fmt.Errorf("ntk: parameter %d is %q %v, snapshot has %q %v", i, p.Name, p.Value.Shape(), s.names[i], v0.Shape())
		}
		var d2, n2 float64
		a, b := v0.Data(), p.Value.Data()
		for j := range a {
			d := float64(b[j]) - float64(a[j])
			d2 += d * d
			n2 += float64(a[j]) * float64(a[j])
		}
		num += d2
		den += n2
		perParam = append(perParam, ParamChange{Name: p.Name, Abs: math.Sqrt(d2), Relative: ratio(d2, n2)})
	}
	return perParam, ratio(num, den), nil
}

// ratio returns sqrt(a/b) with 0/0 = 0 and a/0 = +Inf.
func ratio(a, b float64) float64 {
	if b == 0 {
		if a == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return math.Sqrt(a / b)
}
