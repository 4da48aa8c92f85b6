package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/internal/simd"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/ntk"
	"github.com/gradflow/gradflow/tensor"
)

// ntkRecord is one line of `bench ntk -json`.
type ntkRecord struct {
	Suite   string  `json:"suite"`
	Impl    string  `json:"impl"`
	Dims    []int   `json:"dims"`
	N       int     `json:"n"`
	Threads int     `json:"threads"`
	Seconds float64 `json:"seconds"`
	// GFLOPS is the flop count over Seconds: ntk.StructuredFlops for
	// gradflow, the contraction products 2 n^2 k P alone for functorch.
	GFLOPS float64 `json:"gflops"`
	// PeakBytes is the peak resident set (VmHWM) of the measuring process
	// over the measurement (gradflow resets it first, see peakRSS).
	PeakBytes int64  `json:"peak_bytes"`
	DType     string `json:"dtype,omitempty"`
	// Flops is the count GFLOPS divides by the time.
	Flops float64 `json:"flops,omitempty"`
	// PeakFraction is GFLOPS over Threads times one core's FMA peak of the
	// dispatched SIMD tier, gradflow only.
	PeakFraction float64 `json:"peak_fraction,omitempty"`
	// PeakGFLOPS is that peak, measured just before (bench peak's loop).
	PeakGFLOPS float64 `json:"peak_gflops,omitempty"`
	SIMD       string  `json:"simd,omitempty"`
	// Reps are the seconds of every repetition (the median is reported).
	Reps []float64 `json:"reps,omitempty"`
	// CPUSeconds is the median over the repetitions of the process's
	// user+system CPU time: on a loaded machine Seconds counts the time other
	// processes held the cores, CPUSeconds does not (with more than one
	// thread it adds the threads' times, including spinning workers).
	CPUSeconds float64 `json:"cpu_seconds,omitempty"`
	Inputs     string  `json:"inputs,omitempty"`
	// functorch only: examples per Jacobian chunk, whether only blocks on
	// and above the diagonal were formed, the torch version.
	Chunk     int    `json:"chunk,omitempty"`
	Symmetric bool   `json:"symmetric,omitempty"`
	Torch     string `json:"torch,omitempty"`
}

