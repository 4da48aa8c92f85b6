package simd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// naiveGemm is the float64 triple loop every path is checked against.
func naiveGemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int, bias []float64, act Activation) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				ai, bi := i*lda+p, p*ldb+j
				if transA {
					ai = p*lda + i
				}
				if transB {
					bi = j*ldb + p
				}
				av, bv := a[ai], b[bi]
				s += av * bv
			}
			v := alpha * s
			if beta != 0 {
				v += beta * c[i*ldc+j]
			}
			if bias != nil {
				v += bias[j]
			}
			if act == ActReLU && v < 0 {
				v = 0
			}
			c[i*ldc+j] = v
		}
	}
}

type gemmCase struct {
	transA, transB bool
	m, n, k        int
	ldPad          int // extra leading-dimension padding (odd leading dimensions)
	alpha, beta    float64
	bias           bool
	act            Activation
}

func (g gemmCase) String() string {
	return fmt.Sprintf("tA=%v tB=%v m=%d n=%d k=%d pad=%d alpha=%g beta=%g bias=%v act=%d",
		g.transA, g.transB, g.m, g.n, g.k, g.ldPad, g.alpha, g.beta, g.bias, g.act)
}

// operands builds random A, B, C (with padding filled with NaN, so reading
// outside the matrix shows up) and returns them with their leading dims.
func (g gemmCase) operands(rng *rand.Rand) (a []float64, lda int, b []float64, ldb int, c []float64, ldc int, bias []float64) {
	ar, ac := g.m, g.k
	if g.transA {
		ar, ac = g.k, g.m
	}
	br, bc := g.k, g.n
	if g.transB {
		br, bc = g.n, g.k
	}
	fill := func(r, cols, pad int) ([]float64, int) {
		ld := cols + pad
		if ld == 0 {
			ld = 1
		}
		s := make([]float64, max(r*ld, 1))
		for i := range s {
			if i%ld < cols {
				s[i] = rng.Float64()*2 - 1
			} else {
				s[i] = math.NaN()
			}
		}
		return s, ld
	}
	a, lda = fill(ar, ac, g.ldPad)
	b, ldb = fill(br, bc, g.ldPad)
	c, ldc = fill(g.m, g.n, g.ldPad)
	if g.beta == 0 {
		for i := range c {
			if i%ldc < g.n {
				c[i] = math.NaN() // beta == 0 must not read C
			}
		}
	}
	if g.bias {
		bias = make([]float64, g.n)
		for i := range bias {
			bias[i] = rng.Float64() - 0.5
		}
	}
	return
}

func conv[U, T Float](s []T) []U {
	out := make([]U, len(s))
	for i, v := range s {
		out[i] = U(v)
	}
	return out
}

// checkGemmCase runs one case in T and compares with the float64 reference.
// Tolerance: each entry is a sum of k products of numbers in [-1,1], so its
// rounding error is at most about k*eps*(sum |a||b|) <= k^2*eps... in
// practice blocked summation keeps it near sqrt(k)*eps; we allow
// 4*(k+2)*eps*(|alpha|*k + |beta| + 1), which no correct summation order
// exceeds and a wrong element (a missed or doubled product, magnitude ~1/k
// of the entry at least 1e-3) always does.
func checkGemmCase[T Float](t *testing.T, g gemmCase, rng *rand.Rand) {
	t.Helper()
	a, lda, b, ldb, c, ldc, bias := g.operands(rng)
	want := append([]float64(nil), c...)
	naiveGemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, want, ldc, bias, g.act)
	ct := conv[T](c)
	var ep Epilogue[T]
	if bias != nil {
		ep.Bias = conv[T](bias)
	}
	ep.Act = g.act
	Gemm(g.transA, g.transB, g.m, g.n, g.k, T(g.alpha), conv[T](a), lda, conv[T](b), ldb, T(g.beta), ct, ldc, ep)
	eps := 0x1p-52
	if isF32[T]() {
		eps = 0x1p-23
	}
	tol := 4 * float64(g.k+2) * eps * (math.Abs(g.alpha)*float64(g.k) + math.Abs(g.beta) + 1)
	for i := 0; i < g.m; i++ {
		for j := 0; j < g.n; j++ {
			got, w := float64(ct[i*ldc+j]), want[i*ldc+j]
			if !(math.Abs(got-w) <= tol) {
				t.Fatalf("%v: C[%d,%d] = %v, want %v (tol %g)", g, i, j, got, w, tol)
			}
		}
		for j := g.n; j < ldc && i*ldc+j < len(ct); j++ {
			if !math.IsNaN(float64(ct[i*ldc+j])) {
				t.Fatalf("%v: padding C[%d,%d] was written", g, i, j)
			}
		}
	}
}

