package optim

import (
	"strings"
	"testing"
)

// TestLineSearchState: a line search restored from a checkpoint (through
// the binary encoding) continues exactly as the uninterrupted one: same
// parameters, step sizes and evaluation counts, with Grow making the next
// first trial depend on the saved state. Bad states are refused without
// changing the optimizer.
func TestLineSearchState(t *testing.T) {
	rosen := func(p *Param[float64]) Objective {
		return func(grad bool) float64 {
			x, y := p.Value.Data()[0], p.Value.Data()[1]
			if grad {
				g := p.Grad.Data()
				g[0] = -2*(1-x) - 400*x*(y-x*x)
				g[1] = 200 * (y - x*x)
			}
			return (1-x)*(1-x) + 100*(y-x*x)*(y-x*x)
		}
	}
	cfg := DefaultArmijo(1)
	cfg.Grow = 2
	pa := vecParam("x", []float64{-1.2, 1})
	a, err := NewLineSearchGD([]*Param[float64]{pa}, cfg)
	mustNoErr(t, err)
	for k := 0; k < 7; k++ {
		_, err := a.Step(rosen(pa))
		mustNoErr(t, err)
	}
	raw, err := a.State().MarshalBinary()
	mustNoErr(t, err)
	var st State
	mustNoErr(t, st.UnmarshalBinary(raw))

	pb := vecParam("x", append([]float64(nil), pa.Value.Data()...))
	b, err := NewLineSearchGD([]*Param[float64]{pb}, DefaultArmijo(1)) // config comes from the state
	mustNoErr(t, err)
	mustNoErr(t, b.LoadState(&st))
	if b.Evaluations() != a.Evaluations() || b.LastStepSize() != a.LastStepSize() {
		t.Fatalf("restored evals %d, last %v; want %d, %v", b.Evaluations(), b.LastStepSize(), a.Evaluations(), a.LastStepSize())
	}
	for k := 0; k < 20; k++ {
		fa, err := a.Step(rosen(pa))
		mustNoErr(t, err)
		fb, err := b.Step(rosen(pb))
		mustNoErr(t, err)
		if fa != fb || pa.Value.Data()[0] != pb.Value.Data()[0] || pa.Value.Data()[1] != pb.Value.Data()[1] || a.LastStepSize() != b.LastStepSize() {
			t.Fatalf("step %d after restore: f %v vs %v, eta %v vs %v", k, fb, fa, b.LastStepSize(), a.LastStepSize())
		}
	}
	if a.Evaluations() != b.Evaluations() || a.State().Steps != 27 || b.State().Steps != 27 {
		t.Fatalf("evals %d vs %d, steps %d and %d (want 27)", a.Evaluations(), b.Evaluations(), a.State().Steps, b.State().Steps)
	}

	good := a.State()
	bad := func(edit func(s *State)) *State {
		s := a.State()
		edit(s)
		return s
	}
	cases := []struct {
		s    *State
		want string
	}{
		{nil, "nil state"},
		{bad(func(s *State) { s.Kind = "sgd" }), `optimizer "sgd"`},
		{bad(func(s *State) { s.Groups = nil }), "0 parameter groups"},
		{bad(func(s *State) { s.Groups[0].Params[0].Name = "y" }), `"y"`},
		{bad(func(s *State) { s.Groups[0].Hyper = []byte(`{"LR": -1}`) }), "LR"},
		{bad(func(s *State) { s.Extra["trial"] = 0 }), "trial"},
		{bad(func(s *State) { s.Extra["evals"] = 1.5 }), "evals"},
		{bad(func(s *State) { s.Steps = -1 }), "negative"},
	}
	for _, c := range cases {
		err := b.LoadState(c.s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("LoadState: error %v, want one mentioning %s", err, c.want)
		}
	}
	if got := b.State(); got.Steps != good.Steps || got.Extra["evals"] != good.Extra["evals"] {
		t.Errorf("a refused state changed the optimizer: %+v", got)
	}
}
