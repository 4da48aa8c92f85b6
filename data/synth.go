package data

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/tensor"
)

// The generators below draw everything from the *rand.Rand they are given,
// one value at a time in a fixed order, so the same seed gives the same
// dataset bit for bit. Values are computed in float64 and rounded to T
// once, and targets are computed from the rounded inputs, so that a target
// relation such as y = X w holds for the stored X, not for an X the caller
// never sees.

// InputDist is the distribution of generated inputs.
type InputDist int

// Input distributions.
const (
	// GaussianInputs draws x ~ N(0, I_d).
	GaussianInputs InputDist = iota
	// SphereInputs draws x uniformly on the sphere S^{d-1} = {x : |x| = 1},
	// the setting of the NTK spectral theory.
	SphereInputs
)

// TeacherConfig configures TeacherStudent.
type TeacherConfig struct {
	// Dims are the teacher's layer widths [d, h_1, ..., h_L, k]: d
	// inputs, L hidden layers, k outputs. At least two entries.
	Dims []int
	// Activation is applied after every layer but the last; empty means
	// tensor.Identity, so that the zero value is a linear teacher.
	Activation tensor.Activation
	// BiasStd is the standard deviation of the teacher's biases; 0 gives
	// a teacher without biases.
	BiasStd float64
	// Inputs is the input distribution.
	Inputs InputDist
	// Classify makes a classification dataset: the label is the argmax of
	// the k outputs (k >= 2), or 1{output > 0} with two classes when k = 1.
	// Otherwise the targets are the outputs themselves, in Y [n, k].
	Classify bool
	// LabelNoise is, for classification, the probability that a label is
	// replaced by a class drawn uniformly (possibly the same one).
	LabelNoise float64
	// Noise is, for regression, the standard deviation of the Gaussian
	// noise added to each target.
	Noise float64
}

// errNilRNG is the error of a generator given no random source.
func errNilRNG(fn string) error {
	return fmt.Errorf("%s: rng is nil (want a seeded *rand.Rand, e.g. rand.New(rand.NewPCG(seed, 1)))", fn)
}

// Teacher is a fully connected network with random weights that defines
// the target function of a teacher-student problem.
type Teacher[T tensor.Float] struct {
	// Weights[l] has shape [Dims[l+1], Dims[l]], the layout of PyTorch's
	// Linear.weight, with entries N(0, 1/Dims[l]) so that every layer's
	// pre-activations have variance about 1 for unit-variance inputs.
	Weights []*tensor.Tensor[T]
	// Biases[l] has Dims[l+1] entries N(0, BiasStd^2).
	Biases [][]T
	// Activation is applied after every layer but the last (never empty
	// in a Teacher from NewTeacher).
	Activation tensor.Activation
}

// NewTeacher draws a teacher network of the given widths; see Teacher. Any
// of the activations of package tensor may be used; an empty act is
// tensor.Identity.
func NewTeacher[T tensor.Float](rng *rand.Rand, dims []int, act tensor.Activation, biasStd float64) (*Teacher[T], error) {
	if rng == nil {
		return nil, errNilRNG("data.NewTeacher")
	}
	if len(dims) < 2 {
		return nil, fmt.Errorf("data: teacher dims %v: need at least input and output widths", dims)
	}
	for i, w := range dims {
		if w < 1 {
			return nil, fmt.Errorf("data: teacher dims %v: width %d at %d is below 1", dims, w, i)
		}
	}
	if act == "" {
		act = tensor.Identity
	}
	if _, err := tensor.ParseActivation(string(act)); err != nil {
		return nil, fmt.Errorf("data: teacher activation: %w", err)
	}
	if !(biasStd >= 0) {
		return nil, fmt.Errorf("data: teacher bias std %v, want >= 0", biasStd)
	}
	t := &Teacher[T]{Activation: act}
	for l := 0; l+1 < len(dims); l++ {
		in, out := dims[l], dims[l+1]
		t.Weights = append(t.Weights, tensor.RandN(rng, 0, T(1/math.Sqrt(float64(in))), out, in))
		b := make([]T, out)
		if biasStd > 0 {
			for j := range b {
				b[j] = T(biasStd * rng.NormFloat64())
			}
		}
		t.Biases = append(t.Biases, b)
	}
	return t, nil
}

