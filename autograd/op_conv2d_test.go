package autograd

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

// naiveConv2D is the 7-loop definition of PyTorch's conv2d (with alpha and
// bias), in float64, independent of im2col and the GEMM.
func naiveConv2D(x, w, b []float64, xs, ws []int, alpha float64, p ConvParams) ([]float64, []int) {
	one := func(v int) int {
		if v == 0 {
			return 1
		}
		return v
	}
	sh, sw, dh, dw, groups := one(p.Stride[0]), one(p.Stride[1]), one(p.Dilation[0]), one(p.Dilation[1]), one(p.Groups)
	ph, pw := p.Padding[0], p.Padding[1]
	n, c, h, wd := xs[0], xs[1], xs[2], xs[3]
	co, cg, kh, kw := ws[0], ws[1], ws[2], ws[3]
	ho := (h+2*ph-dh*(kh-1)-1)/sh + 1
	wo := (wd+2*pw-dw*(kw-1)-1)/sw + 1
	cog := co / groups
	out := make([]float64, n*co*ho*wo)
	for in := 0; in < n; in++ {
		for o := 0; o < co; o++ {
			gi := o / cog
			for oh := 0; oh < ho; oh++ {
				for ow := 0; ow < wo; ow++ {
					s := 0.0
					for ci := 0; ci < cg; ci++ {
						cin := gi*cg + ci
						for i := 0; i < kh; i++ {
							for j := 0; j < kw; j++ {
								ih, iw := oh*sh-ph+i*dh, ow*sw-pw+j*dw
								if ih < 0 || ih >= h || iw < 0 || iw >= wd {
									continue
								}
								s += x[((in*c+cin)*h+ih)*wd+iw] * w[((o*cg+ci)*kh+i)*kw+j]
							}
						}
					}
					s *= alpha
					if b != nil {
						s += b[o]
					}
					out[((in*co+o)*ho+oh)*wo+ow] = s
				}
			}
		}
	}
	return out, []int{n, co, ho, wo}
}

type convCase struct {
	x, w []int
	p    ConvParams
	bias bool
}

var convCases = []convCase{
	{[]int{1, 1, 5, 5}, []int{1, 1, 3, 3}, ConvParams{}, false},
	{[]int{2, 3, 7, 6}, []int{5, 3, 3, 2}, ConvParams{Padding: [2]int{1, 2}}, true},
	{[]int{2, 4, 9, 8}, []int{6, 2, 3, 3}, ConvParams{Stride: [2]int{2, 3}, Padding: [2]int{1, 1}, Groups: 2}, true},
	{[]int{3, 2, 10, 9}, []int{7, 2, 3, 2}, ConvParams{Dilation: [2]int{2, 3}, Padding: [2]int{2, 1}, Stride: [2]int{1, 2}}, true},
	{[]int{2, 4, 6, 7}, []int{4, 1, 3, 3}, ConvParams{Padding: [2]int{1, 1}, Groups: 4}, true}, // depthwise
	{[]int{2, 4, 6, 7}, []int{8, 1, 3, 3}, ConvParams{Stride: [2]int{2, 2}, Groups: 4}, false}, // depthwise x2
	{[]int{2, 6, 5, 4}, []int{9, 6, 1, 1}, ConvParams{}, true},                                 // 1x1 direct
	{[]int{2, 6, 5, 4}, []int{4, 3, 1, 1}, ConvParams{Groups: 2}, true},                        // 1x1 grouped
	{[]int{1, 3, 7, 7}, []int{5, 3, 1, 1}, ConvParams{Stride: [2]int{2, 2}}, false},            // 1x1 strided
	{[]int{5, 1, 12, 11}, []int{3, 1, 5, 5}, ConvParams{Padding: [2]int{2, 2}}, true},          // LeNet-like
	{[]int{2, 3, 4, 4}, []int{2, 3, 4, 4}, ConvParams{Padding: [2]int{3, 3}, Stride: [2]int{3, 2}}, true},
	{[]int{2, 3, 8, 7}, []int{4, 3, 3, 3}, ConvParams{Padding: [2]int{2, 2}, Dilation: [2]int{2, 2}}, true}, // shifted, dilated
	{[]int{2, 2, 6, 5}, []int{3, 2, 2, 3}, ConvParams{Padding: [2]int{0, 1}}, false},                        // shifted, Ho < H
	{[]int{1, 2, 3, 3}, []int{11, 2, 1, 1}, ConvParams{Padding: [2]int{1, 1}}, true},                        // 1x1 padded
	{[]int{2, 2, 3, 4}, []int{3, 2, 3, 5}, ConvParams{Padding: [2]int{2, 2}}, true},                         // shifted, taps beyond the plane
}

