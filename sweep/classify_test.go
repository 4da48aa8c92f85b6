package sweep

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
)

// classSweeps are small sweeps on the two classification datasets.
func classSweeps() []Config {
	base := Config{
		Widths:            []int{32, 64, 128},
		Parameterizations: []nn.Parameterization{nn.MuP, nn.Standard},
		Seeds:             []uint64{1, 2},
		LRs:               []float64{0.5},
		Steps:             60,
		LogEvery:          20,
		KernelPoints:      8,
	}
	tc, dg := base, base
	tc.Name = "teacher-class"
	tc.Dataset = Dataset{Kind: "teacher-class", N: 128, Dim: 8, Classes: 4, Seed: 3}
	dg.Name = "digits"
	dg.Dataset = Dataset{Kind: "digits", N: 300}
	if testing.Short() {
		tc.Widths, dg.Widths = []int{32, 64}, []int{32, 64}
	}
	return []Config{tc, dg}
}

// majority returns the fraction of the most frequent label.
func majority(labels []int32, k int) float64 {
	counts := make([]int, k)
	for _, l := range labels {
		counts[l]++
	}
	return float64(slices.Max(counts)) / float64(len(labels))
}

// TestClassificationDatasets checks the datasets the classification kinds
// generate: digits is the first N rows of the embedded UCI digits with
// pixels scaled from 0..16 to [0, 1] and 10 classes; teacher-class has
// Classes classes (default 2) and labels in range.
func TestClassificationDatasets(t *testing.T) {
	c, err := Config{Dataset: Dataset{Kind: "digits", N: 300}, Widths: []int{4}, Parameterizations: []nn.Parameterization{nn.MuP},
		Seeds: []uint64{1}, LRs: []float64{0.1}, Steps: 1}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	ds, err := makeDataset(c)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := data.Digits[float64]()
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 300 || ds.Dim() != 64 || ds.NumClasses != 10 || outputs(ds) != 10 || len(ds.Labels) != 300 {
		t.Fatalf("digits: %d x %d, %d classes, %d outputs, %d labels; want 300 x 64, 10, 10, 300", ds.Len(), ds.Dim(), ds.NumClasses, outputs(ds), len(ds.Labels))
	}
	if !slices.Equal(ds.Labels, raw.Labels[:300]) {
		t.Error("digits labels are not those of the first 300 rows")
	}
	x, rx := ds.X.Data(), raw.X.Data()
	hi := 0.0
	for i, v := range x {
		if v < 0 || v > 1 || v != rx[i]/16 {
			t.Fatalf("digits pixel %d = %v, want raw %v / 16 in [0, 1]", i, v, rx[i])
		}
		hi = max(hi, v)
	}
	if hi != 1 {
		t.Errorf("digits largest pixel %v, want 1 (16/16)", hi)
	}
	if again, _ := makeDataset(c); !slices.Equal(again.X.Data(), x) {
		t.Error("digits: a second makeDataset differs (scaling applied twice to shared data?)")
	}
	c.Dataset.N = data.DigitsRows + 1
	var ce *ConfigError
	if _, err := makeDataset(c); !errors.As(err, &ce) || !strings.Contains(err.Error(), "dataset.n") {
		t.Errorf("digits with n = %d: error %v, want a ConfigError naming dataset.n", c.Dataset.N, err)
	}
	c.Dataset = Dataset{Kind: "digits", N: 10, Dim: 64}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "dataset.dim") {
		t.Errorf("digits with dim 64: error %v, want one naming dataset.dim", err)
	}

	for _, k := range []int{0, 3, 5} {
		c := Config{Dataset: Dataset{Kind: "teacher-class", N: 200, Dim: 6, Classes: k, Seed: 7}, Widths: []int{4},
			Parameterizations: []nn.Parameterization{nn.MuP}, Seeds: []uint64{1}, LRs: []float64{0.1}, Steps: 1}
		c, err := c.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		want := max(k, 2)
		if c.Dataset.Classes != want {
			t.Errorf("teacher-class classes %d: default gives %d, want %d", k, c.Dataset.Classes, want)
		}
		ds, err := makeDataset(c)
		if err != nil {
			t.Fatal(err)
		}
		if ds.Len() != 200 || ds.Dim() != 6 || ds.NumClasses != want || outputs(ds) != want || len(ds.Labels) != 200 {
			t.Errorf("teacher-class classes %d: %d x %d, %d classes, %d outputs, %d labels", k, ds.Len(), ds.Dim(), ds.NumClasses, outputs(ds), len(ds.Labels))
		}
		seen := make([]bool, want)
		for _, l := range ds.Labels {
			if l < 0 || int(l) >= want {
				t.Fatalf("teacher-class label %d outside [0, %d)", l, want)
			}
			seen[l] = true
		}
		if slices.Contains(seen, false) {
			t.Errorf("teacher-class classes %d: some class never occurs in 200 points: %v", k, seen)
		}
		if m := majority(ds.Labels, want); m > 0.9 {
			t.Errorf("teacher-class classes %d: majority class holds %.2f of the points", k, m)
		}
	}
}

