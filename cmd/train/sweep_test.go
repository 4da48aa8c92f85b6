package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/sweep"
)

// tinySweep is a sweep of 12 runs that takes well under a second.
const tinySweep = `{
  "name": "tiny",
  "dataset": {"kind": "teacher", "n": 16, "dim": 4, "seed": 1},
  "widths": [16, 32, 64],
  "parameterizations": ["ntk", "meanfield"],
  "seeds": [1, 2],
  "lrs": [0.5],
  "steps": 10,
  "log_every": 5,
  "kernel_points": 8
}
`

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// sweepTable extracts the slope table from the output of a sweep: the
// lines from its header to the line naming the outputs.
func sweepTable(t *testing.T, out string) string {
	t.Helper()
	i := strings.Index(out, "group ")
	j := strings.Index(out, "outputs in ")
	if i < 0 || j < i {
		t.Fatalf("no slope table in output:\n%s", out)
	}
	return out[i:j]
}

// runFiles returns the result files of a sweep directory by name.
func runFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "runs"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, "runs", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func sameFiles(t *testing.T, what string, a, b map[string][]byte) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d files vs %d", what, len(a), len(b))
	}
	for name, x := range a {
		if !bytes.Equal(x, b[name]) {
			t.Errorf("%s: %s differs", what, name)
		}
	}
}

// TestSweepShardsMergeEqualsSingle runs the tiny sweep unsharded, as two
// shards (-shard 0/2 and 1/2) and merges them: the merged directory holds
// the same config.json, result files and slopes.jsonl byte for byte, and
// merge prints the same table as the unsharded run.
func TestSweepShardsMergeEqualsSingle(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "sweep.json"), tinySweep)
	single, s0, s1, merged := filepath.Join(dir, "single"), filepath.Join(dir, "s0"), filepath.Join(dir, "s1"), filepath.Join(dir, "merged")

	code, out, errs := runCLI(t, "sweep", "-config", cfg, "-out", single, "-workers", "3")
	if code != 0 {
		t.Fatalf("unsharded: exit %d: %s", code, errs)
	}
	table := sweepTable(t, out)
	for _, want := range []string{"ntk lr=0.5 sgd", "meanfield lr=0.5 sgd", "weight_change", "n=64"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if n := len(runFiles(t, single)); n != 12 {
		t.Fatalf("%d result files, want 12", n)
	}
	for _, f := range []string{"slopes.jsonl", "figures/weight_change_vs_width.png", "figures/weight_change_vs_width.svg", "figures/loss_ntk_lr0.5_sgd.png"} {
		if st, err := os.Stat(filepath.Join(single, f)); err != nil || st.Size() == 0 {
			t.Errorf("output %s missing or empty (%v)", f, err)
		}
	}

	for i, d := range []string{s0, s1} {
		code, out, errs := runCLI(t, "sweep", "-config", cfg, "-out", d, "-shard", []string{"0/2", "1/2"}[i], "-workers", "1")
		if code != 0 {
			t.Fatalf("shard %d: exit %d: %s", i, code, errs)
		}
		if strings.Contains(out, "group ") || !strings.Contains(out, "train sweep merge") {
			t.Errorf("shard %d: want no table and a hint to merge:\n%s", i, out)
		}
		if n := len(runFiles(t, d)); n != 6 {
			t.Errorf("shard %d: %d result files, want 6", i, n)
		}
	}
	// A shard alone is a sweep with missing runs: analyze says so and
	// exits 1, unless told -partial.
	code, out, errs = runCLI(t, "sweep", "analyze", s0)
	if code != 1 || out != "" || !strings.Contains(errs, "missing 6 of 12 runs") || !strings.Contains(errs, "-partial") {
		t.Errorf("analyze of one shard: exit %d, stdout %q, stderr %q; want 1 naming the missing runs and -partial", code, out, errs)
	}
	if code, out, errs = runCLI(t, "sweep", "analyze", "-partial", s0); code != 0 || !strings.Contains(out, "missing runs: 6") {
		t.Errorf("analyze -partial: exit %d (%s), output:\n%s", code, errs, out)
	}
	// Flags after the sources are accepted too.
	code, out, errs = runCLI(t, "sweep", "merge", s0, s1, "-out", merged)
	if code != 0 {
		t.Fatalf("merge: exit %d: %s", code, errs)
	}
	if got := sweepTable(t, out); got != table {
		t.Errorf("merged table differs from the unsharded one:\n%s\nwant\n%s", got, table)
	}
	sameFiles(t, "merged vs single runs", runFiles(t, merged), runFiles(t, single))
	for _, f := range []string{"config.json", "slopes.jsonl"} {
		a, _ := os.ReadFile(filepath.Join(single, f))
		b, _ := os.ReadFile(filepath.Join(merged, f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs between the merged and the unsharded sweep", f)
		}
	}

	// analyze re-prints the same table; -json gives one parseable line
	// per group and metric (2 groups x 6 default metrics).
	code, out, errs = runCLI(t, "sweep", "analyze", merged)
	if code != 0 || sweepTable(t, out+"outputs in ") != table {
		t.Errorf("analyze: exit %d (%s), output:\n%s", code, errs, out)
	}
	code, out, _ = runCLI(t, "sweep", "analyze", "-json", merged)
	lines := jsonLines(t, out)
	if code != 0 || len(lines) != 2*len(sweep.DefaultMetrics) {
		t.Fatalf("analyze -json: exit %d, %d lines, want %d", code, len(lines), 2*len(sweep.DefaultMetrics))
	}
	for _, l := range lines {
		if _, ok := l["slope"].(float64); !ok || l["metric"] == nil || len(l["widths"].([]any)) != 3 {
			t.Errorf("analyze -json: bad line %v", l)
		}
	}
}

func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// TestSweepInterruptAndResume: a sweep whose context is cancelled exits 130
// saying it is resumable; the same command then finishes it, and its result
// files equal an uninterrupted run's. A third run finds nothing to do.
func TestSweepInterruptAndResume(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "sweep.json"), tinySweep)
	ref, res := filepath.Join(dir, "ref"), filepath.Join(dir, "res")
	if code, _, errs := runCLI(t, "sweep", "-config", cfg, "-out", ref, "-no-figures"); code != 0 {
		t.Fatalf("reference: exit %d: %s", code, errs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"sweep", "-config", cfg, "-out", res, "-no-figures"}, &out, &errb)
	if code != 130 || !strings.Contains(errb.String(), "resumable") {
		t.Fatalf("cancelled sweep: exit %d, stderr %q; want 130 and a note that it is resumable", code, errb.String())
	}
	if code, _, errs := runCLI(t, "sweep", "-config", cfg, "-out", res, "-no-figures"); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, errs)
	}
	sameFiles(t, "resumed vs uninterrupted runs", runFiles(t, res), runFiles(t, ref))
	code, _, errs := runCLI(t, "sweep", "-config", cfg, "-out", res, "-no-figures")
	if code != 0 || strings.Contains(errs, "[shard") {
		t.Fatalf("rerun of a finished sweep: exit %d, progress %q; want no run redone", code, errs)
	}
}

