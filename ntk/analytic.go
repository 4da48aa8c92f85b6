package ntk

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/nn"
)

// kernelMap is the infinite-width map of an activation: the kernel
// E[phi(u) phi(v)] and derivative kernel E[phi'(u) phi'(v)] of a centred
// Gaussian pair. ReLU and leaky ReLU share one formula, that of
// a*min(x, 0) + b*max(x, 0) (neural-tangents' ABRelu), so the two slopes
// stay here rather than in a second activation vocabulary. Activations
// without a closed form carry their function and derivative and are
// integrated numerically (quadrature.go).
type kernelMap struct {
	kind actKind
	a, b float64                         // slopes for x < 0 and x > 0 (actABReLU)
	phi  func(z float64) (v, dv float64) // the activation (actNumeric)
}

// actKind enumerates the activation families of kernelMap.
type actKind uint8

const (
	actABReLU actKind = iota
	actErf
	actIdentity
	actSin
	actNumeric
)

// Sin names the activation sin(z) for Arch. It is not one of the
// activations of the networks (nn.Activation has no sine layer), so an
// MLPConfig cannot use it, but its kernels have a closed form (see the
// package documentation) and it is the random-Fourier-feature activation
// of kernel methods.
const Sin nn.Activation = "sin"

// kernelMapOf returns the kernel map of an activation of the vocabulary
// ("" is nn's default, ReLU) or of Sin: the closed form where there is
// one, Gaussian quadrature of tensor.Activation.Eval otherwise, or an
// error naming the known activations.
func kernelMapOf(a nn.Activation) (kernelMap, error) {
	switch a {
	case nn.ReLU, "":
		return kernelMap{kind: actABReLU, a: 0, b: 1}, nil
	case nn.LeakyReLU:
		return kernelMap{kind: actABReLU, a: nn.LeakySlope, b: 1}, nil
	case nn.Erf:
		return kernelMap{kind: actErf}, nil
	case nn.Identity:
		return kernelMap{kind: actIdentity}, nil
	case Sin:
		return kernelMap{kind: actSin}, nil
	}
	if a.Valid() {
		return kernelMap{kind: actNumeric, phi: a.Eval}, nil
	}
	_, err := nn.ParseActivation(string(a))
	return kernelMap{}, fmt.Errorf("ntk: no kernel for activation %q: %w (or %q)", a, err, Sin)
}

// numericKernelMap returns the kernel map that integrates phi, which
// returns the activation and its derivative, by quadrature.
func numericKernelMap(phi func(z float64) (v, dv float64)) kernelMap {
	return kernelMap{kind: actNumeric, phi: phi}
}

// Arch describes an infinitely wide MLP in neural-tangents' terms: Depth
// hidden layers Dense -> Act followed by a Dense readout, every Dense with
// weight scale WStd and bias scale BStd. It is the stax network
//
//	serial(Dense(., W_std, b_std), Act, ..., Dense(., W_std, b_std), Act, Dense(k, W_std, b_std))
//
// whose kernels do not depend on the output width k (the outputs are
// independent and identically distributed).
type Arch struct {
	// Depth is the number of hidden layers (0 gives a linear model).
	Depth int
	// Act is the hidden activation: any of nn.Activation (nn.ReLU, the
	// default when empty) or Sin. ReLU, leaky ReLU (slope nn.LeakySlope,
	// as the networks use), erf, identity and sin have closed-form
	// kernels; the others (tanh, sigmoid, GELU, SiLU, softplus) are
	// integrated by adaptive Gaussian quadrature, to about 1e-12
	// relative, at 1e4 to 5e5 evaluations of the activation (some
	// milliseconds) per kernel entry and layer: see Numeric.
	Act nn.Activation
	// WStd is sigma_w (0 selects neural-tangents' default 1).
	WStd float64
	// BStd is sigma_b (0: no bias contribution).
	BStd float64
	// Parameterization is nn.NTK (the default when empty) or nn.Standard.
	Parameterization nn.Parameterization
	// Widths are the hidden widths, used only by the standard
	// parameterization, whose NTK grows with the fan-in of every layer
	// (len(Widths) == Depth).
	Widths []int
	// NoBias removes the biases. It matters only in the standard
	// parameterization, where a bias adds 1 to the NTK of every layer; in
	// the NTK parameterization a bias enters through BStd alone.
	NoBias bool
}

