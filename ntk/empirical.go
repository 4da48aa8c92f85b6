package ntk

import (
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// Method selects how Empirical computes J J^T.
type Method int

const (
	// Auto uses Structured for an *nn.MLP or *nn.Linear and Contraction
	// for any other module.
	Auto Method = iota
	// Structured uses the layer structure of an MLP: per Linear layer,
	// (X X^T) * (G G^T) with X the layer inputs and G the gradients of
	// each output with respect to the layer's pre-activations (Novak et
	// al. 2022's structured derivatives). Cost: about k+1 forward passes
	// for the G plus two GEMMs per layer and block; memory O(n (d + k
	// width)) per block rather than O(n k P).
	Structured
	// Contraction builds the per-example Jacobian J [n, k, P] from one
	// autograd backward pass per example and output, and multiplies J
	// J^T with GEMMs (Novak et al. 2022's Jacobian contraction). It works
	// for any module and is the baseline the structured method is checked
	// and timed against.
	Contraction
)

// DefaultMemoryBudget is the scratch memory Empirical uses when Options
// leaves MemoryBudget at 0: 1 GiB.
const DefaultMemoryBudget = 1 << 30

// Options configures Empirical and NTKVP.
type Options struct {
	// Full returns the n1 x n2 x k x k kernel Theta[i, j, a, b] =
	// J_a(x1_i) . J_b(x2_j) instead of neural-tangents' default trace
	// (1/k) sum_a J_a(x1_i) . J_a(x2_j), n1 x n2.
	Full bool
	// Params selects the parameters (by Param.Name) the Jacobian is
	// taken with respect to; nil means all.
	Params func(name string) bool
	// MemoryBudget bounds the scratch memory (features or Jacobian
	// blocks, and GEMM blocks) in bytes, not counting the result; the
	// inputs are processed in chunks of rows that fit. 0 selects
	// DefaultMemoryBudget. A budget too small for one example is raised
	// to one example.
	MemoryBudget int64
	// Method chooses the algorithm; the results agree to rounding.
	Method Method
	// ParamWeight, when set, weights each parameter's block of the kernel:
	// Theta = sum_p w_p J_p J_p^T over the parameter tensors p (by
	// Param.Name), instead of J J^T. With the learning-rate multipliers as
	// weights (LRWeights) it is the kernel that drives the outputs under
	// gradient descent with per-parameter rates eta w_p (Yang and Hu 2021);
	// see the package documentation. Weights must be finite and >= 0.
	ParamWeight func(name string) float64
}

// Empirical returns the empirical neural tangent kernel of m between the
// rows of x1 [n1, d] and x2 [n2, d] (nil means x1, and the result is then
// exactly symmetric): Theta = J(x1) J(x2)^T with J the Jacobian of the
// outputs with respect to the parameters at their current values (Jacot et
// al. 2018). m must map [n, d] to [n, k]. The result is [n1, n2] traced
// over the k outputs, or [n1, n2, k, k] with Options.Full.
//
// Forward multipliers (NTK, mean-field and muP parameterizations) are part
// of the function, so they are part of J: a layer Alpha x W^T contributes
// Alpha^2 (x1.x2)(g1.g2).
//
// Computation is chunked over rows of x1 and x2 to respect
// Options.MemoryBudget; the GEMMs run in parallel. Errors report
// mismatched shapes, an unsupported module for Method Structured, and
// non-finite kernels.
func Empirical[T tensor.Float](m nn.Module[T], x1, x2 *tensor.Tensor[T], opts Options) (*tensor.Tensor[T], error) {
	k, err := empiricalWidth("Empirical", m, x1, x2)
	if err != nil {
		return nil, err
	}
	n1, n2 := x1.Dim(0), x1.Dim(0)
	if x2 != nil {
		n2 = x2.Dim(0)
	}
	var out *tensor.Tensor[T]
	if opts.Full {
		out = tensor.New[T](n1, n2, k, k)
	} else {
		out = tensor.New[T](n1, n2)
	}
	if err := empiricalInto(out, m, x1, x2, k, opts); err != nil {
		return nil, err
	}
	return out, nil
}

// empiricalWidth checks the inputs of Empirical (x2 nil means x1) and
// returns the output width k of m; fn is the public function's name.
func empiricalWidth[T tensor.Float](fn string, m nn.Module[T], x1, x2 *tensor.Tensor[T]) (int, error) {
	if err := nonNilModel(fn, m); err != nil {
		return 0, err
	}
	if err := nonNilTensors(fn, []string{"x1"}, x1); err != nil {
		return 0, err
	}
	if x2 == nil {
		x2 = x1
	}
	if x1.NDim() != 2 || x2.NDim() != 2 || x1.Dim(1) != x2.Dim(1) {
		return 0, fmt.Errorf("ntk: inputs of shapes %v and %v are not [n, d] with the same d", x1.Shape(), x2.Shape())
	}
	return outputWidth(m, x1.Dim(1))
}

// empiricalInto adds the kernel of Empirical into out, which must be
// zero and of its shape ([n1, n2], or [n1, n2, k, k] with opts.Full);
// the inputs have been checked by empiricalWidth, which returned k.
func empiricalInto[T tensor.Float](out *tensor.Tensor[T], m nn.Module[T], x1, x2 *tensor.Tensor[T], k int, opts Options) error {
	same := x2 == nil
	if same {
		x2 = x1
	}
	n1, n2 := x1.Dim(0), x2.Dim(0)
	if n1 == 0 || n2 == 0 {
		return nil
	}
	if err := checkWeights(m, opts.ParamWeight); err != nil {
		return err
	}
	budget := opts.MemoryBudget
	if budget <= 0 {
		budget = DefaultMemoryBudget
	}
	net, isDense := denseOf(m)
	method := opts.Method
	if method == Auto {
		method = Contraction
		if isDense {
			method = Structured
		}
	}
	switch method {
	case Structured:
		if !isDense {
			return fmt.Errorf("ntk: structured NTK needs an *nn.MLP or *nn.Linear, got %T", m)
		}
		c := chunkSize[T](int64(net.featureLen()), k, opts.Full, budget, max(n1, n2))
		feat := func(x *tensor.Tensor[T], i, j int) structuredFeatures[T] { return net.features(x.Rows(i, j)) }
		blocks(out, x1, x2, same, c, feat, func(i0, j0 int, f1, f2 structuredFeatures[T]) {
			net.block(out, i0, j0, f1, f2, opts.Params, opts.ParamWeight, opts.Full, same && i0 == j0)
		})
	case Contraction:
		if err := contraction(out, m, x1, x2, same, k, budget, opts); err != nil {
			return err
		}
	default:
		return fmt.Errorf("ntk: unknown Method %d", method)
	}
	for _, v := range out.Data() {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return errors.New("ntk: empirical NTK has non-finite elements (check the parameters and inputs)")
		}
	}
	return nil
}

