package landscape

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/train"
)

// A probe with every measurement on: the values agree with the direct
// estimators on the same subset, the output is one JSON object per
// measurement, and the same seed gives the same bytes.
func TestProbeAllMeasurements(t *testing.T) {
	run := func() ([]byte, Measurement, *Probe[float64]) {
		rng := newRand(12)
		ds, _, err := data.LinearRegression[float64](rng, 60, 4, 0.3)
		if err != nil {
			t.Fatal(err)
		}
		m, err := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{4, 16, 1}, Activation: nn.Tanh}, rng)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		p, err := NewProbe(ProbeConfig[float64]{
			Model: m, Loss: &train.MSE[float64]{Half: true}, Data: ds, Subset: 10, Every: 1, Out: &out, Seed: 4,
			Sharpness: &SharpnessBudget{K: 2, Iters: 40, Tol: 1e-8},
			Trace:     &TraceBudget{Probes: 50},
			PL:        &PLBudget{NTK: true},
			Noise:     &NoiseBudget{BatchSizes: []int{1, 5, 10}},
		})
		if err != nil {
			t.Fatal(err)
		}
		meas, err := p.Measure(7, 0.1)
		if err != nil {
			t.Fatal(err)
		}
		return out.Bytes(), meas, p
	}
	b1, meas, p := run()
	b2, _, _ := run()
	if !bytes.Equal(b1, b2) {
		t.Error("same seed, different output")
	}
	if strings.Count(string(b1), "\n") != 1 {
		t.Fatalf("want one JSON line, got %q", b1)
	}
	var back map[string]any
	if err := json.Unmarshal(b1, &back); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"step", "sharpness", "stability_ratio", "smoothness", "hessian_trace", "hessian_trace_se",
		"pl_ratio", "pl_mu", "pl_star", "grad_cov_trace", "b_simple", "minibatch_variance"} {
		if _, ok := back[key]; !ok {
			t.Errorf("JSON line lacks %q: %s", key, b1)
		}
	}
	obj := p.Objective()
	if obj.Batch().X.Dim(0) != 10 {
		t.Fatalf("subset of %d rows, want 10", obj.Batch().X.Dim(0))
	}
	x := obj.Point(nil)
	// Sharpness against a full Lanczos run on the same objective.
	full, err := Lanczos(obj, x, EigenOptions{K: 2, Iters: obj.Dim(), Tol: 1e-12, Rand: newRand(1)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if math.Abs(meas.Sharpness[i]-full.Values[i]) > 1e-6*math.Abs(full.Values[0]) {
			t.Errorf("probe eigenvalue %d = %v, full Lanczos %v", i, meas.Sharpness[i], full.Values[i])
		}
	}
	if math.Abs(*meas.StabilityRatio-meas.Sharpness[0]*0.1/2) > 1e-15 {
		t.Error("stability ratio is not sharpness * lr / 2")
	}
	// The trace estimate against the exact trace, sum of all Ritz values
	// of the full-dimension run, within 4 of its standard errors.
	exact, err := Lanczos(obj, x, EigenOptions{K: obj.Dim(), Iters: obj.Dim(), Tol: 1e-12, Rand: newRand(2)})
	if err != nil {
		t.Fatal(err)
	}
	tr := 0.0
	for _, v := range exact.Values {
		tr += v
	}
	if math.Abs(*meas.Trace-tr) > 4**meas.TraceStdErr {
		t.Errorf("probe trace %v +- %v, exact %v", *meas.Trace, *meas.TraceStdErr, tr)
	}
	// PL: ratio with f* = 0 is bounded below by PL*.
	if *meas.PLRatio < *meas.PLStar {
		t.Errorf("PL ratio %v below PL* %v", *meas.PLRatio, *meas.PLStar)
	}
	// Noise: at b = N (without replacement) the minibatch is the subset.
	if v := meas.BatchVars[2].Variance; v != 0 {
		t.Errorf("variance at b = N is %v, want 0", v)
	}
	if meas.BatchVars[0].Variance <= meas.BatchVars[1].Variance {
		t.Error("minibatch variance does not decrease with b")
	}
	if p.Trajectory().Len() != 1 || len(p.History()) != 1 {
		t.Error("trajectory or history not recorded")
	}
}

func TestProbeConfigErrors(t *testing.T) {
	m, ds := tinyProblem(t)
	base := ProbeConfig[float64]{Model: m, Loss: &train.CrossEntropy[float64]{}, Data: ds, Every: 1}
	cases := []struct {
		field  string
		modify func(c *ProbeConfig[float64])
	}{
		{"Model", func(c *ProbeConfig[float64]) { c.Model = nil }},
		{"Loss", func(c *ProbeConfig[float64]) { c.Loss = nil }},
		{"Data", func(c *ProbeConfig[float64]) { c.Data = nil }},
		{"Every", func(c *ProbeConfig[float64]) { c.Every = 0 }},
		{"Subset", func(c *ProbeConfig[float64]) { c.Subset = 1000 }},
		{"Sharpness", func(c *ProbeConfig[float64]) { c.Sharpness = &SharpnessBudget{K: 5, Iters: 2} }},
		{"Trace.Probes", func(c *ProbeConfig[float64]) { c.Trace = &TraceBudget{Probes: 1} }},
		{"Noise.BatchSizes", func(c *ProbeConfig[float64]) { c.Noise = &NoiseBudget{BatchSizes: []int{0}} }},
		{"PL.Window", func(c *ProbeConfig[float64]) { c.PL = &PLBudget{Window: -1} }},
		{"PL.NTK", func(c *ProbeConfig[float64]) { c.PL = &PLBudget{NTK: true} }}, // cross-entropy is not square
	}
	for _, c := range cases {
		cfg := base
		c.modify(&cfg)
		_, err := NewProbe(cfg)
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: error %v, want one naming the field", c.field, err)
		}
	}
	if _, err := NewProbe(base); err != nil {
		t.Errorf("valid config: %v", err)
	}
}
