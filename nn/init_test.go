package nn

import (
	"math"
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

// TestInitVariance draws a 400x600 weight (240000 draws) from every
// initializer and checks its mean and variance. The sample variance of
// N = 240000 draws has relative standard error sqrt(2/N) ~ 0.003 (normal)
// and less for uniform draws, so a 2% band is over six standard errors
// wide; the mean's standard error is sqrt(var/N).
func TestInitVariance(t *testing.T) {
	const out, in = 400, 600
	cases := []struct {
		name string
		init func(w *tensor.Tensor[float64])
		v    float64
	}{
		{"LeCunNormal", func(w *tensor.Tensor[float64]) { LeCunNormal(w, newRNG(1)) }, 1.0 / in},
		{"LeCunUniform", func(w *tensor.Tensor[float64]) { LeCunUniform(w, newRNG(2)) }, 1.0 / in},
		{"HeNormal", func(w *tensor.Tensor[float64]) { HeNormal(w, newRNG(3)) }, 2.0 / in},
		{"HeUniform", func(w *tensor.Tensor[float64]) { HeUniform(w, newRNG(4)) }, 2.0 / in},
		{"GlorotNormal", func(w *tensor.Tensor[float64]) { GlorotNormal(w, newRNG(5)) }, 2.0 / (in + out)},
		{"GlorotUniform", func(w *tensor.Tensor[float64]) { GlorotUniform(w, newRNG(6)) }, 2.0 / (in + out)},
		{"TorchLinearWeight", func(w *tensor.Tensor[float64]) { TorchLinearWeight(w, newRNG(7)) }, 1.0 / (3 * in)},
		{"Orthogonal", func(w *tensor.Tensor[float64]) { Orthogonal(w, 1, newRNG(8)) }, 1.0 / in},
	}
	for _, c := range cases {
		w := tensor.New[float64](out, in)
		c.init(w)
		n := float64(w.Len())
		mean := tensor.Sum(w) / n
		var v float64
		for _, x := range w.Data() {
			v += (x - mean) * (x - mean)
		}
		v /= n - 1
		if math.Abs(v/c.v-1) > 0.02 {
			t.Errorf("%s: variance %.4g, want %.4g", c.name, v, c.v)
		}
		if math.Abs(mean) > 6*math.Sqrt(c.v/n) {
			t.Errorf("%s: mean %.3g, want 0", c.name, mean)
		}
	}
}

// TestOrthogonal checks W W^T = gain^2 I for a wide W and W^T W = gain^2 I
// for a tall one, to 1e-12.
func TestOrthogonal(t *testing.T) {
	for _, s := range [][2]int{{5, 8}, {8, 5}, {6, 6}} {
		w := tensor.New[float64](s[0], s[1])
		Orthogonal(w, 2, newRNG(9))
		g := tensor.MatMul(w, w, false, true)
		if s[0] > s[1] {
			g = tensor.MatMul(w, w, true, false)
		}
		k := g.Dim(0)
		for i := 0; i < k; i++ {
			for j := 0; j < k; j++ {
				want := 0.0
				if i == j {
					want = 4
				}
				if math.Abs(g.At(i, j)-want) > 1e-12 {
					t.Fatalf("shape %v: Gram[%d,%d] = %v, want %v", s, i, j, g.At(i, j), want)
				}
			}
		}
	}
}

func TestInitDeterministic(t *testing.T) {
	a, b := tensor.New[float32](30, 20), tensor.New[float32](30, 20)
	HeNormal(a, newRNG(3))
	HeNormal(b, newRNG(3))
	if !tensor.Equal(a, b) {
		t.Error("same seed gave different weights")
	}
}
