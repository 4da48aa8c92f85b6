package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// mlpRecord is one line of `bench mlp -json`.
type mlpRecord struct {
	Suite         string  `json:"suite"`
	Impl          string  `json:"impl"`
	DType         string  `json:"dtype"`
	Threads       int     `json:"threads"`
	Dims          []int   `json:"dims"`
	Batch         int     `json:"batch"`
	SamplesPerSec float64 `json:"samples_per_sec"`
	// AllocsPerStep is gradflow's heap allocations per step in steady
	// state; absent for PyTorch.
	AllocsPerStep *float64 `json:"allocs_per_step,omitempty"`
	// Reps are the samples/s of every repetition (the median is reported).
	Reps []float64 `json:"reps,omitempty"`
	// Torch and BLAS identify the PyTorch build (PyTorch lines only).
	Torch string `json:"torch,omitempty"`
	BLAS  string `json:"blas,omitempty"`
	// FlushDenormal: PyTorch ran with torch.set_flush_denormal(True).
	FlushDenormal bool `json:"flush_denormal,omitempty"`
	// Alloc is the memory allocator PyTorch ran with (see -torch-alloc).
	Alloc string `json:"alloc,omitempty"`
	// Round numbers the rounds of -rounds (1, 2, ...).
	Round int `json:"round,omitempty"`
}

// mlpCase is one model shape and batch size of the suite.
type mlpCase struct {
	dims  []int
	batch int
}

// The shapes of issue 10: the MNIST-sized MLP, where GEMM dominates, and a
// small one, where per-op framework overhead does.
var mlpCases = []mlpCase{
	{[]int{784, 512, 512, 10}, 128},
	{[]int{64, 128, 10}, 32},
}

// pythonPath is the interpreter whose torch the suite compares against.
const pythonPath = "/usr/bin/python3"

