package ntk

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// The quadrature kernels of tanh and GELU against Monte Carlo estimates
// of wide networks: a [4, 1024, 1024, 1] NTK-parameterized MLP (W_std
// 1.5, b_std 0.2), 48 seeds, on 3 inputs. Every entry of the mean NTK
// and NNGP kernel must be within 3 standard errors of Arch's. The finite
// width biases the mean by O(1/n), about 1e-3 relative, below the
// standard errors (0.3% to 1.5% relative). Measured: at most 1.9
// standard errors (tanh NTK).
func TestMonteCarloMatchesQuadrature(t *testing.T) {
	x := randTensor(400, 3, 4)
	for _, act := range []nn.Activation{nn.Tanh, nn.GELU} {
		cfg := nn.MLPConfig{Dims: []int{4, 1024, 1024, 1}, Activation: act, Parameterization: nn.NTK, WStd: 1.5, BStd: 0.2}
		arch, err := ArchOf(cfg)
		if err != nil {
			t.Fatal(err)
		}
		want, err := arch.Kernels(tensor.ToDense(x), nil)
		if err != nil {
			t.Fatal(err)
		}
		mc, err := MonteCarlo(mlpBuilder(cfg), x, nil, MonteCarloConfig[float64]{Seeds: 48, FirstSeed: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []struct {
			name          string
			got, se, want *mat.Dense
		}{{"NTK", mc.NTK, mc.NTKStdErr, want.NTK}, {"NNGP", mc.NNGP, mc.NNGPStdErr, want.NNGP}} {
			var worst float64
			for i := 0; i < 3; i++ {
				for j := i; j < 3; j++ {
					z := (k.got.At(i, j) - k.want.At(i, j)) / k.se.At(i, j)
					worst = math.Max(worst, math.Abs(z))
					if math.Abs(z) > 3 {
						t.Errorf("%s %s(%d,%d): Monte Carlo %.5g +- %.2g, quadrature %.5g (%.1f standard errors)", act, k.name, i, j, k.got.At(i, j), k.se.At(i, j), k.want.At(i, j), z)
					}
				}
			}
			t.Logf("%s %s: largest deviation %.2f standard errors; standard error of (0,0) %.2g relative", act, k.name, worst, k.se.At(0, 0)/k.want.At(0, 0))
		}
	}
}

// MonteCarlo's mean and standard error on a build whose kernels are known:
// a one-layer linear model whose weights are set from the seed, so that
// the empirical NTK is x.x'/d for every seed (standard error 0) and the
// output kernel is s^2 x.x'/d for weight scale s(seed), whose mean and
// standard error follow from the s^2 values.
func TestMonteCarloMeanAndStdErr(t *testing.T) {
	x := randTensor(401, 4, 3)
	scales := []float64{1, 2, 0.5, 3}
	build := func(seed uint64) (nn.Module[float64], error) {
		w := tensor.New[float64](1, 3)
		for j := range w.Data() {
			w.Data()[j] = scales[seed] * []float64{1, 0, 0}[j]
		}
		return nn.NewLinearFrom[float64]("", w, nil), nil
	}
	mc, err := MonteCarlo(build, x, nil, MonteCarloConfig[float64]{Seeds: 4})
	if err != nil {
		t.Fatal(err)
	}
	var s2 []float64
	for _, s := range scales {
		s2 = append(s2, s*s)
	}
	mean := (s2[0] + s2[1] + s2[2] + s2[3]) / 4
	var ss float64
	for _, v := range s2 {
		ss += (v - mean) * (v - mean)
	}
	se := math.Sqrt(ss / 3 / 4)
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			xx := x.At(i, 0) * x.At(j, 0) // only the first weight is non-zero
			if got := mc.NNGP.At(i, j); math.Abs(got-mean*xx) > 1e-12*(1+math.Abs(mean*xx)) {
				t.Errorf("NNGP(%d,%d) = %v, want %v", i, j, got, mean*xx)
			}
			if got := mc.NNGPStdErr.At(i, j); math.Abs(got-se*math.Abs(xx)) > 1e-12*(1+se*math.Abs(xx)) {
				t.Errorf("NNGP standard error (%d,%d) = %v, want %v", i, j, got, se*math.Abs(xx))
			}
			var dot float64
			for c := 0; c < 3; c++ {
				dot += x.At(i, c) * x.At(j, c)
			}
			if got := mc.NTK.At(i, j); math.Abs(got-dot) > 1e-12 || mc.NTKStdErr.At(i, j) > 1e-12 {
				t.Errorf("NTK(%d,%d) = %v +- %v, want %v +- 0", i, j, got, mc.NTKStdErr.At(i, j), dot)
			}
		}
	}
	b, err := json.Marshal(mc)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Seeds int         `json:"seeds"`
		NTK   [][]float64 `json:"ntk"`
		SE    [][]float64 `json:"nngp_stderr"`
	}
	if err := json.Unmarshal(b, &back); err != nil || back.Seeds != 4 || len(back.NTK) != 4 || back.SE[1][2] != mc.NNGPStdErr.At(1, 2) {
		t.Errorf("JSON %s: decoded %+v, %v", b, back, err)
	}
	if _, err := MonteCarlo(build, x, nil, MonteCarloConfig[float64]{Seeds: 1}); err == nil || !strings.Contains(err.Error(), "Seeds") {
		t.Errorf("one seed: error %v, want one naming Seeds", err)
	}
}
