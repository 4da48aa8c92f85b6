package autograd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

// dropoutMask returns the mask Dropout applied, recovered from the
// gradient of Sum(Dropout(x)) with x a leaf: the gradient is the mask.
func dropoutMask(x *tensor.Tensor[float64], p float64, seed uint64) (y, grad *tensor.Tensor[float64]) {
	tp := NewTape[float64]()
	xv := tp.Leaf(x, nil)
	out := Dropout(xv, p, newRNG(seed))
	return out.Value().Clone(), tp.Grad(Sum(out), []*Var[float64]{xv}, GradOptions[float64]{})[0].Value().Clone()
}

// TestDropoutGradIsMask: the gradient is 0 or 1/(1-p) elementwise, the
// output is x times it, and the same seed gives the same mask.
func TestDropoutGradIsMask(t *testing.T) {
	rng := newRNG(51)
	x := randAway(rng, 7, 9)
	for _, p := range []float64{0.2, 0.5, 0.9, 1} {
		y, g := dropoutMask(x, p, 5)
		for i, m := range g.Data() {
			if m != 0 && m != 1/(1-p) {
				t.Fatalf("p %g: gradient element %d is %g, want 0 or %g", p, i, m, 1/(1-p))
			}
			if y.Data()[i] != x.Data()[i]*m {
				t.Fatalf("p %g: output element %d is %g, want x*mask = %g", p, i, y.Data()[i], x.Data()[i]*m)
			}
		}
		y2, g2 := dropoutMask(x, p, 5)
		if !tensor.Equal(g, g2) || !tensor.Equal(y, y2) {
			t.Errorf("p %g: same seed, different masks", p)
		}
		if _, g3 := dropoutMask(x, p, 6); p < 1 && tensor.Equal(g, g3) {
			t.Errorf("p %g: another seed gives the same mask of 63 elements", p)
		}
	}
	if y, _ := dropoutMask(x, 1, 5); tensor.Sum(tensor.Abs(y)) != 0 {
		t.Errorf("p = 1 leaves nonzero outputs")
	}
}

// TestDropoutKeepRate: over 10^5 elements the fraction kept is within 4
// standard errors sqrt(p(1-p)/n) of 1-p; a wrong comparison (keeping with
// probability p) is off by 0.2 at p = 0.3, 130 standard errors.
func TestDropoutKeepRate(t *testing.T) {
	const n = 100000
	x := tensor.Full(1.0, n)
	for _, p := range []float64{0.1, 0.3, 0.5, 0.8} {
		_, g := dropoutMask(x, p, 9)
		kept := 0
		for _, m := range g.Data() {
			if m != 0 {
				kept++
			}
		}
		se := math.Sqrt(p * (1 - p) / n)
		if rate := float64(kept) / n; math.Abs(rate-(1-p)) > 4*se {
			t.Errorf("p %g: kept %.5f of the elements, want %.5f +- %.5f", p, rate, 1-p, 4*se)
		}
	}
}

// TestDropoutEqualsMulByMask: the op equals Mul by its mask in value,
// gradient and second order (checkOp on both), with the mask a constant.
func TestDropoutEqualsMulByMask(t *testing.T) {
	rng := newRNG(52)
	x := randAway(rng, 4, 5)
	_, mask := dropoutMask(x, 0.4, 3)
	u := tensor.RandN(rng, 0.0, 1.0, 4, 5)
	for _, f := range []fn{
		func(tp *Tape[float64], xs []*Var[float64]) *Var[float64] { return Dropout(Tanh(xs[0]), 0.4, newRNG(3)) },
		func(tp *Tape[float64], xs []*Var[float64]) *Var[float64] { return Mul(Tanh(xs[0]), tp.Const(mask)) },
	} {
		checkOp(t, f, x)
	}
	var vals, grads [2]*tensor.Tensor[float64]
	for i, f := range []func(*Tape[float64], *Var[float64]) *Var[float64]{
		func(tp *Tape[float64], x *Var[float64]) *Var[float64] { return Dropout(Tanh(x), 0.4, newRNG(3)) },
		func(tp *Tape[float64], x *Var[float64]) *Var[float64] { return Mul(Tanh(x), tp.Const(mask)) },
	} {
		tp := NewTape[float64]()
		xv := tp.Leaf(x, nil)
		y := f(tp, xv)
		vals[i] = y.Value().Clone()
		grads[i] = tp.Grad(y, []*Var[float64]{xv}, GradOptions[float64]{Seed: tp.Const(u)})[0].Value().Clone()
	}
	if !tensor.Equal(vals[0], vals[1]) || !tensor.Equal(grads[0], grads[1]) {
		t.Errorf("Dropout and Mul by its mask differ: values %v / %v, gradients %v / %v",
			vals[0].Data()[:3], vals[1].Data()[:3], grads[0].Data()[:3], grads[1].Data()[:3])
	}
}

// TestDropoutZeroIsIdentity: p = 0 returns x itself and draws nothing.
func TestDropoutZeroIsIdentity(t *testing.T) {
	tp := NewTape[float64]()
	x := tp.Leaf(tensor.Full(2.0, 3), nil)
	if Dropout(x, 0, nil) != x {
		t.Errorf("Dropout with p = 0 is not x itself")
	}
}

func TestDropoutPanics(t *testing.T) {
	tp := NewTape[float64]()
	x := tp.Const(tensor.New[float64](2, 3))
	rng := rand.New(rand.NewPCG(1, 2))
	mustPanic(t, func() { Dropout(x, -0.1, rng) }, "Dropout", "-0.1", "[2 3]")
	mustPanic(t, func() { Dropout(x, 1.5, rng) }, "Dropout", "1.5", "[2 3]")
	mustPanic(t, func() { Dropout(x, math.NaN(), rng) }, "Dropout", "NaN", "[2 3]")
	mustPanic(t, func() { Dropout(x, 0.5, nil) }, "Dropout", "nil rng", "[2 3]")
}

// TestDropoutSteadyStateAllocs: the mask lives in the arena.
func TestDropoutSteadyStateAllocs(t *testing.T) {
	x := tensor.Full(float32(1), 8, 16)
	gx := tensor.New[float32](8, 16)
	rng := rand.New(rand.NewPCG(1, 2))
	tp := NewTape[float32]()
	step := func() {
		tp.Reset()
		tp.Backward(Sum(Dropout(tp.Leaf(x, gx), 0.5, rng)))
	}
	step()
	if n := testing.AllocsPerRun(10, step); n != 0 {
		t.Errorf("steady-state Dropout step allocates %v times, want 0", n)
	}
}
