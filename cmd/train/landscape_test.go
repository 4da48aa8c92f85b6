package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/landscape"
)

// landscapeSmall is a budget small enough for a test: 100 examples, 200
// full-batch steps, a measurement every 20 steps with every estimator on.
var landscapeSmall = []string{"landscape", "-n", "100", "-steps", "200", "-every", "20",
	"-trace-probes", "5", "-plstar", "10", "-noise-batches", "1,10"}

// TestLandscapeSmall runs the command end to end on the embedded digits
// and checks that every output parses and that the files agree with each
// other and with the flags. (What the numbers mean is tested in package
// landscape, on the library call the command makes.)
func TestLandscapeSmall(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, append(landscapeSmall, "-out", dir)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"probe: every 20 steps on 100 examples", "lambda_1", "Lojasiewicz exponent: theta =",
		"empirical PL constant", "PL*:", "B_simple", "test  accuracy", dir} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}

	// One measurement before the first step and one every 20 steps, with
	// every estimator the flags turn on.
	recs := readMetrics(t, filepath.Join(dir, "landscape.jsonl"))
	if len(recs) != 200/20+1 {
		t.Fatalf("%d measurements, want %d", len(recs), 200/20+1)
	}
	for i, r := range recs {
		if step := r["step"].(float64); step != float64(20*i) {
			t.Errorf("measurement %d at step %v, want %d", i, step, 20*i)
		}
		for _, k := range []string{"sharpness", "stability_ratio", "hessian_trace", "pl_ratio", "b_simple"} {
			if _, ok := r[k]; !ok {
				t.Errorf("step %v: no %s", r["step"], k)
			}
		}
		if mb := r["minibatch_variance"].([]any); len(mb) != 2 {
			t.Errorf("step %v: minibatch variance at %d batch sizes, want 2 (-noise-batches 1,10)", r["step"], len(mb))
		}
	}

	var sum landscape.StudyResult
	b, err := os.ReadFile(filepath.Join(dir, "landscape.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatalf("landscape.json: %v", err)
	}
	if sum.Measurements != len(recs) || sum.Steps != 200 || sum.Examples != 100 || sum.Batch != 100 || sum.Arch != "64-32-32-10" || sum.Data != "digits" {
		t.Errorf("summary: %d measurements, %d steps, n %d, batch %d, arch %s, data %s; want %d, 200, 100, 100 (full batch), 64-32-32-10, digits",
			sum.Measurements, sum.Steps, sum.Examples, sum.Batch, sum.Arch, sum.Data, len(recs))
	}
	if sum.Sharpness.Final != recs[len(recs)-1]["sharpness"].([]any)[0].(float64) {
		t.Errorf("summary sharpness %+v disagrees with the last measurement", sum.Sharpness)
	}
	if sum.PLStar.Examples != 10 || sum.Trace == nil || sum.Noise == nil || sum.Lojasiewicz == nil || sum.Test == nil {
		t.Errorf("summary lacks what the flags asked for: PL* on %d examples, trace %v, noise %v, Lojasiewicz %v, test %v",
			sum.PLStar.Examples, sum.Trace, sum.Noise, sum.Lojasiewicz, sum.Test)
	}

	var cfg landscapeConfig
	b, _ = os.ReadFile(filepath.Join(dir, "config.json"))
	if err := json.Unmarshal(b, &cfg); err != nil || cfg.Every != 20 || cfg.Steps != 200 || cfg.LR != 0.5 {
		t.Errorf("config.json: %v, every %d, steps %d, lr %v", err, cfg.Every, cfg.Steps, cfg.LR)
	}
	for _, f := range []string{"model.safetensors", "sharpness.png", "sharpness.svg", "trace.png", "trace.svg", "noise.png", "noise.svg"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("output %s missing or empty (%v)", f, err)
		}
	}
}

// TestLandscapeJSON: with -json stdout holds exactly the measurement lines
// (the same bytes as landscape.jsonl, so the same seed gives the same
// measurements as the run above), and the summary goes to stderr; the run
// can be repeated from its config.json.
func TestLandscapeJSON(t *testing.T) {
	dir := t.TempDir()
	args := append(landscapeSmall, "-out", dir, "-json", "-no-figures")
	code, out, errs := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	file, _ := os.ReadFile(filepath.Join(dir, "landscape.jsonl"))
	if out != string(file) || len(file) == 0 {
		t.Fatalf("stdout is not the measurement lines:\n%s", out)
	}
	if !strings.Contains(errs, "Lojasiewicz exponent") {
		t.Errorf("summary not on stderr: %q", errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "sharpness.png")); err == nil {
		t.Error("-no-figures wrote figures")
	}

	again := t.TempDir()
	code, _, errs = runCLI(t, "landscape", "-config", filepath.Join(dir, "config.json"), "-out", again)
	if code != 0 {
		t.Fatalf("rerun from config.json: exit %d: %s", code, errs)
	}
	rerun, _ := os.ReadFile(filepath.Join(again, "landscape.jsonl"))
	if !bytes.Equal(rerun, file) {
		t.Error("rerun from config.json with the same seed gave different measurements")
	}
}

