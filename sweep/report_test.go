package sweep

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/nn"
)

// TestFitJSON: a Fit encodes as one flat object in the field order of
// slopes.jsonl, its NaNs (a width without a value, the interval of one
// seed) as null.
func TestFitJSON(t *testing.T) {
	f := Fit{Group: Group{Parameterization: "ntk", LR: 0.5, Optimizer: "sgd"}, Metric: "weight_change", Step: 10, Widths: []int{16, 32},
		Mean: []float64{0.25, math.NaN()}, PerSeed: []float64{-0.5}, Slope: -0.5, Lo: math.NaN(), Hi: math.NaN()}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"parameterization":"ntk","lr":0.5,"optimizer":"sgd","metric":"weight_change","step":10,"widths":[16,32],` +
		`"mean":[0.25,null],"per_seed_slopes":[-0.5],"slope":-0.5,"ci_lo":null,"ci_hi":null}`
	if string(b) != want {
		t.Errorf("JSON of a fit:\n%s\nwant\n%s", b, want)
	}
}

// TestNotASweep: Analyze and Merge name a directory that holds no sweep,
// and Merge refuses to merge a directory into itself, before writing
// anything.
func TestNotASweep(t *testing.T) {
	dir := t.TempDir()
	if _, err := Analyze(dir); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "not a sweep output directory") {
		t.Errorf("Analyze of an empty directory: %v, want a not-a-sweep error wrapping os.ErrNotExist", err)
	}
	dst := filepath.Join(dir, "dst")
	for _, c := range []struct {
		srcs []string
		want string
	}{
		{[]string{dir}, "not a sweep output directory"},
		{[]string{dst}, "is the destination"},
	} {
		err := Merge(dst, c.srcs...)
		if ce := new(ConfigError); !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Merge(%v): %v, want a *ConfigError saying %q", c.srcs, err, c.want)
		}
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("Merge created %s before refusing its sources", dst)
	}
}

// TestShardRunsPartition: the shards' runs partition the grid.
func TestShardRunsPartition(t *testing.T) {
	cfg, err := ParseConfig([]byte(ExampleConfig))
	if err != nil {
		t.Fatalf("ExampleConfig: %v", err)
	}
	seen := map[string]int{}
	for k := range 5 {
		for _, r := range (Shard{k, 5}).Runs(cfg) {
			seen[r.ID]++
		}
	}
	for _, r := range cfg.Runs() {
		if seen[r.ID] != 1 {
			t.Errorf("run %s is in %d shards, want 1", r.ID, seen[r.ID])
		}
	}
	if len(seen) != len(cfg.Runs()) {
		t.Errorf("the shards hold %d runs, the grid %d", len(seen), len(cfg.Runs()))
	}
}

// TestShardFromJobArray: outside a job array it is ErrNoJobArray, not the
// whole sweep; inside one, a count that is not the array's is refused.
func TestShardFromJobArray(t *testing.T) {
	for _, v := range []string{"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_COUNT", "JOB_COMPLETION_INDEX"} {
		if old, ok := os.LookupEnv(v); ok {
			os.Unsetenv(v)
			t.Cleanup(func() { os.Setenv(v, old) })
		}
	}
	if _, err := ShardFromJobArray(4); !errors.Is(err, ErrNoJobArray) {
		t.Errorf("outside a job array: %v, want ErrNoJobArray", err)
	}
	if _, err := ShardFromJobArray(0); err == nil {
		t.Error("count 0 accepted")
	}
	t.Setenv("JOB_COMPLETION_INDEX", "2")
	if s, err := ShardFromJobArray(4); err != nil || s != (Shard{2, 4}) {
		t.Errorf("Indexed Job: %v, %v; want 2/4", s, err)
	}
	os.Unsetenv("JOB_COMPLETION_INDEX")
	t.Setenv("SLURM_ARRAY_TASK_ID", "1")
	t.Setenv("SLURM_ARRAY_TASK_COUNT", "3")
	if _, err := ShardFromJobArray(4); err == nil || !strings.Contains(err.Error(), "3 tasks") {
		t.Errorf("Slurm array of 3 with count 4: %v, want a mismatch error", err)
	}
}

func TestParseParameterizations(t *testing.T) {
	if _, err := ParseParameterizations("mup,xyz"); err == nil || !strings.Contains(err.Error(), `"xyz"`) {
		t.Errorf("unknown name: %v, want an error naming it", err)
	}
}

// TestCoordBlowUp: a layer that blew up (infinite coordinates at a width)
// has no slope, and its cells are null in JSON rather than an encoding
// error; a finite layer's slope is the power law of its values.
func TestCoordBlowUp(t *testing.T) {
	r := &CoordResult{Config: CoordConfig{Widths: []int{100, 400}, Depth: 1, Parameterizations: []nn.Parameterization{nn.Standard}, Steps: 1}}
	for l, vals := range [][]float64{{1, 2}, {3, math.Inf(1)}} {
		for i, w := range r.Config.Widths {
			r.Rows = append(r.Rows, CoordRow{Parameterization: nn.Standard, Layer: l, T: 1, Width: w, Mean: vals[i], Delta: vals[i]})
		}
	}
	s := r.Slopes()
	if len(s) != 2 || s[0].Mean == nil || math.Abs(*s[0].Mean-0.5) > 1e-12 || s[1].Mean != nil || s[1].Delta != nil {
		t.Errorf("slopes %+v, want +0.5 for layer 0 and none for layer 1", s)
	}
	var b strings.Builder
	if err := r.WriteJSONL(&b); err != nil || !strings.Contains(b.String(), `"layer":1,"t":1,"width":400,"mean":null,"delta":null`) {
		t.Errorf("WriteJSONL: %v\n%s", err, b.String())
	}
}
