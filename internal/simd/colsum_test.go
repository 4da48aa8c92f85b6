package simd

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMaskPositiveColSum checks every tier's fused ReLU backward against
// MaskPositive row by row followed by a row-by-row column sum with Add,
// bit for bit, over column counts around the vector lengths (body and
// tail), one to many rows, padded strides, and y holding zeros, negative
// zeros, NaNs and infinities. Elements of dz between the rows (the stride
// padding) and past the sums must keep their values.
func TestMaskPositiveColSum(t *testing.T) {
	for _, name := range Tiers() {
		restore, err := SetTier(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name+"/f32", func(t *testing.T) { testMaskPositiveColSum[float32](t) })
		t.Run(name+"/f64", func(t *testing.T) { testMaskPositiveColSum[float64](t) })
		restore()
	}
}

func testMaskPositiveColSum[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	specials := []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), 1e-40}
	val := func() T {
		if rng.IntN(8) == 0 {
			return T(specials[rng.IntN(len(specials))])
		}
		return T(rng.NormFloat64())
	}
	same := func(a, b T) bool { return a == b || a != a && b != b }
	for _, rows := range []int{1, 2, 3, 7, 128} {
		for cols := 1; cols <= 70; cols++ {
			for _, pad := range []int{0, 3} {
				ld := cols + pad
				n := (rows-1)*ld + cols
				g, y := make([]T, n), make([]T, n)
				for i := range g {
					g[i], y[i] = val(), val()
				}
				dz := make([]T, n+5)
				for i := range dz {
					dz[i] = 42
				}
				sum := make([]T, cols+5)
				for i := range sum {
					sum[i] = 42
				}
				wantDz := append([]T(nil), dz...)
				wantSum := append([]T(nil), sum...)
				for r := 0; r < rows; r++ {
					o := r * ld
					MaskPositive(wantDz[o:o+cols], g[o:o+cols], y[o:o+cols])
				}
				copy(wantSum[:cols], wantDz[:cols])
				for r := 1; r < rows; r++ {
					Add(wantSum[:cols], wantSum[:cols], wantDz[r*ld:r*ld+cols])
				}
				MaskPositiveColSum(dz[:n], g, y, ld, rows, cols, sum[:cols])
				for i := range dz {
					if !same(dz[i], wantDz[i]) || math.Signbit(float64(dz[i])) != math.Signbit(float64(wantDz[i])) {
						t.Fatalf("rows %d cols %d ld %d: dz[%d] = %v, want %v", rows, cols, ld, i, dz[i], wantDz[i])
					}
				}
				for j := range sum {
					if !same(sum[j], wantSum[j]) {
						t.Fatalf("rows %d cols %d ld %d: sum[%d] = %v, want %v", rows, cols, ld, j, sum[j], wantSum[j])
					}
				}
			}
		}
	}
}

func TestMaskPositiveColSumPanics(t *testing.T) {
	x := make([]float32, 10)
	for _, f := range []func(){
		func() { MaskPositiveColSum(x, x, x, 5, 0, 5, x) },     // no rows
		func() { MaskPositiveColSum(x, x, x, 5, 3, 5, x) },     // 15 elements needed
		func() { MaskPositiveColSum(x, x, x, 4, 2, 5, x) },     // cols > ld
		func() { MaskPositiveColSum(x, x, x, 5, 2, 5, x[:4]) }, // short sum
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		}()
	}
}

func BenchmarkMaskPositiveColSum(b *testing.B) {
	const rows, cols = 128, 512
	g, y, dz := make([]float32, rows*cols+40), make([]float32, rows*cols+80), make([]float32, rows*cols+120)
	g, y, dz = g[16:], y[32:], dz[48:]
	sum := make([]float32, cols)
	for i := range g {
		g[i], y[i] = float32(i%7)-3, float32(i%5)-2
	}
	b.Run("fused", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			MaskPositiveColSum(dz, g, y, cols, rows, cols, sum)
		}
	})
	b.Run("unfused", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for r := 0; r < rows; r++ {
				MaskPositive(dz[r*cols:(r+1)*cols], g[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols])
			}
			copy(sum, dz[:cols])
			for r := 1; r < rows; r++ {
				Add(sum, sum, dz[r*cols:(r+1)*cols])
			}
		}
	})
}
