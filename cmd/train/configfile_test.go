package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// readJSONMap reads a JSON object, dropping the keys in drop.
func readJSONMap(t *testing.T, path string, drop ...string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, k := range drop {
		delete(m, k)
	}
	return m
}

func readFileString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// configCommands are the commands whose -config this file tests, with
// tiny non-default settings and the result to compare after a rerun.
var configCommands = []struct {
	cmd     string
	args    []string
	result  func(t *testing.T, dir string) any
	numKeys int // flags in config.json (all but -config)
}{
	{"ntk", []string{"-n", "24", "-n-test", "12", "-arch", "auto", "-act", "erf", "-wstd", "1.5", "-bstd", "0.1", "-seed", "3", "-diag-reg", "0.001", "-no-figures"},
		func(t *testing.T, dir string) any {
			return readJSONMap(t, filepath.Join(dir, "ntk.json"), "seconds_empirical")
		}, 21},
	{"meanfield", []string{"-regime", "mf,lazy", "-alpha", "2", "-widths", "8,16", "-steps", "4", "-every", "2", "-n", "8", "-dim", "3", "-seed", "5", "-no-figures"},
		func(t *testing.T, dir string) any { return readFileString(t, filepath.Join(dir, "summary.jsonl")) }, 18},
	{"flow", []string{"-n", "16", "-etas", "0.2,0.1", "-t", "0.4", "-momentum", "0.3", "-rtol", "1e-9", "-seed", "2", "-no-figures"},
		func(t *testing.T, dir string) any { return readFileString(t, filepath.Join(dir, "flow.jsonl")) }, 13},
	{"stability", []string{"-steps", "40", "-every", "20", "-swaps", "2", "-seeds", "1", "-ns", "20,40", "-reps", "3", "-seed", "3", "-no-figures"},
		func(t *testing.T, dir string) any { return readFileString(t, filepath.Join(dir, "stability.jsonl")) }, 15},
	{"coordcheck", []string{"-param", "mup", "-widths", "8,16", "-steps", "2", "-seeds", "1", "-lr", "0.05", "-depth", "1", "-n", "16", "-dim", "3", "-no-figures"},
		func(t *testing.T, dir string) any { return readFileString(t, filepath.Join(dir, "coordcheck.jsonl")) }, 13},
}

// TestConfigRoundTrip: each command writes config.json, and a rerun from
// it (with another -out) writes the same config and the same results.
func TestConfigRoundTrip(t *testing.T) {
	for _, c := range configCommands {
		t.Run(c.cmd, func(t *testing.T) {
			a, b := t.TempDir(), t.TempDir()
			if code, _, errs := runCLI(t, append([]string{c.cmd, "-out", a}, c.args...)...); code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			ca := readJSONMap(t, filepath.Join(a, "config.json"))
			if len(ca) != c.numKeys || ca["out"] != a || ca["no_figures"] != true {
				t.Errorf("config.json has %d keys (want %d), out %v, no_figures %v: %v", len(ca), c.numKeys, ca["out"], ca["no_figures"], ca)
			}
			if code, _, errs := runCLI(t, c.cmd, "-config", filepath.Join(a, "config.json"), "-out", b); code != 0 {
				t.Fatalf("rerun: exit %d: %s", code, errs)
			}
			cb := readJSONMap(t, filepath.Join(b, "config.json"))
			if cb["out"] != b {
				t.Errorf("rerun config.json: out %v, want %s", cb["out"], b)
			}
			delete(ca, "out")
			delete(cb, "out")
			if !reflect.DeepEqual(ca, cb) {
				t.Errorf("config.json differs after the rerun:\n%v\n%v", ca, cb)
			}
			if ra, rb := c.result(t, a), c.result(t, b); !reflect.DeepEqual(ra, rb) {
				t.Errorf("results differ after the rerun:\n%v\n%v", ra, rb)
			}
		})
	}
}

// TestConfigNTKModel: with -model, ntk's config.json leaves out what the
// model and its fit run decide, so the rerun uses the same data split; a
// -config key describing a new model is refused like the flag.
func TestConfigNTKModel(t *testing.T) {
	fitDir, a, b := t.TempDir(), t.TempDir(), t.TempDir()
	if code, _, errs := runCLI(t, "fit", "-arch", "64-16-10", "-epochs", "1", "-seed", "7", "-test-frac", "0.3", "-no-figures", "-out", fitDir); code != 0 {
		t.Fatalf("fit: exit %d: %s", code, errs)
	}
	model := filepath.Join(fitDir, "model.safetensors")
	if code, _, errs := runCLI(t, "ntk", "-model", model, "-n", "20", "-n-test", "10", "-no-figures", "-out", a); code != 0 {
		t.Fatalf("ntk: exit %d: %s", code, errs)
	}
	ca := readJSONMap(t, filepath.Join(a, "config.json"))
	for _, k := range []string{"arch", "param", "init", "wstd", "bstd", "act", "data", "test_frac"} {
		if _, ok := ca[k]; ok {
			t.Errorf("config.json of a -model run has %q: %v", k, ca)
		}
	}
	if code, _, errs := runCLI(t, "ntk", "-config", filepath.Join(a, "config.json"), "-out", b); code != 0 {
		t.Fatalf("rerun: exit %d: %s", code, errs)
	}
	ra := readJSONMap(t, filepath.Join(a, "ntk.json"), "seconds_empirical")
	rb := readJSONMap(t, filepath.Join(b, "ntk.json"), "seconds_empirical")
	if ra["split_seed"] != 7.0 || !reflect.DeepEqual(ra, rb) {
		t.Errorf("split seed %v (want the fit run's 7); rerun equal: %v", ra["split_seed"], reflect.DeepEqual(ra, rb))
	}

	bad := filepath.Join(t.TempDir(), "arch.json")
	os.WriteFile(bad, []byte(`{"arch": "64-32-10"}`), 0o644)
	code, _, errs := runCLI(t, "ntk", "-config", bad, "-model", model, "-out", t.TempDir())
	if code != 2 || !strings.Contains(errs, "-arch (in "+bad+")") || strings.Count(errs, "\n") != 1 {
		t.Errorf("arch in the file with -model: exit %d: %q", code, errs)
	}
}

