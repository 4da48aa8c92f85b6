package autograd

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

// normCase is one case of testdata/norm_ref.json, written by
// testdata/norm_ref.py with PyTorch in float64.
type normCase struct {
	Name     string      `json:"name"`
	Op       string      `json:"op"`
	Shape    []int       `json:"shape"`
	Dims     int         `json:"dims"`
	Eps      float64     `json:"eps"`
	Momentum float64     `json:"momentum"`
	Training []bool      `json:"training"`
	RunMean0 []float64   `json:"run_mean0"`
	RunVar0  []float64   `json:"run_var0"`
	RunMean  [][]float64 `json:"run_mean"`
	RunVar   [][]float64 `json:"run_var"`
	X        [][]float64 `json:"x"`
	W, B     []float64
	U, R     []float64
	Y        []float64 `json:"y"`
	DX       []float64 `json:"dx"`
	DW       []float64 `json:"dw"`
	DB       []float64 `json:"db"`
	SX       []float64 `json:"sx"`
	SW       []float64 `json:"sw"`
}

// normRefTol is the agreement asked of the float64 results: the fixture's
// values are O(1) to O(10) and both sides round differently (summation
// order, fused multiply-adds), which costs a few ulps per operation, about
// 1e-15; 1e-12 leaves that margin and catches any error in a formula.
const normRefTol = 1e-12

func normCloseTo(got, want []float64) (int, bool) {
	if len(got) != len(want) {
		return -1, false
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > normRefTol*math.Max(1, math.Abs(want[i])) || math.IsNaN(got[i]) {
			return i, false
		}
	}
	return 0, true
}

// TestNormMatchesPyTorch compares LayerNorm and BatchNorm (training and
// evaluation, running statistics over several steps) with PyTorch 1.13:
// values, gradients, and second derivatives by double backward.
func TestNormMatchesPyTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/norm_ref.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []normCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) == 0 {
		t.Fatal("no cases in testdata/norm_ref.json")
	}
	for _, c := range ref.Cases {
		t.Run(c.Name, func(t *testing.T) { checkNormCase(t, c) })
	}
}

func checkNormCase(t *testing.T, c normCase) {
	check := func(what string, got *tensor.Tensor[float64], want []float64) {
		t.Helper()
		if want == nil {
			return
		}
		if got == nil {
			t.Errorf("%s: missing", what)
			return
		}
		if i, ok := normCloseTo(got.Data(), want); !ok {
			if i < 0 {
				t.Errorf("%s: %d values, want %d", what, got.Len(), len(want))
				return
			}
			t.Errorf("%s[%d] = %.17g, PyTorch %.17g", what, i, got.Data()[i], want[i])
		}
	}
	param := func(d []float64, shape ...int) *tensor.Tensor[float64] {
		if d == nil {
			return nil
		}
		return tensor.FromSlice(append([]float64(nil), d...), shape...)
	}
	ps := c.Shape[1:2] // BatchNorm's channels
	if c.Op == "layernorm" {
		ps = c.Shape[len(c.Shape)-c.Dims:]
	}
	w, b := param(c.W, ps...), param(c.B, ps...)
	var rm, rv *tensor.Tensor[float64]
	if c.Op == "batchnorm" {
		rm, rv = param(c.RunMean0, ps...), param(c.RunVar0, ps...)
	}
	for _, create := range []bool{false, true} {
		if rm != nil {
			copy(rm.Data(), c.RunMean0)
			copy(rv.Data(), c.RunVar0)
		}
		tp := NewTape[float64]()
		var xv, wv, bv, y *Var[float64]
		for step, xd := range c.X {
			tp.Reset()
			xv = tp.Leaf(tensor.FromSlice(append([]float64(nil), xd...), c.Shape...), nil)
			wv, bv = nil, nil
			if w != nil {
				wv = tp.Leaf(w, nil)
			}
			if b != nil {
				bv = tp.Leaf(b, nil)
			}
			if c.Op == "layernorm" {
				y = LayerNorm(xv, wv, bv, c.Dims, c.Eps)
				continue
			}
			y = BatchNorm(xv, wv, bv, rm, rv, c.Training[step], c.Momentum, c.Eps)
			check("running mean after step "+itoa(step), rm, c.RunMean[step])
			check("running var after step "+itoa(step), rv, c.RunVar[step])
		}
		check("y", y.Value(), c.Y)
		ins := []*Var[float64]{xv}
		for _, p := range []*Var[float64]{wv, bv} {
			if p != nil {
				ins = append(ins, p)
			}
		}
		gs := tp.Grad(y, ins, GradOptions[float64]{Seed: tp.Const(tensor.FromSlice(c.U, c.Shape...)), CreateGraph: create})
		check("dx", gs[0].Value(), c.DX)
		if wv != nil {
			check("dw", gs[1].Value(), c.DW)
		}
		if bv != nil {
			check("db", gs[len(gs)-1].Value(), c.DB)
		}
		if !create {
			continue
		}
		s := Sum(Mul(gs[0], tp.Const(tensor.FromSlice(c.R, c.Shape...))))
		sec := []*Var[float64]{xv}
		if wv != nil {
			sec = append(sec, wv)
		}
		if !s.RequiresGrad() {
			// dx does not depend on x or w (BatchNorm in evaluation mode
			// without weight): the second derivatives are zero.
			check("d<dx, r>/dx", tensor.New[float64](c.Shape...), c.SX)
			continue
		}
		hs := tp.Grad(s, sec, GradOptions[float64]{})
		check("d<dx, r>/dx", hs[0].Value(), c.SX)
		if wv != nil {
			check("d<dx, r>/dw", hs[1].Value(), c.SW)
		}
	}
}

