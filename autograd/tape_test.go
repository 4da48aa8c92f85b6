package autograd

import (
	"math"
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

// TestBackwardAccumulates checks that Backward adds into the bound grad
// tensors (PyTorch semantics) and that a Var used twice collects both
// contributions.
func TestBackwardAccumulates(t *testing.T) {
	tp := NewTape[float64]()
	w := tensor.FromSlice([]float64{1, 2, 3})
	gw := tensor.New[float64](3)
	for step := 1; step <= 2; step++ {
		tp.Reset()
		x := tp.Leaf(w, gw)
		loss := Sum(Mul(x, x)) // d/dw = 2w
		tp.Backward(loss)
		for i, v := range gw.Data() {
			if want := float64(step) * 2 * w.Data()[i]; v != want {
				t.Fatalf("step %d: grad[%d] = %v, want %v", step, i, v, want)
			}
		}
	}
}

func TestGradLeavesParamGradAlone(t *testing.T) {
	tp := NewTape[float64]()
	w := tensor.FromSlice([]float64{1, 2})
	gw := tensor.New[float64](2)
	x := tp.Leaf(w, gw)
	g := tp.Grad(Sum(Exp(x)), []*Var[float64]{x}, GradOptions[float64]{})
	if gw.Data()[0] != 0 || gw.Data()[1] != 0 {
		t.Errorf("Grad wrote into the bound grad tensor: %v", gw.Data())
	}
	if got := g[0].Value().Data(); got[0] != math.Exp(1) || got[1] != math.Exp(2) {
		t.Errorf("Grad = %v, want [e e^2]", got)
	}
}

func TestGradUnusedInputIsZero(t *testing.T) {
	tp := NewTape[float64]()
	a := tp.Leaf(tensor.FromSlice([]float64{1, 2}), nil)
	b := tp.Leaf(tensor.FromSlice([]float64{3}), nil)
	g := tp.Grad(Sum(a), []*Var[float64]{a, b}, GradOptions[float64]{})
	if g[1].Value().Data()[0] != 0 || g[0].Value().Data()[1] != 1 {
		t.Errorf("grads %v %v, want [1 1] [0]", g[0].Value(), g[1].Value())
	}
}

func TestNoGradMode(t *testing.T) {
	tp := NewTape[float64]()
	prev := tp.SetGradEnabled(false)
	if !prev {
		t.Fatal("a new tape should record")
	}
	x := tp.Leaf(tensor.FromSlice([]float64{1, 2}), tensor.New[float64](2))
	y := Sum(Mul(x, x))
	if y.RequiresGrad() || x.RequiresGrad() {
		t.Error("no-grad mode recorded a gradient path")
	}
	if y.Item() != 5 {
		t.Errorf("value %v, want 5", y.Item())
	}
	mustPanic(t, func() { tp.Backward(y) }, "does not depend")
	tp.SetGradEnabled(true)
	tp.Reset()
	x = tp.Leaf(tensor.FromSlice([]float64{1, 2}), nil)
	if !Sum(x).RequiresGrad() {
		t.Error("recording did not resume")
	}
}

func TestDifferentTapesPanic(t *testing.T) {
	a := NewTape[float64]().Const(tensor.New[float64](2))
	b := NewTape[float64]().Const(tensor.New[float64](2))
	mustPanic(t, func() { Add(a, b) }, "different tapes")
}

// TestHVPMatchesHessian compares H v from double backward with the
// Hessian of f(x) = sum(tanh(A x)^2) + sum(x^3) computed in closed form.
func TestHVPMatchesHessian(t *testing.T) {
	rng := newRNG(21)
	const n, m = 4, 3
	a := tensor.RandN(rng, 0.0, 1.0, m, n)
	x := tensor.RandN(rng, 0.0, 1.0, n, 1)
	v := tensor.RandN(rng, 0.0, 1.0, n, 1)
	tp := NewTape[float64]()
	xv := tp.Leaf(x, nil)
	th := Tanh(MatMul(tp.Const(a), xv, false, false))
	loss := Add(Sum(Mul(th, th)), Sum(Pow(xv, 3)))
	hv := tp.HVP(loss, []*Var[float64]{xv}, []*tensor.Tensor[float64]{v})[0].Value()
	// Closed form: with z = A x, t = tanh z, f = sum t^2:
	// H = A^T diag(2(1-t^2)^2 - 4 t^2 (1-t^2)) A + diag(6 x).
	z := tensor.MatMul(a, x, false, false)
	for i := 0; i < n; i++ {
		want := 6 * x.At(i, 0) * v.At(i, 0)
		for k := 0; k < m; k++ {
			tk := math.Tanh(z.At(k, 0))
			s := 1 - tk*tk
			d := 2*s*s - 4*tk*tk*s
			for j := 0; j < n; j++ {
				want += a.At(k, i) * d * a.At(k, j) * v.At(j, 0)
			}
		}
		if got := hv.At(i, 0); math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
			t.Errorf("Hv[%d] = %.15g, want %.15g", i, got, want)
		}
	}
}

// TestSteadyStateAllocs checks the arena: after a warm-up step, a step
// that repeats the same ops on the same shapes allocates nothing.
func TestSteadyStateAllocs(t *testing.T) {
	rng := newRNG(22)
	w1, b1 := tensor.RandN(rng, 0.0, 0.3, 16, 8), tensor.RandN(rng, 0.0, 0.1, 16)
	w2, b2 := tensor.RandN(rng, 0.0, 0.3, 3, 16), tensor.RandN(rng, 0.0, 0.1, 3)
	g := []*tensor.Tensor[float64]{tensor.New[float64](16, 8), tensor.New[float64](16), tensor.New[float64](3, 16), tensor.New[float64](3)}
	x := tensor.RandN(rng, 0.0, 1.0, 10, 8)
	labels := []int{0, 1, 2, 0, 1, 2, 0, 1, 2, 0}
	tp := NewTape[float64]()
	step := func() {
		tp.Reset()
		in := tp.Const(x)
		h := Linear(Rows(in, 0, 10), tp.Leaf(w1, g[0]), tp.Leaf(b1, g[1]), 1, tensor.ReLU)
		h = Tanh(Concat(1, Narrow(h, 1, 0, 8), Narrow(h, 1, 8, 8)))
		o := Linear(h, tp.Leaf(w2, g[2]), tp.Leaf(b2, g[3]), 0.5, tensor.Identity)
		loss := Neg(Mean(Pick(LogSoftmax(o, 1), labels)))
		loss = Add(loss, Mean(Gelu(Reshape(MaxAxis(o, 1, true), -1))))
		tp.Backward(loss)
	}
	step()
	if n := testing.AllocsPerRun(10, step); n != 0 {
		t.Errorf("steady-state step allocates %v times, want 0", n)
	}
}
