package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStabilityJSON: "train stability -json" with no study flags prints
// JSON lines only: the logistic points, the ridge rows and a last
// {"kind":"summary"} line with "hrs_ratio" (in (0, 1]: the measured
// distance is below the HRS bound) and "ridge_slope" (-1 +- 0.1).
func TestStabilityJSON(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, "stability", "-json", "-out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := jsonLines(t, out)
	kinds := map[string]int{}
	for _, l := range lines {
		kinds[l["kind"].(string)]++
	}
	if kinds["logistic"] != 51 || kinds["ridge"] != 5 || kinds["summary"] != 1 {
		t.Errorf("line kinds %v, want 51 logistic, 5 ridge, 1 summary", kinds)
	}
	sum := lines[len(lines)-1]
	if sum["kind"] != "summary" {
		t.Fatalf("last line %v is not the summary", sum)
	}
	ratio, slope := sum["hrs_ratio"].(float64), sum["ridge_slope"].(float64)
	if !(ratio > 0 && ratio <= 1) || slope < -1.1 || slope > -0.9 {
		t.Errorf("hrs_ratio %v, ridge_slope %v: want (0, 1] and -1 +- 0.1", ratio, slope)
	}
	b, err := os.ReadFile(filepath.Join(dir, "stability.jsonl"))
	if err != nil || string(b) != out {
		t.Errorf("stability.jsonl differs from stdout (err %v)", err)
	}
	for _, f := range []string{"config.json", "stability_delta.png", "ridge.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
}

func TestStabilityUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-eta", "3"}, "2/beta"},
		{[]string{"-lambda", "0"}, "-lambda"},
		{[]string{"-ns", "1,100"}, "at least 2"},
		{[]string{"-reps", "1"}, "-reps"},
		{[]string{"-data", "synthetic:linear"}, "no class labels"},
	} {
		out := filepath.Join(t.TempDir(), "o")
		code, _, errs := runCLI(t, append([]string{"stability", "-out", out}, c.args...)...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message with %q", c.args, code, errs, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: wrote %s", c.args, out)
		}
	}
}