func runNTK(args []string) error {
	fs := newFlagSet("ntk")
	js := fs.Bool("json", false, "print one JSON object per line instead of a table")
	dimsFlag := fs.String("dims", "784,1024,1024,10", "MLP widths (ReLU, NTK parameterization)")
	nFlag := fs.String("n", "128,512", "numbers of inputs (the kernel is n x n, traced over the outputs)")
	threadsFlag := fs.String("threads", "1,2", "thread counts (GOMAXPROCS)")
	dtype := fs.String("dtype", "float64", "element type: float64 or float32")
	reps := fs.Int("reps", 3, "repetitions per gradflow measurement; the median is reported")
	budget := fs.Int64("budget", 0, "ntk.Options.MemoryBudget in bytes (0: the default, 1 GiB)")
	dir := fs.String("data", filepath.Join("..", "shared", "datasets", "mnist"), "MNIST directory: the inputs are the first n test images (random pixels if absent or n > 10000)")
	torchOn := fs.Bool("torch", true, "also run bench/ntk_torch.py (functorch) when "+pythonPath+" has torch")
	torchMaxN := fs.Int("torch-max-n", 128, "run functorch only for n up to this (its Jacobians are n*k*P elements, formed in chunks)")
	torchThreads := fs.String("torch-threads", "1", "functorch thread counts (a subset of -threads; each run is minutes)")
	torchReps := fs.Int("torch-reps", 1, "repetitions per functorch measurement")
	torchChunk := fs.Int("torch-chunk", 16, "examples per functorch Jacobian chunk (16 x 10 x 1.86M float64 = 2.4 GB)")
	torchSym := fs.Bool("torch-symmetric", true, "functorch forms only the blocks on and above the diagonal (the tutorial forms all n^2)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the gradflow measurements to this file")
	torchFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: go run ./bench ntk [flags]

Time and GFLOPS of the traced empirical NTK of an MLP (ntk.Empirical,
Method Structured) on n inputs with themselves, against functorch's
vmap(jacrev) Jacobians and their contraction (bench/ntk_torch.py, as in
PyTorch's NTK tutorial, chunked over examples) when torch is installed.

example: go run ./bench ntk -json -n 128,512
         go run ./bench ntk -n 10000 -threads 2 -reps 1 -torch=false

flags:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	dims, err := parseInts("dims", *dimsFlag)
	if err != nil {
		return err
	}
	if len(dims) < 2 {
		return fmt.Errorf("-dims: %q has fewer than two widths", *dimsFlag)
	}
	ns, err := parseInts("n", *nFlag)
	if err != nil {
		return err
	}
	threads, err := parseInts("threads", *threadsFlag)
	if err != nil {
		return err
	}
	tThreads, err := parseInts("torch-threads", *torchThreads)
	if err != nil {
		return err
	}
	if *reps < 1 || *torchReps < 1 {
		return fmt.Errorf("-reps and -torch-reps must be positive")
	}
	if *dtype != "float32" && *dtype != "float64" {
		return fmt.Errorf("-dtype: %q is not float32 or float64", *dtype)
	}
	script := ""
	if *torchOn {
		if script, err = findTorch("ntk_torch.py"); err != nil {
			fmt.Fprintln(os.Stderr, "bench ntk: skipping functorch:", err)
		}
	}
	// One core's FMA peak, measured again before every gradflow
	// measurement: on a shared machine the load shifts within a run, and
	// a fraction of a peak measured minutes apart means little.
	measurePeak := func() float64 {
		g, err := simd.MeasurePeak(simd.Tier(), *dtype == "float32", 300*time.Millisecond)
		if err != nil {
			return 0 // the generic tier has no FMA loop
		}
		return g
	}
	peak := measurePeak()
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()

	em := newEmitter(*js)
	header(*js)
	if !*js {
		fmt.Printf("# traced empirical NTK, MLP %s ReLU, %s; one core's FMA peak (%s) %.1f GFLOPS\n", dimsLabel(dims), *dtype, simd.Tier(), peak)
		fmt.Printf("%-9s %-16s %6s %3s %10s %8s %7s %10s %9s\n", "impl", "dims", "n", "thr", "seconds", "GFLOPS", "%peak", "peak MiB", "speedup")
	}
	prevProcs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prevProcs)
	for _, n := range ns {
		for _, th := range threads {
			runtime.GOMAXPROCS(th)
			peak = measurePeak()
			var rec ntkRecord
			if *dtype == "float32" {
				rec, err = measureNTK[float32](dims, n, *reps, *budget, *dir)
			} else {
				rec, err = measureNTK[float64](dims, n, *reps, *budget, *dir)
			}
			if err != nil {
				return err
			}
			rec.Threads = th
			rec.PeakGFLOPS = round2(peak)
			if peak > 0 {
				rec.PeakFraction = round4(rec.GFLOPS / (float64(th) * peak))
			}
			em.emit(rec)
			if !*js {
				fmt.Printf("%-9s %-16s %6d %3d %10.3f %8.1f %6.1f%% %10.0f %9s\n", rec.Impl, dimsLabel(dims), n, th,
					rec.Seconds, rec.GFLOPS, 100*rec.PeakFraction, float64(rec.PeakBytes)/(1<<20), "")
			}
			if script == "" || *cpuProfile != "" || n > *torchMaxN || !slices.Contains(tThreads, th) {
				continue
			}
			cmd := exec.Command(pythonPath, script, "--dims", strings.ReplaceAll(dimsLabel(dims), "-", ","),
				"--n", strconv.Itoa(n), "--threads", strconv.Itoa(th), "--dtype", *dtype, "--reps", strconv.Itoa(*torchReps),
				"--chunk", strconv.Itoa(*torchChunk))
			if *torchSym {
				cmd.Args = append(cmd.Args, "--symmetric")
			}
			var tr ntkRecord
			if err := runTorch(cmd, th, &tr); err != nil {
				fmt.Fprintln(os.Stderr, "bench ntk: functorch failed:", err)
				continue
			}
			em.emit(tr)
			if !*js {
				fmt.Printf("%-9s %-16s %6d %3d %10.3f %8.1f %7s %10.0f %8.0fx\n", tr.Impl, dimsLabel(dims), n, th,
					tr.Seconds, tr.GFLOPS, "-", float64(tr.PeakBytes)/(1<<20), tr.Seconds/rec.Seconds)
			}
		}
	}
	return nil
}

