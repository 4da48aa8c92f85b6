package sweep

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/nn"
)

func smallSweep() Config {
	return Config{
		Dataset:           Dataset{Kind: "teacher", N: 32, Dim: 6, Seed: 1},
		Widths:            []int{32, 64, 128, 256},
		Parameterizations: []nn.Parameterization{nn.NTK, nn.MeanField, nn.MuP, nn.Standard},
		Seeds:             []uint64{1, 2},
		LRs:               []float64{0.1},
		Steps:             10,
		LogEvery:          5,
		KernelPoints:      8,
	}
}

func readAll(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestShardedMergeEqualsSingle runs a sweep on one machine with 3 workers,
// and as two shards with 1 and 2 workers, merges the shards, and checks that
// the merged directory equals the single-machine one file for file, byte for
// byte (metrics included).
func TestShardedMergeEqualsSingle(t *testing.T) {
	ctx := context.Background()
	c := smallSweep()
	if testing.Short() {
		c.Widths = []int{16, 32}
		c.Parameterizations = c.Parameterizations[:2]
	}
	tmp := t.TempDir()
	single, s0, s1, merged := filepath.Join(tmp, "single"), filepath.Join(tmp, "s0"), filepath.Join(tmp, "s1"), filepath.Join(tmp, "merged")
	if err := Run(ctx, c, single, All, 3, nil); err != nil {
		t.Fatal(err)
	}
	if err := Run(ctx, c, s0, Shard{0, 2}, 1, nil); err != nil {
		t.Fatal(err)
	}
	if err := Merge(merged, s0); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("merging one shard of two: error %v, want one naming missing runs", err)
	}
	if err := Run(ctx, c, s1, Shard{1, 2}, 2, nil); err != nil {
		t.Fatal(err)
	}
	if err := Merge(merged, s0, s1); err != nil {
		t.Fatal(err)
	}
	a, b := readAll(t, single), readAll(t, merged)
	if len(a) != len(c.Runs())+1 {
		t.Fatalf("single-machine sweep wrote %d files, want %d runs + config", len(a), len(c.Runs()))
	}
	if len(a) != len(b) {
		t.Fatalf("merged sweep has %d files, single-machine %d", len(b), len(a))
	}
	for name, x := range a {
		if !bytes.Equal(x, b[name]) {
			t.Errorf("%s differs between the merged and the single-machine sweep", name)
		}
	}
	// Shards are disjoint and cover the grid.
	n0, n1 := len(readAll(t, s0))-1, len(readAll(t, s1))-1
	if n0+n1 != len(c.Runs()) || n0 == 0 || n1 == 0 {
		t.Errorf("shards hold %d + %d runs of %d", n0, n1, len(c.Runs()))
	}
}

