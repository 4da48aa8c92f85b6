package sweep

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/internal/parallel"
	"github.com/gradflow/gradflow/internal/powerlaw"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/train"
)

// MuTransferConfig is a muTransfer experiment (Yang et al. 2021, "Tensor
// Programs V: Tuning large neural networks via zero-shot hyperparameter
// transfer", Figure 1): for every parameterization, optimizer and width, MLPs
// with Depth hidden layers of that width train for Steps steps at every
// learning rate of a half-octave grid, once per seed, and the training loss
// at the end locates the optimal learning rate of that width. Under muP the
// optimum stays put as the width grows; under the standard parameterization
// with Adam it falls like 1/width.
type MuTransferConfig struct {
	// Dataset is the training data (and, if TestN > 0, a held-out set
	// whose loss is reported too); as in Config.
	Dataset Dataset `json:"dataset"`
	// Widths are the hidden widths, at least 2.
	Widths []int `json:"widths"`
	// Depth is the number of hidden layers (default 2).
	Depth      int           `json:"depth,omitempty"`
	Activation nn.Activation `json:"activation,omitempty"` // default relu
	// Parameterizations (default standard and mup).
	Parameterizations []nn.Parameterization `json:"parameterizations,omitempty"`
	// Optimizers among "adam" and "sgd" (default adam), with PyTorch's
	// defaults but the learning rate.
	Optimizers []string `json:"optimizers,omitempty"`
	Seeds      []uint64 `json:"seeds"`
	// Grids are the learning-rate ranges per parameterization and
	// optimizer; a pair without one gets DefaultLRGrid's.
	Grids []LRGrid `json:"grids,omitempty"`
	// LRStep is the spacing of the learning-rate grid in octaves (default
	// 0.5: successive rates differ by a factor sqrt(2)).
	LRStep float64 `json:"lr_step,omitempty"`
	Steps  int     `json:"steps"`
	// BatchSize is the minibatch size (0: full batch).
	BatchSize int `json:"batch_size,omitempty"`
	// Schedule is the learning-rate schedule over the Steps steps, in
	// optim.ParseSchedule's form (default "cosine": annealed to 0, so that
	// the final loss is not that of the last noisy steps at the peak rate).
	Schedule string `json:"schedule,omitempty"`
	// Bootstrap is the number of resamples of the seeds behind the
	// intervals (default 1000); BootstrapSeed seeds them.
	Bootstrap     int    `json:"bootstrap,omitempty"`
	BootstrapSeed uint64 `json:"bootstrap_seed,omitempty"`
	// WStd and BStd are nn.MLPConfig's weight and bias scales.
	WStd float64 `json:"wstd,omitempty"`
	BStd float64 `json:"bstd,omitempty"`
	// BaseWidth, if positive, rescales muP's per-layer learning rates by
	// width-independent constants (MuPBaseScales) so that at this width
	// every layer's update has the size it has in the standard
	// parameterization, as the mup library's base shapes do; 0 keeps
	// nn.MuP's absolute scales (base width 1).
	BaseWidth int `json:"base_width,omitempty"`
	// ZeroReadout zero-initializes the readout layer of the muP MLPs
	// (nn.MLPConfig.ZeroReadout, the mup library's readout_zero_init), as
	// Tensor Programs V recommends: the output is then 0 at init at every
	// width instead of a random function of size n^-1/2 that the
	// narrower networks must first unlearn. Other parameterizations keep
	// their usual init.
	ZeroReadout bool `json:"zero_readout,omitempty"`
	// InputLRMult, if positive, multiplies the learning rate of the muP
	// MLPs' input layer (weight and bias) by this width-independent
	// constant: one of the per-layer multipliers the mup library lets
	// one tune at the base width and transfer (0 or 1: MuAdam's and
	// MuSGD's own rates).
	InputLRMult float64 `json:"input_lr_mult,omitempty"`
	// Workers bounds the runs trained at once (0: GOMAXPROCS). Results do
	// not depend on it.
	Workers int `json:"-"`
	// Progress, if not nil, is called after every finished run with the
	// number of runs done and the total (from one goroutine at a time).
	Progress func(done, total int) `json:"-"`
}

