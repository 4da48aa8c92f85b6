package simd

// Accuracy of exp, log, tanh and sigmoid, in ulps, for every tier.
//
// The error of a result y for input x is |y - f(x)| / ulp(f(x)), where
// ulp(v) is the spacing of the result type at v's binade (2^-149 or
// 2^-1074 for denormals, and an infinity counts as 2^128 or 2^1024).
//
// float32: f(x) is the float64 value from package math (the generic
// kernels' formulas), within 2 float64 ulps of the exact value, which is
// below 2^-28 float32 ulps. A result equal to f(x) rounded to float32 is
// correctly rounded (error <= 0.5) and is not measured further, so the
// reported maximum is over the other results. The inputs are:
//   - GRADFLOW_EXHAUSTIVE=1: all 2^32 bit patterns (about 3 CPU-minutes);
//   - default: every 17th bit pattern (2.5e8 inputs, all residues mod 16);
//   - -short: every 4093rd bit pattern (1.05e6 inputs).
// The generic tier, whose float32 results are float64 math results rounded
// once, is always measured on the -short sample.
//
// float64: f(x) is computed in double-double arithmetic (about 104 bits,
// see the reference functions below, checked by TestULPReference), on 2e6
// seeded random inputs per function (2e5 with -short, 2e7 with
// GRADFLOW_EXHAUSTIVE=1), spread over all exponents and concentrated where
// each function is not trivial.
//
// The bounds asserted are the ones stated in the doc comments of the tier
// kernels ("Max error N ulp" on expF32AVX512, ..., and "N ulp (float32), M
// ulp (float64)" on expGeneric, ...), read from the source files, so the
// documentation and the measurement cannot drift apart. Signed zeros and NaN
// payloads are not measured here; TestVecSpecials checks them.

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// ---------------------------------------------------------------------------
// Documented bounds.

var (
	docsOnce sync.Once
	docs     map[string]string // function name -> doc comment
	docsErr  error
)

func funcDocs(t *testing.T) map[string]string {
	t.Helper()
	docsOnce.Do(func() {
		docs = map[string]string{}
		files, err := filepath.Glob("*.go")
		if err != nil {
			docsErr = err
			return
		}
		fset := token.NewFileSet()
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
			if err != nil {
				docsErr = err
				return
			}
			for _, d := range f.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok && fd.Doc != nil {
					docs[fd.Name.Name] = fd.Doc.Text()
				}
			}
		}
	})
	if docsErr != nil {
		t.Fatal(docsErr)
	}
	return docs
}

// tierSuffix ends the names of a tier's assembly functions.
var tierSuffix = map[string]string{TierAVX512: "AVX512", TierAVX2: "AVX2", TierNEON: "NEON"}

var (
	asmBoundRE = regexp.MustCompile(`[Mm]ax error ([0-9.]+) ulp`)
	genBoundRE = map[bool]*regexp.Regexp{
		true:  regexp.MustCompile(`([0-9.]+) ulp \(float32\)`),
		false: regexp.MustCompile(`([0-9.]+) ulp \(float64\)`),
	}
)

// docBound returns the max error stated, in the form matched by re, in the
// doc comment of the named function.
func docBound(t *testing.T, name string, re *regexp.Regexp) (float64, bool) {
	t.Helper()
	doc, ok := funcDocs(t)[name]
	if !ok {
		return 0, false
	}
	m := re.FindStringSubmatch(doc)
	if m == nil {
		t.Fatalf("doc comment of %s does not state its max error (want %q)", name, re)
	}
	b, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("doc comment of %s: %v", name, err)
	}
	return b, true
}

// genericBound is the max error of the generic kernel of fn, from the doc
// comment of expGeneric, logGeneric, ...
func genericBound(t *testing.T, fn mathFunc, f32 bool) float64 {
	t.Helper()
	name := string(fn) + "Generic"
	b, ok := docBound(t, name, genBoundRE[f32])
	if !ok {
		t.Fatalf("no doc comment on %s, which must state the max error of %s", name, fn)
	}
	return b
}