// TestClassificationSweep runs a small sweep (widths 32..128, muP and SP,
// 2 seeds, 60 full-batch SGD steps at lr 0.5) on teacher-class (4 classes)
// and on digits (300 rows) and checks every run's records: the steps
// logged, accuracy present in [0, 1] and a multiple of 1/N (measured on
// the N training points), the initialization records (zero changes, kernel
// drift 0), kernel drift only at the first and last step, loss near ln k at
// init under muP (output Theta(n^-1/2)), and learning: the loss falls by
// at least 40% and the final accuracy clears chance and the majority
// class by a wide margin (measured: 0.79..1.0 for teacher-class, 0.89..0.99
// for digits at these settings; chance 0.25 and 0.1).
func TestClassificationSweep(t *testing.T) {
	for _, c := range classSweeps() {
		t.Run(c.Name, func(t *testing.T) {
			rep, _ := runAndAnalyze(t, c, 2)
			if len(rep.Missing) != 0 || len(rep.Runs) != len(c.Runs()) {
				t.Fatalf("%d runs loaded, %d missing; want %d and 0", len(rep.Runs), len(rep.Missing), len(c.Runs()))
			}
			full, _ := c.withDefaults()
			ds, err := makeDataset(full)
			if err != nil {
				t.Fatal(err)
			}
			k := ds.NumClasses
			floor := max(1/float64(k), majority(ds.Labels, k))
			t.Logf("%s: %d classes, majority class %.3f", c.Name, k, floor)
			wantSteps := []int{0, 20, 40, 60}
			for _, run := range rep.Runs {
				id := run.Spec.ID
				if run.DivergedAt != 0 {
					t.Errorf("%s diverged at step %d", id, run.DivergedAt)
					continue
				}
				var steps []int
				for _, r := range run.Records {
					steps = append(steps, r.Step)
					if r.Accuracy == nil {
						t.Fatalf("%s step %d: no accuracy in a classification record", id, r.Step)
					}
					a := *r.Accuracy
					if !(a >= 0 && a <= 1) {
						t.Errorf("%s step %d: accuracy %v outside [0, 1]", id, r.Step, a)
					}
					if hits := a * float64(c.Dataset.N); math.Abs(hits-math.Round(hits)) > 1e-9 {
						t.Errorf("%s step %d: accuracy %v is not a multiple of 1/%d", id, r.Step, a, c.Dataset.N)
					}
					if v, ok := Metric(r, "accuracy"); !ok || v != a {
						t.Errorf("%s step %d: Metric(accuracy) = %v, %v", id, r.Step, v, ok)
					}
					if !(r.Loss > 0) || math.IsInf(r.Loss, 0) {
						t.Errorf("%s step %d: loss %v", id, r.Step, r.Loss)
					}
					if len(r.Coord) != full.Depth+1 || len(r.CoordDelta) != full.Depth+1 {
						t.Errorf("%s step %d: %d coords, %d coord deltas; want %d", id, r.Step, len(r.Coord), len(r.CoordDelta), full.Depth+1)
					}
					if hasKD, want := r.KernelDrift != nil, r.Step == 0 || r.Step == c.Steps; hasKD != want {
						t.Errorf("%s step %d: kernel drift present %v, want %v", id, r.Step, hasKD, want)
					}
				}
				if !slices.Equal(steps, wantSteps) {
					t.Fatalf("%s: steps %v, want %v", id, steps, wantSteps)
				}
				first, last := run.Records[0], run.Records[len(run.Records)-1]
				if first.WeightChange != 0 || first.Displacement != 0 || *first.KernelDrift != 0 || slices.ContainsFunc(first.CoordDelta, func(v float64) bool { return v != 0 }) {
					t.Errorf("%s step 0: changes %v %v %v %v, want 0", id, first.WeightChange, first.Displacement, *first.KernelDrift, first.CoordDelta)
				}
				if !(last.WeightChange > 0 && last.Displacement > 0 && *last.KernelDrift > 0) {
					t.Errorf("%s last step: weight change %v, displacement %v, kernel drift %v; want positive", id, last.WeightChange, last.Displacement, *last.KernelDrift)
				}
				if run.Spec.Parameterization == nn.MuP && math.Abs(first.Loss-math.Log(float64(k))) > 0.1 {
					t.Errorf("%s: initial loss %.4f, want about ln %d = %.4f (muP output ~ 0 at init)", id, first.Loss, k, math.Log(float64(k)))
				}
				if last.Loss > 0.6*first.Loss {
					t.Errorf("%s: loss %.4f -> %.4f, want a fall of at least 40%%", id, first.Loss, last.Loss)
				}
				for i := 1; i < len(run.Records); i++ {
					if run.Records[i].Loss >= run.Records[i-1].Loss {
						t.Errorf("%s: loss rises from step %d to %d: %.4f -> %.4f", id, run.Records[i-1].Step, run.Records[i].Step, run.Records[i-1].Loss, run.Records[i].Loss)
					}
				}
				if acc := *last.Accuracy; acc < floor+0.3 || acc < 0.6 {
					t.Errorf("%s: final training accuracy %.3f, want >= max(0.6, majority %.3f + 0.3)", id, acc, floor)
				}
				t.Logf("%s: loss %.3f -> %.3f, accuracy %.3f -> %.3f", id, first.Loss, last.Loss, *first.Accuracy, *last.Accuracy)
			}
			g := Group{Parameterization: "mup", LR: 0.5, Optimizer: "sgd"}
			f, err := rep.Fit("accuracy", g, -1)
			if err != nil || len(f.PerSeed) != len(c.Seeds) || math.IsNaN(f.Slope) {
				t.Errorf("Fit(accuracy, %s) = %+v, %v", g, f, err)
			}
			var tab bytes.Buffer
			if err := rep.WriteTables(&tab); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(tab.String(), "mup lr=0.5 sgd") {
				t.Errorf("table lacks the muP group:\n%s", tab.String())
			}
		})
	}
	// A regression dataset has no accuracy.
	c := smallSweep()
	ds, err := makeDataset(c)
	if err != nil {
		t.Fatal(err)
	}
	recs, _, err := Train(context.Background(), c, ds, c.Runs()[0])
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Accuracy != nil {
		t.Errorf("teacher regression record has accuracy %v", *recs[0].Accuracy)
	}
}

