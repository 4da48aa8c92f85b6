package optim

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

func TestConfigErrorsNameTheField(t *testing.T) {
	p := []*Param[float64]{vecParam("w", []float64{1, 2})}
	nan := math.NaN()
	cases := []struct {
		field string
		err   error
	}{
		{"LR", func() error { _, e := NewSGD(p, SGDConfig{LR: -1}); return e }()},
		{"Momentum", func() error { _, e := NewSGD(p, SGDConfig{LR: 1, Momentum: -0.1}); return e }()},
		{"WeightDecay", func() error { _, e := NewSGD(p, SGDConfig{LR: 1, WeightDecay: nan}); return e }()},
		{"Nesterov", func() error { _, e := NewSGD(p, SGDConfig{LR: 1, Nesterov: true}); return e }()},
		{"Nesterov", func() error {
			_, e := NewSGD(p, SGDConfig{LR: 1, Momentum: 0.9, Dampening: 0.1, Nesterov: true})
			return e
		}()},
		{"Beta1", func() error { c := DefaultAdam(); c.Beta1 = 1; _, e := NewAdam(p, c); return e }()},
		{"Beta2", func() error { c := DefaultAdam(); c.Beta2 = -0.5; _, e := NewAdamW(p, c); return e }()},
		{"Eps", func() error { c := DefaultAdam(); c.Eps = -1; _, e := NewAdam(p, c); return e }()},
		{"LRDecay", func() error { c := DefaultAdagrad(); c.LRDecay = -1; _, e := NewAdagrad(p, c); return e }()},
		{"InitialAccumulatorValue", func() error {
			c := DefaultAdagrad()
			c.InitialAccumulatorValue = -1
			_, e := NewAdagrad(p, c)
			return e
		}()},
		{"Alpha", func() error { c := DefaultRMSprop(); c.Alpha = -1; _, e := NewRMSprop(p, c); return e }()},
		{"Lambda", func() error {
			_, e := NewProxSGD(p, ProxConfig[float64]{LR: 1, Prox: L1[float64]{Lambda: -1}})
			return e
		}()},
		{"Restart", func() error { _, e := NewFISTA(p, FISTAConfig[float64]{LR: 1, Restart: 7}); return e }()},
		{"Smooth", func() error { _, e := NewFISTA(p, FISTAConfig[float64]{LR: 1, Restart: FunctionRestart}); return e }()},
		{"Delta", func() error { _, e := NewPolyak(p, PolyakConfig{LR: 1, Estimate: true}); return e }()},
		{"Shrink", func() error { _, e := NewLineSearchGD(p, ArmijoConfig{LR: 1, C: 0.1, MaxBacktracks: 3}); return e }()},
		{"BatchSize", func() error {
			_, e := NewSAGA(p, &leastSquares{a: newRegression(rand.New(rand.NewPCG(1, 1)), 5, 2, 0, 0).a}, VRConfig[float64]{LR: 1, BatchSize: 6}, nil)
			return e
		}()},
		{"NewSAGA: rng is nil", func() error {
			_, e := NewSAGA(p, &leastSquares{a: newRegression(rand.New(rand.NewPCG(1, 1)), 5, 2, 0, 0).a}, VRConfig[float64]{LR: 1}, nil)
			return e
		}()},
		{"NewSVRG: rng is nil", func() error {
			_, e := NewSVRG(p, &leastSquares{a: newRegression(rand.New(rand.NewPCG(1, 1)), 5, 2, 0, 0).a}, VRConfig[float64]{LR: 1}, nil)
			return e
		}()},
		{"NewSVRG: the objective is nil", func() error {
			_, e := NewSVRG(p, nil, VRConfig[float64]{LR: 1}, rand.New(rand.NewPCG(1, 1)))
			return e
		}()},
		{"T0", RobbinsMonro{C: 1, Alpha: 1}.Validate()},
		{"Every", StepDecay{Gamma: 0.5}.Validate()},
		{"Lo", Box[float64]{Lo: 1, Hi: 0}.Validate()},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.field) {
			t.Errorf("want an error naming %s, got %v", c.field, c.err)
		}
	}
	// Duplicate and nil parameters.
	if _, err := NewSGD([]*Param[float64]{p[0], p[0]}, SGDConfig{LR: 1}); err == nil || !strings.Contains(err.Error(), "more than one group") {
		t.Errorf("duplicate parameter: got %v", err)
	}
	o, _ := NewSGD(p, SGDConfig{LR: 1})
	if err := o.AddGroup(SGDConfig{LR: 1}, p[0]); err == nil {
		t.Error("AddGroup accepted a parameter already in group 0")
	}
	if _, err := NewAdam([]*Param[float64]{nil}, DefaultAdam()); err == nil {
		t.Error("nil parameter accepted")
	}
}

