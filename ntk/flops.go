package ntk

import (
	"fmt"

	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// StructuredFlops returns the floating-point operations, two per
// multiply-add, of the matrix products that Empirical performs with Method
// Structured for m (an *nn.MLP or *nn.Linear) on n1 rows of x1 and n2 rows
// of x2; same means x2 nil (the kernel of x1 with itself, n2 must equal
// n1). opts is read for Full, Params and MemoryBudget, which decide the
// products and the row chunks exactly as Empirical does; the count is that
// of Structured whatever opts.Method says. Divided by a measured time it
// gives the GFLOPS of the computation.
//
// With widths d_0, ..., d_L (layer l maps d_l to d_{l+1}), k = d_L outputs
// and chunks of r rows, the products are:
//
//   - features of a chunk (the forward pass and the batched backward pass of
//     all k outputs): 2 r sum_l d_l d_{l+1} + 2 r k sum_{l>=1} d_l d_{l+1};
//   - a block of r1 x r2 pairs, per layer whose weight or bias is selected:
//     2 r1 r2 d_l for H1 H2^T if its weight is selected, and 2 r1 r2 k
//     d_{l+1} for G1 G2^T traced (k^2 instead of k with Full).
//
// Features are computed once per row chunk of x1 and once per block for
// x2 (once in all when x2 fits one chunk and differs from x1). With same
// inputs only the blocks on and above the diagonal are formed, and a
// diagonal block of r >= 256 rows is formed as strips of s = max(128,
// ceil(r/4)) rows, each against the columns from its diagonal on. The element-wise work (activations,
// Hadamard products, sums into the result, the mirror copy) is O(n1 n2 L
// + n (sum_l d_l) k), small next to the products, and not counted.
func StructuredFlops[T tensor.Float](m nn.Module[T], n1, n2 int, same bool, opts Options) (int64, error) {
	net, ok := denseOf(m)
	if !ok {
		return 0, fmt.Errorf("ntk: structured NTK needs an *nn.MLP or *nn.Linear, got %T", m)
	}
	if n1 < 0 || n2 < 0 || (same && n2 != n1) {
		return 0, fmt.Errorf("ntk: StructuredFlops: sizes n1 = %d, n2 = %d (same %v)", n1, n2, same)
	}
	if n1 == 0 || n2 == 0 {
		return 0, nil
	}
	k := net.out()
	var fwd, bwd, perPair int64 // per row, per row, per pair of rows
	for l, layer := range net.layers {
		in, out := int64(layer.In()), int64(layer.Out())
		fwd += 2 * in * out
		if l > 0 {
			bwd += 2 * int64(k) * in * out
		}
		useW := opts.Params == nil || opts.Params(layer.Weight.Name)
		useB := layer.Bias != nil && (opts.Params == nil || opts.Params(layer.Bias.Name))
		if !useW && !useB {
			continue
		}
		if useW {
			perPair += 2 * in
		}
		if opts.Full {
			perPair += 2 * int64(k*k) * out
		} else {
			perPair += 2 * int64(k) * out
		}
	}
	feat := func(r int) int64 { return int64(r) * (fwd + bwd) }

	budget := opts.MemoryBudget
	if budget <= 0 {
		budget = DefaultMemoryBudget
	}
	c := chunkSize[T](int64(net.featureLen()), k, opts.Full, budget, max(n1, n2))
	// The walk of blocks.
	var flops int64
	cachedAll := !same && n2 <= c
	if cachedAll {
		flops += feat(n2)
	}
	for i0 := 0; i0 < n1; i0 += c {
		r1 := min(i0+c, n1) - i0
		flops += feat(r1)
		start := 0
		if same {
			start = i0
		}
		for j0 := start; j0 < n2; j0 += c {
			r2 := min(j0+c, n2) - j0
			if !(same && j0 == i0) && !cachedAll {
				flops += feat(r2)
			}
			flops += pairs(r1, r2, same && j0 == i0) * perPair
		}
	}
	return flops, nil
}

// pairs returns the pairs of rows a block of r1 x r2 forms: all, or for a
// diagonal block (r1 = r2) split by diagSplit, those of its strips: a
// strip of rows [p0, p0+s) against columns [p0, r1).
func pairs(r1, r2 int, diag bool) int64 {
	if s := diagSplit(r1); diag && s < r1 {
		var p int64
		for p0 := 0; p0 < r1; p0 += s {
			p += int64(min(p0+s, r1)-p0) * int64(r1-p0)
		}
		return p
	}
	return int64(r1) * int64(r2)
}