// TestLandscapeEdgeOfStability: the default setup shows what the help
// says, the sharpness rising from below half of 2/eta, crossing it, and
// hovering within 15% of it (the tolerance of landscape's
// TestEdgeOfStability, whose setup this is). The run is deterministic.
func TestLandscapeEdgeOfStability(t *testing.T) {
	if testing.Short() {
		t.Skip("3000 steps of the default setup")
	}
	dir := t.TempDir()
	code, out, errs := runCLI(t, "landscape", "-out", dir, "-trace-probes", "0", "-noise=false", "-plstar", "0", "-no-figures")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var sum landscape.StudyResult
	b, _ := os.ReadFile(filepath.Join(dir, "landscape.json"))
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	sh := sum.Sharpness
	b, _ = json.Marshal(sh)
	t.Logf("sharpness summary: %s", b)
	if r := sh.Initial * 0.5 / 2; r > 0.5 {
		t.Errorf("initial sharpness %v is %v of 2/eta, want <= 0.5", sh.Initial, r)
	}
	if sh.CrossStep == nil || sh.SettleStep == nil || sh.EdgeMin == nil || sh.EdgeMax == nil {
		t.Fatalf("2/eta not reached and settled at:\n%s", out)
	}
	if *sh.EdgeMin < 0.85 || *sh.EdgeMax > 1.15 {
		t.Errorf("at the edge the ratio ranges over [%v, %v], want within [0.85, 1.15]", *sh.EdgeMin, *sh.EdgeMax)
	}
	if !strings.Contains(out, "edge of stability: 2/eta reached at step") {
		t.Errorf("summary does not report the crossing:\n%s", out)
	}
}

// TestLandscapeInterrupted: a cancelled run exits 130 and still writes
// what it measured.
func TestLandscapeInterrupted(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	code := run(ctx, append(landscapeSmall, "-out", dir, "-no-figures"), &out, &errb)
	if code != 130 || !strings.Contains(errb.String(), "interrupted") {
		t.Fatalf("exit %d, stderr %q; want 130 and a line saying interrupted", code, errb.String())
	}
	if recs := readMetrics(t, filepath.Join(dir, "landscape.jsonl")); len(recs) != 1 {
		t.Errorf("%d measurements, want the one before the first step", len(recs))
	}
	if _, err := os.Stat(filepath.Join(dir, "landscape.json")); err != nil {
		t.Error(err)
	}
}

// TestLandscapeUsageErrors: bad input exits 2 with one line naming the
// problem, before any training.
func TestLandscapeUsageErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bad.json")
	os.WriteFile(cfg, []byte(`{"every": 5, "evry": 5}`), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-every", "0"}, "-every 0"},
		{[]string{"-every", "x"}, "every"},
		{[]string{"-nope"}, "nope"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"-n", "5000"}, "-n 5000"},
		{[]string{"-n", "-1"}, "-n -1"},
		{[]string{"-subset", "300"}, "-subset 300"},
		{[]string{"-batch", "300"}, "-batch 300"},
		{[]string{"-inputs", "zscore"}, "zscore"},
		{[]string{"-wstd", "0"}, "-wstd"},
		{[]string{"-arch", "10-32-10"}, "input width 10, but the data has 64"},
		{[]string{"-arch", "64-32-7"}, "output width 7"},
		{[]string{"-top-k", "4", "-lanczos-iters", "2"}, "-lanczos-iters 2"},
		{[]string{"-lanczos-tol", "0"}, "-lanczos-tol"},
		{[]string{"-trace-probes", "1"}, "-trace-probes 1"},
		{[]string{"-noise-batches", "1,500"}, "500 is larger"},
		{[]string{"-noise-batches", "0"}, "-noise-batches"},
		{[]string{"-noise=false", "-noise-batches", "4"}, "needs -noise"},
		{[]string{"-loss", "ce", "-plstar", "10"}, "square loss"},
		{[]string{"-plstar", "500"}, "-plstar 500"},
		{[]string{"-loj-tail", "0"}, "-loj-tail"},
		{[]string{"-fstar", "NaN"}, "-fstar"},
		{[]string{"-log-every", "10"}, "-log-every"},
		{[]string{"-ckpt-every", "10"}, "-ckpt-every"},
		{[]string{"-opt", "lbfgs"}, "lbfgs"},
		{[]string{"-dtype", "f16"}, "f16"},
		{[]string{"-data", "csv:" + filepath.Join(dir, "missing.csv")}, "missing.csv"},
		{[]string{"-config", filepath.Join(dir, "missing.json")}, "missing.json"},
		{[]string{"-config", cfg}, "evry"},
	}
	for _, c := range cases {
		args := append([]string{"landscape", "-out", dir}, c.args...)
		code, _, errs := runCLI(t, args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", c.args, code, errs)
			continue
		}
		lines := strings.Split(strings.TrimSpace(errs), "\n")
		if len(lines) != 1 || !strings.Contains(errs, c.want) || strings.Contains(errs, "goroutine") {
			t.Errorf("%v: stderr %q, want one line mentioning %q", c.args, errs, c.want)
		}
	}
	if code, out, _ := runCLI(t, "landscape", "-h"); code != 0 || !strings.Contains(out, "example") || !strings.Contains(out, "-every") {
		t.Errorf("landscape -h: exit %d, output lacks the example or the flags:\n%s", code, out)
	}
}
