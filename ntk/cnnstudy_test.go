package ntk

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/data"
)

// CNNStudy on 8x8 digits: the analytic kernels exist for a conv-residual-
// flatten net, the Monte Carlo mean of 4 networks is closer to them than
// one network, and the posteriors of every kernel classify the digits far
// above chance (10%). A net with max pooling has no analytic kernel: the
// study says which layer and still scores the finite-width kernels.
func TestCNNStudyDigits(t *testing.T) {
	tk, err := data.LoadTask[float64]("digits", 0.2, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := CNNStudyConfig{
		Spec: "conv8k3p1-res(relu-conv8k3p1)-relu-flatten-fc10", N: 60, NTest: 60, Seed: 3,
		WStd: math.Sqrt2, BStd: 0.1, MCSeeds: 4, DiagReg: 1e-4,
	}
	res, err := CNNStudy(context.Background(), tk.Train, tk.Test, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Analytic || len(res.Kernels) != 2 || len(res.Posteriors) != 6 {
		t.Fatalf("analytic %v (%s), %d kernel rows, %d posteriors; want an analytic kernel, 2 rows and 6 posteriors", res.Analytic, res.AnalyticSkipped, len(res.Kernels), len(res.Posteriors))
	}
	one, mc := res.Kernels[0], res.Kernels[1]
	t.Logf("NTK error: one network %.3f, mean of %d %.3f (stderr %.3f); NNGP %.3f, %.3f", *one.NTKErr, mc.Networks, *mc.NTKErr, mc.NTKStdErr, *one.NNGPErr, *mc.NNGPErr)
	if !(*mc.NTKErr < *one.NTKErr) || !(*mc.NNGPErr < *one.NNGPErr) {
		t.Errorf("Monte Carlo errors NTK %.3f, NNGP %.3f are not below one network's %.3f, %.3f", *mc.NTKErr, *mc.NNGPErr, *one.NTKErr, *one.NNGPErr)
	}
	for _, p := range res.Posteriors {
		t.Logf("%s %s: accuracy %.3f, MSE %.4f", p.Kernel, p.Posterior, *p.Accuracy, p.MSE)
		if *p.Accuracy < 0.6 {
			t.Errorf("%s %s: test accuracy %.3f, want >= 0.6 (chance is 0.1)", p.Kernel, p.Posterior, *p.Accuracy)
		}
	}
	if ok, err := res.SaveFigure(t.TempDir()); !ok || err != nil {
		t.Errorf("SaveFigure = %v, %v", ok, err)
	}

	cfg.Spec, cfg.MCSeeds = "conv4k3p1-relu-maxpool2-flatten-fc10", 0
	res, err = CNNStudy(context.Background(), tk.Train, tk.Test, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Analytic || !strings.Contains(res.AnalyticSkipped, `layer 2 "maxpool2"`) {
		t.Errorf("max pooling: analytic %v, skipped %q; want the reason naming layer 2", res.Analytic, res.AnalyticSkipped)
	}
	if len(res.Kernels) != 1 || res.Kernels[0].NTKErr != nil || len(res.Posteriors) != 2 {
		t.Errorf("max pooling: %d kernel rows (NTK error %v), %d posteriors; want 1 row with NaN error and 2 posteriors", len(res.Kernels), res.Kernels[0].NTKErr, len(res.Posteriors))
	}
}
