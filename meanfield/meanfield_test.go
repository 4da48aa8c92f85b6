package meanfield

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/internal/testutil"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
)

// TestKernelMatchesAutograd compares the closed-form tangent kernel with
// J J^T from per-example autograd Jacobians, for several activations, two
// outputs and nonzero biases: agreement to 1e-10 relative (rounding only).
func TestKernelMatchesAutograd(t *testing.T) {
	for _, act := range []nn.Activation{nn.Tanh, nn.ReLU, nn.GELU, nn.Softplus, nn.SiLU, nn.Erf, nn.Sigmoid, nn.LeakyReLU, nn.Identity} {
		for _, reg := range []Regime{MeanField, NTK} {
			net, err := New(Config{InputDim: 3, Width: 7, Outputs: 2, Activation: act, Regime: reg, BStd: 0.5}, NewRNG(5))
			if err != nil {
				t.Fatal(err)
			}
			x, _ := teacherData(t, 5, 3)
			got := net.Kernel(x)
			want := autogradKernel(net, x)
			var diff, norm float64
			for i := range 5 {
				for j := range 5 {
					diff = math.Max(diff, math.Abs(got.At(i, j)-want[i][j]))
					norm = math.Max(norm, math.Abs(want[i][j]))
				}
			}
			if diff > 1e-10*norm {
				t.Errorf("%s %s: closed-form kernel differs from autograd by %g (scale %g)", act, reg, diff, norm)
			}
		}
	}
}

func autogradKernel(net *Net, x *tensor.Tensor[float64]) [][]float64 {
	n, k := x.Dim(0), net.Config.Outputs
	jac := make([][][]float64, n) // [example][output][param]
	tape := autograd.NewTape[float64]()
	for i := range n {
		for o := range k {
			tape.Reset()
			out := net.Forward(tape, tape.Const(x.Rows(i, i+1)))
			seed := tensor.New[float64](1, k)
			seed.Data()[o] = 1
			grads := tape.Grad(out, nn.ParamVars(nil, tape, net), autograd.GradOptions[float64]{Seed: tape.Const(seed)})
			var row []float64
			for _, g := range grads {
				row = append(row, g.Value().Data()...)
			}
			jac[i] = append(jac[i], row)
		}
	}
	K := make([][]float64, n)
	for i := range n {
		K[i] = make([]float64, n)
		for j := range n {
			for o := range k {
				for p, v := range jac[i][o] {
					K[i][j] += v * jac[j][o][p] / float64(k)
				}
			}
		}
	}
	return K
}

// TestMatchesNNMeanField checks that the mean-field Net is nn's mean-field
// MLP [d, m, 1] (whose zero-initialized output bias contributes nothing)
// when given the same weights, and that SGD learning-rate scales agree: the
// Net is the one-hidden-layer case of nn's parameterization switch.
func TestMatchesNNMeanField(t *testing.T) {
	net, err := New(Config{InputDim: 4, Width: 16, BStd: 0.3}, NewRNG(2))
	if err != nil {
		t.Fatal(err)
	}
	mlp, err := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{4, 16, 1}, Activation: nn.Tanh, Parameterization: nn.MeanField}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	mlp.Layers[0].Weight.Value.CopyFrom(net.Hidden.Weight.Value)
	mlp.Layers[0].Bias.Value.CopyFrom(net.Hidden.Bias.Value)
	mlp.Layers[1].Weight.Value.CopyFrom(net.Readout.Weight.Value)
	x, _ := teacherData(t, 6, 4)
	tape := autograd.NewTape[float64]()
	want := mlp.Forward(tape, tape.Const(x)).Value().Data()
	got := net.Predict(x).Data()
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-14 {
			t.Fatalf("output %d: Net %v, nn mean-field MLP %v", i, got[i], want[i])
		}
	}
	if mlp.Layers[0].Weight.LRScale != net.Config.LRScale() || mlp.Layers[1].Weight.LRScale != net.Config.LRScale() {
		t.Errorf("LRScale: nn %v/%v, meanfield %v", mlp.Layers[0].Weight.LRScale, mlp.Layers[1].Weight.LRScale, net.Config.LRScale())
	}
}

