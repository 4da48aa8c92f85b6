package optim

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

func TestParseAveraging(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		from int64
	}{
		{"", false, 0}, {"none", false, 0}, {"polyak", true, 0}, {"from:100", true, 100},
		{"tail:0.5:1000", true, 500}, {"tail:1:7", true, 0}, {"tail:0.001:10", true, 9}, {"tail:0.25:10", true, 7},
	} {
		a, ok, err := ParseAveraging(tc.in)
		if err != nil || ok != tc.ok || a.From != tc.from {
			t.Errorf("ParseAveraging(%q) = %+v, %v, %v; want From %d, ok %v", tc.in, a, ok, err, tc.from, tc.ok)
		}
	}
	for _, bad := range []string{"polyak:1", "from", "from:-1", "from:x", "tail:0.5", "tail:0:10", "tail:1.5:10", "tail:0.5:0", "ema:0.9", "none:1"} {
		if _, _, err := ParseAveraging(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseAveraging(%q): error %v, want one quoting the input", bad, err)
		}
	}
	s, _ := DefaultSpec("sgd")
	s.Average = "tail:2:10"
	if err := s.Validate(); err == nil {
		t.Error("Spec.Validate accepted average tail:2:10")
	}
}

// randomSteps runs n SGD steps with gradients from rng on opt's params,
// returning every iterate of the first parameter.
func randomSteps(opt Optimizer[float64], ps []*Param[float64], rng *rand.Rand, n int) [][]float64 {
	var iterates [][]float64
	for range n {
		for _, p := range ps {
			for i := range p.Grad.Data() {
				p.Grad.Data()[i] = p.Value.Data()[i] + rng.NormFloat64()
			}
		}
		opt.Step()
		iterates = append(iterates, append([]float64(nil), ps[0].Value.Data()...))
	}
	return iterates
}

func newAvgParams() []*Param[float64] {
	return []*Param[float64]{vecParam("w", []float64{1, -2, 3}), vecParam("b", []float64{0.5})}
}

// TestAveragedMeanOfIterates: SGD with momentum trains exactly as without
// the wrapper, before From the average is the current iterate, and after
// it the average equals the mean of the iterates after From (to 1e-14, the
// rounding of the running mean).
func TestAveragedMeanOfIterates(t *testing.T) {
	const steps, from = 40, 15
	plain := newAvgParams()
	ref, err := New(plain, Spec{Name: "sgd", LR: 0.1, Momentum: 0.9})
	mustNoErr(t, err)
	want := randomSteps(ref, plain, rand.New(rand.NewPCG(1, 2)), steps)

	ps := newAvgParams()
	opt, err := New(ps, Spec{Name: "sgd", LR: 0.1, Momentum: 0.9, Average: "from:15"})
	mustNoErr(t, err)
	av := opt.(*Averaged[float64])
	rng := rand.New(rand.NewPCG(1, 2))
	got := make([]float64, 3)
	it := randomSteps(av, ps, rng, from)
	av.Average(0, got)
	if av.Count() != 0 || !equalBits(got, it[from-1]) {
		t.Fatalf("before From: count %d, average %v, want the iterate %v", av.Count(), got, it[from-1])
	}
	it = append(it, randomSteps(av, ps, rng, steps-from)...)
	for k := range it {
		if !equalBits(it[k], want[k]) {
			t.Fatalf("step %d: averaged run's iterate %v, plain run's %v", k+1, it[k], want[k])
		}
	}
	mean := make([]float64, 3)
	for _, x := range it[from:] {
		for i, v := range x {
			mean[i] += v / (steps - from)
		}
	}
	av.Average(0, got)
	for i := range mean {
		if math.Abs(got[i]-mean[i]) > 1e-14 {
			t.Fatalf("average %v, mean of the iterates after step %d %v", got, from, mean)
		}
	}
	if av.Count() != steps-from {
		t.Fatalf("count %d, want %d", av.Count(), steps-from)
	}
}

