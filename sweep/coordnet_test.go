package sweep

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/nn"
)

// TestCoordCheckCNN is the mup paper's coordinate check on a CNN
// (CNNCoordSpec: two 3x3 convs of w channels and a readout from w*16
// features) trained with Adam (lr 0.01) for 2 steps on one batch of 64
// digits, widths w = 8..64, 2 seeds, watching the outputs of the two convs
// and of the readout.
//
// muP (nn.NewNetWith: hidden conv Adam rate eta/fan_in with fan_in = w*9,
// MuReadout 1/fan_in): the change mean |h_l(t) - h_l(1)| of the hidden
// conv and of the output is flat in the width. Measured: slopes -0.006
// (output, t = 3) and -0.011 (hidden, t = 3), and -0.007, -0.012 at t =
// 2; the test allows |slope| < 0.15.
//
// SP with Adam: every weight moves by about eta per step whatever the
// width, so a hidden conv's change sums fan_in = 9w coherent
// contributions and grows like w, and so does the readout's. Measured at
// t = 2 (one step): output change slope 1.14, hidden 0.87; at t = 3 0.44
// and 0.53 (the cross entropy saturates the largest widths' logits after
// the first step). The test requires > 0.5 at t = 2 and > 0.25 at t = 3.
func TestCoordCheckCNN(t *testing.T) {
	res, err := CoordCheck(context.Background(), CoordConfig{Dataset: Dataset{Kind: "digits", N: 64},
		Widths: []int{8, 16, 32, 64}, Parameterizations: []nn.Parameterization{nn.MuP, nn.Standard},
		Seeds: []uint64{1, 2}, LR: 0.01, Optimizer: "adam", Steps: 3, Net: CNNCoordSpec})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"0 conv{w}k3p1", "2 conv{w}k3p1", "6 fc10"}; !slices.Equal(res.Layers, want) || res.Config.Depth != 2 {
		t.Fatalf("layers %q (Depth %d), want %q", res.Layers, res.Config.Depth, want)
	}
	if row, _ := res.Value(nn.MuP, 2, 1, 8); row.Name != "6 fc10" {
		t.Errorf("row name %q, want 6 fc10", row.Name)
	}
	for _, tt := range []int{2, 3} {
		for _, l := range []int{1, 2} {
			mu, vs := coordSlope(t, res, nn.MuP, l, tt, true)
			t.Logf("muP layer %d t=%d: change slope %+.3f (%.3g)", l, tt, mu, vs)
			if math.Abs(mu) > 0.15 {
				t.Errorf("muP layer %d t=%d: change slope %+.3f, want |slope| < 0.15 (flat in the width)", l, tt, mu)
			}
			sp, vs := coordSlope(t, res, nn.Standard, l, tt, true)
			t.Logf("SP layer %d t=%d: change slope %+.3f (%.3g)", l, tt, sp, vs)
			if min := map[int]float64{2: 0.5, 3: 0.25}[tt]; sp < min {
				t.Errorf("SP layer %d t=%d: change slope %+.3f, want > %v (growing with the width)", l, tt, sp, min)
			}
		}
	}
	// Slopes reports the same fits at the last step, with the layer names.
	for _, s := range res.Slopes() {
		if s.Layer == 2 && s.Parameterization == nn.MuP && (s.Name != "6 fc10" || s.Delta == nil || math.Abs(*s.Delta) > 0.15) {
			t.Errorf("Slopes: muP output %+v, want the name and a flat change", s)
		}
	}
}

// TestCoordCheckNetErrors checks that a net check names the field at
// fault: a malformed placeholder, an MLP field set, dropout, and a spec
// whose output does not fit the data.
func TestCoordCheckNetErrors(t *testing.T) {
	base := CoordConfig{Dataset: Dataset{Kind: "digits", N: 8}, Widths: []int{4}, Parameterizations: []nn.Parameterization{nn.MuP},
		Seeds: []uint64{1}, LR: 0.01, Steps: 2}
	for _, c := range []struct{ net, want string }{
		{"conv{v}k3-flatten-fc10", "placeholder {v}"},
		{"conv{w}k3-dropout-flatten-fc10", "dropout"},
		{"conv{w}k3-flatten-fc7", "fc10"},
		{"conv{w}k9-flatten-fc10", "kernel 9 larger"},
	} {
		cfg := base
		cfg.Net = c.net
		_, err := CoordCheck(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), "net") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("net %q: error %v, want one naming the field net and %q", c.net, err, c.want)
		}
	}
	cfg := base
	cfg.Net, cfg.Parameterizations = CNNCoordSpec, []nn.Parameterization{nn.MuP, nn.MeanField}
	if _, err := CoordCheck(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "meanfield applies to nets with two weight layers") {
		t.Errorf("mean field on a deeper net: error %v, want nn.NewNetWith's", err)
	}
	cfg = base
	cfg.Net, cfg.Depth = CNNCoordSpec, 3
	if _, err := CoordCheck(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "depth") {
		t.Errorf("net with depth: error %v, want one naming depth", err)
	}
}

// TestSweepNet trains a sweep of a CNN template (Config.Net) on digits:
// every record has one coordinate per watched layer (two convs and the
// readout), a kernel drift where asked (the net's empirical NTK weighted
// by its SGD multipliers), a positive displacement of the first conv's
// channels once it trained, a lower loss, and a rerun that is bit for
// bit the same (the runs are seeded).
func TestSweepNet(t *testing.T) {
	c := Config{Dataset: Dataset{Kind: "digits", N: 16}, Widths: []int{4, 8}, Net: CNNCoordSpec,
		Parameterizations: []nn.Parameterization{nn.MuP}, Seeds: []uint64{1}, LRs: []float64{0.1}, Steps: 3,
		KernelPoints: 4}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	ds, err := makeDataset(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range c.Runs() {
		recs, div, err := Train(context.Background(), c, ds, spec)
		if err != nil || div != 0 {
			t.Fatalf("%s: %v (diverged at %d)", spec.ID, err, div)
		}
		if len(recs) != 4 {
			t.Fatalf("%s: %d records, want 4 (steps 0..3)", spec.ID, len(recs))
		}
		last := recs[3]
		if len(last.Coord) != 3 || last.KernelDrift == nil || !(*last.KernelDrift > 0) || !(last.Displacement > 0) || !(last.Loss < recs[0].Loss) {
			t.Errorf("%s: last record %+v, want 3 coordinates, a positive kernel drift and displacement, a lower loss", spec.ID, last)
		}
		again, _, err := Train(context.Background(), c, ds, spec)
		if err != nil || again[3].Loss != last.Loss || again[3].Displacement != last.Displacement {
			t.Errorf("%s: rerun gives loss %v, displacement %v; first run %v, %v", spec.ID, again[3].Loss, again[3].Displacement, last.Loss, last.Displacement)
		}
	}
	bad := c
	bad.Depth = 2
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "depth") {
		t.Errorf("net with depth: %v, want an error naming depth", err)
	}
	bad = c
	bad.Net = "conv{w}k3-{3}-fc10"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), `"net"`) {
		t.Errorf("bad placeholder: %v, want an error naming the field net", err)
	}
}