// TestW2Exact checks the one-dimensional W2 against closed forms.
func TestW2Exact(t *testing.T) {
	// Quantile samples of N(mu, s^2): x_i = mu + s z_i with z_i the
	// (i+1/2)/n quantiles of N(0,1). Sorted pairing is optimal, so
	// W2^2 = (mu1-mu2)^2 + 2 (mu1-mu2)(s1-s2) mean(z) + (s1-s2)^2 mean(z^2),
	// and mean(z) = 0 by symmetry: the Gaussian formula with mean(z^2) for 1.
	const n = 2000
	z := make([]float64, n)
	var z2 float64
	for i := range z {
		z[i] = distuv.UnitNormal.Quantile((float64(i) + 0.5) / n)
		z2 += z[i] * z[i] / n
	}
	gauss := func(mu, s float64) []float64 {
		out := make([]float64, n)
		for i, v := range z {
			out[n-1-i] = mu + s*v // reversed: W2 must sort
		}
		return out
	}
	for _, c := range []struct{ mu1, s1, mu2, s2 float64 }{{0, 1, 3, 1}, {0, 1, 0, 2.5}, {1, 0.5, -2, 2}} {
		got := W2(gauss(c.mu1, c.s1), gauss(c.mu2, c.s2))
		want := math.Sqrt((c.mu1-c.mu2)*(c.mu1-c.mu2) + (c.s1-c.s2)*(c.s1-c.s2)*z2)
		if math.Abs(got-want) > 1e-12*want {
			t.Errorf("W2(N(%v,%v), N(%v,%v)) = %.15g, want %.15g", c.mu1, c.s1, c.mu2, c.s2, got, want)
		}
		// The population value differs only by 1 - mean(z^2) (< 0.2% here).
		pop := math.Hypot(c.mu1-c.mu2, c.s1-c.s2)
		if math.Abs(got-pop) > 2e-3*pop {
			t.Errorf("W2 %.6g far from the Gaussian W2 %.6g", got, pop)
		}
	}
	// Unequal sizes: {0, 1} against {0, 1/2, 1}. Quantiles: x is 0 on
	// [0,1/2), 1 on [1/2,1); y is 0, 1/2, 1 on thirds. W2^2 = (1/6)(1/2)^2
	// + (1/6)(1/2)^2 = 1/12.
	if got, want := W2([]float64{1, 0}, []float64{0.5, 1, 0}), math.Sqrt(1.0/12); math.Abs(got-want) > 1e-15 {
		t.Errorf("W2({0,1},{0,1/2,1}) = %v, want %v", got, want)
	}
	// A sample against itself repeated: the same measure.
	if got := W2([]float64{3, 1, 2}, []float64{1, 1, 2, 2, 3, 3}); got != 0 {
		t.Errorf("W2 of a measure with itself (duplicated) = %v", got)
	}
}

// TestSlicedW2 checks the sliced distance: exact for a translated cloud
// (projection keeps the order, so every slice's W2^2 is (u.c)^2), and, for
// Gaussian clouds, close to the population values |mu|/sqrt(D) (shift) and
// |s-1| (isotropic scaling).
func TestSlicedW2(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, D = 3000, 4
	p := make([][]float64, n)
	for i := range p {
		p[i] = make([]float64, D)
		for j := range p[i] {
			p[i][j] = rng.NormFloat64()
		}
	}
	c := []float64{1, -2, 0.5, 2}
	shifted := make([][]float64, n)
	scaled := make([][]float64, n)
	for i := range p {
		shifted[i] = make([]float64, D)
		scaled[i] = make([]float64, D)
		for j := range p[i] {
			shifted[i][j] = p[i][j] + c[j]
			scaled[i][j] = 2 * p[i][j]
		}
	}
	got, err := SlicedW2(p, shifted, 200, rand.New(rand.NewPCG(9, 9)))
	if err != nil {
		t.Fatal(err)
	}
	// The same directions, recomputed: the exact value for a translation.
	dirs := rand.New(rand.NewPCG(9, 9))
	var want float64
	for range 200 {
		u := make([]float64, D)
		var norm, dot float64
		for j := range u {
			u[j] = dirs.NormFloat64()
			norm += u[j] * u[j]
		}
		for j := range u {
			dot += u[j] * c[j]
		}
		want += dot * dot / norm / 200
	}
	want = math.Sqrt(want)
	if math.Abs(got-want) > 1e-12*want {
		t.Errorf("sliced W2 of a translation: %.15g, want %.15g", got, want)
	}
	var c2 float64
	for _, v := range c {
		c2 += v * v
	}
	if pop := math.Sqrt(c2 / D); math.Abs(got-pop) > 0.1*pop {
		t.Errorf("sliced W2 of a translation %.4g, population value %.4g (10%% for 200 directions)", got, pop)
	}
	// Scaling by 2: every slice of N(0, I) is N(0, 1), scaled N(0, 4):
	// W2 = 1 per slice. Sampling error of n = 3000 points: a few percent.
	got, err = SlicedW2(p, scaled, 50, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-1) > 0.05 {
		t.Errorf("sliced W2 between N(0,I) and N(0,4I) samples = %.4g, want 1 +- 0.05", got)
	}
	if _, err := SlicedW2(p, [][]float64{{1, 2}}, 10, rng); err == nil {
		t.Error("sliced W2 of clouds in different dimensions did not fail")
	}
}

