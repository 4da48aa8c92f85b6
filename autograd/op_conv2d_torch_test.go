package autograd

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

// convFixture is testdata/conv_ref.json, written by testdata/conv_ref.py
// with PyTorch 1.13 in float64.
type convFixture struct {
	TorchVersion string `json:"torch_version"`
	Convs        []struct {
		XShape   []int     `json:"x_shape"`
		WShape   []int     `json:"w_shape"`
		Stride   [2]int    `json:"stride"`
		Padding  [2]int    `json:"padding"`
		Dilation [2]int    `json:"dilation"`
		Groups   int       `json:"groups"`
		Alpha    float64   `json:"alpha"`
		Act      string    `json:"act"`
		X        []float64 `json:"x"`
		W        []float64 `json:"w"`
		B        []float64 `json:"b"` // nil without bias
		U        []float64 `json:"u"` // the seed: the loss is sum(y * u)
		YShape   []int     `json:"y_shape"`
		Y        []float64 `json:"y"`
		GX       []float64 `json:"gx"`
		GW       []float64 `json:"gw"`
		GB       []float64 `json:"gb"`
	} `json:"convs"`
	Pools []struct {
		Kind       string    `json:"kind"`
		XShape     []int     `json:"x_shape"`
		Kernel     [2]int    `json:"kernel"`
		Stride     [2]int    `json:"stride"`
		Padding    [2]int    `json:"padding"`
		ExcludePad bool      `json:"exclude_pad"`
		X          []float64 `json:"x"`
		U          []float64 `json:"u"`
		YShape     []int     `json:"y_shape"`
		Y          []float64 `json:"y"`
		GX         []float64 `json:"gx"`
	} `json:"pools"`
}

func loadConvFixture(t *testing.T) *convFixture {
	t.Helper()
	raw, err := os.ReadFile("testdata/conv_ref.json")
	if err != nil {
		t.Fatalf("reading the fixture (regenerate with testdata/conv_ref.py): %v", err)
	}
	var fx convFixture
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatalf("decoding the fixture: %v", err)
	}
	if len(fx.Convs) == 0 || len(fx.Pools) == 0 {
		t.Fatal("fixture has no cases")
	}
	return &fx
}

func closeTo(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol*(1+math.Abs(want[i])) {
			t.Fatalf("%s[%d] = %v, torch %v", what, i, got[i], want[i])
		}
	}
}

func TestConvTorchFixture(t *testing.T) {
	fx := loadConvFixture(t)
	for i, c := range fx.Convs {
		x, w, bias, u, y, gx, gw, gb := c.X, c.W, c.B, c.U, c.Y, c.GX, c.GW, c.GB
		tp := NewTape[float64]()
		gxT, gwT := tensor.New[float64](c.XShape...), tensor.New[float64](c.WShape...)
		xv := tp.Leaf(tensor.FromSlice(x, c.XShape...), gxT)
		wv := tp.Leaf(tensor.FromSlice(w, c.WShape...), gwT)
		var bv *Var[float64]
		gbT := tensor.New[float64](c.WShape[0])
		if bias != nil {
			bv = tp.Leaf(tensor.FromSlice(bias, c.WShape[0]), gbT)
		}
		out := Conv2D(xv, wv, bv, c.Alpha, Activation(c.Act),
			ConvParams{Stride: c.Stride, Padding: c.Padding, Dilation: c.Dilation, Groups: c.Groups})
		if !sameShape(out.Shape(), c.YShape) {
			t.Fatalf("conv %d: shape %v, torch %v", i, out.Shape(), c.YShape)
		}
		closeTo(t, "conv y", out.Value().Data(), y, 1e-12)
		tp.Backward(Sum(Mul(out, tp.Const(tensor.FromSlice(u, c.YShape...)))))
		closeTo(t, "conv gx", gxT.Data(), gx, 1e-12)
		closeTo(t, "conv gw", gwT.Data(), gw, 1e-12)
		if bias != nil {
			closeTo(t, "conv gb", gbT.Data(), gb, 1e-12)
		}
	}
	for i, c := range fx.Pools {
		x, u, y, gx := c.X, c.U, c.Y, c.GX
		tp := NewTape[float64]()
		gxT := tensor.New[float64](c.XShape...)
		xv := tp.Leaf(tensor.FromSlice(x, c.XShape...), gxT)
		p := PoolParams{Kernel: c.Kernel, Stride: c.Stride, Padding: c.Padding, ExcludePad: c.ExcludePad}
		var out *Var[float64]
		if c.Kind == "max" {
			out = MaxPool2D(xv, p)
		} else {
			out = AvgPool2D(xv, p)
		}
		if !sameShape(out.Shape(), c.YShape) {
			t.Fatalf("pool %d: shape %v, torch %v", i, out.Shape(), c.YShape)
		}
		closeTo(t, c.Kind+"pool y", out.Value().Data(), y, 1e-14)
		tp.Backward(Sum(Mul(out, tp.Const(tensor.FromSlice(u, c.YShape...)))))
		closeTo(t, c.Kind+"pool gx", gxT.Data(), gx, 1e-14)
	}
}
