package simd

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// allTiers lists every tier name, so that a tier this CPU or build lacks is
// reported as skipped rather than silently left out.
var allTiers = []string{TierAVX512, TierAVX2, TierNEON, TierGeneric}

// forTiers runs f as a subtest for every tier, skipping unsupported ones.
func forTiers(t *testing.T, f func(t *testing.T, tab *table)) {
	t.Helper()
	for _, name := range allTiers {
		t.Run(name, func(t *testing.T) {
			if !tierSupported(name) {
				t.Skipf("tier %s not available on this CPU/build (have %s)", name, strings.Join(Tiers(), ", "))
			}
			f(t, newTable(name))
		})
	}
}

// testLengths straddles every vector width and unroll factor (8 and 16
// lanes, 4 vectors per iteration) and includes lengths of several pages.
func testLengths() []int {
	var ns []int
	for n := 0; n <= 300; n++ {
		ns = append(ns, n)
	}
	return append(ns, 1000, 4099)
}

// testOffsets are slice starts, in elements, after a 64-byte boundary.
var testOffsets = []int{0, 1, 2, 3}

// guardLen elements on each side of a test slice hold a sentinel; a kernel
// that stores a whole vector past either end overwrites some of them.
const guardLen = 32

// sentinel bit patterns: NaNs with a payload no kernel produces.
const (
	sentinel32 = 0x7fa5a5a5
	sentinel64 = 0x7ff5a5a5a5a5a5a5
)

// guarded is a test slice inside a buffer with sentinel guards.
type guarded[T Float] struct {
	buf    []T
	lo, hi int
}

// newGuarded returns n elements starting off elements past a 64-byte
// boundary, all set to sentinels.
func newGuarded[T Float](n, off int) *guarded[T] {
	size := int(unsafe.Sizeof(T(0)))
	buf := make([]T, n+2*guardLen+off+64/size)
	base := int(uintptr(unsafe.Pointer(unsafe.SliceData(buf))) % 64)
	align := 0
	if base != 0 {
		align = (64 - base) / size
	}
	g := &guarded[T]{buf: buf, lo: align + guardLen + off}
	g.hi = g.lo + n
	for i := range buf {
		buf[i] = sentinel[T]()
	}
	return g
}

func sentinel[T Float]() T {
	if isF32[T]() {
		return T(math.Float32frombits(sentinel32))
	}
	return T(math.Float64frombits(sentinel64))
}

// s returns the test slice; its capacity ends with it.
func (g *guarded[T]) s() []T { return g.buf[g.lo:g.hi:g.hi] }

// checkGuards reports any guard element that was written.
func (g *guarded[T]) checkGuards(t *testing.T, what string) {
	t.Helper()
	want := bitsOf(sentinel[T]())
	for i, v := range g.buf {
		if (i < g.lo || i >= g.hi) && bitsOf(v) != want {
			t.Fatalf("%s: wrote outside the slice: element %d relative to its start", what, i-g.lo)
		}
	}
}

func bitsOf[T Float](v T) uint64 {
	if isF32[T]() {
		return uint64(math.Float32bits(float32(v)))
	}
	return math.Float64bits(float64(v))
}

// sameFloat reports whether a and b are the same value: equal bits, or both
// NaN (NaN payloads are not part of any kernel's contract).
func sameFloat[T Float](a, b T) bool {
	return bitsOf(a) == bitsOf(b) || (a != a && b != b)
}

func typeName[T Float]() string {
	if isF32[T]() {
		return "float32"
	}
	return "float64"
}

func vecOf[T Float](tab *table) vecKernels[T] {
	var v any
	if isF32[T]() {
		v = tab.s
	} else {
		v = tab.d
	}
	return v.(vecKernels[T])
}

// randSlice fills a slice with values of both signs over a few binades,
// which keeps sums away from overflow but exercises rounding.
func randSlice[T Float](rng *rand.Rand, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T((rng.Float64()*2 - 1) * math.Exp2(float64(rng.IntN(8)-4)))
	}
	return s
}