// ArchOf returns the Arch whose analytic kernels are the infinite-width
// limit of MLPs built from cfg, or an error if there is none: a
// parameterization other than NTK or standard, a weight initializer other
// than the parameterization's own, or per-layer activations that differ. In the standard parameterization the hidden widths of cfg are
// recorded, because its NTK depends on them.
func ArchOf(cfg nn.MLPConfig) (Arch, error) {
	if len(cfg.Dims) < 2 {
		return Arch{}, fmt.Errorf("ntk: MLPConfig.Dims %v needs an input and an output width", cfg.Dims)
	}
	p := cfg.Parameterization
	if p == "" {
		p = nn.Standard // nn's default
	}
	if p != nn.NTK && p != nn.Standard {
		return Arch{}, fmt.Errorf("ntk: no analytic kernel for parameterization %q (want ntk or standard)", p)
	}
	if cfg.Init != nn.InitDefault {
		return Arch{}, fmt.Errorf("ntk: no analytic kernel for initializer %q (want the parameterization's default)", cfg.Init)
	}
	depth := len(cfg.Dims) - 2
	act := nn.ReLU
	for l := 0; l < depth; l++ {
		name := cfg.Activation
		if len(cfg.Activations) == depth && cfg.Activations[l] != "" {
			name = cfg.Activations[l]
		}
		if _, err := kernelMapOf(name); err != nil {
			return Arch{}, err
		}
		if name == "" {
			name = nn.ReLU
		}
		if l > 0 && name != act {
			return Arch{}, fmt.Errorf("ntk: per-layer activations %v differ; Arch has one activation", cfg.Activations)
		}
		act = name
	}
	w := cfg.WStd
	if w == 0 {
		w = 1
	}
	arch := Arch{Depth: depth, Act: act, WStd: w, BStd: cfg.BStd, Parameterization: p, NoBias: cfg.NoBias}
	if p == nn.NTK && cfg.BStd == 0 {
		arch.NoBias = true // nn: b_std = 0 means no bias in the NTK parameterization
	}
	if p == nn.Standard {
		arch.Widths = append([]int(nil), cfg.Dims[1:len(cfg.Dims)-1]...)
	}
	return arch, nil
}

// Numeric reports whether the kernels of a need numerical quadrature (an
// activation without a closed form, such as tanh or GELU), which costs
// some milliseconds per kernel entry and layer instead of nanoseconds: a
// caller that sizes its inputs for closed-form kernels (thousands of
// points) can check it first. An invalid activation reports false.
func (a Arch) Numeric() bool {
	km, err := kernelMapOf(a.Act)
	return err == nil && km.kind == actNumeric
}

// Kernel holds an NNGP kernel and an NTK between two sets of inputs, each
// n1 x n2.
type Kernel struct {
	NNGP *mat.Dense
	NTK  *mat.Dense
}

// Gram holds the NNGP kernel and the NTK of one set of inputs with itself:
// symmetric n x n matrices, the form NewPredictor, Spectrum,
// MaxLearningRate and gonum's symmetric routines (mat.EigenSym,
// mat.Cholesky) take as they are.
type Gram struct {
	NNGP *mat.SymDense
	NTK  *mat.SymDense
}

