package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/sweep"
)

// TestSweepGeometry: "sweep init -geometry" writes the digits example; a
// small sweep with a geometry block prints the correlation table after
// the slopes, writes correlations.jsonl and the kendall_tau figure, and
// "sweep analyze -json" ends with one correlation line per measure and
// the summary, the same bytes as correlations.jsonl for the same seed.
func TestSweepGeometry(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "geometry.json")
	if code, _, errs := runCLI(t, "sweep", "init", "-geometry", path); code != 0 {
		t.Fatalf("init -geometry: exit %d: %s", code, errs)
	}
	cfg, err := sweep.LoadConfig(path)
	if err != nil || cfg.Geometry == nil || cfg.Dataset.Kind != "digits" || len(cfg.Runs()) < 24 {
		t.Fatalf("geometry example: %v, %+v", err, cfg)
	}
	// The example cut down to 8 short runs.
	small := writeFile(t, filepath.Join(dir, "small.json"), `{
  "dataset": {"kind": "digits", "n": 64, "test_n": 64},
  "widths": [8, 16],
  "activation": "relu",
  "parameterizations": ["standard"],
  "seeds": [1],
  "lrs": [0.1, 0.3],
  "steps": 20,
  "batch_sizes": [16, 64],
  "log_every": 10,
  "kernel_every": -1,
  "geometry": {"probe": 32, "seed": 1, "every": 5, "lanczos_iters": 5, "trace_probes": 4}
}
`)
	out := filepath.Join(dir, "out")
	code, stdout, errs := runCLI(t, "sweep", "-config", small, "-out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"Kendall tau-b", "sharpness", "weight_distance", "b=16"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "figures", "kendall_tau.png")); err != nil {
		t.Error(err)
	}
	code, stdout, errs = runCLI(t, "sweep", "analyze", "-json", out)
	if code != 0 {
		t.Fatalf("analyze -json: exit %d: %s", code, errs)
	}
	lines := jsonLines(t, stdout)
	n := len(sweep.GeometryMeasures)
	if len(lines) < n+1 || lines[len(lines)-1]["kind"] != "summary" || lines[len(lines)-1]["runs"] != float64(8) {
		t.Fatalf("analyze -json: want %d correlation lines and a summary of 8 runs last, got %v", n, lines)
	}
	for i, m := range sweep.GeometryMeasures {
		l := lines[len(lines)-1-n+i]
		tau, ok := l["tau"].(float64)
		if l["kind"] != "correlation" || l["measure"] != m || !ok || tau < -1 || tau > 1 || l["ci_lo"] == nil {
			t.Errorf("line %v: want the correlation of %s", l, m)
		}
	}
	saved, err := os.ReadFile(filepath.Join(out, "correlations.jsonl"))
	if err != nil || !strings.HasSuffix(stdout, string(saved)) {
		t.Errorf("correlations.jsonl (%v) is not the tail of analyze -json:\n%s", err, saved)
	}
	if code, _, errs := runCLI(t, "sweep", "analyze", "-resamples", "0", out); code != 2 {
		t.Errorf("-resamples 0: exit %d (%s), want 2", code, errs)
	}
}
