package sweep

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"

	"github.com/gradflow/gradflow/nn"
)

// TestVertex: the fitted optimum of an exact parabola in log2 lr is its
// vertex (to rounding), off the grid points; an optimum at the grid's edge
// stays there.
func TestVertex(t *testing.T) {
	x := []float64{-4, -3.5, -3, -2.5, -2, -1.5, -1}
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = 0.1 + 0.3*(v+2.8)*(v+2.8)
	}
	if got, i := vertex(x, y); math.Abs(got+2.8) > 1e-9 || i != 2 {
		t.Errorf("vertex %v (index %d), want -2.8 (index 2)", got, i)
	}
	y[len(y)-1] = math.Inf(1) // a diverged rate is left out of the fit
	if got, _ := vertex(x, y); math.Abs(got+2.8) > 1e-9 {
		t.Errorf("with a diverged rate: vertex %v, want -2.8", got)
	}
	for i := range y {
		y[i] = -x[i]
	}
	if got, i := vertex(x, y); got != -1 || i != len(x)-1 {
		t.Errorf("decreasing curve: vertex %v (index %d), want the last grid point -1", got, i)
	}
}

// tinyMuTransfer is a grid small enough for unit tests.
func tinyMuTransfer() MuTransferConfig {
	return MuTransferConfig{Dataset: Dataset{Kind: "digits", N: 64}, Widths: []int{16, 32}, Seeds: []uint64{1, 2},
		Steps: 4, BatchSize: 16, Bootstrap: 50, BaseWidth: 16, Activation: nn.GELU, ZeroReadout: true, InputLRMult: 0.5,
		Grids: []LRGrid{{Parameterization: nn.Standard, Optimizer: "adam", Log2Min: -8, Log2Max: -7},
			{Parameterization: nn.MuP, Optimizer: "adam", Log2Min: -5, Log2Max: -4}}}
}

// TestMuTransferDeterministic: the result, written as JSON lines, is the
// same byte for byte at GOMAXPROCS 1 and 2 (runs in parallel, gathered by
// index; bootstrap from its own seed).
func TestMuTransferDeterministic(t *testing.T) {
	var out [2]bytes.Buffer
	for i, procs := range []int{1, 2} {
		old := runtime.GOMAXPROCS(procs)
		res, err := MuTransfer(context.Background(), tinyMuTransfer())
		runtime.GOMAXPROCS(old)
		if err != nil {
			t.Fatal(err)
		}
		if err := res.WriteJSONL(&out[i]); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(out[0].Bytes(), out[1].Bytes()) {
		t.Fatalf("GOMAXPROCS 1 and 2 differ:\n%s\n---\n%s", out[0].String(), out[1].String())
	}
}

// TestMuTransferCancel: a cancelled context stops the experiment with its
// error.
func TestMuTransferCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := MuTransfer(ctx, tinyMuTransfer()); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

// TestMuTransferConfigErrors: invalid experiments are refused naming the
// field.
func TestMuTransferConfigErrors(t *testing.T) {
	c := tinyMuTransfer()
	c.Widths = []int{16}
	if err := c.Validate(); err == nil || !bytes.Contains([]byte(err.Error()), []byte(`"widths"`)) {
		t.Errorf("one width: %v, want an error naming widths", err)
	}
	c = tinyMuTransfer()
	c.InputLRMult = -1
	if err := c.Validate(); err == nil || !bytes.Contains([]byte(err.Error()), []byte(`"input_lr_mult"`)) {
		t.Errorf("negative input multiplier: %v, want an error naming input_lr_mult", err)
	}
	c = tinyMuTransfer()
	c.Grids[0].Log2Max = c.Grids[0].Log2Min
	if err := c.Validate(); err == nil || !bytes.Contains([]byte(err.Error()), []byte(`"grids"`)) {
		t.Errorf("one-point grid: %v, want an error naming grids", err)
	}
}

// TestMuTransferAdamDigits is the muTransfer experiment on the digits with
// Adam, reduced to fit the test budget: MLP 64-[2 x n]-10 GELU, widths
// 32..512 (5 widths, 4 doublings), 4 seeds, 50 steps of 64 of the first
// 512 digits with a cosine schedule, muP with base width 64 (MuAdam's
// rates), zero-initialized readout and input-layer rate multiplier 1/8,
// half-octave grids around the optima. It asserts the three claims of
// issue 18 on this range: muP's optimum moves by <= 0.5 octave, SP's by >=
// 2, and muP's loss at the optimum is non-increasing in the width.
//
// Measured (103 s on a shared 2-core machine at load average 7-8; the
// default "train mutransfer", a slightly larger grid, takes 58 s of CPU): SP's
// optimum falls from 2^-4.37 (n=32) to 2^-6.87 (n=512), drift 2.51 octaves,
// slope -0.59 per doubling; muP's stays within 2^-3.67..2^-3.33, drift 0.34,
// slope +0.10 (trend +0.38 octave over the range), loss at the optimum
// 0.031, 0.0135, 0.0116, 0.0085, 0.0057 (SP's at n=512: 0.0099). The small
// upward slope is a finite-width effect that grows as the input layer's
// share of the learning shrinks: +0.06 per doubling with the input layer at
// MuAdam's rate (multiplier 1; but there muP's loss stops improving beyond
// n=128 and is worse than SP's), +0.21 at 1/64 (what MuPBaseScales gave
// by mistake before it followed MuAdam). On 64..1024 the same setup gives
// muP drift 0.33, SP 2.13, but muP's loss has saturated (0.0057 at 512,
// 0.0064 +- 0.0004 at 1024), so the third claim fails there.
// TestMuTransferAdamDigitsFull (GRADFLOW_MUTRANSFER_FULL=1) is the same on
// 64..2048.
func TestMuTransferAdamDigits(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 360 MLPs")
	}
	res, err := MuTransfer(context.Background(), digitsMuTransfer([]int{32, 64, 128, 256, 512}, -8, -3, -5, -2))
	if err != nil {
		t.Fatal(err)
	}
	checkMuTransferClaims(t, res, true)
}

