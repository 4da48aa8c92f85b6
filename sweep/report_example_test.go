package sweep_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/sweep"
)

// tinySweep runs a sweep of 8 short runs into a new directory and loads
// it; the caller removes the directory.
func tinySweep() (dir string, rep *sweep.Report) {
	dir, err := os.MkdirTemp("", "sweep")
	if err != nil {
		panic(err)
	}
	cfg := sweep.Config{
		Dataset:           sweep.Dataset{Kind: "teacher", N: 16, Dim: 4, Seed: 1},
		Widths:            []int{32, 128},
		Parameterizations: []nn.Parameterization{nn.NTK, nn.MeanField},
		Seeds:             []uint64{1, 2},
		LRs:               []float64{0.5},
		Steps:             10,
		KernelEvery:       -1,
	}
	if err := sweep.Run(context.Background(), cfg, dir, sweep.All, 2, nil); err != nil {
		panic(err)
	}
	rep, err = sweep.Analyze(dir)
	if err != nil {
		panic(err)
	}
	return dir, rep
}

// Every slope a sweep reports: per group, the metrics that could be
// fitted (the kernel was not measured here).
func ExampleReport_Fits() {
	dir, rep := tinySweep()
	defer os.RemoveAll(dir)
	metrics := map[string]int{}
	slope := map[string]float64{}
	for _, f := range rep.Fits() {
		metrics[f.Group.String()]++
		if f.Metric == "weight_change" {
			slope[f.Group.Parameterization] = f.Slope
		}
	}
	fmt.Println(metrics)
	fmt.Println("NTK weight change falls faster with the width than mean field's:", slope["ntk"] < slope["meanfield"])
	// Output:
	// map[meanfield lr=0.5 sgd:5 ntk lr=0.5 sgd:5]
	// NTK weight change falls faster with the width than mean field's: true
}

// The fits as JSON lines, the form of slopes.jsonl.
func ExampleReport_WriteFits() {
	dir, rep := tinySweep()
	defer os.RemoveAll(dir)
	var b strings.Builder
	if err := rep.WriteFits(&b); err != nil {
		panic(err)
	}
	first := strings.SplitN(b.String(), "\n", 2)[0]
	fmt.Println(first[:strings.Index(first, `"widths"`)])
	// Output: {"parameterization":"ntk","lr":0.5,"optimizer":"sgd","metric":"loss","step":10,
}

// Save leaves the report next to the runs.
func ExampleReport_Save() {
	dir, rep := tinySweep()
	defer os.RemoveAll(dir)
	if err := rep.Save(dir, true); err != nil {
		panic(err)
	}
	_, err := os.Stat(filepath.Join(dir, "slopes.jsonl"))
	figures, _ := filepath.Glob(filepath.Join(dir, "figures", "*_vs_width.png"))
	fmt.Println("slopes.jsonl:", err == nil, "width figures:", len(figures) > 0)
	// Output: slopes.jsonl: true width figures: true
}

// Parameterizations as a command line names them.
func ExampleParseParameterizations() {
	ps, err := sweep.ParseParameterizations("mup, sp,mf,mup")
	fmt.Println(ps, err)
	// Output: [mup standard meanfield] <nil>
}

// The runs one machine of three executes.
func ExampleShard_Runs() {
	cfg, err := sweep.ParseConfig([]byte(sweep.ExampleConfig))
	if err != nil {
		panic(err)
	}
	mine := sweep.Shard{Index: 1, Count: 3}.Runs(cfg)
	fmt.Println(len(cfg.Runs()), "runs;", len(mine), "in shard 1/3, the first", mine[0].ID)
	// Output: 72 runs; 24 in shard 1/3, the first w000064-ntk-s2-lr0.5-sgd
}

// A task of a Slurm job array of 4 tasks numbered from 0 runs the shard
// of its task ID; outside a job array it is an error rather than the
// whole sweep.
func ExampleShardFromJobArray() {
	for k, v := range map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "4"} {
		old, had := os.LookupEnv(k)
		os.Setenv(k, v)
		if had {
			defer os.Setenv(k, old)
		} else {
			defer os.Unsetenv(k)
		}
	}
	s, err := sweep.ShardFromJobArray(4)
	fmt.Println(s, err)
	_, err = sweep.ShardFromJobArray(8)
	fmt.Println(err)
	// Output:
	// 2/4 <nil>
	// sweep: shard count 8, but the job array has 4 tasks (SLURM_ARRAY_TASK_COUNT)
}