// TestAveragedSwap: SwapIn puts the average into the parameters, Step
// refuses to run while it is there, SwapOut restores the live values bit
// for bit, and WriteAverage fills another model's parameters.
func TestAveragedSwap(t *testing.T) {
	ps := newAvgParams()
	opt, err := New(ps, Spec{Name: "sgd", LR: 0.1, Average: "polyak"})
	mustNoErr(t, err)
	av := opt.(*Averaged[float64])
	randomSteps(av, ps, rand.New(rand.NewPCG(3, 4)), 10)
	live := append([]float64(nil), ps[0].Value.Data()...)
	avg := make([]float64, 3)
	av.Average(0, avg)
	av.SwapIn()
	av.SwapIn()
	if !equalBits(ps[0].Value.Data(), avg) {
		t.Fatalf("after SwapIn the parameter holds %v, want the average %v", ps[0].Value.Data(), avg)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Step with the average swapped in did not panic")
			}
		}()
		av.Step()
	}()
	other := newAvgParams()
	mustNoErr(t, av.WriteAverage(other))
	if !equalBits(other[0].Value.Data(), avg) {
		t.Fatalf("WriteAverage wrote %v, want %v", other[0].Value.Data(), avg)
	}
	av.SwapOut()
	if !equalBits(ps[0].Value.Data(), live) {
		t.Fatalf("after SwapOut the parameter holds %v, want the live %v", ps[0].Value.Data(), live)
	}
	if err := av.WriteAverage(other[:1]); err == nil {
		t.Error("WriteAverage accepted a parameter list of another length")
	}
}

// TestAveragedStateResume: a run checkpointed mid-way (State, binary
// encoding, LoadState into a fresh optimizer over fresh parameters) ends
// with bit-identical parameters and average, for tail averaging that
// started before the checkpoint.
func TestAveragedStateResume(t *testing.T) {
	const total, cut = 30, 17
	spec := Spec{Name: "sgd", LR: 0.05, Momentum: 0.9, Nesterov: true, Average: "tail:0.5:30"}
	refP := newAvgParams()
	ref, err := New(refP, spec)
	mustNoErr(t, err)
	rng := rand.New(rand.NewPCG(5, 6))
	randomSteps(ref, refP, rng, total)

	firstP := newAvgParams()
	first, err := New(firstP, spec)
	mustNoErr(t, err)
	rng = rand.New(rand.NewPCG(5, 6))
	randomSteps(first, firstP, rng, cut)
	blob, err := first.State().MarshalBinary()
	mustNoErr(t, err)
	var st State
	mustNoErr(t, st.UnmarshalBinary(blob))
	if st.Average == nil || st.Average.Count != cut-15 {
		t.Fatalf("decoded state's average %+v, want %d iterates", st.Average, cut-15)
	}

	secondP := newAvgParams()
	for i, p := range secondP {
		copy(p.Value.Data(), firstP[i].Value.Data())
	}
	second, err := New(secondP, spec)
	mustNoErr(t, err)
	mustNoErr(t, second.LoadState(&st))
	randomSteps(second, secondP, rng, total-cut)
	ra, sa := ref.(*Averaged[float64]), second.(*Averaged[float64])
	for i := range refP {
		want, got := make([]float64, refP[i].Value.Len()), make([]float64, refP[i].Value.Len())
		ra.Average(i, want)
		sa.Average(i, got)
		if !equalBits(got, want) || !equalBits(secondP[i].Value.Data(), refP[i].Value.Data()) {
			t.Fatalf("%s: resumed value %v average %v, uninterrupted %v and %v",
				refP[i].Name, secondP[i].Value.Data(), got, refP[i].Value.Data(), want)
		}
	}
}