// tierBound is the max error of tab's kernel of fn: the bound in the doc
// comment of its assembly function (named expF32AVX512 or expNEON32, for
// example), or the generic bound if the tier keeps the generic kernel
// (checked: its results must then equal the generic ones bit for bit).
func tierBound(t *testing.T, tab *table, fn mathFunc, f32 bool) float64 {
	t.Helper()
	if tab.name == TierGeneric {
		return genericBound(t, fn, f32)
	}
	dt, bits := "F64", "64"
	if f32 {
		dt, bits = "F32", "32"
	}
	suffix := tierSuffix[tab.name]
	for _, name := range []string{string(fn) + dt + suffix, string(fn) + suffix + bits} {
		if b, ok := docBound(t, name, asmBoundRE); ok {
			return b
		}
	}
	if f32 && sameAsGeneric[float32](tab, fn) || !f32 && sameAsGeneric[float64](tab, fn) {
		return genericBound(t, fn, f32)
	}
	t.Fatalf("tier %s: %s %s differs from the generic kernel but no doc comment states its max error", tab.name, fn, dt)
	return 0
}

// sameAsGeneric reports whether tab's kernel of fn returns the generic
// kernel's results on a sample of inputs and the special values.
func sameAsGeneric[T Float](tab *table, fn mathFunc) bool {
	x := append(mathInputs[T](rand.New(rand.NewPCG(5, 6)), fn, 4096), specials[T]()...)
	got, want := make([]T, len(x)), make([]T, len(x))
	kernelOf(fn, vecOf[T](tab))(got, x)
	kernelOf(fn, genericVec[T]())(want, x)
	for i := range got {
		if !sameFloat(got[i], want[i]) {
			return false
		}
	}
	return true
}

// mathTolerance is how many representable values a tier's result may be
// from the generic one: both are within their bounds of the exact value.
func mathTolerance[T Float](t *testing.T, fn mathFunc, tab *table) uint64 {
	t.Helper()
	f32 := isF32[T]()
	return uint64(math.Ceil(tierBound(t, tab, fn, f32)+genericBound(t, fn, f32))) + 1
}

// ---------------------------------------------------------------------------
// Error measures.

// ulp32 is the float32 ulp at |v| (v finite).
func ulp32(v float64) float64 {
	a := math.Abs(v)
	switch {
	case a < 0x1p-126:
		return 0x1p-149
	case a >= 0x1p128:
		return 0x1p104
	}
	e := int(math.Float64bits(a)>>52&0x7ff) - 1023
	return math.Ldexp(1, e-23)
}

// err32 is the error of got against the float64 reference ref, in float32
// ulps of ref.
func err32(got float32, ref float64) float64 {
	switch {
	case ref != ref:
		if got != got {
			return 0
		}
		return math.Inf(1)
	case got != got:
		return math.Inf(1)
	case math.IsInf(ref, 0):
		if float64(got) == ref {
			return 0
		}
		return math.Inf(1)
	}
	g := float64(got)
	if math.IsInf(g, 0) {
		if math.Signbit(g) != math.Signbit(ref) {
			return math.Inf(1)
		}
		g = math.Copysign(0x1p128, g)
	}
	return math.Abs(g-ref) / ulp32(ref)
}

// xv is a double-double value scaled by a power of two: (m.hi+m.lo)*2^k. The
// scale keeps results near the underflow threshold exact.
type xv struct {
	m dd
	k int
}

// err64 is the error of got against r in float64 ulps of r.
func err64(got float64, r xv) float64 {
	h := r.m.hi
	switch {
	case h != h:
		if got != got {
			return 0
		}
		return math.Inf(1)
	case got != got:
		return math.Inf(1)
	case math.IsInf(h, 0):
		if got == h {
			return 0
		}
		return math.Inf(1)
	case h == 0:
		return math.Abs(got) / 0x1p-1074
	}
	_, e := math.Frexp(h)
	ev := e - 1 + r.k // binade of the exact value
	if ev >= 1024 && math.IsInf(got, 0) && math.Signbit(got) == math.Signbit(h) {
		return 0 // beyond MaxFloat64 (by more than half an ulp, as ev >= 1024)
	}
	var g float64
	if math.IsInf(got, 0) {
		g = math.Copysign(math.Ldexp(1, 1024-r.k), got)
	} else {
		g = math.Ldexp(got, -r.k)
	}
	ulp := math.Ldexp(1, max(ev, -1022)-52-r.k)
	return math.Abs((g-h)-r.m.lo) / ulp
}