// Forward returns the teacher's outputs for the rows of x [n, d]:
// h_0 = x, h_{l+1} = a(h_l W_l^T + b_l), and the last layer without a.
// It panics if x does not have d columns, as tensor.MatMul does.
//
// The activation is applied by autograd.Activate on a tape that records
// nothing: the teacher's nonlinearity is then the very function a student
// network with the same activation computes, kernels and rounding
// included, not a second implementation of it.
func (t *Teacher[T]) Forward(x *tensor.Tensor[T]) *tensor.Tensor[T] {
	tape := autograd.NewTape[T]()
	tape.SetGradEnabled(false)
	h := x
	for l, w := range t.Weights {
		z := tensor.MatMul(h, w, false, true)
		b := t.Biases[l]
		zd := z.Data()
		for i := 0; i < len(zd); i += len(b) {
			row := zd[i : i+len(b)]
			for j := range row {
				row[j] += b[j]
			}
		}
		if l+1 < len(t.Weights) {
			z = autograd.Activate(t.Activation, tape.Const(z)).Value()
		}
		h = z
	}
	return h
}

// TeacherStudent draws n inputs from cfg.Inputs and labels them with a
// fresh random teacher network (returned, so the student can be compared
// with it). See TeacherConfig for the targets.
func TeacherStudent[T tensor.Float](rng *rand.Rand, n int, cfg TeacherConfig) (*Dataset[T], *Teacher[T], error) {
	if rng == nil {
		return nil, nil, errNilRNG("data.TeacherStudent")
	}
	if n < 1 {
		return nil, nil, fmt.Errorf("data: teacher-student with %d examples", n)
	}
	if !(cfg.LabelNoise >= 0 && cfg.LabelNoise <= 1) || !(cfg.Noise >= 0) {
		return nil, nil, fmt.Errorf("data: teacher-student label noise %v (want [0, 1]) or noise %v (want >= 0)", cfg.LabelNoise, cfg.Noise)
	}
	teacher, err := NewTeacher[T](rng, cfg.Dims, cfg.Activation, cfg.BiasStd)
	if err != nil {
		return nil, nil, err
	}
	d, k := cfg.Dims[0], cfg.Dims[len(cfg.Dims)-1]
	var x *tensor.Tensor[T]
	switch cfg.Inputs {
	case GaussianInputs:
		x = gaussianMatrix[T](rng, n, d, 1)
	case SphereInputs:
		if x, err = Sphere[T](rng, n, d); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, fmt.Errorf("data: unknown input distribution %d", cfg.Inputs)
	}
	out := teacher.Forward(x)
	ds := &Dataset[T]{X: x}
	if !cfg.Classify {
		if cfg.Noise > 0 {
			for i, v := range out.Data() {
				out.Data()[i] = T(float64(v) + cfg.Noise*rng.NormFloat64())
			}
		}
		ds.Y = out
		return ds, teacher, nil
	}
	classes := max(k, 2)
	labels := make([]int32, n)
	o := out.Data()
	for i := range labels {
		row := o[i*k : (i+1)*k]
		if k == 1 {
			if row[0] > 0 {
				labels[i] = 1
			}
		} else {
			best := 0
			for j, v := range row {
				if v > row[best] {
					best = j
				}
			}
			labels[i] = int32(best)
		}
	}
	if cfg.LabelNoise > 0 {
		for i := range labels {
			if rng.Float64() < cfg.LabelNoise {
				labels[i] = int32(rng.IntN(classes))
			}
		}
	}
	ds.Labels, ds.NumClasses = labels, classes
	return ds, teacher, nil
}

// gaussianMatrix returns an [n, d] matrix of independent N(0, std^2) entries.
func gaussianMatrix[T tensor.Float](rng *rand.Rand, n, d int, std float64) *tensor.Tensor[T] {
	v := make([]T, n*d)
	for i := range v {
		v[i] = T(std * rng.NormFloat64())
	}
	return tensor.FromSlice(v, n, d)
}

// Sphere returns n points drawn uniformly on the unit sphere S^{d-1} in R^d,
// as the rows of an [n, d] tensor: x = g / |g| with g ~ N(0, I_d), which is
// uniform because the Gaussian is rotation invariant (Muller, 1959).
func Sphere[T tensor.Float](rng *rand.Rand, n, d int) (*tensor.Tensor[T], error) {
	if rng == nil {
		return nil, errNilRNG("data.Sphere")
	}
	if n < 1 || d < 1 {
		return nil, fmt.Errorf("data: %d points on the sphere in %d dimensions", n, d)
	}
	v := make([]T, n*d)
	g := make([]float64, d)
	for i := range n {
		var norm float64
		// |g| = 0 has probability zero but would divide by zero.
		for norm == 0 {
			for j := range g {
				g[j] = rng.NormFloat64()
			}
			norm = l2norm(g)
		}
		for j, gj := range g {
			v[i*d+j] = T(gj / norm)
		}
	}
	return tensor.FromSlice(v, n, d), nil
}

