package ntk

import (
	"testing"

	"github.com/gradflow/gradflow/nn"
)

// TestStructuredFlopsHandCount checks StructuredFlops on a 3-4-2 MLP
// against products counted by hand. Per row, the forward pass is
// 2(3*4 + 4*2) = 40 flops and the backward pass of k = 2 outputs through
// the second layer 2*2*4*2 = 32. Per pair of rows, traced: layer 0 adds
// 2*3 (H H^T) + 2*2*4 (G G^T) = 22, layer 1 adds 2*4 + 2*2*2 = 16; full
// replaces 2 k d_{l+1} by 2 k^2 d_{l+1}: 6 + 32 = 38 and 8 + 16 = 24.
func TestStructuredFlopsHandCount(t *testing.T) {
	m := newMLP(t, nn.MLPConfig{Dims: []int{3, 4, 2}}, 1)
	const feat = 40 + 32
	onlyW1 := func(name string) bool { return name == m.Layers[1].Weight.Name }
	for _, c := range []struct {
		name   string
		n1, n2 int
		same   bool
		opts   Options
		want   int64
	}{
		{"same traced", 5, 5, true, Options{}, 5*feat + 25*(22+16)},
		{"same full", 5, 5, true, Options{Full: true}, 5*feat + 25*(38+24)},
		{"x1 x2 traced", 5, 3, false, Options{}, 8*feat + 15*(22+16)},
		// One row per chunk: 15 blocks on and above the diagonal, the 10
		// off the diagonal recompute their x2 row's features.
		{"same chunked", 5, 5, true, Options{MemoryBudget: 1}, (5+10)*feat + 15*(22+16)},
		// One row per chunk, x1 != x2: x2's features per block.
		{"x1 x2 chunked", 2, 3, false, Options{MemoryBudget: 1}, (2+6)*feat + 6*(22+16)},
		// Only the second layer's weight: its H H^T and G G^T.
		{"params", 5, 5, true, Options{Params: onlyW1}, 5*feat + 25*(8+8)},
		{"empty", 0, 0, true, Options{}, 0},
		// 300 rows, one chunk, whose diagonal block is formed as strips
		// of 128, 128 and 44 rows against the columns from their diagonal
		// on: 128*300 + 128*172 + 44*44 = 62352 pairs.
		{"split diagonal", 300, 300, true, Options{}, 300*feat + 62352*(22+16)},
		{"no split below 256", 255, 255, true, Options{}, 255*feat + 255*255*(22+16)},
		{"x1 x2 no split", 300, 300, false, Options{}, 600*feat + 300*300*(22+16)},
	} {
		got, err := StructuredFlops[float64](m, c.n1, c.n2, c.same, c.opts)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s: StructuredFlops = %d, want %d", c.name, got, c.want)
		}
	}
	if _, err := StructuredFlops[float64](m, 5, 4, true, Options{}); err == nil {
		t.Error("same with n2 != n1: no error")
	}
	if _, err := StructuredFlops[float64](nn.NewSequential[float64](), 5, 5, true, Options{}); err == nil {
		t.Error("non-MLP module: no error")
	}
}
