package optim

import (
	"strings"
	"testing"
)

// TestFactoryMatchesConstructors: New(DefaultSpec(name)) with changed
// hyperparameters follows the same trajectory, bit for bit, as the
// optimizer's own constructor with the same values.
func TestFactoryMatchesConstructors(t *testing.T) {
	x0 := []float64{0.5, -1.5, 2, 0.1}
	cases := []struct {
		spec   func(s *Spec)
		direct func(ps []*Param[float64]) (Optimizer[float64], error)
	}{
		{func(s *Spec) { s.Name, s.LR, s.Momentum, s.Nesterov = "sgd", 0.05, 0.9, true }, func(ps []*Param[float64]) (Optimizer[float64], error) {
			return NewSGD(ps, SGDConfig{LR: 0.05, Momentum: 0.9, Nesterov: true})
		}},
		{func(s *Spec) { s.Name, s.AMSGrad, s.WeightDecay = "adam", true, 0.01 }, func(ps []*Param[float64]) (Optimizer[float64], error) {
			c := DefaultAdam()
			c.AMSGrad, c.WeightDecay = true, 0.01
			return NewAdam(ps, c)
		}},
		{func(s *Spec) { s.Name = "adamw" }, func(ps []*Param[float64]) (Optimizer[float64], error) {
			return NewAdamW(ps, DefaultAdamW())
		}},
		{func(s *Spec) { s.Name, s.LRDecay = "adagrad", 0.1 }, func(ps []*Param[float64]) (Optimizer[float64], error) {
			c := DefaultAdagrad()
			c.LRDecay = 0.1
			return NewAdagrad(ps, c)
		}},
		{func(s *Spec) { s.Name, s.Centered, s.Momentum = "rmsprop", true, 0.5 }, func(ps []*Param[float64]) (Optimizer[float64], error) {
			c := DefaultRMSprop()
			c.Centered, c.Momentum = true, 0.5
			return NewRMSprop(ps, c)
		}},
	}
	for _, c := range cases {
		var probe Spec
		c.spec(&probe)
		spec, err := DefaultSpec(probe.Name)
		mustNoErr(t, err)
		c.spec(&spec)
		a, b := []*Param[float64]{vecParam("x", x0)}, []*Param[float64]{vecParam("x", x0)}
		oa, err := New(a, spec)
		mustNoErr(t, err)
		ob, err := c.direct(b)
		mustNoErr(t, err)
		for range 20 {
			gradQuartic(a)
			gradQuartic(b)
			oa.Step()
			ob.Step()
		}
		for i, v := range a[0].Value.Data() {
			if w := b[0].Value.Data()[i]; v != w {
				t.Fatalf("%s: x[%d] = %v from New, %v from the constructor", spec.Name, i, v, w)
			}
		}
	}
}

// TestSpecValidate: unknown names and hyperparameters the optimizer does
// not take are errors naming them; Trim resets the latter.
func TestSpecValidate(t *testing.T) {
	ps := []*Param[float64]{vecParam("x", []float64{1})}
	if _, err := New(ps, Spec{Name: "lbfgs", LR: 1}); err == nil || !strings.Contains(err.Error(), `"lbfgs"`) {
		t.Errorf("unknown optimizer: error %v", err)
	}
	s, _ := DefaultSpec("adam")
	s.Momentum = 0.9
	_, err := New(ps, s)
	if err == nil || !strings.Contains(err.Error(), "momentum does not apply to adam (it is for sgd, rmsprop)") {
		t.Errorf("momentum on adam: error %v", err)
	}
	if _, err := New(ps, s.Trim()); err != nil {
		t.Errorf("trimmed spec rejected: %v", err)
	}
	if s.Trim().Momentum != 0 || s.Trim().Beta1 != 0.9 {
		t.Errorf("Trim changed the wrong fields: %+v", s.Trim())
	}
	s, _ = DefaultSpec("sgd")
	s.LR = -1
	if _, err := New(ps, s); err == nil || !strings.Contains(err.Error(), "LR") {
		t.Errorf("negative lr: error %v", err)
	}
	if ok, by := Takes("adagrad", "lr_decay"); !ok || by == nil {
		t.Errorf("Takes(adagrad, lr_decay) = %v, %v", ok, by)
	}
	if ok, _ := Takes("sgd", "lr"); !ok {
		t.Error("lr must apply to every optimizer")
	}
}