// TestSkipNilGradAndLRScale checks that a parameter without a gradient is
// left alone with its state (Adam's bias correction uses per-parameter step
// counts), and that LRScale s is the same as a group learning rate times s.
func TestSkipNilGradAndLRScale(t *testing.T) {
	a := vecParam("a", []float64{1, -2})
	b := vecParam("b", []float64{3, 4})
	opt, err := NewAdam([]*Param[float64]{a, b}, DefaultAdam())
	mustNoErr(t, err)
	a.Grad.Fill(1)
	bg := b.Grad
	b.Grad = nil
	opt.Step()
	if b.Value.Data()[0] != 3 || opt.groups[0].slots[1].step != 0 {
		t.Fatal("parameter without gradient was updated or its step advanced")
	}
	b.Grad = bg
	b.Grad.Fill(1)
	opt.Step()
	// b's first step, if its own step count is 1: the bias-corrected
	// moments are g and g^2, so it moves by lr g/(|g| + eps) = 1e-3/(1 + 1e-8).
	// Had the step counted from 2, the bias corrections would move it by
	// a different amount.
	if got, want := 3-b.Value.Data()[0], 1e-3/(1+1e-8); math.Abs(got-want) > 1e-15 { // an ulp of 3
		t.Errorf("first step of a late parameter moved %.17g, want %.17g", got, want)
	}

	// LRScale.
	x1, x2 := vecParam("x1", []float64{1, 2}), vecParam("x2", []float64{1, 2})
	x1.LRScale = 0.25
	o1, _ := NewSGD([]*Param[float64]{x1}, SGDConfig{LR: 0.4, Momentum: 0.9})
	o2, _ := NewSGD([]*Param[float64]{x2}, SGDConfig{LR: 0.1, Momentum: 0.9})
	for k := 0; k < 5; k++ {
		for _, p := range []*Param[float64]{x1, x2} {
			v := p.Value.Data()
			p.Grad.Data()[0], p.Grad.Data()[1] = v[0]*v[0], v[1]
		}
		o1.Step()
		o2.Step()
	}
	if x1.Value.Data()[0] != x2.Value.Data()[0] || x1.Value.Data()[1] != x2.Value.Data()[1] {
		t.Errorf("LRScale 0.25 with lr 0.4 gives %v, lr 0.1 gives %v", x1.Value.Data(), x2.Value.Data())
	}
}

// driver makes an optimizer with its parameters and a gradient function,
// for the state and allocation tests.
type driver struct {
	name string
	make func(ps []*Param[float64], rng *rand.Rand) Optimizer[float64]
}

