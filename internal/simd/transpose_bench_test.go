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
// run, since the machine is shared.
func BenchmarkTranspose(b *testing.B) {
	for _, s := range transposeBenchShapes {
		for _, name := range Tiers() {
			tbl := newTable(name)
			b.Run(fmt.Sprintf("f32/%dx%d/%s", s.rows, s.cols, name), func(b *testing.B) {
				benchTranspose(b, tbl.t32, s.rows, s.cols, s.ld, s.lds)
			})
			b.Run(fmt.Sprintf("f64/%dx%d/%s", s.rows, s.cols, name), func(b *testing.B) {
				benchTranspose(b, tbl.t64, s.rows, s.cols, s.ld, s.lds)
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

// TestTransposeSpeedup reports, for each SIMD tier, its speed relative to
// transposeGeneric on the benchmark shapes. The ratio of two measurements
// taken back to back, alternating, is robust to the shared machine's load;
// absolute times are not. It is informational (it never fails) and runs
// only with -v and without -short.
func TestTransposeSpeedup(t *testing.T) {
	if testing.Short() || !testing.Verbose() {
		t.Skip("informational; run with -v and without -short")
	}
	gen := newTable(TierGeneric)
	for _, name := range Tiers() {
		if name == TierGeneric {
			continue
		}
		tbl := newTable(name)
		for _, s := range transposeBenchShapes {
			r32 := transposeRatio(gen.t32, tbl.t32, s.rows, s.cols, s.ld, s.lds)
			r64 := transposeRatio(gen.t64, tbl.t64, s.rows, s.cols, s.ld, s.lds)
			t.Logf("%-7s %2dx%d ld=%d lds=%d: f32 %.2fx, f64 %.2fx faster than generic", name, s.rows, s.cols, s.ld, s.lds, r32, r64)
		}
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
