package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSDEJSON: "train sde -json" (with a shorter window) prints JSON lines
// only: one "svag" line per l, one "sme" line per integrator, and last the
// summary with svag_slope, which for l = 1, 2, 4, 8 is -1 within 0.15 (the
// study's standard errors put it within 0.02 of the closed form's -1.02);
// the outputs are written, and the run directory is then refused without
// -overwrite.
func TestSDEJSON(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, "sde", "-json", "-time", "40", "-out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := jsonLines(t, out)
	if len(lines) != 4+2+1 {
		t.Fatalf("%d JSON lines, want 4 svag, 2 sme and the summary:\n%s", len(lines), out)
	}
	for i, l := range lines {
		want := "svag"
		switch {
		case i == len(lines)-1:
			want = "summary"
		case i >= 4:
			want = "sme"
		}
		if l["kind"] != want {
			t.Errorf("line %d: kind %v, want %s", i, l["kind"], want)
		}
	}
	slope, ok := lines[len(lines)-1]["svag_slope"].(float64)
	if !ok || math.Abs(slope+1) > 0.15 {
		t.Errorf("svag_slope %v, want -1 +- 0.15", lines[len(lines)-1]["svag_slope"])
	}
	for _, f := range []string{"config.json", "sde.jsonl", "svag_error.png", "svag_error.svg"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("output %s missing or empty (%v)", f, err)
		}
	}
	if code, _, errs := runCLI(t, "sde", "-json", "-time", "1", "-out", dir); code != 2 || !strings.Contains(errs, "-overwrite") {
		t.Errorf("second run into %s: exit %d, stderr %q; want 2 suggesting -overwrite", dir, code, errs)
	}
}

// TestSDEBadFlags: bad settings exit 2 with one line naming the flag.
func TestSDEBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-l", "0.5,2"}, "-l"},
		{[]string{"-l", "4"}, "at least two"},
		{[]string{"-l", "1,x"}, "not a positive number"},
		{[]string{"-lr", "2.5"}, "-lr"},
		{[]string{"-chains", "1"}, "-chains"},
		{[]string{"-sme-dt", "0"}, "-sme-dt"},
		{[]string{"-time", "-1"}, "-time"},
		{[]string{"-frobnicate"}, "frobnicate"},
	} {
		args := append([]string{"sde", "-no-figures", "-out", t.TempDir()}, c.args...)
		code, out, errs := runCLI(t, args...)
		if code != 2 || !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and one line naming %q", c.args, code, out, errs, c.want)
		}
	}
}
