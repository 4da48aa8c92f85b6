package tensor

import "strconv"

// Reshape returns a view of t with the given shape, sharing t's data. One
// dimension may be -1, in which case it is inferred from the number of
// elements. It panics if the shapes hold different numbers of elements.
func (t *Tensor[T]) Reshape(shape ...int) *Tensor[T] {
	infer := -1
	known := 1
	for i, d := range shape {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			panic("tensor.Reshape: invalid shape " + shapeStr(shape) + " (at most one -1, no other negative dimension)")
		default:
			known *= d
		}
	}
	s := append([]int{}, shape...)
	if infer >= 0 {
		if known == 0 || len(t.data)%known != 0 {
			panic("tensor.Reshape: cannot reshape " + shapeStr(t.shape) + " (" + strconv.Itoa(len(t.data)) +
				" elements) to " + shapeStr(shape))
		}
		s[infer] = len(t.data) / known
	}
	if n := numel("Reshape", s); n != len(t.data) {
		panic("tensor.Reshape: cannot reshape " + shapeStr(t.shape) + " (" + strconv.Itoa(len(t.data)) +
			" elements) to " + shapeStr(shape) + " (" + strconv.Itoa(n) + " elements)")
	}
	return &Tensor[T]{data: t.data, shape: s}
}

// Rows returns a view of the slices i..j-1 along the first dimension of t,
// sharing t's data: for a matrix, rows i to j-1; for a batch of images, the
// images i to j-1. It panics if t is a scalar or unless 0 <= i <= j <= Dim(0).
func (t *Tensor[T]) Rows(i, j int) *Tensor[T] {
	if len(t.shape) == 0 {
		panic("tensor.Rows: scalar tensor has no rows")
	}
	if i < 0 || j < i || j > t.shape[0] {
		panic("tensor.Rows: range [" + strconv.Itoa(i) + "," + strconv.Itoa(j) + ") out of bounds for shape " + shapeStr(t.shape))
	}
	row := 1
	for _, d := range t.shape[1:] {
		row *= d
	}
	s := append([]int{}, t.shape...)
	s[0] = j - i
	// The three-index slice keeps appends to the view's Data from
	// overwriting the rows that follow it.
	return &Tensor[T]{data: t.data[i*row : j*row : j*row], shape: s}
}

// Transpose returns the transpose of a matrix, or of each matrix in a batch:
// a 2-D tensor [m, n] becomes [n, m] and a 3-D tensor [b, m, n] becomes
// [b, n, m]. The result is a new contiguous tensor. Other ranks panic.
func Transpose[T Float](t *Tensor[T]) *Tensor[T] {
	switch len(t.shape) {
	case 2:
		return TransposeInto(New[T](t.shape[1], t.shape[0]), t)
	case 3:
		return TransposeInto(New[T](t.shape[0], t.shape[2], t.shape[1]), t)
	}
	panic("tensor.Transpose: need a 2-D or 3-D tensor, got shape " + shapeStr(t.shape))
}

// TransposeInto writes the transpose of t (see Transpose) into dst and
// returns dst. dst must have the transposed shape and must not share data
// with t.
func TransposeInto[T Float](dst, t *Tensor[T]) *Tensor[T] {
	r := len(t.shape)
	ok := (r == 2 || r == 3) && len(dst.shape) == r
	if ok {
		ok = dst.shape[r-1] == t.shape[r-2] && dst.shape[r-2] == t.shape[r-1] && (r == 2 || dst.shape[0] == t.shape[0])
	}
	if !ok {
		panic("tensor.TransposeInto: dst shape " + shapeStr(dst.shape) + " is not the transpose of " + shapeStr(t.shape))
	}
	m, n := t.shape[r-2], t.shape[r-1]
	batch := 1
	if r == 3 {
		batch = t.shape[0]
	}
	for b := 0; b < batch; b++ {
		transpose2D(dst.data[b*m*n:(b+1)*m*n], t.data[b*m*n:(b+1)*m*n], m, n)
	}
	return dst
}

// transpose2D writes the n x m transpose of the m x n matrix src into dst.
// It works on square tiles so that both the reads and the strided writes of
// a tile stay within a few cache lines, instead of striding through the
// whole of dst for every row of src.
func transpose2D[T Float](dst, src []T, m, n int) {
	const tile = 32
	for i0 := 0; i0 < m; i0 += tile {
		i1 := min(i0+tile, m)
		for j0 := 0; j0 < n; j0 += tile {
			j1 := min(j0+tile, n)
			for i := i0; i < i1; i++ {
				row := src[i*n : i*n+n]
				for j := j0; j < j1; j++ {
					dst[j*m+i] = row[j]
				}
			}
		}
	}
}
