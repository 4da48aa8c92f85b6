package powerlaw_test

import (
	"fmt"

	"github.com/gradflow/gradflow/internal/powerlaw"
)

// The width exponent of a quantity that halves when the width quadruples.
func ExampleSlope() {
	widths := []float64{64, 256, 1024}
	change := []float64{0.4, 0.2, 0.1}
	fmt.Printf("%+.2f\n", powerlaw.Slope(widths, change))
	// Output: -0.50
}
