package tensor

import (
	"gonum.org/v1/gonum/mat"
)

// ToDense returns a gonum matrix that shares t's data: changes through
// either are seen by the other. t must be 2-D with both dimensions
// non-zero (gonum has no empty matrices).
func ToDense(t *Tensor[float64]) *mat.Dense {
	if len(t.shape) != 2 || t.shape[0] == 0 || t.shape[1] == 0 {
		panic("tensor.ToDense: need a non-empty 2-D tensor, got shape " + shapeStr(t.shape))
	}
	return mat.NewDense(t.shape[0], t.shape[1], t.data)
}

// FromDense returns a new [r, c] tensor holding a copy of the elements of
// the r x c matrix m. Copying (rather than sharing) is what makes this safe
// for any mat.Matrix, including transposed and strided views.
func FromDense(m mat.Matrix) *Tensor[float64] {
	r, c := m.Dims()
	t := New[float64](r, c)
	if rm, ok := m.(mat.RawMatrixer); ok {
		raw := rm.RawMatrix()
		for i := 0; i < r; i++ {
			copy(t.data[i*c:(i+1)*c], raw.Data[i*raw.Stride:i*raw.Stride+c])
		}
		return t
	}
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			t.data[i*c+j] = m.At(i, j)
		}
	}
	return t
}

// Convert returns a copy of t with elements converted to U by Go's
// conversion rules (float64 to float32 rounds to nearest even; values
// beyond float32's range become ±Inf). It always copies, even when U is T.
func Convert[U, T Float](t *Tensor[T]) *Tensor[U] {
	return ConvertInto(New[U](t.shape...), t)
}

// ConvertInto writes the elements of t, converted to U, into dst and
// returns dst. The shapes must be equal.
func ConvertInto[U, T Float](dst *Tensor[U], t *Tensor[T]) *Tensor[U] {
	if !shapeEqual(dst.shape, t.shape) {
		panic("tensor.ConvertInto: dst shape " + shapeStr(dst.shape) + " does not match shape " + shapeStr(t.shape))
	}
	d, x := dst.data, t.data[:len(dst.data)]
	for i := range d {
		d[i] = U(x[i])
	}
	return dst
}