// startCPUProfile starts writing a CPU profile to path ("": none) and
// returns the function that stops it and closes the file.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// ntkInputs returns n MNIST test images from dir as [n, d] rows scaled to
// [0, 1], or uniform random pixels (the cost does not depend on the
// values) when the files are absent, n exceeds the test set or d != 784.
func ntkInputs[T tensor.Float](dir string, n, d int) (*tensor.Tensor[T], string) {
	if d == 784 {
		if _, test, err := data.MNIST[T](dir); err == nil && test.X.Dim(0) >= n {
			return test.X.Rows(0, n).Clone(), "MNIST test images"
		}
	}
	return tensor.RandU[T](rand.New(rand.NewPCG(1, 1)), 0, 1, n, d), "random pixels"
}

// measureNTK times ntk.Empirical of a fresh MLP on n inputs with
// themselves: reps repetitions (after one untimed warm-up when n <= 2048),
// the median reported.
func measureNTK[T tensor.Float](dims []int, n, reps int, budget int64, dir string) (ntkRecord, error) {
	m, err := nn.NewMLP[T](nn.MLPConfig{Dims: dims, Parameterization: nn.NTK, BStd: 0.1}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		return ntkRecord{}, err
	}
	x, src := ntkInputs[T](dir, n, dims[0])
	opts := ntk.Options{Method: ntk.Structured, MemoryBudget: budget}
	flops, err := ntk.StructuredFlops(m, n, n, true, opts)
	if err != nil {
		return ntkRecord{}, err
	}
	run := func() error {
		_, err := ntk.Empirical(m, x, nil, opts)
		return err
	}
	if n <= 2048 {
		if err := run(); err != nil { // GEMM scratch, page faults of the first use
			return ntkRecord{}, err
		}
	}
	secs, cpus := make([]float64, reps), make([]float64, reps)
	var peakBytes int64
	for r := range secs {
		resetPeakRSS()
		c0, t0 := cpuSeconds(), time.Now()
		if err := run(); err != nil {
			return ntkRecord{}, err
		}
		secs[r], cpus[r] = time.Since(t0).Seconds(), cpuSeconds()-c0
		peakBytes = max(peakBytes, peakRSS())
	}
	sec := median(secs)
	dt := "float64"
	if _, ok := any(T(0)).(float32); ok {
		dt = "float32"
	}
	return ntkRecord{Suite: "ntk", Impl: "gradflow", Dims: dims, N: n, Seconds: round4(sec), GFLOPS: round2(float64(flops) / sec / 1e9),
		PeakBytes: peakBytes, DType: dt, Flops: float64(flops), SIMD: simd.Tier(), Reps: roundAll4(secs), CPUSeconds: round4(median(cpus)), Inputs: src}, nil
}

// cpuSeconds returns the user and system CPU time of this process.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// resetPeakRSS returns the Go heap's free pages to the system and resets
// the kernel's peak resident set (VmHWM) of this process to its current
// resident set (Linux >= 4.0; a no-op elsewhere, where the peak is that of
// the whole run).
func resetPeakRSS() {
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSS returns VmHWM of /proc/self/status in bytes, or the Go runtime's
// memory obtained from the system (runtime.MemStats.Sys) where /proc is
// absent.
func peakRSS() int64 {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
				f := strings.Fields(v) // "123456 kB"
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil && len(f) == 2 && f[1] == "kB" {
					return kb << 10
				}
			}
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.Sys)
}

func round4(x float64) float64 { return float64(int64(x*1e4+0.5)) / 1e4 }

func roundAll4(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = round4(x)
	}
	return out
}
