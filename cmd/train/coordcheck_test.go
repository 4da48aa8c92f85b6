package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/sweep"
)

// TestCoordCheck runs muP and SP on widths 64..256 and checks the outputs
// (table, coordcheck.jsonl, figures) and the check's verdict: in muP the
// hidden layers' mean |h| at t = 3 is flat in the width (log-log slope
// within +-0.1; measured -0.03 and -0.05), while in SP the change of the
// output grows with the width much faster than in muP (slope difference
// > 0.5; measured +0.85 against -0.44). Seeded, so reproducible bit for bit.
func TestCoordCheck(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, "coordcheck", "-param", "mup,sp", "-widths", "64,128,256", "-seeds", "2", "-out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"n=64", "n=256", "mup", "standard", "log-log slope"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "coordcheck.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	rows := jsonLines(t, string(b))
	if len(rows) != 2*3*3*3 {
		t.Fatalf("coordcheck.jsonl: %d rows, want 54 (2 params x 3 layers x 3 t x 3 widths)", len(rows))
	}
	// series[param/layer/field] holds the t = 3 values by increasing width.
	series := map[string][]float64{}
	ws := []float64{64, 128, 256}
	for _, r := range rows {
		if r["t"].(float64) != 3 {
			continue
		}
		key := r["parameterization"].(string) + "/" + itoa(int(r["layer"].(float64)))
		series[key+"/mean"] = append(series[key+"/mean"], r["mean"].(float64))
		series[key+"/delta"] = append(series[key+"/delta"], r["delta"].(float64))
	}
	for _, l := range []string{"0", "1"} {
		if s := sweep.LogLogSlope(ws, series["mup/"+l+"/mean"]); math.Abs(s) > 0.1 {
			t.Errorf("muP hidden layer %s: mean |h| slope %.3f at t=3, want flat (|slope| <= 0.1)", l, s)
		}
	}
	sp, mup := sweep.LogLogSlope(ws, series["standard/2/delta"]), sweep.LogLogSlope(ws, series["mup/2/delta"])
	if !(sp > mup+0.5) {
		t.Errorf("output change slope: SP %.3f, muP %.3f; want SP's to exceed muP's by 0.5", sp, mup)
	}
	for _, f := range []string{"coordcheck_mup.png", "coordcheck_mup.svg", "coordcheck_standard.png", "coordcheck_standard.svg"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("output %s missing or empty (%v)", f, err)
		}
	}
	code, out, errs = runCLI(t, "coordcheck", "-param", "ntk", "-widths", "16,32", "-seeds", "1", "-opt", "adam", "-lr", "0.01", "-json", "-no-figures", "-out", dir, "-overwrite")
	if n := len(jsonLines(t, out)); code != 0 || n != 3*3*2 {
		t.Errorf("-json: exit %d (%s), %d lines, want 18", code, errs, n)
	}
}

func TestCoordCheckUsageErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"coordcheck", "-param", "xyz"}, `unknown parameterization "xyz"`},
		{[]string{"coordcheck", "-opt", "lbfgs"}, "lbfgs"},
		{[]string{"coordcheck", "-steps", "0"}, "-steps 0"},
		{[]string{"coordcheck", "-seeds", "0"}, "-seeds 0"},
		{[]string{"coordcheck", "-widths", "64,-1"}, `"-1" is not a positive integer`},
		{[]string{"coordcheck", "-depth", "0"}, "-depth 0"},
		{[]string{"coordcheck", "-lr", "0"}, "-lr 0"},
	}
	for _, c := range cases {
		code, _, errs := runCLI(t, append(c.args, "-out", dir)...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", c.args, code, errs)
			continue
		}
		lines := strings.Split(strings.TrimSpace(errs), "\n")
		if len(lines) != 1 || !strings.Contains(errs, c.want) || strings.Contains(errs, "goroutine") {
			t.Errorf("%v: stderr %q, want one line mentioning %q", c.args, errs, c.want)
		}
	}
}