// LRGrid is the learning-rate grid of one parameterization and optimizer:
// the base rates 2^Log2Min, 2^(Log2Min+LRStep), ..., up to 2^Log2Max.
type LRGrid struct {
	Parameterization nn.Parameterization `json:"parameterization"`
	Optimizer        string              `json:"optimizer"`
	Log2Min          float64             `json:"log2_min"`
	Log2Max          float64             `json:"log2_max"`
}

// DefaultLRGrid returns the grid used for parameterization p and optimizer
// opt when a MuTransferConfig names none (base is its BaseWidth): wide
// enough to hold the optimum of an MLP with 2 hidden layers on the digits
// (50 steps of 32 or 64) at widths 32..1024 (and, for SP with Adam, its
// drift) with about an octave to spare on either side; for muP with Adam
// and a base width, with the input-layer multiplier anywhere in 1/8..1.
func DefaultLRGrid(p nn.Parameterization, opt string, base int) LRGrid {
	g := LRGrid{Parameterization: p, Optimizer: opt}
	switch {
	case p == nn.MuP && opt == "adam" && base > 0:
		g.Log2Min, g.Log2Max = -5.5, -2
	case p == nn.MuP && opt == "adam":
		g.Log2Min, g.Log2Max = -3, 1
	case opt == "adam":
		g.Log2Min, g.Log2Max = -9, -3
	default:
		g.Log2Min, g.Log2Max = -6, 2
	}
	return g
}

// LRs returns the grid's log2 learning rates, step octaves apart.
func (g LRGrid) LRs(step float64) []float64 {
	var out []float64
	for k := 0; ; k++ {
		x := g.Log2Min + float64(k)*step
		if x > g.Log2Max+1e-9 {
			return out
		}
		out = append(out, x)
	}
}

// withDefaults fills the defaults of c and validates it; errors name the
// field at fault.
func (c MuTransferConfig) withDefaults() (MuTransferConfig, error) {
	if c.Depth == 0 {
		c.Depth = 2
	}
	if c.Activation == "" {
		c.Activation = nn.ReLU
	}
	if len(c.Parameterizations) == 0 {
		c.Parameterizations = []nn.Parameterization{nn.Standard, nn.MuP}
	}
	if len(c.Optimizers) == 0 {
		c.Optimizers = []string{"adam"}
	}
	if c.LRStep == 0 {
		c.LRStep = 0.5
	}
	if c.Bootstrap == 0 {
		c.Bootstrap = 1000
	}
	if c.Schedule == "" {
		c.Schedule = "cosine"
	}
	fail := func(field, format string, a ...any) (MuTransferConfig, error) {
		return c, configErrorf("mutransfer config: field %q: %s", field, fmt.Sprintf(format, a...))
	}
	if _, err := c.sweepConfig().withDefaults(); err != nil {
		return c, fmt.Errorf("mutransfer: %w", err)
	}
	if len(c.Widths) < 2 {
		return fail("widths", "%v: want at least 2 widths", c.Widths)
	}
	if !(c.LRStep > 0) || math.IsInf(c.LRStep, 0) {
		return fail("lr_step", "%v must be positive and finite", c.LRStep)
	}
	if _, err := optim.ParseSchedule(c.Schedule, max(c.Steps, 1), 0); err != nil {
		return fail("schedule", "%v", err)
	}
	if c.BaseWidth < 0 {
		return fail("base_width", "%d must be non-negative", c.BaseWidth)
	}
	if c.Bootstrap < 0 {
		return fail("bootstrap", "%d must be non-negative", c.Bootstrap)
	}
	if !(c.InputLRMult >= 0) || math.IsInf(c.InputLRMult, 0) {
		return fail("input_lr_mult", "%v must be non-negative and finite", c.InputLRMult)
	}
	grids := make([]LRGrid, 0, len(c.Parameterizations)*len(c.Optimizers))
	for _, p := range c.Parameterizations {
		for _, o := range c.Optimizers {
			g := DefaultLRGrid(p, o, c.BaseWidth)
			if i := slices.IndexFunc(c.Grids, func(g LRGrid) bool { return g.Parameterization == p && g.Optimizer == o }); i >= 0 {
				g = c.Grids[i]
			}
			if math.IsNaN(g.Log2Min) || math.IsInf(g.Log2Min, 0) || math.IsInf(g.Log2Max, 0) || !(g.Log2Max >= g.Log2Min) {
				return fail("grids", "%s/%s: log2_min %v, log2_max %v: want finite bounds, min <= max", p, o, g.Log2Min, g.Log2Max)
			}
			if n := len(g.LRs(c.LRStep)); n < 3 {
				return fail("grids", "%s/%s: %d learning rates in [2^%v, 2^%v]: want at least 3 to locate an optimum", p, o, n, g.Log2Min, g.Log2Max)
			}
			grids = append(grids, g)
		}
	}
	for _, g := range c.Grids {
		if !slices.Contains(c.Parameterizations, g.Parameterization) || !slices.Contains(c.Optimizers, g.Optimizer) {
			return fail("grids", "%s/%s is not a parameterization and optimizer of the experiment", g.Parameterization, g.Optimizer)
		}
	}
	c.Grids = grids
	return c, nil
}