// TestConfigOverride: the file's values are used, and flags given too
// override them.
func TestConfigOverride(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "cc.json")
	os.WriteFile(cfg, []byte(`{"widths": "8,16", "steps": 2, "seeds": 1, "lr": 0.05, "depth": 1, "n": 16, "dim": 3, "no_figures": true}`), 0o644)
	out := filepath.Join(dir, "out")
	if code, _, errs := runCLI(t, "coordcheck", "-config", cfg, "-param", "sp", "-lr", "0.02", "-out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	got := readJSONMap(t, filepath.Join(out, "config.json"))
	want := map[string]any{"param": "sp", "widths": "8,16", "steps": 2.0, "seeds": 1.0, "lr": 0.02, "opt": "sgd", "depth": 1.0,
		"act": "relu", "n": 16.0, "dim": 3.0, "out": out, "json": false, "no_figures": true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("config.json\n got %v\nwant %v", got, want)
	}

	// ntk: a bool flag given false overrides the file's true.
	nf := filepath.Join(dir, "ntk.json")
	os.WriteFile(nf, []byte(`{"n": 10, "n_test": 5, "csv": true, "no_figures": true, "seed": 2}`), 0o644)
	out = filepath.Join(dir, "ntk")
	if code, _, errs := runCLI(t, "ntk", "-config", nf, "-csv=false", "-n", "12", "-out", out); code != 0 {
		t.Fatalf("ntk: exit %d: %s", code, errs)
	}
	got = readJSONMap(t, filepath.Join(out, "config.json"))
	if got["csv"] != false || got["n"] != 12.0 || got["n_test"] != 5.0 || got["seed"] != 2.0 || got["no_figures"] != true {
		t.Errorf("ntk config.json: %v", got)
	}
	if _, err := os.Stat(filepath.Join(out, "kernel.csv")); err == nil {
		t.Error("-csv=false on the command line did not override the file")
	}
}

// TestConfigErrors: a missing file, an unknown key, a value of the wrong
// type or a file that is not an object exits 2 with one line naming the
// file (and the key).
func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, cmd := range []string{"ntk", "flow", "meanfield", "coordcheck"} {
		cases := []struct {
			path string
			want []string
		}{
			{filepath.Join(dir, "missing.json"), []string{"missing.json"}},
			{write(cmd+"-unknown.json", `{"n": 8, "stepz": 3}`), []string{cmd + "-unknown.json", `"stepz"`}},
			{write(cmd+"-hyphen.json", `{"no-figures": true}`), []string{cmd + "-hyphen.json", `"no-figures"`}},
			{write(cmd+"-config.json", `{"config": "x.json"}`), []string{cmd + "-config.json", `"config"`}},
			{write(cmd+"-type.json", `{"n": "eight"}`), []string{cmd + "-type.json", `"n"`, "string"}},
			{write(cmd+"-float.json", `{"n": 8.5}`), []string{cmd + "-float.json", `"n"`}},
			{write(cmd+"-bool.json", `{"json": 1}`), []string{cmd + "-bool.json", `"json"`}},
			{write(cmd+"-array.json", `[1, 2]`), []string{cmd + "-array.json"}},
			{write(cmd+"-syntax.json", `{"n": 8,}`), []string{cmd + "-syntax.json"}},
		}
		for _, c := range cases {
			out := filepath.Join(dir, "out")
			code, stdout, errs := runCLI(t, cmd, "-config", c.path, "-out", out)
			ok := code == 2 && strings.Count(errs, "\n") == 1 && stdout == ""
			for _, w := range c.want {
				ok = ok && strings.Contains(errs, w)
			}
			if !ok {
				t.Errorf("%s -config %s: exit %d, stderr %q, want 2 and one line with %q", cmd, filepath.Base(c.path), code, errs, c.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s -config %s: wrote %s", cmd, filepath.Base(c.path), out)
				os.RemoveAll(out)
			}
		}
	}
}

// TestConfigUsage: -h of each command documents -config.
func TestConfigUsage(t *testing.T) {
	for _, cmd := range []string{"ntk", "flow", "stability", "meanfield", "coordcheck"} {
		code, help, _ := runCLI(t, cmd, "-h")
		if code != 0 || !strings.Contains(help, "-config") || !strings.Contains(help, "config.json") {
			t.Errorf("%s -h: exit %d, no -config / config.json in:\n%s", cmd, code, help)
		}
	}
}
