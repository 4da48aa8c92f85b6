package ntk

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
)

var (
	convMNISTOnce sync.Once
	convMNIST     *mat.Dense
	convMNISTSrc  string
)

// convMNISTImages returns the first 1000 MNIST training images [1000, 784]
// (pixels in [0, 1]) from $GRADFLOW_MNIST or ../../shared/datasets/mnist,
// or uniform random pixels when the files are absent (the cost of the
// kernels does not depend on the pixel values).
func convMNISTImages(tb testing.TB) *mat.Dense {
	convMNISTOnce.Do(func() {
		dir := os.Getenv("GRADFLOW_MNIST")
		if dir == "" {
			dir = filepath.Join("..", "..", "shared", "datasets", "mnist")
		}
		if train, _, err := data.MNIST[float64](dir); err == nil {
			// Copy the 1000 rows so that the 60000 images can be freed
			// before the measurement of the peak memory.
			convMNIST = mat.NewDense(1000, 784, append([]float64(nil), train.X.Data()[:1000*784]...))
			convMNISTSrc = "MNIST " + dir
			return
		}
		rng := rand.New(rand.NewPCG(1, 1))
		convMNIST = mat.NewDense(1000, 784, nil)
		for i := range convMNIST.RawMatrix().Data {
			convMNIST.RawMatrix().Data[i] = rng.Float64()
		}
		convMNISTSrc = "random pixels (MNIST files not found)"
	})
	tb.Log("inputs:", convMNISTSrc)
	return convMNIST
}

// downsample returns 28x28 images averaged over f x f blocks of the
// central (28/f*f)^2 crop: f = 2 gives 14x14, f = 3 gives 8x8.
func downsample(x *mat.Dense, f int) (*mat.Dense, int) {
	n, _ := x.Dims()
	s := 28 / f
	off := (28 - s*f) / 2
	out := mat.NewDense(n, s*s, nil)
	for i := 0; i < n; i++ {
		row := x.RawRowView(i)
		for a := 0; a < s; a++ {
			for b := 0; b < s; b++ {
				var v float64
				for u := 0; u < f; u++ {
					for w := 0; w < f; w++ {
						v += row[(off+a*f+u)*28+off+b*f+w]
					}
				}
				out.Set(i, a*s+b, v/float64(f*f))
			}
		}
	}
	return out, s
}

// convBenchArch is a CNN-GP / CNTK of two 3x3 SAME convolutions with ReLU
// (W_std^2 = 2, b_std = 0.1) and the given readout, then Dense.
func convBenchArch(readout ConvLayer) ConvArch {
	return ConvArch{Layers: []ConvLayer{
		Conv(3, Same, 1.4142135623730951, 0.1), Act(nn.ReLU),
		Conv(3, Same, 1.4142135623730951, 0.1), Act(nn.ReLU),
		readout, Dense(1, 0),
	}}
}

// BenchmarkConvMNIST times the Gram matrices (NNGP and NTK) of n MNIST
// images: 28x28 with a Flatten readout (same-pixel states, O(H W filter)
// per pair and layer) and downsampled with a GlobalAvgPool readout
// (all pixel pairs, O(H^2 W^2 (fh + fw)) per pair and layer). n is
// CONVBENCH_N (default 100: 5050 pairs; 1000 is 500500 pairs, about 100
// times as long). Besides the time it reports the CPU time (on a machine
// shared with other work the two differ), the peak resident memory of the
// computation (VmHWM after loading the data, Linux only) and GOMAXPROCS,
// which sets the threads; set it in the environment (with go1.26.8 the
// -cpu flag did not reach the sub-benchmarks):
//
//	GOMAXPROCS=1 go test ./ntk -run '^$' -bench ConvMNIST -benchtime 1x
//	GOMAXPROCS=2 CONVBENCH_N=1000 go test ./ntk -run '^$' -bench ConvMNIST/flatten28 -benchtime 1x
func BenchmarkConvMNIST(b *testing.B) {
	x := convMNISTImages(b)
	n := 100
	if s := os.Getenv("CONVBENCH_N"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 || n > 1000 {
			b.Fatalf("CONVBENCH_N=%q: want 1..1000", s)
		}
	}
	x8, s8 := downsample(x, 3)
	x14, s14 := downsample(x, 2)
	for _, c := range []struct {
		name  string
		x     *mat.Dense
		shape [3]int
		arch  ConvArch
	}{
		{"flatten28", x, [3]int{1, 28, 28}, convBenchArch(Flatten())},
		{"gap8", x8, [3]int{1, s8, s8}, convBenchArch(GlobalAvgPool())},
		{"gap14", x14, [3]int{1, s14, s14}, convBenchArch(GlobalAvgPool())},
	} {
		b.Run(fmt.Sprintf("%s/n=%d", c.name, n), func(b *testing.B) {
			if c.name == "gap14" && n > 100 && os.Getenv("CONVBENCH_GAP14") == "" {
				b.Skip("gap14 at n > 100 takes hours on two cores; set CONVBENCH_GAP14=1 to run it")
			}
			xs := c.x.Slice(0, n, 0, c.shape[1]*c.shape[2])
			runtime.GC()
			debug.FreeOSMemory()
			resetPeakRSS()
			b.ReportAllocs()
			cpu0 := cpuSeconds()
			for b.Loop() {
				if _, err := c.arch.Gram(xs, c.shape); err != nil {
					b.Fatal(err)
				}
			}
			cpu := cpuSeconds() - cpu0
			pairs := float64(n*(n+1)) / 2
			b.ReportMetric(cpu/float64(b.N), "cpu-s/op")
			b.ReportMetric(peakRSS()/(1<<20), "peak-RSS-MB")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/pairs, "ns/pair")
			b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "threads")
		})
	}
}