// TestNormBackwardDirect: Backward, which adds the parameter gradients
// straight into the bound tensors (directGrad), gives what Grad returns,
// and adds to what the tensors held; in float32 and float64, for LayerNorm
// and both modes of BatchNorm.
func TestNormBackwardDirect(t *testing.T) {
	t.Run("f32", func(t *testing.T) { testNormBackwardDirect[float32](t, 1e-5) })
	t.Run("f64", func(t *testing.T) { testNormBackwardDirect[float64](t, 1e-13) })
}

func testNormBackwardDirect[T Float](t *testing.T, tol float64) {
	rng := newRNG(71)
	x := tensor.RandN(rng, T(0.3), 1.5, 4, 3, 4, 5)
	u := tensor.RandN(rng, T(0), 1, 4, 3, 4, 5)
	type norm struct {
		name  string
		shape []int
		f     func(x, w, b *Var[T]) *Var[T]
	}
	rm, rv := tensor.New[T](3), tensor.Full(T(1), 3)
	for _, c := range []norm{
		{"LayerNorm", []int{4, 5}, func(x, w, b *Var[T]) *Var[T] { return LayerNorm(x, w, b, 2, 1e-5) }},
		{"BatchNorm train", []int{3}, func(x, w, b *Var[T]) *Var[T] { return BatchNorm(x, w, b, nil, nil, true, 0.1, 1e-5) }},
		{"BatchNorm eval", []int{3}, func(x, w, b *Var[T]) *Var[T] { return BatchNorm(x, w, b, rm, rv, false, 0.1, 1e-5) }},
	} {
		w, b := tensor.RandN(rng, T(1), 0.3, c.shape...), tensor.RandN(rng, T(0), 0.3, c.shape...)
		gw, gb := tensor.New[T](c.shape...), tensor.New[T](c.shape...)
		tp := NewTape[T]()
		forward := func() (*Var[T], []*Var[T]) {
			tp.Reset()
			p := []*Var[T]{tp.Leaf(x, nil), tp.Leaf(w, gw), tp.Leaf(b, gb)}
			return Sum(Mul(c.f(p[0], p[1], p[2]), tp.Const(u))), p
		}
		loss, p := forward()
		var want []*tensor.Tensor[T]
		for _, g := range tp.Grad(loss, p[1:], GradOptions[T]{}) {
			want = append(want, g.Value().Clone())
		}
		for step := 1; step <= 2; step++ {
			loss, _ = forward()
			tp.Backward(loss)
			for i, got := range []*tensor.Tensor[T]{gw, gb} {
				sum := tensor.Scale(want[i], T(step))
				if !tensor.AllClose(got, sum, tol, tol) {
					t.Errorf("%s, Backward %d: parameter %d gradient %v, want %d x Grad's %v", c.name, step, i, got.Data(), step, want[i].Data())
				}
			}
		}
	}
}

// TestNormFloat32 runs the float32 instantiations (whose fast rules
// accumulate partly in float32 in the vector kernels) against float64 on
// the same data: values and gradients agree to 1e-4, a few hundred float32
// ulps, far below the O(1) error of a wrong formula. The input's mean of 3
// against a spread of 1 exercises the centering.
func TestNormFloat32(t *testing.T) {
	rng := newRNG(72)
	for _, shape := range [][]int{{6, 5}, {4, 3, 4, 5}} {
		x64 := tensor.RandN(rng, 3.0, 1.0, shape...)
		u64 := tensor.RandN(rng, 0.0, 1.0, shape...)
		c := shape[1]
		w64, b64 := tensor.RandN(rng, 1.0, 0.3, c), tensor.RandN(rng, 0.0, 0.3, c)
		lw64, lb64 := tensor.RandN(rng, 1.0, 0.3, shape[len(shape)-1]), tensor.RandN(rng, 0.0, 0.3, shape[len(shape)-1])
		for _, op := range []string{"LayerNorm", "BatchNorm train", "BatchNorm eval"} {
			got := normResults(op, tensor.Convert[float32](x64), tensor.Convert[float32](u64), tensor.Convert[float32](w64),
				tensor.Convert[float32](b64), tensor.Convert[float32](lw64), tensor.Convert[float32](lb64))
			want := normResults(op, x64, u64, w64, b64, lw64, lb64)
			for i, name := range []string{"y", "dx", "dw", "db"} {
				if !tensor.AllClose(tensor.Convert[float64](got[i]), want[i], 1e-4, 1e-4) {
					t.Errorf("%s %v: float32 %s = %v, float64 %v", op, shape, name, got[i].Data()[:3], want[i].Data()[:3])
				}
			}
		}
	}
}

func normResults[T Float](op string, x, u, w, b, lw, lb *tensor.Tensor[T]) []*tensor.Tensor[T] {
	tp := NewTape[T]()
	xv := tp.Leaf(x, nil)
	var wv, bv, y *Var[T]
	switch op {
	case "LayerNorm":
		wv, bv = tp.Leaf(lw, nil), tp.Leaf(lb, nil)
		y = LayerNorm(xv, wv, bv, 1, 1e-5)
	default:
		c := x.Shape()[1]
		rm, rv := tensor.Full(T(2.5), c), tensor.Full(T(1.5), c)
		wv, bv = tp.Leaf(w, nil), tp.Leaf(b, nil)
		y = BatchNorm(xv, wv, bv, rm, rv, op == "BatchNorm train", 0.1, 1e-5)
	}
	out := []*tensor.Tensor[T]{y.Value().Clone()}
	for _, g := range tp.Grad(y, []*Var[T]{xv, wv, bv}, GradOptions[T]{Seed: tp.Const(u)}) {
		out = append(out, g.Value().Clone())
	}
	return out
}