func drivers(fs *leastSquares) []driver {
	must := func(o Optimizer[float64], err error) Optimizer[float64] {
		if err != nil {
			panic(err)
		}
		return o
	}
	return []driver{
		{"sgd", func(ps []*Param[float64], _ *rand.Rand) Optimizer[float64] {
			o, err := NewSGD(ps[:1], SGDConfig{LR: 0.01, Momentum: 0.9, Nesterov: true, WeightDecay: 0.01})
			if err == nil {
				err = o.AddGroup(SGDConfig{LR: 0.02, Momentum: 0.5}, ps[1:]...)
			}
			return must(o, err)
		}},
		{"adam", func(ps []*Param[float64], _ *rand.Rand) Optimizer[float64] {
			c := DefaultAdam()
			c.AMSGrad = true
			return must(NewAdam(ps, c))
		}},
		{"adamw", func(ps []*Param[float64], _ *rand.Rand) Optimizer[float64] { return must(NewAdamW(ps, DefaultAdamW())) }},
		{"adagrad", func(ps []*Param[float64], _ *rand.Rand) Optimizer[float64] {
			c := DefaultAdagrad()
			c.InitialAccumulatorValue, c.LRDecay = 0.1, 0.01
			return must(NewAdagrad(ps, c))
		}},
		{"rmsprop", func(ps []*Param[float64], _ *rand.Rand) Optimizer[float64] {
			c := DefaultRMSprop()
			c.Centered, c.Momentum = true, 0.5
			return must(NewRMSprop(ps, c))
		}},
		{"proxsgd", func(ps []*Param[float64], _ *rand.Rand) Optimizer[float64] {
			return must(NewProxSGD(ps, ProxConfig[float64]{LR: 0.05, Prox: ElasticNet[float64]{L1: 0.01, L2: 0.1}}))
		}},
		{"fista", func(ps []*Param[float64], _ *rand.Rand) Optimizer[float64] {
			return must(NewFISTA(ps, FISTAConfig[float64]{LR: 0.05, Prox: L1[float64]{Lambda: 0.01}, Restart: GradientRestart}))
		}},
		{"svrg", func(ps []*Param[float64], rng *rand.Rand) Optimizer[float64] {
			fs.p = ps[0]
			return must(NewSVRG(ps[:1], fs, VRConfig[float64]{LR: 0.02, BatchSize: 2, EpochLen: 7}, rng))
		}},
		{"saga", func(ps []*Param[float64], rng *rand.Rand) Optimizer[float64] {
			fs.p = ps[0]
			return must(NewSAGA(ps[:1], fs, VRConfig[float64]{LR: 0.02, BatchSize: 3, Prox: L1[float64]{Lambda: 0.001}}, rng))
		}},
	}
}

// gradQuartic writes the gradient of sum x^2/2 + x^4/4 - x into every Grad.
func gradQuartic(ps []*Param[float64]) {
	for _, p := range ps {
		for i, v := range p.Value.Data() {
			p.Grad.Data()[i] = v + v*v*v - 1
		}
	}
}

func freshParams() []*Param[float64] {
	return []*Param[float64]{
		{Name: "0.weight", Value: tensor.FromSlice([]float64{0.5, -1, 2, 0.1, 0.3, -0.7}, 2, 3), Grad: tensor.New[float64](2, 3)},
		{Name: "0.bias", Value: tensor.FromSlice([]float64{1, -1}, 2), Grad: tensor.New[float64](2)},
	}
}