// contraction adds J(x1) J(x2)^T into out from per-example Jacobians
// (Method Contraction).
func contraction[T tensor.Float](out *tensor.Tensor[T], m nn.Module[T], x1, x2 *tensor.Tensor[T], same bool, k int, budget int64, opts Options) error {
	p := selectedParams(m, opts.Params)
	if p == 0 {
		return errors.New("ntk: no parameter selected")
	}
	c := chunkSize[T](int64(k*p), k, opts.Full, budget, max(x1.Dim(0), x2.Dim(0)))
	var jerr error
	feat := func(x *tensor.Tensor[T], i, j int) *tensor.Tensor[T] {
		jac, err := Jacobian(m, x.Rows(i, j), opts.Params)
		if err != nil && jerr == nil {
			jerr = err
		}
		if err == nil && opts.ParamWeight != nil {
			weightColumns(jac, m, opts.Params, opts.ParamWeight)
		}
		return jac
	}
	blocks(out, x1, x2, same, c, feat, func(i0, j0 int, j1, j2 *tensor.Tensor[T]) {
		if jerr != nil {
			return
		}
		c1, c2 := j1.Dim(0), j2.Dim(0)
		if opts.Full {
			gg := tensor.MatMul(j1.Reshape(c1*k, p), j2.Reshape(c2*k, p), false, true)
			addFull(out, i0, j0, nil, gg, k)
		} else {
			gg := tensor.MatMul(j1.Reshape(c1, k*p), j2.Reshape(c2, k*p), false, true)
			addTraced(out, i0, j0, gg, 1/T(k))
		}
	})
	return jerr
}