// TestSweepShardFromEnv: -shard-count takes the shard index from a Slurm
// job array or a Kubernetes Indexed Job, and runs the same runs as -shard.
func TestSweepShardFromEnv(t *testing.T) {
	for _, v := range []string{"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_COUNT", "JOB_COMPLETION_INDEX"} {
		if _, ok := os.LookupEnv(v); ok {
			t.Skipf("%s is set in the test environment", v)
		}
	}
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "sweep.json"), tinySweep)
	byFlag := filepath.Join(dir, "flag")
	if code, _, errs := runCLI(t, "sweep", "-config", cfg, "-out", byFlag, "-shard", "1/3"); code != 0 {
		t.Fatalf("-shard 1/3: exit %d: %s", code, errs)
	}
	want := runFiles(t, byFlag)

	t.Run("slurm", func(t *testing.T) {
		t.Setenv("SLURM_ARRAY_TASK_ID", "6")
		t.Setenv("SLURM_ARRAY_TASK_MIN", "5")
		t.Setenv("SLURM_ARRAY_TASK_COUNT", "3")
		out := filepath.Join(dir, "slurm")
		if code, _, errs := runCLI(t, "sweep", "-config", cfg, "-out", out, "-shard-count", "3"); code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		sameFiles(t, "slurm task 6 of 5-7 vs -shard 1/3", runFiles(t, out), want)
		code, _, errs := runCLI(t, "sweep", "-config", cfg, "-out", out, "-shard-count", "4")
		if code != 2 || !strings.Contains(errs, "3 tasks") {
			t.Errorf("-shard-count 4 in an array of 3: exit %d, %q", code, errs)
		}
	})
	t.Run("kubernetes", func(t *testing.T) {
		t.Setenv("JOB_COMPLETION_INDEX", "1")
		out := filepath.Join(dir, "k8s")
		if code, _, errs := runCLI(t, "sweep", "-config", cfg, "-out", out, "-shard-count", "3"); code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		sameFiles(t, "JOB_COMPLETION_INDEX=1 vs -shard 1/3", runFiles(t, out), want)
	})
}

// TestSweepExampleConfig: "sweep init" and -example-config write the
// built-in example, which the sweep package accepts; init does not
// overwrite a file.
func TestSweepExampleConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sweep.json")
	if code, out, errs := runCLI(t, "sweep", "init", path); code != 0 || !strings.Contains(out, path) {
		t.Fatalf("init: exit %d, %q %q", code, out, errs)
	}
	cfg, err := sweep.LoadConfig(path)
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	if len(cfg.Widths) < 4 || len(cfg.Seeds) < 2 {
		t.Errorf("example config has %d widths and %d seeds; slopes need >= 4 and >= 2", len(cfg.Widths), len(cfg.Seeds))
	}
	code, _, errs := runCLI(t, "sweep", "init", path)
	if code != 2 || !strings.Contains(errs, "not overwriting") {
		t.Errorf("init over an existing file: exit %d, %q", code, errs)
	}
	code, out, _ := runCLI(t, "sweep", "-example-config", "-")
	if _, err := sweep.ParseConfig([]byte(out)); code != 0 || err != nil {
		t.Errorf("-example-config -: exit %d, %v", code, err)
	}
}

