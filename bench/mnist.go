package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/train"
)

// mnistRecord is one line of `bench mnist -json`.
type mnistRecord struct {
	Suite   string  `json:"suite"`
	Impl    string  `json:"impl"`
	DType   string  `json:"dtype"`
	Threads int     `json:"threads"`
	Dims    []int   `json:"dims"`
	Batch   int     `json:"batch"`
	Target  float64 `json:"target"`
	// Seconds is the wall time from the first step until the end of the
	// epoch whose test evaluation first reached Target (training and the
	// per-epoch evaluations; loading the data is not counted).
	Seconds float64 `json:"seconds"`
	Epochs  int     `json:"epochs"`
	// Accuracy is the test accuracy after each epoch.
	Accuracy []float64 `json:"accuracy"`
	Reached  bool      `json:"reached"`
	Rep      int       `json:"rep"`
	// Seed seeded the initialization and the shuffling: repetition r uses
	// -seed + r, so that the medians cover the luck of the draw (which
	// epoch first reaches the target) as well as the machine's noise.
	Seed  uint64 `json:"seed"`
	Torch string `json:"torch,omitempty"`
	BLAS  string `json:"blas,omitempty"`
	// FlushDenormal: PyTorch ran with torch.set_flush_denormal(True).
	FlushDenormal bool `json:"flush_denormal,omitempty"`
	// Alloc is the memory allocator PyTorch ran with (see -torch-alloc).
	Alloc string `json:"alloc,omitempty"`
}

var mnistDims = []int{784, 512, 512, 10}

const (
	mnistBatch = 128
	mnistLR    = 0.05
	mnistMom   = 0.9
)

