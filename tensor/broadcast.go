package tensor

import (
	"errors"
	"strconv"
)

// BroadcastShapes returns the shape that a and b broadcast to under NumPy's
// rules: the shapes are aligned at their last dimension, a missing leading
// dimension counts as 1, and in each position the sizes must be equal or one
// of them must be 1 (the result takes the other). The error names both
// shapes when they do not broadcast.
func BroadcastShapes(a, b []int) ([]int, error) {
	var out [MaxRank]int
	r, ok := BroadcastInto(&out, a, b)
	if !ok {
		if len(a) > MaxRank || len(b) > MaxRank {
			return nil, errors.New("tensor: shapes " + shapeStr(a) + " and " + shapeStr(b) +
				" exceed MaxRank = " + strconv.Itoa(MaxRank))
		}
		return nil, errors.New("tensor: shapes " + shapeStr(a) + " and " + shapeStr(b) + " do not broadcast")
	}
	return append([]int{}, out[:r]...), nil
}

// BroadcastInto writes the broadcast shape of a and b into out and returns
// its rank; ok is false if the shapes do not broadcast or a rank exceeds
// MaxRank. It is BroadcastShapes without the allocation, for the hot paths
// of elementwise ops and their gradients.
func BroadcastInto(out *[MaxRank]int, a, b []int) (r int, ok bool) {
	r = max(len(a), len(b))
	if r > MaxRank {
		return 0, false
	}
	for i := 1; i <= r; i++ {
		da, db := 1, 1
		if i <= len(a) {
			da = a[len(a)-i]
		}
		if i <= len(b) {
			db = b[len(b)-i]
		}
		switch {
		case da == db, db == 1:
			out[r-i] = da
		case da == 1:
			out[r-i] = db
		default:
			return 0, false
		}
	}
	return r, true
}

// alignedStrides writes into st the element strides of a contiguous tensor
// of shape s when it is read as if broadcast to out (rank r): a dimension
// that is missing or of size 1 where out is larger gets stride 0, so moving
// along it re-reads the same elements.
func alignedStrides(st *[MaxRank]int, s []int, out *[MaxRank]int, r int) {
	stride := 1
	off := r - len(s)
	for i := r - 1; i >= 0; i-- {
		j := i - off
		if j < 0 {
			st[i] = 0
			continue
		}
		if s[j] == 1 && out[i] != 1 {
			st[i] = 0
		} else {
			st[i] = stride
		}
		stride *= s[j]
	}
}

// nOperands is the number of tensors a strided loop walks together: the
// destination and up to two sources.
const nOperands = 3

// stridedLoop walks up to three tensors of a common (broadcast) shape in
// row-major order, one contiguous run of the innermost dimension at a time.
//
// Before the walk, dimensions of size 1 are dropped and adjacent dimensions
// are merged whenever every operand steps through them as through one
// longer dimension. This turns the common cases into long runs: equal
// shapes become a single run over all the data, and a row vector broadcast
// over a matrix becomes one run per row. The innermost stride of every
// operand is then 0 (broadcast: the run re-reads one element) or 1.
//
// All state lives in fixed-size arrays so a stridedLoop on the stack costs
// no allocation.
type stridedLoop struct {
	outer  int                     // number of outer dimensions
	shape  [MaxRank]int            // sizes of the outer dimensions
	stride [nOperands][MaxRank]int // per-operand strides of the outer dimensions
	idx    [MaxRank]int            // current outer index
	off    [nOperands]int          // current offset of each operand's run
	n      int                     // run length (innermost dimension)
	inner  [nOperands]int          // per-operand innermost stride, 0 or 1
	empty  bool                    // the shape has a zero dimension
}

// init prepares the walk of the shape out[:r] with per-operand strides st.
func (l *stridedLoop) init(out *[MaxRank]int, r int, st *[nOperands][MaxRank]int) {
	*l = stridedLoop{}
	var shape [MaxRank]int
	var stride [nOperands][MaxRank]int
	k := 0 // number of dimensions kept so far
	for i := 0; i < r; i++ {
		d := out[i]
		if d == 0 {
			l.empty = true
			return
		}
		if d == 1 {
			continue
		}
		if k > 0 {
			merge := true
			for o := 0; o < nOperands; o++ {
				if stride[o][k-1] != st[o][i]*d {
					merge = false
					break
				}
			}
			if merge {
				shape[k-1] *= d
				for o := 0; o < nOperands; o++ {
					stride[o][k-1] = st[o][i]
				}
				continue
			}
		}
		shape[k] = d
		for o := 0; o < nOperands; o++ {
			stride[o][k] = st[o][i]
		}
		k++
	}
	if k == 0 {
		// Every dimension is 1: a single element.
		l.n = 1
		return
	}
	l.n = shape[k-1]
	for o := 0; o < nOperands; o++ {
		l.inner[o] = stride[o][k-1]
	}
	l.outer = k - 1
	copy(l.shape[:l.outer], shape[:l.outer])
	for o := 0; o < nOperands; o++ {
		copy(l.stride[o][:l.outer], stride[o][:l.outer])
	}
}

// next advances to the next run and reports whether there is one.
func (l *stridedLoop) next() bool {
	for d := l.outer - 1; d >= 0; d-- {
		l.idx[d]++
		for o := 0; o < nOperands; o++ {
			l.off[o] += l.stride[o][d]
		}
		if l.idx[d] < l.shape[d] {
			return true
		}
		for o := 0; o < nOperands; o++ {
			l.off[o] -= l.stride[o][d] * l.shape[d]
		}
		l.idx[d] = 0
	}
	return false
}