// l2norm computes |g| with scaling, so it neither overflows nor loses
// precision to underflow.
func l2norm(g []float64) float64 {
	var scale, ssq float64 = 0, 1
	for _, v := range g {
		if v == 0 {
			continue
		}
		a := math.Abs(v)
		if scale < a {
			ssq = 1 + ssq*(scale/a)*(scale/a)
			scale = a
		} else {
			ssq += (a / scale) * (a / scale)
		}
	}
	return scale * math.Sqrt(ssq)
}

// LinearRegression draws n examples y = x.w + noise*e with x ~ N(0, I_d),
// e ~ N(0, 1) and a planted w ~ N(0, I_d / d), so that x.w has variance
// about 1 and noise is the noise-to-signal ratio of the standard
// deviations. It returns the dataset (Y is [n, 1]) and w.
func LinearRegression[T tensor.Float](rng *rand.Rand, n, d int, noise float64) (*Dataset[T], []T, error) {
	if rng == nil {
		return nil, nil, errNilRNG("data.LinearRegression")
	}
	if n < 1 || d < 1 || !(noise >= 0) {
		return nil, nil, fmt.Errorf("data: linear regression with n = %d, d = %d, noise = %v", n, d, noise)
	}
	return linear[T](rng, n, d, noise)
}

// Overparameterized draws a noiseless linear regression problem with more
// parameters than examples (d > n): y = x.w exactly, x ~ N(0, I_d),
// w ~ N(0, I_d / d). Infinitely many weight vectors interpolate the data;
// gradient descent from zero converges to the minimum-norm one,
// X^T (X X^T)^{-1} y, which differs from the planted w returned here.
func Overparameterized[T tensor.Float](rng *rand.Rand, n, d int) (*Dataset[T], []T, error) {
	if rng == nil {
		return nil, nil, errNilRNG("data.Overparameterized")
	}
	if n < 1 || d <= n {
		return nil, nil, fmt.Errorf("data: overparameterized regression needs d > n >= 1, have n = %d, d = %d", n, d)
	}
	return linear[T](rng, n, d, 0)
}

func linear[T tensor.Float](rng *rand.Rand, n, d int, noise float64) (*Dataset[T], []T, error) {
	w := make([]T, d)
	for j := range w {
		w[j] = T(rng.NormFloat64() / math.Sqrt(float64(d)))
	}
	x := gaussianMatrix[T](rng, n, d, 1)
	y := make([]T, n)
	xd := x.Data()
	for i := range y {
		var s float64
		for j, wj := range w {
			s += float64(xd[i*d+j]) * float64(wj)
		}
		if noise > 0 {
			s += noise * rng.NormFloat64()
		}
		y[i] = T(s)
	}
	return &Dataset[T]{X: x, Y: tensor.FromSlice(y, n, 1)}, w, nil
}

// SparseRegression draws a LASSO / compressed-sensing problem: y = A b +
// noise*e with A [n, d] of independent N(0, 1/n) entries (columns of
// norm about 1), e ~ N(0, I_n), and a planted b with exactly k nonzero
// entries, each ±1 with random sign, on a support drawn uniformly among the
// k-subsets of the d coordinates. It returns the dataset (X = A, Y = y of
// shape [n, 1]) and b.
func SparseRegression[T tensor.Float](rng *rand.Rand, n, d, k int, noise float64) (*Dataset[T], []T, error) {
	if rng == nil {
		return nil, nil, errNilRNG("data.SparseRegression")
	}
	if n < 1 || d < 1 || k < 0 || k > d || !(noise >= 0) {
		return nil, nil, fmt.Errorf("data: sparse regression with n = %d, d = %d, k = %d, noise = %v", n, d, k, noise)
	}
	b := make([]T, d)
	for _, j := range rng.Perm(d)[:k] {
		b[j] = 1
		if rng.IntN(2) == 0 {
			b[j] = -1
		}
	}
	a := gaussianMatrix[T](rng, n, d, 1/math.Sqrt(float64(n)))
	ad := a.Data()
	y := make([]T, n)
	for i := range y {
		var s float64
		for j, bj := range b {
			if bj != 0 {
				s += float64(ad[i*d+j]) * float64(bj)
			}
		}
		if noise > 0 {
			s += noise * rng.NormFloat64()
		}
		y[i] = T(s)
	}
	return &Dataset[T]{X: a, Y: tensor.FromSlice(y, n, 1)}, b, nil
}

