package simd

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMomentumUpdate checks every tier's fused heavy-ball step bit for bit
// against Scale followed by two Axpy calls on the same tier, for lengths
// around the vector lengths and the chunk size.
func TestMomentumUpdate(t *testing.T) {
	for _, name := range Tiers() {
		restore, err := SetTier(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name+"/f32", func(t *testing.T) { testMomentumUpdate[float32](t) })
		t.Run(name+"/f64", func(t *testing.T) { testMomentumUpdate[float64](t) })
		restore()
	}
}

func testMomentumUpdate[T Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	lens := []int{0, 5000, 2048, 2049, 4095}
	for n := 1; n <= 70; n++ {
		lens = append(lens, n)
	}
	for _, n := range lens {
		x, g, b := make([]T, n), make([]T, n), make([]T, n)
		for i := range x {
			x[i], g[i], b[i] = T(rng.NormFloat64()), T(rng.NormFloat64()*1e-3), T(rng.NormFloat64()*1e-2)
		}
		wx, wb := append([]T(nil), x...), append([]T(nil), b...)
		mu, damp, negLR := T(0.9), T(0.75), T(-0.0123)
		Scale(mu, wb, wb)
		Axpy(damp, g, wb)
		Axpy(negLR, wb, wx)
		MomentumUpdate(x, g, b, mu, damp, negLR)
		for i := range x {
			if math.Float64bits(float64(x[i])) != math.Float64bits(float64(wx[i])) || math.Float64bits(float64(b[i])) != math.Float64bits(float64(wb[i])) {
				t.Fatalf("n %d: element %d: x %v b %v, want x %v b %v", n, i, x[i], b[i], wx[i], wb[i])
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("no panic for lengths that differ")
		}
	}()
	MomentumUpdate(make([]T, 3), make([]T, 3), make([]T, 2), 1, 1, 1)
}

func BenchmarkMomentumUpdate(b *testing.B) {
	const n = 1 << 14
	x, g, m := make([]float32, n), make([]float32, n), make([]float32, n)
	b.Run("fused", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			MomentumUpdate(x, g, m, 0.9, 1, -0.01)
		}
		b.ReportMetric(float64(n)*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "el/ns")
	})
	b.Run("unfused", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for lo := 0; lo < n; lo += momentumChunk {
				xc, gc, mc := x[lo:lo+momentumChunk], g[lo:lo+momentumChunk], m[lo:lo+momentumChunk]
				Scale(0.9, mc, mc)
				Axpy(1, gc, mc)
				Axpy(-0.01, mc, xc)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "el/ns")
	})
}
