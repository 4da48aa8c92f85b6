package figure

import (
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
)

// Tick counts. A log axis labels at least minLogLabels values (fewer only
// when the axis covers too little for its values to differ in a short
// label) and at most maxLogLabels decades; a linear axis asks linearTicks
// for at least axisLabels labels, a colour bar for barLabels.
const (
	minLogLabels = 3
	maxLogLabels = 7
	axisLabels   = 4
	barLabels    = 6
	// maxMinorDecades bounds the unlabelled decade ticks of an axis over
	// many decades, so that a blow-up to 1e300 draws no solid comb.
	maxMinorDecades = 40
)

// logTicker labels a logarithmic axis so that a reader can read it
// whatever its range:
//   - over many decades, powers of ten every k decades (k = 1, 2, 5, 10,
//     20, 50, ...: the smallest that gives at most maxLogLabels labels),
//     with unlabelled ticks at decades in between;
//   - over a few decades, every power of ten when that makes at least
//     minLogLabels labels, otherwise 1, 2 and 5 times each power of ten,
//     with unlabelled ticks at the other mantissas 2..9;
//   - within about a decade, where even 1-2-5 would give fewer than
//     minLogLabels labels, evenly spaced round values as on a linear
//     axis (on a range this short a log axis is nearly linear).
type logTicker struct{}

// Ticks implements plot.Ticker.
func (logTicker) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) || math.IsInf(hi, 0) {
		if lo > 0 && !math.IsInf(lo, 0) {
			return []plot.Tick{{Value: lo, Label: plainLabel(lo)}}
		}
		return nil
	}
	// The decades of lo and hi (one more either side: log10 may round
	// across a power of ten; inRange has the last word), computed
	// without hi/lo, which overflows across the whole float64 range.
	e0 := int(math.Floor(log10(lo))) - 1
	e1 := int(math.Floor(log10(hi))) + 1
	k := decadeStep(lo, hi, e0, e1)
	if k > 1 {
		return thinDecades(lo, hi, e0, e1, k)
	}
	for _, ms := range [][]int{{1}, {1, 2, 5}} {
		ticks := mantissaTicks(lo, hi, e0, e1, ms)
		if labelled(ticks) >= minLogLabels {
			return ticks
		}
	}
	return linearTicks(lo, hi, minLogLabels, false)
}

// decadeStep returns the smallest k of 1, 2, 5, 10, 20, ... for which the
// powers 10^(k*i) within [lo, hi] are at most maxLogLabels.
func decadeStep(lo, hi float64, e0, e1 int) int {
	for k := 1; ; k = nextStep(k) {
		if len(decadeMultiples(lo, hi, e0, e1, k)) <= maxLogLabels {
			return k
		}
	}
}

// nextStep is the value after k in 1, 2, 5, 10, 20, 50, ...
func nextStep(k int) int {
	switch d := k / pow10int(k); d {
	case 2:
		return k / 2 * 5
	default:
		return k * 2
	}
}

// pow10int is the largest power of ten not above k (k >= 1).
func pow10int(k int) int {
	p := 1
	for p*10 <= k {
		p *= 10
	}
	return p
}

// decadeMultiples returns the exponents e, multiples of k, with 10^e in
// [lo, hi].
func decadeMultiples(lo, hi float64, e0, e1, k int) []int {
	var es []int
	for e := ceilMultiple(e0, k); e <= e1; e += k {
		if v := math.Pow10(e); inRange(v, lo, hi) {
			es = append(es, e)
		}
	}
	return es
}

// ceilMultiple returns the smallest multiple of k that is >= e.
func ceilMultiple(e, k int) int {
	m := e / k * k
	if m < e {
		m += k
	}
	return m
}

// inRange reports whether v lies in [lo, hi] up to rounding of 10^e.
func inRange(v, lo, hi float64) bool {
	const tol = 1e-9
	return v > 0 && !math.IsInf(v, 0) && v >= lo*(1-tol) && v <= hi*(1+tol)
}

// thinDecades labels the powers 10^e with e a multiple of k and puts
// unlabelled ticks at the multiples of the finest step that divides k and
// keeps them under maxMinorDecades.
func thinDecades(lo, hi float64, e0, e1, k int) []plot.Tick {
	var ticks []plot.Tick
	for _, e := range decadeMultiples(lo, hi, e0, e1, k) {
		ticks = append(ticks, plot.Tick{Value: math.Pow10(e), Label: mantissaLabel(1, e)})
	}
	for minor := 1; minor < k; minor = nextStep(minor) {
		if k%minor != 0 || (e1-e0)/minor > maxMinorDecades {
			continue
		}
		for _, e := range decadeMultiples(lo, hi, e0, e1, minor) {
			if e%k != 0 {
				ticks = append(ticks, plot.Tick{Value: math.Pow10(e)})
			}
		}
		break
	}
	return ticks
}

