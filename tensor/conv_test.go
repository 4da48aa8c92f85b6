package tensor

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// naiveIm2Col is the definition of the im2col matrix, one entry at a time.
func naiveIm2Col(x []float64, g ConvGeom) []float64 {
	col := make([]float64, g.ColLen())
	howo := g.Ho * g.Wo
	for c := 0; c < g.C; c++ {
		for i := 0; i < g.KH; i++ {
			for j := 0; j < g.KW; j++ {
				r := (c*g.KH+i)*g.KW + j
				for oh := 0; oh < g.Ho; oh++ {
					for ow := 0; ow < g.Wo; ow++ {
						ih, iw := oh*g.StrideH-g.PadH+i*g.DilH, ow*g.StrideW-g.PadW+j*g.DilW
						if ih >= 0 && ih < g.H && iw >= 0 && iw < g.W {
							col[r*howo+oh*g.Wo+ow] = x[(c*g.H+ih)*g.W+iw]
						}
					}
				}
			}
		}
	}
	return col
}

// TestIm2ColCol2Im checks Im2Col against the definition and Col2Im as its
// adjoint, <Im2Col(x), c> = <x, Col2Im(c)>, on geometries that take the
// shifted path ("same" convolutions) and the general one.
func TestIm2ColCol2Im(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		x, w             []int
		stride, pad, dil [2]int
	}{
		{[]int{1, 2, 6, 7}, []int{1, 2, 3, 3}, [2]int{1, 1}, [2]int{1, 1}, [2]int{1, 1}},
		{[]int{1, 1, 5, 5}, []int{1, 1, 5, 5}, [2]int{1, 1}, [2]int{2, 2}, [2]int{1, 1}},
		{[]int{1, 3, 7, 6}, []int{1, 3, 3, 2}, [2]int{2, 1}, [2]int{1, 2}, [2]int{1, 2}},
		{[]int{1, 2, 9, 8}, []int{1, 2, 3, 3}, [2]int{1, 1}, [2]int{2, 2}, [2]int{2, 2}},
		{[]int{1, 1, 4, 3}, []int{1, 1, 3, 5}, [2]int{1, 1}, [2]int{3, 2}, [2]int{1, 1}},
		{[]int{1, 2, 10, 9}, []int{1, 2, 4, 4}, [2]int{3, 2}, [2]int{0, 1}, [2]int{1, 1}},
		// Images smaller than the kernel (found by FuzzNetSpec: a tap
		// entirely in the padding).
		{[]int{1, 1, 1, 4}, []int{1, 1, 3, 3}, [2]int{1, 1}, [2]int{1, 1}, [2]int{1, 1}},
		{[]int{1, 2, 1, 1}, []int{1, 2, 3, 3}, [2]int{1, 1}, [2]int{1, 1}, [2]int{1, 1}},
		{[]int{1, 2, 2, 3}, []int{1, 2, 5, 5}, [2]int{1, 1}, [2]int{2, 2}, [2]int{1, 1}},
	}
	for _, c := range cases {
		g, err := NewConvGeom(c.x, c.w, c.stride, c.pad, c.dil, 1)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float64, g.C*g.H*g.W)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		col := make([]float64, g.ColLen())
		for i := range col {
			col[i] = math.NaN() // Im2Col must write every entry
		}
		Im2Col(col, x, g)
		want := naiveIm2Col(x, g)
		for i := range col {
			if col[i] != want[i] {
				t.Fatalf("%+v: col[%d] = %v, want %v", g, i, col[i], want[i])
			}
		}
		cv := make([]float64, g.ColLen())
		for i := range cv {
			cv[i] = rng.NormFloat64()
		}
		lhs := 0.0
		for i := range cv {
			lhs += want[i] * cv[i]
		}
		dx := make([]float64, len(x))
		for i := range dx {
			dx[i] = math.NaN() // Col2Im must not read x
		}
		Col2Im(dx, cv, g)
		rhs := 0.0
		for i := range dx {
			rhs += x[i] * dx[i]
		}
		if math.Abs(lhs-rhs) > 1e-12*(1+math.Abs(lhs)) {
			t.Fatalf("%+v: <Im2Col(x), c> = %v, <x, Col2Im(c)> = %v", g, lhs, rhs)
		}
	}
}

