package landscape

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/train"
)

// smallStudy is the setup of TestEdgeOfStability cut down for a test:
// 100 digits (pixels/16) trained on and 100 others held out, MLP
// 64-32-32-10 tanh with a small init, MSE on one-hot targets, full-batch
// GD with eta = 0.5 for 200 steps, a measurement every 20 steps with every
// estimator on. lr sets eta; edit changes the config before NewStudy.
func smallStudy(t *testing.T, lr float64, edit func(*StudyConfig[float64])) (*Study[float64], *bytes.Buffer) {
	t.Helper()
	digits, err := data.Digits[float64]()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range digits.X.Data() {
		digits.X.Data()[i] = v / 16
	}
	rng := rand.New(rand.NewPCG(1, 2))
	perm := rng.Perm(digits.Len())
	model, err := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{64, 32, 32, 10}, Activation: nn.Tanh, WStd: 0.5}, rng)
	if err != nil {
		t.Fatal(err)
	}
	opt, err := optim.NewSGD(model.Params(), optim.SGDConfig{LR: lr})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cfg := StudyConfig[float64]{
		Model: model, Loss: &train.MSE[float64]{Classes: true}, Optimizer: opt,
		Train: digits.Subset(perm[:100]), Test: digits.Subset(perm[100:200]), DataName: "digits", OneHot: true,
		Steps: 200, PlainGD: true, Every: 20, Seed: 1, Out: &out,
		Trace: &TraceBudget{Probes: 5}, Noise: &NoiseBudget{BatchSizes: []int{1, 10}}, PLStar: 10,
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := NewStudy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, &out
}

// TestStudySmall checks that the summary is what its documentation says
// it is, computed from the measurements the probe wrote.
func TestStudySmall(t *testing.T) {
	s, out := smallStudy(t, 0.5, nil)
	if d, want := s.Describe(), "every 20 steps on 100 examples; Lanczos top 1 (<= 50 HVPs); trace 5 probes; noise on; PL* on 10 examples"; d != want {
		t.Errorf("Describe() = %q, want %q", d, want)
	}
	r, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// One measurement before the first step and one every 20 steps, each
	// a JSON line and an entry of History.
	var lines []Measurement
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m Measurement
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, m)
	}
	h := r.History
	if len(h) != 11 || len(lines) != len(h) || r.Measurements != len(h) {
		t.Fatalf("%d measurements, %d lines, Measurements %d; want 11", len(h), len(lines), r.Measurements)
	}
	if r.Steps != 200 || r.Stopped != "steps" || r.Examples != 100 || r.Batch != 100 || r.Subset != 100 || r.LR != 0.5 ||
		r.Arch != "64-32-32-10" || r.Data != "digits" || !r.FullBatchGD {
		t.Errorf("run description %+v: want 200 steps, n = batch = subset = 100, lr 0.5, arch 64-32-32-10, full-batch GD", r)
	}
	minRatio, maxSharp := math.Inf(1), math.Inf(-1)
	for i, m := range h {
		if m.Step != 20*i || m.LR != 0.5 {
			t.Errorf("measurement %d at step %d with lr %v, want step %d, lr 0.5", i, m.Step, m.LR, 20*i)
		}
		// lr is 0.5 throughout: ratio = sharpness/4.
		if m.StabilityRatio == nil || math.Abs(*m.StabilityRatio-m.Sharpness[0]*0.5/2) > 1e-12*m.Sharpness[0] {
			t.Errorf("step %d: stability ratio %v, sharpness %v: not lambda eta/2", m.Step, m.StabilityRatio, m.Sharpness[0])
		}
		if m.TraceStdErr == nil || !(*m.TraceStdErr > 0) || m.PLRatio == nil || m.BSimple == nil || len(m.BatchVars) != 2 {
			t.Errorf("step %d: trace se %v, PL ratio %v, B_simple %v, %d batch variances: want positive se (5 random probes), values, 2 batch sizes",
				m.Step, m.TraceStdErr, m.PLRatio, m.BSimple, len(m.BatchVars))
		}
		minRatio, maxSharp = math.Min(minRatio, *m.PLRatio), math.Max(maxSharp, m.Sharpness[0])
	}
	first, last := h[0], h[len(h)-1]
	sh := r.Sharpness
	if sh.Initial != first.Sharpness[0] || sh.Final != last.Sharpness[0] || sh.Max != maxSharp || sh.FinalRatio == nil || *sh.FinalRatio != *last.StabilityRatio {
		t.Errorf("sharpness summary %+v disagrees with the measurements", sh)
	}
	// The empirical PL constant is the smallest PL ratio measured.
	if r.PL.Mu == nil || *r.PL.Mu != minRatio || *r.PL.FinalRatio != *last.PLRatio {
		t.Errorf("empirical PL constant %v, smallest PL ratio %v", r.PL.Mu, minRatio)
	}
	if tr := r.Trace; tr == nil || tr.Initial != *first.Trace || tr.FinalSE != *last.TraceStdErr || tr.Probes != 5 {
		t.Errorf("trace summary %+v disagrees with the measurements", r.Trace)
	}
	if nz := r.Noise; nz == nil || *nz.BSimpleFinal != *last.BSimple || nz.CovTraceFinal != *last.TraceCov || len(nz.MinibatchVariance) != 2 {
		t.Errorf("noise summary %+v disagrees with the last measurement", r.Noise)
	}
	l := r.Lojasiewicz
	if l == nil {
		t.Fatalf("no Lojasiewicz fit (%s)", r.LojasiewiczError)
	}
	if l.Points != len(h) || !(l.Lo <= l.Theta && l.Theta <= l.Hi) || !(l.C > 0) || l.Level != 0.95 || l.Tail != 1 {
		t.Errorf("Lojasiewicz fit %+v: want %d points, theta inside its interval, c > 0, level 0.95, tail 1", *l, len(h))
	}
	// PL* bounds the PL ratio of the same loss from below; here it is
	// taken on 10 of the 100 examples, so only positivity is checked (10
	// x 10 outputs < the parameters, so J J^T can be positive definite).
	if p := r.PLStar; p.Examples != 10 || p.Initial == nil || !(*p.Initial > 0) || p.Final == nil || !(*p.Final > 0) {
		t.Errorf("PL* %+v: want positive values on 10 examples", p)
	}
	// Accuracy on the digits trained on beats chance (10%) by far after
	// 200 steps; the held-out set is evaluated too.
	if r.Train == nil || r.Train.Accuracy == nil || *r.Train.Accuracy < 0.5 || r.Test == nil || r.Test.Accuracy == nil || r.Test.Loss == nil {
		t.Errorf("train/test metrics %+v %+v: want accuracies, the train one above 50%%", r.Train, r.Test)
	}
}

