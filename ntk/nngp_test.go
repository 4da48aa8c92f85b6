package ntk

import (
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// Without hidden layers the empirical NNGP kernel is the analytic one
// exactly, W_std^2 x.x'/d + b_std^2, in both parameterizations, and the
// cross kernel is a block of the Gram kernel.
func TestEmpiricalNNGPLinear(t *testing.T) {
	x := randTensor(410, 5, 3)
	for _, cfg := range []nn.MLPConfig{
		{Dims: []int{3, 2}, Parameterization: nn.NTK, WStd: 1.3, BStd: 0.4},
		{Dims: []int{3, 2}, Parameterization: nn.Standard, WStd: 0.7, BStd: 0.2},
		{Dims: []int{3, 2}, Parameterization: nn.Standard, WStd: 0.7, BStd: 0.2, NoBias: true},
	} {
		m, err := nn.NewMLP[float64](cfg, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		k, err := EmpiricalNNGP(m, x, nil)
		if err != nil {
			t.Fatal(err)
		}
		arch, _ := ArchOf(cfg)
		want, err := arch.Kernels(tensor.ToDense(x), nil)
		if err != nil {
			t.Fatal(err)
		}
		if d := matRelDiff(k, want.NNGP); d > 1e-14 {
			t.Errorf("%+v: empirical NNGP differs from the analytic by %.2g", cfg, d)
		}
		kc, err := EmpiricalNNGP(m, x.Rows(0, 2), x)
		if err != nil {
			t.Fatal(err)
		}
		if d := matRelDiff(kc, k.Slice(0, 2, 0, 5)); d > 1e-14 {
			t.Errorf("cross kernel differs from the Gram block by %.2g", d)
		}
	}
	m, _ := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{3, 4, 2}, Parameterization: nn.MuP}, rand.New(rand.NewPCG(1, 2)))
	if _, err := EmpiricalNNGP(m, x, nil); err == nil {
		t.Error("muP MLP: no error")
	}
}

// Convergence of the empirical NNGP kernel of [5, n, n, 1] NTK-
// parameterized MLPs (erf, and tanh through quadrature) to Arch's NNGP
// over widths 64..1024, 12 seeds per width: the per-seed log-log slope of
// the relative Frobenius error has mean -0.5 +- 0.1 with its 95%
// t-interval inside that band (see TestMonteCarloNTK for why per seed).
func TestEmpiricalNNGPConvergence(t *testing.T) {
	const seeds = 12
	x := randTensor(411, 8, 5)
	widths := []float64{64, 128, 256, 512, 1024}
	for _, act := range []nn.Activation{nn.Erf, nn.Tanh} {
		arch, err := ArchOf(nn.MLPConfig{Dims: []int{5, 64, 64, 1}, Activation: act, Parameterization: nn.NTK, WStd: 1.4, BStd: 0.3})
		if err != nil {
			t.Fatal(err)
		}
		want, err := arch.Kernels(tensor.ToDense(x), nil)
		if err != nil {
			t.Fatal(err)
		}
		norm := mat.Norm(want.NNGP, 2)
		perSeed := make([][]float64, seeds)
		for _, w := range widths {
			cfg := nn.MLPConfig{Dims: []int{5, int(w), int(w), 1}, Activation: act, Parameterization: nn.NTK, WStd: 1.4, BStd: 0.3}
			s := 0
			_, err := MonteCarlo(mlpBuilder(cfg), x, nil, MonteCarloConfig[float64]{
				Seeds: seeds, FirstSeed: 2000, NoNTK: true,
				Each: func(_ uint64, _, k *mat.Dense) error {
					var d mat.Dense
					d.Sub(k, want.NNGP)
					perSeed[s] = append(perSeed[s], mat.Norm(&d, 2)/norm)
					s++
					return nil
				},
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		slopes := make([]float64, seeds)
		for s := range slopes {
			slopes[s] = slope(widths, perSeed[s])
		}
		mean, lo, hi := tInterval95(slopes)
		t.Logf("%s: per-seed slope %.3f [%.3f, %.3f]; seed 0 errors %s", act, mean, lo, hi, fmtVals(perSeed[0]))
		if lo < -0.6 || hi > -0.4 {
			t.Errorf("%s: per-seed error slope %.3f [%.3f, %.3f], want -0.5 +- 0.1", act, mean, lo, hi)
		}
	}
}
