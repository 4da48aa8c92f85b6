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
