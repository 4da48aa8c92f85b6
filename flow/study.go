package flow

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/landscape"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/train"
)

// StudyConfig describes the default experiment of "train flow": a small
// MLP on a subset of a real dataset, trained by full-batch gradient
// descent (or heavy ball) at several step sizes and compared with the
// plain and the modified gradient flow.
type StudyConfig struct {
	// Data is a data.LoadTask spec (default "digits", the embedded UCI
	// digits), of which the first N training rows are used (default 64).
	Data string `json:"data"`
	N    int    `json:"n"`
	// Arch is the MLP's dims as train.ParseArch reads them; "auto" (the
	// default) is one hidden layer of 16, small enough that a
	// tight-tolerance flow costs seconds.
	Arch string `json:"arch"`
	// Act is the hidden activation (default tanh: smooth, as the
	// expansion behind the modified flow needs).
	Act nn.Activation `json:"act"`
	// Loss is "ce", "mse" or "half_mse" (train.ParseLoss; default ce for
	// classes).
	Loss string `json:"loss"`
	// Seed draws the initialization and the data split.
	Seed uint64 `json:"seed"`
	CompareConfig
}

// withDefaults fills the zero fields.
func (c StudyConfig) withDefaults() StudyConfig {
	if c.Data == "" {
		c.Data = "digits"
	}
	if c.N == 0 {
		c.N = 64
	}
	if c.Arch == "" {
		c.Arch = "auto"
	}
	if c.Act == "" {
		c.Act = nn.Tanh
	}
	if c.Loss == "" {
		c.Loss = "auto"
	}
	if c.Etas == nil {
		c.Etas = []float64{0.4, 0.2, 0.1, 0.05}
	}
	if c.T == 0 {
		c.T = 2
	}
	if c.CompareConfig.Seed == 0 {
		c.CompareConfig.Seed = c.Seed
	}
	return c
}

// DefaultStudy returns the configuration of "train flow" without flags.
func DefaultStudy() StudyConfig { return StudyConfig{Seed: 1}.withDefaults() }

// StudyResult is the outcome of a Study.
type StudyResult struct {
	Config StudyConfig `json:"config"`
	Dims   []int       `json:"dims"`
	*CompareResult
}

// Study is a prepared experiment: data loaded, model built, settings
// checked.
type Study struct {
	cfg  StudyConfig
	p    Problem
	dims []int
}

// NewStudy checks cfg (defaults filled in), loads the data and builds the
// model. Its errors are about the configuration: the data spec, the
// architecture, the loss, the step sizes.
func NewStudy(cfg StudyConfig) (*Study, error) {
	cfg = cfg.withDefaults()
	cc := cfg.CompareConfig
	if err := cc.normalize(); err != nil {
		return nil, err
	}
	p, dims, err := cfg.problem()
	if err != nil {
		return nil, err
	}
	return &Study{cfg: cfg, p: p, dims: dims}, nil
}

// Config returns the study's configuration with defaults filled in.
func (s *Study) Config() StudyConfig { return s.cfg }

// Run runs Compare on the study's problem.
func (s *Study) Run(ctx context.Context) (*StudyResult, error) {
	res, err := Compare(ctx, s.p, s.cfg.CompareConfig)
	if err != nil {
		return nil, err
	}
	cfg := s.cfg
	cfg.CompareConfig = res.Config
	return &StudyResult{Config: cfg, Dims: s.dims, CompareResult: res}, nil
}

// problem builds the study's model, loss and fixed batch.
func (c StudyConfig) problem() (Problem, []int, error) {
	task, err := data.LoadTask[float64](c.Data, 0.2, c.Seed)
	if err != nil {
		return Problem{}, nil, fmt.Errorf("flow.Study: %w", err)
	}
	if c.N < 1 || c.N > task.Train.Len() {
		return Problem{}, nil, fmt.Errorf("flow.Study: N = %d, want 1..%d (the training rows of %s)", c.N, task.Train.Len(), c.Data)
	}
	dims := []int{task.Train.Dim(), 16, task.Outputs}
	if c.Arch != "auto" {
		if dims, err = train.ParseArch(c.Arch, task.Train.Dim(), task.Outputs); err != nil {
			return Problem{}, nil, fmt.Errorf("flow.Study: Arch %w", err)
		}
	}
	loss, oneHot, err := train.ParseLoss[float64](c.Loss, task.Classes > 0)
	if err != nil {
		return Problem{}, nil, fmt.Errorf("flow.Study: Loss %w", err)
	}
	rows := make([]int, c.N)
	for i := range rows {
		rows[i] = i
	}
	batch, err := landscape.BatchOf(task.Train, rows, oneHot)
	if err != nil {
		return Problem{}, nil, fmt.Errorf("flow.Study: %w", err)
	}
	model, err := nn.NewMLP[float64](nn.MLPConfig{Dims: dims, Activation: c.Act}, rand.New(rand.NewPCG(c.Seed, 0xf10)))
	if err != nil {
		return Problem{}, nil, fmt.Errorf("flow.Study: %w", err)
	}
	return Problem{Model: model, Loss: loss, Batch: batch}, dims, nil
}

// Dims returns the MLP's layer widths.
func (s *Study) Dims() []int { return s.dims }

// Problem returns the study's model, loss and batch.
func (s *Study) Problem() Problem { return s.p }