// specials are inputs every kernel must get right bit for bit (up to the
// NaN payload).
func specials[T Float]() []T {
	if isF32[T]() {
		v := []float32{
			float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)),
			1, -1, 0.5, -2.5, 3, math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32,
			-math.SmallestNonzeroFloat32, 0x1p-126, 0x1.fffffcp-127, -0x1.fffffcp-127, 1e-30, -1e-30, 1e30, -1e30,
			88.72283, 88.72284, 89, -87.33655, -103.97, -103.98, -104, 1e-8, -1e-8, 0.875, -0.875, 9.5, -9.5,
			17, -17, 0x1p-26, -0x1p-26,
		}
		return as[T](v)
	}
	v := []float64{
		math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1),
		1, -1, 0.5, -2.5, 3, math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64,
		-math.SmallestNonzeroFloat64, 0x1p-1022, 0x1.ffffffffffffep-1023, -0x1.ffffffffffffep-1023, 1e-300, -1e-300,
		1e300, -1e300, 709.5, 709.78, 709.7827128933840, 709.79, 710, -708.4, -745.1, -745.2, -746, 1e-17, -1e-17,
		0.875, -0.875, 19.1, -19.1, 40, -40, 0x1p-54, -0x1p-54,
	}
	return as[T](v)
}

// fma32 returns a*b+c rounded once to float32. The float64 product is
// exact; the float64 sum is rounded to odd (its last bit set when inexact),
// which makes the final rounding to float32's 24 bits exact.
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	if math.IsInf(s, 0) || math.IsNaN(s) {
		return float32(s)
	}
	bb := s - p
	e := (p - (s - bb)) + (float64(c) - bb) // s + e == p + c exactly
	if e != 0 && math.Float64bits(s)&1 == 0 {
		if e > 0 {
			s = math.Nextafter(s, math.Inf(1))
		} else {
			s = math.Nextafter(s, math.Inf(-1))
		}
	}
	return float32(s)
}

func fmaT[T Float](a, b, c T) T {
	if isF32[T]() {
		return T(fma32(float32(a), float32(b), float32(c)))
	}
	return T(math.FMA(float64(a), float64(b), float64(c)))
}

// ulpDist is the number of representable values between a and b (both
// finite or equal infinities).
func ulpDist[T Float](a, b T) uint64 {
	ord := func(v T) int64 {
		if isF32[T]() {
			b := int64(int32(math.Float32bits(float32(v))))
			if b < 0 {
				b = math.MinInt32 - b
			}
			return b
		}
		b := int64(math.Float64bits(float64(v)))
		if b < 0 {
			b = math.MinInt64 - b
		}
		return b
	}
	d := ord(a) - ord(b)
	if d < 0 {
		d = -d
	}
	return uint64(d)
}

// TestVecKernelsFloat32 and TestVecKernelsFloat64 compare every kernel of
// every tier with the generic kernels on all lengths up to 300 and a few
// larger ones, at unaligned starts, out of place and in place, and check
// that nothing outside the slices is written.
func TestVecKernelsFloat32(t *testing.T) {
	forTiers(t, func(t *testing.T, tab *table) { testVec[float32](t, tab, testLengths(), testOffsets) })
}

func TestVecKernelsFloat64(t *testing.T) {
	forTiers(t, func(t *testing.T, tab *table) { testVec[float64](t, tab, testLengths(), testOffsets) })
}

// TestVecLong runs the same checks on slices longer than the 64K-element
// chunks that the amd64 kernels hand to one assembly call each (so that
// the goroutine stays preemptible), ending in a partial chunk and a tail.
func TestVecLong(t *testing.T) {
	n := []int{2<<16 + 77}
	forTiers(t, func(t *testing.T, tab *table) {
		testVec[float32](t, tab, n, []int{1})
		testVec[float64](t, tab, n, []int{3})
	})
}

