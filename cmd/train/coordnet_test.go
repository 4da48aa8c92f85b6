package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCoordCheckCNN runs "coordcheck -arch cnn" small (widths 8..32, one
// seed, one Adam step) and checks the outputs: JSON rows named by the
// spec's tokens, then a summary line with the slopes of every
// parameterization and layer; config.json recording -arch and the net
// defaults that applied (adam, lr 0.01); a table without -json.
func TestCoordCheckCNN(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, "coordcheck", "-arch", "cnn", "-widths", "8,16,32", "-seeds", "1", "-steps", "2", "-n", "32", "-json", "-no-figures", "-out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// 2 parameterizations x 3 layers x 2 times x 3 widths, then the summary.
	if len(lines) != 2*3*2*3+1 {
		t.Fatalf("%d JSON lines, want 37:\n%s", len(lines), out)
	}
	var row struct {
		Name  string
		Layer int
		Width int
	}
	if err := json.Unmarshal([]byte(lines[0]), &row); err != nil || row.Name != "0 conv{w}k3p1" || row.Width != 8 {
		t.Errorf("first row %s (%v), want layer 0 conv{w}k3p1 at width 8", lines[0], err)
	}
	var sum struct {
		Summary struct {
			Net    string
			Layers []string
			Slopes []struct {
				Parameterization string
				Layer            int
				Delta            *float64
			}
		}
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil || len(sum.Summary.Slopes) != 6 || len(sum.Summary.Layers) != 3 ||
		!strings.HasPrefix(sum.Summary.Net, "conv{w}k3p1") {
		t.Fatalf("summary line %s (%v), want the net, 3 layers and 6 slopes", lines[len(lines)-1], err)
	}
	for _, s := range sum.Summary.Slopes {
		if s.Layer > 0 && s.Delta == nil {
			t.Errorf("slope of %s layer %d has no change slope", s.Parameterization, s.Layer)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil || cfg["arch"] != "cnn" || cfg["opt"] != "adam" || cfg["lr"] != 0.01 {
		t.Errorf("config.json %s: want arch cnn with the net defaults opt adam, lr 0.01", b)
	}
	code, out, errs = runCLI(t, "coordcheck", "-config", filepath.Join(dir, "config.json"), "-json=false", "-param", "mup", "-out", dir, "-overwrite")
	if code != 0 || !strings.Contains(out, "2 conv{w}k3p1") || !strings.Contains(out, "fc10 (output)") || !strings.Contains(errs+out, "net conv{w}k3p1") {
		t.Errorf("table run from config.json: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// TestCoordCheckNetUsageErrors checks the one-line errors of net checks.
func TestCoordCheckNetUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-arch", "cnn", "-depth", "3"}, "-depth applies to -arch mlp"},
		{[]string{"-arch", "cnn", "-dim", "4"}, "-dim applies to -arch mlp"},
		{[]string{"-arch", "conv8k3-flatten-fc10"}, "no width placeholder"},
		{[]string{"-arch", "64"}, "want mlp, cnn or a net spec"},
		{[]string{"-arch", "conv{w}k3-flatten-fc7", "-widths", "4"}, "fc10"},
		{[]string{"-arch", "conv{w}k3p1-relu-conv{w}k3-relu-flatten-fc10", "-param", "mf", "-widths", "4"}, "meanfield applies to nets with two weight layers"},
		{[]string{"-arch", "cnn", "-n", "5000"}, "-n 5000"},
	} {
		code, _, errs := runCLI(t, append(append([]string{"coordcheck"}, c.args...), "-out", dir, "-overwrite")...)
		lines := strings.Split(strings.TrimSpace(errs), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line mentioning %q", c.args, code, errs, c.want)
		}
	}
}