// sweepConfig is the sweep Config whose runs c trains (all learning rates
// of c's grids, for validation and training; no kernel measurements).
func (c MuTransferConfig) sweepConfig() Config {
	return Config{Dataset: c.Dataset, Widths: c.Widths, Depth: c.Depth, Activation: c.Activation,
		Parameterizations: c.Parameterizations, Seeds: c.Seeds, LRs: []float64{1}, Optimizers: c.Optimizers,
		Steps: c.Steps, BatchSize: c.BatchSize, LogEvery: c.Steps, KernelEvery: -1, WStd: c.WStd, BStd: c.BStd}
}

// Validate reports whether c is a valid experiment, naming the field at
// fault.
func (c MuTransferConfig) Validate() error {
	_, err := c.withDefaults()
	return err
}

// grid returns the grid of parameterization p and optimizer o; c must have
// its defaults.
func (c MuTransferConfig) grid(p nn.Parameterization, o string) LRGrid {
	i := slices.IndexFunc(c.Grids, func(g LRGrid) bool { return g.Parameterization == p && g.Optimizer == o })
	return c.Grids[i]
}

// LRLoss is the outcome at one learning rate of one parameterization,
// optimizer and width: the training loss after Steps steps on the whole
// training set, per seed and its mean with the standard error over seeds.
type LRLoss struct {
	Parameterization nn.Parameterization `json:"parameterization"`
	Optimizer        string              `json:"optimizer"`
	Width            int                 `json:"width"`
	Log2LR           float64             `json:"log2_lr"`
	LR               float64             `json:"lr"`
	// Loss is the mean over seeds of the final training loss; +Inf if a
	// seed diverged (written as null in JSON).
	Loss   float64 `json:"loss"`
	LossSE float64 `json:"loss_se"`
	// Losses are the seeds' final training losses (+Inf: diverged).
	Losses []float64 `json:"losses"`
	// Diverged counts the seeds whose loss became non-finite.
	Diverged int `json:"diverged"`
	// TestLoss and TestLossSE are the held-out loss's mean and standard
	// error (NaN without a held-out set or if a seed diverged).
	TestLoss   float64 `json:"test_loss"`
	TestLossSE float64 `json:"test_loss_se"`
}

// Optimum is the optimal learning rate of one parameterization, optimizer
// and width: the vertex of the parabola through the mean losses at the
// best grid rate and its two neighbours (against log2 lr), with a 95%
// percentile bootstrap interval over the seeds.
type Optimum struct {
	Parameterization nn.Parameterization `json:"parameterization"`
	Optimizer        string              `json:"optimizer"`
	Width            int                 `json:"width"`
	Log2LR           float64             `json:"log2_lr"`
	LR               float64             `json:"lr"`
	Log2LRLo         float64             `json:"log2_lr_lo"`
	Log2LRHi         float64             `json:"log2_lr_hi"`
	// Loss is the smallest mean loss on the grid, LossSE its standard
	// error over seeds.
	Loss   float64 `json:"loss"`
	LossSE float64 `json:"loss_se"`
	// AtEdge reports that the best rate is the grid's first or last: the
	// true optimum may lie outside the grid.
	AtEdge bool `json:"at_edge"`
}

