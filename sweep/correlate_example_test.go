package sweep_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/gradflow/gradflow/sweep"
)

// Kendall's tau-b of a measure against a gap, with one tie in each (12
// concordant pairs, 1 discordant: 11/sqrt(14*14)), and its
// percentile bootstrap interval over the runs.
func ExampleKendallTau() {
	sharpness := []float64{1.5, 2.0, 2.0, 3.5, 4.0, 6.0}
	gap := []float64{0.10, 0.12, 0.20, 0.18, 0.25, 0.25}
	fmt.Printf("tau-b %.3f\n", sweep.KendallTau(sharpness, gap))
	lo, hi := sweep.BootstrapKendall(sharpness, gap, 1000, 0.95, rand.New(rand.NewPCG(1, 0x6b656e64)))
	fmt.Printf("95%% interval [%.2f, %.2f]\n", lo, hi)
	// Output:
	// tau-b 0.786
	// 95% interval [0.25, 1.00]
}
