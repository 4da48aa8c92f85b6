package simd

import (
	"fmt"
	"testing"
	"time"
)

// transposeBenchShapes are the packing transposes of the MLP forward pass
// (B^T panels of NR rows, A panels of MR rows) with kc = 256 and a source
// leading dimension of 784 (an MNIST-sized input layer).
var transposeBenchShapes = []struct {
	rows, cols, ld, lds int
}{
	{32, 256, 32, 784},
	{16, 256, 16, 784},
	{8, 256, 8, 784},
	{6, 256, 6, 784},
}

// BenchmarkTranspose measures each tier's transposes on the packing shapes.
// b.SetBytes counts the bytes moved once (rows*cols elements), so MB/s is
// comparable across tiers; run it with -count and compare tiers within one
// run, since the machine is shared. For the SIMD tiers it also reports
// x-generic, the speed relative to the generic kernel measured back to back
// and alternating (see transposeRatio), which the machine's load affects
// far less than MB/s.
func BenchmarkTranspose(b *testing.B) {
	gen := newTable(TierGeneric)
	for _, s := range transposeBenchShapes {
		for _, name := range Tiers() {
			tbl := newTable(name)
			b.Run(fmt.Sprintf("f32/%dx%d/%s", s.rows, s.cols, name), func(b *testing.B) {
				benchTranspose(b, tbl.t32, s.rows, s.cols, s.ld, s.lds)
				if name != TierGeneric {
					b.ReportMetric(transposeRatio(gen.t32, tbl.t32, s.rows, s.cols, s.ld, s.lds), "x-generic")
				}
			})
			b.Run(fmt.Sprintf("f64/%dx%d/%s", s.rows, s.cols, name), func(b *testing.B) {
				benchTranspose(b, tbl.t64, s.rows, s.cols, s.ld, s.lds)
				if name != TierGeneric {
					b.ReportMetric(transposeRatio(gen.t64, tbl.t64, s.rows, s.cols, s.ld, s.lds), "x-generic")
				}
			})
		}
	}
}

func benchTranspose[T Float](b *testing.B, kernel func([]T, int, []T, int, int, int), rows, cols, ld, lds int) {
	src := make([]T, (rows-1)*lds+cols)
	for i := range src {
		src[i] = T(i)
	}
	dst := make([]T, (cols-1)*ld+rows)
	b.SetBytes(int64(rows * cols * sizeOf[T]()))
	b.ReportAllocs()
	for b.Loop() {
		kernel(dst, ld, src, lds, rows, cols)
	}
}

// transposeRatio returns time(base)/time(fast), each the best of several
// alternating rounds.
func transposeRatio[T Float](base, fast func([]T, int, []T, int, int, int), rows, cols, ld, lds int) float64 {
	src := make([]T, (rows-1)*lds+cols)
	dst := make([]T, (cols-1)*ld+rows)
	const n = 2000
	round := func(k func([]T, int, []T, int, int, int)) time.Duration {
		t0 := time.Now()
		for range n {
			k(dst, ld, src, lds, rows, cols)
		}
		return time.Since(t0)
	}
	tb, tf := time.Duration(1<<62), time.Duration(1<<62)
	for range 15 {
		tb = min(tb, round(base))
		tf = min(tf, round(fast))
	}
	return float64(tb) / float64(tf)
}
