package autograd

import (
	"math"
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

// freshGraph records, on t, a loss that exercises every way a backward
// rule writes a bound gradient: Linear's weight (GEMM) and bias, with and
// without the fused ReLU; a convolution's weight and bias; LayerNorm's
// affine parameters; a parameter used twice (once through Linear, once
// through a generic op, so it gets a direct and an accumulated
// contribution); a bound parameter the loss does not reach; and a bound
// leaf outside the fresh set. It returns the loss.
func freshGraph(t *Tape[float64], p map[string]*tensor.Tensor[float64], g map[string]*tensor.Tensor[float64]) *Var[float64] {
	rng := newRNG(7)
	leaf := func(name string) *Var[float64] { return t.Leaf(p[name], g[name]) }
	x := t.Const(randAway(rng, 2, 1, 6, 6))
	c := Conv2D(x, leaf("cw"), leaf("cb"), 1, tensor.ReLU, ConvParams{Padding: [2]int{1, 1}})
	h := Reshape(c, 2, 3*6*6)
	h = Linear(h, leaf("w1"), leaf("b1"), 0.5, tensor.ReLU)
	h = LayerNorm(h, leaf("lw"), leaf("lb"), 1, 1e-5)
	w2 := leaf("w2")
	h = Linear(h, w2, leaf("b2"), 1, tensor.Identity)
	loss := Add(Sum(Mul(h, h)), Sum(Mul(w2, w2)))
	loss = Add(loss, Sum(leaf("outside")))
	_ = leaf("unused")
	return loss
}

// TestBackwardFresh: BackwardFresh on gradient tensors full of garbage
// gives the values of zeroing them and calling Backward, for every kind of
// contribution (see freshGraph); a gradient the loss does not reach ends at
// zero; a bound gradient outside the fresh set accumulates.
func TestBackwardFresh(t *testing.T) {
	rng := newRNG(3)
	shapes := map[string][]int{
		"cw": {3, 1, 3, 3}, "cb": {3}, "w1": {8, 108}, "b1": {8}, "lw": {8}, "lb": {8},
		"w2": {4, 8}, "b2": {4}, "outside": {5}, "unused": {2, 2},
	}
	p := map[string]*tensor.Tensor[float64]{}
	for name, s := range shapes {
		p[name] = randAway(rng, s...)
	}
	grads := func(fill float64) map[string]*tensor.Tensor[float64] {
		g := map[string]*tensor.Tensor[float64]{}
		for name, s := range shapes {
			g[name] = tensor.New[float64](s...)
			for i := range g[name].Data() {
				g[name].Data()[i] = fill
			}
		}
		return g
	}
	// Reference: zeroed, then Backward.
	ref := grads(0)
	ref["outside"].Data()[0] = 7 // an outside gradient keeps what it held
	tp := NewTape[float64]()
	tp.Backward(freshGraph(tp, p, ref))

	// BackwardFresh over garbage, twice on the same tape (the second pass
	// finds the tape's fresh list emptied by the first).
	for pass := 0; pass < 2; pass++ {
		got := grads(math.NaN())
		got["outside"].Zero()
		got["outside"].Data()[0] = 7
		var fresh []*tensor.Tensor[float64]
		for name, g := range got {
			if name != "outside" {
				fresh = append(fresh, g)
			}
		}
		tp.Reset()
		tp.BackwardFresh(freshGraph(tp, p, got), fresh)
		for name := range shapes {
			r, gd := ref[name].Data(), got[name].Data()
			for i := range r {
				if r[i] != gd[i] { // == treats -0 and +0 alike
					t.Fatalf("pass %d: %s[%d] = %v after BackwardFresh, %v after ZeroGrad and Backward", pass, name, i, gd[i], r[i])
				}
			}
		}
		if n := len(tp.fresh); n != 0 {
			t.Fatalf("pass %d: %d tensors left on the fresh list", pass, n)
		}
	}
}