// TestSweepJSON: with -json, stdout holds only JSON lines (the fits).
func TestSweepJSON(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "sweep.json"), tinySweep)
	code, out, errs := runCLI(t, "sweep", "-config", cfg, "-out", filepath.Join(dir, "out"), "-json", "-no-figures")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if n := len(jsonLines(t, out)); n != 2*len(sweep.DefaultMetrics) {
		t.Errorf("%d JSON lines, want %d", n, 2*len(sweep.DefaultMetrics))
	}
}

// TestSweepUsageErrors: bad input exits 2 with one line naming the problem.
func TestSweepUsageErrors(t *testing.T) {
	for _, v := range []string{"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"} {
		if _, ok := os.LookupEnv(v); ok {
			t.Skipf("%s is set in the test environment", v)
		}
	}
	dir := t.TempDir()
	good := writeFile(t, filepath.Join(dir, "good.json"), tinySweep)
	unknown := writeFile(t, filepath.Join(dir, "unknown.json"), strings.Replace(tinySweep, `"seeds"`, `"seedz"`, 1))
	badType := writeFile(t, filepath.Join(dir, "type.json"), strings.Replace(tinySweep, `[16, 32, 64]`, `"16,32"`, 1))
	syntax := writeFile(t, filepath.Join(dir, "syntax.json"), strings.Replace(tinySweep, `"steps": 10,`, `"steps": 10,,`, 1))
	invalid := writeFile(t, filepath.Join(dir, "invalid.json"), strings.Replace(tinySweep, `"ntk"`, `"ntkk"`, 1))
	other := writeFile(t, filepath.Join(dir, "other.json"), strings.Replace(tinySweep, `"steps": 10`, `"steps": 11`, 1))
	used := filepath.Join(dir, "used")
	if code, _, errs := runCLI(t, "sweep", "-config", good, "-out", used, "-no-figures"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"sweep", "-config", filepath.Join(dir, "missing.json")}, "missing.json"},
		{[]string{"sweep", "-config", unknown}, `unknown.json: line 6 column 3: unknown field "seedz"`},
		{[]string{"sweep", "-config", badType}, `type.json: line 4 column 20: field "widths"`},
		{[]string{"sweep", "-config", syntax}, "syntax.json: line 8 column 16"},
		{[]string{"sweep", "-config", invalid}, `"parameterizations": entry 0 "ntkk"`},
		{[]string{"sweep", "-config", other, "-out", used}, "holds another sweep"},
		{[]string{"sweep", "-shard", "3/2"}, `"3/2"`},
		{[]string{"sweep", "-shard", "x"}, `"x"`},
		{[]string{"sweep", "-shard", "0/2", "-shard-count", "2"}, "not both"},
		{[]string{"sweep", "-shard-count", "2"}, "JOB_COMPLETION_INDEX"},
		{[]string{"sweep", "-workers", "0"}, "-workers"},
		{[]string{"sweep", "-wrokers", "2"}, "wrokers"},
		{[]string{"sweep", "extra"}, "unexpected argument"},
		{[]string{"sweep", "merge", used}, "-out"},
		{[]string{"sweep", "merge", "-out", filepath.Join(dir, "m")}, "no source"},
		{[]string{"sweep", "merge", "-out", filepath.Join(dir, "m"), filepath.Join(dir, "nope")}, "nope is not a sweep output directory"},
		{[]string{"sweep", "merge", "-out", used, used}, "is the destination"},
		{[]string{"sweep", "analyze", filepath.Join(dir, "nope")}, "nope is not a sweep output directory"},
		{[]string{"sweep", "analyze"}, "want one sweep directory"},
		{[]string{"sweep", "init"}, "want one file name"},
	}
	for _, c := range cases {
		code, _, errs := runCLI(t, c.args...)
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

// TestNewCommandsHelp: every new command's -h exits 0 with an example.
func TestNewCommandsHelp(t *testing.T) {
	for _, args := range [][]string{{"sweep", "-h"}, {"sweep", "merge", "-h"}, {"sweep", "analyze", "-h"}, {"sweep", "init", "-h"},
		{"meanfield", "-h"}, {"coordcheck", "-h"}} {
		code, out, errs := runCLI(t, args...)
		if code != 0 || !strings.Contains(out, "example") || !strings.Contains(out, "usage: train "+args[0]) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	_, out, _ := runCLI(t, "help")
	for _, c := range []string{"sweep", "meanfield", "coordcheck"} {
		if !strings.Contains(out, "\n  "+c+" ") {
			t.Errorf("train help does not list %s", c)
		}
	}
}