// TestStateRoundTrip interrupts every optimizer after 7 steps, encodes its
// state (binary and JSON), restores it into a fresh optimizer over fresh
// parameters, and checks that 9 more steps give a bit-identical result to
// an uninterrupted run.
func TestStateRoundTrip(t *testing.T) {
	fsA := newRegression(rand.New(rand.NewPCG(1, 2)), 30, 6, 0.1, 0.01)
	fsB := &leastSquares{a: fsA.a, b: fsA.b, ridge: fsA.ridge}
	for i, dA := range drivers(fsA) {
		dB := drivers(fsB)[i]
		for _, enc := range []string{"binary", "json"} {
			t.Run(dA.name+"/"+enc, func(t *testing.T) {
				step := func(o Optimizer[float64], ps []*Param[float64]) {
					gradQuartic(ps) // SVRG and SAGA overwrite these
					o.Step()
				}
				// Uninterrupted.
				psA := freshParams()
				rngA := rand.New(rand.NewPCG(3, 4))
				oA := dA.make(psA, rngA)
				for k := 0; k < 16; k++ {
					step(oA, psA)
				}
				// Interrupted after 7 steps.
				psB := freshParams()
				pcg := rand.NewPCG(3, 4)
				oB := dB.make(psB, rand.New(pcg))
				for k := 0; k < 7; k++ {
					step(oB, psB)
				}
				var data []byte
				var err error
				if enc == "binary" {
					data, err = oB.State().MarshalBinary()
				} else {
					data, err = json.Marshal(oB.State())
				}
				mustNoErr(t, err)
				rngState, _ := pcg.MarshalBinary()
				saved := make([][]float64, len(psB))
				for i, p := range psB {
					saved[i] = append([]float64(nil), p.Value.Data()...)
				}
				// Restore into fresh objects.
				psC := freshParams()
				for i, p := range psC {
					copy(p.Value.Data(), saved[i])
				}
				pcgC := rand.NewPCG(0, 0)
				mustNoErr(t, pcgC.UnmarshalBinary(rngState))
				oC := dB.make(psC, rand.New(pcgC))
				var st State
				if enc == "binary" {
					mustNoErr(t, st.UnmarshalBinary(data))
				} else {
					mustNoErr(t, json.Unmarshal(data, &st))
				}
				mustNoErr(t, oC.LoadState(&st))
				for k := 7; k < 16; k++ {
					step(oC, psC)
				}
				for i := range psA {
					a, c := psA[i].Value.Data(), psC[i].Value.Data()
					for j := range a {
						if a[j] != c[j] {
							t.Fatalf("%s[%d] = %v after resume, %v uninterrupted", psA[i].Name, j, c[j], a[j])
						}
					}
				}
			})
		}
	}
}

func TestLoadStateRejects(t *testing.T) {
	ps := freshParams()
	o, _ := NewAdam(ps, DefaultAdam())
	gradQuartic(ps)
	o.Step()
	good := o.State()
	data, err := good.MarshalBinary()
	mustNoErr(t, err)

	var s State
	for name, bad := range map[string][]byte{
		"truncated": data[:len(data)-9],
		"flipped":   append(append([]byte(nil), data[:40]...), append([]byte{data[40] ^ 1}, data[41:]...)...),
		"empty":     nil,
		"trailing":  append(append([]byte(nil), data...), 0),
	} {
		if err := s.UnmarshalBinary(bad); err == nil {
			t.Errorf("%s data accepted", name)
		}
	}

	before, _ := o.State().MarshalBinary()
	check := func(what string, st *State, want string) {
		t.Helper()
		err := o.LoadState(st)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", what, err, want)
		}
		after, _ := o.State().MarshalBinary()
		if !bytes.Equal(before, after) {
			t.Errorf("%s: a failed LoadState changed the optimizer", what)
		}
	}
	clone := func() *State {
		var c State
		mustNoErr(t, c.UnmarshalBinary(data))
		return &c
	}
	st := clone()
	st.Kind = "sgd"
	check("kind", st, "sgd")
	st = clone()
	st.Groups[0].Params[1].Name = "other"
	check("name", st, "other")
	st = clone()
	st.Groups[0].Params[0].Buffers[0].Data = st.Groups[0].Params[0].Buffers[0].Data[:2]
	check("buffer length", st, "exp_avg")
	st = clone()
	st.Groups[0].Params[0].Buffers[1].Name = "bogus"
	check("buffer name", st, "bogus")
	st = clone()
	st.Groups[0].Hyper = json.RawMessage(`{"lr": 0.1, "beta1": 2, "beta2": 0.9, "eps": 1e-8}`)
	check("hyperparameters", st, "Beta1")
	st = clone()
	st.Groups = append(st.Groups, st.Groups[0])
	check("groups", st, "groups")

	// Hyperparameters are restored (torch's load_state_dict does the same).
	o.SetLR(0, 0.5)
	mustNoErr(t, o.LoadState(good))
	if o.LR(0) != 1e-3 {
		t.Errorf("LoadState did not restore the learning rate: %g", o.LR(0))
	}
}