// check validates the architecture and returns it with defaults filled
// in, and the kernel map of its activation.
func (a Arch) check() (Arch, kernelMap, error) {
	if a.Depth < 0 {
		return a, kernelMap{}, fmt.Errorf("ntk: Arch.Depth %d is negative", a.Depth)
	}
	if a.WStd == 0 {
		a.WStd = 1
	}
	if a.WStd < 0 || a.BStd < 0 || math.IsNaN(a.WStd+a.BStd) || math.IsInf(a.WStd+a.BStd, 0) {
		return a, kernelMap{}, fmt.Errorf("ntk: Arch.WStd %v and BStd %v must be finite and non-negative", a.WStd, a.BStd)
	}
	act, err := kernelMapOf(a.Act)
	if err != nil {
		return a, kernelMap{}, err
	}
	switch a.Parameterization {
	case "":
		a.Parameterization = nn.NTK
	case nn.NTK:
	case nn.Standard:
		if len(a.Widths) != a.Depth {
			return a, act, fmt.Errorf("ntk: standard parameterization needs Depth = %d hidden widths, Arch.Widths has %d", a.Depth, len(a.Widths))
		}
		for i, w := range a.Widths {
			if w <= 0 {
				return a, act, fmt.Errorf("ntk: Arch.Widths[%d] = %d is not positive", i, w)
			}
		}
	default:
		return a, act, fmt.Errorf("ntk: no analytic kernel for parameterization %q (want ntk or standard)", a.Parameterization)
	}
	return a, act, nil
}

// Kernels returns the infinite-width NNGP kernel and NTK of the network
// between the rows of x1 (n1 x d) and x2 (n2 x d); a nil x2 (also a nil
// *mat.Dense) means x1, and
// the kernels are then exactly symmetric (Gram returns them as symmetric
// matrices). A *tensor.Tensor[float64] converts with tensor.ToDense
// without copying.
//
// The recursion is neural-tangents' (see the package documentation): the
// input kernel K0 = x.x'/d, then for each Dense layer Sigma = WStd^2 K +
// BStd^2 and Theta = Sigma + WStd^2 Theta (NTK parameterization) or Theta =
// fanIn K + WStd^2 Theta [+ 1 with a bias] (standard), and for each
// activation K = E[phi(u) phi(v)], Theta = Theta * E[phi'(u) phi'(v)] with
// (u, v) Gaussian with covariance Sigma.
//
// The error names the problem: mismatched input widths, non-finite inputs
// or kernels, an invalid Arch.
func (a Arch) Kernels(x1, x2 mat.Matrix) (Kernel, error) {
	if err := nonNilMatrix("Arch.Kernels", "x1", x1); err != nil {
		return Kernel{}, err
	}
	x2 = optional(x2)
	nngp, ntk, err := a.kernels(x1, x2)
	if err != nil {
		return Kernel{}, err
	}
	return Kernel{NNGP: nngp, NTK: ntk}, nil
}

// Gram returns the kernels of the rows of x with themselves, the numbers
// of Kernels(x, nil), as symmetric matrices: the training kernel of
// kernel regression, which passes to NewPredictor as it is. The matrices
// are views of the computed storage, not copies; both triangles are
// stored, so a *mat.Dense view of the same data (mat.NewDense(n, n,
// g.NTK.RawSymmetric().Data)) is valid too.
func (a Arch) Gram(x mat.Matrix) (Gram, error) {
	if err := nonNilMatrix("Arch.Gram", "x", x); err != nil {
		return Gram{}, err
	}
	c, theta, err := a.kernels(x, nil)
	if err != nil {
		return Gram{}, err
	}
	n, _ := c.Dims()
	return Gram{NNGP: mat.NewSymDense(n, c.RawMatrix().Data), NTK: mat.NewSymDense(n, theta.RawMatrix().Data)}, nil
}

