package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// cnnRecord is one line of `bench cnn -json` (issue 19's interface:
// suite, impl, model, dtype, threads, batch, samples_per_sec,
// allocs_per_step).
type cnnRecord struct {
	Suite         string  `json:"suite"`
	Impl          string  `json:"impl"`
	Model         string  `json:"model"`
	DType         string  `json:"dtype"`
	Threads       int     `json:"threads"`
	Batch         int     `json:"batch"`
	SamplesPerSec float64 `json:"samples_per_sec"`
	// AllocsPerStep is gradflow's heap allocations per step in steady
	// state; absent for PyTorch.
	AllocsPerStep *float64  `json:"allocs_per_step,omitempty"`
	Reps          []float64 `json:"reps,omitempty"`
	Spec          string    `json:"spec,omitempty"` // gradflow's net spec (gradflow lines)
	Torch         string    `json:"torch,omitempty"`
	MKLDNN        bool      `json:"mkldnn,omitempty"` // PyTorch was built with oneDNN
	FlushDenormal bool      `json:"flush_denormal,omitempty"`
	Alloc         string    `json:"alloc,omitempty"`
	Round         int       `json:"round,omitempty"`
}

// cnnModels are the suite's networks on 1x28x28 inputs, as nn.Net specs;
// bench/cnn_torch.py builds the same layers in PyTorch.
var cnnModels = []struct{ name, spec string }{
	{"lenet5", "conv6k5p2-relu-maxpool2-conv16k5-relu-maxpool2-flatten-fc120-relu-fc84-relu-fc10"},
	{"resnet", "conv16k3p1-bn-relu-res(conv16k3p1-bn-relu-conv16k3p1-bn)-relu-res(conv16k3p1-bn-relu-conv16k3p1-bn)-relu-gap-fc10"},
}

func runCNN(args []string) error {
	fs := newFlagSet("cnn")
	js := fs.Bool("json", false, "print one JSON object per line instead of a table")
	threadsFlag := fs.String("threads", "1,2", "thread counts (GOMAXPROCS; torch.set_num_threads)")
	dtypes := fs.String("dtypes", "float32", "element types (float32, float64)")
	batch := fs.Int("batch", 64, "batch size")
	reps := fs.Int("reps", 5, "repetitions per measurement; the median is reported")
	rounds := fs.Int("rounds", 3, "rounds of (gradflow, PyTorch) measurements; ratios are taken within a round and the median is reported")
	minTime := fs.Duration("mintime", 400*time.Millisecond, "minimum time per repetition")
	models := fs.String("models", "", "restrict to these models: lenet5, resnet (default: all)")
	torchOn := fs.Bool("torch", true, "also run bench/cnn_torch.py when "+pythonPath+" has torch (not with -cpuprofile)")
	torchFlags(fs)
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the gradflow measurements to this file")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: go run ./bench cnn [flags]

Training-step throughput (samples/s) of two CNNs on 1x28x28 inputs: forward,
softmax cross-entropy, backward and an SGD step with momentum 0.9 on one
fixed random batch (train.Stepper, BatchNorm in training mode), against the
same step in PyTorch (bench/cnn_torch.py, oneDNN convolutions) when it is
installed. lenet5 is LeNet-5 (two 5x5 convolutions, max pooling, three
linear layers); resnet is a 16-channel 3x3 stem and two residual blocks
with BatchNorm, global average pooling and a linear readout. Ratios are
gradflow/PyTorch at the same thread count, formed within each round.

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
	if *reps < 1 || *rounds < 1 || *batch < 1 {
		return fmt.Errorf("-reps %d, -rounds %d, -batch %d: each must be positive", *reps, *rounds, *batch)
	}
	dts, err := parseDTypes(*dtypes)
	if err != nil {
		return err
	}
	cases := cnnModels
	if *models != "" {
		cases = nil
		for _, m := range cnnModels {
			if slices.Contains(splitList(*models), m.name) {
				cases = append(cases, m)
			}
		}
		if len(cases) == 0 {
			return fmt.Errorf("-models: %q matches none of lenet5, resnet", *models)
		}
	}
	torchScript := ""
	if *torchOn && *cpuProfile == "" {
		torchScript, err = findTorch("cnn_torch.py")
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench cnn: skipping PyTorch:", err)
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
	if !*js {
		fmt.Printf("%-7s %5s %-7s %3s %12s %12s %7s %8s\n", "model", "batch", "dtype", "thr", "gradflow", "pytorch", "ratio", "allocs")
	}
	prevProcs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prevProcs)
	for _, c := range cases {
		for _, dt := range dts {
			type cell struct{ gf, pt, ratio, allocs []float64 }
			cells := make([]cell, len(threads))
			for rd := 0; rd < *rounds; rd++ {
				for ti, th := range threads {
					runtime.GOMAXPROCS(th)
					var gf, allocs float64
					var gfReps []float64
					if dt == "float32" {
						gf, gfReps, allocs, err = measureCNN[float32](c.spec, *batch, *reps, *minTime)
					} else {
						gf, gfReps, allocs, err = measureCNN[float64](c.spec, *batch, *reps, *minTime)
					}
					if err != nil {
						return err
					}
					em.emit(cnnRecord{Suite: "cnn", Impl: "gradflow", Model: c.name, DType: dt, Threads: th, Batch: *batch,
						SamplesPerSec: round2(gf), AllocsPerStep: &allocs, Reps: roundAll(gfReps), Spec: c.spec, Round: rd + 1})
					cells[ti].gf = append(cells[ti].gf, gf)
					cells[ti].allocs = append(cells[ti].allocs, allocs)
					if torchScript == "" {
						continue
					}
					rec, err := runTorchCNN(torchScript, c.name, dt, th, *batch, *reps, *minTime)
					if err != nil {
						fmt.Fprintln(os.Stderr, "bench cnn: PyTorch failed:", err)
						continue
					}
					rec.Round = rd + 1
					em.emit(rec)
					cells[ti].pt = append(cells[ti].pt, rec.SamplesPerSec)
					cells[ti].ratio = append(cells[ti].ratio, gf/rec.SamplesPerSec)
				}
			}
			if *js {
				continue
			}
			for ti, th := range threads {
				cl := cells[ti]
				ptS, ratio := "-", "-"
				if len(cl.pt) > 0 {
					ptS = fmt.Sprintf("%.0f", median(cl.pt))
					ratio = fmt.Sprintf("%.2fx", median(cl.ratio))
				}
				fmt.Printf("%-7s %5d %-7s %3d %12.0f %12s %7s %8.1f\n", c.name, *batch, dt, th, median(cl.gf), ptS, ratio, slices.Max(cl.allocs))
			}
		}
	}
	return nil
}

