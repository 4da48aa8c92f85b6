package autograd

import (
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

func TestLinearGrad(t *testing.T) {
	rng := newRNG(5)
	// Tanh is not Fusable: it covers the unfused path.
	for _, act := range []Activation{tensor.Identity, tensor.ReLU, tensor.Tanh} {
		for _, alpha := range []float64{1, 0.5} {
			f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] {
				y := Linear(x[0], x[1], x[2], alpha, act)
				return Mul(y, y)
			}
			t.Run(string(act), func(t *testing.T) {
				checkOp(t, f, randAway(rng, 5, 4), randAway(rng, 3, 4), randAway(rng, 3))
			})
		}
	}
	t.Run("nobias", func(t *testing.T) {
		f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] {
			y := Linear(x[0], x[1], nil, 1, tensor.Identity)
			return Mul(y, y)
		}
		checkOp(t, f, randAway(rng, 5, 4), randAway(rng, 3, 4))
	})
}

// TestLinearMatchesComposition checks the fused op's value against
// MatMul + Add + Relu.
func TestLinearMatchesComposition(t *testing.T) {
	rng := newRNG(6)
	tp := NewTape[float64]()
	x, w, b := tp.Const(randAway(rng, 7, 5)), tp.Const(randAway(rng, 3, 5)), tp.Const(randAway(rng, 3))
	got := Linear(x, w, b, 0.5, tensor.ReLU).Value()
	want := Relu(Add(Scale(MatMul(x, w, false, true), 0.5), b)).Value()
	if !tensor.AllClose(got, want, 1e-14, 1e-14) {
		t.Errorf("Linear = %v, want %v", got, want)
	}

	// An activation the GEMM cannot fuse is the unfused product followed
	// by Activate, bit for bit; the empty activation is identity.
	for _, act := range []Activation{tensor.GELU, tensor.LeakyReLU} {
		got := Linear(x, w, b, 0.5, act).Value()
		want := Activate(act, Linear(x, w, b, 0.5, tensor.Identity)).Value()
		if !tensor.Equal(got, want) {
			t.Errorf("Linear(%s) = %v, want %v", act, got, want)
		}
	}
	if got, want := Linear(x, w, b, 0.5, "").Value(), Linear(x, w, b, 0.5, tensor.Identity).Value(); !tensor.Equal(got, want) {
		t.Errorf(`Linear("") = %v, want identity %v`, got, want)
	}
	mustPanic(t, func() { Linear(x, w, b, 1, "swish") }, "autograd.Linear", `unknown activation "swish"`)
}

// TestLinearBackwardDirect checks the gradients Backward adds straight into
// the parameters' gradient tensors against those Grad returns (the rule
// that builds new Vars): bit for bit when the tensors start at zero, and
// added to what they held otherwise. The ReLU layers and a parameter used
// twice (two contributions to one tensor) cover every path.
func TestLinearBackwardDirect(t *testing.T) {
	t.Run("f32", func(t *testing.T) { testLinearBackwardDirect[float32](t) })
	t.Run("f64", func(t *testing.T) { testLinearBackwardDirect[float64](t) })
}

func testLinearBackwardDirect[T Float](t *testing.T) {
	rng := newRNG(8)
	x := tensor.RandN(rng, T(0), 1, 33, 20)
	w1, b1 := tensor.RandN(rng, T(0), 0.3, 40, 20), tensor.RandN(rng, T(0), 0.3, 40)
	w2 := tensor.RandN(rng, T(0), 0.3, 40, 40)
	gw1, gb1, gw2 := tensor.New[T](40, 20), tensor.New[T](40), tensor.New[T](40, 40)
	labels := make([]int32, 33)
	for i := range labels {
		labels[i] = int32(rng.IntN(40))
	}
	forward := func(tp *Tape[T]) (*Var[T], []*Var[T]) {
		p := []*Var[T]{tp.Leaf(w1, gw1), tp.Leaf(b1, gb1), tp.Leaf(w2, gw2)}
		h := Linear(tp.Const(x), p[0], p[1], 0.5, tensor.ReLU)
		h = Linear(h, p[2], nil, 1, tensor.ReLU)
		h = Linear(h, p[2], p[1], 1, tensor.Identity)
		return CrossEntropy(h, labels), p
	}
	tp := NewTape[T]()
	loss, p := forward(tp)
	want := tp.Grad(loss, p, GradOptions[T]{})
	tp.Reset()
	loss, _ = forward(tp)
	tp.Backward(loss)
	for i, g := range []*tensor.Tensor[T]{gw1, gb1, gw2} {
		// b1 and w2 receive two contributions each, whose sum is rounded
		// in another order than Grad's: allow a few ulps there; w1's single
		// contribution must match bit for bit.
		if !tensor.AllClose(g, want[i].Value(), 1e-5, 1e-6) {
			t.Errorf("param %d: Backward gives %v, Grad %v", i, g.Data()[:4], want[i].Value().Data()[:4])
		}
		if i == 0 && !equalBits(g.Data(), want[i].Value().Data()) {
			t.Errorf("param %d: Backward and Grad differ in the last bits", i)
		}
	}
	// A second Backward adds the same gradient again.
	prev := gw1.Clone()
	tp.Reset()
	loss, _ = forward(tp)
	tp.Backward(loss)
	sum := tensor.Add(prev, want[0].Value())
	if !tensor.AllClose(gw1, sum, 1e-6, 1e-6) {
		t.Errorf("second Backward: gradient %v, want %v", gw1.Data()[:4], sum.Data()[:4])
	}
}

func equalBits[T Float](a, b []T) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}