// TestStepsAllocateNothing checks zero heap allocations per step in steady
// state for every optimizer (and for the schedule and clipping helpers).
func TestStepsAllocateNothing(t *testing.T) {
	fs := newRegression(rand.New(rand.NewPCG(1, 2)), 30, 6, 0.1, 0.01)
	for _, d := range drivers(fs) {
		ps := freshParams()
		o := d.make(ps, rand.New(rand.NewPCG(1, 1)))
		gradQuartic(ps)
		o.Step() // allocate the buffers
		if a := testing.AllocsPerRun(50, func() { gradQuartic(ps); o.Step() }); a != 0 {
			t.Errorf("%s: %v allocations per step", d.name, a)
		}
	}
	ps := freshParams()
	pol, _ := NewPolyak(ps, PolyakConfig{LR: 1, Estimate: true, Delta: 1, Shrink: 0.5, Grow: 1})
	sgd, _ := NewSGD(ps, SGDConfig{LR: 0.1})
	sc, _ := NewScheduler[float64](sgd, Warmup{Steps: 10, Start: 0.1, Then: Cosine{Total: 100}})
	if a := testing.AllocsPerRun(50, func() {
		gradQuartic(ps)
		ClipGradNorm(ps, 0.1)
		ClipGradValue(ps, 0.05)
		pol.SetLoss(1)
		pol.Step()
		_ = sc.Step()
	}); a != 0 {
		t.Errorf("Polyak/clipping/scheduler: %v allocations per step", a)
	}
	f32 := []*Param[float32]{{Name: "w", Value: tensor.FromSlice([]float32{1, 2, 3}), Grad: tensor.FromSlice([]float32{0.1, 0.2, 0.3})}}
	a32, _ := NewAdam(f32, DefaultAdam())
	a32.Step()
	if a := testing.AllocsPerRun(50, a32.Step); a != 0 {
		t.Errorf("Adam[float32]: %v allocations per step", a)
	}
}

// TestFloat32MatchesFloat64 runs Adam and SGD in float32 and float64 on the
// same problem: 50 steps agree to float32 precision (1e-5 relative).
func TestFloat32MatchesFloat64(t *testing.T) {
	x0 := []float64{0.5, -1, 2, 0.1}
	p64 := vecParam("w", x0)
	p32 := &Param[float32]{Name: "w", Value: tensor.Convert[float32](p64.Value), Grad: tensor.New[float32](4)}
	c := DefaultAdam()
	c.LR = 0.05
	o64, _ := NewAdam([]*Param[float64]{p64}, c)
	o32, _ := NewAdam([]*Param[float32]{p32}, c)
	for k := 0; k < 50; k++ {
		for i, v := range p64.Value.Data() {
			p64.Grad.Data()[i] = v + v*v*v - 1
		}
		for i, v := range p32.Value.Data() {
			p32.Grad.Data()[i] = v + v*v*v - 1
		}
		o64.Step()
		o32.Step()
	}
	for i, v := range p64.Value.Data() {
		if d := math.Abs(float64(p32.Value.Data()[i]) - v); d > 1e-5*math.Max(1, math.Abs(v)) {
			t.Errorf("element %d: float32 %v, float64 %v", i, p32.Value.Data()[i], v)
		}
	}
}