// checkMuTransferClaims asserts issue 18's claims on res: no optimum at a
// grid edge, SP's drift >= 2 octaves, muP's <= 0.5, muP's loss at the
// optimum non-increasing in the width (strictly, or within twice the
// seeds' standard error of each step's difference).
func checkMuTransferClaims(t *testing.T, res *MuTransferResult, strict bool) {
	t.Helper()
	sp, _ := res.Transfer(nn.Standard, "adam")
	mup, _ := res.Transfer(nn.MuP, "adam")
	for _, o := range res.Optima {
		t.Logf("%s width %d: log2 lr* %+.2f [%+.2f, %+.2f], loss %.4f +- %.4f", o.Parameterization, o.Width, o.Log2LR, o.Log2LRLo, o.Log2LRHi, o.Loss, o.LossSE)
	}
	t.Logf("SP drift %.2f [%.2f, %.2f] slope %+.2f; muP drift %.2f [%.2f, %.2f] slope %+.2f trend %+.2f, wider is better %v",
		sp.DriftOctaves, sp.DriftLo, sp.DriftHi, sp.Slope, mup.DriftOctaves, mup.DriftLo, mup.DriftHi, mup.Slope, mup.TrendOctaves, mup.WiderIsBetter)
	if len(sp.EdgeWidths)+len(mup.EdgeWidths) > 0 {
		t.Errorf("optima at a grid edge: SP %v, muP %v", sp.EdgeWidths, mup.EdgeWidths)
	}
	if !(sp.DriftOctaves >= 2) {
		t.Errorf("SP drift %.2f octaves, want >= 2", sp.DriftOctaves)
	}
	if !(mup.DriftOctaves <= 0.5) {
		t.Errorf("muP drift %.2f octaves, want <= 0.5", mup.DriftOctaves)
	}
	if strict && !mup.WiderIsBetter {
		t.Errorf("muP: loss at the optimum increases with the width")
	}
	if !mup.WiderIsBetterWithinNoise {
		t.Errorf("muP: loss at the optimum increases with the width by more than 2 standard errors")
	}
}