// Transfer sums up how the optimum of one parameterization and optimizer
// moves with the width. Intervals are 95% percentile bootstraps over seeds
// (each width resampled on its own).
type Transfer struct {
	Parameterization nn.Parameterization `json:"parameterization"`
	Optimizer        string              `json:"optimizer"`
	// DriftOctaves is the range max - min of the optimal log2 learning
	// rate over the widths: how far the optimum moves across them.
	DriftOctaves float64 `json:"drift_octaves"`
	DriftLo      float64 `json:"drift_lo"`
	DriftHi      float64 `json:"drift_hi"`
	// ShiftOctaves is the optimal log2 rate at the widest width minus the
	// one at the narrowest (negative: the optimum falls).
	ShiftOctaves float64 `json:"shift_octaves"`
	// Slope is the least-squares slope of the optimal log2 rate against
	// log2 width: octaves per doubling of the width (SP with Adam: about
	// -1, muP: 0).
	Slope   float64 `json:"slope"`
	SlopeLo float64 `json:"slope_lo"`
	SlopeHi float64 `json:"slope_hi"`
	// TrendOctaves is Slope times log2(widest/narrowest width): the
	// systematic movement of the optimum over the width range, without
	// the upward bias of DriftOctaves (the range of independently noisy
	// optima: about 2.3 of their standard deviations for 5 widths even
	// when the true optimum does not move).
	TrendOctaves float64 `json:"trend_octaves"`
	TrendLo      float64 `json:"trend_lo"`
	TrendHi      float64 `json:"trend_hi"`
	// WiderIsBetter reports that the loss at the optimum (Optimum.Loss)
	// does not increase from one width to the next.
	WiderIsBetter bool `json:"wider_is_better"`
	// WiderIsBetterWithinNoise relaxes WiderIsBetter by the seeds' noise:
	// no step to the next width raises the loss at the optimum by more
	// than twice the standard error of the difference,
	// 2 sqrt(LossSE_w^2 + LossSE_w'^2). Under muP the training dynamics
	// converge to a width-independent limit, so the gains of doubling a
	// wide network shrink below any fixed number of seeds' resolution (on
	// all 1797 digits, widths 64..2048: 0.088, 0.077, 0.058, 0.059, 0.059,
	// 0.061, standard errors 0.001-0.004); the strict comparison then
	// flips on noise, and this one tests what the claim can mean.
	WiderIsBetterWithinNoise bool `json:"wider_is_better_within_noise"`
	// WiderIsBetterLRs counts the grid rates at which the mean loss is
	// finite at every width and does not increase with the width, of
	// GridLRs.
	WiderIsBetterLRs int `json:"wider_is_better_lrs"`
	GridLRs          int `json:"grid_lrs"`
	// EdgeWidths are the widths whose optimum is at an edge of the grid
	// (their drift is a lower bound).
	EdgeWidths []int `json:"edge_widths,omitempty"`
}

// MuTransferResult is the outcome of MuTransfer: Losses ordered by
// parameterization, optimizer, width and learning rate; Optima by
// parameterization, optimizer and width; Transfers by parameterization and
// optimizer.
type MuTransferResult struct {
	Config    MuTransferConfig `json:"config"`
	Losses    []LRLoss         `json:"losses"`
	Optima    []Optimum        `json:"optima"`
	Transfers []Transfer       `json:"transfers"`
}

// Transfer returns the summary of parameterization p and optimizer o.
func (r *MuTransferResult) Transfer(p nn.Parameterization, o string) (Transfer, bool) {
	i := slices.IndexFunc(r.Transfers, func(t Transfer) bool { return t.Parameterization == p && t.Optimizer == o })
	if i < 0 {
		return Transfer{}, false
	}
	return r.Transfers[i], true
}

// mtRun is one training run of the experiment.
type mtRun struct {
	p     nn.Parameterization
	opt   string
	width int
	log2  float64
	seed  uint64
	// outcome
	loss, testLoss float64
	err            error
}