// forEachTier runs f with every tier this CPU supports bound.
func forEachTier(t *testing.T, f func(t *testing.T)) {
	for _, name := range Tiers() {
		t.Run(name, func(t *testing.T) {
			restore, err := SetTier(name)
			if err != nil {
				t.Skip(err)
			}
			defer restore()
			f(t)
		})
	}
}

// TestGemmShapes straddles MR, NR, KC, MC and NC with small blocking so that
// every loop and edge path runs, for all transposes, alpha/beta, epilogues
// and padded leading dimensions, on every tier.
func TestGemmShapes(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		k32, k64 := kernelFor[float32](), kernelFor[float64]()
		restore := SetBlocking(Blocking{KC: 24, MC: 2 * max(k32.mr, k64.mr), NC: 2 * max(k32.nr, k64.nr)})
		defer restore()
		rng := rand.New(rand.NewPCG(1, 2))
		dims := []int{1, 2, 3, 5, 7, 13, 17, 31, 33, 47, 64, 65}
		if testing.Short() {
			dims = []int{1, 3, 7, 17, 33, 65}
		}
		n := 0
		for _, m := range dims {
			for _, nn := range dims {
				for _, k := range []int{1, 7, 23, 24, 25, 49, 100} {
					g := gemmCase{
						transA: n%2 == 1, transB: n/2%2 == 1,
						m: m, n: nn, k: k, ldPad: n % 3,
						alpha: []float64{1, -0.5, 2}[n%3], beta: []float64{0, 1, 0.25, -1}[n%4],
						bias: n%5 < 2, act: Activation(n / 3 % 2),
					}
					n++
					checkGemmCase[float32](t, g, rng)
					checkGemmCase[float64](t, g, rng)
				}
			}
		}
	})
}

// TestGemmDefaultBlocking runs sizes beyond the real KC/MC with the derived
// blocking, in both dtypes and all transposes.
func TestGemmDefaultBlocking(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		sizes := [][3]int{{257, 263, 601}, {1031, 97, 129}, {8, 1001, 515}}
		if testing.Short() {
			sizes = [][3]int{{37, 45, 530}} // still more than one KC block
		}
		for _, s := range sizes {
			for tr := 0; tr < 4; tr++ {
				g := gemmCase{transA: tr&1 == 1, transB: tr&2 == 2, m: s[0], n: s[1], k: s[2], ldPad: 3,
					alpha: 1.5, beta: 0.5, bias: true, act: ActReLU}
				checkGemmCase[float32](t, g, rng)
				checkGemmCase[float64](t, g, rng)
			}
		}
	})
}

// TestGemmDegenerate covers k == 0, alpha == 0 and empty outputs.
func TestGemmDegenerate(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, g := range []gemmCase{
		{m: 3, n: 4, k: 0, alpha: 1, beta: 0.5, bias: true, act: ActReLU},
		{m: 3, n: 4, k: 5, alpha: 0, beta: 2},
		{m: 3, n: 4, k: 0, alpha: 1, beta: 0},
		{m: 0, n: 4, k: 5, alpha: 1, beta: 1},
		{m: 4, n: 0, k: 5, alpha: 1, beta: 1},
	} {
		checkGemmCase[float64](t, g, rng)
	}
}

func TestGemmPanics(t *testing.T) {
	mustPanic := func(name, want string, f func()) {
		t.Helper()
		defer func() {
			r := recover()
			if r == nil {
				t.Fatalf("%s: no panic", name)
			}
			if msg := fmt.Sprint(r); !containsAll(msg, want) {
				t.Fatalf("%s: panic %q does not mention %q", name, msg, want)
			}
		}()
		f()
	}
	a := make([]float64, 6)
	mustPanic("short A", "A is 2x4", func() {
		Gemm(false, false, 2, 2, 4, 1, a, 4, make([]float64, 8), 2, 0, make([]float64, 4), 2, Epilogue[float64]{})
	})
	mustPanic("lda", "leading dimension is 2", func() {
		Gemm(false, false, 2, 2, 3, 1, a, 2, make([]float64, 6), 2, 0, make([]float64, 4), 2, Epilogue[float64]{})
	})
	mustPanic("bias", "bias has length 3", func() {
		Gemm(false, false, 2, 2, 3, 1, a, 3, make([]float64, 6), 2, 0, make([]float64, 4), 2, Epilogue[float64]{Bias: make([]float64, 3)})
	})
	mustPanic("negative", "negative dimension", func() { Gemm(false, false, -1, 2, 3, 1, a, 3, a, 2, 0, a, 2, Epilogue[float64]{}) })
}

