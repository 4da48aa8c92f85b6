package flow

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMinibatchNoiseCovariance: the noise samples of MinibatchNoise have
// covariance Sigma = (1/B)(1/n) sum_i (g_i - gbar)(g_i - gbar)^T. Along 3
// fixed directions v, the mean of (v.xi)^2 over 4000 samples must match
// v^T Sigma v from the per-example gradients within 4 standard errors of a
// chi-square mean (4 sqrt(2/4000) = 9%); the gradient GradNoise returns is
// the objective's to 1e-9.
func TestMinibatchNoiseCovariance(t *testing.T) {
	p := newDigitsProblem(t, 32)
	const B, samples = 3, 4000
	f, err := NewMinibatchNoise(p.obj, B)
	if err != nil {
		t.Fatal(err)
	}
	g := p.obj.PerExampleGrads(p.x0)
	n, dim := g.Dims()
	rng := rand.New(rand.NewPCG(5, 5))
	vs := make([][]float64, 3)
	for k := range vs {
		vs[k] = make([]float64, dim)
		for j := range vs[k] {
			vs[k][j] = rng.NormFloat64()
		}
	}
	want := make([]float64, len(vs))
	gbar := make([]float64, dim)
	for i := range n {
		for j, v := range g.RawRowView(i) {
			gbar[j] += v / float64(n)
		}
	}
	for k, v := range vs {
		for i := range n {
			d := 0.0
			for j, gij := range g.RawRowView(i) {
				d += v[j] * (gij - gbar[j])
			}
			want[k] += d * d / float64(n*B)
		}
	}
	got := make([]float64, len(vs))
	noise, grad, ref := make([]float64, dim), make([]float64, dim), make([]float64, dim)
	for range samples {
		f.GradNoise(p.x0, rng, grad, noise)
		for k, v := range vs {
			d := 0.0
			for j := range v {
				d += v[j] * noise[j]
			}
			got[k] += d * d / samples
		}
	}
	for k := range vs {
		t.Logf("direction %d: E(v.xi)^2 %.5g, v^T Sigma v %.5g", k, got[k], want[k])
		if math.Abs(got[k]/want[k]-1) > 4*math.Sqrt(2.0/samples) {
			t.Errorf("direction %d: E(v.xi)^2 = %.5g, want v^T Sigma v = %.5g", k, got[k], want[k])
		}
	}
	p.obj.Grad(p.x0, ref)
	for j := range ref {
		if math.Abs(grad[j]-ref[j]) > 1e-9*(1+math.Abs(ref[j])) {
			t.Fatalf("GradNoise gradient[%d] = %v, objective's %v", j, grad[j], ref[j])
		}
	}
}
