package simd

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Benchmarks of the vector kernels per tier, element type and size:
// 1K elements stay in L1, 64K in L2, 4M go to memory.
//
// b.SetBytes counts every byte a kernel must move: the bytes it reads plus
// the bytes it writes (add: x, y and dst; axpy: x and y read, y written;
// dot: x and y; exp, tanh, sigmoid: x and dst). op=copy moves two bytes per
// byte of one slice with the built-in copy (one slice read, one written),
// the memory bandwidth a streaming kernel can hope for; so for one type and
// size, copy's MB/s over a kernel's MB/s says how far the kernel is from
// memory bandwidth. The names are key=value pairs for benchstat:
//
//	go test -run '^$' -bench 'Vec/op=(copy|add|axpy|exp)/type=f32/n=4M' -count 5 ./internal/simd > out.txt
//	benchstat -col /tier out.txt     # tiers side by side
//	benchstat -col /op out.txt       # kernels next to copy

var benchSizes = []struct {
	name string
	n    int
}{{"1K", 1 << 10}, {"64K", 64 << 10}, {"4M", 4 << 20}}

func BenchmarkVec(b *testing.B) {
	benchVec[float32](b, "f32")
	benchVec[float64](b, "f64")
}

func benchVec[T Float](b *testing.B, dt string) {
	for _, size := range benchSizes {
		n := size.n
		rng := rand.New(rand.NewPCG(1, uint64(n)))
		x, y, dst := make([]T, n), make([]T, n), make([]T, n)
		for i := range x {
			// |x| < 8: no overflow, denormal or special value in any kernel.
			x[i] = T(rng.Float64()*16 - 8)
			y[i] = T(rng.Float64()*2 - 1)
			dst[i] = 1 // fault the pages in before timing
		}
		elem := int64(len(x)) * int64(sizeOf[T]())
		b.Run(fmt.Sprintf("op=copy/type=%s/n=%s", dt, size.name), func(b *testing.B) {
			b.SetBytes(2 * elem)
			b.ReportAllocs()
			for b.Loop() {
				copy(dst, x)
			}
		})
		for _, tier := range allTiers {
			if !tierSupported(tier) {
				continue
			}
			k := vecOf[T](newTable(tier))
			alpha := T(1e-3)
			kernels := []struct {
				name  string
				bytes int64
				run   func()
			}{
				{"axpy", 3 * elem, func() { k.axpy(alpha, x, y) }},
				{"dot", 2 * elem, func() { sinkT = float64(k.dot(x, y)) }},
				{"add", 3 * elem, func() { k.add(dst, x, y) }},
				{"exp", 2 * elem, func() { k.exp(dst, x) }},
				{"tanh", 2 * elem, func() { k.tanh(dst, x) }},
				{"sigmoid", 2 * elem, func() { k.sigmoid(dst, x) }},
			}
			for _, kk := range kernels {
				b.Run(fmt.Sprintf("op=%s/type=%s/n=%s/tier=%s", kk.name, dt, size.name, tier), func(b *testing.B) {
					b.SetBytes(kk.bytes)
					b.ReportAllocs()
					for b.Loop() {
						kk.run()
					}
				})
			}
		}
	}
}

// sinkT keeps dot results alive.
var sinkT float64

func sizeOf[T Float]() int {
	if isF32[T]() {
		return 4
	}
	return 8
}