// kernels computes the NNGP kernel c and the NTK theta of Kernels.
func (a Arch) kernels(x1, x2 mat.Matrix) (c, theta *mat.Dense, err error) {
	a, act, err := a.check()
	if err != nil {
		return nil, nil, err
	}
	same := x2 == nil
	if same {
		x2 = x1
	}
	n1, d := x1.Dims()
	n2, d2 := x2.Dims()
	if d != d2 {
		return nil, nil, fmt.Errorf("ntk: inputs have %d and %d features", d, d2)
	}
	if err := finite("x1", x1); err != nil {
		return nil, nil, err
	}
	if !same {
		if err := finite("x2", x2); err != nil {
			return nil, nil, err
		}
	}

	// c holds the cross covariance, q1 and q2 the variances of the two
	// input sets; all three run through the same layer maps.
	c = mat.NewDense(n1, n2, nil)
	c.Mul(x1, x2.T())
	c.Scale(1/float64(d), c)
	if same {
		symmetrize(c)
	}
	q1, q2 := rowSquares(x1, d), rowSquares(x2, d)
	if same {
		// One set of variances, and the diagonal of c equal to them bit
		// for bit: the ReLU angle arccos(c/sqrt(q1 q2)) magnifies a
		// relative rounding difference e to sqrt(2e) ~ 1e-8.
		q2 = q1
		for i, q := range q1 {
			c.Set(i, i, q)
		}
	}
	theta = mat.NewDense(n1, n2, nil)
	a.layers(act, c, theta, q1, q2, same, d)
	if same {
		symmetrize(c)
		symmetrize(theta)
	}
	if err := finite("NNGP kernel", c); err != nil {
		return nil, nil, err
	}
	if err := finite("NTK", theta); err != nil {
		return nil, nil, err
	}
	return c, theta, nil
}

// layers runs the covariance c (n1 x n2), the NTK theta and the variances
// q1, q2 (the same slice when same) through the Dense and activation maps
// of every layer, in place; d is the input width.
func (a Arch) layers(act kernelMap, c, theta *mat.Dense, q1, q2 []float64, same bool, d int) {
	_, n2 := c.Dims()
	w2, b2 := a.WStd*a.WStd, a.BStd*a.BStd
	bias := 1.0
	if a.NoBias {
		b2, bias = 0, 0
	}
	fanIn := float64(d)
	cd, td := c.RawMatrix().Data, theta.RawMatrix().Data
	for l := 0; l <= a.Depth; l++ {
		// Dense layer.
		if a.Parameterization == nn.Standard {
			for i := range td {
				td[i] = fanIn*cd[i] + w2*td[i] + bias
			}
			if l < a.Depth {
				fanIn = float64(a.Widths[l])
			}
		}
		for i := range cd {
			cd[i] = w2*cd[i] + b2
		}
		for i := range q1 {
			q1[i] = w2*q1[i] + b2
		}
		if !same {
			for i := range q2 {
				q2[i] = w2*q2[i] + b2
			}
		}
		if a.Parameterization == nn.NTK {
			for i := range td {
				td[i] = cd[i] + w2*td[i]
			}
		}
		if l == a.Depth {
			break
		}
		// Activation: the cross terms need the variances before they
		// change, so they go first.
		if act.kind == actNumeric {
			numericLayer(act, cd, td, q1, q2, n2, same)
		} else {
			for i := range q1 {
				row := cd[i*n2 : (i+1)*n2]
				trow := td[i*n2 : (i+1)*n2]
				for j := range row {
					k, kdot := act.pair(q1[i], q2[j], row[j])
					row[j] = k
					trow[j] *= kdot
				}
			}
		}
		for i := range q1 {
			q1[i] = act.diag(q1[i])
		}
		if !same {
			for i := range q2 {
				q2[i] = act.diag(q2[i])
			}
		}
	}
}

// numericLayer is the activation step of layers for a quadrature kernel
// map, whose entries cost milliseconds each: for one input set only the
// upper triangle is integrated (and mirrored), and rows are shared among
// GOMAXPROCS goroutines.
func numericLayer(act kernelMap, cd, td, q1, q2 []float64, n2 int, same bool) {
	rows := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range rows {
				j0 := 0
				if same {
					j0 = i
				}
				for j := j0; j < n2; j++ {
					k, kdot := act.pair(q1[i], q2[j], cd[i*n2+j])
					cd[i*n2+j] = k
					td[i*n2+j] *= kdot
				}
			}
		})
	}
	// Long rows first when only the upper triangle is computed.
	for i := range q1 {
		rows <- i
	}
	close(rows)
	wg.Wait()
	if same {
		for i := range q1 {
			for j := 0; j < i; j++ {
				cd[i*n2+j] = cd[j*n2+i]
				td[i*n2+j] = td[j*n2+i]
			}
		}
	}
}

