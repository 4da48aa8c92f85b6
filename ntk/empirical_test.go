package ntk

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

func newMLP(t testing.TB, cfg nn.MLPConfig, seed uint64) *nn.MLP[float64] {
	t.Helper()
	m, err := nn.NewMLP[float64](cfg, rand.New(rand.NewPCG(seed, seed+1)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func randTensor(seed uint64, shape ...int) *tensor.Tensor[float64] {
	return tensor.RandN[float64](rand.New(rand.NewPCG(seed, 99)), 0, 1, shape...)
}

// maxRelDiff returns max |a - b| / max |b|.
func maxRelDiff(a, b *tensor.Tensor[float64]) float64 {
	var d, s float64
	for i, v := range b.Data() {
		d = math.Max(d, math.Abs(a.Data()[i]-v))
		s = math.Max(s, math.Abs(v))
	}
	return d / s
}

// naiveNTK multiplies the per-example Jacobian out explicitly, the
// definition Theta[i,j,a,b] = J_a(x1_i) . J_b(x2_j).
func naiveNTK(jac1, jac2 *tensor.Tensor[float64], full bool) *tensor.Tensor[float64] {
	n1, k, p := jac1.Dim(0), jac1.Dim(1), jac1.Dim(2)
	n2 := jac2.Dim(0)
	out := tensor.New[float64](n1, n2, k, k)
	for i := 0; i < n1; i++ {
		for j := 0; j < n2; j++ {
			for a := 0; a < k; a++ {
				for b := 0; b < k; b++ {
					var s float64
					for q := 0; q < p; q++ {
						s += jac1.At(i, a, q) * jac2.At(j, b, q)
					}
					out.Set(s, i, j, a, b)
				}
			}
		}
	}
	if full {
		return out
	}
	tr := tensor.New[float64](n1, n2)
	for i := 0; i < n1; i++ {
		for j := 0; j < n2; j++ {
			var s float64
			for a := 0; a < k; a++ {
				s += out.At(i, j, a, a)
			}
			tr.Set(s/float64(k), i, j)
		}
	}
	return tr
}

var testConfigs = []nn.MLPConfig{
	{Dims: []int{4, 7, 3}, Activation: nn.ReLU, Parameterization: nn.Standard, BStd: 0.3},
	{Dims: []int{4, 9, 6, 2}, Activation: nn.Erf, Parameterization: nn.NTK, WStd: 1.4, BStd: 0.5},
	{Dims: []int{4, 5, 5, 5, 3}, Activation: nn.Tanh, Parameterization: nn.MuP, BStd: 0.2},
	{Dims: []int{4, 8, 2}, Activation: nn.GELU, Parameterization: nn.MeanField, BStd: 0.1},
	{Dims: []int{4, 6, 6, 2}, Activations: []nn.Activation{nn.LeakyReLU, nn.SiLU}, Parameterization: nn.NTK, BStd: 1},
	{Dims: []int{4, 6, 2}, Activation: nn.Softplus, Parameterization: nn.Standard, NoBias: true},
	{Dims: []int{4, 6, 2}, Activation: nn.Sigmoid, Parameterization: nn.NTK},
	{Dims: []int{4, 3}, Parameterization: nn.NTK, WStd: 2, BStd: 0.5},
}

// The structured NTK equals J J^T from per-example autograd gradients, the
// Jacobian-contraction method, for every activation and parameterization,
// traced and full, on equal and different inputs, with and without
// chunking. Tolerance 1e-10 relative: both are sums of O(P) products in
// float64 with different association (~P eps ~ 1e-13 here).
func TestStructuredMatchesJacobian(t *testing.T) {
	x1, x2 := randTensor(1, 5, 4), randTensor(2, 3, 4)
	for ci, cfg := range testConfigs {
		m := newMLP(t, cfg, uint64(10+ci))
		j1, err := Jacobian[float64](m, x1, nil)
		if err != nil {
			t.Fatal(err)
		}
		j2, err := Jacobian[float64](m, x2, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, full := range []bool{false, true} {
			for _, pair := range []struct {
				b    *tensor.Tensor[float64]
				jb   *tensor.Tensor[float64]
				name string
			}{{nil, j1, "x1,x1"}, {x2, j2, "x1,x2"}} {
				want := naiveNTK(j1, pair.jb, full)
				for _, method := range []Method{Structured, Contraction} {
					for _, budget := range []int64{0, 1} { // 1 byte: one row per chunk
						got, err := Empirical[float64](m, x1, pair.b, Options{Full: full, Method: method, MemoryBudget: budget})
						if err != nil {
							t.Fatal(err)
						}
						if d := maxRelDiff(got, want); d > 1e-10 {
							t.Errorf("config %d (%s %s) full=%v method=%d budget=%d %s: rel diff %g",
								ci, cfg.Parameterization, cfg.Activation, full, method, budget, pair.name, d)
						}
					}
				}
			}
		}
	}
}

// TestStructuredSplitDiagonal checks the kernel of 600 inputs with
// themselves, whose diagonal blocks are formed as strips on and above
// their diagonal (diagSplit), against the whole blocks, traced and full,
// in one chunk and in two (traced; full, in several chunks too small to
// split).
func TestStructuredSplitDiagonal(t *testing.T) {
	m := newMLP(t, testConfigs[0], 3)
	x := randTensor(4, 600, 4)
	for _, full := range []bool{false, true} {
		for _, budget := range []int64{0, 4 << 20} {
			opts := Options{Full: full, Method: Structured, MemoryBudget: budget}
			got, err := Empirical[float64](m, x, nil, opts)
			if err != nil {
				t.Fatal(err)
			}
			splitDiag = false
			want, err := Empirical[float64](m, x, nil, opts)
			splitDiag = true
			if err != nil {
				t.Fatal(err)
			}
			if d := maxRelDiff(got, want); d > 1e-12 {
				t.Errorf("full=%v budget=%d: rel diff %g", full, budget, d)
			}
		}
	}
}

// A row of Jacobian is the gradient Backward writes into Param.Grad for the
// scalar f_a(x_i): an independent route through autograd.
func TestJacobianRowIsGradient(t *testing.T) {
	m := newMLP(t, testConfigs[1], 3)
	x := randTensor(4, 3, 4)
	jac, err := Jacobian[float64](m, x, nil)
	if err != nil {
		t.Fatal(err)
	}
	const i, a = 2, 1
	nn.ZeroGrad[float64](m)
	tape := autograd.NewTape[float64]()
	y := m.Forward(tape, tape.Const(x))
	sel := tensor.New[float64](3, 2)
	sel.Set(1, i, a)
	tape.Backward(autograd.Sum(autograd.Mul(y, tape.Const(sel))))
	off := 0
	for _, p := range m.Params() {
		for q, g := range p.Grad.Data() {
			if d := math.Abs(jac.At(i, a, off+q) - g); d > 1e-14*math.Max(1, math.Abs(g)) {
				t.Fatalf("%s[%d]: Jacobian %v, Backward %v", p.Name, q, jac.At(i, a, off+q), g)
			}
		}
		off += p.Value.Len()
	}
}

// A parameter subset: the kernel over a subset plus the kernel over its
// complement is the whole kernel, and the weight-only subset matches the
// Jacobian restricted to the weights.
func TestParamSubset(t *testing.T) {
	m := newMLP(t, testConfigs[1], 5)
	x := randTensor(6, 4, 4)
	isW := func(s string) bool { return strings.HasSuffix(s, "weight") }
	notW := func(s string) bool { return !isW(s) }
	all, err := Empirical[float64](m, x, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := Empirical[float64](m, x, nil, Options{Params: isW})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Empirical[float64](m, x, nil, Options{Params: notW})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxRelDiff(tensor.Add(w, b), all); d > 1e-13 {
		t.Errorf("weights + biases != all: %g", d)
	}
	jw, err := Jacobian[float64](m, x, isW)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxRelDiff(w, naiveNTK(jw, jw, false)); d > 1e-12 {
		t.Errorf("weight-only kernel differs from J_W J_W^T: %g", d)
	}
	wc, err := Empirical[float64](m, x, nil, Options{Params: isW, Method: Contraction})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxRelDiff(wc, w); d > 1e-12 {
		t.Errorf("contraction subset differs: %g", d)
	}
}

// A generic module (Sequential of Linear and activation) goes through the
// contraction path and equals the MLP with the same weights.
func TestSequentialModule(t *testing.T) {
	m := newMLP(t, nn.MLPConfig{Dims: []int{4, 6, 2}, Activation: nn.Tanh, BStd: 0.5}, 7)
	seq := nn.NewSequential[float64](m.Layers[0], m.Layers[1])
	x := randTensor(8, 5, 4)
	a, err := Empirical[float64](m, x, nil, Options{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Empirical[float64](seq, x, nil, Options{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxRelDiff(b, a); d > 1e-12 {
		t.Errorf("Sequential vs MLP: %g", d)
	}
	if _, err := Empirical[float64](seq, x, nil, Options{Method: Structured}); err == nil {
		t.Error("Structured on a Sequential: no error")
	}
}

func TestEmpiricalErrors(t *testing.T) {
	m := newMLP(t, testConfigs[0], 1)
	if _, err := Empirical[float64](m, randTensor(1, 3, 5), nil, Options{}); err == nil {
		t.Error("wrong input width: no error")
	}
	if _, err := Empirical[float64](m, randTensor(1, 3, 4), randTensor(1, 3, 3), Options{}); err == nil {
		t.Error("mismatched inputs: no error")
	}
	if _, err := Empirical[float64](m, randTensor(1, 3, 4), nil, Options{Params: func(string) bool { return false }, Method: Contraction}); err == nil {
		t.Error("empty selection: no error")
	}
	x := randTensor(1, 3, 4)
	x.Set(math.NaN(), 0, 0)
	if _, err := Empirical[float64](m, x, nil, Options{}); err == nil {
		t.Error("NaN input: no error")
	}
}
