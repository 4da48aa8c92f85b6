package flow

import (
	"math"
	"testing"

	"github.com/gradflow/gradflow/internal/powerlaw"
)

// TestSMEStepIsTheScheme checks one step of each integrator against its
// formula on the OU process, with the noise the step drew: to rounding
// (1e-13 relative).
func TestSMEStepIsTheScheme(t *testing.T) {
	const lambda, s, eta, dt = 1.7, 0.6, 0.3, 0.05
	q, err := NewNoisyQuadratic(50, lambda, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, scheme := range Schemes {
		rec := &noiseRecorder{NoisyGradient: q}
		sme, err := NewSME(rec, SMEConfig{LR: eta, Dt: dt, Scheme: scheme, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float64, q.Dim())
		for i := range x {
			x[i] = float64(i) / 10
		}
		a, c := schemeCoefficients(scheme, lambda, dt)
		for range 5 {
			prev := append([]float64(nil), x...)
			sme.Step(x)
			for i := range x {
				want := a*prev[i] + c*math.Sqrt(eta*dt)*rec.last[i]
				if math.Abs(x[i]-want) > 1e-13*(1+math.Abs(want)) {
					t.Fatalf("%s: coordinate %d: %v, want %v", scheme, i, x[i], want)
				}
			}
		}
		if got := sme.Time(); math.Abs(got-5*dt) > 1e-15 {
			t.Errorf("%s: Time %v after 5 steps, want %v", scheme, got, 5*dt)
		}
	}
}

// TestSMEWeakOrder: on the OU process dX = -X dt + dW (lambda = s = eta =
// 1, stationary variance 1/2), integrated on p independent coordinates and
// measured by smeStationary (a control variate coupled to the exact OU
// transition; burn-in 8, window T = 40), the stationary variance of
// Euler-Maruyama is off by dt/4 to first order (1/(2(2 - dt)) - 1/2
// exactly) and that of the Heun scheme by -dt^2/8, so the error against dt
// has log-log slope 1 and 2: measured over dt = 0.2 .. 0.025, where the
// exact discrete variances give slopes 1.045 and 2.04, within 0.15. Each
// measured error must also match the scheme's exact stationary variance
// c^2 dt/(1 - a^2) - 1/2 within 4 standard errors plus 1% (the test
// reports both).
func TestSMEWeakOrder(t *testing.T) {
	dts := []float64{0.2, 0.1, 0.05, 0.025}
	p, T := 2000, 40.0
	if testing.Short() {
		p = 500
	}
	for _, c := range []struct {
		scheme Scheme
		order  float64
	}{{EulerMaruyama, 1}, {Heun, 2}} {
		errs := make([]float64, len(dts))
		for k, dt := range dts {
			q, err := NewNoisyQuadratic(p, 1, 1)
			if err != nil {
				t.Fatal(err)
			}
			m, se, err := smeStationary(q, SMEConfig{LR: 1, Dt: dt, Scheme: c.scheme, Seed: 11}, 8, T)
			if err != nil {
				t.Fatal(err)
			}
			want := schemeVariance(c.scheme, 1, 1, 1, dt) - 0.5
			t.Logf("%s dt=%g: variance error %.3e +- %.1e (exact scheme %.3e)", c.scheme, dt, m, se, want)
			if math.Abs(m-want) > 4*se+0.01*math.Abs(want) {
				t.Errorf("%s dt=%g: variance error %.4e +- %.1e, the scheme's exact value is %.4e", c.scheme, dt, m, se, want)
			}
			errs[k] = math.Abs(m)
		}
		slope := powerlaw.Slope(dts, errs)
		t.Logf("%s: log-log slope of |error| against dt %.3f (weak order %g)", c.scheme, slope, c.order)
		if math.Abs(slope-c.order) > 0.15 {
			t.Errorf("%s: slope %.3f, want %g +- 0.15", c.scheme, slope, c.order)
		}
	}
}