func testVec[T Float](t *testing.T, tab *table, lengths, offsets []int) {
	k := vecOf[T](tab)
	g := genericVec[T]()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range lengths {
		x0, y0 := randSlice[T](rng, n), randSlice[T](rng, n)
		alpha := T(rng.Float64()*4 - 2)
		for _, off := range offsets {
			name := fmt.Sprintf("%s n=%d off=%d", typeName[T](), n, off)
			checkAxpy(t, name, k.axpy, alpha, x0, y0, off)
			checkUnary(t, name+" scale", func(d, x []T) { k.scale(alpha, d, x) },
				func(d, x []T) { g.scale(alpha, d, x) }, x0, off, 0)
			checkBinary(t, name+" add", k.add, g.add, x0, y0, off)
			checkBinary(t, name+" sub", k.sub, g.sub, x0, y0, off)
			checkBinary(t, name+" mul", k.mul, g.mul, x0, y0, off)
			checkBinary(t, name+" div", k.div, g.div, x0, y0, off)
			checkBinary(t, name+" maximum", k.maximum, g.maximum, x0, y0, off)
			checkUnary(t, name+" relu", k.relu, g.relu, x0, off, 0)
			checkBinary(t, name+" posMask", k.posMask, g.posMask, x0, y0, off)
			checkReductions(t, name, k, x0, y0, off)
		}
		// The math kernels, on inputs spread over their interesting ranges.
		for _, fn := range mathFuncs {
			tol := mathTolerance[T](t, fn, tab)
			x := mathInputs[T](rng, fn, n)
			for _, off := range offsets {
				name := fmt.Sprintf("%s %s n=%d off=%d", typeName[T](), fn, n, off)
				checkUnary(t, name, kernelOf(fn, k), kernelOf(fn, g), x, off, tol)
			}
		}
	}
}

// checkUnary runs f on a guarded copy of x, out of place and in place
// (dst == x), and compares with the reference ref: bit for bit when tol is
// 0, otherwise within tol representable values.
func checkUnary[T Float](t *testing.T, name string, f, ref func(d, x []T), x0 []T, off int, tol uint64) {
	t.Helper()
	n := len(x0)
	want := make([]T, n)
	ref(want, x0)
	for _, inPlace := range []bool{false, true} {
		xs := newGuarded[T](n, off)
		copy(xs.s(), x0)
		ds := xs
		if !inPlace {
			ds = newGuarded[T](n, (off+1)%4)
		}
		f(ds.s(), xs.s())
		what := fmt.Sprintf("%s in-place=%v", name, inPlace)
		ds.checkGuards(t, what)
		if !inPlace {
			xs.checkGuards(t, what+" (x)")
			for i, v := range xs.s() {
				if !sameFloat(v, x0[i]) {
					t.Fatalf("%s: input x[%d] modified", what, i)
				}
			}
		}
		compareSlices(t, what, ds.s(), want, x0, tol)
	}
}

func compareSlices[T Float](t *testing.T, what string, got, want, x []T, tol uint64) {
	t.Helper()
	for i := range got {
		g, w := got[i], want[i]
		if sameFloat(g, w) {
			continue
		}
		// Infinities sit one step past the largest finite value, so the
		// distance also accepts MaxFloat for a result that should overflow.
		if tol > 0 && g == g && w == w && ulpDist(g, w) <= tol {
			continue
		}
		t.Fatalf("%s: element %d: f(%v) = %v, want %v (tolerance %d ulp)", what, i, x[i], g, w, tol)
	}
}

// checkBinary runs f out of place and with dst aliasing x and y.
func checkBinary[T Float](t *testing.T, name string, f, ref func(d, x, y []T), x0, y0 []T, off int) {
	t.Helper()
	n := len(x0)
	want := make([]T, n)
	ref(want, x0, y0)
	for alias := 0; alias < 3; alias++ { // 0: none, 1: dst == x, 2: dst == y
		xs, ys := newGuarded[T](n, off), newGuarded[T](n, (off+2)%4)
		copy(xs.s(), x0)
		copy(ys.s(), y0)
		ds := newGuarded[T](n, (off+1)%4)
		switch alias {
		case 1:
			ds = xs
		case 2:
			ds = ys
		}
		f(ds.s(), xs.s(), ys.s())
		what := fmt.Sprintf("%s alias=%d", name, alias)
		for _, g := range []*guarded[T]{xs, ys, ds} {
			g.checkGuards(t, what)
		}
		for i := range want {
			if !sameFloat(ds.s()[i], want[i]) {
				t.Fatalf("%s: element %d: f(%v, %v) = %v, want %v", what, i, x0[i], y0[i], ds.s()[i], want[i])
			}
		}
	}
}

