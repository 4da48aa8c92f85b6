package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"

	"github.com/gradflow/gradflow/internal/simd"
)

const infoUsage = `usage: train info [-json]

Prints the SIMD tier in use (override with GRADFLOW_SIMD=generic|avx2|avx512|neon),
why it was chosen (the microarchitecture table, the CPU features or GRADFLOW_SIMD),
the CPU's vendor/family/model, the GEMM microkernel shapes and cache blocking, GOMAXPROCS and the Go version.

example:
  train info -json
`

func runInfo(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("info", infoUsage, stderr)
	js := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	info := simd.CurrentInfo()
	if *js {
		return json.NewEncoder(stdout).Encode(map[string]any{
			"simd": info.Tier, "available": info.Available, "override_error": info.Override,
			"simd_source": info.Choice.Source, "simd_reason": info.Choice.Reason, "simd_arch": info.Choice.Arch,
			"cpu": map[string]any{"vendor": info.Choice.CPU.Vendor, "family": info.Choice.CPU.Family,
				"model": info.Choice.CPU.Model, "brand": info.Choice.CPU.Brand},
			"f32_kernel": []int{info.MR32, info.NR32}, "f64_kernel": []int{info.MR64, info.NR64},
			"f32_blocking": info.Block32, "f64_blocking": info.Block64, "caches": info.Cache,
			"gomaxprocs": runtime.GOMAXPROCS(0), "num_cpu": runtime.NumCPU(),
			"go": runtime.Version(), "os": runtime.GOOS, "arch": runtime.GOARCH,
		})
	}
	fmt.Fprintf(stdout, "simd tier     %s (available: %v)\n", info.Tier, info.Available)
	fmt.Fprintf(stdout, "chosen by     %s\n", info.Choice.Source)
	fmt.Fprintf(stdout, "because       %s\n", info.Choice.Reason)
	fmt.Fprintf(stdout, "cpu           %s, %q\n", info.Choice.CPU, info.Choice.CPU.Brand)
	if info.Override != "" {
		fmt.Fprintf(stdout, "override      %s\n", info.Override)
	}
	fmt.Fprintf(stdout, "f32 gemm      %dx%d microkernel, KC=%d MC=%d NC=%d\n", info.MR32, info.NR32, info.Block32.KC, info.Block32.MC, info.Block32.NC)
	fmt.Fprintf(stdout, "f64 gemm      %dx%d microkernel, KC=%d MC=%d NC=%d\n", info.MR64, info.NR64, info.Block64.KC, info.Block64.MC, info.Block64.NC)
	fmt.Fprintf(stdout, "caches        L1D %d KiB, L2 %d KiB, L3 %d KiB\n", info.Cache.L1D>>10, info.Cache.L2>>10, info.Cache.L3>>10)
	fmt.Fprintf(stdout, "GOMAXPROCS    %d (of %d CPUs)\n", runtime.GOMAXPROCS(0), runtime.NumCPU())
	fmt.Fprintf(stdout, "go            %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