// TestMuTransferAdamDigitsFull is the claim on widths 64..2048 (6
// widths), on all 1797 digits (on the first 512 the wide networks fit the
// data within the 50 steps and the loss at the optimum stops moving at
// about 0.006), 3 seeds. Measured with `train mutransfer -widths
// 64,128,256,512,1024,2048 -n 1797 -lrs mup/adam=-5.5:-1.5,standard/adam=-10.5:-3.5
// -seeds 3` (the same runs): SP drift 3.27 [3.02, 3.68] octaves, muP 0.36
// [0.24, 0.57]; muP's loss at the optimum 0.088, 0.077, 0.058, 0.059,
// 0.059, 0.061 (standard errors 0.001-0.004): falling up to width 256 and
// flat within noise after, as muP's width-independent limit predicts, so
// the strict "non-increasing" is not asserted here. About 10 CPU minutes
// (35 wall minutes on a loaded 2-core machine); run with
// GRADFLOW_MUTRANSFER_FULL=1.
func TestMuTransferAdamDigitsFull(t *testing.T) {
	if os.Getenv("GRADFLOW_MUTRANSFER_FULL") == "" {
		t.Skip("set GRADFLOW_MUTRANSFER_FULL=1 to run (about 10 CPU minutes)")
	}
	c := digitsMuTransfer([]int{64, 128, 256, 512, 1024, 2048}, -10.5, -3.5, -5.5, -1.5)
	c.Dataset.N, c.Seeds = 1797, []uint64{1, 2, 3}
	res, err := MuTransfer(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	checkMuTransferClaims(t, res, false)
}

// digitsMuTransfer is the experiment of the digits tests: SP and muP (base
// width 64, zero readout, input-layer rate multiplier 1/8) with Adam on the
// given widths, SP's grid 2^spLo..2^spHi and muP's 2^mupLo..2^mupHi.
func digitsMuTransfer(widths []int, spLo, spHi, mupLo, mupHi float64) MuTransferConfig {
	return MuTransferConfig{Dataset: Dataset{Kind: "digits", N: 512}, Widths: widths,
		Seeds: []uint64{1, 2, 3, 4}, Steps: 50, BatchSize: 64, Activation: nn.GELU, BaseWidth: 64,
		ZeroReadout: true, InputLRMult: 0.125,
		Grids: []LRGrid{{Parameterization: nn.Standard, Optimizer: "adam", Log2Min: spLo, Log2Max: spHi},
			{Parameterization: nn.MuP, Optimizer: "adam", Log2Min: mupLo, Log2Max: mupHi}}}
}

// TestMuPBaseScales: with the base scales, muP's per-layer rates are the
// mup library's (MuAdam, MuSGD) with width_mult = width/base. The
// effective-weight rate (Adam: alpha times LRScale; SGD: alpha^2 times
// LRScale; biases: their LRScale) is 1 for every parameter at the base
// width, as in SP; at 16 times the base width, Adam keeps the input
// weights and every bias at 1 and puts the hidden and readout weights at
// 1/16, SGD puts the input weights and hidden biases at 16, the hidden
// weights (square) at 1 and the readout at 1/16.
func TestMuPBaseScales(t *testing.T) {
	const base = 8
	for _, adaptive := range []bool{true, false} {
		for _, mult := range []int{1, 16} {
			n := base * mult
			m, err := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{5, n, n, 3}, Parameterization: nn.MuP, AdaptiveLR: adaptive},
				rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				t.Fatal(err)
			}
			MuPBaseScales(m, base, adaptive)
			wm := float64(mult)
			// want[l] = {weight, bias} effective rates.
			want := [][2]float64{{1, 1}, {1 / wm, 1}, {1 / wm, 1}}
			if !adaptive {
				want = [][2]float64{{wm, wm}, {1, wm}, {1 / wm, 1}}
			}
			for l, layer := range m.Layers {
				w := layer.Alpha * layer.Weight.LRScale
				if !adaptive {
					w *= layer.Alpha
				}
				b := layer.BiasMult * layer.Bias.LRScale
				if math.Abs(w-want[l][0]) > 1e-12*want[l][0] || math.Abs(b-want[l][1]) > 1e-12*want[l][1] {
					t.Errorf("adaptive %v width %d layer %d: effective rates weight %v, bias %v; want %v, %v",
						adaptive, n, l, w, b, want[l][0], want[l][1])
				}
			}
		}
	}
}