// checkAxpy accepts, per element, alpha*x+y rounded once (FMA) or twice:
// both are what y += alpha*x may compute under the Go spec.
func checkAxpy[T Float](t *testing.T, name string, axpy func(T, []T, []T), alpha T, x0, y0 []T, off int) {
	t.Helper()
	n := len(x0)
	for _, alias := range []bool{false, true} {
		xs, ys := newGuarded[T](n, off), newGuarded[T](n, (off+3)%4)
		copy(xs.s(), x0)
		copy(ys.s(), y0)
		xin := x0
		if alias {
			xs = ys
			xin = y0
		}
		axpy(alpha, xs.s(), ys.s())
		what := fmt.Sprintf("%s axpy alias=%v", name, alias)
		xs.checkGuards(t, what)
		ys.checkGuards(t, what)
		for i, got := range ys.s() {
			fused := fmaT(alpha, xin[i], y0[i])
			unfused := alpha*xin[i] + y0[i]
			if !sameFloat(got, fused) && !sameFloat(got, unfused) {
				t.Fatalf("%s: element %d: %v*%v + %v = %v, want %v (fused) or %v",
					what, i, alpha, xin[i], y0[i], got, fused, unfused)
			}
		}
	}
}

// checkReductions checks dot, sum and max. Small integers make every
// product and partial sum exact, so dot and sum must be exact whatever the
// summation order (this catches a lane counted twice or dropped); on real
// data the error must stay within the a priori bound gamma(n)*sum|terms|
// that holds for any summation order.
func checkReductions[T Float](t *testing.T, name string, k vecKernels[T], x0, y0 []T, off int) {
	t.Helper()
	n := len(x0)
	xs, ys := newGuarded[T](n, off), newGuarded[T](n, (off+1)%4)
	xi, yi := xs.s(), ys.s()
	var exactDot, exactSum T
	for i := range xi {
		xi[i], yi[i] = T(i%17-8), T(i%13-6)
		exactDot += xi[i] * yi[i]
		exactSum += xi[i]
	}
	if got := k.dot(xi, yi); got != exactDot {
		t.Fatalf("%s dot of small integers = %v, want %v", name, got, exactDot)
	}
	if got := k.sum(xi); got != exactSum {
		t.Fatalf("%s sum of small integers = %v, want %v", name, got, exactSum)
	}
	copy(xi, x0)
	copy(yi, y0)
	u := 0x1p-24
	if !isF32[T]() {
		u = 0x1p-53
	}
	gamma := float64(n) * u / (1 - float64(n)*u)
	refDot, absDot := dotExact(x0, y0)
	if got := float64(k.dot(xi, yi)); math.Abs(got-refDot) > gamma*absDot {
		t.Fatalf("%s dot = %v, exact %v: error %g above bound %g", name, got, refDot, math.Abs(got-refDot), gamma*absDot)
	}
	ones := make([]T, n)
	for i := range ones {
		ones[i] = 1
	}
	refSum, absSum := dotExact(x0, ones)
	if got := float64(k.sum(xi)); math.Abs(got-refSum) > gamma*absSum {
		t.Fatalf("%s sum = %v, exact %v: error %g above bound %g", name, got, refSum, math.Abs(got-refSum), gamma*absSum)
	}
	xs.checkGuards(t, name+" reductions")
	ys.checkGuards(t, name+" reductions")
	if n == 0 {
		return
	}
	// max: compare with a plain scan; ties between -0 and +0 may return
	// either zero.
	want := x0[0]
	for _, v := range x0 {
		want = max(want, v)
	}
	if got := k.max(xi); got != want {
		t.Fatalf("%s max = %v, want %v", name, got, want)
	}
	// A NaN anywhere makes the result NaN; place it in the unrolled body,
	// the single-vector loop and the tail in turn (in long slices: in the
	// first and the last element).
	if n <= 80 || n > 4099 {
		for p := range xi {
			if n > 80 && p != 0 && p != n-1 {
				continue
			}
			saved := xi[p]
			xi[p] = T(math.NaN())
			if got := k.max(xi); got == got {
				t.Fatalf("%s max with NaN at %d = %v, want NaN", name, p, got)
			}
			xi[p] = saved
		}
	}
	// Large negatives, then -Inf everywhere: the -Inf that starts each
	// running maximum and fills masked-out lanes must not leak out.
	for i := range xi {
		xi[i] = T(-1e30 - float64(i))
	}
	if got := k.max(xi); got != T(-1e30) {
		t.Fatalf("%s max of negatives = %v, want -1e30", name, got)
	}
	for i := range xi {
		xi[i] = T(math.Inf(-1))
	}
	if got := k.max(xi); !math.IsInf(float64(got), -1) {
		t.Fatalf("%s max of -Inf = %v", name, got)
	}
}

