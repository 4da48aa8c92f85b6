package ntk

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// unitRowsOf scales the rows of x to unit norm in place.
func unitRowsOf(x *tensor.Tensor[float64]) *tensor.Tensor[float64] {
	d := x.Dim(1)
	v := x.Data()
	for i := 0; i < x.Dim(0); i++ {
		row := v[i*d : (i+1)*d]
		var s float64
		for _, e := range row {
			s += e * e
		}
		for j := range row {
			row[j] /= math.Sqrt(s)
		}
	}
	return x
}

// lazyRegression is a small regression problem: n unit-norm inputs in
// R^d with Gaussian targets, and a probe set of 2n points whose first n
// are the training inputs.
func lazyRegression() (ds *data.Dataset[float64], probe *tensor.Tensor[float64]) {
	const n, d = 8, 4
	x := unitRowsOf(randTensor(90, n, d))
	probe = unitRowsOf(randTensor(92, 2*n, d))
	copy(probe.Data(), x.Data())
	return &data.Dataset[float64]{X: x, Y: randTensor(91, n, 1)}, probe
}

// runTrainer trains m on ds by full-batch (batch = all of ds) or
// mini-batch SGD with learning rate eta on 0.5*mean squared error.
func runTrainer(t *testing.T, m nn.Module[float64], ds *data.Dataset[float64], batch int, eta float64, cfg train.Config[float64]) train.Result {
	t.Helper()
	ld, err := data.NewLoader(ds, data.LoaderConfig{BatchSize: batch})
	if err != nil {
		t.Fatal(err)
	}
	opt, err := optim.NewSGD(m.Params(), optim.SGDConfig{LR: eta})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Model, cfg.Loss, cfg.Optimizer, cfg.Train = m, &train.MSE[float64]{Half: true}, opt, ld
	tr, err := train.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Lazy training seen by the probe: two-layer NTK-parameterized ReLU nets
// of widths 32 and 4096 (same init seed), trained by full-batch GD on 8
// points with eta = 1, about 1/24 of the largest stable rate 2N/lambda_max
// of the infinite-width kernel (logged), for 200 steps, recorded every 20
// steps on 16 probe points (the 8 training points and 8 others).
//
// Assertions, all on quantities that could fail:
//   - the wide net stays lazy: kernel drift, relative weight change and
//     relative linearization gap stay below 5% at every record (measured
//     at the end: 0.0085, 0.039, 0.017), while the narrow one leaves the
//     regime: final drift and relative gap above 0.1 (measured 0.37, 0.75);
//   - the weight change and the gap grow at every record for both nets;
//     the drift of the wide net is not monotone (ReLU units switching on
//     and off make it jitter, 0.0091 -> 0.0085 over the last 20 steps), so
//     for the drift the test asks only that the mean over the second half
//     of the run exceeds the mean over the first half;
//   - width: by Lee et al. (2019) the relative weight change scales like
//     width^-1/2, so the ratio narrow/wide should be near sqrt(128) = 11.3
//     (measured 11.5); the test allows a factor 2 either way. The drift and
//     the gap are bounded by the same law (theory_test.go measures the
//     drift falling faster, ~width^-0.9), so their ratios must be at least
//     sqrt(128)/2 (measured 43 and 43).
func TestLazyProbeWidth(t *testing.T) {
	const eta, steps, every = 1.0, 200, 20
	ds, probe := lazyRegression()
	k, err := Arch{Depth: 1}.Gram(tensor.ToDense(ds.X))
	if err != nil {
		t.Fatal(err)
	}
	n := ds.Len()
	etaMax, err := MaxLearningRate(k.NTK, n, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("eta = %v, eta_max of the infinite-width kernel = %.4g", eta, etaMax)
	final := map[int]LazyRecord{}
	for _, width := range []int{32, 4096} {
		m, err := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{4, width, 1}, Parameterization: nn.NTK}, rand.New(rand.NewPCG(7, 3)))
		if err != nil {
			t.Fatal(err)
		}
		p, err := NewLazyProbe(LazyConfig[float64]{Model: m, Probe: probe, Every: every})
		if err != nil {
			t.Fatal(err)
		}
		res := runTrainer(t, m, ds, n, eta, train.Config[float64]{Steps: steps, Callbacks: []train.Callback[float64]{p}})
		if err := p.Finish(); err != nil {
			t.Fatal(err)
		}
		recs := p.Records()
		if len(recs) != steps/every+1 {
			t.Fatalf("width %d: %d records, want %d", width, len(recs), steps/every+1)
		}
		var firstHalf, secondHalf float64
		for i, r := range recs {
			t.Logf("width %4d step %3d: drift %.3g, weight change %.3g, gap rms %.3g max %.3g relative %.3g",
				width, r.Step, r.KernelDrift, r.WeightChange, r.GapRMS, r.GapMax, r.GapRelative)
			if r.Step != i*every {
				t.Errorf("width %d: record %d at step %d, want %d", width, i, r.Step, i*every)
			}
			if i == 0 {
				continue
			}
			prev := recs[i-1]
			if r.WeightChange <= prev.WeightChange || r.GapRMS <= prev.GapRMS || r.KernelDrift <= 0 {
				t.Errorf("width %d step %d: weight change %.4g (before %.4g), gap %.4g (before %.4g), drift %.4g: want growth and drift > 0",
					width, r.Step, r.WeightChange, prev.WeightChange, r.GapRMS, prev.GapRMS, r.KernelDrift)
			}
			if width == 4096 && (r.KernelDrift >= 0.05 || r.WeightChange >= 0.05 || r.GapRelative >= 0.05) {
				t.Errorf("wide net at step %d is not lazy: drift %.4g, weight change %.4g, relative gap %.4g, want < 0.05",
					r.Step, r.KernelDrift, r.WeightChange, r.GapRelative)
			}
			if i <= len(recs)/2 {
				firstHalf += r.KernelDrift
			} else {
				secondHalf += r.KernelDrift
			}
		}
		if h := len(recs) / 2; secondHalf/float64(len(recs)-1-h) <= firstHalf/float64(h) {
			t.Errorf("width %d: mean drift %.4g over the second half, %.4g over the first: want growth", width,
				secondHalf/float64(len(recs)-1-h), firstHalf/float64(h))
		}
		t.Logf("width %d: loss %.4g at the end", width, res.Last.Loss)
		final[width] = recs[len(recs)-1]
	}
	narrow, wide := final[32], final[4096]
	if narrow.KernelDrift <= 0.1 || narrow.GapRelative <= 0.1 {
		t.Errorf("narrow net: drift %.4g, relative gap %.4g; want both > 0.1", narrow.KernelDrift, narrow.GapRelative)
	}
	law := math.Sqrt(4096.0 / 32)
	wc, dr, gp := narrow.WeightChange/wide.WeightChange, narrow.KernelDrift/wide.KernelDrift, narrow.GapRelative/wide.GapRelative
	t.Logf("narrow/wide ratios: weight change %.3g, drift %.3g, relative gap %.3g (sqrt of the width ratio %.3g)", wc, dr, gp, law)
	if wc < law/2 || wc > 2*law {
		t.Errorf("weight change ratio %.3g, want within a factor 2 of %.3g", wc, law)
	}
	if dr < law/2 || gp < law/2 {
		t.Errorf("drift ratio %.3g, gap ratio %.3g: want >= %.3g", dr, gp, law/2)
	}
}