// MuTransfer runs the experiment cfg: every run of the grid trains on its
// own seed (PCG(seed, width) for the weights, the seed for the batch
// order), runs execute in parallel on up to cfg.Workers goroutines with
// results gathered by index, so the result is the same bit for bit for any
// GOMAXPROCS. It stops early with ctx's error when ctx is cancelled.
func MuTransfer(ctx context.Context, cfg MuTransferConfig) (*MuTransferResult, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	sc, err := c.sweepConfig().withDefaults()
	if err != nil {
		return nil, err
	}
	ds, test, err := makeDatasets(sc)
	if err != nil {
		return nil, err
	}
	var runs []mtRun
	for _, p := range c.Parameterizations {
		for _, o := range c.Optimizers {
			lrs := c.grid(p, o).LRs(c.LRStep)
			for _, w := range c.Widths {
				for _, x := range lrs {
					for _, s := range c.Seeds {
						runs = append(runs, mtRun{p: p, opt: o, width: w, log2: x, seed: s})
					}
				}
			}
		}
	}
	// The widest runs first, so that the last ones to finish are cheap.
	order := make([]int, len(runs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return runs[b].width - runs[a].width })
	sched, err := optim.ParseSchedule(c.Schedule, c.Steps, 0)
	if err != nil {
		return nil, err
	}
	job := &mtJob{ctx: ctx, c: sc, sched: sched, base: c.BaseWidth, zero: c.ZeroReadout, inMult: c.InputLRMult, ds: ds, test: test, runs: runs, order: order, progress: cfg.Progress}
	parallel.Run(job, len(runs), c.Workers)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i := range runs {
		if runs[i].err != nil {
			r := runs[i]
			return nil, fmt.Errorf("mutransfer: %s %s width %d lr 2^%g seed %d: %w", r.p, r.opt, r.width, r.log2, r.seed, r.err)
		}
	}
	return analyzeMuTransfer(c, runs), nil
}

// mtJob trains the runs as a parallel.Job: task t trains runs[order[t]]
// and writes only that run's outcome.
type mtJob struct {
	ctx      context.Context
	c        Config
	sched    optim.Schedule
	base     int
	zero     bool    // ZeroReadout
	inMult   float64 // InputLRMult
	ds, test *data.Dataset[float64]
	runs     []mtRun
	order    []int
	done     int
	progress func(done, total int)
	mu       sync.Mutex // serializes progress
}

// Do implements parallel.Job.
func (j *mtJob) Do(_, t int) {
	r := &j.runs[j.order[t]]
	if j.ctx.Err() != nil {
		r.err = j.ctx.Err()
		return
	}
	r.loss, r.testLoss, r.err = trainFinalLoss(j.ctx, j.c, j.base, j.zero, j.inMult, j.sched, j.ds, j.test, RunSpec{Width: r.width,
		Parameterization: r.p, Seed: r.seed, LR: math.Exp2(r.log2), Optimizer: r.opt})
	if j.progress != nil {
		j.mu.Lock()
		j.done++
		j.progress(j.done, len(j.runs))
		j.mu.Unlock()
	}
}