func runMLP(args []string) error {
	fs := newFlagSet("mlp")
	js := fs.Bool("json", false, "print one JSON object per line instead of a table")
	threadsFlag := fs.String("threads", "1,2", "thread counts (GOMAXPROCS; torch.set_num_threads and OPENBLAS_NUM_THREADS)")
	dtypes := fs.String("dtypes", "float32,float64", "element types")
	reps := fs.Int("reps", 5, "repetitions per measurement; the median is reported")
	rounds := fs.Int("rounds", 3, "rounds of (gradflow, PyTorch) measurements per shape; ratios are taken within a round and the median is reported")
	minTime := fs.Duration("mintime", 400*time.Millisecond, "minimum time per repetition")
	torchOn := fs.Bool("torch", true, "also run bench/mlp_torch.py when "+pythonPath+" has torch (not with -cpuprofile)")
	torchFlags(fs)
	only := fs.String("cases", "", "restrict to these shapes, e.g. 64-128-10 (default: all)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the gradflow measurements to this file")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: go run ./bench mlp [flags]

Training-step throughput (samples/s) of MLPs: forward, softmax cross-entropy,
backward and an SGD step with momentum 0.9 on one fixed random batch, against
the same step in PyTorch (bench/mlp_torch.py) when it is installed. Ratios
are gradflow/PyTorch at the same thread count, and against PyTorch's best
thread count, formed within each of -rounds rounds (the medians are
printed, then the per-round ratios).

flags:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	threads, err := parseInts("threads", *threadsFlag)
	if err != nil {
		return err
	}
	if *reps < 1 {
		return fmt.Errorf("-reps: %d is not positive", *reps)
	}
	if *rounds < 1 {
		return fmt.Errorf("-rounds: %d is not positive", *rounds)
	}
	dts, err := parseDTypes(*dtypes)
	if err != nil {
		return err
	}
	cases := mlpCases
	if *only != "" {
		cases = nil
		for _, c := range mlpCases {
			if slices.Contains(splitList(*only), dimsLabel(c.dims)) {
				cases = append(cases, c)
			}
		}
		if len(cases) == 0 {
			return fmt.Errorf("-cases: %q matches none of the shapes", *only)
		}
	}
	torchScript := ""
	if *torchOn {
		torchScript, err = findTorch("mlp_torch.py")
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench mlp: skipping PyTorch:", err)
		}
	}

	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}

	em := newEmitter(*js)
	header(*js)
	if torchScript != "" && !*js {
		fmt.Printf("# PyTorch: allocator %s, flush denormals %v (-torch-alloc, -torch-flush-denormal)\n", torchAlloc, torchFTZ)
	}
	if !*js {
		fmt.Printf("%-16s %5s %-7s %3s %12s %12s %7s %9s %8s\n",
			"dims", "batch", "dtype", "thr", "gradflow", "pytorch", "ratio", "vs best", "allocs")
	}
	prevProcs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prevProcs)
	for _, c := range cases {
		for _, dt := range dts {
			// Each round measures every thread count, gradflow then
			// PyTorch; ratios are formed within a round (the host's speed
			// drifts by +-25% over minutes, which would otherwise land on
			// one side of a ratio) and the medians over rounds reported.
			type cell struct{ gf, pt, ratio, vsBest, allocs []float64 }
			cells := make([]cell, len(threads))
			for rd := 0; rd < *rounds; rd++ {
				gfs, pts := make([]float64, len(threads)), make([]float64, len(threads))
				for ti, th := range threads {
					runtime.GOMAXPROCS(th)
					var gf, allocs float64
					var gfReps []float64
					if dt == "float32" {
						gf, gfReps, allocs = measureMLP[float32](c, *reps, *minTime)
					} else {
						gf, gfReps, allocs = measureMLP[float64](c, *reps, *minTime)
					}
					em.emit(mlpRecord{Suite: "mlp", Impl: "gradflow", DType: dt, Threads: th, Dims: c.dims, Batch: c.batch,
						SamplesPerSec: round2(gf), AllocsPerStep: &allocs, Reps: roundAll(gfReps), Round: rd + 1})
					gfs[ti] = gf
					cells[ti].gf = append(cells[ti].gf, gf)
					cells[ti].allocs = append(cells[ti].allocs, allocs)
					if torchScript == "" || *cpuProfile != "" {
						continue
					}
					rec, err := runTorchMLP(torchScript, c, dt, th, *reps, *minTime)
					if err != nil {
						fmt.Fprintln(os.Stderr, "bench mlp: PyTorch failed:", err)
						continue
					}
					rec.Round = rd + 1
					em.emit(rec)
					pts[ti] = rec.SamplesPerSec
					cells[ti].pt = append(cells[ti].pt, rec.SamplesPerSec)
					if !strings.Contains(rec.BLAS, "openblas") {
						fmt.Fprintf(os.Stderr, "bench mlp: warning: PyTorch uses BLAS %q, not OpenBLAS: its numbers are not its best (install libopenblas0-pthread)\n", rec.BLAS)
					}
				}
				best := slices.Max(pts) // PyTorch's best thread count in this round
				for ti := range threads {
					if pts[ti] > 0 {
						cells[ti].ratio = append(cells[ti].ratio, gfs[ti]/pts[ti])
						cells[ti].vsBest = append(cells[ti].vsBest, gfs[ti]/best)
					}
				}
			}
			if *js {
				continue
			}
			for ti, th := range threads {
				cl := cells[ti]
				ptS, ratio, vsBest := "-", "-", "-"
				if len(cl.pt) > 0 {
					ptS = fmt.Sprintf("%.0f", median(cl.pt))
					ratio = fmt.Sprintf("%.2fx", median(cl.ratio))
					vsBest = fmt.Sprintf("%.2fx", median(cl.vsBest))
				}
				fmt.Printf("%-16s %5d %-7s %3d %12.0f %12s %7s %9s %8.1f\n",
					dimsLabel(c.dims), c.batch, dt, th, median(cl.gf), ptS, ratio, vsBest, slices.Max(cl.allocs))
				if *rounds > 1 && len(cl.ratio) > 1 {
					fmt.Printf("%-16s %5s %-7s %3s %12s %12s %7s %9s   rounds: %s\n", "", "", "", "", "", "", "", "", fmtRatios(cl.ratio, cl.vsBest))
				}
			}
		}
	}
	return nil
}

