// Command bench runs gradflow's benchmark suites and prints comparison
// tables (or JSON lines with -json).
//
//	go run ./bench gemm [-json] [-sizes 64,256,1024] [-threads 1,2] [-mlp=true]
//	go run ./bench peak [-json]
//	go run ./bench ntk [-json] [-n 128,512] [-threads 1,2]
//
// The numbers are machine- and load-dependent: compare ratios from one run
// (gradflow vs gonum, tier vs tier, kernel vs peak), not absolute values
// across runs. bench/RESULTS.md records a run with its machine.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/gradflow/gradflow/internal/simd"
)

func usage() {
	fmt.Fprintf(os.Stderr, `usage: go run ./bench <suite> [flags]

suites:
  gemm   GEMM GFLOPS per SIMD tier and gonum, square sizes and MLP shapes
  peak   one core's FMA peak per tier (asm loop of independent FMAs)
  mlp    MLP training-step samples/s vs PyTorch (784-512-512-10 b128, 64-128-10 b32)
  cnn    CNN training-step samples/s vs PyTorch (LeNet-5 and a small ResNet, 1x28x28, b64)
  mnist  time to 98%% MNIST test accuracy vs PyTorch (784-512-512-10, SGD momentum)
  load   MLP step at 1 and 2 threads with and without competing busy processes
  ntk    empirical NTK seconds and GFLOPS vs functorch (784-1024-1024-10, n 128 and 512)
  tiers  print the SIMD tiers this CPU and build support, best first (stdout),
         and the default tier with the reason for it (stderr); -measure
         compares the tiers on GEMM 1024^3 and the MLP step

Run "go run ./bench <suite> -h" for the flags of a suite.
`)
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gemm":
		err = runGemm(os.Args[2:])
	case "peak":
		err = runPeak(os.Args[2:])
	case "mlp":
		err = runMLP(os.Args[2:])
	case "mnist":
		err = runMNIST(os.Args[2:])
	case "ntk":
		err = runNTK(os.Args[2:])
	case "cnn":
		err = runCNN(os.Args[2:])
	case "load":
		err = runLoad(os.Args[2:])
	case "tiers":
		err = runTiers(os.Args[2:])
	case "-h", "-help", "--help", "help":
		usage()
		return
	default:
		fmt.Fprintf(os.Stderr, "bench: unknown suite %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
}

// emitter writes either JSON lines or nothing (tables are printed by the
// suites themselves).
type emitter struct {
	json bool
	enc  *json.Encoder
}

func newEmitter(js bool) *emitter { return &emitter{json: js, enc: json.NewEncoder(os.Stdout)} }

func (e *emitter) emit(v any) {
	if e.json {
		_ = e.enc.Encode(v)
	}
}

func parseInts(flagName, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("-%s: %q is not a positive integer", flagName, f)
		}
		out = append(out, v)
	}
	return out, nil
}

// parseDTypes reads the -dtypes flag: a comma-separated list of float32
// and float64.
func parseDTypes(s string) ([]string, error) {
	var dts []string
	for _, d := range splitList(s) {
		if d != "float32" && d != "float64" {
			return nil, fmt.Errorf("-dtypes: %q is not float32 or float64", d)
		}
		dts = append(dts, d)
	}
	return dts, nil
}

func header(js bool) {
	if js {
		return
	}
	fmt.Printf("# %s, GOMAXPROCS=%d, %s/%s\n# %s\n", runtime.Version(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, simd.CurrentInfo())
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	return fs
}