// trainFinalLoss trains run spec of c on ds for c.Steps steps (batches as
// in Run, learning rate times sched) and returns the loss on the whole of
// ds, and on test (NaN if test is nil); both +Inf if the run diverged. A
// muP model gets MuPBaseScales(base) if base > 0 and a zero readout if
// zero.
func trainFinalLoss(ctx context.Context, c Config, base int, zero bool, inMult float64, sched optim.Schedule, ds, test *data.Dataset[float64], spec RunSpec) (loss, testLoss float64, err error) {
	model, err := NewModel(c, spec, ds.Dim(), outputs(ds))
	if err != nil {
		return 0, 0, err
	}
	if spec.Parameterization == nn.MuP && zero {
		// What NewMLP draws with Config.ZeroReadout: the readout is drawn
		// last, so the other layers are as they are.
		model.Config.ZeroReadout = true
		out := model.Layers[len(model.Layers)-1]
		nn.Zeros(out.Weight.Value)
		if out.Bias != nil {
			nn.Zeros(out.Bias.Value)
		}
	}
	if spec.Parameterization == nn.MuP && base > 0 {
		MuPBaseScales(model, base, spec.Optimizer != "sgd")
	}
	if in := model.Layers[0]; spec.Parameterization == nn.MuP && inMult > 0 {
		in.Weight.LRScale *= inMult
		if in.Bias != nil {
			in.Bias.LRScale *= inMult
		}
	}
	opt, err := newOptimizer(spec, model.Params())
	if err != nil {
		return 0, 0, err
	}
	lc := data.LoaderConfig{BatchSize: ds.Len()}
	if c.BatchSize > 0 {
		lc = data.LoaderConfig{BatchSize: c.BatchSize, Shuffle: true, Seed: spec.Seed, DropLast: true}
	}
	loader, err := data.NewLoader(ds, lc)
	if err != nil {
		return 0, 0, err
	}
	tr, err := train.New(train.Config[float64]{Model: model, Loss: lossFor(ds), Optimizer: opt, Schedule: sched,
		Train: loader, Steps: c.Steps})
	if err != nil {
		return 0, 0, err
	}
	_, err = tr.Run(ctx)
	if errors.As(err, new(*train.DivergenceError)) {
		return math.Inf(1), math.Inf(1), nil
	}
	if err != nil {
		return 0, 0, err
	}
	tape := autograd.NewTape[float64]()
	tape.SetGradEnabled(false)
	eval := func(ds *data.Dataset[float64]) float64 {
		tape.Reset()
		v := lossValue(model.Forward(tape, tape.Const(ds.X)), ds)
		if math.IsNaN(v) {
			return math.Inf(1)
		}
		return v
	}
	loss, testLoss = eval(ds), math.NaN()
	if test != nil {
		testLoss = eval(test)
	}
	return loss, testLoss, nil
}

// MuPBaseScales multiplies the learning-rate scales of the muP MLP m by
// the constants that make muP's updates, at width base, as large as the
// standard parameterization's, so that base-width-tuned rates carry over
// (mup's set_base_shapes; Yang et al. 2021, section 4 and appendix J).
// nn.MuP's scales are absolute (base width 1): with Adam the hidden
// weights learn at lr/n and the readout's update is damped by its 1/n
// multiplier, so at small widths the input layer dominates the update.
// With Adam (adaptive), the effective-weight update is the multiplier
// times the rate: hidden and readout weights get base times their scale.
// With SGD it is the multiplier squared times the rate: the readout gets
// base, the input weights and every hidden bias 1/base. The scaling with
// the width, and so muP, is unchanged.
func MuPBaseScales(m *nn.MLP[float64], base int, adaptive bool) {
	b := float64(base)
	last := len(m.Layers) - 1
	for l, layer := range m.Layers {
		switch {
		case adaptive:
			// MuAdam: matrix-like (hidden) weights at lr/width_mult, the
			// readout at lr with multiplier 1/width_mult, the input
			// weights and all biases at lr.
			if l > 0 {
				layer.Weight.LRScale *= b
			}
		case l == last && l > 0:
			layer.Weight.LRScale *= b
		case l < last:
			if l == 0 {
				layer.Weight.LRScale /= b
			}
			if layer.Bias != nil {
				layer.Bias.LRScale /= b
			}
		}
	}
}

// analyzeMuTransfer turns the runs (in the order MuTransfer lists them)
// into the result.
func analyzeMuTransfer(c MuTransferConfig, runs []mtRun) *MuTransferResult {
	res := &MuTransferResult{Config: c}
	k := 0
	nSeeds := len(c.Seeds)
	for pi, p := range c.Parameterizations {
		for oi, o := range c.Optimizers {
			lrs := c.grid(p, o).LRs(c.LRStep)
			// loss[w][i][s]: width w, learning rate i, seed s.
			loss := make([][][]float64, len(c.Widths))
			for wi, w := range c.Widths {
				loss[wi] = make([][]float64, len(lrs))
				for i, x := range lrs {
					ls := make([]float64, nSeeds)
					ts := make([]float64, nSeeds)
					for s := range nSeeds {
						ls[s], ts[s] = runs[k].loss, runs[k].testLoss
						k++
					}
					loss[wi][i] = ls
					m, se, div := meanSE(ls)
					tm, tse, _ := meanSE(ts)
					res.Losses = append(res.Losses, LRLoss{Parameterization: p, Optimizer: o, Width: w, Log2LR: x,
						LR: math.Exp2(x), Loss: m, LossSE: se, Losses: ls, Diverged: div, TestLoss: tm, TestLossSE: tse})
				}
			}
			rng := rand.New(rand.NewPCG(c.BootstrapSeed, uint64(pi*len(c.Optimizers)+oi)))
			opt, tr := transfer(c, p, o, lrs, loss, rng)
			res.Optima = append(res.Optima, opt...)
			res.Transfers = append(res.Transfers, tr)
		}
	}
	return res
}