func TestClipping(t *testing.T) {
	ps := []*Param[float64]{vecParam("a", []float64{0, 0}), vecParam("b", []float64{0})}
	copy(ps[0].Grad.Data(), []float64{3, 0})
	ps[1].Grad.Data()[0] = 4
	if n := ClipGradNorm(ps, 10); n != 5 || ps[0].Grad.Data()[0] != 3 {
		t.Errorf("norm 5 under max 10: returned %g, grads %v", n, ps[0].Grad.Data())
	}
	if n := ClipGradNorm(ps, 1); n != 5 {
		t.Errorf("returned norm %g, want 5", n)
	}
	if got := GradNorm(ps); math.Abs(got-1/(1+2e-7)) > 1e-12 {
		t.Errorf("norm after clipping to 1: %.12g, want 1/(1 + 1e-6/5)", got)
	}
	ps[0].Grad.Data()[1] = -7
	ClipGradValue(ps, 0.5)
	if g := ps[0].Grad.Data(); g[0] > 0.5 || g[1] != -0.5 {
		t.Errorf("clip by value: %v", g)
	}
	ps[1].Grad.Data()[0] = math.NaN()
	if n := ClipGradNorm(ps, 1); !math.IsNaN(n) {
		t.Errorf("NaN gradient: norm %g, want NaN", n)
	}
}

func TestSchedules(t *testing.T) {
	rm := RobbinsMonro{C: 2, T0: 10, Alpha: 0.75}
	if got, want := rm.Factor(6), 2/math.Pow(16, 0.75); got != want {
		t.Errorf("RobbinsMonro.Factor(6) = %g, want %g", got, want)
	}
	for _, c := range []struct {
		alpha float64
		ok    bool
	}{{0.5, false}, {0.51, true}, {1, true}, {1.01, false}} {
		if got := (RobbinsMonro{C: 1, T0: 1, Alpha: c.alpha}).SatisfiesRobbinsMonro(); got != c.ok {
			t.Errorf("alpha = %g: SatisfiesRobbinsMonro = %v", c.alpha, got)
		}
	}
	w := Warmup{Steps: 4, Start: 0.2, Then: StepDecay{Every: 2, Gamma: 0.1}}
	want := []float64{0.2, 0.4, 0.6, 0.8, 1, 1, 0.1, 0.1, 0.01}
	for k, v := range want {
		if math.Abs(w.Factor(k)-v) > 1e-15 {
			t.Errorf("Warmup.Factor(%d) = %g, want %g", k, w.Factor(k), v)
		}
	}
	// Group ratios survive a schedule.
	a, b := vecParam("a", []float64{1}), vecParam("b", []float64{1})
	o, _ := NewSGD([]*Param[float64]{a}, SGDConfig{LR: 0.1})
	mustNoErr(t, o.AddGroup(SGDConfig{LR: 0.01}, b))
	sc, err := NewScheduler[float64](o, Exponential{Gamma: 0.5})
	mustNoErr(t, err)
	mustNoErr(t, sc.Step())
	mustNoErr(t, sc.Step())
	if o.LR(0) != 0.025 || o.LR(1) != 0.0025 {
		t.Errorf("after 2 steps of gamma 0.5: lrs %g, %g", o.LR(0), o.LR(1))
	}
	bad, _ := NewScheduler[float64](o, ScheduleFunc(func(t int) float64 { return 1 - float64(t) }))
	mustNoErr(t, bad.Step())
	if err := bad.Step(); err == nil {
		t.Error("negative schedule factor accepted")
	}
}

// Every stepping method is an Optimizer, so a training loop can drive it.
var (
	_ Optimizer[float64] = (*SGD[float64])(nil)
	_ Optimizer[float32] = (*Adam[float32])(nil)
	_ Optimizer[float64] = (*Adagrad[float64])(nil)
	_ Optimizer[float64] = (*RMSprop[float64])(nil)
	_ Optimizer[float64] = (*Polyak[float64])(nil)
	_ Optimizer[float64] = (*ProxSGD[float64])(nil)
	_ Optimizer[float64] = (*FISTA[float64])(nil)
	_ Optimizer[float64] = (*SVRG[float64])(nil)
	_ Optimizer[float64] = (*SAGA[float64])(nil)
	_ LossAware          = (*Polyak[float64])(nil)
)