// dotExact returns sum x[i]*y[i] and sum |x[i]*y[i]| in double-double
// arithmetic, rounded to float64: exact enough to judge a float64 dot.
func dotExact[T Float](x, y []T) (float64, float64) {
	var s, a dd
	for i := range x {
		p := twoProd(float64(x[i]), float64(y[i]))
		s = ddAdd(s, p)
		if p.hi < 0 {
			p = ddNeg(p)
		}
		a = ddAdd(a, p)
	}
	return s.hi + s.lo, a.hi + a.lo
}

// TestVecSpecialsFloat32 and TestVecSpecialsFloat64 feed every kernel the
// special values (NaN, infinities, signed zeros, denormals, extremes and
// the thresholds of the math kernels) in many lane positions, and check the
// results bit for bit against the generic kernels; for exp, log, tanh and
// sigmoid against the exact result where it is known exactly, else within
// the documented errors.
func TestVecSpecialsFloat32(t *testing.T) { forTiers(t, testSpecials[float32]) }
func TestVecSpecialsFloat64(t *testing.T) { forTiers(t, testSpecials[float64]) }

func testSpecials[T Float](t *testing.T, tab *table) {
	k := vecOf[T](tab)
	g := genericVec[T]()
	sp := specials[T]()
	// Cross product for the binary kernels.
	var xs, ys []T
	for _, a := range sp {
		for _, b := range sp {
			xs, ys = append(xs, a), append(ys, b)
		}
	}
	for _, c := range []struct {
		name   string
		f, ref func(d, x, y []T)
	}{
		{"add", k.add, g.add}, {"sub", k.sub, g.sub}, {"mul", k.mul, g.mul},
		{"div", k.div, g.div}, {"maximum", k.maximum, g.maximum}, {"posMask", k.posMask, g.posMask},
	} {
		checkBinary(t, typeName[T]()+" specials "+c.name, c.f, c.ref, xs, ys, 1)
	}
	checkUnary(t, typeName[T]()+" specials relu", k.relu, g.relu, xs, 1, 0)
	for _, alpha := range sp {
		checkUnary(t, fmt.Sprintf("%s specials scale(%v)", typeName[T](), alpha),
			func(d, x []T) { k.scale(alpha, d, x) }, func(d, x []T) { g.scale(alpha, d, x) }, sp, 2, 0)
		checkAxpy(t, typeName[T]()+" specials", k.axpy, alpha, xs, ys, 3)
	}
	for _, fn := range mathFuncs {
		// Repeat the specials so each one lands in every lane and in the tail.
		var x []T
		for r := 0; r < 17; r++ {
			x = append(x, sp[r%len(sp):]...)
			x = append(x, sp[:r%len(sp)]...)
		}
		x = x[:len(x)-5]
		got := make([]T, len(x))
		kernelOf(fn, k)(got, x)
		tol := mathTolerance[T](t, fn, tab)
		for i, v := range x {
			want, exact := specialOf(fn, v)
			if !exact {
				want = T(fn.ref64(float64(v)))
			}
			if sameFloat(got[i], want) ||
				!exact && want == want && got[i] == got[i] && ulpDist(got[i], want) <= tol {
				continue
			}
			t.Errorf("%s %s(%v) = %v, want %v", typeName[T](), fn, v, got[i], want)
		}
	}
}