// fmtRatios lists the per-round ratios, "ratio/vs best" for each round.
func fmtRatios(ratio, vsBest []float64) string {
	parts := make([]string, len(ratio))
	for i := range ratio {
		parts[i] = fmt.Sprintf("%.2f/%.2f", ratio[i], vsBest[i])
	}
	return strings.Join(parts, " ")
}

func dimsLabel(dims []int) string {
	s := make([]string, len(dims))
	for i, d := range dims {
		s[i] = strconv.Itoa(d)
	}
	return strings.Join(s, "-")
}

func roundAll(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = round2(x)
	}
	return out
}

// mlpStep is the training step gradflow users run (train.Stepper, as inside
// train.Trainer: forward, cross-entropy, divergence guard, backward,
// gradient norm, SGD with momentum) on a fixed batch.
type mlpStep[T tensor.Float] struct {
	st    *train.Stepper[T]
	batch *data.Batch[T]
}

func newMLPStep[T tensor.Float](c mlpCase, seed uint64) *mlpStep[T] {
	rng := rand.New(rand.NewPCG(seed, 1))
	m, err := nn.NewMLP[T](nn.MLPConfig{Dims: c.dims, Init: nn.InitTorch}, rng)
	if err != nil {
		panic(err) // the shapes are constants of this file
	}
	opt, err := optim.NewSGD(m.Params(), optim.SGDConfig{LR: 0.01, Momentum: 0.9})
	if err != nil {
		panic(err)
	}
	labels := make([]int32, c.batch)
	for i := range labels {
		labels[i] = int32(rng.IntN(c.dims[len(c.dims)-1]))
	}
	st, err := train.NewStepper(train.StepConfig[T]{Model: m, Loss: &train.CrossEntropy[T]{}, Optimizer: opt})
	if err != nil {
		panic(err)
	}
	ds := &data.Dataset[T]{X: tensor.RandN(rng, T(0), T(1), c.batch, c.dims[0]), Labels: labels, NumClasses: c.dims[len(c.dims)-1]}
	return &mlpStep[T]{st: st, batch: train.FullBatch(ds)}
}

func (s *mlpStep[T]) step() float64 {
	r, err := s.st.Step(s.batch)
	if err != nil {
		panic(err) // a fixed batch at lr 0.01 does not diverge
	}
	return r.Loss
}

// measureMLP returns the median samples/s over reps repetitions of at
// least minTime each, every repetition's rate, and the heap allocations
// per step in steady state.
func measureMLP[T tensor.Float](c mlpCase, reps int, minTime time.Duration) (float64, []float64, float64) {
	s := newMLPStep[T](c, 1)
	return measureStep(func() { s.step() }, c.batch, reps, minTime)
}