func (c convCase) String() string {
	return fmt.Sprintf("x%v_w%v_%+v_b%v", c.x, c.w, c.p, c.bias)
}

func TestConv2DForwardNaive(t *testing.T) {
	rng := newRNG(1)
	for _, c := range convCases {
		for _, act := range []Activation{"", tensor.ReLU, tensor.Tanh} {
			x := tensor.RandN(rng, 0.0, 1.0, c.x...)
			w := tensor.RandN(rng, 0.0, 1.0, c.w...)
			var bd []float64
			var bt *tensor.Tensor[float64]
			if c.bias {
				bt = tensor.RandN(rng, 0.0, 1.0, c.w[0])
				bd = bt.Data()
			}
			alpha := 0.7
			want, ws := naiveConv2D(x.Data(), w.Data(), bd, c.x, c.w, alpha, c.p)
			for i, v := range want {
				switch act {
				case tensor.ReLU:
					want[i] = max(v, 0)
				case tensor.Tanh:
					want[i] = math.Tanh(v)
				}
			}
			tp := NewTape[float64]()
			var bv *Var[float64]
			if bt != nil {
				bv = tp.Const(bt)
			}
			got := Conv2D(tp.Const(x), tp.Const(w), bv, alpha, act, c.p)
			if !sameShape(got.Shape(), ws) {
				t.Fatalf("%v: shape %v, want %v", c, got.Shape(), ws)
			}
			for i, g := range got.Value().Data() {
				if math.Abs(g-want[i]) > 1e-12 {
					t.Fatalf("%v act %q: out[%d] = %v, want %v", c, act, i, g, want[i])
				}
			}
			// float32: the same computation to single-precision accuracy.
			tp32 := NewTape[float32]()
			var b32 *Var[float32]
			if bt != nil {
				b32 = tp32.Const(tensor.Convert[float32](bt))
			}
			got32 := Conv2D(tp32.Const(tensor.Convert[float32](x)), tp32.Const(tensor.Convert[float32](w)), b32, alpha, act, c.p)
			for i, g := range got32.Value().Data() {
				if math.Abs(float64(g)-want[i]) > 1e-5*(1+math.Abs(want[i]))*float64(c.w[1]*c.w[2]*c.w[3]) {
					t.Fatalf("%v act %q float32: out[%d] = %v, want %v", c, act, i, g, want[i])
				}
			}
		}
	}
}

func TestConv2DGrad(t *testing.T) {
	rng := newRNG(2)
	for _, c := range convCases {
		for _, act := range []Activation{"", tensor.ReLU} {
			t.Run(fmt.Sprintf("%v_%s", c, act), func(t *testing.T) {
				inputs := []*tensor.Tensor[float64]{randAway(rng, c.x...), randAway(rng, c.w...)}
				if c.bias {
					inputs = append(inputs, randAway(rng, c.w[0]))
				}
				checkOp(t, func(tp *Tape[float64], xs []*Var[float64]) *Var[float64] {
					var b *Var[float64]
					if len(xs) > 2 {
						b = xs[2]
					}
					return Conv2D(xs[0], xs[1], b, 0.8, act, c.p)
				}, inputs...)
			})
		}
	}
}