// TestStudyResultJSON: the JSON of a StudyResult has the keys of the
// command's landscape.json in its order (other tools read the file), and
// none of the fields kept out of it.
func TestStudyResultJSON(t *testing.T) {
	one := 1.0
	r := StudyResult{Trace: &TraceSummary{Probes: 3}, Noise: &NoiseSummary{}, Lojasiewicz: &LojasiewiczSummary{},
		Train: &EvalSummary{Loss: &one}, History: []Measurement{{}}, Seconds: 2, FullBatchGD: true}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"data":"","n":0,"subset":0,"arch":"","batch":0,"lr":0,"steps":0,"stopped":"","measurements":0,"fstar":0,` +
		`"sharpness":{"initial":0,"final":0,"max":0,"max_step":0,"final_ratio":null,"max_ratio":null,"cross_step":null,"settle_step":null,"edge_ratio_min":null,"edge_ratio_max":null,"smoothness":0},` +
		`"hessian_trace":{"initial":0,"initial_se":0,"final":0,"final_se":0},` +
		`"lojasiewicz":{"theta":0,"c":0,"lo":0,"hi":0,"level":0,"points":0,"tail":0},` +
		`"pl":{"mu":null,"window":0,"final_ratio":null},"pl_star":{"examples":0,"initial":null,"final":null},` +
		`"noise":{"b_simple_initial":null,"b_simple_final":null,"grad_cov_trace_final":0},"train":{"loss":1},"test":null}`
	if string(b) != want {
		t.Errorf("JSON\n%s\nwant\n%s", b, want)
	}
}

// TestStudySharpnessSummary follows a stability ratio that rises, crosses
// 1, overshoots, falls back and hovers: the summary must name the
// crossing, the first measurement back below and the band after it.
func TestStudySharpnessSummary(t *testing.T) {
	ratios := []float64{0.2, 0.6, 1.1, 1.3, 0.9, 1.05, 0.95}
	var h []Measurement
	var traj Trajectory
	for i, r := range ratios {
		sharp, ratio, smooth := 4*r, r, 4*r+1 // eta = 0.5
		h = append(h, Measurement{Step: 10 * i, LR: 0.5, Loss: 1 / float64(i+1), GradNormSq: 1, Sharpness: []float64{sharp},
			StabilityRatio: &ratio, Smoothness: &smooth})
		traj.Append(10*i, 1/float64(i+1), 1)
	}
	var r StudyResult
	r.summarize(h, &traj, summaryOptions{lojTail: 1, seed: 1})
	sh := r.Sharpness
	if sh.CrossStep == nil || *sh.CrossStep != 20 || sh.SettleStep == nil || *sh.SettleStep != 40 {
		t.Fatalf("crossing at %v, settled at %v; want steps 20 and 40", sh.CrossStep, sh.SettleStep)
	}
	if *sh.MaxRatio != 1.3 || sh.Max != 4*1.3 || sh.MaxStep != 30 || *sh.EdgeMin != 0.9 || *sh.EdgeMax != 1.05 || *sh.FinalRatio != 0.95 {
		t.Errorf("summary %+v: want max ratio 1.3 at step 30, edge band [0.9, 1.05], final 0.95", sh)
	}
	if sh.Smoothness != 4*1.3+1 || sh.Initial != 4*0.2 || sh.Final != 4*0.95 {
		t.Errorf("smoothness %v, initial %v, final %v: want the largest smoothness and the end points", sh.Smoothness, sh.Initial, sh.Final)
	}
	if r.Trace != nil || r.Noise != nil || r.PL.Mu != nil {
		t.Errorf("trace %v, noise %v, PL %v summarized, but not measured", r.Trace, r.Noise, r.PL.Mu)
	}

	// Never reaching 2/eta leaves the crossing and the band nil.
	for i := range h {
		*h[i].StabilityRatio = 0.1
	}
	if sh := summarizeSharpness(h); sh.CrossStep != nil || sh.SettleStep != nil || sh.EdgeMin != nil || *sh.MaxRatio != 0.1 {
		t.Errorf("below 2/eta throughout: %+v", sh)
	}
}

// TestStudyStopped: a diverging run and a cancelled one return what was
// measured with the error; the evaluation and PL* at the end are left
// out.
func TestStudyStopped(t *testing.T) {
	s, _ := smallStudy(t, 40, nil)
	r, err := s.Run(context.Background())
	var div *train.DivergenceError
	if !errors.As(err, &div) || r == nil {
		t.Fatalf("eta = 40: result %v, error %v; want a result and a train.DivergenceError", r, err)
	}
	if !strings.HasPrefix(r.Stopped, "error: ") || r.Measurements == 0 || r.Train != nil || r.PLStar.Final != nil || r.PLStar.Initial == nil {
		t.Errorf("diverged run: stopped %q, %d measurements, train %v, PL* %+v", r.Stopped, r.Measurements, r.Train, r.PLStar)
	}

	s, _ = smallStudy(t, 0.5, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err = s.Run(ctx)
	if !errors.Is(err, context.Canceled) || r == nil || r.Measurements != 1 || r.Stopped != "cancelled" || r.Test != nil {
		t.Errorf("cancelled run: result %+v, error %v; want the measurement before the first step and context.Canceled", r, err)
	}
	if r, err := s.Run(context.Background()); r != nil || err == nil {
		t.Errorf("second Run: result %v, error %v; want an error", r, err)
	}
}

// TestNewStudyErrors: a bad config is refused with the field named.
func TestNewStudyErrors(t *testing.T) {
	cases := []struct {
		edit func(*StudyConfig[float64])
		want string
	}{
		{func(c *StudyConfig[float64]) { c.Model = nil }, "Model"},
		{func(c *StudyConfig[float64]) { c.Optimizer = nil }, "Optimizer"},
		{func(c *StudyConfig[float64]) { c.Train = nil }, "Train"},
		{func(c *StudyConfig[float64]) { c.Batch = 101 }, "Batch"},
		{func(c *StudyConfig[float64]) { c.LojTail = 2 }, "LojTail"},
		{func(c *StudyConfig[float64]) { c.PLStar = -1 }, "PLStar"},
		{func(c *StudyConfig[float64]) { c.Subset = 5 }, "PLStar = 10 is larger"},
		{func(c *StudyConfig[float64]) { c.Loss = &train.CrossEntropy[float64]{} }, "square loss"},
		{func(c *StudyConfig[float64]) { c.Every = 0 }, "StudyConfig.Every"},
		{func(c *StudyConfig[float64]) { c.Subset = 101 }, "StudyConfig.Subset"},
		{func(c *StudyConfig[float64]) { c.Steps = 0 }, "Steps"},
	}
	for _, c := range cases {
		digits, _ := data.Digits[float64]()
		model, _ := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{64, 10}}, rand.New(rand.NewPCG(1, 1)))
		opt, _ := optim.NewSGD(model.Params(), optim.SGDConfig{LR: 0.1})
		cfg := StudyConfig[float64]{Model: model, Loss: &train.MSE[float64]{Classes: true}, Optimizer: opt, OneHot: true,
			Train: digits.Subset(rand.New(rand.NewPCG(1, 1)).Perm(digits.Len())[:100]), Steps: 1, Every: 1, PLStar: 10}
		c.edit(&cfg)
		if _, err := NewStudy(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one naming %q", err, c.want)
		}
	}
}
