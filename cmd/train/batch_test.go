package main

import (
	"os"

	"context"
	"encoding/json"
	"github.com/gradflow/gradflow/critical"
	"path/filepath"
	"strings"
	"testing"
)

// "train batch -json" on a reduced linear grid: JSON lines only, the last
// the summary with the contract's keys; and the usage errors name the flag.
func TestBatchJSON(t *testing.T) {
	out := filepath.Join(t.TempDir(), "b")
	var stdout, stderr strings.Builder
	code := run(context.Background(), []string{"batch", "-json", "-no-figures", "-out", out, "-seeds", "4", "-batches", "2,8,32",
		"-measure-n", "4096"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["kind"] == nil {
			t.Fatalf("line %q: not a JSON object with a kind (%v)", l, err)
		}
	}
	var sum map[string]any
	_ = json.Unmarshal([]byte(lines[len(lines)-1]), &sum)
	if sum["kind"] != "summary" {
		t.Fatalf("last line %q is not the summary", lines[len(lines)-1])
	}
	for _, k := range []string{"b_noise", "b_noise_exact", "b_crit"} {
		if v, ok := sum[k].(float64); !ok || !(v > 0) {
			t.Errorf("summary %q = %v, want a positive number", k, sum[k])
		}
	}
	for _, args := range [][]string{{"-data", "mnist"}, {"-batches", "8"}, {"-target-frac", "1.5"}} {
		var so, se strings.Builder
		if code := run(context.Background(), append([]string{"batch", "-out", filepath.Join(t.TempDir(), "x")}, args...), &so, &se); code != 2 || !strings.Contains(se.String(), args[0]) {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming %s", args, code, se.String(), args[0])
		}
	}
}

// -data digits, given in a -config file, switches the defaults of the
// other flags to the digits study's (its target fraction and arch show in
// the summary's config), on a tiny grid.
func TestBatchDataDefaults(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "c.json")
	if err := os.WriteFile(cfgFile, []byte(`{"data":"digits"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var so, se strings.Builder
	code := run(context.Background(), []string{"batch", "-config", cfgFile, "-json", "-no-figures", "-batches", "16,64", "-lrs", "0.8",
		"-seeds", "1", "-target-frac", "0.9", "-measure-n", "64", "-hvps", "8", "-out", filepath.Join(dir, "o")}, &so, &se)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, se.String())
	}
	lines := strings.Split(strings.TrimSpace(so.String()), "\n")
	var sum struct {
		Config critical.StudyConfig `json:"config"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatal(err)
	}
	def := critical.DefaultStudy("digits")
	if sum.Config.Data != "digits" || sum.Config.Arch != def.Arch || sum.Config.MaxSteps != def.MaxSteps {
		t.Errorf("config %+v: want the digits defaults (arch %s, max_steps %d)", sum.Config, def.Arch, def.MaxSteps)
	}
}
