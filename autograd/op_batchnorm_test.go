package autograd

import (
	"fmt"
	"math"
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

// TestBatchNormGrad checks first and second derivatives against finite
// differences in training mode on [N, C] and [N, C, H, W], with and
// without the affine parameters, and in evaluation mode. The running
// statistics are left nil in training mode: GradCheck calls the function
// many times, and updating them would only change state the output does
// not read.
func TestBatchNormGrad(t *testing.T) {
	for _, shape := range [][]int{{5, 3}, {2, 3, 2, 3}} {
		c := shape[1]
		for _, training := range []bool{true, false} {
			for _, affine := range []string{"none", "w", "b", "wb"} {
				t.Run(fmt.Sprint(shape, training, affine), func(t *testing.T) {
					rng := newRNG(41)
					in := []*tensor.Tensor[float64]{randAway(rng, shape...)}
					if affine == "w" || affine == "wb" {
						in = append(in, randAway(rng, c))
					}
					if affine == "b" || affine == "wb" {
						in = append(in, randAway(rng, c))
					}
					var rm, rv *tensor.Tensor[float64]
					if !training {
						rm, rv = tensor.RandN(rng, 0.0, 0.5, c), randPos(rng, c)
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
						return BatchNorm(xs[0], w, b, rm, rv, training, 0.1, 1e-5)
					}, in...)
				})
			}
		}
	}
}

// TestBatchNormMatchesComposition compares the fused op's value and its
// fast and recorded backward rules with the function composed of
// elementary ops, in both modes, in float64, on [N, C] (scalar loops) and
// on images of 4x5 (the vector kernels, H*W >= vecMinInner).
func TestBatchNormMatchesComposition(t *testing.T) {
	testBatchNormMatchesComposition(t, 5, 3, 1, 1)
	testBatchNormMatchesComposition(t, 3, 4, 4, 5)
}

func testBatchNormMatchesComposition(t *testing.T, n, c, h, wd int) {
	rng := newRNG(42)
	shape := []int{n, c, h, wd}
	if h*wd == 1 {
		shape = shape[:2]
	}
	x := tensor.RandN(rng, 0.5, 2.0, shape...)
	w, b := tensor.RandN(rng, 1.0, 0.5, c), tensor.RandN(rng, 0.0, 0.5, c)
	rm, rv := tensor.RandN(rng, 0.0, 0.5, c), randPos(rng, c)
	u := tensor.RandN(rng, 0.0, 1.0, shape...)
	composed := func(tp *Tape[float64], x, w, b *Var[float64], training bool) *Var[float64] {
		x3 := Reshape(x, n, c, h*wd)
		var xhat *Var[float64]
		if training {
			m := 1 / float64(n*h*wd)
			mean := Scale(SumAxis(SumAxis(x3, 2, true), 0, true), m)
			xc := Sub(x3, mean)
			vr := Scale(SumAxis(SumAxis(Mul(xc, xc), 2, true), 0, true), m)
			xhat = Mul(xc, Pow(AddScalar(vr, 1e-5), -0.5))
		} else {
			xc := Sub(x3, tp.Const(rm.Reshape(1, c, 1)))
			xhat = Mul(xc, Pow(AddScalar(tp.Const(rv.Reshape(1, c, 1)), 1e-5), -0.5))
		}
		y := Add(Mul(xhat, Reshape(w, 1, c, 1)), Reshape(b, 1, c, 1))
		return Reshape(y, x.Shape()...)
	}
	run := func(fused, training, create bool) []*tensor.Tensor[float64] {
		tp := NewTape[float64]()
		xs := []*Var[float64]{tp.Leaf(x, nil), tp.Leaf(w, nil), tp.Leaf(b, nil)}
		var y *Var[float64]
		if fused {
			y = BatchNorm(xs[0], xs[1], xs[2], rm, rv, training, 0, 1e-5) // momentum 0 keeps rm, rv
		} else {
			y = composed(tp, xs[0], xs[1], xs[2], training)
		}
		out := []*tensor.Tensor[float64]{y.Value().Clone()}
		for _, g := range tp.Grad(y, xs, GradOptions[float64]{Seed: tp.Const(u), CreateGraph: create}) {
			out = append(out, g.Value().Clone())
		}
		return out
	}
	for _, training := range []bool{true, false} {
		want := run(false, training, false)
		for _, create := range []bool{false, true} {
			got := run(true, training, create)
			for i, name := range []string{"y", "dx", "dw", "db"} {
				if !tensor.AllClose(got[i], want[i], 1e-12, 1e-12) {
					t.Errorf("%v training %v, CreateGraph %v: %s = %v, composition gives %v",
						shape, training, create, name, got[i].Data()[:3], want[i].Data()[:3])
				}
			}
		}
	}
}