func TestNewConvGeomErrors(t *testing.T) {
	for _, c := range []struct {
		x, w   []int
		groups int
		want   string
	}{
		{[]int{1, 4, 5}, []int{2, 4, 3, 3}, 1, "[1 4 5]"},
		{[]int{1, 4, 5, 5}, []int{2, 3, 3, 3}, 1, "groups=1"},
		{[]int{1, 4, 5, 5}, []int{3, 2, 3, 3}, 2, "groups=2"},
		{[]int{1, 4, 2, 5}, []int{2, 4, 3, 3}, 1, "larger"},
	} {
		_, err := NewConvGeom(c.x, c.w, [2]int{}, [2]int{}, [2]int{}, c.groups)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewConvGeom(%v, %v): error %v, want one naming %q", c.x, c.w, err, c.want)
		}
	}
}

// TestConvWide checks the three convolution kernels against their
// definitions on valid stride-1 geometries, which take the wide layout
// (ConvGeom.wide), with batches of several chunks, groups, dilation, few
// filters (the axpy and dot paths) and many (the GEMM).
func TestConvWide(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cases := []struct {
		x, w   []int
		dil    [2]int
		groups int
	}{
		{[]int{11, 6, 14, 14}, []int{16, 6, 5, 5}, [2]int{1, 1}, 1}, // LeNet's second layer: 8 + 3 images
		{[]int{5, 4, 9, 8}, []int{6, 2, 3, 2}, [2]int{2, 1}, 2},
		{[]int{3, 3, 7, 10}, []int{10, 3, 2, 4}, [2]int{1, 2}, 1},
		{[]int{2, 2, 6, 6}, []int{12, 1, 3, 3}, [2]int{1, 1}, 2},
	}
	for _, c := range cases {
		g, err := NewConvGeom(c.x, c.w, [2]int{}, [2]int{}, c.dil, c.groups)
		if err != nil {
			t.Fatal(err)
		}
		if !g.wide() || g.SavesCol() {
			t.Fatalf("%+v: want a wide geometry", g)
		}
		randT := func(shape ...int) *Tensor[float64] { return RandN(rng, 0.0, 1.0, shape...) }
		x, w, b := randT(c.x...), randT(c.w...), randT(c.w[0])
		gy := randT(g.N, g.Cout, g.Ho, g.Wo)
		const alpha = 0.7
		cog, kg, howo := g.Cout/g.Groups, g.ColRows()/g.Groups, g.Ho*g.Wo
		chw := g.C * g.H * g.W
		// Definitions, from the im2col matrix of each image.
		wantY := make([]float64, g.N*g.Cout*howo)
		wantDW := make([]float64, g.Cout*kg)
		dw0 := randT(c.w...)
		for i := range wantDW {
			wantDW[i] = 0.5 * dw0.Data()[i]
		}
		wantDX := make([]float64, g.N*chw)
		for n := 0; n < g.N; n++ {
			col := naiveIm2Col(x.Data()[n*chw:(n+1)*chw], g)
			dcol := make([]float64, g.ColLen())
			for co := 0; co < g.Cout; co++ {
				r0 := (co / cog) * kg
				for p := 0; p < howo; p++ {
					s := 0.0
					for k := 0; k < kg; k++ {
						s += w.Data()[co*kg+k] * col[(r0+k)*howo+p]
					}
					wantY[(n*g.Cout+co)*howo+p] = alpha*s + b.Data()[co]
					gv := gy.Data()[(n*g.Cout+co)*howo+p]
					for k := 0; k < kg; k++ {
						wantDW[co*kg+k] += alpha * gv * col[(r0+k)*howo+p]
						dcol[(r0+k)*howo+p] += alpha * w.Data()[co*kg+k] * gv
					}
				}
			}
			Col2Im(wantDX[n*chw:(n+1)*chw], dcol, g)
		}
		check := func(what string, got, want []float64) {
			t.Helper()
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) {
					t.Fatalf("%+v: %s[%d] = %v, want %v", g, what, i, got[i], want[i])
				}
			}
		}
		y := New[float64](g.N, g.Cout, g.Ho, g.Wo)
		Conv2DInto(y, x, w, alpha, Epilogue[float64]{Bias: b}, g, nil)
		check("y", y.Data(), wantY)
		dx := New[float64](c.x...)
		for i := range dx.Data() {
			dx.Data()[i] = math.NaN() // must be overwritten
		}
		Conv2DInputGradInto(dx, gy, w, alpha, g)
		check("dx", dx.Data(), wantDX)
		Conv2DWeightGradInto(dw0, x, gy, alpha, 0.5, g, nil)
		check("dw", dw0.Data(), wantDW)
	}
}