// TestConv2DFastBackward compares the unrecorded backward pass (the fast
// path, with gradients added straight into bound parameter gradients) with
// the recorded one, in float64 and float32.
func TestConv2DFastBackward(t *testing.T) {
	rng := newRNG(3)
	for _, c := range convCases {
		for _, act := range []Activation{"", tensor.ReLU} {
			x := tensor.RandN(rng, 0.0, 1.0, c.x...)
			w := tensor.RandN(rng, 0.0, 1.0, c.w...)
			b := tensor.RandN(rng, 0.0, 1.0, c.w[0])
			run := func(create bool) [3][]float64 {
				tp := NewTape[float64]()
				gx, gw, gb := tensor.New[float64](c.x...), tensor.New[float64](c.w...), tensor.New[float64](c.w[0])
				xv, wv, bv := tp.Leaf(x, gx), tp.Leaf(w, gw), tp.Leaf(b, gb)
				y := Conv2D(xv, wv, bv, 1.3, act, c.p)
				u := tensor.RandN(newRNG(9), 0.0, 1.0, y.Shape()...)
				loss := Sum(Mul(y, tp.Const(u)))
				if create {
					gs := tp.Grad(loss, []*Var[float64]{xv, wv, bv}, GradOptions[float64]{CreateGraph: true})
					return [3][]float64{gs[0].Value().Data(), gs[1].Value().Data(), gs[2].Value().Data()}
				}
				tp.Backward(loss)
				return [3][]float64{gx.Data(), gw.Data(), gb.Data()}
			}
			slow, fast := run(true), run(false)
			for k := range slow {
				for i := range slow[k] {
					if d := math.Abs(slow[k][i] - fast[k][i]); d > 1e-11*(1+math.Abs(slow[k][i])) {
						t.Fatalf("%v %q: grad %d[%d] fast %v recorded %v", c, act, k, i, fast[k][i], slow[k][i])
					}
				}
			}
		}
	}
}

func TestConv2DPanics(t *testing.T) {
	tp := NewTape[float64]()
	x := tp.Const(tensor.New[float64](1, 4, 5, 5))
	mustPanic(t, func() { Conv2D(x, tp.Const(tensor.New[float64](2, 3, 3, 3)), nil, 1, "", ConvParams{}) },
		"autograd.Conv2D", "[1 4 5 5]", "[2 3 3 3]")
	mustPanic(t, func() { Conv2D(x, tp.Const(tensor.New[float64](2, 4, 7, 3)), nil, 1, "", ConvParams{}) },
		"autograd.Conv2D", "larger")
	mustPanic(t, func() {
		Conv2D(x, tp.Const(tensor.New[float64](3, 2, 3, 3)), nil, 1, "", ConvParams{Groups: 2})
	}, "groups=2")
	mustPanic(t, func() {
		Conv2D(x, tp.Const(tensor.New[float64](2, 4, 3, 3)), tp.Const(tensor.New[float64](3)), 1, "", ConvParams{})
	}, "bias shape [3]")
}

// TestConvNoAllocs checks that a second identical training step of the
// LeNet convolution stack (and a ResNet-style layer) on a Reset tape
// allocates nothing.
func TestConvNoAllocs(t *testing.T) {
	s := newLenetStack(4)
	tp := NewTape[float32]()
	s.step(tp)
	if a := testing.AllocsPerRun(5, func() { s.step(tp) }); a != 0 {
		t.Errorf("LeNet stack: %v allocations per step, want 0", a)
	}
	l := newConvLayer([]int{3, 5, 9, 8}, []int{7, 5, 3, 3}, ConvParams{Padding: [2]int{1, 1}}, true)
	tp2 := NewTape[float32]()
	l.step(tp2)
	if a := testing.AllocsPerRun(5, func() { l.step(tp2) }); a != 0 {
		t.Errorf("3x3 layer: %v allocations per step, want 0", a)
	}
}