// mantissaTicks labels m*10^e for m in ms and every decade from e0 to e1,
// with unlabelled ticks at the other mantissas 2..9.
func mantissaTicks(lo, hi float64, e0, e1 int, ms []int) []plot.Tick {
	var ticks []plot.Tick
	for e := e0; e <= e1; e++ {
		for m := 1; m <= 9; m++ {
			v := float64(m) * math.Pow10(e)
			if !inRange(v, lo, hi) {
				continue
			}
			t := plot.Tick{Value: v}
			for _, lm := range ms {
				if m == lm {
					t.Label = mantissaLabel(m, e)
				}
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

func labelled(ticks []plot.Tick) int {
	n := 0
	for _, t := range ticks {
		if !t.IsMinor() {
			n++
		}
	}
	return n
}

// mantissaLabel writes m*10^e exactly: as a plain number for
// 0.001 <= m*10^e < 100000, otherwise as "me<e>" (2e-7, 1e300).
func mantissaLabel(m, e int) string {
	d := strconv.Itoa(m)
	switch {
	case e >= 0 && e <= 4:
		return d + strings.Repeat("0", e)
	case e < 0 && e >= -3:
		return "0." + strings.Repeat("0", -e-1) + d
	default:
		return d + "e" + strconv.Itoa(e)
	}
}

// plainLabel writes v in at most 4 significant digits.
func plainLabel(v float64) string {
	return tidyExponent(strconv.FormatFloat(v, 'g', 4, 64))
}

// linearTicks labels [lo, hi] at the multiples of the coarsest round step
// (1, 2, 2.5 or 5 times a power of ten) that gives at least want labels,
// which gives at most about 2*want, with unlabelled ticks halfway (a fifth
// of the way for the step 2.5) between them. With integers, the step is a
// whole number not of the form 2.5*10^k and no tick falls between
// integers (for the rows and columns of a matrix).
func linearTicks(lo, hi float64, want int, integers bool) []plot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) || max(math.Abs(lo), math.Abs(hi)) > 1e12*(hi-lo) {
		// Empty, unbounded, or so narrow for its magnitude that round
		// steps cannot be counted in float64: label the ends.
		if !(hi > lo) {
			return []plot.Tick{{Value: lo, Label: plainLabel(lo)}}
		}
		return []plot.Tick{{Value: lo, Label: plainLabel(lo)}, {Value: hi, Label: plainLabel(hi)}}
	}
	// Start at a step too coarse for want labels and refine.
	exp := int(math.Ceil(log10(hi - lo)))
	mantissas := []float64{5, 2.5, 2, 1}
	var step float64
	var stepExp int
	var mant float64
search:
	for e := exp; e > exp-4; e-- {
		for _, m := range mantissas {
			s := m * math.Pow10(e)
			if integers && (e < 0 || m == 2.5) {
				continue
			}
			if count(lo, hi, s) >= want || integers && e == 0 && m == 1 {
				step, stepExp, mant = s, e, m
				break search
			}
		}
	}
	if step == 0 {
		return []plot.Tick{{Value: lo, Label: plainLabel(lo)}, {Value: hi, Label: plainLabel(hi)}}
	}
	format := linearFormat(lo, hi, stepExp, mant)
	minor := step / 2
	switch {
	case integers && step == 1:
		minor = step
	case mant == 2.5, integers && mant == 5:
		minor = step / 5
	}
	var ticks []plot.Tick
	first := math.Ceil(lo/minor - 1e-9)
	perMajor := math.Round(step / minor)
	for i := first; i*minor <= hi+minor*1e-9; i++ {
		v := i * minor
		if v == 0 {
			v = 0 // no "-0"
		}
		t := plot.Tick{Value: v}
		if math.Mod(i, perMajor) == 0 {
			t.Label = format(v)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// count is the number of multiples of step in [lo, hi].
func count(lo, hi, step float64) int {
	return int(math.Floor(hi/step+1e-9) - math.Ceil(lo/step-1e-9) + 1)
}

// linearFormat writes the multiples of the step mant*10^stepExp with
// just the digits that tell them apart: fixed-point for magnitudes from
// 0.001 to 10^6, otherwise in exponent form.
func linearFormat(lo, hi float64, stepExp int, mant float64) func(float64) string {
	digits := -stepExp
	if mant == 2.5 {
		digits++
	}
	big := max(math.Abs(lo), math.Abs(hi))
	if big >= 1e6 || big < 1e-3 {
		sig := int(math.Floor(log10(big))) + digits
		return func(v float64) string {
			if v == 0 {
				return "0"
			}
			return tidyExponent(strconv.FormatFloat(v, 'e', max(sig, 0), 64))
		}
	}
	return func(v float64) string { return strconv.FormatFloat(v, 'f', max(digits, 0), 64) }
}

// log10 is math.Log10 that stays accurate for subnormal v.
func log10(v float64) float64 {
	f, e := math.Frexp(v)
	return math.Log10(f) + float64(e)*math.Log10(2)
}

// tidyExponent shortens Go's exponent form: 1.5e-07 -> 1.5e-7,
// 2e+06 -> 2e6.
func tidyExponent(s string) string {
	i := strings.IndexByte(s, 'e')
	if i < 0 {
		return s
	}
	mant, exp := s[:i], s[i+1:]
	sign := ""
	switch exp[0] {
	case '-':
		sign, exp = "-", exp[1:]
	case '+':
		exp = exp[1:]
	}
	exp = strings.TrimLeft(exp, "0")
	if exp == "" {
		return mant
	}
	return mant + "e" + sign + exp
}
