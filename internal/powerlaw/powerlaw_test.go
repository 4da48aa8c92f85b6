package powerlaw

import (
	"math"
	"testing"
)

func TestSlope(t *testing.T) {
	x := []float64{16, 64, 256, 1024}
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = 3 * math.Pow(v, -0.5)
	}
	// An exact power law: the fit is exact up to rounding of the logs.
	if s := Slope(x, y); math.Abs(s+0.5) > 1e-12 {
		t.Errorf("Slope of 3 x^-0.5 = %v, want -0.5", s)
	}
	// Points a logarithm cannot take are skipped, not fitted.
	yBad := append([]float64(nil), y...)
	yBad[1], yBad[2] = 0, math.Inf(1)
	if s := Slope(x, yBad); math.Abs(s+0.5) > 1e-12 {
		t.Errorf("Slope with a zero and an infinity = %v, want -0.5 from the other two", s)
	}
	yBad[0] = math.NaN()
	if s := Slope(x, yBad); !math.IsNaN(s) {
		t.Errorf("Slope with one usable point = %v, want NaN", s)
	}
}

// TestTInterval: the mean and the 95% interval of 1, 2, 3 (s = 1, n = 3,
// t_{0.975,2} = 4.3027), and NaN bounds for a single value.
func TestTInterval(t *testing.T) {
	m, lo, hi := TInterval([]float64{1, 2, 3})
	half := 4.302652729911275 / math.Sqrt(3)
	if m != 2 || math.Abs(lo-(2-half)) > 1e-9 || math.Abs(hi-(2+half)) > 1e-9 {
		t.Errorf("TInterval(1, 2, 3) = %v [%v, %v], want 2 [%v, %v]", m, lo, hi, 2-half, 2+half)
	}
	if m, lo, hi := TInterval([]float64{5}); m != 5 || !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Errorf("TInterval(5) = %v [%v, %v], want 5 [NaN, NaN]", m, lo, hi)
	}
}

// TestSortedQuantile: type-7 quantiles of 1..5: the ends, the median, and
// interpolation between order statistics.
func TestSortedQuantile(t *testing.T) {
	s := []float64{1, 2, 3, 4, 5}
	for _, c := range []struct{ p, want float64 }{{0, 1}, {1, 5}, {0.5, 3}, {0.1, 1.4}, {0.975, 4.9}} {
		if got := SortedQuantile(s, c.p); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("p %v: %v, want %v", c.p, got, c.want)
		}
	}
	if got := SortedQuantile([]float64{7}, 0.3); got != 7 {
		t.Errorf("one value: %v, want 7", got)
	}
}
