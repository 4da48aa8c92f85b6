package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/gradflow/gradflow/internal/simd"
)

type gemmRecord struct {
	Suite   string  `json:"suite"`
	Impl    string  `json:"impl"`
	SIMD    string  `json:"simd"`
	DType   string  `json:"dtype"`
	Threads int     `json:"threads"`
	M       int     `json:"m"`
	N       int     `json:"n"`
	K       int     `json:"k"`
	TransA  bool    `json:"trans_a,omitempty"`
	TransB  bool    `json:"trans_b,omitempty"`
	Label   string  `json:"label,omitempty"`
	GFLOPS  float64 `json:"gflops"`
	// Default marks the rows of the tier the dispatcher chooses at start-up
	// (simd.StartupChoice: microarchitecture table, features or GRADFLOW_SIMD).
	Default bool `json:"default,omitempty"`
}

type gemmShape struct {
	label          string
	m, n, k        int
	transA, transB bool
	split          simd.Split
}

// mlpShapes are the products of one training step of an MLP with batch 128:
// forward X W^T, input gradient dY W and weight gradient dY^T X, for the
// layers 784->512, 512->512 and 512->10, each divided among the cores as
// autograd.Linear divides it (pinned to the rows of W).
func mlpShapes() []gemmShape {
	var s []gemmShape
	for _, l := range [][2]int{{784, 512}, {512, 512}, {512, 10}} {
		in, out := l[0], l[1]
		s = append(s,
			gemmShape{fmt.Sprintf("fwd 128x%dx%d X*W^T", in, out), 128, out, in, false, true, simd.SplitCols},
			gemmShape{fmt.Sprintf("dX  128x%dx%d dY*W", in, out), 128, in, out, false, false, simd.SplitK},
			gemmShape{fmt.Sprintf("dW  128x%dx%d dY^T*X", in, out), out, in, 128, true, false, simd.SplitRows},
		)
	}
	return s
}