// TestPolyakStateRoundTrip checks that the level estimate of Polyak with
// estimated f* survives State/LoadState: a resumed run is bit-identical.
func TestPolyakStateRoundTrip(t *testing.T) {
	cfg := PolyakConfig{LR: 1, Estimate: true, Delta: 0.5, DeltaMin: 1e-3, Shrink: 0.5, Grow: 1.5}
	loss := func(ps []*Param[float64]) float64 {
		gradQuartic(ps)
		var f float64
		for _, p := range ps {
			for _, v := range p.Value.Data() {
				f += v*v/2 + v*v*v*v/4 - v
			}
		}
		return f
	}
	psA := freshParams()
	oA, err := NewPolyak(psA, cfg)
	mustNoErr(t, err)
	psB := freshParams()
	oB, _ := NewPolyak(psB, cfg)
	for k := 0; k < 12; k++ {
		oA.SetLoss(loss(psA))
		oA.Step()
		if k < 5 {
			oB.SetLoss(loss(psB))
			oB.Step()
		}
	}
	data, err := oB.State().MarshalBinary()
	mustNoErr(t, err)
	var st State
	mustNoErr(t, st.UnmarshalBinary(data))
	psC := freshParams()
	for i := range psC {
		copy(psC[i].Value.Data(), psB[i].Value.Data())
	}
	oC, _ := NewPolyak(psC, cfg)
	mustNoErr(t, oC.LoadState(&st))
	for k := 5; k < 12; k++ {
		oC.SetLoss(loss(psC))
		oC.Step()
	}
	for i := range psA {
		for j, v := range psA[i].Value.Data() {
			if psC[i].Value.Data()[j] != v {
				t.Fatalf("resumed Polyak differs at %s[%d]: %v vs %v", psA[i].Name, j, psC[i].Value.Data()[j], v)
			}
		}
	}
}

// TestGradNormLargeFloat32 checks that float32 gradients whose squares
// overflow float32 still give the finite float64 norm.
func TestGradNormLargeFloat32(t *testing.T) {
	g := tensor.New[float32](1000)
	g.Fill(1e20)
	p := &Param[float32]{Name: "p", Value: tensor.New[float32](1000), Grad: g}
	want := 1e20 * math.Sqrt(1000)
	if got := GradNorm([]*Param[float32]{p}); math.Abs(got-want) > 1e-6*want {
		t.Errorf("GradNorm = %v, want %v", got, want)
	}
}

// TestAllParams: every optimizer lists the parameters of all its groups,
// in order, in a slice the caller may modify.
func TestAllParams(t *testing.T) {
	ps := freshParams()
	extra := &Param[float64]{Name: "extra", Value: tensor.FromSlice([]float64{1, 2}, 2), Grad: tensor.New[float64](2)}
	for _, name := range Names {
		spec, err := DefaultSpec(name)
		if err != nil {
			t.Fatal(err)
		}
		spec.LR = 0.1
		o, err := New(ps, spec)
		if err != nil {
			t.Fatal(err)
		}
		l, ok := o.(ParamLister[float64])
		if !ok {
			t.Fatalf("%s does not implement ParamLister", name)
		}
		switch g := o.(type) {
		case *SGD[float64]:
			err = g.AddGroup(SGDConfig{LR: 0.01}, extra)
		case *Adam[float64]:
			err = g.AddGroup(AdamConfig{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, extra)
		default:
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got := l.AllParams()
		want := append(append([]*Param[float64](nil), ps...), extra)
		if len(got) != len(want) {
			t.Fatalf("%s: %d parameters, want %d", name, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: parameter %d is %q, want %q", name, i, got[i].Name, want[i].Name)
			}
		}
		got[0] = nil
		if l.AllParams()[0] != ps[0] {
			t.Errorf("%s: AllParams returns the optimizer's own slice", name)
		}
	}
}