// TwoSpirals draws n points of two interleaved spirals in the plane (after
// Lang and Witbrock, 1988). Point i has class c = i mod 2, t ~ U(0, 1),
// angle a = 2 pi turns t + pi c and x = t (cos a, sin a) + noise*e with
// e ~ N(0, I_2): class 1 is class 0 rotated by half a turn.
func TwoSpirals[T tensor.Float](rng *rand.Rand, n int, turns, noise float64) (*Dataset[T], error) {
	if rng == nil {
		return nil, errNilRNG("data.TwoSpirals")
	}
	if n < 2 || !(turns > 0) || !(noise >= 0) {
		return nil, fmt.Errorf("data: two spirals with n = %d (want >= 2), turns = %v, noise = %v", n, turns, noise)
	}
	x := make([]T, 2*n)
	labels := make([]int32, n)
	for i := range labels {
		c := i % 2
		t := rng.Float64()
		a := 2*math.Pi*turns*t + math.Pi*float64(c)
		px, py := t*math.Cos(a), t*math.Sin(a)
		if noise > 0 {
			px += noise * rng.NormFloat64()
			py += noise * rng.NormFloat64()
		}
		x[2*i], x[2*i+1] = T(px), T(py)
		labels[i] = int32(c)
	}
	return &Dataset[T]{X: tensor.FromSlice(x, n, 2), Labels: labels, NumClasses: 2}, nil
}

// GaussianMixture draws a k-class classification problem: class means
// m_c = sep * u_c with u_c uniform on the sphere S^{d-1}, and x = m_c +
// std*e with e ~ N(0, I_d). Classes are balanced (counts differ by at most
// one) and appear in random order. It returns the dataset and the means as
// a [k, d] tensor.
func GaussianMixture[T tensor.Float](rng *rand.Rand, n, d, k int, sep, std float64) (*Dataset[T], *tensor.Tensor[T], error) {
	if rng == nil {
		return nil, nil, errNilRNG("data.GaussianMixture")
	}
	if n < 1 || d < 1 || k < 1 || !(sep >= 0) || !(std >= 0) {
		return nil, nil, fmt.Errorf("data: gaussian mixture with n = %d, d = %d, k = %d, sep = %v, std = %v", n, d, k, sep, std)
	}
	dirs, err := Sphere[float64](rng, k, d)
	if err != nil {
		return nil, nil, err
	}
	mu := make([]T, k*d)
	for i, u := range dirs.Data() {
		mu[i] = T(sep * u)
	}
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = int32(i % k)
	}
	rng.Shuffle(n, func(i, j int) { labels[i], labels[j] = labels[j], labels[i] })
	x := make([]T, n*d)
	for i, c := range labels {
		m := mu[int(c)*d : int(c+1)*d]
		for j, mj := range m {
			x[i*d+j] = T(float64(mj) + std*rng.NormFloat64())
		}
	}
	ds := &Dataset[T]{X: tensor.FromSlice(x, n, d), Labels: labels, NumClasses: k}
	return ds, tensor.FromSlice(mu, k, d), nil
}

// Sinusoid draws a 1-D regression problem: x ~ U(-pi, pi) and
// y = sin(freq x) + noise*e with e ~ N(0, 1); X and Y are [n, 1]. High
// frequencies probe the spectral bias of networks, which fit low
// frequencies first.
func Sinusoid[T tensor.Float](rng *rand.Rand, n int, freq, noise float64) (*Dataset[T], error) {
	if rng == nil {
		return nil, errNilRNG("data.Sinusoid")
	}
	if n < 1 || math.IsNaN(freq) || math.IsInf(freq, 0) || !(noise >= 0) {
		return nil, fmt.Errorf("data: sinusoid with n = %d, freq = %v, noise = %v", n, freq, noise)
	}
	x := make([]T, n)
	y := make([]T, n)
	for i := range x {
		xi := T(math.Pi * (2*rng.Float64() - 1))
		s := math.Sin(freq * float64(xi))
		if noise > 0 {
			s += noise * rng.NormFloat64()
		}
		x[i], y[i] = xi, T(s)
	}
	return &Dataset[T]{X: tensor.FromSlice(x, n, 1), Y: tensor.FromSlice(y, n, 1)}, nil
}