func runMNIST(args []string) error {
	fs := newFlagSet("mnist")
	js := fs.Bool("json", false, "print one JSON object per line instead of a table")
	dir := fs.String("data", filepath.Join("..", "shared", "datasets", "mnist"), "directory with the four MNIST IDX files (.gz or raw)")
	threadsFlag := fs.String("threads", "1,2", "gradflow thread counts (GOMAXPROCS)")
	torchThreads := fs.String("torch-threads", "1", "PyTorch thread counts (1 is its best configuration here)")
	target := fs.Float64("target", 0.98, "test accuracy to reach")
	maxEpochs := fs.Int("epochs", 10, "give up after this many epochs")
	seed := fs.Uint64("seed", 1, "seed of the initialization and the shuffling of the first repetition (repetition r uses seed+r)")
	torchOn := fs.Bool("torch", true, "also run bench/mnist_torch.py when "+pythonPath+" has torch")
	torchFlags(fs)
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the gradflow runs to this file (skips PyTorch)")
	reps := fs.Int("reps", 3, "repetitions (alternating gradflow and PyTorch, each with its own seed); medians are compared")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: go run ./bench mnist [flags]

Time to reach the target MNIST test accuracy with an MLP 784-512-512-10
(ReLU, PyTorch's default initialization), SGD lr 0.05 momentum 0.9, batch
128, shuffled every epoch, inputs standardized with the training set's
pixel mean and standard deviation, float32; test accuracy is measured after
every epoch. The same run in PyTorch (bench/mnist_torch.py) when installed.

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
	var tthreads []int
	if *torchThreads != "" {
		if tthreads, err = parseInts("torch-threads", *torchThreads); err != nil {
			return err
		}
	}
	if !(*target > 0 && *target <= 1) {
		return fmt.Errorf("-target: %v is not in (0, 1]", *target)
	}
	if *reps < 1 {
		return fmt.Errorf("-reps: %d is not positive", *reps)
	}
	if *maxEpochs < 1 {
		return fmt.Errorf("-epochs: %d is not positive", *maxEpochs)
	}
	if _, err := os.Stat(*dir); err != nil {
		fmt.Fprintf(os.Stderr, "bench mnist: skipped: no MNIST data in %s (%v)\n", *dir, err)
		return nil
	}
	trainSet, testSet, err := data.MNIST[float32](*dir)
	if err != nil {
		return err
	}
	if err := standardize(trainSet, testSet); err != nil {
		return err
	}

	em := newEmitter(*js)
	header(*js)
	if !*js {
		fmt.Printf("# MNIST to %.1f%% test accuracy: MLP %s, SGD lr %g momentum %g, batch %d, float32\n",
			100**target, dimsLabel(mnistDims), mnistLR, mnistMom, mnistBatch)
		fmt.Printf("%-9s %3s %4s %9s %7s %9s  %s\n", "impl", "thr", "seed", "seconds", "epochs", "reached", "test accuracy per epoch")
	}
	show := func(r mnistRecord) {
		em.emit(r)
		if *js {
			return
		}
		acc := ""
		for i, a := range r.Accuracy {
			if i > 0 {
				acc += " "
			}
			acc += strconv.FormatFloat(100*a, 'f', 2, 64)
		}
		fmt.Printf("%-9s %3d %4d %9.2f %7d %9v  %s\n", r.Impl, r.Threads, r.Seed, r.Seconds, r.Epochs, r.Reached, acc)
	}

	script := ""
	if *torchOn && len(tthreads) > 0 {
		if script, err = findTorch("mnist_torch.py"); err != nil {
			fmt.Fprintln(os.Stderr, "bench mnist: skipping PyTorch:", err)
		} else if !*js {
			fmt.Printf("# PyTorch: allocator %s, flush denormals %v (-torch-alloc, -torch-flush-denormal)\n", torchAlloc, torchFTZ)
		}
	}
	if *cpuProfile != "" {
		script = "" // profile gradflow alone
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}

	// The machine's load changes from one run to the next: the repetitions
	// alternate gradflow and PyTorch runs, and medians are compared.
	prevProcs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prevProcs)
	type key struct {
		impl    string
		threads int
	}
	times := map[key][]float64{}
	perEpoch := map[key][]float64{} // seconds per epoch, free of the seed's luck
	var order []key
	add := func(r mnistRecord) {
		show(r)
		k := key{r.Impl, r.Threads}
		if _, ok := times[k]; !ok {
			order = append(order, k)
		}
		if r.Epochs > 0 {
			perEpoch[k] = append(perEpoch[k], r.Seconds/float64(r.Epochs))
		}
		if r.Reached {
			times[k] = append(times[k], r.Seconds)
		} else {
			times[k] = append(times[k], math.Inf(1))
		}
	}
	for rep := 0; rep < *reps; rep++ {
		for _, th := range threads {
			runtime.GOMAXPROCS(th)
			r, err := raceMNIST(trainSet, testSet, *target, *maxEpochs, *seed+uint64(rep))
			if err != nil {
				return err
			}
			r.Threads, r.Rep, r.Seed = th, rep, *seed+uint64(rep)
			add(r)
		}
		runtime.GOMAXPROCS(prevProcs)
		if script == "" {
			continue
		}
		for _, th := range tthreads {
			r, err := runTorchMNIST(script, *dir, th, *target, *maxEpochs, *seed+uint64(rep))
			if err != nil {
				fmt.Fprintln(os.Stderr, "bench mnist: PyTorch failed:", err)
				continue
			}
			r.Rep, r.Seed = rep, *seed+uint64(rep)
			add(r)
		}
	}
	if *js {
		return nil
	}
	var goBest, torchBest, goEpoch, torchEpoch float64
	fmt.Printf("# median seconds over %d repetitions (per epoch):", *reps)
	for _, k := range order {
		m, e := median(times[k]), median(perEpoch[k])
		fmt.Printf(" %s/%d %.2f (%.2f)", k.impl, k.threads, m, e)
		best, bestEpoch := &goBest, &goEpoch
		if k.impl == "pytorch" {
			best, bestEpoch = &torchBest, &torchEpoch
		}
		if !math.IsInf(m, 0) && (*best == 0 || m < *best) {
			*best = m
		}
		if *bestEpoch == 0 || e < *bestEpoch {
			*bestEpoch = e
		}
	}
	fmt.Println()
	if goBest > 0 && torchBest > 0 {
		// The target is issue 21's; the number of epochs to reach the
		// accuracy differs from seed to seed (4 to 8 here), so the time
		// per epoch is printed as well.
		fmt.Printf("# gradflow best / PyTorch best median time: %.2f (target <= 0.5); per epoch %.2f\n", goBest/torchBest, goEpoch/torchEpoch)
	}
	return nil
}