// measureStep times step, which trains on batch examples: it returns the
// median samples/s over reps repetitions of at least minTime each, every
// repetition's rate, and the heap allocations per step in steady state.
func measureStep(step func(), batch, reps int, minTime time.Duration) (float64, []float64, float64) {
	// Warm up: the tape's arena, momentum buffers, and the GEMM scratch of
	// every worker (which grows the first time a worker takes over a piece
	// of a product of a new shape from another).
	for i, t0 := 0, time.Now(); i < 50 || time.Since(t0) < minTime/2; i++ {
		step()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.Mallocs
	const allocSteps = 100
	for i := 0; i < allocSteps; i++ {
		step()
	}
	runtime.ReadMemStats(&ms)
	allocs := float64(ms.Mallocs-before) / allocSteps

	rates := make([]float64, reps)
	for r := range rates {
		n := 0
		t0 := time.Now()
		var dt time.Duration
		for {
			step()
			n++
			if dt = time.Since(t0); dt >= minTime {
				break
			}
		}
		rates[r] = float64(n*batch) / dt.Seconds()
	}
	return median(rates), rates, allocs
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// findTorch returns the path of the named script in bench/ if pythonPath
// can import torch, or an error saying why PyTorch is skipped.
func findTorch(script string) (string, error) {
	if _, err := os.Stat(pythonPath); err != nil {
		return "", fmt.Errorf("%s not found", pythonPath)
	}
	env, err := torchBaseEnv(1)
	if err != nil {
		return "", err
	}
	cmd := exec.Command(pythonPath, "-c", "import torch")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s cannot import torch (apt-get install -y python3-torch): %s", pythonPath, lastLine(out))
	}
	for _, dir := range []string{"bench", "."} {
		p := filepath.Join(dir, script)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("bench/%s not found (run from the repository root)", script)
}

// torchFTZ makes the PyTorch scripts flush denormals to zero (the
// -torch-flush-denormal flag of bench mlp and bench mnist). Off by default:
// with the allocator configured (see torchAlloc) it changes nothing
// measurable (40.7k against 41.3k samples/s for 784-512-512-10 on one core),
// and with glibc's default allocator PyTorch ran at about 22k with it
// against 17-45k without.
var torchFTZ = false

// torchAlloc selects the memory allocator of the PyTorch runs (the
// -torch-alloc flag):
//
//   - "glibc" (default): glibc malloc with MALLOC_MMAP_THRESHOLD_=32 MiB and
//     MALLOC_TRIM_THRESHOLD_=64 MiB. PyTorch's CPU allocator takes every
//     tensor from malloc and gives it back after use; a 128x512 float32
//     activation is 256 KiB, above glibc's initial 128 KiB threshold for
//     serving a block with its own mmap, so with plain glibc each step maps
//     fresh pages and faults them in. glibc raises that threshold by itself
//     once a larger mmapped block is freed, which a data-loading script
//     usually does early on and a benchmark on a fixed random batch may not:
//     the same step then runs at 17k or 45k samples/s from one process to
//     the next. Fixing the thresholds gives the fast case every time
//     (39-43k), the ~40k the issue quotes.
//   - "plain": glibc untouched, what a script that does no large
//     allocations first meets.
//   - "tcmalloc" or "jemalloc": the allocator preloaded with LD_PRELOAD, the
//     tuning PyTorch's CPU performance guides recommend (Debian packages
//     libtcmalloc-minimal4 and libjemalloc2); tcmalloc measured 44.6k.
var torchAlloc = "glibc"

// allocLibs are the libraries -torch-alloc preloads.
var allocLibs = map[string]string{
	"tcmalloc": "libtcmalloc_minimal.so.4",
	"jemalloc": "libjemalloc.so.2",
}

// torchFlags registers the flags that configure the PyTorch side.
func torchFlags(fs *flag.FlagSet) {
	fs.BoolVar(&torchFTZ, "torch-flush-denormal", torchFTZ, "run PyTorch with torch.set_flush_denormal(True)")
	fs.StringVar(&torchAlloc, "torch-alloc", torchAlloc, "PyTorch's allocator: glibc (large-block thresholds raised), plain, tcmalloc or jemalloc")
	fs.StringVar(&torchCore, "torch-core", torchCore, "OpenBLAS core type of the PyTorch runs: best (measure auto and the one the CPU's features call for, keep the faster), auto (OpenBLAS's detection) or an OPENBLAS_CORETYPE value")
}

// torchEnv is the environment of a PyTorch run with the given thread
// count: torchBaseEnv's, with the OpenBLAS core type of -torch-core (see
// torchCore).
func torchEnv(threads int) ([]string, error) {
	env, err := torchBaseEnv(threads)
	if err != nil {
		return nil, err
	}
	core, err := resolveTorchCore()
	if err != nil {
		return nil, err
	}
	if core != "" {
		env = append(env, "OPENBLAS_CORETYPE="+core)
	}
	return env, nil
}

// torchBaseEnv is the environment of a PyTorch run with the given thread
// count: OPENBLAS_NUM_THREADS set, and OPENBLAS_CORETYPE and
// OPENBLAS_L2_SIZE removed so that OpenBLAS picks its blocking from the CPU
// (a forced older core type is several times slower); and the allocator of
// torchAlloc.
func torchBaseEnv(threads int) ([]string, error) {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
			"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "LD_PRELOAD":
			continue
		}
		env = append(env, kv)
	}
	t := strconv.Itoa(threads)
	env = append(env, "OPENBLAS_NUM_THREADS="+t, "OMP_NUM_THREADS="+t)
	switch torchAlloc {
	case "plain":
	case "glibc":
		env = append(env, "MALLOC_MMAP_THRESHOLD_=33554432", "MALLOC_TRIM_THRESHOLD_=67108864")
	case "tcmalloc", "jemalloc":
		lib, err := findLib(allocLibs[torchAlloc])
		if err != nil {
			return nil, fmt.Errorf("-torch-alloc %s: %v (apt-get install -y libtcmalloc-minimal4 libjemalloc2)", torchAlloc, err)
		}
		env = append(env, "LD_PRELOAD="+lib)
	default:
		return nil, fmt.Errorf("-torch-alloc %q: want glibc, plain, tcmalloc or jemalloc", torchAlloc)
	}
	return env, nil
}

