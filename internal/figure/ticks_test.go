package figure

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"gonum.org/v1/plot"
)

func labels(ticks []plot.Tick) []string {
	var ls []string
	for _, t := range ticks {
		if !t.IsMinor() {
			ls = append(ls, t.Label)
		}
	}
	return ls
}

func TestLogTickerLabels(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		want   []string
	}{
		// Widths 64..2048: powers of ten alone would label only 100
		// and 1000.
		{64, 2048, []string{"100", "200", "500", "1000", "2000"}},
		{0.9, 110, []string{"1", "10", "100"}},
		{6, 8000, []string{"10", "100", "1000"}},
		{0.04, 0.7, []string{"0.05", "0.1", "0.2", "0.5"}},
		// Within a decade: round linear steps.
		{0.13, 0.17, []string{"0.13", "0.14", "0.15", "0.16", "0.17"}},
		{2e-7, 5e-7, []string{"2e-7", "3e-7", "4e-7", "5e-7"}},
		// A blow-up: every 50th decade.
		{1e-3, 1e300, []string{"1", "1e50", "1e100", "1e150", "1e200", "1e250", "1e300"}},
	} {
		got := labels(logTicker{}.Ticks(c.lo, c.hi))
		if !slices.Equal(got, c.want) {
			t.Errorf("log ticks on [%g, %g]: labels %q, want %q", c.lo, c.hi, got, c.want)
		}
	}
}

// TestLogTickerAnyRange checks, on random ranges from a hair over a factor
// 1 to the whole range of normal float64s, that a log axis gets between 3 and 12
// distinct labels, each of which reads back as its tick's value, all
// ticks inside the range and not so many that they draw a solid comb.
func TestLogTickerAnyRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		e := -307 + rng.Float64()*615           // normal floats: subnormals carry too few digits to label
		span := math.Pow(10, rng.Float64()*3-2) // 0.01 .. 10 decades
		if rng.IntN(3) == 0 {
			span = rng.Float64() * 640
		}
		lo := math.Pow(10, e)
		hi := math.Pow(10, min(e+span, 308))
		if !(lo > 0) || !(hi > lo*1.001) || math.IsInf(hi, 0) {
			continue
		}
		ticks := logTicker{}.Ticks(lo, hi)
		ls := labels(ticks)
		if len(ls) < minLogLabels || len(ls) > 12 {
			t.Fatalf("[%g, %g]: %d labels %q, want %d..12", lo, hi, len(ls), ls, minLogLabels)
		}
		if len(ticks) > 100 {
			t.Fatalf("[%g, %g]: %d ticks", lo, hi, len(ticks))
		}
		seen := map[string]bool{}
		for _, tk := range ticks {
			if tk.Value < lo*(1-1e-9) || tk.Value > hi*(1+1e-9) {
				t.Fatalf("[%g, %g]: tick %g outside", lo, hi, tk.Value)
			}
			if tk.IsMinor() {
				continue
			}
			if seen[tk.Label] {
				t.Fatalf("[%g, %g]: label %q twice in %q", lo, hi, tk.Label, ls)
			}
			seen[tk.Label] = true
			v, err := strconv.ParseFloat(tk.Label, 64)
			// Labels have at least 2 significant digits when they are
			// steps within a decade: 0.5% is within the last one.
			if err != nil || math.Abs(v-tk.Value) > 5e-3*tk.Value {
				t.Fatalf("[%g, %g]: label %q of tick %g (parse err %v)", lo, hi, tk.Label, tk.Value, err)
			}
		}
	}
}

func TestLinearTicks(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		want   int
		labels []string
	}{
		{0, 1, barLabels, []string{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}},
		{0.13, 1, barLabels, []string{"0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1.0"}},
		{45, 900, axisLabels, []string{"200", "400", "600", "800"}},
		{-3, 2.5, axisLabels, []string{"-3", "-2", "-1", "0", "1", "2"}},
		{1.5e6, 3e6, axisLabels, []string{"1.5e6", "2.0e6", "2.5e6", "3.0e6"}},
	} {
		got := labels(linearTicks(c.lo, c.hi, c.want, false))
		if !slices.Equal(got, c.labels) {
			t.Errorf("linear ticks on [%g, %g] (want %d): %q, want %q", c.lo, c.hi, c.want, got, c.labels)
		}
	}
	// Matrix indices: whole numbers only, no tick between two rows.
	for _, n := range []int{1, 2, 3, 5, 10, 11, 256, 1000} {
		ticks := indexTicks(n, false).Ticks(-0.5, float64(n)-0.5)
		if len(labels(ticks)) < min(n, 2) {
			t.Errorf("%d rows: labels %q", n, labels(ticks))
		}
		for _, tk := range ticks {
			if tk.Value != math.Trunc(tk.Value) || tk.Value < 0 || tk.Value > float64(n-1) {
				t.Errorf("%d rows: tick at %g", n, tk.Value)
			}
		}
	}
}