// newCNNStep returns the training step of the net spec describes on a
// fixed random batch of 1x28x28 images with random labels.
func newCNNStep[T tensor.Float](spec string, batch int, seed uint64) (*train.Stepper[T], *data.Batch[T], error) {
	rng := rand.New(rand.NewPCG(seed, 1))
	net, err := nn.NewNet[T](spec, []int{1, 28, 28}, rng)
	if err != nil {
		return nil, nil, err
	}
	opt, err := optim.NewSGD(net.Params(), optim.SGDConfig{LR: 0.01, Momentum: 0.9})
	if err != nil {
		return nil, nil, err
	}
	labels := make([]int32, batch)
	for i := range labels {
		labels[i] = int32(rng.IntN(10))
	}
	st, err := train.NewStepper(train.StepConfig[T]{Model: net, Loss: &train.CrossEntropy[T]{}, Optimizer: opt})
	if err != nil {
		return nil, nil, err
	}
	ds := &data.Dataset[T]{X: tensor.RandN(rng, T(0), T(1), batch, 28*28), Labels: labels, NumClasses: 10, Shape: []int{1, 28, 28}}
	return st, train.FullBatch(ds), nil
}

// measureCNN returns the median samples/s of the step over reps
// repetitions of at least minTime, every repetition's rate, and the heap
// allocations per step in steady state.
func measureCNN[T tensor.Float](spec string, batch, reps int, minTime time.Duration) (float64, []float64, float64, error) {
	st, b, err := newCNNStep[T](spec, batch, 1)
	if err != nil {
		return 0, nil, 0, err
	}
	step := func() {
		if _, err := st.Step(b); err != nil {
			panic(err) // a fixed batch at lr 0.01 does not diverge
		}
	}
	rate, rates, allocs := measureStep(step, batch, reps, minTime)
	return rate, rates, allocs, nil
}

func runTorchCNN(script, model, dtype string, threads, batch, reps int, minTime time.Duration) (cnnRecord, error) {
	cmd := exec.Command(pythonPath, script, "--model", model, "--batch", strconv.Itoa(batch),
		"--threads", strconv.Itoa(threads), "--dtype", dtype, "--reps", strconv.Itoa(reps),
		"--min-time", strconv.FormatFloat(minTime.Seconds(), 'g', -1, 64))
	var r cnnRecord
	err := runTorch(cmd, threads, &r)
	r.Alloc = torchAlloc
	return r, err
}
