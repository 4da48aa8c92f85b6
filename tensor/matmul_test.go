package tensor

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// naiveMatMul computes alpha*op(a)*op(b) + beta*c0 for 2-D operands in
// float64 with the textbook triple loop, and the bound
// sum_p |alpha*a_ip*b_pj| + |beta*c0_ij| used to scale the tolerance.
func naiveMatMul[T Float](a, b *Tensor[T], transA, transB bool, alpha, beta float64, c0 *Tensor[T]) (ref, mag []float64, m, n int) {
	// Element (i, j) of op(x), read straight from the row-major data.
	at := func(x *Tensor[T], i, j int, tr bool) float64 {
		if tr {
			return float64(x.data[j*x.shape[1]+i])
		}
		return float64(x.data[i*x.shape[1]+j])
	}
	m, k := a.Dim(0), a.Dim(1)
	if transA {
		m, k = k, m
	}
	n = b.Dim(1)
	if transB {
		n = b.Dim(0)
	}
	ref, mag = make([]float64, m*n), make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, g float64
			for p := 0; p < k; p++ {
				v := at(a, i, p, transA) * at(b, p, j, transB)
				s += v
				g += math.Abs(v)
			}
			ref[i*n+j] = alpha * s
			mag[i*n+j] = math.Abs(alpha) * g
			if beta != 0 {
				ref[i*n+j] += beta * float64(c0.At(i, j))
				mag[i*n+j] += math.Abs(beta * float64(c0.At(i, j)))
			}
		}
	}
	return ref, mag, m, n
}

// checkGemm compares got with the naive result. A dot product of length k
// computed in any order (blocked, FMA or not) satisfies
// |fl(s) - s| <= gamma_k * sum|a_p b_p| with gamma_k ~ k*eps; the tolerance
// is 2*(k+2)*eps times that magnitude, the +2 covering alpha and beta.
func checkGemm[T Float](t *testing.T, name string, got []T, ref, mag []float64, k int) {
	t.Helper()
	eps := 0x1p-52
	var z T
	if _, ok := any(z).(float32); ok {
		eps = 0x1p-23
	}
	for i := range ref {
		tol := 2 * float64(k+2) * eps * mag[i]
		if d := math.Abs(float64(got[i]) - ref[i]); !(d <= tol) {
			t.Fatalf("%s: element %d = %v, want %v (|diff| %g > tol %g)", name, i, got[i], ref[i], d, tol)
		}
	}
}