// TestResume checks that finished runs are not redone and unfinished ones
// are: a run file is replaced by garbage-free content only if incomplete.
func TestResume(t *testing.T) {
	ctx := context.Background()
	c := smallSweep()
	c.Widths = []int{16, 32}
	c.Parameterizations = c.Parameterizations[:1]
	dir := t.TempDir()
	if err := Run(ctx, c, dir, All, 2, nil); err != nil {
		t.Fatal(err)
	}
	runs := c.Runs()
	// Mark a finished run so that redoing it would be visible, and truncate
	// another so that it must be redone.
	done := RunFile(dir, runs[0])
	orig, _ := os.ReadFile(done)
	marked := append(bytes.TrimSuffix(orig, []byte("\n")), '\n')
	if err := os.WriteFile(done, marked, 0o644); err != nil {
		t.Fatal(err)
	}
	partial := RunFile(dir, runs[1])
	full, _ := os.ReadFile(partial)
	if err := os.WriteFile(partial, full[:len(full)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	info0, _ := os.Stat(done)
	var progress bytes.Buffer
	if err := Run(ctx, c, dir, All, 2, &progress); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(progress.String(), "\n"); got != 1 {
		t.Errorf("resume redid %d runs, want 1 (the truncated one):\n%s", got, progress.String())
	}
	info1, _ := os.Stat(done)
	if !info1.ModTime().Equal(info0.ModTime()) {
		t.Error("a finished run was rewritten")
	}
	if again, _ := os.ReadFile(partial); !bytes.Equal(again, full) {
		t.Error("the redone run differs from the original")
	}
	other := c
	other.Steps++
	if err := Run(ctx, other, dir, All, 1, nil); err == nil {
		t.Error("Run accepted a directory holding another sweep")
	}
}

func TestShard(t *testing.T) {
	s, err := ParseShard("1/4")
	if err != nil || s != (Shard{1, 4}) {
		t.Errorf("ParseShard(1/4) = %v, %v", s, err)
	}
	for _, bad := range []string{"4/4", "-1/2", "1", "a/b", "0/0"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) did not fail", bad)
		}
	}
	t.Setenv("SLURM_ARRAY_TASK_ID", "5")
	t.Setenv("SLURM_ARRAY_TASK_MIN", "3")
	t.Setenv("SLURM_ARRAY_TASK_COUNT", "4")
	if s, err := ShardFromEnv(0); err != nil || s != (Shard{2, 4}) {
		t.Errorf("Slurm shard = %v, %v; want 2/4", s, err)
	}
	os.Unsetenv("SLURM_ARRAY_TASK_ID")
	t.Setenv("JOB_COMPLETION_INDEX", "3")
	if s, err := ShardFromEnv(8); err != nil || s != (Shard{3, 8}) {
		t.Errorf("Indexed Job shard = %v, %v; want 3/8", s, err)
	}
	if _, err := ShardFromEnv(0); err == nil {
		t.Error("JOB_COMPLETION_INDEX without a count did not fail")
	}
	if _, err := ShardFromEnv(3); err == nil {
		t.Error("JOB_COMPLETION_INDEX 3 of 3 did not fail")
	}
	// Every run in exactly one shard.
	for i := range 20 {
		n := 0
		for k := range 3 {
			if (Shard{k, 3}).Owns(i) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("run %d belongs to %d of 3 shards", i, n)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct{ json, want string }{
		{`{"dataset": {"kind": "teacher", "n": 8, "dim": 2}, "widths": [4], "parameterizations": ["mup"], "seeds": [1], "lrs": [0.1], "steps": 1, "stpes": 2}`, `line 1 column`},
		{"{\n \"dataset\": {\"kind\": \"teacher\", \"n\": 8, \"dim\": 2},\n \"widths\": \"wide\"}", `line 3 column`},
		{`{"dataset": {"kind": "teacher", "n": 8, "dim": 2}, "widths": [4], "parameterizations": ["xl"], "seeds": [1], "lrs": [0.1], "steps": 1}`, `"parameterizations"`},
		{`{"dataset": {"kind": "mnist", "n": 8}, "widths": [4], "parameterizations": ["mup"], "seeds": [1], "lrs": [0.1], "steps": 1}`, `"dataset.kind"`},
		{`{"dataset": {"kind": "teacher", "n": 8, "dim": 2}, "widths": [4], "parameterizations": ["mup"], "seeds": [1], "lrs": [-1], "steps": 1}`, `"lrs"`},
	} {
		_, err := ParseConfig([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\nerror %v, want one containing %s", c.json, err, c.want)
		}
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.json")
	os.WriteFile(p, []byte("{\n  \"widths\": [1],\n  \"bogus\": 1\n}"), 0o644)
	if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("LoadConfig error %v, want the file, line 3 and the field", err)
	}
}

// TestAnalyze fits slopes on a small NTK/mean-field sweep, writes tables and
// figures, and checks the direction of the scaling laws: NTK weight change
// falls with the width, mean-field displacement does not.
func TestAnalyze(t *testing.T) {
	c := smallSweep()
	c.Parameterizations = []nn.Parameterization{nn.NTK, nn.MeanField}
	c.Seeds = []uint64{1, 2, 3}
	c.Steps = 20
	c.LRs = []float64{0.5}
	c.Widths = []int{64, 128, 256, 512}
	if testing.Short() {
		c.Widths = []int{32, 64, 128}
	}
	r, dir := runAndAnalyze(t, c, 4)
	ntkFit, err := r.Fit("weight_change", Group{Parameterization: "ntk", LR: 0.5, Optimizer: "sgd"}, -1)
	if err != nil {
		t.Fatal(err)
	}
	mfFit, err := r.Fit("displacement", Group{Parameterization: "meanfield", LR: 0.5, Optimizer: "sgd"}, -1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("NTK weight change slope %.3f [%.3f, %.3f]; MF displacement slope %.3f [%.3f, %.3f]", ntkFit.Slope, ntkFit.Lo, ntkFit.Hi, mfFit.Slope, mfFit.Lo, mfFit.Hi)
	if math.Abs(ntkFit.Slope+0.5) > 0.15 || !(ntkFit.Lo <= ntkFit.Slope && ntkFit.Slope <= ntkFit.Hi) {
		t.Errorf("NTK weight change slope %.3f [%.3f, %.3f], want -0.5 +- 0.15", ntkFit.Slope, ntkFit.Lo, ntkFit.Hi)
	}
	if math.Abs(mfFit.Slope) > 0.15 {
		t.Errorf("mean-field displacement slope %.3f, want 0 +- 0.15", mfFit.Slope)
	}
	var tab bytes.Buffer
	if err := r.WriteTables(&tab); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tab.String(), "ntk lr=0.5 sgd") || !strings.Contains(tab.String(), "kernel_drift") {
		t.Errorf("table lacks rows:\n%s", tab.String())
	}
	figs := filepath.Join(dir, "figs")
	if err := r.WriteFigures(figs); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"weight_change_vs_width.png", "weight_change_vs_width.svg", "loss_ntk_lr0.5_sgd.png"} {
		if st, err := os.Stat(filepath.Join(figs, f)); err != nil || st.Size() == 0 {
			t.Errorf("figure %s: %v", f, err)
		}
	}
}

// TestCoordCheck is Yang and Hu's coordinate check on a 2-hidden-layer ReLU
// MLP (3 SGD steps at lr 0.1 on one batch of 32 teacher points, 6 seeds):
// in muP the hidden coordinates mean |h_l(t)|, t = 1..3, change by less than
// a factor 1.2 between widths 4x apart, and so does the change of the output
// (t = 2, 3; the output itself starts at Theta(n^-1/2), so its size at
// t = 1 is not flat by design). In SP the change of the second hidden
// layer's coordinates grows with the width (log-log slope > 0.25 at t = 3;
// Yang-Hu predict +1/2).
func TestCoordCheck(t *testing.T) {
	widths := []int{128, 256, 512, 1024}
	seeds := []uint64{1, 2, 3, 4, 5, 6}
	if testing.Short() {
		widths = []int{128, 256, 512}
		seeds = seeds[:4]
	}
	r, err := CoordCheck(context.Background(), CoordConfig{Dataset: Dataset{Kind: "teacher", N: 32, Dim: 8, Seed: 1}, Widths: widths,
		Parameterizations: []nn.Parameterization{nn.MuP, nn.Standard}, Seeds: seeds, LR: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	var tab bytes.Buffer
	r.WriteTable(&tab)
	t.Log("\n" + tab.String())
	worst := 1.0
	for i, n := range widths {
		if i+2 >= len(widths) || widths[i+2] != 4*n {
			continue
		}
		for l := 0; l <= 2; l++ {
			for tt := 1; tt <= 3; tt++ {
				a, _ := r.Value(nn.MuP, l, tt, n)
				b, _ := r.Value(nn.MuP, l, tt, 4*n)
				x, y := a.Mean, b.Mean
				if l == 2 {
					if tt == 1 {
						continue
					}
					x, y = a.Delta, b.Delta
				}
				ratio := y / x
				worst = math.Max(worst, math.Max(ratio, 1/ratio))
				if ratio > 1.2 || ratio < 1/1.2 {
					t.Errorf("muP layer %d t=%d: ratio %.3f between widths %d and %d, want within 1/1.2..1.2", l, tt, ratio, 4*n, n)
				}
			}
		}
	}
	t.Logf("muP worst ratio for widths 4x apart: %.3f", worst)
	var ws, ds []float64
	for _, n := range widths {
		row, _ := r.Value(nn.Standard, 1, 3, n)
		ws = append(ws, float64(n))
		ds = append(ds, row.Delta)
	}
	sl, _ := logSlope(widths, ds)
	t.Logf("SP hidden-activation change at t=3: %v, slope %.3f", ds, sl)
	if sl < 0.25 {
		t.Errorf("SP hidden-activation change slope %.3f, want > 0.25 (growing with width)", sl)
	}
	if err := r.WriteFigures(t.TempDir()); err != nil {
		t.Fatal(err)
	}
}

// TestCoordCheckBlowUp: SP at a large rate blows up; the check says so
// with infinite cells from the step that could not be taken on, instead
// of failing, and the cells before it stay finite.
func TestCoordCheckBlowUp(t *testing.T) {
	r, err := CoordCheck(context.Background(), CoordConfig{Dataset: Dataset{Kind: "teacher", N: 32, Dim: 8, Seed: 1}, Widths: []int{1024},
		Parameterizations: []nn.Parameterization{nn.Standard}, Seeds: []uint64{1}, LR: 50, Steps: 5})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := r.Value(nn.Standard, 0, 1, 1024)
	last, _ := r.Value(nn.Standard, 2, 5, 1024)
	if math.IsInf(first.Mean, 0) || math.IsNaN(first.Mean) || !math.IsInf(last.Mean, 1) {
		t.Errorf("t=1 layer 0 mean %v (want finite), t=5 output mean %v (want +Inf)", first.Mean, last.Mean)
	}
}

// TestRunRemovesStaleTemp: the temporary result file a killed run left is
// removed when the sweep runs again (the run is redone), whatever the
// pattern of the version that wrote it.
func TestRunRemovesStaleTemp(t *testing.T) {
	c := smallSweep()
	c.Widths, c.Parameterizations, c.Seeds = []int{16}, c.Parameterizations[:1], c.Seeds[:1]
	dir := t.TempDir()
	spec := c.Runs()[0]
	if err := os.MkdirAll(filepath.Join(dir, runsDir), 0o755); err != nil {
		t.Fatal(err)
	}
	path := RunFile(dir, spec)
	stale := []string{filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp123"), path + ".tmp456"}
	for _, f := range stale {
		os.WriteFile(f, []byte(`{"run":`), 0o644)
	}
	if err := Run(context.Background(), c, dir, All, 1, nil); err != nil {
		t.Fatal(err)
	}
	for _, f := range stale {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("stale %s still there", filepath.Base(f))
		}
	}
	if !complete(path) {
		t.Error("the run was not redone")
	}
}

// runAndAnalyze runs sweep c into a fresh temporary directory with the
// given number of workers and loads the result; it returns the directory
// too.
func runAndAnalyze(t *testing.T, c Config, workers int) (*Report, string) {
	t.Helper()
	dir := t.TempDir()
	if err := Run(context.Background(), c, dir, All, workers, nil); err != nil {
		t.Fatal(err)
	}
	r, err := Analyze(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r, dir
}