// TestBatchNormRunningStats checks the in-place update against the
// formula computed by naive loops: running = (1-momentum) running +
// momentum stat, with the unbiased variance, over two steps; and that
// evaluation mode leaves them alone.
func TestBatchNormRunningStats(t *testing.T) {
	rng := newRNG(43)
	const n, c, hw = 4, 3, 6
	rm, rv := tensor.New[float64](c), tensor.Full(1.0, c)
	wantM, wantV := []float64{0, 0, 0}, []float64{1, 1, 1}
	const mom = 0.3
	tp := NewTape[float64]()
	for step := 0; step < 2; step++ {
		x := tensor.RandN(rng, float64(step), 2.0, n, c, 2, 3)
		tp.Reset()
		BatchNorm(tp.Const(x), nil, nil, rm, rv, true, mom, 1e-5)
		for ch := 0; ch < c; ch++ {
			var s, ss float64
			for j := 0; j < n; j++ {
				for k := 0; k < hw; k++ {
					s += x.Data()[(j*c+ch)*hw+k]
				}
			}
			mean := s / (n * hw)
			for j := 0; j < n; j++ {
				for k := 0; k < hw; k++ {
					d := x.Data()[(j*c+ch)*hw+k] - mean
					ss += d * d
				}
			}
			wantM[ch] = (1-mom)*wantM[ch] + mom*mean
			wantV[ch] = (1-mom)*wantV[ch] + mom*ss/(n*hw-1)
		}
		for ch := 0; ch < c; ch++ {
			if math.Abs(rm.Data()[ch]-wantM[ch]) > 1e-14 || math.Abs(rv.Data()[ch]-wantV[ch]) > 1e-14 {
				t.Errorf("step %d channel %d: running (%g, %g), want (%g, %g)", step, ch,
					rm.Data()[ch], rv.Data()[ch], wantM[ch], wantV[ch])
			}
		}
	}
	before := rm.Clone()
	BatchNorm(tp.Const(tensor.RandN(rng, 0.0, 1.0, n, c)), nil, nil, rm, rv, false, mom, 1e-5)
	if !tensor.Equal(before, rm) {
		t.Errorf("evaluation mode changed the running mean")
	}
}

// TestBatchNormSteadyStateAllocs: a second identical training step on a
// reset tape allocates nothing, running statistics included.
func TestBatchNormSteadyStateAllocs(t *testing.T) {
	rng := newRNG(44)
	x := tensor.RandN(rng, float32(0), 1, 4, 3, 5, 5)
	w, b := tensor.RandN(rng, float32(1), 0.1, 3), tensor.RandN(rng, float32(0), 0.1, 3)
	gw, gb, gx := tensor.New[float32](3), tensor.New[float32](3), tensor.New[float32](4, 3, 5, 5)
	rm, rv := tensor.New[float32](3), tensor.Full(float32(1), 3)
	tp := NewTape[float32]()
	for _, training := range []bool{true, false} {
		step := func() {
			tp.Reset()
			y := BatchNorm(tp.Leaf(x, gx), tp.Leaf(w, gw), tp.Leaf(b, gb), rm, rv, training, 0.1, 1e-5)
			tp.Backward(Sum(Mul(y, y)))
		}
		step()
		if n := testing.AllocsPerRun(10, step); n != 0 {
			t.Errorf("training %v: steady-state BatchNorm step allocates %v times, want 0", training, n)
		}
	}
}

func TestBatchNormPanics(t *testing.T) {
	tp := NewTape[float64]()
	x := tp.Const(tensor.New[float64](2, 3, 4))
	mustPanic(t, func() { BatchNorm(x, nil, nil, nil, nil, true, 0.1, 1e-5) }, "BatchNorm", "[2 3 4]")
	x = tp.Const(tensor.New[float64](2, 3))
	w := tp.Const(tensor.New[float64](2))
	mustPanic(t, func() { BatchNorm(x, w, nil, nil, nil, true, 0.1, 1e-5) }, "BatchNorm", "weight", "[2]", "[3]", "[2 3]")
	mustPanic(t, func() { BatchNorm(x, nil, w, nil, nil, true, 0.1, 1e-5) }, "BatchNorm", "bias", "[2]", "[2 3]")
	r := tensor.New[float64](2)
	mustPanic(t, func() { BatchNorm(x, nil, nil, r, r, true, 0.1, 1e-5) }, "BatchNorm", "running", "[2]", "[2 3]")
	mustPanic(t, func() { BatchNorm(x, nil, nil, nil, nil, false, 0.1, 1e-5) }, "BatchNorm", "evaluation", "[2 3]")
	mustPanic(t, func() { BatchNorm(tp.Const(tensor.New[float64](1, 3)), nil, nil, nil, nil, true, 0.1, 1e-5) },
		"BatchNorm", "more than one value", "[1 3]")
}
