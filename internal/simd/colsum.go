package simd

import (
	"fmt"
	"unsafe"
)

// colSumKernel is a tier's fused ReLU-backward kernel for one element type:
// fn handles a block whose column count is a positive multiple of vl (see
// maskPositiveColSumGeneric for the contract; ld is in bytes there).
type colSumKernel struct {
	fn func(dz, g, y, sum unsafe.Pointer, ld, rows, cols int)
	vl int
}

// MaskPositiveColSum is the backward pass of ReLU(X W^T + b) for the
// pre-activation gradient and the bias gradient in one pass over memory:
// for the rows x cols matrices dz, g, y with row stride ld it sets
//
//	dz[r*ld+j] = g[r*ld+j] if y[r*ld+j] > 0, else +0   (MaskPositive)
//	sum[j]     = dz[0*ld+j] + dz[1*ld+j] + ... + dz[(rows-1)*ld+j]
//
// with the sums added in row order, so the result is bit-identical to
// MaskPositive row by row followed by a row-by-row column sum (the order
// of SumAxis). rows must be >= 1.
func MaskPositiveColSum[T Float](dz, g, y []T, ld, rows, cols int, sum []T) {
	if rows < 1 || cols < 0 || cols > ld && rows > 1 {
		panic(fmt.Sprintf("simd.MaskPositiveColSum: rows %d, cols %d, ld %d", rows, cols, ld))
	}
	if cols == 0 {
		return
	}
	n := (rows-1)*ld + cols
	if len(dz) < n || len(g) < n || len(y) < n || len(sum) < cols {
		panic(fmt.Sprintf("simd.MaskPositiveColSum: %d x %d (ld %d) needs %d elements, have dz %d, g %d, y %d, sum %d (of %d)",
			rows, cols, ld, n, len(dz), len(g), len(y), len(sum), cols))
	}
	k := cur.cs64
	if isF32[T]() {
		k = cur.cs32
	}
	done := 0
	if k.fn != nil && cols >= k.vl {
		var z T
		size := int(unsafe.Sizeof(z))
		// Column blocks of about colSumChunk elements per call: assembly
		// is not preemptible, and one call over a large matrix would hold
		// off the garbage collector's stop-the-world pauses.
		step := max(k.vl, colSumChunk/rows/k.vl*k.vl)
		for body := cols / k.vl * k.vl; done < body; {
			w := min(step, body-done)
			k.fn(unsafe.Pointer(&dz[done]), unsafe.Pointer(&g[done]), unsafe.Pointer(&y[done]), unsafe.Pointer(&sum[done]), ld*size, rows, w)
			done += w
		}
	}
	if done < cols {
		maskPositiveColSumGeneric(dz[done:], g[done:], y[done:], ld, rows, cols-done, sum[done:])
	}
}

// colSumChunk bounds the elements of one MaskPositiveColSum kernel call.
const colSumChunk = 1 << 16

// maskPositiveColSumGeneric is MaskPositiveColSum in Go: row 0 sets the
// sums, every later row adds to them.
func maskPositiveColSumGeneric[T Float](dz, g, y []T, ld, rows, cols int, sum []T) {
	sum = sum[:cols]
	for r := 0; r < rows; r++ {
		o := r * ld
		d, gr, yr := dz[o:o+cols], g[o:o+cols], y[o:o+cols]
		for j := range d {
			v := T(0)
			if yr[j] > 0 {
				v = gr[j]
			}
			d[j] = v
			if r == 0 {
				sum[j] = v
			} else {
				sum[j] += v
			}
		}
	}
}
