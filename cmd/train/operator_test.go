package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/train"
)

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestNoClobber: a second run into a directory holding a run is refused
// (exit 2, one line naming -resume and -overwrite) and changes nothing;
// -overwrite replaces it; other commands refuse a run directory too.
func TestNoClobber(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if code, _, errs := runCLI(t, "fit", "-epochs", "1", "-out", dir, "-no-figures"); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, errs)
	}
	model := filepath.Join(dir, train.ModelFile)
	before, _ := os.ReadFile(model)
	code, _, errs := runCLI(t, "fit", "-epochs", "1", "-seed", "2", "-out", dir, "-no-figures")
	if code != 2 || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "-resume") || !strings.Contains(errs, "-overwrite") {
		t.Fatalf("second run: exit %d, stderr %q; want 2 and one line naming -resume and -overwrite", code, errs)
	}
	if after, _ := os.ReadFile(model); string(after) != string(before) {
		t.Fatal("the refused run changed model.safetensors")
	}
	if code, _, errs := runCLI(t, "fit", "-epochs", "1", "-seed", "2", "-out", dir, "-no-figures", "-overwrite"); code != 0 {
		t.Fatalf("-overwrite: exit %d: %s", code, errs)
	}
	if after, _ := os.ReadFile(model); string(after) == string(before) {
		t.Error("-overwrite did not replace the model")
	}
	for _, cmd := range []string{"ntk", "meanfield", "coordcheck", "landscape"} {
		code, _, errs := runCLI(t, cmd, "-out", dir)
		if code != 2 || !strings.Contains(errs, "already holds a run") || !strings.Contains(errs, "-overwrite") {
			t.Errorf("%s -out <a fit run>: exit %d, stderr %q; want 2 and a refusal naming -overwrite", cmd, code, errs)
		}
	}
	if code, _, errs := runCLI(t, "fit", "-resume", dir, "-overwrite"); code != 2 || !strings.Contains(errs, "cannot be combined") {
		t.Errorf("-resume with -overwrite: exit %d, %q", code, errs)
	}
}

// TestBusyDirRefused: a directory locked by a live process (this one) is
// refused with the pid; a stale temporary file of a killed checkpoint
// write is removed when the next run opens the directory.
func TestBusyDirRefused(t *testing.T) {
	dir := t.TempDir()
	rd, err := train.OpenRunDir(dir, train.NewRun)
	if err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCLI(t, "fit", "-epochs", "1", "-out", dir)
	rd.Close()
	if code != 2 || !strings.Contains(errs, "in use by another run") || !strings.Contains(errs, "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("fit into a locked directory: exit %d, stderr %q; want 2 naming the pid", code, errs)
	}
	stale := filepath.Join(dir, ".checkpoint.ckpt.tmp12345")
	os.WriteFile(stale, []byte("half a checkpoint"), 0o644)
	if code, _, errs := runCLI(t, "fit", "-epochs", "1", "-out", dir, "-no-figures"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("the stale temporary file is still there")
	}
	if _, err := os.Stat(filepath.Join(dir, train.LockFile)); err == nil {
		t.Error("the lock file outlived the run")
	}
}

// TestDivergedFitResumes: a diverged fit exits 1 with one line naming the
// last finite state and the flag to change, and keeps that state on disk;
// -resume unchanged is refused; -resume -lr continues from it to the end
// and leaves an ordinary run.
func TestDivergedFitResumes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	code, _, errs := runCLI(t, "fit", "-lr", "1.5", "-max-loss-ratio", "10", "-epochs", "2", "-out", dir, "-no-figures")
	last := lastLine(errs)
	if code != 1 || !strings.Contains(last, "diverged at step") || !strings.Contains(last, "checkpoint.last-finite.ckpt") ||
		!strings.Contains(last, "model.last-finite.safetensors") || !strings.Contains(last, "train fit -resume "+dir+" -lr 0.15") {
		t.Fatalf("diverged fit: exit %d, last line %q", code, last)
	}
	for _, f := range []string{"checkpoint.last-finite.ckpt", "model.last-finite.safetensors", "config.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("diverged run lacks %s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, train.ModelFile)); err == nil {
		t.Error("a diverged run wrote model.safetensors as if it had finished")
	}
	for _, args := range [][]string{{}, {"-lr", "1.5"}} {
		code, _, errs = runCLI(t, append([]string{"fit", "-resume", dir}, args...)...)
		if code != 2 || !strings.Contains(errs, "would diverge again") || !strings.Contains(errs, "-lr") {
			t.Errorf("resume %v of a diverged run: exit %d, %q; want 2 saying it would diverge again", args, code, errs)
		}
	}
	code, out, errs := runCLI(t, "fit", "-resume", dir, "-lr", "0.01")
	if code != 0 || !strings.Contains(out, "test  accuracy") {
		t.Fatalf("resume -lr 0.01: exit %d: %s", code, errs)
	}
	var cfg map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, train.ConfigFile))
	if json.Unmarshal(b, &cfg) != nil || cfg["lr"] != 0.01 {
		t.Errorf("config.json after the resume: lr %v, want 0.01", cfg["lr"])
	}
	for _, f := range []string{"checkpoint.last-finite.ckpt", "model.last-finite.safetensors"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s still there after a successful resume", f)
		}
	}
	if code, _, errs := runCLI(t, "fit", "-resume", dir, "-lr", "0.1"); code != 2 || !strings.Contains(errs, "did not diverge") {
		t.Errorf("-lr on resuming a run that did not diverge: exit %d, %q", code, errs)
	}
}

