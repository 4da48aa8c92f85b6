package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/sweep"
)

// TestSweepNet writes the CNN example with "sweep init -cnn" (a valid
// configuration with a net spec template), then runs a small sweep of a
// CNN from a configuration file: every run's result file is complete with
// a coordinate per watched layer, config.json keeps the net spec, and the
// slope table lists the metrics.
func TestSweepNet(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cnn.json")
	if code, _, errs := runCLI(t, "sweep", "init", "-cnn", path); code != 0 {
		t.Fatalf("sweep init -cnn: exit %d: %s", code, errs)
	}
	c, err := sweep.LoadConfig(path)
	if err != nil || c.Net != sweep.CNNCoordSpec {
		t.Fatalf("the CNN example: %v, net %q; want a valid sweep of %s", err, c.Net, sweep.CNNCoordSpec)
	}
	small := `{"dataset": {"kind": "digits", "n": 16}, "widths": [4, 8], "net": "conv{w}k3p1-relu-maxpool2-flatten-fc10",
  "parameterizations": ["standard", "mup"], "seeds": [1], "lrs": [0.1], "steps": 4, "log_every": 2, "kernel_points": 4}`
	if err := os.WriteFile(path, []byte(small), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, stdout, errs := runCLI(t, "sweep", "-config", path, "-out", out)
	if code != 0 {
		t.Fatalf("sweep of a CNN: exit %d: %s", code, errs)
	}
	for _, want := range []string{"kernel_drift", "displacement", "coord[-1]", "n=8"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("slope table lacks %q:\n%s", want, stdout)
		}
	}
	rep, err := sweep.Analyze(out)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Config.Net == "" || len(rep.Runs) != 4 {
		t.Fatalf("loaded sweep: net %q, %d runs; want the spec and 4 runs", rep.Config.Net, len(rep.Runs))
	}
	for _, r := range rep.Runs {
		last := r.Records[len(r.Records)-1]
		if last.Step != 4 || len(last.Coord) != 2 {
			t.Errorf("run %s: last record at step %d with %d coordinates, want step 4 and 2 (conv, readout)", r.Spec.ID, last.Step, len(last.Coord))
		}
	}
}
