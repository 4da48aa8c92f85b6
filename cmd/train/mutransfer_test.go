package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMuTransferJSON: "train mutransfer -json" on a tiny grid prints JSON
// lines only, every one with a "kind", the last the summary with both drift
// fields the independent checks read; the outputs land in -out.
func TestMuTransferJSON(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, "mutransfer", "-json", "-widths", "16,32", "-seeds", "2", "-steps", "3", "-n", "64",
		"-batch", "16", "-bootstrap", "20", "-lrs", "sp/adam=-8:-7,mup/adam=-4:-3", "-out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := jsonLines(t, out)
	// 2 params x 2 widths x 3 lrs loss lines, 4 optima, 2 transfers, summary.
	if len(lines) != 12+4+2+1 {
		t.Fatalf("%d JSON lines, want 19:\n%s", len(lines), out)
	}
	for i, l := range lines {
		if _, ok := l["kind"].(string); !ok {
			t.Errorf("line %d has no kind: %v", i+1, l)
		}
	}
	last := lines[len(lines)-1]
	if last["kind"] != "summary" {
		t.Fatalf("last line kind %v, want summary", last["kind"])
	}
	for _, k := range []string{"mup_drift_octaves", "sp_drift_octaves"} {
		if v, ok := last[k].(float64); !ok || v < 0 {
			t.Errorf("summary %s = %v, want a non-negative number", k, last[k])
		}
	}
	for _, f := range []string{"config.json", "mutransfer.jsonl", "mutransfer_mup_adam.png", "mutransfer_standard_adam.svg"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("output %s missing or empty (%v)", f, err)
		}
	}
}

func TestMuTransferUsageErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-param", "xyz"}, `unknown parameterization "xyz"`},
		{[]string{"-opt", "lbfgs"}, "lbfgs"},
		{[]string{"-widths", "64"}, "at least 2 widths"},
		{[]string{"-widths", "64,-1"}, `"-1" is not a positive integer`},
		{[]string{"-seeds", "0"}, "-seeds 0"},
		{[]string{"-steps", "0"}, "-steps 0"},
		{[]string{"-n", "5000"}, "-n 5000"},
		{[]string{"-batch", "1000"}, "-batch 1000"},
		{[]string{"-lrs", "mup/adam=-3"}, "param/opt=LO:HI"},
		{[]string{"-lrs", "mup/adam=-3:-3"}, "at least 3"},
		{[]string{"-lrs", "ntk/adam=-3:0"}, "not a parameterization and optimizer"},
		{[]string{"-schedule", "linear"}, "-schedule"},
		{[]string{"-frobnicate"}, "frobnicate"},
	}
	for _, c := range cases {
		code, out, errs := runCLI(t, append(append([]string{"mutransfer", "-json"}, c.args...), "-out", dir)...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", c.args, code, errs)
			continue
		}
		lines := strings.Split(strings.TrimSpace(errs), "\n")
		if len(lines) != 1 || !strings.Contains(errs, c.want) || strings.Contains(errs, "goroutine") || out != "" {
			t.Errorf("%v: stdout %q, stderr %q; want nothing on stdout and one line mentioning %q", c.args, out, errs, c.want)
		}
	}
}
