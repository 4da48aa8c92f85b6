package autograd

import (
	"fmt"
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

// TestLayerNormGrad checks first and second derivatives against finite
// differences over 1, 2 and 3 trailing axes, with and without the affine
// parameters. eps = 1e-5 as in PyTorch; the variance of the O(1) inputs is
// far above it, so the function is smooth and well conditioned there.
func TestLayerNormGrad(t *testing.T) {
	for _, c := range []struct {
		shape []int
		dims  int
	}{
		{[]int{3, 5}, 1},
		{[]int{2, 3, 4}, 2},
		{[]int{2, 2, 3, 2}, 3},
		{[]int{4}, 1},
	} {
		ns := c.shape[len(c.shape)-c.dims:]
		for _, affine := range []string{"none", "w", "b", "wb"} {
			t.Run(fmt.Sprint(c.shape, c.dims, affine), func(t *testing.T) {
				rng := newRNG(31)
				in := []*tensor.Tensor[float64]{randAway(rng, c.shape...)}
				if affine == "w" || affine == "wb" {
					in = append(in, randAway(rng, ns...))
				}
				if affine == "b" || affine == "wb" {
					in = append(in, randAway(rng, ns...))
				}
				checkOp(t, func(tp *Tape[float64], xs []*Var[float64]) *Var[float64] {
					var w, b *Var[float64]
					switch affine {
					case "w":
						w = xs[1]
					case "b":
						b = xs[1]
					case "wb":
						w, b = xs[1], xs[2]
					}
					return LayerNorm(xs[0], w, b, c.dims, 1e-5)
				}, in...)
			})
		}
	}
}

// TestLayerNormMatchesComposition compares the fused op's value and its
// fast and recorded backward rules with the same function composed of
// elementary ops (mean, variance, Pow), in float64.
func TestLayerNormMatchesComposition(t *testing.T) {
	rng := newRNG(32)
	x := tensor.RandN(rng, 0.5, 2.0, 6, 4, 5)
	w, b := tensor.RandN(rng, 1.0, 0.5, 4, 5), tensor.RandN(rng, 0.0, 0.5, 4, 5)
	u := tensor.RandN(rng, 0.0, 1.0, 6, 4, 5)
	composed := func(x, w, b *Var[float64]) *Var[float64] {
		x2 := Reshape(x, 6, 20)
		xc := Sub(x2, MeanAxis(x2, 1, true))
		rs := Pow(AddScalar(MeanAxis(Mul(xc, xc), 1, true), 1e-5), -0.5)
		return Add(Mul(Reshape(Mul(xc, rs), 6, 4, 5), w), b)
	}
	run := func(fused, create bool) []*tensor.Tensor[float64] {
		tp := NewTape[float64]()
		xs := []*Var[float64]{tp.Leaf(x, nil), tp.Leaf(w, nil), tp.Leaf(b, nil)}
		var y *Var[float64]
		if fused {
			y = LayerNorm(xs[0], xs[1], xs[2], 2, 1e-5)
		} else {
			y = composed(xs[0], xs[1], xs[2])
		}
		out := []*tensor.Tensor[float64]{y.Value().Clone()}
		for _, g := range tp.Grad(y, xs, GradOptions[float64]{Seed: tp.Const(u), CreateGraph: create}) {
			out = append(out, g.Value().Clone())
		}
		return out
	}
	want := run(false, false)
	for _, create := range []bool{false, true} {
		got := run(true, create)
		for i, name := range []string{"y", "dx", "dw", "db"} {
			if !tensor.AllClose(got[i], want[i], 1e-12, 1e-12) {
				t.Errorf("CreateGraph %v: %s = %v, composition gives %v", create, name, got[i].Data()[:3], want[i].Data()[:3])
			}
		}
	}
}

// TestLayerNormSteadyStateAllocs: a second identical forward and backward
// on a reset tape allocates nothing (the buffers, the statistics and the
// parameter gradients all live in the arena or the bound tensors).
func TestLayerNormSteadyStateAllocs(t *testing.T) {
	rng := newRNG(33)
	x := tensor.RandN(rng, float32(0), 1, 8, 16)
	w, b := tensor.RandN(rng, float32(1), 0.1, 16), tensor.RandN(rng, float32(0), 0.1, 16)
	gw, gb, gx := tensor.New[float32](16), tensor.New[float32](16), tensor.New[float32](8, 16)
	tp := NewTape[float32]()
	step := func() {
		tp.Reset()
		y := LayerNorm(tp.Leaf(x, gx), tp.Leaf(w, gw), tp.Leaf(b, gb), 1, 1e-5)
		tp.Backward(Sum(Mul(y, y)))
	}
	step()
	if n := testing.AllocsPerRun(10, step); n != 0 {
		t.Errorf("steady-state LayerNorm step allocates %v times, want 0", n)
	}
}

func TestLayerNormPanics(t *testing.T) {
	tp := NewTape[float64]()
	x := tp.Const(tensor.New[float64](2, 3, 4))
	mustPanic(t, func() { LayerNorm(x, nil, nil, 4, 1e-5) }, "LayerNorm", "dims 4", "[2 3 4]")
	mustPanic(t, func() { LayerNorm(x, nil, nil, 0, 1e-5) }, "LayerNorm", "dims 0", "[2 3 4]")
	w := tp.Const(tensor.New[float64](3))
	mustPanic(t, func() { LayerNorm(x, w, nil, 1, 1e-5) }, "LayerNorm", "weight", "[3]", "[4]", "[2 3 4]")
	mustPanic(t, func() { LayerNorm(x, nil, w, 2, 1e-5) }, "LayerNorm", "bias", "[3]", "[3 4]")
}
