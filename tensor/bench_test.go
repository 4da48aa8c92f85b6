package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func BenchmarkAddInto(b *testing.B) {
	for _, n := range []int{1 << 10, 1 << 16, 1 << 20} {
		rng := rand.New(rand.NewPCG(1, 1))
		rows := n / 256
		x, y := RandN(rng, float32(0), 1, rows, 256), RandN(rng, float32(0), 1, rows, 256)
		row, col := RandN(rng, float32(0), 1, 256), RandN(rng, float32(0), 1, rows, 1)
		dst := New[float32](rows, 256)
		for _, c := range []struct {
			name string
			y    *Tensor[float32]
		}{{"same", y}, {"row", row}, {"col", col}} {
			b.Run(fmt.Sprintf("%s/n=%d", c.name, n), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(3 * 4 * n))
				for b.Loop() {
					AddInto(dst, x, c.y)
				}
			})
		}
	}
}

func BenchmarkExpInto(b *testing.B) {
	for _, n := range []int{1 << 10, 1 << 16, 1 << 20} {
		rng := rand.New(rand.NewPCG(1, 1))
		x32, d32 := RandN(rng, float32(0), 1, n), New[float32](n)
		x64, d64 := RandN(rng, 0.0, 1.0, n), New[float64](n)
		b.Run(fmt.Sprintf("f32/n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(2 * 4 * n))
			for b.Loop() {
				ExpInto(d32, x32)
			}
		})
		b.Run(fmt.Sprintf("f64/n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(2 * 8 * n))
			for b.Loop() {
				ExpInto(d64, x64)
			}
		})
	}
}

// BenchmarkMatMulInto reports GFLOPS (2mnk per product) for square sizes
// and for the MLP layer shape 128x784 times 784x512 with a fused bias+ReLU.
func BenchmarkMatMulInto(b *testing.B) {
	type shape struct{ m, n, k int }
	for _, s := range []shape{{64, 64, 64}, {256, 256, 256}, {512, 512, 512}, {128, 512, 784}} {
		benchMatMul[float32](b, "f32", s.m, s.n, s.k)
		benchMatMul[float64](b, "f64", s.m, s.n, s.k)
	}
}

func benchMatMul[T Float](b *testing.B, name string, m, n, k int) {
	rng := rand.New(rand.NewPCG(1, 1))
	x, w := RandN(rng, T(0), 1, m, k), RandN(rng, T(0), 1, n, k)
	bias, dst := RandN(rng, T(0), 1, n), New[T](m, n)
	ep := Epilogue[T]{Bias: bias, Act: ReLU}
	b.Run(fmt.Sprintf("%s/%dx%dx%d", name, m, n, k), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			MatMulInto(dst, x, w, false, true, 1, 0, ep)
		}
		b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
	})
}

func BenchmarkSumAxisInto(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := RandN(rng, float32(0), 1, 512, 512)
	d0, d1 := New[float32](512), New[float32](512)
	b.Run("axis0", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			SumAxisInto(d0, x, 0)
		}
	})
	b.Run("axis1", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			SumAxisInto(d1, x, 1)
		}
	})
}