// TestConv2DChunked checks batches that the kernels cut into several
// chunks of images (one GEMM per chunk), including a last, smaller chunk
// and one image per chunk, against the naive definition: the forward
// values directly, and the gradients through the adjoint identities
// <dx, e> = <g, conv(e, w)> and <dw, e> = <g, conv(x, e)> for random e.
func TestConv2DChunked(t *testing.T) {
	rng := newRNG(21)
	for _, c := range []convCase{
		{[]int{5, 8, 24, 24}, []int{9, 8, 3, 3}, ConvParams{Padding: [2]int{1, 1}}, true},             // 3 + 2 images
		{[]int{7, 8, 20, 21}, []int{6, 8, 3, 3}, ConvParams{Stride: [2]int{1, 2}}, true},              // general path, small Cout
		{[]int{3, 16, 30, 30}, []int{12, 16, 3, 3}, ConvParams{Padding: [2]int{1, 1}}, false},         // one image per chunk
		{[]int{4, 9, 26, 26}, []int{12, 3, 3, 3}, ConvParams{Padding: [2]int{1, 1}, Groups: 3}, true}, // grouped
	} {
		x := tensor.RandN(rng, 0.0, 1.0, c.x...)
		w := tensor.RandN(rng, 0.0, 1.0, c.w...)
		b := tensor.RandN(rng, 0.0, 1.0, c.w[0])
		tp := NewTape[float64]()
		gx, gw := tensor.New[float64](c.x...), tensor.New[float64](c.w...)
		y := Conv2D(tp.Leaf(x, gx), tp.Leaf(w, gw), tp.Leaf(b, nil), 0.9, "", c.p)
		want, _ := naiveConv2D(x.Data(), w.Data(), b.Data(), c.x, c.w, 0.9, c.p)
		for i, v := range y.Value().Data() {
			if math.Abs(v-want[i]) > 1e-12*(1+math.Abs(want[i])) {
				t.Fatalf("%v: out[%d] = %v, want %v", c, i, v, want[i])
			}
		}
		g := tensor.RandN(rng, 0.0, 1.0, y.Shape()...)
		tp.Backward(Sum(Mul(y, tp.Const(g))))
		dot := func(a, b []float64) float64 {
			s := 0.0
			for i := range a {
				s += a[i] * b[i]
			}
			return s
		}
		ex := tensor.RandN(rng, 0.0, 1.0, c.x...)
		ew := tensor.RandN(rng, 0.0, 1.0, c.w...)
		cx, _ := naiveConv2D(ex.Data(), w.Data(), nil, c.x, c.w, 0.9, c.p)
		cw, _ := naiveConv2D(x.Data(), ew.Data(), nil, c.x, c.w, 0.9, c.p)
		for _, chk := range []struct {
			name      string
			got, want float64
		}{
			{"dx", dot(gx.Data(), ex.Data()), dot(g.Data(), cx)},
			{"dw", dot(gw.Data(), ew.Data()), dot(g.Data(), cw)},
		} {
			if math.Abs(chk.got-chk.want) > 1e-10*(1+math.Abs(chk.want)) {
				t.Errorf("%v: <%s, e> = %v, want %v", c, chk.name, chk.got, chk.want)
			}
		}
	}
}

// TestConv2DDeterministic checks that the forward values and all
// gradients of a training step are bit-identical for GOMAXPROCS 1 and 4,
// on a batch cut into several chunks and parts.
func TestConv2DDeterministic(t *testing.T) {
	rng := newRNG(31)
	x := tensor.RandN(rng, float32(0), 1, 9, 8, 24, 24)
	w := tensor.RandN(rng, float32(0), 1, 10, 8, 3, 3)
	b := tensor.RandN(rng, float32(0), 1, 10)
	run := func(procs int) [][]float32 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		tp := NewTape[float32]()
		gx, gw, gb := tensor.New[float32](x.Shape()...), tensor.New[float32](w.Shape()...), tensor.New[float32](10)
		y := Conv2D(tp.Leaf(x, gx), tp.Leaf(w, gw), tp.Leaf(b, gb), 1, tensor.ReLU, ConvParams{Padding: [2]int{1, 1}})
		y = MaxPool2D(y, PoolParams{Kernel: [2]int{2, 2}})
		tp.Backward(Sum(y))
		return [][]float32{y.Value().Data(), gx.Data(), gw.Data(), gb.Data()}
	}
	one, four := run(1), run(4)
	for k := range one {
		for i := range one[k] {
			if math.Float32bits(one[k][i]) != math.Float32bits(four[k][i]) {
				t.Fatalf("result %d [%d]: %v with one thread, %v with four", k, i, one[k][i], four[k][i])
			}
		}
	}
}