// ---------------------------------------------------------------------------
// Double-double arithmetic (about 104 bits): the float64 reference.

type dd struct{ hi, lo float64 }

func twoSum(a, b float64) dd {
	s := a + b
	bb := s - a
	return dd{s, (a - (s - bb)) + (b - bb)}
}

func fastTwoSum(a, b float64) dd {
	s := a + b
	return dd{s, b - (s - a)}
}

// twoProd returns a*b exactly. The conversion keeps the compiler from
// fusing the rounded product into a later addition (which arm64 does),
// which would break the error-free transformations that use it.
func twoProd(a, b float64) dd {
	p := float64(a * b)
	return dd{p, math.FMA(a, b, -p)}
}

func ddAdd(a, b dd) dd {
	s := twoSum(a.hi, b.hi)
	t := twoSum(a.lo, b.lo)
	s.lo += t.hi
	s = fastTwoSum(s.hi, s.lo)
	s.lo += t.lo
	return fastTwoSum(s.hi, s.lo)
}

func ddNeg(a dd) dd    { return dd{-a.hi, -a.lo} }
func ddSub(a, b dd) dd { return ddAdd(a, ddNeg(b)) }

func ddMulF(a dd, b float64) dd {
	p := twoProd(a.hi, b)
	p.lo += a.lo * b
	return fastTwoSum(p.hi, p.lo)
}

func ddMul(a, b dd) dd {
	p := twoProd(a.hi, b.hi)
	p.lo += a.hi*b.lo + a.lo*b.hi
	return fastTwoSum(p.hi, p.lo)
}

func ddDiv(a, b dd) dd {
	q1 := a.hi / b.hi
	r := ddSub(a, ddMulF(b, q1))
	q2 := r.hi / b.hi
	r = ddSub(r, ddMulF(b, q2))
	q3 := r.hi / b.hi
	return ddAdd(fastTwoSum(q1, q2), dd{q3, 0})
}

func ddLdexp(a dd, k int) dd { return dd{math.Ldexp(a.hi, k), math.Ldexp(a.lo, k)} }

var (
	ln2DD   dd     // ln 2
	invFact [31]dd // 1/k!
)

func init() {
	invFact[0] = dd{1, 0}
	for k := 1; k < len(invFact); k++ {
		invFact[k] = ddDiv(invFact[k-1], dd{float64(k), 0})
	}
	third := ddDiv(dd{1, 0}, dd{3, 0}) // ln 2 = 2 atanh(1/3)
	ln2DD = ddMulF(ddMul(third, atanhSeries(ddMul(third, third), 40)), 2)
}

// atanhSeries returns sum_{j<n} z^j/(2j+1), which is atanh(s)/s for z = s^2.
func atanhSeries(z dd, n int) dd {
	sum := ddDiv(dd{1, 0}, dd{float64(2*n - 1), 0})
	for j := n - 2; j >= 0; j-- {
		sum = ddAdd(ddMul(sum, z), ddDiv(dd{1, 0}, dd{float64(2*j + 1), 0}))
	}
	return sum
}

// expDD returns exp(x) = m*2^k for |x| <= 746: x = k ln2 + r, and
// e^r = (e^(r/256))^256 with a Taylor series for the small argument.
func expDD(x float64) xv {
	k := math.Round(x / math.Ln2)
	r := ddLdexp(ddSub(dd{x, 0}, ddMulF(ln2DD, k)), -8)
	s := invFact[12]
	for j := 11; j >= 0; j-- {
		s = ddAdd(ddMul(s, r), invFact[j])
	}
	for j := 0; j < 8; j++ {
		s = ddMul(s, s)
	}
	return xv{s, int(k)}
}