// meanSE returns the mean and standard error of x, and the number of
// entries that are +Inf (diverged runs; the mean is then +Inf, the
// standard error NaN).
func meanSE(x []float64) (mean, se float64, inf int) {
	for _, v := range x {
		if math.IsInf(v, 1) {
			inf++
		}
		mean += v
	}
	n := float64(len(x))
	mean /= n
	if inf > 0 || len(x) < 2 {
		return mean, math.NaN(), inf
	}
	var ss float64
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(ss / (n - 1) / n), 0
}

// transfer finds the optimum of every width of one parameterization and
// optimizer from loss[w][i][s] on the grid lrs (log2), and sums up its
// drift, with bootstrap intervals drawn from rng.
func transfer(c MuTransferConfig, p nn.Parameterization, o string, lrs []float64, loss [][][]float64, rng *rand.Rand) ([]Optimum, Transfer) {
	nw, ns := len(c.Widths), len(c.Seeds)
	widths := make([]float64, nw)
	for i, w := range c.Widths {
		widths[i] = float64(w)
	}
	curve := make([]float64, len(lrs))
	meanCurve := func(w int, pick []int) []float64 {
		for i := range lrs {
			var s float64
			for _, j := range pick {
				s += loss[w][i][j]
			}
			curve[i] = s / float64(len(pick))
		}
		return curve
	}
	all := make([]int, ns)
	for i := range all {
		all[i] = i
	}
	tr := Transfer{Parameterization: p, Optimizer: o, GridLRs: len(lrs)}
	opts := make([]Optimum, nw)
	best := make([]float64, nw)
	for w := range nw {
		cv := meanCurve(w, all)
		x, i := vertex(lrs, cv)
		_, se, _ := meanSE(loss[w][i])
		opts[w] = Optimum{Parameterization: p, Optimizer: o, Width: c.Widths[w], Log2LR: x, LR: math.Exp2(x),
			Loss: cv[i], LossSE: se, AtEdge: i == 0 || i == len(lrs)-1}
		best[w] = x
		if opts[w].AtEdge {
			tr.EdgeWidths = append(tr.EdgeWidths, c.Widths[w])
		}
	}
	tr.DriftOctaves, tr.ShiftOctaves, tr.Slope = driftStats(widths, best)
	// Bootstrap: resample the seeds of every width independently.
	bx := make([][]float64, nw)
	var bDrift, bSlope []float64
	pick := make([]int, ns)
	b := make([]float64, nw)
	for range c.Bootstrap {
		for w := range nw {
			for j := range pick {
				pick[j] = rng.IntN(ns)
			}
			b[w], _ = vertex(lrs, meanCurve(w, pick))
			bx[w] = append(bx[w], b[w])
		}
		d, _, s := driftStats(widths, b)
		bDrift, bSlope = append(bDrift, d), append(bSlope, s)
	}
	for w := range nw {
		opts[w].Log2LRLo, opts[w].Log2LRHi = percentiles(bx[w], opts[w].Log2LR)
	}
	tr.DriftLo, tr.DriftHi = percentiles(bDrift, tr.DriftOctaves)
	tr.SlopeLo, tr.SlopeHi = percentiles(bSlope, tr.Slope)
	span := math.Log2(slices.Max(widths) / slices.Min(widths))
	tr.TrendOctaves, tr.TrendLo, tr.TrendHi = tr.Slope*span, tr.SlopeLo*span, tr.SlopeHi*span
	tr.WiderIsBetter, tr.WiderIsBetterWithinNoise = true, true
	for w := 1; w < nw; w++ {
		if !(opts[w].Loss <= opts[w-1].Loss) {
			tr.WiderIsBetter = false
		}
		if !(opts[w].Loss <= opts[w-1].Loss+2*math.Hypot(opts[w].LossSE, opts[w-1].LossSE)) {
			tr.WiderIsBetterWithinNoise = false
		}
	}
	for i := range lrs {
		ok := true
		prev := math.Inf(1)
		for w := range nw {
			m, _, div := meanSE(loss[w][i])
			if div > 0 || math.IsNaN(m) || m > prev {
				ok = false
				break
			}
			prev = m
		}
		if ok {
			tr.WiderIsBetterLRs++
		}
	}
	return opts, tr
}