// standardize maps the pixels of both sets with the training set's mean and
// standard deviation over all pixels (one scalar pair, as torchvision's
// Normalize((0.1307,), (0.3081,)) does).
func standardize(trainSet, testSet *data.Dataset[float32]) error {
	_, err := data.FitScaler(data.StandardizeGlobal, trainSet, testSet)
	return err
}

// stopAt ends a run at the first record whose test accuracy reaches the
// target, and keeps the accuracy of every record.
type stopAt struct {
	target   float64
	accuracy []float64
	reached  bool
	at       float64 // Record.Time of that record
}

// OnStep implements train.Callback.
func (s *stopAt) OnStep(*train.Step[float32]) error { return nil }

// OnRecord implements train.Callback: it stops the run once the target accuracy is reached.
func (s *stopAt) OnRecord(r *train.Record) error {
	acc := r.Evals["test"]["accuracy"]
	s.accuracy = append(s.accuracy, acc)
	if acc >= s.target {
		s.reached, s.at = true, r.Time
		return train.ErrStop
	}
	return nil
}

// raceMNIST trains with the train package (the loop gradflow users run)
// until the test accuracy after an epoch reaches target.
func raceMNIST(trainSet, testSet *data.Dataset[float32], target float64, maxEpochs int, seed uint64) (mnistRecord, error) {
	m, err := nn.NewMLP[float32](nn.MLPConfig{Dims: mnistDims, Init: nn.InitTorch}, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		return mnistRecord{}, err
	}
	opt, err := optim.NewSGD(m.Params(), optim.SGDConfig{LR: mnistLR, Momentum: mnistMom})
	if err != nil {
		return mnistRecord{}, err
	}
	ld, err := data.NewLoader(trainSet, data.LoaderConfig{BatchSize: mnistBatch, Shuffle: true, Seed: seed})
	if err != nil {
		return mnistRecord{}, err
	}
	stop := &stopAt{target: target}
	tr, err := train.New(train.Config[float32]{
		Model: m, Loss: &train.CrossEntropy[float32]{}, Optimizer: opt, Train: ld,
		Evals: []train.Eval[float32]{{Name: "test", Data: testSet}}, EvalBatch: 1000,
		Epochs: maxEpochs, Callbacks: []train.Callback[float32]{stop},
	})
	if err != nil {
		return mnistRecord{}, err
	}
	t0 := time.Now()
	res, err := tr.Run(context.Background())
	if err != nil && !errors.Is(err, train.ErrStop) {
		return mnistRecord{}, err
	}
	secs := time.Since(t0).Seconds()
	if stop.reached {
		secs = stop.at
	}
	return mnistRecord{Suite: "mnist", Impl: "gradflow", DType: "float32", Dims: mnistDims, Batch: mnistBatch,
		Target: target, Seconds: round2(secs), Epochs: res.Epochs, Accuracy: stop.accuracy, Reached: stop.reached}, nil
}

func runTorchMNIST(script, dir string, threads int, target float64, maxEpochs int, seed uint64) (mnistRecord, error) {
	cmd := exec.Command(pythonPath, script, "--data", dir, "--threads", strconv.Itoa(threads),
		"--target", strconv.FormatFloat(target, 'g', -1, 64), "--epochs", strconv.Itoa(maxEpochs),
		"--seed", strconv.FormatUint(seed, 10), "--lr", strconv.FormatFloat(mnistLR, 'g', -1, 64),
		"--momentum", strconv.FormatFloat(mnistMom, 'g', -1, 64), "--batch", strconv.Itoa(mnistBatch))
	var r mnistRecord
	if err := runTorch(cmd, threads, &r); err != nil {
		return mnistRecord{}, err
	}
	r.Alloc = torchAlloc
	return r, nil
}