// pair returns the kernel E[phi(u) phi(v)] and derivative kernel
// E[phi'(u) phi'(v)] of (u, v) ~ N(0, [[q1, c], [c, q2]]).
func (a kernelMap) pair(q1, q2, c float64) (k, kdot float64) {
	switch a.kind {
	case actABReLU:
		// Arc-cosine kernel of degree 1 (Cho & Saul 2009), generalised
		// to two slopes: with theta the angle between u and v,
		// K = f sqrt(q1 q2 - c^2) + kdot c, kdot = (a^2 + b^2)/2 - f theta,
		// f = (a - b)^2 / (2 pi).
		s := math.Sqrt(math.Max(q1*q2-c*c, 0))
		theta := math.Pi / 2
		if s != 0 || c != 0 {
			theta = math.Atan2(s, c)
		}
		f := (a.a - a.b) * (a.a - a.b) / (2 * math.Pi)
		kdot = (a.a*a.a+a.b*a.b)/2 - f*theta
		return f*s + kdot*c, kdot
	case actErf:
		// Williams (1997): K = (2/pi) arcsin(2c / sqrt((1+2q1)(1+2q2))),
		// written with atan2 so that |2c| close to the root stays finite.
		prod := (1 + 2*q1) * (1 + 2*q2)
		r := math.Sqrt(math.Max(prod-4*c*c, 0))
		return 2 / math.Pi * math.Atan2(2*c, r), 4 / math.Pi / r
	case actIdentity:
		return c, 1
	case actSin:
		// E[sin u sin v] = (E cos(u - v) - E cos(u + v)) / 2 with
		// E cos(w) = exp(-Var(w)/2): exp(-(q1+q2)/2) sinh(c), and
		// E[cos u cos v] = exp(-(q1+q2)/2) cosh(c); the exponents are
		// combined so that large variances do not overflow sinh.
		s := (q1 + q2) / 2
		ep, em := math.Exp(c-s), math.Exp(-c-s)
		return (ep - em) / 2, (ep + em) / 2
	case actNumeric:
		return numericPair(a.phi, q1, q2, c)
	}
	panic("ntk: invalid kernel map")
}

// diag returns E[phi(u)^2] for u ~ N(0, q).
func (a kernelMap) diag(q float64) float64 {
	switch a.kind {
	case actABReLU:
		return (a.a*a.a + a.b*a.b) / 2 * q
	case actErf:
		return 2 / math.Pi * math.Atan(2*q/math.Sqrt(1+4*q))
	case actIdentity:
		return q
	case actSin:
		return -math.Expm1(-2*q) / 2
	case actNumeric:
		return numericDiag(a.phi, q)
	}
	panic("ntk: invalid kernel map")
}

// rowSquares returns |x_i|^2 / d for every row of x.
func rowSquares(x mat.Matrix, d int) []float64 {
	n, _ := x.Dims()
	q := make([]float64, n)
	for i := range q {
		var s float64
		for j := 0; j < d; j++ {
			v := x.At(i, j)
			s += v * v
		}
		q[i] = s / float64(d)
	}
	return q
}

// symmetrize replaces a square matrix by (A + A^T)/2, removing the rounding
// asymmetry of a GEMM so that eigensolvers see an exactly symmetric matrix.
func symmetrize(a *mat.Dense) {
	n, _ := a.Dims()
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			v := (a.At(i, j) + a.At(j, i)) / 2
			a.Set(i, j, v)
			a.Set(j, i, v)
		}
	}
}

// finite returns an error naming what and the first position of a
// non-finite element of m.
func finite(what string, m mat.Matrix) error {
	r, c := m.Dims()
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			if v := m.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("ntk: %s has non-finite element %v at (%d, %d)", what, v, i, j)
			}
		}
	}
	return nil
}