func runGemm(args []string) error {
	fs := newFlagSet("gemm")
	js := fs.Bool("json", false, "print one JSON object per line instead of a table")
	sizesFlag := fs.String("sizes", "64,128,256,512,1024,2048", "square sizes n for n x n x n products")
	threadsFlag := fs.String("threads", fmt.Sprintf("1,%d", runtime.NumCPU()), "thread counts (GOMAXPROCS) to run")
	mlp := fs.Bool("mlp", true, "also run the MLP training-step shapes (batch 128)")
	dtypes := fs.String("dtypes", "float32,float64", "element types")
	gonumOn := fs.Bool("gonum", true, "also run gonum's pure-Go GEMM")
	minTime := fs.Duration("mintime", 200*time.Millisecond, "minimum time per measurement (best of 3 is reported)")
	torchOn := fs.Bool("torch", true, "also run OpenBLAS (through torch.mm, bench/gemm_torch.py) on the square sizes when "+pythonPath+" has torch")
	torchFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: go run ./bench gemm [flags]\n\nexample: go run ./bench gemm -json -sizes 1024\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	sizes, err := parseInts("sizes", *sizesFlag)
	if err != nil {
		return err
	}
	threads, err := parseInts("threads", *threadsFlag)
	if err != nil {
		return err
	}
	var shapes []gemmShape
	for _, n := range sizes {
		shapes = append(shapes, gemmShape{label: fmt.Sprintf("square %d", n), m: n, n: n, k: n})
	}
	if *mlp {
		shapes = append(shapes, mlpShapes()...)
	}
	dts, err := parseDTypes(*dtypes)
	if err != nil {
		return err
	}
	em := newEmitter(*js)
	header(*js)
	// openblas[dtype][threads][n] is OpenBLAS's GFLOPS for the square
	// sizes, measured first, one process per thread count.
	openblas := map[string]map[int]map[int]float64{}
	if *torchOn {
		script, err := findTorch("gemm_torch.py")
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench gemm: skipping OpenBLAS: %v\n", err)
		} else {
			for _, th := range threads {
				recs, err := runTorchGemm(script, sizes, dts, th, *minTime)
				if err != nil {
					return fmt.Errorf("OpenBLAS through PyTorch: %v", err)
				}
				for _, r := range recs {
					if openblas[r.DType] == nil {
						openblas[r.DType] = map[int]map[int]float64{}
					}
					if openblas[r.DType][r.Threads] == nil {
						openblas[r.DType][r.Threads] = map[int]float64{}
					}
					openblas[r.DType][r.Threads][r.M] = r.GFLOPS
				}
			}
		}
	}
	tiers := simd.Tiers()
	defTier := simd.DefaultTier()
	if !*js {
		fmt.Printf("%-26s %-7s %3s", "shape", "dtype", "thr")
		for _, t := range tiers {
			if t == defTier {
				t += "*"
			}
			fmt.Printf(" %9s", t)
		}
		if *gonumOn {
			fmt.Printf(" %9s %8s", "gonum", "best/gn")
		}
		if len(openblas) > 0 {
			fmt.Printf(" %9s %8s", "openblas", "def/ob")
		}
		fmt.Println("   (GFLOPS; * the default tier)")
	}
	prevProcs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prevProcs)
	for _, sh := range shapes {
		for _, dt := range dts {
			for _, th := range threads {
				runtime.GOMAXPROCS(th)
				if !*js {
					fmt.Printf("%-26s %-7s %3d", sh.label, dt, th)
				}
				best, def := 0.0, 0.0
				for _, t := range tiers {
					restore, err := simd.SetTier(t)
					if err != nil {
						return err
					}
					g := measureGemm(dt, sh, false, *minTime)
					restore()
					best = max(best, g)
					if t == defTier {
						def = g
					}
					em.emit(gemmRecord{"gemm", "gradflow", t, dt, th, sh.m, sh.n, sh.k, sh.transA, sh.transB, sh.label, round2(g), t == defTier})
					if !*js {
						fmt.Printf(" %9.1f", g)
					}
				}
				if *gonumOn {
					g := measureGemm(dt, sh, true, *minTime)
					em.emit(gemmRecord{"gemm", "gonum", "", dt, th, sh.m, sh.n, sh.k, sh.transA, sh.transB, sh.label, round2(g), false})
					if !*js {
						fmt.Printf(" %9.1f %7.1fx", g, best/g)
					}
				}
				if ob, ok := openblas[dt][th][sh.m]; ok && strings.HasPrefix(sh.label, "square ") {
					em.emit(gemmRecord{"gemm", "openblas", "", dt, th, sh.m, sh.n, sh.k, false, false, sh.label, ob, false})
					if !*js {
						fmt.Printf(" %9.1f %7.2fx", ob, def/ob)
					}
				}
				if !*js {
					fmt.Println()
				}
			}
		}
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func round2(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }

// measureGemm returns the best GFLOPS of three timed repetitions, each
// running the product until minTime has passed.
func measureGemm(dtype string, sh gemmShape, useGonum bool, minTime time.Duration) float64 {
	rng := rand.New(rand.NewPCG(1, 1))
	m, n, k := sh.m, sh.n, sh.k
	a64 := randSlice(rng, m*k)
	b64 := randSlice(rng, k*n)
	c64 := make([]float64, m*n)
	lda, ldb := k, n
	if sh.transA {
		lda = m
	}
	if sh.transB {
		ldb = k
	}
	tA, tB := blas.NoTrans, blas.NoTrans
	if sh.transA {
		tA = blas.Trans
	}
	if sh.transB {
		tB = blas.Trans
	}
	var run func()
	switch {
	case dtype == "float64" && useGonum:
		impl := gonum.Implementation{}
		run = func() { impl.Dgemm(tA, tB, m, n, k, 1, a64, lda, b64, ldb, 0, c64, n) }
	case dtype == "float64":
		run = func() {
			simd.Gemm(sh.transA, sh.transB, m, n, k, 1, a64, lda, b64, ldb, 0, c64, n, simd.Epilogue[float64]{Split: sh.split})
		}
	default:
		a32, b32, c32 := to32(a64), to32(b64), make([]float32, m*n)
		if useGonum {
			impl := gonum.Implementation{}
			run = func() { impl.Sgemm(tA, tB, m, n, k, 1, a32, lda, b32, ldb, 0, c32, n) }
		} else {
			run = func() {
				simd.Gemm(sh.transA, sh.transB, m, n, k, 1, a32, lda, b32, ldb, 0, c32, n, simd.Epilogue[float32]{Split: sh.split})
			}
		}
	}
	flops := 2 * float64(m) * float64(n) * float64(k)
	run() // warm caches and grow scratch buffers
	best := 0.0
	for rep := 0; rep < 3; rep++ {
		iters := 0
		start := time.Now()
		for time.Since(start) < minTime || iters == 0 {
			run()
			iters++
		}
		g := flops * float64(iters) / time.Since(start).Seconds() / 1e9
		best = max(best, g)
	}
	return best
}

func randSlice(rng *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = rng.Float64()*2 - 1
	}
	return s
}

func to32(s []float64) []float32 {
	out := make([]float32, len(s))
	for i, v := range s {
		out[i] = float32(v)
	}
	return out
}

// runTorchGemm runs bench/gemm_torch.py at one thread count and returns its
// records.
func runTorchGemm(script string, sizes []int, dtypes []string, threads int, minTime time.Duration) ([]gemmRecord, error) {
	var ns []string
	for _, n := range sizes {
		ns = append(ns, strconv.Itoa(n))
	}
	cmd := exec.Command(pythonPath, script, "--sizes", strings.Join(ns, ","), "--dtypes", strings.Join(dtypes, ","),
		"--threads", strconv.Itoa(threads), "--min-time", strconv.FormatFloat(minTime.Seconds(), 'g', -1, 64))
	out, err := torchOutput(cmd, threads)
	if err != nil {
		return nil, err
	}
	var recs []gemmRecord
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "{") {
			var r gemmRecord
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				return nil, fmt.Errorf("decoding %q: %v", l, err)
			}
			recs = append(recs, r)
		}
	}
	return recs, nil
}
