package main

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/gradflow/gradflow/internal/simd"
	"github.com/gradflow/gradflow/tensor"
)

// runTiers prints the tiers of this CPU and build, best first, on stdout
// (scripts loop over them) and the start-up choice with its reason on
// stderr. With -measure it instead compares the tiers on the workloads
// the microarchitecture table is decided by: GEMM 1024^3 and the
// 784-512-512-10 b128 training step, f32 and f64, at one thread.
func runTiers(args []string) error {
	fs := newFlagSet("tiers")
	measure := fs.Bool("measure", false, "measure every SIMD tier (generic excepted) on GEMM 1024^3 and the MLP step, one thread, interleaved in one process")
	rounds := fs.Int("rounds", 7, "rounds with -measure; every round runs each tier once (the order alternates), ratios are taken within a round")
	slice := fs.Duration("slice", 300*time.Millisecond, "time per tier and workload in a round with -measure")
	js := fs.Bool("json", false, "with -measure, print one JSON object per workload and tier")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: go run ./bench tiers [-measure [-rounds 7] [-slice 300ms] [-json]]

Without flags: the SIMD tiers of this CPU and build, best first, on stdout,
and the default tier (microarchitecture table, features or GRADFLOW_SIMD)
and why on stderr.

flags:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !*measure {
		fmt.Println(strings.Join(simd.Tiers(), " "))
		fmt.Fprintln(os.Stderr, "default:", simd.StartupChoice())
		return nil
	}
	if *rounds < 1 {
		return fmt.Errorf("-rounds: %d is not positive", *rounds)
	}
	ch := simd.StartupChoice()
	tiers := slices.DeleteFunc(simd.Tiers(), func(t string) bool { return t == simd.TierGeneric })
	if len(tiers) == 0 {
		return fmt.Errorf("no SIMD tier to compare on this CPU/build")
	}
	if !*js {
		fmt.Printf("# %s, one thread, %d rounds of %v per tier; default: %s\n", runtime.Version(), *rounds, *slice, ch)
	}
	em := newEmitter(*js)
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	type workload struct {
		name, dtype, unit string
		run               func() float64 // one call; returns the units it did
	}
	mlp := mlpCase{[]int{784, 512, 512, 10}, 128}
	s32, s64 := newMLPStep[float32](mlp, 1), newMLPStep[float64](mlp, 1)
	g32, g64 := tierGemm[float32](1024), tierGemm[float64](1024)
	wls := []workload{
		{"gemm 1024^3", "float32", "GFLOPS", g32},
		{"gemm 1024^3", "float64", "GFLOPS", g64},
		{"mlp 784-512-512-10 b128", "float32", "samples/s", func() float64 { s32.step(); return float64(mlp.batch) }},
		{"mlp 784-512-512-10 b128", "float64", "samples/s", func() float64 { s64.step(); return float64(mlp.batch) }},
	}
	for _, w := range wls {
		rates := make(map[string][]float64)
		for r := 0; r < *rounds; r++ {
			order := slices.Clone(tiers)
			if r%2 == 1 {
				slices.Reverse(order)
			}
			for _, t := range order {
				restore, err := simd.SetTier(t)
				if err != nil {
					return err
				}
				w.run() // warm: scratch of this tier's tile shape
				units, t0 := 0.0, time.Now()
				for time.Since(t0) < *slice {
					units += w.run()
				}
				rates[t] = append(rates[t], units/time.Since(t0).Seconds())
				restore()
			}
		}
		// Per round: each tier's rate over the best tier's of that round.
		for _, t := range tiers {
			ratio := make([]float64, *rounds)
			for r := range ratio {
				best := 0.0
				for _, u := range tiers {
					best = max(best, rates[u][r])
				}
				ratio[r] = rates[t][r] / best
			}
			scale := 1.0
			if w.unit == "GFLOPS" {
				scale = 1e-9
			}
			med := median(rates[t]) * scale
			if *js {
				em.emit(map[string]any{"suite": "tiers", "workload": w.name, "dtype": w.dtype, "simd": t, "default": t == ch.Tier,
					"unit": w.unit, "median": round2(med), "ratio_to_best_median": math.Round(median(ratio)*1000) / 1000,
					"min": round2(slices.Min(rates[t]) * scale), "max": round2(slices.Max(rates[t]) * scale)})
				continue
			}
			mark := ""
			if t == ch.Tier {
				mark = "*"
			}
			fmt.Printf("%-24s %-7s %-7s %10.1f %-9s (%.1f-%.1f)  of round's best: median %.3f\n",
				w.name, w.dtype, t+mark, med, w.unit, slices.Min(rates[t])*scale, slices.Max(rates[t])*scale, median(ratio))
		}
	}
	return nil
}

// tierGemm returns one n^3 product with the kernels in use at each call,
// reporting the flops it did.
func tierGemm[T tensor.Float](n int) func() float64 {
	a, b, c := make([]T, n*n), make([]T, n*n), make([]T, n*n)
	for i := range a {
		a[i] = T(i%7) - 3
		b[i] = T(i%5) - 2
	}
	return func() float64 {
		simd.Gemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n, simd.Epilogue[T]{})
		return 2 * float64(n) * float64(n) * float64(n)
	}
}