// mathFunc names one of the four math kernels.
type mathFunc string

var mathFuncs = []mathFunc{"exp", "log", "tanh", "sigmoid"}

// kernelOf returns the kernel of f in k.
func kernelOf[T Float](f mathFunc, k vecKernels[T]) func(d, x []T) {
	switch f {
	case "exp":
		return k.exp
	case "log":
		return k.log
	case "tanh":
		return k.tanh
	}
	return k.sigmoid
}

// ref64 is the float64 reference of f (the generic kernel's formula).
func (f mathFunc) ref64(v float64) float64 {
	switch f {
	case "exp":
		return exp64(v)
	case "log":
		return log64(v)
	case "tanh":
		return math.Tanh(v)
	}
	return sigmoid64(v)
}

// specialOf returns the exactly known result of f at v for special inputs
// (NaN, infinities, zeros, and arguments whose correctly rounded result is
// an endpoint such as 0, 1 or +Inf), and false for all other inputs.
func specialOf[T Float](f mathFunc, v T) (T, bool) {
	x := float64(v)
	if x != x {
		return v, true
	}
	over, under := 710.0, -746.0 // exp(x) rounds to +Inf above, to 0 below
	if isF32[T]() {
		over, under = 89, -104
	}
	var r float64
	switch {
	case f == "exp" && x == 0:
		r = 1
	case f == "exp" && x >= over:
		r = math.Inf(1)
	case f == "exp" && x <= under:
		r = 0
	case f == "log" && x == 0:
		r = math.Inf(-1)
	case f == "log" && x < 0:
		r = math.NaN()
	case f == "log" && x == 1:
		r = 0
	case f == "log" && math.IsInf(x, 1):
		r = x
	case f == "tanh" && x == 0:
		r = x // tanh keeps the sign of zero
	case f == "tanh" && math.Abs(x) >= 40:
		r = math.Copysign(1, x)
	case f == "sigmoid" && x == 0:
		r = 0.5
	case f == "sigmoid" && x >= 40:
		r = 1
	case f == "sigmoid" && x <= under:
		r = 0
	default:
		return 0, false
	}
	return T(r), true
}

// mathInputs returns n inputs for f: mostly from its interesting range,
// some from everywhere.
func mathInputs[T Float](rng *rand.Rand, f mathFunc, n int) []T {
	x := make([]T, n)
	lo, hi := -110.0, 95.0
	if !isF32[T]() {
		lo, hi = -750, 712
	}
	for i := range x {
		var v float64
		switch f {
		case "exp":
			v = lo + (hi-lo)*rng.Float64()
		case "log":
			v = math.Ldexp(1+rng.Float64(), rng.IntN(300)-150)
			if rng.IntN(8) == 0 {
				v = -v
			}
		case "tanh":
			v = math.Ldexp(rng.Float64()*2-1, rng.IntN(8)-3) * 3
		default:
			v = (lo + (hi-lo)*rng.Float64()) / 2
		}
		x[i] = T(v)
	}
	return x
}

