package autograd

import (
	"fmt"
	"math"
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

// naivePool is the definition of max and average pooling with explicit
// padding tests, independent of poolGeom.window.
func naivePool(x []float64, xs []int, p PoolParams, isMax bool) []float64 {
	n, c, h, w := xs[0], xs[1], xs[2], xs[3]
	kh, kw := p.Kernel[0], p.Kernel[1]
	sh, sw := p.Stride[0], p.Stride[1]
	if sh == 0 {
		sh = kh
	}
	if sw == 0 {
		sw = kw
	}
	ph, pw := p.Padding[0], p.Padding[1]
	ho, wo := (h+2*ph-kh)/sh+1, (w+2*pw-kw)/sw+1
	var out []float64
	for pl := 0; pl < n*c; pl++ {
		for oh := 0; oh < ho; oh++ {
			for ow := 0; ow < wo; ow++ {
				best, sum, cnt := math.Inf(-1), 0.0, 0
				for i := 0; i < kh; i++ {
					for j := 0; j < kw; j++ {
						ih, iw := oh*sh-ph+i, ow*sw-pw+j
						if ih < 0 || ih >= h || iw < 0 || iw >= w {
							continue
						}
						e := x[(pl*h+ih)*w+iw]
						best = max(best, e)
						sum += e
						cnt++
					}
				}
				switch {
				case isMax:
					out = append(out, best)
				case p.ExcludePad:
					out = append(out, sum/float64(cnt))
				default:
					out = append(out, sum/float64(kh*kw))
				}
			}
		}
	}
	return out
}

var poolCases = []struct {
	x []int
	p PoolParams
}{
	{[]int{1, 1, 4, 4}, PoolParams{Kernel: [2]int{2, 2}}},
	{[]int{2, 2, 5, 7}, PoolParams{Kernel: [2]int{2, 2}, Stride: [2]int{1, 2}}},
	{[]int{2, 3, 7, 5}, PoolParams{Kernel: [2]int{3, 2}, Stride: [2]int{2, 1}}},
	{[]int{2, 2, 7, 8}, PoolParams{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}},
	{[]int{1, 2, 6, 7}, PoolParams{Kernel: [2]int{4, 2}, Stride: [2]int{3, 2}, Padding: [2]int{2, 1}, ExcludePad: true}},
	{[]int{3, 1, 5, 5}, PoolParams{Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Padding: [2]int{1, 1}}},
	{[]int{3, 1, 5, 5}, PoolParams{Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Padding: [2]int{1, 1}, ExcludePad: true}},
}

func TestPool2DForwardNaive(t *testing.T) {
	rng := newRNG(4)
	for _, c := range poolCases {
		x := tensor.RandN(rng, 0.0, 1.0, c.x...)
		tp := NewTape[float64]()
		for _, isMax := range []bool{true, false} {
			var got *Var[float64]
			if isMax {
				got = MaxPool2D(tp.Const(x), c.p)
			} else {
				got = AvgPool2D(tp.Const(x), c.p)
			}
			want := naivePool(x.Data(), c.x, c.p, isMax)
			if len(want) != len(got.Value().Data()) {
				t.Fatalf("%v %+v max=%v: %d outputs, want %d", c.x, c.p, isMax, len(got.Value().Data()), len(want))
			}
			for i, g := range got.Value().Data() {
				if math.Abs(g-want[i]) > 1e-14 {
					t.Fatalf("%v %+v max=%v: out[%d] = %v, want %v", c.x, c.p, isMax, i, g, want[i])
				}
			}
		}
	}
}

func TestPool2DGrad(t *testing.T) {
	rng := newRNG(5)
	for _, c := range poolCases {
		t.Run(fmt.Sprintf("%v_%+v", c.x, c.p), func(t *testing.T) {
			x := randAway(rng, c.x...)
			checkOp(t, func(tp *Tape[float64], xs []*Var[float64]) *Var[float64] { return MaxPool2D(xs[0], c.p) }, x)
			checkOp(t, func(tp *Tape[float64], xs []*Var[float64]) *Var[float64] { return AvgPool2D(xs[0], c.p) }, x)
			// A nonlinear function of the pooled values, so that the second
			// order check sees the pooling's own backward of a backward.
			checkOp(t, func(tp *Tape[float64], xs []*Var[float64]) *Var[float64] {
				return Mul(MaxPool2D(xs[0], c.p), AvgPool2D(xs[0], c.p))
			}, x)
		})
	}
}

// TestMaxPoolFirstMax checks that ties send the gradient to the first
// maximal element in row-major order, as PyTorch does.
func TestMaxPoolFirstMax(t *testing.T) {
	tp := NewTape[float64]()
	x := tensor.FromSlice([]float64{1, 3, 3, 0, 3, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0}, 1, 1, 4, 4)
	gx := tensor.New[float64](1, 1, 4, 4)
	y := MaxPool2D(tp.Leaf(x, gx), PoolParams{Kernel: [2]int{2, 2}})
	tp.Backward(Sum(y))
	want := []float64{0, 1, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0}
	for i, g := range gx.Data() {
		if g != want[i] {
			t.Fatalf("grad %v, want %v", gx.Data(), want)
		}
	}
}

// TestMaxPoolNaN checks that a NaN is its window's maximum and gets the
// gradient (PyTorch's choice), in the 2x2 fast path and the general one.
func TestMaxPoolNaN(t *testing.T) {
	nan := math.NaN()
	for _, p := range []PoolParams{{Kernel: [2]int{2, 2}}, {Kernel: [2]int{2, 2}, Padding: [2]int{1, 1}, Stride: [2]int{2, 2}}} {
		tp := NewTape[float64]()
		x := tensor.FromSlice([]float64{1, 2, 5, 6, 3, nan, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0}, 1, 1, 4, 4)
		gx := tensor.New[float64](1, 1, 4, 4)
		y := MaxPool2D(tp.Leaf(x, gx), p)
		tp.Backward(Sum(y))
		nans := 0
		for _, v := range y.Value().Data() {
			if v != v {
				nans++
			}
		}
		if nans != 1 || gx.Data()[5] != 1 {
			t.Errorf("%+v: output %v, gradient %v: want one NaN output whose gradient goes to x[5]", p, y.Value().Data(), gx.Data())
		}
	}
}

func TestGlobalAvgPool(t *testing.T) {
	rng := newRNG(6)
	x := randAway(rng, 2, 3, 4, 5)
	tp := NewTape[float64]()
	y := GlobalAvgPool(tp.Const(x))
	if !sameShape(y.Shape(), []int{2, 3}) {
		t.Fatalf("shape %v", y.Shape())
	}
	for i, g := range y.Value().Data() {
		s := 0.0
		for _, e := range x.Data()[i*20 : (i+1)*20] {
			s += e
		}
		if math.Abs(g-s/20) > 1e-14 {
			t.Fatalf("out[%d] = %v, want %v", i, g, s/20)
		}
	}
	checkOp(t, func(tp *Tape[float64], xs []*Var[float64]) *Var[float64] { return GlobalAvgPool(xs[0]) }, x)
}

func TestPool2DPanics(t *testing.T) {
	tp := NewTape[float64]()
	x := tp.Const(tensor.New[float64](1, 2, 5, 5))
	mustPanic(t, func() { MaxPool2D(x, PoolParams{Kernel: [2]int{2, 2}, Padding: [2]int{2, 0}}) }, "autograd.MaxPool2D", "[1 2 5 5]", "half")
	mustPanic(t, func() { AvgPool2D(x, PoolParams{Kernel: [2]int{6, 2}}) }, "autograd.AvgPool2D", "larger")
	mustPanic(t, func() { AvgPool2D(tp.Const(tensor.New[float64](2, 5, 5)), PoolParams{Kernel: [2]int{2, 2}}) }, "[2 5 5]")
	mustPanic(t, func() { GlobalAvgPool(tp.Const(tensor.New[float64](2, 5, 5))) }, "autograd.GlobalAvgPool", "[2 5 5]")
}