func TestMatMulHandValues(t *testing.T) {
	a := FromSlice([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	b := FromSlice([]float64{7, 8, 9, 10, 11, 12}, 3, 2)
	// [1 2 3; 4 5 6] [7 8; 9 10; 11 12] = [58 64; 139 154]
	checkData(t, "A B", MatMul(a, b, false, false), []int{2, 2}, []float64{58, 64, 139, 154})
	// A^T A = [17 22 27; 22 29 36; 27 36 45]
	checkData(t, "A^T A", MatMul(a, a, true, false), []int{3, 3}, []float64{17, 22, 27, 22, 29, 36, 27, 36, 45})
	// A A^T = [14 32; 32 77]
	checkData(t, "A A^T", MatMul(a, a, false, true), []int{2, 2}, []float64{14, 32, 32, 77})
	// A^T B^T: (3x2)(2x3) = [1 4; 2 5; 3 6] [7 9 11; 8 10 12]
	checkData(t, "A^T B^T", MatMul(a, b, true, true), []int{3, 3},
		[]float64{39, 49, 59, 54, 68, 82, 69, 87, 105})

	// Epilogue: bias then ReLU, and alpha/beta.
	c := FromSlice([]float64{1, 1, 1, 1}, 2, 2)
	ep := Epilogue[float64]{Bias: FromSlice([]float64{-100, -200}), Act: ReLU}
	// 2*[58 64; 139 154] + 3*1 + bias = [19 -69; 181 111] -> relu
	MatMulInto(c, a, b, false, false, 2, 3, ep)
	checkData(t, "epilogue", c, []int{2, 2}, []float64{19, 0, 181, 111})
	ep.Bias = FromSlice([]float64{0.5, -0.5}, 1, 2) // [1 n] is accepted too
	ep.Act = Identity
	checkData(t, "bias [1 n]", MatMulInto(nil, a, b, false, false, 1, 0, ep), []int{2, 2}, []float64{58.5, 63.5, 139.5, 153.5})

	// beta == 0 must not read dst: NaN garbage does not leak.
	d := Full(math.NaN(), 2, 2)
	checkData(t, "beta 0 ignores dst", MatMulInto(d, a, b, false, false, 1, 0, Epilogue[float64]{}), []int{2, 2},
		[]float64{58, 64, 139, 154})

	// k == 0: the empty sum is 0.
	checkData(t, "k=0", MatMul(New[float64](2, 0), New[float64](0, 3), false, false), []int{2, 3}, make([]float64, 6))
	checkData(t, "m=0", MatMul(New[float64](0, 4), New[float64](4, 3), false, false), []int{0, 3}, []float64{})

	// float32
	a32 := Convert[float32](a)
	checkData(t, "float32 A A^T", MatMul(a32, a32, false, true), []int{2, 2}, []float32{14, 32, 32, 77})
}

func TestMatMulErrors(t *testing.T) {
	a, b := New[float64](2, 3), New[float64](4, 5)
	mustPanic(t, func() { MatMul(a, b, false, false) }, "tensor.MatMul", "[2 3]", "[4 5]", "inner dimensions 3 and 4")
	mustPanic(t, func() { MatMul(a, b, true, true) }, "tensor.MatMul", "transA=true, transB=true", "inner dimensions 2 and 5")
	mustPanic(t, func() { MatMul(New[float64](3), b, false, false) }, "tensor.MatMul", "[3]", "2-D or 3-D")
	mustPanic(t, func() { MatMul(New[float64](2, 2, 3), New[float64](3, 3, 4), false, false) },
		"tensor.MatMul", "[2 2 3]", "[3 3 4]", "batch sizes differ")
	mustPanic(t, func() { MatMulInto(New[float64](2, 4), a, New[float64](3, 5), false, false, 1, 0, Epilogue[float64]{}) },
		"tensor.MatMulInto", "dst shape [2 4]", "want [2 5]")
	mustPanic(t, func() {
		MatMulInto(New[float64](2, 2, 5), a, New[float64](3, 5), false, false, 1, 0, Epilogue[float64]{})
	},
		"tensor.MatMulInto", "[2 2 5]", "want [2 5]")
	mustPanic(t, func() {
		MatMulInto(nil, a, New[float64](3, 5), false, false, 1, 0, Epilogue[float64]{Bias: New[float64](3)})
	}, "tensor.MatMulInto", "bias shape [3]", "want [5]")
	mustPanic(t, func() {
		MatMulInto(nil, a, New[float64](3, 5), false, false, 1, 0, Epilogue[float64]{Act: "swish"})
	}, "tensor.MatMulInto", `unknown activation "swish"`)
	// A valid activation the kernels cannot fuse is refused by name rather
	// than computed as identity.
	mustPanic(t, func() {
		MatMulInto(nil, a, New[float64](3, 5), false, false, 1, 0, Epilogue[float64]{Act: Tanh})
	}, "tensor.MatMulInto", `activation "tanh" cannot be fused`)
}

// TestMatMulVsNaive covers every transpose combination on shapes that
// straddle the microkernel tile and the cache blocks (1, primes, k above
// KC, and outside -short m above MC), with alpha, beta and an epilogue, in
// both precisions. The kernels themselves are tested exhaustively in
// internal/simd; this checks that tensor hands them the right operands.
func TestMatMulVsNaive(t *testing.T) {
	shapes := [][3]int{{1, 1, 1}, {1, 7, 5}, {7, 1, 5}, {3, 5, 1}, {13, 17, 19}, {31, 33, 64}, {67, 45, 129}, {130, 70, 300}}
	if !testing.Short() {
		shapes = append(shapes, [3]int{701, 37, 350})
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			testMatMulCase[float64](t, rng, m, n, k, tr[0], tr[1])
			testMatMulCase[float32](t, rng, m, n, k, tr[0], tr[1])
		}
	}
}

func testMatMulCase[T Float](t *testing.T, rng *rand.Rand, m, n, k int, transA, transB bool) {
	t.Helper()
	ashape, bshape := []int{m, k}, []int{k, n}
	if transA {
		ashape = []int{k, m}
	}
	if transB {
		bshape = []int{n, k}
	}
	a, b := RandN(rng, T(0), 1, ashape...), RandN(rng, T(0), 1, bshape...)
	ref, mag, _, _ := naiveMatMul(a, b, transA, transB, 1, 0, nil)
	got := MatMul(a, b, transA, transB)
	checkGemm(t, "MatMul", got.Data(), ref, mag, k)

	c0 := RandN(rng, T(0), 1, m, n)
	bias := RandN(rng, T(0), 1, n)
	ref, mag, _, _ = naiveMatMul(a, b, transA, transB, -0.75, 0.5, c0)
	for j := range ref {
		ref[j] += float64(bias.data[j%n])
		mag[j] += math.Abs(float64(bias.data[j%n]))
		ref[j] = math.Max(ref[j], 0)
	}
	c := c0.Clone()
	MatMulInto(c, a, b, transA, transB, -0.75, 0.5, Epilogue[T]{Bias: bias, Act: ReLU})
	checkGemm(t, "MatMulInto alpha beta bias relu", c.Data(), ref, mag, k)
}

// TestMatMulBatched checks 3-D x 3-D, 3-D x 2-D and 2-D x 3-D products,
// all transposes, against per-matrix 2-D products computed naively.
func TestMatMulBatched(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const B, m, n, k = 3, 9, 11, 13
	for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
		transA, transB := tr[0], tr[1]
		ash, bsh := []int{m, k}, []int{k, n}
		if transA {
			ash = []int{k, m}
		}
		if transB {
			bsh = []int{n, k}
		}
		a3 := RandN(rng, 0.0, 1.0, append([]int{B}, ash...)...)
		b3 := RandN(rng, 0.0, 1.0, append([]int{B}, bsh...)...)
		a2, b2 := RandN(rng, 0.0, 1.0, ash...), RandN(rng, 0.0, 1.0, bsh...)
		bias := RandN(rng, 0.0, 1.0, n)
		ep := Epilogue[float64]{Bias: bias}
		for _, c := range []struct {
			name   string
			a, b   *Tensor[float64]
			ai, bi bool // operand is batched
		}{{"3x3", a3, b3, true, true}, {"3x2", a3, b2, true, false}, {"2x3", a2, b3, false, true}} {
			got := MatMulInto(nil, c.a, c.b, transA, transB, 1, 0, ep)
			if !shapeEqual(got.Shape(), []int{B, m, n}) {
				t.Fatalf("%s %v: shape %v", c.name, tr, got.Shape())
			}
			for i := 0; i < B; i++ {
				ai, bi := c.a, c.b
				if c.ai {
					ai = c.a.Rows(i, i+1).Reshape(ash...)
				}
				if c.bi {
					bi = c.b.Rows(i, i+1).Reshape(bsh...)
				}
				ref, mag, _, _ := naiveMatMul(ai, bi, transA, transB, 1, 0, nil)
				for j := range ref {
					ref[j] += bias.data[j%n]
					mag[j] += math.Abs(bias.data[j%n])
				}
				checkGemm(t, c.name, got.Rows(i, i+1).Data(), ref, mag, k)
			}
		}
	}
}

// TestMatMulDeterministic checks that results are bit-identical across
// repeated calls and GOMAXPROCS settings, as the package documents.
func TestMatMulDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	a, b := RandN(rng, float32(0), 1, 300, 200), RandN(rng, float32(0), 1, 200, 250)
	a3 := RandN(rng, float32(0), 1, 4, 64, 200)
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	want, want3 := MatMul(a, b, false, false), MatMul(a3, b, false, false)
	for _, p := range []int{2, 3, 8} {
		runtime.GOMAXPROCS(p)
		if got := MatMul(a, b, false, false); !Equal(got, want) {
			t.Fatalf("MatMul differs between GOMAXPROCS 1 and %d", p)
		}
		if got := MatMul(a3, b, false, false); !Equal(got, want3) {
			t.Fatalf("batched MatMul differs between GOMAXPROCS 1 and %d", p)
		}
	}
}