func containsAll(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestGemmDeterministicAcrossThreads: the same product with GOMAXPROCS 1
// and 2 (and an odd 3) must agree bit for bit, for shapes that take the
// packed and the unpacked paths.
func TestGemmDeterministicAcrossThreads(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		// Force every product onto several workers, whatever its size.
		prev, prevPinned := minParallelFlops, minPinnedFlops
		minParallelFlops, minPinnedFlops = 0, 0
		defer func() { minParallelFlops, minPinnedFlops = prev, prevPinned }()
		sizes := [][3]int{{300, 310, 330}, {128, 512, 784}, {3, 5000, 300}, {700, 2, 900}, {128, 10, 512}}
		if testing.Short() {
			sizes = [][3]int{{70, 90, 200}, {3, 300, 50}, {90, 2, 70}}
		}
		for _, s := range sizes {
			for tr := 0; tr < 4; tr++ {
				g := gemmCase{transA: tr&1 == 1, transB: tr&2 == 2, m: s[0], n: s[1], k: s[2], alpha: 1, beta: 0.5, bias: true, act: ActReLU}
				a, lda, b, ldb, c, ldc, bias := g.operands(rng)
				a32, b32, bias32 := conv[float32](a), conv[float32](b), conv[float32](bias)
				var ref []float32
				for _, sp := range []Split{SplitAuto, SplitRows, SplitCols} {
					for _, procs := range []int{1, 2, 3} {
						prev := runtime.GOMAXPROCS(procs)
						c32 := conv[float32](c)
						Gemm(g.transA, g.transB, g.m, g.n, g.k, 1, a32, lda, b32, ldb, 0.5, c32, ldc, Epilogue[float32]{Bias: bias32, Act: ActReLU, Split: sp})
						runtime.GOMAXPROCS(prev)
						if ref == nil {
							ref = c32
							continue
						}
						for i := range ref {
							if math.Float32bits(ref[i]) != math.Float32bits(c32[i]) && !(ref[i] != ref[i] && c32[i] != c32[i]) {
								t.Fatalf("%v: split %d, GOMAXPROCS=%d differs at %d: %v vs %v", g, sp, procs, i, c32[i], ref[i])
							}
						}
					}
				}
			}
		}
	})
}

// TestShare: the shares of SplitRows/SplitCols cover [0, n) in order,
// without overlap, with inner boundaries on multiples of both MR and NR.
func TestShare(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		for _, f32 := range []bool{true, false} {
			share, k := Share[float64], kernelFor[float64]()
			unit := lcm(k.mr, k.nr)
			if f32 {
				k32 := kernelFor[float32]()
				share, unit = Share[float32], lcm(k32.mr, k32.nr)
			}
			for _, n := range []int{0, 1, 10, 31, 32, 33, 100, 512, 784, 1000} {
				for _, parts := range []int{1, 2, 3, 4, 7} {
					next := 0
					for p := 0; p < parts; p++ {
						lo, hi := share(n, parts, p)
						if lo != next || hi < lo || hi > n {
							t.Fatalf("f32=%v n=%d parts=%d: share %d is [%d, %d), want it to start at %d", f32, n, parts, p, lo, hi, next)
						}
						if hi < n && hi%unit != 0 {
							t.Fatalf("f32=%v n=%d parts=%d: share %d ends at %d, not a multiple of %d", f32, n, parts, p, hi, unit)
						}
						next = hi
					}
					if next != n {
						t.Fatalf("f32=%v n=%d parts=%d: shares end at %d", f32, n, parts, next)
					}
				}
			}
		}
	})
}

// TestGemmNoAllocs: steady-state calls allocate nothing, packed or not,
// parallel or not.
func TestGemmNoAllocs(t *testing.T) {
	prev := minParallelFlops
	defer func() { minParallelFlops = prev }()
	minParallelFlops = 1 << 20 // the first shape runs split, the others not
	for _, s := range [][3]int{{128, 512, 784}, {2, 300, 200}, {32, 128, 64}} {
		m, n, k := s[0], s[1], s[2]
		a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		bias := make([]float32, n)
		for _, sp := range []Split{SplitAuto, SplitRows, SplitCols, SplitK} {
			f := func() {
				Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n, Epilogue[float32]{Bias: bias, Act: ActReLU, Split: sp})
			}
			f()
			if got := testing.AllocsPerRun(20, f); got != 0 {
				t.Errorf("%dx%dx%d split %d: %v allocs per call", m, n, k, sp, got)
			}
		}
	}
}

