package sweep

import (
	"context"
	"testing"

	"github.com/gradflow/gradflow/internal/testutil"
	"github.com/gradflow/gradflow/nn"
)

// TestRunStepAllocs: a sweep run's steps (train.Trainer with the meter as
// a callback) allocate nothing between measurements, full-batch and
// minibatch, regression and classification.
func TestRunStepAllocs(t *testing.T) {
	for name, c := range map[string]Config{
		"full-batch regression": {Dataset: Dataset{Kind: "teacher", N: 64, Dim: 8, Seed: 1}},
		"minibatch classes":     {Dataset: Dataset{Kind: "teacher-class", N: 64, Dim: 8, Seed: 1}, BatchSize: 16},
		"adam":                  {Dataset: Dataset{Kind: "teacher", N: 64, Dim: 8, Seed: 1}, Optimizers: []string{"adam"}},
	} {
		t.Run(name, func(t *testing.T) {
			c.Widths, c.Seeds, c.LRs = []int{64}, []uint64{1}, []float64{0.01}
			c.Parameterizations, c.KernelEvery = []nn.Parameterization{nn.MuP}, -1
			c.Steps, c.LogEvery = 1, 1
			base, err := c.withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			ds, err := makeDataset(base)
			if err != nil {
				t.Fatal(err)
			}
			spec := base.Runs()[0]
			prepare := func(steps int) func() error {
				c := base
				c.Steps, c.LogEvery = steps, steps // measured at 0 and at the end only
				mc := &meterCallback{c: c}
				model, tr, err := newRunTrainer(c, spec, ds, mc)
				if err != nil {
					t.Fatal(err)
				}
				mc.m = newMeter(c, model, ds, nil)
				return func() error {
					_, err := tr.Run(context.Background())
					if err == nil && len(mc.recs) != 1 {
						t.Errorf("%d records, want the last step's", len(mc.recs))
					}
					return err
				}
			}
			a, err := testutil.AllocsPerStep(100, prepare)
			if err != nil {
				t.Fatal(err)
			}
			if a > 0.05 {
				t.Fatalf("%.2f allocations per step, want 0", a)
			}
		})
	}
}