// driftStats returns the range and the end-to-end shift of the optimal log2
// rates best over widths, and their slope against log2 width.
func driftStats(widths, best []float64) (drift, shift, slope float64) {
	lo, hi := slices.Min(best), slices.Max(best)
	lrs := make([]float64, len(best))
	for i, x := range best {
		lrs[i] = math.Exp2(x)
	}
	return hi - lo, best[len(best)-1] - best[0], powerlaw.Slope(widths, lrs)
}

// vertex returns the optimal log2 rate of the mean-loss curve y on the grid
// x and the index of the grid's best rate: the vertex of the least-squares
// parabola through the points within fitHalfWidth grid steps of the best
// one (finite ones only, at least 3), kept within one grid step of the
// best point. With fewer points, or a parabola that does not open
// upwards, it is the best grid rate itself.
func vertex(x, y []float64) (float64, int) {
	i := 0
	for j, v := range y {
		if v < y[i] || math.IsNaN(y[i]) && !math.IsNaN(v) {
			i = j
		}
	}
	// Least squares of y on (1, u, u^2), u = x - x[i], over the window.
	var s [5]float64 // sums of u^k
	var t [3]float64 // sums of y u^k
	n := 0
	for j := max(i-fitHalfWidth, 0); j <= min(i+fitHalfWidth, len(y)-1); j++ {
		if math.IsInf(y[j], 0) || math.IsNaN(y[j]) {
			continue
		}
		u, pw := x[j]-x[i], 1.0
		for k := range s {
			s[k] += pw
			if k < 3 {
				t[k] += y[j] * pw
			}
			pw *= u
		}
		n++
	}
	if n < 3 {
		return x[i], i
	}
	coef, ok := solve3([3][3]float64{{s[0], s[1], s[2]}, {s[1], s[2], s[3]}, {s[2], s[3], s[4]}}, t)
	if !ok || !(coef[2] > 0) {
		return x[i], i
	}
	h := math.Abs(x[min(i+1, len(x)-1)] - x[max(i-1, 0)])
	if len(x) > 1 && i > 0 && i < len(x)-1 {
		h /= 2
	}
	u := math.Max(-h, math.Min(h, -coef[1]/(2*coef[2])))
	return x[i] + u, i
}

// fitHalfWidth is the number of grid points on either side of the best
// learning rate that the parabola of vertex is fitted to: 2 at half-octave
// spacing is one octave either way, where the loss against log2 lr is
// close to a parabola.
const fitHalfWidth = 2

// solve3 solves the 3x3 system a z = b by Cramer's rule; ok is false if a
// is singular.
func solve3(a [3][3]float64, b [3]float64) (z [3]float64, ok bool) {
	det := func(m [3][3]float64) float64 {
		return m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) - m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) +
			m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
	}
	d := det(a)
	if d == 0 || math.IsNaN(d) {
		return z, false
	}
	for k := range 3 {
		m := a
		for r := range 3 {
			m[r][k] = b[r]
		}
		z[k] = det(m) / d
	}
	return z, true
}

// percentiles returns the 2.5% and 97.5% percentiles of v (sorted in
// place); with no samples, both are fallback.
func percentiles(v []float64, fallback float64) (lo, hi float64) {
	if len(v) == 0 {
		return fallback, fallback
	}
	slices.Sort(v)
	q := func(p float64) float64 {
		pos := p * float64(len(v)-1)
		i := int(pos)
		if i+1 >= len(v) {
			return v[len(v)-1]
		}
		f := pos - float64(i)
		return v[i]*(1-f) + v[i+1]*f
	}
	return q(0.025), q(0.975)
}