// At creation (step 0), and when measured again before any step, every
// metric is exactly 0: the drift compares Theta_0 with itself (Empirical
// is deterministic), the weight change is 0/||theta_0||, and the gap is
// the difference of two evaluations at theta_0 by the same code. This
// holds for every configuration of the empirical NTK tests, for a bare
// Linear, a Sequential (the JVP path), and full kernels; with
// Spectrum the eigenvalues are those of Theta_0, the learning-rate-weighted
// kernel.
func TestLazyProbeStepZero(t *testing.T) {
	x := randTensor(60, 6, 4)
	var models []nn.Module[float64]
	for ci, cfg := range testConfigs {
		models = append(models, newMLP(t, cfg, uint64(70+ci)))
	}
	tanh := newMLP(t, nn.MLPConfig{Dims: []int{4, 8, 2}, Activation: nn.Tanh, BStd: 0.5}, 80)
	models = append(models, tanh.Layers[0], nn.NewSequential[float64](tanh.Layers[0], tanh.Layers[1]))
	for i, m := range models {
		for _, full := range []bool{false, true} {
			var out bytes.Buffer
			p, err := NewLazyProbe(LazyConfig[float64]{Model: m, Probe: x, Every: 1, Out: &out, Kernel: Options{Full: full}, Spectrum: !full, OutputScale: 1})
			if err != nil {
				t.Fatalf("model %d (%T): %v", i, m, err)
			}
			again, err := p.Measure(0, 0)
			if err != nil {
				t.Fatal(err)
			}
			for j, r := range []LazyRecord{p.Records()[0], again} {
				zero := r.Step == 0 && r.Epoch == 0 && r.KernelDrift == 0 && r.WeightChange == 0 && r.GapRMS == 0 && r.GapMax == 0 && r.GapRelative == 0
				for _, c := range r.Params {
					zero = zero && c.Abs == 0 && c.Relative == 0
				}
				if !zero || len(r.Params) != len(m.Params()) {
					t.Errorf("model %d (%T) full %v, record %d: %+v, want all zero and %d parameters", i, m, full, j, r, len(m.Params()))
				}
			}
			if strings.Count(out.String(), "\n") != 2 {
				t.Errorf("model %d: %d JSON lines, want 2", i, strings.Count(out.String(), "\n"))
			}
			if !full {
				// The probe's kernel is the learning-rate-weighted one
				// (LRWeights): J J^T for SP and NTK, not for muP and MF.
				k0, err := EmpiricalGram(nil, m, x, Options{ParamWeight: LRWeights(m)})
				if err != nil {
					t.Fatal(err)
				}
				ev, err := Spectrum(k0)
				if err != nil {
					t.Fatal(err)
				}
				if r := p.Records()[0]; r.LambdaMin == nil || *r.LambdaMin != ev[0] || *r.LambdaMax != ev[5] {
					t.Errorf("model %d: spectrum %v, %v, want %v, %v", i, r.LambdaMin, r.LambdaMax, ev[0], ev[5])
				}
			}
		}
	}
}