// expm1Small returns exp(y)-1 for |y| <= 1 by its Taylor series, accurate
// relative to the (possibly tiny) result.
func expm1Small(y float64) dd {
	s := invFact[30]
	for j := 29; j >= 1; j-- {
		s = ddAdd(ddMulF(s, y), invFact[j])
	}
	return ddMulF(s, y)
}

// logDD returns log(x) for finite x > 0: x = m*2^e with m in
// [sqrt(1/2), sqrt(2)), log m = 2 atanh(s), s = (m-1)/(m+1).
func logDD(x float64) dd {
	m, e := math.Frexp(x)
	if m < math.Sqrt2/2 {
		m *= 2
		e--
	}
	f := m - 1
	s := ddDiv(dd{f, 0}, twoSum(2, f))
	l := ddMulF(ddMul(s, atanhSeries(ddMul(s, s), 26)), 2)
	return ddAdd(ddMulF(ln2DD, float64(e)), l)
}

func refExp(x float64) xv {
	switch {
	case x != x:
		return xv{dd{x, 0}, 0}
	case x > 710:
		return xv{dd{math.Inf(1), 0}, 0}
	case x < -746: // below 2^-1076: rounds to 0
		return xv{dd{0, 0}, 0}
	}
	return expDD(x)
}

func refLog(x float64) xv {
	switch {
	case x != x || x < 0:
		return xv{dd{math.NaN(), 0}, 0}
	case x == 0:
		return xv{dd{math.Inf(-1), 0}, 0}
	case math.IsInf(x, 1):
		return xv{dd{x, 0}, 0}
	}
	return xv{logDD(x), 0}
}

func refTanh(x float64) xv {
	a := math.Abs(x)
	var t dd
	switch {
	case x != x:
		return xv{dd{x, 0}, 0}
	case a > 40: // 1 - tanh(a) < 2e-35
		t = dd{1, 0}
	case 2*a <= 1:
		em1 := expm1Small(2 * a)
		t = ddDiv(em1, ddAdd(em1, dd{2, 0}))
	default:
		e := expDD(2 * a)
		em1 := ddSub(ddLdexp(e.m, e.k), dd{1, 0})
		t = ddDiv(em1, ddAdd(em1, dd{2, 0}))
	}
	if x < 0 {
		t = ddNeg(t)
	}
	return xv{t, 0}
}

func refSigmoid(x float64) xv {
	switch {
	case x != x:
		return xv{dd{x, 0}, 0}
	case x > 40: // 1 - e^-x, with e^-x < 5e-18 only needed roughly
		return xv{dd{1, -math.Exp(-x)}, 0}
	case x < -746:
		return xv{dd{0, 0}, 0}
	case x >= 0:
		e := expDD(-x)
		return xv{ddDiv(dd{1, 0}, ddAdd(dd{1, 0}, ddLdexp(e.m, e.k))), 0}
	}
	e := expDD(x) // e/(1+e), keeping e's scale apart
	return xv{ddDiv(e.m, ddAdd(dd{1, 0}, ddLdexp(e.m, e.k))), e.k}
}

func refDD(fn mathFunc, x float64) xv {
	switch fn {
	case "exp":
		return refExp(x)
	case "log":
		return refLog(x)
	case "tanh":
		return refTanh(x)
	}
	return refSigmoid(x)
}