// blocks walks the (row chunk of x1, row chunk of x2) pairs, computing each
// chunk's features with feat and handing pairs to add. With same inputs it
// visits only blocks on and above the diagonal and mirrors the rest, which
// both halves the work and makes the result exactly symmetric.
func blocks[T tensor.Float, F any](out, x1, x2 *tensor.Tensor[T], same bool, c int, feat func(x *tensor.Tensor[T], i, j int) F, add func(i0, j0 int, f1, f2 F)) {
	n1, n2 := x1.Dim(0), x2.Dim(0)
	var cached F
	cachedAll := !same && n2 <= c
	if cachedAll {
		cached = feat(x2, 0, n2)
	}
	for i0 := 0; i0 < n1; i0 += c {
		i1 := min(i0+c, n1)
		f1 := feat(x1, i0, i1)
		start := 0
		if same {
			start = i0
		}
		for j0 := start; j0 < n2; j0 += c {
			j1 := min(j0+c, n2)
			var f2 F
			switch {
			case same && j0 == i0:
				f2 = f1
			case cachedAll:
				f2 = cached
			default:
				f2 = feat(x2, j0, j1)
			}
			add(i0, j0, f1, f2)
		}
	}
	if same {
		mirror(out)
	}
}

// mirror copies the upper block triangle of a square kernel to the lower:
// Theta[j, i, b, a] = Theta[i, j, a, b]. Blocks on the diagonal were
// computed whole, so it overwrites their lower halves with the transposed
// upper ones too.
func mirror[T tensor.Float](out *tensor.Tensor[T]) {
	n := out.Dim(0)
	kk := out.Len() / (n * n)
	k := int(math.Round(math.Sqrt(float64(kk))))
	d := out.Data()
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			src := d[(i*n+j)*kk : (i*n+j+1)*kk]
			dst := d[(j*n+i)*kk : (j*n+i+1)*kk]
			for a := 0; a < k; a++ {
				for b := 0; b < k; b++ {
					dst[b*k+a] = src[a*k+b]
				}
			}
		}
		if k > 1 {
			// Theta[i, i] is a symmetric k x k matrix.
			blk := d[(i*n+i)*kk : (i*n+i+1)*kk]
			for a := 0; a < k; a++ {
				for b := a + 1; b < k; b++ {
					blk[b*k+a] = blk[a*k+b]
				}
			}
		}
	}
}

// chunkSize returns the number of rows per chunk so that two chunks of
// perRow elements of per-example storage plus a c x c block of the kernel
// (k x k elements per pair with full) fit in budget bytes; at least 1, at
// most n.
func chunkSize[T tensor.Float](perRow int64, k int, full bool, budget int64, n int) int {
	elem := int64(unsafe.Sizeof(T(0)))
	blockElems := int64(1)
	if full {
		blockElems = int64(k * k)
	}
	c := int64(n)
	for c > 1 && (2*c*perRow+3*c*c*blockElems)*elem > budget {
		c = c * 3 / 4
	}
	return int(max(c, 1))
}

// outputWidth runs m on one zero input to learn the output width and
// check that the output is [1, k].
func outputWidth[T tensor.Float](m nn.Module[T], d int) (int, error) {
	if net, ok := denseOf(m); ok {
		if net.in() != d {
			return 0, fmt.Errorf("ntk: model takes %d inputs, data has %d", net.in(), d)
		}
		return net.out(), nil
	}
	var k int
	err := catchShape(func() {
		t := autograd.NewTape[T]()
		t.SetGradEnabled(false)
		y := m.Forward(t, t.Const(tensor.New[T](1, d)))
		if s := y.Shape(); len(s) == 2 && s[0] == 1 {
			k = s[1]
		}
	})
	if err != nil {
		return 0, fmt.Errorf("ntk: model does not accept [n, %d] inputs: %v", d, err)
	}
	if k == 0 {
		return 0, errors.New("ntk: model output is not [n, k]")
	}
	return k, nil
}