// TestAVX2HasNoAVX512 assembles vec_avx2_amd64.s with go tool asm -S,
// which lists every instruction's offset and each function's bytes, and
// fails on any instruction whose first byte is 0x62: in 64-bit mode that is
// the EVEX prefix of AVX-512 encodings (also used when an AVX instruction
// names Y16-Y31 or a mask register). The avx2 tier must run on CPUs without
// AVX-512.
func TestAVX2HasNoAVX512(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found:", err)
	}
	goroot, err := exec.Command(goTool, "env", "GOROOT").Output()
	if err != nil {
		t.Skip("go env GOROOT:", err)
	}
	cmd := exec.Command(goTool, "tool", "asm", "-S", "-p", "simd",
		"-I", filepath.Join(strings.TrimSpace(string(goroot)), "pkg", "include"),
		"-o", filepath.Join(t.TempDir(), "avx2.o"), "vec_avx2_amd64.s")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go tool asm: %v\n%s", err, out)
	}
	type insn struct {
		off  int
		text string
	}
	var (
		fn     string
		insns  []insn
		code   []byte
		nInsns int
	)
	check := func() {
		for _, in := range insns {
			if in.off < len(code) && code[in.off] == 0x62 {
				t.Errorf("%s: EVEX-encoded instruction at offset %#x: %s", fn, in.off, in.text)
			}
		}
		nInsns += len(insns)
		fn, insns, code = "", nil, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && !strings.HasPrefix(line, "\t") && !strings.HasPrefix(line, " "):
			check()
			if f[1] == "STEXT" {
				fn = f[0]
			}
		case fn == "" || len(f) < 3 || !strings.HasPrefix(f[0], "0x"):
		case strings.HasPrefix(f[2], "("): // 0x0004 00004 (file:line) INSN args
			off, err := strconv.ParseInt(f[0][2:], 16, 64)
			if err != nil {
				t.Fatalf("bad offset in %q", line)
			}
			if op := f[3]; op != "TEXT" && op != "FUNCDATA" && op != "PCDATA" {
				insns = append(insns, insn{int(off), strings.Join(f[3:], " ")})
			}
		default: // 0x0000 c5 fc 10 06 ... (hex dump, then ASCII)
			for _, b := range f[1:] {
				v, err := strconv.ParseUint(b, 16, 8)
				if len(b) != 2 || err != nil {
					break
				}
				code = append(code, byte(v))
			}
		}
	}
	check()
	if nInsns < 1000 {
		t.Fatalf("parsed only %d instructions from go tool asm -S; has its listing format changed?", nInsns)
	}
}

// TestMaskPositive: y > 0 keeps x (NaN and -0 included) for the positive
// floats from the smallest denormal to +Inf; zeros of both signs,
// negatives and NaN give +0, on every tier.
func TestMaskPositive(t *testing.T) {
	inf := math.Inf(1)
	cases := []struct {
		y    float64
		keep bool
	}{{1, true}, {5e-324, true}, {math.MaxFloat64, true}, {inf, true}, {0, false}, {math.Copysign(0, -1), false},
		{-1, false}, {-inf, false}, {math.NaN(), false}, {-5e-324, false}}
	forTiers(t, func(t *testing.T, tab *table) {
		for _, c := range cases {
			for _, x := range []float64{2.5, math.NaN(), math.Copysign(0, -1)} {
				// 37 copies: every lane of the unrolled loop, the single-
				// vector loop and the masked tail.
				x64, y64, d64 := make([]float64, 37), make([]float64, 37), make([]float64, 37)
				x32, y32, d32 := make([]float32, 37), make([]float32, 37), make([]float32, 37)
				for i := range x64 {
					x64[i], y64[i], x32[i], y32[i] = x, c.y, float32(x), float32(c.y)
					if c.y == 5e-324 {
						y32[i] = math.SmallestNonzeroFloat32
					} else if c.y == -5e-324 {
						y32[i] = -math.SmallestNonzeroFloat32
					}
				}
				tab.d.posMask(d64, x64, y64)
				tab.s.posMask(d32, x32, y32)
				for i := range d64 {
					w64, w32 := uint64(0), uint32(0)
					if c.keep {
						w64, w32 = math.Float64bits(x), math.Float32bits(float32(x))
					}
					if math.Float64bits(d64[i]) != w64 || math.Float32bits(d32[i]) != w32 {
						t.Fatalf("x=%v y=%v, lane %d: got %v (f64) and %v (f32)", x, c.y, i, d64[i], d32[i])
					}
				}
			}
		}
	})
}
