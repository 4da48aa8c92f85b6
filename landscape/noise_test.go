package landscape

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/train"
)

// Closed form of the simple noise scale for linear regression.
//
// Data: x ~ N(0, I_d), y = x.w* + sigma e, e ~ N(0, 1) (data.LinearRegression
// with noise = sigma). Model f(x) = w.x with the half squared loss l =
// 0.5 (w.x - y)^2, so at w = w* + delta the per-example gradient is
// g = r x with r = x.delta - sigma e. Then
//
//	G = E[g] = E[x x^T] delta = delta,
//	E[g g^T] = E[(x.delta)^2 x x^T] + sigma^2 E[e^2] E[x x^T]
//	         = |delta|^2 I + 2 delta delta^T + sigma^2 I        (Isserlis' theorem),
//
// the cross term vanishing because e is independent of x with mean 0. So
// tr E[g g^T] = (d + 2)|delta|^2 + d sigma^2 and tr Sigma = tr E[g g^T] -
// |G|^2 = (d + 1)|delta|^2 + d sigma^2, giving
//
//	B_simple = tr(Sigma) / |G|^2 = d + 1 + d sigma^2 / |delta|^2.
func TestNoiseScaleLinearRegression(t *testing.T) {
	const (
		n, d  = 20000, 10
		sigma = 0.5
	)
	rng := newRand(7)
	ds, wstar, err := data.LinearRegression[float64](rng, n, d, sigma)
	if err != nil {
		t.Fatal(err)
	}
	model, err := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{d, 1}, NoBias: true}, rng)
	if err != nil {
		t.Fatal(err)
	}
	// w = w* + delta with |delta| = 1.
	delta := make([]float64, d)
	for i := range delta {
		delta[i] = rng.NormFloat64()
	}
	scal(1/norm(delta), delta)
	w := model.Layers[0].Weight.Value.Data()
	for i := range w {
		w[i] = wstar[i] + delta[i]
	}
	batch, err := BatchOf(ds, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := NewModelObjective[float64](model, &train.MSE[float64]{Half: true}, batch)
	if err != nil {
		t.Fatal(err)
	}
	g := obj.PerExampleGrads(obj.Point(nil))
	st, err := GradientNoise(g)
	if err != nil {
		t.Fatal(err)
	}
	want := float64(d+1) + float64(d)*sigma*sigma/dot(delta, delta)
	t.Logf("B_simple %.3f (bias-corrected %.3f), closed form %.3f, ratio %.4f; tr Sigma %.3f (theory %.3f), |G|^2 %.4f (theory 1)",
		st.BSimple, st.BSimpleUnbiased, want, st.BSimpleUnbiased/want, st.TraceCov, float64(d+1)+float64(d)*sigma*sigma, st.GradNormSq)
	// 10%: with n = 20000 the relative standard errors of tr Sigma (a
	// fourth moment) and |G|^2 are about 2% each, so 10% is over 3 SE.
	if math.Abs(st.BSimpleUnbiased/want-1) > 0.1 {
		t.Errorf("B_simple %v, closed form %v: off by more than 10%%", st.BSimpleUnbiased, want)
	}
	// The mean of the per-example gradients is the batch gradient.
	full := make([]float64, d)
	obj.Grad(obj.Point(nil), full)
	row := make([]float64, d)
	mean := make([]float64, d)
	for i := range n {
		mat.Row(row, i, g)
		axpy(1/float64(n), row, mean)
	}
	for i := range full {
		if math.Abs(full[i]-mean[i]) > 1e-10 {
			t.Fatalf("mean per-example gradient %v, batch gradient %v", mean, full)
		}
	}
}

// The minibatch variance formulas, with and without replacement, against
// Monte Carlo draws from the same gradients.
func TestMinibatchVariance(t *testing.T) {
	const n, p = 50, 8
	rng := newRand(8)
	g := gaussianMatrix(rng, n, p)
	for i := range n { // a nonzero mean gradient
		g.Set(i, 0, g.At(i, 0)+1)
	}
	st, err := GradientNoise(g)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []int{1, 5, 25, 50} {
		for _, repl := range []bool{true, false} {
			want, err := st.MinibatchVariance(b, repl)
			if err != nil {
				t.Fatal(err)
			}
			got, se, err := MeasureMinibatchVariance(g, b, 20000, repl, rng)
			if err != nil {
				t.Fatal(err)
			}
			// 4 standard errors: a false alarm has probability 6e-5
			// per case. Without replacement at b = n both are 0.
			if math.Abs(got-want) > 4*se+1e-12 {
				t.Errorf("b = %d, replacement %v: measured %v +- %v, formula %v", b, repl, got, se, want)
			}
		}
	}
	if _, err := st.MinibatchVariance(0, true); err == nil {
		t.Error("b = 0: no error")
	}
	if _, err := st.MinibatchVariance(n+1, false); err == nil {
		t.Error("b > N without replacement: no error")
	}
	if _, err := GradientNoise(mat.NewDense(1, 3, nil)); err == nil {
		t.Error("one gradient: no error")
	}
}
