package flow

import (
	"context"
	"math"
	"testing"
)

// TestSVAGCoefficients: c1 + c2 = 1 (the mean gradient is kept) and c1^2 +
// c2^2 = l (the covariance is amplified l times), to rounding.
func TestSVAGCoefficients(t *testing.T) {
	for _, l := range []float64{1, 1.5, 2, 4, 8, 1000} {
		c1, c2 := SVAGCoefficients(l)
		if math.Abs(c1+c2-1) > 1e-12 || math.Abs(c1*c1+c2*c2-l) > 1e-12*l {
			t.Errorf("l=%g: c1 %v, c2 %v: sum %v, sum of squares %v", l, c1, c2, c1+c2, c1*c1+c2*c2)
		}
	}
	if c1, c2 := SVAGCoefficients(1); c1 != 1 || c2 != 0 {
		t.Errorf("l=1: (%v, %v), want SGD's (1, 0)", c1, c2)
	}
}

// TestSVAGNoisyQuadratic runs the default study of "train sde" (SVAG
// through train.Stepper with the SVAG loss, SVAGSpec and
// SVAGLoaderConfig, 512 chains) and checks, against the closed forms for
// lambda = sigma = 1, eta = 0.1:
//
//   - the stationary variance eta sigma^2/(2 lambda - eta lambda^2/l)
//     (0.052632 at l = 1, tending to 0.05) within 3%, with a Monte Carlo
//     standard error of about 0.45% of it (stated per l in the log);
//   - the error against the SME's 0.05, measured with the control variate
//     (standard error 8e-6 at l = 1 down to 1e-6 at l = 8), within 4
//     standard errors plus 5% of the error itself, which allows for the
//     few per cent by which the spread of the chains, sharing the rows
//     drawn, may understate the standard error;
//   - its log-log slope against l: -1 +- 0.15 (closed form -1.02);
//   - the SME integrated at dt = eta/8 by Euler-Maruyama and Heun: the
//     error of each against the scheme's exact stationary variance within
//     4 standard errors plus 2%.
//
// Under -short the window is a quarter as long and the tolerances are
// those of the standard errors only.
func TestSVAGNoisyQuadratic(t *testing.T) {
	cfg := DefaultSDEStudy()
	if testing.Short() {
		cfg.Time = 50
	}
	res, err := SDEStudy(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Summary.SDEVariance; math.Abs(got-0.05) > 1e-15 {
		t.Errorf("SDE variance %v, want 0.05", got)
	}
	for _, r := range res.SVAG {
		t.Logf("l=%g: variance %.6f +- %.6f (closed form %.6f); error %.4e +- %.1e (closed form %.4e)",
			r.L, r.Variance, r.VarianceSE, r.Theory, r.Error, r.ErrorSE, r.TheoryError)
		if want := 0.1 / (2 - 0.1/r.L); math.Abs(r.Theory-want) > 1e-15 {
			t.Errorf("l=%g: closed form %v, want %v", r.L, r.Theory, want)
		}
		if math.Abs(r.Variance/r.Theory-1) > 0.03 || math.Abs(r.Variance-r.Theory) > 4*r.VarianceSE+0.01*r.Theory {
			t.Errorf("l=%g: variance %.6f +- %.6f, closed form %.6f", r.L, r.Variance, r.VarianceSE, r.Theory)
		}
		if math.Abs(r.Error-r.TheoryError) > 4*r.ErrorSE+0.05*r.TheoryError {
			t.Errorf("l=%g: error %.4e +- %.1e, closed form %.4e", r.L, r.Error, r.ErrorSE, r.TheoryError)
		}
	}
	if r := res.SVAG[0]; r.L != 1 || math.Abs(r.Theory-0.052632) > 1e-6 {
		t.Errorf("l=1 closed form %.6f, want 0.052632", r.Theory)
	}
	slope, theory := res.Summary.SVAGSlope, res.Summary.TheorySlope
	if slope == nil || theory == nil {
		t.Fatal("no slope fitted")
	}
	t.Logf("slope of |error| against l: %.3f (closed form %.3f)", *slope, *theory)
	if math.Abs(*slope+1) > 0.15 {
		t.Errorf("SVAG error slope %.3f, want -1 +- 0.15", *slope)
	}
	for _, r := range res.SME {
		t.Logf("SME %s dt=%g: variance %.6f, error %.3e +- %.1e (scheme exactly %.3e)", r.Scheme, r.Dt, r.Variance, r.Error, r.ErrorSE, r.TheoryError)
		if math.Abs(r.Error-r.TheoryError) > 4*r.ErrorSE+0.02*math.Abs(r.TheoryError) {
			t.Errorf("SME %s: error %.4e +- %.1e, scheme exactly %.4e", r.Scheme, r.Error, r.ErrorSE, r.TheoryError)
		}
	}
}
