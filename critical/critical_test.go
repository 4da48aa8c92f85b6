package critical

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// The default linear study: the measured B_noise against the closed form
// (5%: 65536 fresh samples, the sampling error of the fourth moments is
// about 1%), and the fitted B_crit against B_noise (30%: McCandlish et
// al.'s quadratic model gives B_crit = B_noise for the expected loss with
// the step-optimal rate; fixed rates on a grid and 16 seeds' mean loss
// leave a bias of a few percent to tens of percent, see the package doc).
func TestLinearCriticalBatch(t *testing.T) {
	r, err := Study(context.Background(), DefaultStudy("linear"))
	if err != nil {
		t.Fatal(err)
	}
	bn, exact := r.Noise.BNoise, r.Exact.BNoise
	if math.Abs(bn/exact-1) > 0.05 {
		t.Errorf("measured B_noise %.4g, closed form %.4g: off by more than 5%%", bn, exact)
	}
	bc := r.Tradeoff.Fit.BCrit
	if !(math.Abs(bc/bn-1) < 0.3) {
		t.Errorf("B_crit %.4g vs B_noise %.4g: off by more than 30%%", bc, bn)
	}
	t.Logf("B_noise %.4g (exact %.4g), B_simple %.4g (exact %.4g), B_crit %.4g, fit residual %.3f",
		bn, exact, r.Noise.BSimple, r.Exact.BSimple, bc, r.Tradeoff.Fit.RMSRelResidual)
	var buf bytes.Buffer
	if err := r.WriteJSONL(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var sum map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"b_noise", "b_noise_exact", "b_crit"} {
		if _, ok := sum[k].(float64); !ok || sum["kind"] != "summary" {
			t.Errorf("summary line %s: %q missing or not a number", lines[len(lines)-1], k)
		}
	}
}

// The closed form against the noise of an isotropic problem: B_noise =
// B_simple = 1 + (|delta|^2 + s^2) d / |delta|^2.
func TestLinearNoiseExactIsotropic(t *testing.T) {
	got := LinearNoiseExact([]float64{1, 1, 1, 1}, []float64{1, 0, 0, 0}, 0.5)
	if want := 1 + 1.5*4; math.Abs(got.BNoise-want) > 1e-12 || math.Abs(got.BSimple-want) > 1e-12 {
		t.Errorf("isotropic: B_noise %v, B_simple %v, want %v", got.BNoise, got.BSimple, want)
	}
}

// FitHyperbola recovers the parameters of points on the curve.
func TestFitHyperbolaExact(t *testing.T) {
	var bs, ss []float64
	for b := 1.0; b <= 512; b *= 2 {
		bs, ss = append(bs, b), append(ss, 20+300/b)
	}
	f, err := FitHyperbola(bs, ss)
	if err != nil || math.Abs(f.SMin-20) > 1e-9 || math.Abs(f.EMin-300) > 1e-7 || f.RMSRelResidual > 1e-12 {
		t.Errorf("fit %+v, err %v; want S_min 20, E_min 300", f, err)
	}
	if _, err := FitHyperbola([]float64{1, 2}, []float64{10, 12}); err == nil {
		t.Error("steps growing with the batch: want an error (no trade-off)")
	}
}

// On the digits MLP (a reduced grid) both noise scales and the fit are
// reported: finite and positive, with the fit's residual.
func TestDigitsReported(t *testing.T) {
	cfg := DefaultStudy("digits")
	cfg.MeasureN, cfg.HVPs, cfg.Batches, cfg.LRs = 256, 64, []int{8, 32, 128}, GeometricGrid(0.2, 2, 3)
	r, err := Study(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := r.Tradeoff.Fit
	for name, v := range map[string]float64{"b_noise": r.Noise.BNoise, "b_simple": r.Noise.BSimple, "b_crit": f.BCrit, "s_min": f.SMin, "e_min": f.EMin} {
		if !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("%s = %v, want finite and positive", name, v)
		}
	}
	if !(f.RMSRelResidual >= 0) || f.Points != 3 {
		t.Errorf("fit residual %v over %d points, want a number over 3", f.RMSRelResidual, f.Points)
	}
	t.Logf("digits: B_noise %.4g, B_simple %.4g, B_crit %.4g, residual %.3f", r.Noise.BNoise, r.Noise.BSimple, f.BCrit, f.RMSRelResidual)
}