// TestAveragedStateCompat: a state without an average (written before
// averaging existed) loads into an averaged optimizer, which then averages
// from the next step; a state with an average is refused by an optimizer
// without averaging and by one averaging from another step; a state
// without an average still encodes as format version 1.
func TestAveragedStateCompat(t *testing.T) {
	ps := newAvgParams()
	plain, err := New(ps, Spec{Name: "sgd", LR: 0.1, Momentum: 0.5})
	mustNoErr(t, err)
	randomSteps(plain, ps, rand.New(rand.NewPCG(7, 8)), 5)
	old := plain.State()
	blob, err := old.MarshalBinary()
	mustNoErr(t, err)
	if v := blob[len(binaryMagic)-1]; v != 1 {
		t.Fatalf("a state without an average encodes as version %d, want 1", v)
	}

	avP := newAvgParams()
	avOpt, err := New(avP, Spec{Name: "sgd", LR: 0.1, Momentum: 0.5, Average: "polyak"})
	mustNoErr(t, err)
	av := avOpt.(*Averaged[float64])
	mustNoErr(t, av.LoadState(old))
	for i, p := range ps {
		copy(avP[i].Value.Data(), p.Value.Data())
	}
	randomSteps(av, avP, rand.New(rand.NewPCG(9, 9)), 1)
	got := make([]float64, 3)
	av.Average(0, got)
	if av.Count() != 1 || !equalBits(got, avP[0].Value.Data()) {
		t.Fatalf("after one step from an old state: count %d, average %v, want 1 and the iterate %v", av.Count(), got, avP[0].Value.Data())
	}

	withAvg := av.State()
	if err := plain.LoadState(withAvg); err == nil || !strings.Contains(err.Error(), "average") {
		t.Errorf("plain SGD loaded a state with an average: error %v", err)
	}
	other, err := New(newAvgParams(), Spec{Name: "sgd", LR: 0.1, Momentum: 0.5, Average: "from:3"})
	mustNoErr(t, err)
	if err := other.LoadState(withAvg); err == nil || !strings.Contains(err.Error(), "from step") {
		t.Errorf("averaging from step 3 loaded a state averaging from 0: error %v", err)
	}
	bad := av.State()
	bad.Average.Params[1].Data = bad.Average.Params[1].Data[:0]
	before := av.State()
	if err := av.LoadState(bad); err == nil {
		t.Error("LoadState accepted an average of the wrong length")
	}
	if after := av.State(); !equalBits(after.Average.Params[0].Data, before.Average.Params[0].Data) || after.Average.Count != before.Average.Count {
		t.Error("a refused LoadState changed the average")
	}
	// The version byte must match the header.
	blob, err = withAvg.MarshalBinary()
	mustNoErr(t, err)
	if v := blob[len(binaryMagic)-1]; v != 2 {
		t.Fatalf("a state with an average encodes as version %d, want 2", v)
	}
	var st State
	mustNoErr(t, st.UnmarshalBinary(blob))
	if !equalBits(st.Average.Params[0].Data, withAvg.Average.Params[0].Data) {
		t.Fatal("binary round trip changed the average")
	}
}

// TestAveragedFloat32: the average of float32 parameters is kept in
// float64 (the mean of 1000 iterates alternating between 1 and 1 + 2^-20
// is exact to float32 rounding).
func TestAveragedFloat32(t *testing.T) {
	p := &Param[float32]{Name: "x", Value: tensor.FromSlice([]float32{1}), Grad: tensor.New[float32](1)}
	opt, err := New([]*Param[float32]{p}, Spec{Name: "sgd", LR: 1, Average: "polyak"})
	mustNoErr(t, err)
	const d = 1.0 / (1 << 20)
	for k := range 1000 {
		// Alternate x between 1 + d and 1.
		if k%2 == 0 {
			p.Grad.Data()[0] = -d
		} else {
			p.Grad.Data()[0] = d
		}
		opt.Step()
	}
	got := make([]float32, 1)
	opt.(*Averaged[float32]).Average(0, got)
	if want := float32(1 + d/2); got[0] != want {
		t.Fatalf("float32 average %v, want %v", got[0], want)
	}
}

func equalBits(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}