// TestULPReference checks the double-double reference against independent
// constants and against package math (within its own error).
func TestULPReference(t *testing.T) {
	// Digits from the literature (OEIS A002162, A001113, A002392).
	const (
		ln2  = "0.69314718055994530941723212145817656807550013436025525412068"
		e    = "2.71828182845904523536028747135266249775724709369995957496697"
		ln10 = "2.30258509299404568401799145468436420760110148862877297603333"
	)
	e1 := expDD(1)
	for _, c := range []struct {
		name, digits string
		got          dd
	}{{"ln 2", ln2, ln2DD}, {"exp(1)", e, ddLdexp(e1.m, e1.k)}, {"log(10)", ln10, logDD(10)}} {
		want, _, err := big.ParseFloat(c.digits, 10, 300, big.ToNearestEven)
		if err != nil {
			t.Fatal(err)
		}
		got := new(big.Float).SetPrec(300).SetFloat64(c.got.hi)
		got.Add(got, new(big.Float).SetFloat64(c.got.lo))
		diff, _ := got.Sub(got, want).Quo(got, want).Float64()
		if math.Abs(diff) > 0x1p-100 {
			t.Errorf("%s: relative error %g of the double-double reference", c.name, diff)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, fn := range mathFuncs {
		worst := 0.0
		for i := 0; i < 20000; i++ {
			x := sample64(rng, fn)
			if e := err64(fn.ref64(x), refDD(fn, x)); e > worst {
				worst = e
			}
		}
		// package math (with the generic fixes) is within 2.5 ulp.
		if worst > 2.5 {
			t.Errorf("%s: package math is %.3g ulp from the double-double reference", fn, worst)
		}
	}
}

// ---------------------------------------------------------------------------
// float32.

// ulpResult is the outcome of measuring one kernel.
type ulpResult struct {
	max      float64 // max error in ulps over results not correctly rounded
	at       float64 // input of the max error
	got      float64 // result there
	inexact  int64   // results that differ from the correctly rounded value
	measured int64   // inputs
}

func (r *ulpResult) add(e, x, got float64) {
	r.inexact++
	if e > r.max || e != e {
		r.max, r.at, r.got = e, x, got
	}
}

func (r *ulpResult) merge(o ulpResult) {
	if o.max > r.max || o.max != o.max {
		r.max, r.at, r.got = o.max, o.at, o.got
	}
	r.inexact += o.inexact
	r.measured += o.measured
}

// bound is the max error to report: results equal to the correctly rounded
// value are within 0.5 ulp.
func (r *ulpResult) bound() float64 {
	if r.inexact < r.measured {
		return max(r.max, 0.5)
	}
	return r.max
}

// f32Sampling returns the bit-pattern stride of the float32 measurement.
func f32Sampling() (stride uint64, mode string) {
	switch {
	case os.Getenv("GRADFLOW_EXHAUSTIVE") == "1":
		return 1, "all 2^32 inputs"
	case testing.Short():
		return 4093, "every 4093rd bit pattern"
	}
	return 17, "every 17th bit pattern"
}

// region32 reports the correctly rounded result of fn on every x in
// [lo, hi] (lo <= hi, same sign) when it is the same simple function of x
// there: a constant, or x itself (identity).
func region32(fn mathFunc, lo, hi float32) (c float32, identity, ok bool) {
	inside := func(a, b float32) bool { return lo >= a && hi <= b }
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	if lo != lo && hi != hi { // a run of NaN patterns
		return nan, false, true
	}
	if lo != lo || hi != hi {
		return 0, false, false
	}
	switch fn {
	case "exp":
		switch {
		case inside(89, inf):
			return inf, false, true
		case inside(-inf, -104):
			return 0, false, true
		case inside(-0x1p-26, 0x1p-26):
			return 1, false, true
		}
	case "log":
		if inside(-inf, -math.SmallestNonzeroFloat32) {
			return nan, false, true
		}
	case "tanh":
		switch {
		case inside(9.2, inf):
			return 1, false, true
		case inside(-inf, -9.2):
			return -1, false, true
		case inside(-0x1p-12, 0x1p-12): // tanh(x) = x(1 - x^2/3 + ...)
			return 0, true, true
		}
	case "sigmoid":
		switch {
		case inside(18, inf):
			return 1, false, true
		case inside(-inf, -104):
			return 0, false, true
		case inside(-0x1p-26, 0x1p-26):
			return 0.5, false, true
		}
	}
	return 0, false, false
}

// measure32 measures fn of every table on the inputs of the given stride.
func measure32(fn mathFunc, tabs []*table, stride uint64) []ulpResult {
	const chunk = 1 << 16
	n := (uint64(1)<<32 + stride - 1) / stride
	nChunks := int64((n + chunk - 1) / chunk)
	var next atomic.Int64
	var mu sync.Mutex
	total := make([]ulpResult, len(tabs))
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := make([]float32, chunk)
			ref := make([]float64, chunk)
			got := make([]float32, chunk)
			res := make([]ulpResult, len(tabs))
			for {
				c := next.Add(1) - 1
				if c >= nChunks {
					break
				}
				j0 := uint64(c) * chunk
				m := int(min(chunk, n-j0))
				xs, gs, rs := x[:m], got[:m], ref[:m]
				for i := range xs {
					xs[i] = math.Float32frombits(uint32((j0 + uint64(i)) * stride))
				}
				lo, hi := xs[0], xs[m-1]
				if math.Signbit(float64(lo)) {
					lo, hi = hi, lo
				}
				var cst float32
				var identity, inRegion bool
				if math.Signbit(float64(xs[0])) == math.Signbit(float64(xs[m-1])) {
					cst, identity, inRegion = region32(fn, lo, hi)
				}
				if !inRegion {
					for i, v := range xs {
						rs[i] = fn.ref64(float64(v))
					}
				}
				for ti, tab := range tabs {
					kernelOf(fn, tab.s)(gs, xs)
					r := &res[ti]
					r.measured += int64(m)
					for i, g := range gs {
						if inRegion {
							want := cst
							if identity {
								want = xs[i]
							}
							if sameFloat(g, want) {
								continue
							}
							r.add(err32(g, fn.ref64(float64(xs[i]))), float64(xs[i]), float64(g))
							continue
						}
						if g == float32(rs[i]) || g != g && rs[i] != rs[i] {
							continue
						}
						r.add(err32(g, rs[i]), float64(xs[i]), float64(g))
					}
				}
			}
			mu.Lock()
			for i := range total {
				total[i].merge(res[i])
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return total
}

func TestULPFloat32(t *testing.T) {
	stride, mode := f32Sampling()
	var simd []*table
	for _, tier := range allTiers {
		switch {
		case !tierSupported(tier):
			t.Logf("tier %s not available on this CPU/build: not measured", tier)
		case tier != TierGeneric:
			simd = append(simd, newTable(tier))
		}
	}
	for _, fn := range mathFuncs {
		t.Run(string(fn), func(t *testing.T) {
			t.Parallel()
			// The generic kernels cost as much as the reference: they
			// get the -short sample only.
			res := append(measure32(fn, simd, stride), measure32(fn, []*table{newTable(TierGeneric)}, 4093)...)
			tabs := append(simd[:len(simd):len(simd)], newTable(TierGeneric))
			for i, tab := range tabs {
				r := res[i]
				m := mode
				if tab.name == TierGeneric {
					m = "every 4093rd bit pattern"
				}
				reportULP(t, fn, true, tab, r, m)
			}
		})
	}
}

func reportULP(t *testing.T, fn mathFunc, f32 bool, tab *table, r ulpResult, mode string) {
	t.Helper()
	dt := "float64"
	if f32 {
		dt = "float32"
	}
	tier := tab.name
	b := tierBound(t, tab, fn, f32)
	worst := "all correctly rounded"
	if r.inexact > 0 {
		worst = fmt.Sprintf("worst at x=%v (got %v); %d of %d results not correctly rounded", r.at, r.got, r.inexact, r.measured)
	}
	msg := fmt.Sprintf("%-7s %s %-7s max error %.4f ulp (bound %g), %s; %s", fn, dt, tier, r.bound(), b, worst, mode)
	if !(r.bound() <= b) {
		t.Error(msg)
		return
	}
	t.Log(msg)
}

// ---------------------------------------------------------------------------
// float64.

// sample64 draws an input for fn: mostly from where fn is not trivial,
// some from everywhere (any bit pattern, and any magnitude).
func sample64(rng *rand.Rand, fn mathFunc) float64 {
	sign := func(v float64) float64 {
		if rng.IntN(2) == 0 {
			return -v
		}
		return v
	}
	logUniform := func(lo, hi int) float64 { return math.Ldexp(1+rng.Float64(), lo+rng.IntN(hi-lo+1)) }
	uniform := func(a, b float64) float64 { return a + (b-a)*rng.Float64() }
	switch rng.IntN(10) {
	case 0:
		return math.Float64frombits(rng.Uint64())
	case 1:
		return sign(logUniform(-1074, 1023))
	}
	switch fn {
	case "exp":
		switch rng.IntN(4) {
		case 0:
			return uniform(-746, 710)
		case 1:
			return sign(logUniform(-60, 6))
		case 2:
			return uniform(700, 709.8)
		}
		return uniform(-746, -700) // denormal results
	case "log":
		switch rng.IntN(4) {
		case 0:
			return logUniform(-1074, 1023)
		case 1:
			return uniform(0.5, 2)
		case 2:
			return 1 + sign(math.Ldexp(rng.Float64(), -1-rng.IntN(52)))
		}
		return uniform(0, 0x1p-1022) // denormal inputs
	case "tanh":
		switch rng.IntN(4) {
		case 0:
			return sign(logUniform(-60, 5))
		case 1:
			return uniform(-1.5, 1.5)
		case 2:
			return sign(uniform(0.86, 0.89)) // around the switch to exp
		}
		return uniform(-25, 25)
	}
	switch rng.IntN(4) {
	case 0:
		return sign(logUniform(-60, 10))
	case 1:
		return uniform(-40, 40)
	case 2:
		return uniform(-746, -700)
	}
	return uniform(-746, 40)
}

func TestULPFloat64(t *testing.T) {
	n := 2_000_000
	switch {
	case os.Getenv("GRADFLOW_EXHAUSTIVE") == "1":
		n = 20_000_000
	case testing.Short():
		n = 200_000
	}
	var tabs []*table
	for _, tier := range allTiers {
		if tierSupported(tier) {
			tabs = append(tabs, newTable(tier))
		} else {
			t.Logf("tier %s not available on this CPU/build: not measured", tier)
		}
	}
	for fi, fn := range mathFuncs {
		t.Run(string(fn), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(fi), 64))
			x := make([]float64, n)
			for i := range x {
				x[i] = sample64(rng, fn)
			}
			ref := make([]xv, n)
			parallelFor(n, func(i int) { ref[i] = refDD(fn, x[i]) })
			got := make([]float64, n)
			for _, tab := range tabs {
				kernelOf(fn, tab.d)(got, x)
				var r ulpResult
				r.measured = int64(n)
				for i, g := range got {
					e := err64(g, ref[i])
					if e > 0.5 || e != e {
						r.add(e, x[i], g)
					}
				}
				reportULP(t, fn, false, tab, r, fmt.Sprintf("%d random inputs", n))
			}
		})
	}
}