// The metrics at a perturbed point theta_0 + eps u agree with the
// building blocks they are made of, and between the MLP path (structured
// NTK, Linearized.Eval) and the generic path (Sequential: Jacobian
// contraction, JVP at theta_0 with the parameters swapped and restored):
//   - drift = KernelDriftTensor(Theta_0, Empirical at theta) exactly for the
//     MLP, within 1e-10 relative between the paths (the kernels agree to
//     rounding, TestSequentialModule);
//   - weight change = Snapshot.RelativeChange, the same in both paths;
//   - gap within 1e-12 of LinearizationGap, which differs only by the
//     rounding of f(theta_0) in its two forward evaluations (1e-16 here),
//     and within 1e-9 relative between the paths;
//   - the gap is the Taylor remainder: for a smooth (tanh) net it is
//     O(eps^2), so doubling eps = 1e-3 multiplies it by 4 (within 2%:
//     the next term is O(eps^3), a relative correction of order eps times
//     the ratio of third to second derivatives);
//   - the generic path leaves the parameters bit for bit as they were;
//   - Spectrum and Targets give Spectrum and KernelAlignment of Theta_t.
func TestLazyProbeMatchesBuildingBlocks(t *testing.T) {
	m := newMLP(t, nn.MLPConfig{Dims: []int{3, 16, 16, 2}, Activation: nn.Tanh, BStd: 0.5}, 81)
	seq := nn.NewSequential[float64](m.Layers[0], m.Layers[1], m.Layers[2])
	x := randTensor(82, 7, 3)
	y := randTensor(83, 7, 2)
	cfg := LazyConfig[float64]{Model: m, Probe: x, Every: 1, Spectrum: true, Targets: y}
	pm, err := NewLazyProbe(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Model = seq
	ps, err := NewLazyProbe(cfg)
	if err != nil {
		t.Fatal(err)
	}
	k0, err := Empirical[float64](m, x, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	lin, err := Linearize[float64](m)
	if err != nil {
		t.Fatal(err)
	}
	snap := TakeSnapshot[float64](m)
	u := tangent(m, 84)
	set := func(eps float64) {
		for i, q := range m.Params() {
			q.Value.CopyFrom(snap.values[i])
			tensor.Axpy(eps, u[i], q.Value)
		}
	}
	gaps := map[float64]float64{}
	for step, eps := range []float64{1e-3, 2e-3, 0.3} {
		set(eps)
		before := TakeSnapshot[float64](m)
		a, err := pm.Measure(step+1, 0)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ps.Measure(step+1, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, moved, _ := before.RelativeChange(m); moved != 0 {
			t.Fatalf("eps %v: measuring moved the parameters by %g", eps, moved)
		}
		kt, err := Empirical[float64](m, x, nil, Options{})
		if err != nil {
			t.Fatal(err)
		}
		drift, _ := KernelDriftTensor(k0, kt)
		per, total, _ := snap.RelativeChange(m)
		rms, mx, err := LinearizationGap(m, lin, x)
		if err != nil {
			t.Fatal(err)
		}
		ev, _ := Spectrum(mat.NewSymDense(7, kt.Data()))
		align, _ := KernelAlignment(tensor.ToDense(kt), tensor.ToDense(y))
		t.Logf("eps %v: drift %.4g, weight change %.4g, gap rms %.4g (LinearizationGap %.4g), max %.4g, relative %.4g, alignment %.4f",
			eps, a.KernelDrift, a.WeightChange, a.GapRMS, rms, a.GapMax, a.GapRelative, *a.Alignment)
		if a.KernelDrift != drift || math.Abs(b.KernelDrift-drift) > 1e-10*drift {
			t.Errorf("eps %v: drift %v (MLP), %v (Sequential), want %v", eps, a.KernelDrift, b.KernelDrift, drift)
		}
		if a.WeightChange != total || b.WeightChange != total || !reflect.DeepEqual(a.Params, per) || !reflect.DeepEqual(b.Params, per) {
			t.Errorf("eps %v: weight change %v / %v, want %v", eps, a.WeightChange, b.WeightChange, total)
		}
		if math.Abs(a.GapRMS-rms) > 1e-12 || math.Abs(a.GapMax-mx) > 1e-12 || math.Abs(b.GapRMS-a.GapRMS) > 1e-9*a.GapRMS {
			t.Errorf("eps %v: gap %v (MLP), %v (Sequential), LinearizationGap %v", eps, a.GapRMS, b.GapRMS, rms)
		}
		if *a.LambdaMin != ev[0] || *a.LambdaMax != ev[6] || math.Abs(*a.Alignment-align) > 1e-14 {
			t.Errorf("eps %v: spectrum [%v, %v] alignment %v, want [%v, %v] %v", eps, *a.LambdaMin, *a.LambdaMax, *a.Alignment, ev[0], ev[6], align)
		}
		gaps[eps] = a.GapRMS
	}
	if r := gaps[2e-3] / gaps[1e-3]; math.Abs(r-4) > 0.08 {
		t.Errorf("gap(2e-3) / gap(1e-3) = %.4f, want 4 +- 0.08 (second-order remainder)", r)
	}
}

// The probe does not change training: a run with it attached (MLP and
// Sequential models) ends at the same parameters, bit for bit, as a run
// without it. With Every = 4 over 10 steps it records steps 0, 4, 8, and
// Finish adds step 10 once; epochs are the trainer's (2 steps per epoch).
func TestLazyProbeEveryAndFinish(t *testing.T) {
	ds, probe := lazyRegression()
	build := func() *nn.MLP[float64] {
		return newMLP(t, nn.MLPConfig{Dims: []int{4, 32, 1}, Activation: nn.Tanh, Parameterization: nn.NTK}, 85)
	}
	ref := build()
	runTrainer(t, ref, ds, 4, 0.5, train.Config[float64]{Steps: 10})
	for _, generic := range []bool{false, true} {
		mlp := build()
		var m nn.Module[float64] = mlp
		if generic {
			m = nn.NewSequential[float64](mlp.Layers[0], mlp.Layers[1])
		}
		p, err := NewLazyProbe(LazyConfig[float64]{Model: m, Probe: probe, Every: 4})
		if err != nil {
			t.Fatal(err)
		}
		runTrainer(t, m, ds, 4, 0.5, train.Config[float64]{Steps: 10, Callbacks: []train.Callback[float64]{p}})
		for i, q := range m.Params() {
			if !reflect.DeepEqual(q.Value.Data(), ref.Params()[i].Value.Data()) {
				t.Errorf("generic %v: parameter %s differs from the run without the probe", generic, q.Name)
			}
		}
		for range 2 {
			if err := p.Finish(); err != nil {
				t.Fatal(err)
			}
		}
		var got [][2]int
		for _, r := range p.Records() {
			got = append(got, [2]int{r.Step, r.Epoch})
		}
		if want := [][2]int{{0, 0}, {4, 1}, {8, 3}, {10, 4}}; !reflect.DeepEqual(got, want) {
			t.Errorf("generic %v: (step, epoch) of the records %v, want %v", generic, got, want)
		}
	}
}

// With Every = 0 the probe records at the trainer's records (here every 3
// steps and at epoch ends, 2 steps per epoch), with their step and epoch.
// Its JSON lines decode to its records (float64 values round-trip
// exactly), carry the documented keys, and write the +Inf relative change
// of the biases (zero at initialization in the standard
// parameterization) as null.
func TestLazyProbeJSONLines(t *testing.T) {
	ds, probe := lazyRegression()
	m := newMLP(t, nn.MLPConfig{Dims: []int{4, 16, 1}, Activation: nn.ReLU}, 86)
	var out, metrics bytes.Buffer
	p, err := NewLazyProbe(LazyConfig[float64]{Model: m, Probe: probe, Out: &out, Spectrum: true})
	if err != nil {
		t.Fatal(err)
	}
	runTrainer(t, m, ds, 4, 0.1, train.Config[float64]{Epochs: 3, LogEvery: 3, Metrics: &metrics, Callbacks: []train.Callback[float64]{p}})
	recs := p.Records()
	var trainer []train.Record
	for sc := bufio.NewScanner(&metrics); sc.Scan(); {
		var r train.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		trainer = append(trainer, r)
	}
	if len(recs) != len(trainer)+1 {
		t.Fatalf("%d probe records for %d trainer records, want one more (step 0)", len(recs), len(trainer))
	}
	for i, r := range trainer {
		if recs[i+1].Step != r.Step || recs[i+1].Epoch != r.Epoch {
			t.Errorf("probe record %d at step %d epoch %d, trainer's at %d, %d", i+1, recs[i+1].Step, recs[i+1].Epoch, r.Step, r.Epoch)
		}
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(recs) {
		t.Fatalf("%d JSON lines for %d records", len(lines), len(recs))
	}
	for i, line := range lines {
		var back LazyRecord
		if err := json.Unmarshal([]byte(line), &back); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if !reflect.DeepEqual(back, recs[i]) {
			t.Errorf("line %d decodes to %+v, record is %+v", i+1, back, recs[i])
		}
		var raw map[string]any
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"step", "epoch", "kernel_drift", "weight_change", "params", "gap_rms", "gap_max", "gap_relative", "lambda_min", "lambda_max"} {
			if _, ok := raw[key]; !ok {
				t.Errorf("line %d lacks %q: %s", i+1, key, line)
			}
		}
		if _, ok := raw["alignment"]; ok {
			t.Errorf("line %d has an alignment without targets", i+1)
		}
	}
	last := recs[len(recs)-1]
	if last.Params[1].Name != "0.bias" || !math.IsInf(last.Params[1].Relative, 1) || !strings.Contains(lines[len(lines)-1], `{"name":"0.bias","abs":`) ||
		!strings.Contains(lines[len(lines)-1], `"relative":null}`) {
		t.Errorf("moved zero bias: %+v in %s, want relative +Inf written as null", last.Params[1], lines[len(lines)-1])
	}
}

// failWriter fails every write after the first ok ones.
type failWriter struct{ ok int }

func (w *failWriter) Write(b []byte) (int, error) {
	if w.ok == 0 {
		return 0, errors.New("disk full")
	}
	w.ok--
	return len(b), nil
}

func TestLazyProbeErrors(t *testing.T) {
	m := newMLP(t, nn.MLPConfig{Dims: []int{4, 8, 2}, BStd: 0.5}, 87)
	x := randTensor(88, 5, 4)
	scalar := nn.Func[float64](func(t *autograd.Tape[float64], x *autograd.Var[float64]) *autograd.Var[float64] {
		return autograd.Sum(x)
	})
	zeroOut := newMLP(t, nn.MLPConfig{Dims: []int{4, 8, 2}}, 89)
	zeroOut.Layers[1].Weight.Value.Zero()
	allZero := newMLP(t, nn.MLPConfig{Dims: []int{4, 8, 2}, Init: nn.InitZeros}, 89)
	cases := []struct {
		name string
		cfg  LazyConfig[float64]
		want string
	}{
		{"nil model", LazyConfig[float64]{Probe: x}, "Model is nil"},
		{"nil probe", LazyConfig[float64]{Model: m}, "Probe is nil"},
		{"empty probe", LazyConfig[float64]{Model: m, Probe: tensor.New[float64](0, 4)}, "probe set is empty"},
		{"1-D probe", LazyConfig[float64]{Model: m, Probe: tensor.New[float64](4)}, "want [n, d]"},
		{"probe width", LazyConfig[float64]{Model: m, Probe: randTensor(1, 5, 3)}, "the model takes 4 inputs"},
		{"generic probe width", LazyConfig[float64]{Model: nn.NewSequential[float64](m.Layers[0], m.Layers[1]), Probe: randTensor(1, 5, 3)}, "rejects inputs of shape [5 3]"},
		{"scalar output", LazyConfig[float64]{Model: scalar, Probe: x}, "not supported"},
		{"negative Every", LazyConfig[float64]{Model: m, Probe: x, Every: -1}, "Every = -1"},
		{"bad scale", LazyConfig[float64]{Model: m, Probe: x, OutputScale: math.Inf(1)}, "OutputScale = +Inf"},
		{"full spectrum", LazyConfig[float64]{Model: m, Probe: x, Spectrum: true, Kernel: Options{Full: true}}, "traced kernel"},
		{"targets rows", LazyConfig[float64]{Model: m, Probe: x, Targets: randTensor(1, 4, 1)}, "want [5, k]"},
		{"zero outputs", LazyConfig[float64]{Model: zeroOut, Probe: x}, "set OutputScale"},
		{"zero parameters", LazyConfig[float64]{Model: allZero, Probe: x, OutputScale: 1}, "all parameters are zero"},
		{"no parameter selected", LazyConfig[float64]{Model: m, Probe: x, Kernel: Options{Params: func(string) bool { return false }}}, "initial kernel"},
		{"write", LazyConfig[float64]{Model: m, Probe: x, Out: &failWriter{}}, "disk full"},
	}
	for _, c := range cases {
		_, err := NewLazyProbe(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}

	// A failed write during the run stops it with that error.
	ds, probe := lazyRegression()
	m4 := newMLP(t, nn.MLPConfig{Dims: []int{4, 8, 1}}, 90)
	p, err := NewLazyProbe(LazyConfig[float64]{Model: m4, Probe: probe, Every: 2, Out: &failWriter{ok: 2}})
	if err != nil {
		t.Fatal(err)
	}
	ld, _ := data.NewLoader(ds, data.LoaderConfig{BatchSize: 8})
	opt, _ := optim.NewSGD(m4.Params(), optim.SGDConfig{LR: 0.1})
	tr, _ := train.New(train.Config[float64]{Model: m4, Loss: &train.MSE[float64]{Half: true}, Optimizer: opt, Train: ld, Steps: 10,
		Callbacks: []train.Callback[float64]{p}})
	res, err := tr.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "step 4") || !strings.Contains(err.Error(), "disk full") || res.Steps != 4 {
		t.Errorf("run with a failing writer: %d steps, error %v; want a stop at step 4 naming the write", res.Steps, err)
	}

	// A model whose parameters became NaN: the kernel is not finite.
	p, err = NewLazyProbe(LazyConfig[float64]{Model: m, Probe: x, Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	m.Params()[0].Value.Data()[0] = math.NaN()
	if _, err := p.Measure(1, 0); err == nil || !strings.Contains(err.Error(), "step 1") {
		t.Errorf("NaN parameter: error %v, want one naming step 1", err)
	}
}