// catchShape runs f and turns a panic (a module rejecting an input shape)
// into an error, since the shape came from the user's data.
func catchShape(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	f()
	return nil
}

// checkWeights returns an error naming the first parameter of m whose
// weight under w (nil: none) is negative or not finite.
func checkWeights[T tensor.Float](m nn.Module[T], w func(string) float64) error {
	if w == nil {
		return nil
	}
	for _, q := range m.Params() {
		if v := w(q.Name); !(v >= 0) || math.IsInf(v, 0) {
			return fmt.Errorf("ntk: Options.ParamWeight(%q) = %v, want finite and >= 0", q.Name, v)
		}
	}
	return nil
}

// weightColumns multiplies the columns of a Jacobian [n, k, P] that belong
// to parameter q (those sel selects, in Params order) by sqrt(w(q.Name)),
// so that J J^T becomes sum_q w_q J_q J_q^T.
func weightColumns[T tensor.Float](jac *tensor.Tensor[T], m nn.Module[T], sel func(string) bool, w func(string) float64) {
	p := jac.Dim(2)
	jd := jac.Data()
	off := 0
	for _, q := range m.Params() {
		if sel != nil && !sel(q.Name) {
			continue
		}
		size := q.Value.Len()
		if v := w(q.Name); v != 1 {
			s := T(math.Sqrt(v))
			for r := 0; r < len(jd); r += p {
				for i := r + off; i < r+off+size; i++ {
					jd[i] *= s
				}
			}
		}
		off += size
	}
}

// selectedParams returns the number of scalar parameters sel selects.
func selectedParams[T tensor.Float](m nn.Module[T], sel func(string) bool) int {
	p := 0
	for _, q := range m.Params() {
		if sel == nil || sel(q.Name) {
			p += q.Value.Len()
		}
	}
	return p
}

// Jacobian returns the per-example Jacobian of m on x [n, d] with respect
// to the parameters sel selects (nil: all), as a tensor [n, k, P]: row (i,
// a) is d f_a(x_i) / d theta, the parameters flattened in Params order.
// It runs one forward pass per example and one backward pass per output
// (autograd's Grad with a one-hot seed), which is what "looping over
// per-example gradients" costs.
func Jacobian[T tensor.Float](m nn.Module[T], x *tensor.Tensor[T], sel func(string) bool) (*tensor.Tensor[T], error) {
	if err := nonNilModel("Jacobian", m); err != nil {
		return nil, err
	}
	if err := nonNilTensors("Jacobian", []string{"x"}, x); err != nil {
		return nil, err
	}
	if x.NDim() != 2 {
		return nil, fmt.Errorf("ntk: input shape %v is not [n, d]", x.Shape())
	}
	n, d := x.Dim(0), x.Dim(1)
	k, err := outputWidth(m, d)
	if err != nil {
		return nil, err
	}
	var params []*nn.Param[T]
	p := 0
	for _, q := range m.Params() {
		if sel == nil || sel(q.Name) {
			params = append(params, q)
			p += q.Value.Len()
		}
	}
	jac := tensor.New[T](n, k, p)
	jd := jac.Data()
	tape := autograd.NewTape[T]()
	seed := tensor.New[T](1, k)
	vars := make([]*autograd.Var[T], len(params))
	var grads []*autograd.Var[T]
	for i := 0; i < n; i++ {
		tape.Reset()
		y := m.Forward(tape, tape.Const(x.Rows(i, i+1)))
		for j, q := range params {
			vars[j] = q.Var(tape)
		}
		for a := 0; a < k; a++ {
			seed.Zero()
			seed.Data()[a] = 1
			grads = tape.GradInto(grads, y, vars, autograd.GradOptions[T]{Seed: tape.Const(seed)})
			off := (i*k + a) * p
			for _, g := range grads {
				off += copy(jd[off:], g.Value().Data())
			}
		}
	}
	return jac, nil
}
