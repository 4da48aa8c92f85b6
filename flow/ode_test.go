package flow

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/internal/powerlaw"
)

// rotDecay is y' = A y with A = [[-a, -w], [w, -a]]: a decaying rotation,
// y(t) = e^{-a t} R(w t) y0.
func rotDecay(a, w float64) (Field, func(t float64, y0, dst []float64)) {
	f := func(_ float64, y, dy []float64) {
		dy[0] = -a*y[0] - w*y[1]
		dy[1] = w*y[0] - a*y[1]
	}
	exact := func(t float64, y0, dst []float64) {
		e, c, s := math.Exp(-a*t), math.Cos(w*t), math.Sin(w*t)
		dst[0] = e * (c*y0[0] - s*y0[1])
		dst[1] = e * (s*y0[0] + c*y0[1])
	}
	return f, exact
}

func maxAbsDiff(a, b []float64) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

// With a fixed step (loose tolerance, MaxStep = InitialStep = h) the error
// at T of a fifth-order method falls like h^5, and the fourth-order dense
// output at interior times (off the step grid) at least like h^4.
func TestDormandPrinceOrder(t *testing.T) {
	f, exact := rotDecay(0.5, 2)
	y0 := []float64{1, 0.5}
	const T = 2.0
	// Output times off the step grid of every h below.
	times := []float64{0.37, 1.13, T}
	var hs, errEnd, errDense []float64
	for _, n := range []int{10, 20, 40, 80} {
		h := T / float64(n)
		d, err := NewDormandPrince(2, ODEOptions{RTol: 1e3, ATol: 1e3, InitialStep: h, MaxStep: h})
		if err != nil {
			t.Fatal(err)
		}
		out := [][]float64{make([]float64, 2), make([]float64, 2), make([]float64, 2)}
		st, err := d.Solve(context.Background(), f, 0, y0, times, out)
		if err != nil {
			t.Fatal(err)
		}
		if st.Accepted != n || st.Rejected != 0 {
			t.Fatalf("h = %g: %d accepted, %d rejected steps, want %d and 0", h, st.Accepted, st.Rejected, n)
		}
		if st.Evals != 1+6*n {
			t.Errorf("h = %g: %d field evaluations, want 1 + 6 per step (first same as last) = %d", h, st.Evals, 1+6*n)
		}
		want := make([]float64, 2)
		exact(T, y0, want)
		hs = append(hs, h)
		errEnd = append(errEnd, maxAbsDiff(out[2], want))
		var e float64
		for i := range 2 {
			exact(times[i], y0, want)
			e = math.Max(e, maxAbsDiff(out[i], want))
		}
		errDense = append(errDense, e)
	}
	pEnd, pDense := powerlaw.Slope(hs, errEnd), powerlaw.Slope(hs, errDense)
	t.Logf("errors at T %.3g: order %.3f; dense %.3g: order %.3f", errEnd, pEnd, errDense, pDense)
	if math.Abs(pEnd-5) > 0.3 {
		t.Errorf("order at the step grid %.3f, want 5 +- 0.3", pEnd)
	}
	if pDense < 3.8 {
		t.Errorf("order of the dense output %.3f, want >= 4 (fourth-order interpolant) - 0.2", pDense)
	}
}

// With error control the global error follows the tolerance and stays
// below the accumulated local error estimates (a contractive field).
func TestDormandPrinceTolerance(t *testing.T) {
	f, exact := rotDecay(1, 3)
	y0 := []float64{2, -1}
	const T = 5.0
	want := make([]float64, 2)
	exact(T, y0, want)
	prevErr := math.Inf(1)
	for _, tol := range []float64{1e-4, 1e-6, 1e-8, 1e-10, 1e-12} {
		d, err := NewDormandPrince(2, ODEOptions{RTol: tol, ATol: tol})
		if err != nil {
			t.Fatal(err)
		}
		out := [][]float64{make([]float64, 2)}
		st, err := d.Solve(context.Background(), f, 0, y0, []float64{T}, out)
		if err != nil {
			t.Fatal(err)
		}
		e := maxAbsDiff(out[0], want)
		t.Logf("tol %.0e: error %.3g, bound %.3g, %d steps (%d rejected)", tol, e, st.ErrorBound, st.Accepted, st.Rejected)
		if e > st.ErrorBound {
			t.Errorf("tol %.0e: error %.3g exceeds the accumulated estimate %.3g", tol, e, st.ErrorBound)
		}
		if e > 100*tol {
			t.Errorf("tol %.0e: error %.3g is more than 100x the tolerance", tol, e)
		}
		if tol >= 1e-10 && !(e < prevErr) {
			t.Errorf("tol %.0e: error %.3g did not fall (previous %.3g)", tol, e, prevErr)
		}
		prevErr = e
	}
}