// TestLossExplosionStops: Adam at lr 1e6 climbs to huge finite losses; it
// stops as diverged (exit 1) instead of finishing with loss 1e21, unless
// -max-loss-ratio 0.
func TestLossExplosionStops(t *testing.T) {
	dir := t.TempDir()
	code, _, errs := runCLI(t, "fit", "-opt", "adam", "-lr", "1e6", "-epochs", "1", "-out", filepath.Join(dir, "a"), "-no-figures")
	if last := lastLine(errs); code != 1 || !strings.Contains(last, "-max-loss-ratio") || !strings.Contains(last, "diverged") {
		t.Fatalf("adam -lr 1e6: exit %d, %q; want 1 and a loss explosion", code, last)
	}
	if code, _, errs := runCLI(t, "fit", "-opt", "adam", "-lr", "1e6", "-epochs", "1", "-max-loss-ratio", "0", "-out", filepath.Join(dir, "b"), "-no-figures"); code != 0 {
		t.Errorf("-max-loss-ratio 0: exit %d (%s), want the run to go on", code, lastLine(errs))
	}
}

// TestFlagErrorsWriteNothing: each bad flag is refused at parse time with
// exit 2 and one line naming the flag, without a Go field name or a
// doubled prefix, and nothing is written.
func TestFlagErrorsWriteNothing(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.csv")
	os.WriteFile(small, []byte("a,b,y\n1,2,0\n3,4,0\n5,6,1\n7,8,1\n"), 0o644)
	continuous := filepath.Join(dir, "continuous.csv")
	os.WriteFile(continuous, []byte("a,b,y\n1,2,0.5\n3,4,1.5\n5,6,2.5\n7,8,3.1\n"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"fit", "-steps", "-3"}, "-steps -3"},
		{[]string{"fit", "-lr", "0"}, "-lr 0"},
		{[]string{"fit", "-epochs", "0", "-steps", "0"}, "-epochs 0 -steps 0"},
		{[]string{"fit", "-epochs", "-1"}, "-epochs -1"},
		{[]string{"fit", "-log-every", "-1"}, "-log-every -1"},
		{[]string{"fit", "-ckpt-every", "-1"}, "-ckpt-every -1"},
		{[]string{"fit", "-clip", "-1"}, "-clip -1"},
		{[]string{"fit", "-warmup", "-5"}, "-warmup -5"},
		{[]string{"fit", "-batch", "0"}, "-batch 0"},
		{[]string{"fit", "-test-frac", "0"}, "-test-frac 0"},
		{[]string{"fit", "-max-loss-ratio", "-1"}, "-max-loss-ratio -1"},
		{[]string{"fit", "-threads", "-1"}, "-threads -1"},
		{[]string{"fit", "-loss", "hinge"}, "-loss"},
		{[]string{"fit", "-momentum", "-0.5"}, "-momentum -0.5"},
		{[]string{"fit", "-data", "csv:" + small}, "held-out split is empty"},
		{[]string{"fit", "-data", "csv:" + continuous}, ",regression"},
		{[]string{"fit", "-resume", filepath.Join(dir, "nothing")}, "no run to continue"},
		{[]string{"landscape", "-lr", "0"}, "-lr 0"},
		{[]string{"landscape", "-steps", "-1"}, "-steps -1"},
		{[]string{"ntk", "-test-frac", "0"}, "-test-frac 0"},
		{[]string{"meanfield", "-steps", "0"}, "-steps 0"},
		{[]string{"coordcheck", "-seeds", "0"}, "-seeds 0"},
	}
	out := filepath.Join(dir, "out")
	for _, c := range cases {
		code, stdout, errs := runCLI(t, append(c.args, "-out", out)...)
		if code != 2 || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, c.want) || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and one line with %q", c.args, code, stdout, errs, c.want)
		}
		for _, bad := range []string{"Config.", "Evals[", "EvalBatch", "train: train:", "LogEvery", "ClipNorm"} {
			if strings.Contains(errs, bad) {
				t.Errorf("%v: stderr %q speaks Go (%q)", c.args, errs, bad)
			}
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: wrote %s", c.args, out)
			os.RemoveAll(out)
		}
	}
}

// TestJSONStdout: with -json, every line a command prints on stdout is a
// JSON value (the human text goes to stderr).
func TestJSONStdout(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"fit", "-epochs", "1", "-no-figures"},
		{"ntk", "-n", "16", "-n-test", "8", "-no-figures"},
		{"meanfield", "-widths", "8,16", "-steps", "4", "-no-figures"},
		{"coordcheck", "-widths", "8,16", "-seeds", "1", "-steps", "2", "-no-figures"},
		{"landscape", "-steps", "20", "-every", "10", "-no-figures"},
		{"info"},
	} {
		code, stdout, errs := runCLI(t, append(args, "-json", "-out", filepath.Join(dir, args[0]))...)
		if args[0] == "info" {
			code, stdout, errs = runCLI(t, "info", "-json")
		}
		if code != 0 || strings.TrimSpace(stdout) == "" {
			t.Errorf("%v -json: exit %d, stdout %q: %s", args, code, stdout, errs)
			continue
		}
		for i, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
			if !json.Valid([]byte(line)) {
				t.Errorf("%v -json: stdout line %d is not JSON: %q", args, i+1, line)
				break
			}
		}
	}
}