// findLib returns the path of a shared library in the usual Debian
// directories.
func findLib(name string) (string, error) {
	for _, dir := range []string{"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/usr/local/lib"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

func runTorchMLP(script string, c mlpCase, dtype string, threads, reps int, minTime time.Duration) (mlpRecord, error) {
	dims := make([]string, len(c.dims))
	for i, d := range c.dims {
		dims[i] = strconv.Itoa(d)
	}
	cmd := exec.Command(pythonPath, script, "--dims", strings.Join(dims, ","), "--batch", strconv.Itoa(c.batch),
		"--threads", strconv.Itoa(threads), "--dtype", dtype, "--reps", strconv.Itoa(reps),
		"--min-time", strconv.FormatFloat(minTime.Seconds(), 'g', -1, 64))
	var r mlpRecord
	err := runTorch(cmd, threads, &r)
	r.Alloc = torchAlloc
	return r, err
}

// runTorch runs a PyTorch script in the configuration of torchEnv (and
// torchFTZ) and decodes the last JSON line it printed into v.
func runTorch(cmd *exec.Cmd, threads int, v any) error {
	if torchFTZ {
		cmd.Args = append(cmd.Args, "--flush-denormal")
	}
	out, err := torchOutput(cmd, threads)
	if err != nil {
		return err
	}
	return decodeLastJSON(out, v)
}

// torchOutput runs a PyTorch command in the environment of torchEnv and
// returns its standard output; an error carries the last line of its
// standard error (a Python traceback's message).
func torchOutput(cmd *exec.Cmd, threads int) ([]byte, error) {
	env, err := torchEnv(threads)
	if err != nil {
		return nil, err
	}
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, lastLine(stderr.Bytes()))
	}
	return out, nil
}

// decodeLastJSON decodes into v the last line of out that starts with '{'.
func decodeLastJSON(out []byte, v any) error {
	var last []byte
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 && l[0] == '{' {
			last = slices.Clone(l)
		}
	}
	if last == nil {
		return errors.New("no JSON line in the script's output")
	}
	if err := json.Unmarshal(last, v); err != nil {
		return fmt.Errorf("decoding %q: %v", last, err)
	}
	return nil
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:] // a Python traceback ends with the error itself
	}
	return s
}