// parallelFor runs f(i) for i < n on all Ps.
func parallelFor(n int, f func(i int)) {
	var wg sync.WaitGroup
	p := runtime.GOMAXPROCS(0)
	for w := 0; w < p; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += p {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// TestGenericMathWorkarounds pins the inputs where package math on amd64
// is wrong and exp64 and log64 work around it: math.Exp overflows early
// above 709.44, and math.Log ignores the exponent of denormals.
func TestGenericMathWorkarounds(t *testing.T) {
	for _, x := range []float64{709.44, 709.5, 709.78, exp64Overflow, 709.7828, 710} {
		if e := err64(exp64(x), refExp(x)); !(e <= 2) {
			t.Errorf("exp64(%v) = %v, %.3g ulp from exp(x)", x, exp64(x), e)
		}
	}
	for _, x := range []float64{math.SmallestNonzeroFloat64, 1e-310, 0x1p-1023, 0x1.fffffffffffffp-1023} {
		if e := err64(log64(x), refLog(x)); !(e <= 1) {
			t.Errorf("log64(%v) = %v, %.3g ulp from log(x)", x, log64(x), e)
		}
	}
	t.Logf("for comparison, on %s: math.Exp(709.5) = %v, math.Log(5e-324) = %v (log(5e-324) = -744.44)",
		runtime.GOARCH, math.Exp(709.5), math.Log(5e-324))
}