// TestClassificationShardsAndDeterminism runs each classification sweep
// (with minibatches and both optimizers, so the shuffling loader and Adam
// are covered) as 3 shards in separate directories and checks that shard i
// holds exactly the runs with index i mod 3, that every run is in exactly
// one shard, that the merge equals a single-machine run byte for byte, and
// that a rerun with another worker count is byte-identical. In memory,
// Train is bit-identical across reruns and GOMAXPROCS 1 and 2, and
// different seeds give different results.
func TestClassificationShardsAndDeterminism(t *testing.T) {
	for _, c := range classSweeps() {
		c.Widths = c.Widths[:2]
		c.Optimizers = []string{"sgd", "adam"}
		c.LRs = []float64{0.01}
		c.BatchSize = 32
		c.Steps = 12
		c.LogEvery = 4
		t.Run(c.Name, func(t *testing.T) {
			ctx := context.Background()
			runs := c.Runs()
			tmp := t.TempDir()
			single, rerun, merged := filepath.Join(tmp, "single"), filepath.Join(tmp, "rerun"), filepath.Join(tmp, "merged")
			if err := Run(ctx, c, single, All, 2, nil); err != nil {
				t.Fatal(err)
			}
			if err := Run(ctx, c, rerun, All, 1, nil); err != nil {
				t.Fatal(err)
			}
			const n = 3
			var shardDirs []string
			owner := map[string]int{}
			for i := range n {
				d := filepath.Join(tmp, "shard", string(rune('0'+i)))
				shardDirs = append(shardDirs, d)
				if err := Run(ctx, c, d, Shard{i, n}, 2, nil); err != nil {
					t.Fatal(err)
				}
				for name := range readAll(t, filepath.Join(d, runsDir)) {
					if prev, dup := owner[name]; dup {
						t.Errorf("%s is in shards %d and %d", name, prev, i)
					}
					owner[name] = i
				}
			}
			if len(owner) != len(runs) {
				t.Errorf("shards hold %d runs, the grid has %d", len(owner), len(runs))
			}
			for _, r := range runs {
				name := filepath.Base(RunFile("", r))
				if got, ok := owner[name]; !ok || got != r.Index%n {
					t.Errorf("run %d %s: in shard %d (present %v), want %d", r.Index, r.ID, got, ok, r.Index%n)
				}
			}
			if err := Merge(merged, shardDirs...); err != nil {
				t.Fatal(err)
			}
			a, b, r := readAll(t, single), readAll(t, merged), readAll(t, rerun)
			if len(a) != len(runs)+1 || len(b) != len(a) || len(r) != len(a) {
				t.Fatalf("single %d files, merged %d, rerun %d; want %d runs + config", len(a), len(b), len(r), len(runs))
			}
			for name, x := range a {
				if !bytes.Equal(x, b[name]) {
					t.Errorf("%s differs between the merged and the single-machine sweep", name)
				}
				if !bytes.Equal(x, r[name]) {
					t.Errorf("%s differs between runs with 2 and 1 workers", name)
				}
			}

			// In memory: bit-identical records (JSON's shortest round-trip
			// encoding of float64 is byte-equal iff the bits are), across
			// reruns and GOMAXPROCS.
			ds, err := makeDataset(c)
			if err != nil {
				t.Fatal(err)
			}
			spec := RunSpec{Width: 128, Parameterization: nn.MuP, Seed: 1, LR: 0.01, Optimizer: "adam"}
			encode := func(s RunSpec, procs int) []byte {
				t.Helper()
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				recs, div, err := Train(ctx, c, ds, s)
				if err != nil || div != 0 {
					t.Fatalf("Train %+v: diverged %d, %v", s, div, err)
				}
				j, err := json.Marshal(recs)
				if err != nil {
					t.Fatal(err)
				}
				return j
			}
			x := encode(spec, 2)
			if y := encode(spec, 2); !bytes.Equal(x, y) {
				t.Error("two in-memory Train calls with the same spec differ")
			}
			if y := encode(spec, 1); !bytes.Equal(x, y) {
				t.Error("Train differs between GOMAXPROCS 2 and 1")
			}
			other := spec
			other.Seed = 2
			if y := encode(other, 2); bytes.Equal(x, y) {
				t.Error("seeds 1 and 2 give identical records")
			}
			// The file written by Run holds the same records as Train.
			for _, r := range runs {
				if r.Width == c.Widths[0] && r.Parameterization == nn.MuP && r.Seed == 1 && r.Optimizer == "adam" {
					s := r
					b, err := os.ReadFile(RunFile(single, s))
					if err != nil {
						t.Fatal(err)
					}
					_, recs, _, err := parseRunFile(b)
					if err != nil {
						t.Fatal(err)
					}
					fromFile, _ := json.Marshal(recs)
					if got := encode(s, 2); !bytes.Equal(got, fromFile) {
						t.Errorf("%s: records in the result file differ from Train's", s.ID)
					}
				}
			}
		})
	}
}
