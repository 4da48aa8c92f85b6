package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/optim"
)

// optimState reads the optimizer state saved in dir's checkpoint: the
// section that starts with optim's binary magic and ends before the
// checkpoint's SHA-256.
func optimState(t *testing.T, dir string) optim.State {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "checkpoint.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte("gradflow-optim\x00\x01"))
	if i < 0 || len(b)-sha256.Size < i {
		t.Fatalf("%s/checkpoint.ckpt: no optimizer section", dir)
	}
	var st optim.State
	if err := st.UnmarshalBinary(b[i : len(b)-sha256.Size]); err != nil {
		t.Fatal(err)
	}
	return st
}

// checkHyper fails unless every group of the checkpoint's optimizer and
// dir's config.json hold want (their keys coincide for these settings).
func checkHyper(t *testing.T, dir string, want map[string]any) optim.State {
	t.Helper()
	st := optimState(t, dir)
	if len(st.Groups) == 0 {
		t.Fatalf("%s: optimizer state has no groups", dir)
	}
	for gi, g := range st.Groups {
		var h map[string]any
		if err := json.Unmarshal(g.Hyper, &h); err != nil {
			t.Fatal(err)
		}
		for k, v := range want {
			if h[k] != v {
				t.Errorf("%s: optimizer group %d: %s = %v, want %v (hyper %s)", dir, gi, k, h[k], v, g.Hyper)
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s: config.json: %s = %v, want %v", dir, k, c[k], v)
		}
	}
	return st
}

var shortRun = []string{"fit", "-steps", "2", "-epochs", "0", "-no-figures"}

// TestOptFlagsReachOptimizer: each optimizer hyperparameter flag ends up in
// the optimizer's hyperparameters (as saved in the checkpoint) and in
// config.json.
func TestOptFlagsReachOptimizer(t *testing.T) {
	cases := []struct {
		args []string
		want map[string]any
	}{
		{[]string{"-opt", "sgd", "-dampening", "0.5"}, map[string]any{"dampening": 0.5}},
		{[]string{"-opt", "adam", "-amsgrad", "-beta1", "0.8", "-eps", "1e-6"}, map[string]any{"amsgrad": true, "beta1": 0.8, "eps": 1e-6}},
		{[]string{"-opt", "adamw", "-amsgrad", "-beta2", "0.99"}, map[string]any{"amsgrad": true, "beta2": 0.99}},
		{[]string{"-opt", "rmsprop", "-alpha", "0.9", "-centered", "-momentum", "0"}, map[string]any{"alpha": 0.9, "centered": true, "momentum": 0.0}},
		{[]string{"-opt", "adagrad", "-lr-decay", "0.01", "-initial-accumulator-value", "0.1"}, map[string]any{"lr_decay": 0.01, "initial_accumulator_value": 0.1}},
	}
	for _, c := range cases {
		dir := t.TempDir()
		args := append(append(append([]string{}, shortRun...), "-out", dir), c.args...)
		if code, _, errs := runCLI(t, args...); code != 0 {
			t.Errorf("%v: exit %d: %s", c.args, code, errs)
			continue
		}
		checkHyper(t, dir, c.want)
	}
	// torch's defaults when the flags are not given.
	dir := t.TempDir()
	if code, _, errs := runCLI(t, append(shortRun, "-out", dir, "-opt", "rmsprop")...); code != 0 {
		t.Fatalf("rmsprop defaults: exit %d: %s", code, errs)
	}
	checkHyper(t, dir, map[string]any{"alpha": 0.99, "centered": false, "momentum": 0.0})
	dir = t.TempDir()
	if code, _, errs := runCLI(t, append(shortRun, "-out", dir, "-opt", "adagrad")...); code != 0 {
		t.Fatalf("adagrad defaults: exit %d: %s", code, errs)
	}
	checkHyper(t, dir, map[string]any{"lr_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 1e-10})
	// fit's own defaults for the SGD default run, and an explicit value
	// over the per-optimizer default.
	dir = t.TempDir()
	if code, _, errs := runCLI(t, append(shortRun, "-out", dir)...); code != 0 {
		t.Fatalf("sgd defaults: exit %d: %s", code, errs)
	}
	checkHyper(t, dir, map[string]any{"momentum": 0.9})
	dir = t.TempDir()
	if code, _, errs := runCLI(t, append(shortRun, "-out", dir, "-opt", "rmsprop", "-momentum", "0.9")...); code != 0 {
		t.Fatalf("rmsprop -momentum 0.9: exit %d: %s", code, errs)
	}
	checkHyper(t, dir, map[string]any{"momentum": 0.9})
}

// TestOptFlagsConfigAndResume: the settings come from a -config file too,
// and a resumed run keeps them.
func TestOptFlagsConfigAndResume(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "run.json")
	os.WriteFile(cfg, []byte(`{"opt": "rmsprop", "alpha": 0.8, "centered": true, "steps": 2, "epochs": 0}`), 0o644)
	out := filepath.Join(dir, "out")
	if code, _, errs := runCLI(t, "fit", "-config", cfg, "-out", out, "-no-figures"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := map[string]any{"alpha": 0.8, "centered": true}
	checkHyper(t, out, want)
	if code, _, errs := runCLI(t, "fit", "-resume", out, "-steps", "4"); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, errs)
	}
	if st := checkHyper(t, out, want); st.Steps != 4 {
		t.Fatalf("resumed run saved the optimizer at step %d, want 4", st.Steps)
	}

	// A config.json of an sgd run, reused for adam, holds the defaults of
	// the sgd-only settings: accepted.
	sgd := filepath.Join(dir, "sgd")
	if code, _, errs := runCLI(t, append(shortRun, "-out", sgd)...); code != 0 {
		t.Fatalf("sgd run: exit %d: %s", code, errs)
	}
	if code, _, errs := runCLI(t, append(shortRun, "-config", filepath.Join(sgd, "config.json"), "-opt", "adam", "-out", filepath.Join(dir, "adam"))...); code != 0 {
		t.Fatalf("sgd config.json reused with -opt adam: exit %d: %s", code, errs)
	}
}

// oneLineUsage fails unless the command exits 2 with one stderr line
// containing every string of want.
func oneLineUsage(t *testing.T, args []string, want ...string) {
	t.Helper()
	code, _, errs := runCLI(t, args...)
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	if code != 2 || len(lines) != 1 || strings.Contains(errs, "goroutine") {
		t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line", args, code, errs)
		return
	}
	for _, w := range want {
		if !strings.Contains(errs, w) {
			t.Errorf("%v: stderr %q does not mention %q", args, errs, w)
		}
	}
}

// TestOptFlagsNotApplicable: a hyperparameter the chosen optimizer does not
// take is a usage error naming the flag and the optimizer, whether given
// as a flag or (with a non-default value) in the -config file.
func TestOptFlagsNotApplicable(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ opt, flag, val string }{
		{"sgd", "amsgrad", ""},
		{"sgd", "beta1", "0.5"},
		{"sgd", "eps", "1e-6"},
		{"sgd", "initial-accumulator-value", "0.1"},
		{"adam", "dampening", "0.1"},
		{"adam", "momentum", "0.5"},
		{"adamw", "centered", ""},
		{"adagrad", "alpha", "0.9"},
		{"adagrad", "nesterov", "false"},
		{"rmsprop", "lr-decay", "0.1"},
	}
	for _, c := range cases {
		args := []string{"fit", "-out", dir, "-opt", c.opt, "-" + c.flag}
		if c.val != "" {
			args[len(args)-1] += "=" + c.val
		}
		oneLineUsage(t, args, "-"+c.flag, "-opt "+c.opt)
	}
	cfg := filepath.Join(dir, "run.json")
	os.WriteFile(cfg, []byte(`{"opt": "adam", "dampening": 0.3}`), 0o644)
	oneLineUsage(t, []string{"fit", "-config", cfg, "-out", dir}, "-dampening", "-opt adam")
}

// TestOptFlagsInvalid: out-of-range values (PyTorch's ranges, as optim
// checks them) are refused in one line naming the flag.
func TestOptFlagsInvalid(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-opt", "adam", "-eps", "-1"}, "-eps -1"},
		{[]string{"-opt", "adam", "-beta1", "1"}, "-beta1 1"},
		{[]string{"-opt", "adamw", "-beta2", "-0.1"}, "-beta2 -0.1"},
		{[]string{"-opt", "rmsprop", "-alpha", "-1"}, "-alpha -1"},
		{[]string{"-opt", "adagrad", "-lr-decay", "-1"}, "-lr-decay -1"},
		{[]string{"-opt", "adagrad", "-initial-accumulator-value", "-1"}, "-initial-accumulator-value -1"},
		{[]string{"-opt", "sgd", "-dampening", "NaN"}, "-dampening NaN"},
		{[]string{"-opt", "sgd", "-nesterov", "-dampening", "0.1"}, "-nesterov needs -momentum > 0"},
	}
	for _, c := range cases {
		oneLineUsage(t, append([]string{"fit", "-out", dir}, c.args...), c.want)
	}
}
