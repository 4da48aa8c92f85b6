package nn

import (
	"math/rand/v2"
	"testing"
)

// MLPConfig.ZeroReadout zeroes the last layer's weight and bias and
// nothing else: the other layers draw the same values as without it, for
// every parameterization; the multipliers and learning-rate scales are
// unchanged. A one-layer MLP starts at zero.
func TestZeroReadout(t *testing.T) {
	for _, p := range []Parameterization{Standard, NTK, MeanField, MuP} {
		c := MLPConfig{Dims: []int{5, 8, 8, 3}, Parameterization: p, BStd: 0.5, AdaptiveLR: true}
		ref, err := NewMLP[float64](c, rand.New(rand.NewPCG(3, 4)))
		if err != nil {
			t.Fatal(err)
		}
		c.ZeroReadout = true
		m, err := NewMLP[float64](c, rand.New(rand.NewPCG(3, 4)))
		if err != nil {
			t.Fatal(err)
		}
		last := len(m.Layers) - 1
		for l, layer := range m.Layers {
			r := ref.Layers[l]
			if layer.Alpha != r.Alpha || layer.BiasMult != r.BiasMult || layer.Weight.LRScale != r.Weight.LRScale || layer.Bias.LRScale != r.Bias.LRScale {
				t.Errorf("%s layer %d: multipliers or LR scales changed", p, l)
			}
			for k, q := range layer.Params() {
				rq := r.Params()[k]
				for i, v := range q.Value.Data() {
					want := rq.Value.Data()[i]
					if l == last {
						want = 0
					}
					if v != want {
						t.Fatalf("%s %s[%d] = %v, want %v", p, q.Name, i, v, want)
					}
				}
			}
		}
	}
	one, err := NewMLP[float64](MLPConfig{Dims: []int{4, 2}, BStd: 1, ZeroReadout: true}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range one.Params() {
		for _, v := range p.Value.Data() {
			if v != 0 {
				t.Fatalf("one-layer MLP with ZeroReadout: %s has %v", p.Name, v)
			}
		}
	}
}