// TestParticlesRoundTrip exports a network's particles to CSV, reads them
// back, imports them into a fresh network and checks outputs bit for bit;
// displacement of a cloud from itself is zero and from a shifted copy the
// shift's norm.
func TestParticlesRoundTrip(t *testing.T) {
	cfg := Config{InputDim: 3, Width: 10, Outputs: 2, BStd: 1}
	a, err := New(cfg, NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := a.Particles().WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "a0,a1,w0,w1,w2,b\n") {
		t.Errorf("CSV header: %q", strings.SplitN(buf.String(), "\n", 2)[0])
	}
	p, err := ReadParticlesCSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New(cfg, NewRNG(2))
	if err := b.SetParticles(p); err != nil {
		t.Fatal(err)
	}
	x, _ := teacherData(t, 4, 3)
	if !slices.Equal(a.Predict(x).Data(), b.Predict(x).Data()) {
		t.Error("network rebuilt from exported particles computes another function")
	}
	shift := a.Particles()
	for _, row := range shift.Points {
		row[0] += 3
		row[2] += 4
	}
	d, err := MeanDisplacement(a.Particles(), shift)
	if err != nil || d != 5 {
		t.Errorf("mean displacement of a (3,4) shift = %v, %v; want 5", d, err)
	}
	_, err = ReadParticlesCSV(strings.NewReader("a0,w0\n1,2\n3,x\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3 column 2") {
		t.Errorf("bad CSV: error %v, want one naming line 3 column 2", err)
	}
	if err := b.SetParticles(Particles{Names: []string{"a0"}}); err == nil {
		t.Error("SetParticles accepted a cloud with the wrong coordinates")
	}
}

// TestRunDeterministic: the same configuration gives the same records bit
// for bit, and so does RunFrom the run's initial particles (whatever its
// seed; the width defaults to the cloud's), which refuses a cloud of
// another width.
func TestRunDeterministic(t *testing.T) {
	x, y := teacherData(t, 16, 4)
	cfg := RunConfig{Net: Config{InputDim: 4, Width: 64}, Seed: 4, LR: 0.5, Steps: 20, Every: 5}
	a, err := Run(cfg, x, y)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Run(cfg, x, y)
	if !reflect.DeepEqual(a.Records, b.Records) {
		t.Error("two runs with the same seed differ")
	}
	if len(a.Records) != 5 || a.Last().Step != 20 {
		t.Errorf("records at steps %v, want 0, 5, ..., 20", a.Records)
	}
	if a.Last().Loss >= a.Records[0].Loss {
		t.Errorf("loss did not decrease: %v -> %v", a.Records[0].Loss, a.Last().Loss)
	}
	cfg.Net.Width, cfg.Seed = 0, 123
	c, err := RunFrom(cfg, a.Initial, x, y)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Records, c.Records) || !reflect.DeepEqual(a.Final, c.Final) {
		t.Error("RunFrom the initial particles of Run differs from Run")
	}
	cfg.Net.Width = 32
	if _, err := RunFrom(cfg, a.Initial, x, y); err == nil || !strings.Contains(err.Error(), "64 particles for a network of width 32") {
		t.Errorf("RunFrom with 64 particles at width 32: error %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Width: 4}, "InputDim"},
		{Config{InputDim: 2, Width: 3, Symmetric: true}, "even"},
		{Config{InputDim: 2, Width: 4, Regime: Lazy}, "Alpha"},
		{Config{InputDim: 2, Width: 4, Alpha: 2}, "Alpha"},
		{Config{InputDim: 2, Width: 4, Regime: "wide"}, "Regime"},
	} {
		if _, err := New(c.cfg, NewRNG(1)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one naming %s", c.cfg, err, c.want)
		}
	}
}

// TestRunStepAllocs: the steps of a run (train.Trainer with the recorder
// as a callback) allocate nothing between records.
func TestRunStepAllocs(t *testing.T) {
	x, y := tensor.RandN(NewRNG(3), 0.0, 1.0, 32, 4), tensor.RandN(NewRNG(4), 0.0, 1.0, 32, 1)
	prepare := func(steps int) func() error {
		cfg := RunConfig{Net: Config{InputDim: 4, Width: 64, Outputs: 1}, Seed: 1, LR: 0.05, Steps: steps, Every: steps, NoKernel: true}
		net, err := New(cfg.Net, NewRNG(cfg.Seed))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Net = net.Config
		opt, err := optim.NewSGD(net.Params(), optim.SGDConfig{LR: cfg.LR})
		if err != nil {
			t.Fatal(err)
		}
		rec := &recorder{cfg: cfg, net: net, x: x, tr: &Trace{Config: cfg, Initial: net.Particles()}}
		rec.theta0 = flatParams(net)
		tr, err := newTrainer(cfg, net, opt, x, y, rec)
		if err != nil {
			t.Fatal(err)
		}
		return func() error { _, err := tr.Run(context.Background()); return err }
	}
	a, err := testutil.AllocsPerStep(100, prepare)
	if err != nil {
		t.Fatal(err)
	}
	if a > 0.05 {
		t.Fatalf("%.2f allocations per step, want 0", a)
	}
}