// y' = -y on [0, 1]: e^-1 to 1e-12 at a tight tolerance; outputs at t0 are
// the initial point, repeated times are allowed.
func TestDormandPrinceExponential(t *testing.T) {
	d, err := NewDormandPrince(1, ODEOptions{RTol: 1e-13, ATol: 1e-15})
	if err != nil {
		t.Fatal(err)
	}
	times := []float64{0, 0.5, 0.5, 1}
	out := make([][]float64, len(times))
	for i := range out {
		out[i] = make([]float64, 1)
	}
	f := func(_ float64, y, dy []float64) { dy[0] = -y[0] }
	if _, err := d.Solve(context.Background(), f, 0, []float64{1}, times, out); err != nil {
		t.Fatal(err)
	}
	for i, ti := range times {
		if e := math.Abs(out[i][0] - math.Exp(-ti)); e > 1e-12 {
			t.Errorf("y(%g) = %.15f, want e^-%g = %.15f (error %.2g)", ti, out[i][0], ti, math.Exp(-ti), e)
		}
	}
}

// The step cap bounds every step, and a cap from the stiffness keeps an
// explicit solve of a stiff linear problem stable with few rejections.
func TestDormandPrinceStepCap(t *testing.T) {
	const lam = 1000.0
	f := func(_ float64, y, dy []float64) { dy[0] = -lam * y[0]; dy[1] = -y[1] }
	capH := 0.9 * dpStability / lam
	for _, capped := range []bool{false, true} {
		opts := ODEOptions{RTol: 1e-6}
		if capped {
			opts.StepCap = func(float64, []float64) float64 { return capH }
		}
		d, err := NewDormandPrince(2, opts)
		if err != nil {
			t.Fatal(err)
		}
		out := [][]float64{make([]float64, 2)}
		st, err := d.Solve(context.Background(), f, 0, []float64{1, 1}, []float64{2}, out)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("capped %v: %d accepted, %d rejected, max step %.4g", capped, st.Accepted, st.Rejected, st.MaxStep)
		if e := math.Abs(out[0][1] - math.Exp(-2)); e > 1e-5 {
			t.Errorf("capped %v: slow component error %.3g", capped, e)
		}
		if capped {
			if st.MaxStep > capH*(1+1e-12) {
				t.Errorf("max step %.4g exceeds the cap %.4g", st.MaxStep, capH)
			}
			if st.Rejected > 3 {
				t.Errorf("%d rejections under the stiffness cap, want at most 3", st.Rejected)
			}
		}
	}
}

func TestDormandPrinceErrors(t *testing.T) {
	ok := func(_ float64, y, dy []float64) { dy[0] = -y[0] }
	one := [][]float64{make([]float64, 1)}
	cases := []struct {
		name  string
		opts  ODEOptions
		f     Field
		y0    []float64
		times []float64
		out   [][]float64
		want  string
	}{
		{"negative tol", ODEOptions{RTol: -1}, ok, []float64{1}, []float64{1}, one, "tolerances"},
		{"tiny tol", ODEOptions{RTol: 1e-16}, ok, []float64{1}, []float64{1}, one, "float64"},
		{"wrong y0", ODEOptions{}, ok, []float64{1, 2}, []float64{1}, one, "length 2"},
		{"decreasing times", ODEOptions{}, ok, []float64{1}, []float64{1, 0.5}, [][]float64{{0}, {0}}, "non-decreasing"},
		{"before start", ODEOptions{}, ok, []float64{1}, []float64{-1}, one, ">= the start"},
		{"NaN y0", ODEOptions{}, ok, []float64{math.NaN()}, []float64{1}, one, "NaN"},
		{"NaN field", ODEOptions{}, func(_ float64, _, dy []float64) { dy[0] = math.NaN() }, []float64{1}, []float64{1}, one, "not finite"},
		{"blow-up", ODEOptions{MaxSteps: 200}, func(_ float64, y, dy []float64) { dy[0] = y[0] * y[0] }, []float64{1}, []float64{2}, one, ""},
	}
	for _, c := range cases {
		d, err := NewDormandPrince(1, c.opts)
		if err == nil {
			_, err = d.Solve(context.Background(), c.f, 0, c.y0, c.times, c.out)
		}
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d, _ := NewDormandPrince(1, ODEOptions{})
	if _, err := d.Solve(ctx, ok, 0, []float64{1}, []float64{1}, one); err != context.Canceled {
		t.Errorf("cancelled context: error %v, want context.Canceled", err)
	}
}
