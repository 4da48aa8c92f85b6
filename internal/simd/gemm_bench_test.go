package simd

import (
	"fmt"
	"testing"
)

// BenchmarkGemm reports GFLOPS of the tier in use (GRADFLOW_SIMD selects
// another) for square sizes and the products of an MLP training step. Run
// with -cpu 1,2 to see the thread scaling.
func BenchmarkGemm(b *testing.B) {
	type shape struct {
		name           string
		m, n, k        int
		transA, transB bool
	}
	shapes := []shape{
		{"sq256", 256, 256, 256, false, false},
		{"sq1024", 1024, 1024, 1024, false, false},
		{"fwd128x784x512", 128, 512, 784, false, true},
		{"dX128x784x512", 128, 784, 512, false, false},
		{"dW128x784x512", 512, 784, 128, true, false},
		{"fwd32x64x128", 32, 128, 64, false, true},
	}
	for _, s := range shapes {
		b.Run(fmt.Sprintf("f32/%s", s.name), func(b *testing.B) { benchGemm[float32](b, s.m, s.n, s.k, s.transA, s.transB) })
		b.Run(fmt.Sprintf("f64/%s", s.name), func(b *testing.B) { benchGemm[float64](b, s.m, s.n, s.k, s.transA, s.transB) })
	}
}

func benchGemm[T Float](b *testing.B, m, n, k int, transA, transB bool) {
	a, bb, c := make([]T, m*k), make([]T, k*n), make([]T, m*n)
	for i := range a {
		a[i] = T(i%7) - 3
	}
	for i := range bb {
		bb[i] = T(i%5) - 2
	}
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	b.ReportAllocs()
	for b.Loop() {
		Gemm(transA, transB, m, n, k, 1, a, lda, bb, ldb, 0, c, n, Epilogue[T]{})
	}
	b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
}

// BenchmarkPackMLP measures the packing of the operands of a 784-512-512-10
// training step at batch 128 (f32, K blocks of 160), one sub-benchmark per
// operand; el/ns counts the elements of the stored operand.
func BenchmarkPackMLP(b *testing.B) {
	cases := []struct {
		name        string
		isA, trans  bool
		rows, cols  int // the stored operand
		mn, k, mrnr int
	}{
		{"fwd/A=X", true, false, 128, 784, 128, 784, 8},
		{"fwd/B=W^T", false, true, 512, 784, 512, 784, 32},
		{"dW/A=dZ^T", true, true, 128, 512, 512, 128, 8},
		{"dW/B=X", false, false, 128, 784, 784, 128, 32},
		{"dX/B=W", false, false, 512, 784, 784, 512, 32},
	}
	for _, c := range cases {
		src := make([]float32, c.rows*c.cols)
		const kc = 160
		dst := make([]float32, (c.mn+32)*kc)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for pc := 0; pc < c.k; pc += kc {
					k := min(kc, c.k-pc)
					if c.isA {
						packA(c.trans, src, c.cols, 0, c.mn, pc, k, c.mrnr, dst)
					} else {
						packB(c.trans, src, c.cols, pc, k, 0, c.mn, c.mrnr, dst)
					}
				}
			}
			b.ReportMetric(float64(c.rows*c.cols)*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "el/ns")
		})
	}
}
