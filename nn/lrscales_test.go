package nn

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// MLPConfig.LRScales returns the multipliers NewMLP puts on the weight and
// bias of every layer, for every parameterization, SGD and Adam, one and
// three layers; a layer index out of range panics with the layer count.
func TestLRScalesMatchNewMLP(t *testing.T) {
	for _, p := range []Parameterization{Standard, NTK, MeanField, MuP} {
		for _, adaptive := range []bool{false, true} {
			for _, dims := range [][]int{{3, 2}, {3, 8, 16, 2}} {
				c := MLPConfig{Dims: dims, Parameterization: p, BStd: 0.5, AdaptiveLR: adaptive}
				m, err := NewMLP[float64](c, rand.New(rand.NewPCG(1, 2)))
				if err != nil {
					t.Fatal(err)
				}
				for l, layer := range m.Layers {
					w, b := c.LRScales(l)
					if w != layer.Weight.LRScale || b != layer.Bias.LRScale {
						t.Errorf("%s adaptive %v dims %v layer %d: LRScales %v, %v; NewMLP set %v, %v", p, adaptive, dims, l, w, b, layer.Weight.LRScale, layer.Bias.LRScale)
					}
				}
			}
		}
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "2 layers") {
			t.Errorf("LRScales(2) of a two-layer MLP: panic %v, want one naming 2 layers", r)
		}
	}()
	MLPConfig{Dims: []int{3, 4, 1}}.LRScales(2)
}
