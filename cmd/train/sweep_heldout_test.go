package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSweepHeldOut: a sweep with dataset.test_n logs test_loss and
// test_accuracy in every record and tabulates test_loss (table and -json
// fits); an impossible digits test_n is a usage error naming the field.
func TestSweepHeldOut(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "sweep.json"), `{
  "dataset": {"kind": "teacher-class", "n": 24, "dim": 4, "classes": 3, "seed": 2, "test_n": 32},
  "widths": [16, 32],
  "parameterizations": ["mup"],
  "seeds": [1, 2],
  "lrs": [0.5],
  "steps": 6,
  "log_every": 3,
  "kernel_points": 4
}
`)
	out := filepath.Join(dir, "out")
	code, stdout, errs := runCLI(t, "sweep", "-config", cfg, "-out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if tab := sweepTable(t, stdout); !strings.Contains(tab, "test_loss") {
		t.Errorf("table lacks test_loss:\n%s", tab)
	}
	for name, b := range runFiles(t, out) {
		lines := jsonLines(t, string(b))
		recs := lines[1 : len(lines)-1]
		if len(recs) != 3 {
			t.Fatalf("%s: %d records, want 3", name, len(recs))
		}
		for _, r := range recs {
			l, okL := r["test_loss"].(float64)
			a, okA := r["test_accuracy"].(float64)
			if !okL || !okA || l < 0 || a < 0 || a > 1 {
				t.Errorf("%s: record %v lacks sane held-out metrics", name, r)
			}
		}
	}
	code, stdout, _ = runCLI(t, "sweep", "analyze", "-json", out)
	var metrics []string
	for _, l := range jsonLines(t, stdout) {
		if m, _ := l["metric"].(string); !slices.Contains(metrics, m) {
			metrics = append(metrics, m)
		}
	}
	if code != 0 || len(metrics) < 2 || metrics[1] != "test_loss" {
		t.Errorf("analyze -json: exit %d, metrics %v, want test_loss after loss", code, metrics)
	}
	if b, err := os.ReadFile(filepath.Join(out, "slopes.jsonl")); err != nil || !strings.Contains(string(b), `"test_loss"`) {
		t.Errorf("slopes.jsonl lacks test_loss (%v)", err)
	}

	bad := writeFile(t, filepath.Join(dir, "bad.json"), `{
  "dataset": {"kind": "digits", "n": 1700, "test_n": 200},
  "widths": [8], "parameterizations": ["mup"], "seeds": [1], "lrs": [0.1], "steps": 1
}
`)
	code, _, errs = runCLI(t, "sweep", "-config", bad, "-out", filepath.Join(dir, "bad"))
	if code != 2 || !strings.Contains(errs, "dataset.test_n") {
		t.Errorf("digits n 1700 + test_n 200: exit %d, stderr %q; want 2 naming dataset.test_n", code, errs)
	}
}