// TestGemmSplitK: SplitK agrees with the float64 reference, gives the same
// bits for GOMAXPROCS 1, 2 and 3 (the division of K is fixed by the
// shape), leaves the padding of C alone, and computes products it does not
// divide (k < splitKMin, or with an epilogue) exactly as SplitCols does.
func TestGemmSplitK(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		prev := minPinnedFlops
		minPinnedFlops = 0 // divide every product
		defer func() { minPinnedFlops = prev }()
		sizes := [][3]int{{128, 512, 512}, {70, 90, 200}, {3, 300, 130}, {33, 7, 128}, {50, 40, 127}}
		if testing.Short() {
			sizes = [][3]int{{70, 90, 200}, {33, 7, 128}, {50, 40, 127}}
		}
		for _, s := range sizes {
			for tr := 0; tr < 4; tr++ {
				for _, beta := range []float64{0, 0.5} {
					g := gemmCase{transA: tr&1 == 1, transB: tr&2 == 2, m: s[0], n: s[1], k: s[2], ldPad: 3, alpha: 1.5, beta: beta}
					a, lda, b, ldb, c, ldc, _ := g.operands(rng)
					want := append([]float64(nil), c...)
					naiveGemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, want, ldc, nil, ActIdentity)
					a32, b32 := conv[float32](a), conv[float32](b)
					var ref []float32
					for _, procs := range []int{1, 2, 3} {
						prevProcs := runtime.GOMAXPROCS(procs)
						c32 := conv[float32](c)
						Gemm(g.transA, g.transB, g.m, g.n, g.k, 1.5, a32, lda, b32, ldb, float32(beta), c32, ldc, Epilogue[float32]{Split: SplitK})
						runtime.GOMAXPROCS(prevProcs)
						if ref == nil {
							ref = c32
							for i := 0; i < g.m; i++ {
								for j := 0; j < ldc; j++ {
									got, w := float64(c32[i*ldc+j]), want[i*ldc+j]
									if j >= g.n {
										if got == got {
											t.Fatalf("%v: padding C[%d][%d] = %v, want it untouched (NaN)", g, i, j, got)
										}
										continue
									}
									if math.Abs(got-w) > 1e-4*(1+math.Abs(w))*math.Sqrt(float64(g.k)) {
										t.Fatalf("%v: C[%d][%d] = %v, want %v", g, i, j, got, w)
									}
								}
							}
							continue
						}
						for i := range ref {
							if math.Float32bits(ref[i]) != math.Float32bits(c32[i]) && !(ref[i] != ref[i] && c32[i] != c32[i]) {
								t.Fatalf("%v: GOMAXPROCS=%d differs at %d: %v vs %v", g, procs, i, c32[i], ref[i])
							}
						}
					}
					// Below splitKMin, SplitK is SplitCols, bit for bit.
					if g.k < splitKMin {
						c32 := conv[float32](c)
						Gemm(g.transA, g.transB, g.m, g.n, g.k, 1.5, a32, lda, b32, ldb, float32(beta), c32, ldc, Epilogue[float32]{Split: SplitCols})
						for i := range ref {
							if math.Float32bits(ref[i]) != math.Float32bits(c32[i]) && !(ref[i] != ref[i] && c32[i] != c32[i]) {
								t.Fatalf("%v: SplitK below splitKMin differs from SplitCols at %d", g, i)
							}
						}
					}
				}
			}
		}
		// Steady-state calls allocate nothing (the partial sum is kept).
		{
			a, b, c := make([]float32, 128*256), make([]float32, 256*96), make([]float32, 128*96)
			f := func() { Gemm(false, false, 128, 96, 256, 1, a, 256, b, 96, 0, c, 96, Epilogue[float32]{Split: SplitK}) }
			f()
			if got := testing.AllocsPerRun(20, f); got != 0 {
				t.Errorf("SplitK: %v allocs per call", got)
			}
		}
		// With an epilogue SplitK is SplitCols.
		g := gemmCase{m: 64, n: 96, k: 256, alpha: 1, beta: 0.5, bias: true, act: ActReLU}
		a, lda, b, ldb, c, ldc, bias := g.operands(rng)
		a32, b32, bias32 := conv[float32](a), conv[float32](b), conv[float32](bias)
		ck, cc := conv[float32](c), conv[float32](c)
		Gemm(false, false, g.m, g.n, g.k, 1, a32, lda, b32, ldb, 0.5, ck, ldc, Epilogue[float32]{Bias: bias32, Act: ActReLU, Split: SplitK})
		Gemm(false, false, g.m, g.n, g.k, 1, a32, lda, b32, ldb, 0.5, cc, ldc, Epilogue[float32]{Bias: bias32, Act: ActReLU, Split: SplitCols})
		for i := range ck {
			if math.Float32bits(ck[i]) != math.Float32bits(cc[i]) && !(ck[i] != ck[i] && cc[i] != cc[i]) {
				t.Fatalf("SplitK with an epilogue differs from SplitCols at %d", i)
			}
		}
	})
}
