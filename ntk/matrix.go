package ntk

import (
	"errors"
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// EmpiricalGram returns the empirical NTK of m on the rows of x with
// themselves, the numbers of Empirical(m, x, nil, opts), as a float64
// symmetric matrix: n x n traced over the outputs, or nk x nk with
// opts.Full, with row and column i*k+a for point i and output a. It passes
// as it is to NewPredictor, Spectrum, MaxLearningRate and gonum's symmetric
// routines. Both triangles of its storage are set, so a *mat.Dense view
// of the same data (mat.NewDense(side, side, g.RawSymmetric().Data)) is
// valid too.
//
// The kernel exists so that the analysis, which is float64 and gonum,
// takes the empirical NTK without conversion code. A traced float64
// kernel is computed in the matrix's storage, without a copy; a float32
// kernel is converted once, a full one permuted once into (point, output)
// order (see the package documentation).
//
// dst, if not nil, receives the kernel and is returned, so that repeated
// measurements reuse one matrix: an empty dst (gonum's Reset) is resized,
// any other must already have the kernel's side, else EmpiricalGram
// panics. With a nil dst a new matrix is allocated. On error dst holds no
// valid kernel. Errors are those of Empirical, and an empty x (gonum has
// no empty matrices).
func EmpiricalGram[T tensor.Float](dst *mat.SymDense, m nn.Module[T], x *tensor.Tensor[T], opts Options) (*mat.SymDense, error) {
	if err := nonNilModel("EmpiricalGram", m); err != nil {
		return nil, err
	}
	if err := nonNilTensors("EmpiricalGram", []string{"x"}, x); err != nil {
		return nil, err
	}
	k, err := empiricalWidth("EmpiricalGram", m, x, nil)
	if err != nil {
		return nil, err
	}
	if x.Dim(0) == 0 {
		return nil, errors.New("ntk: EmpiricalGram of no inputs (gonum has no empty matrices)")
	}
	side := x.Dim(0)
	if opts.Full {
		side *= k
	}
	dst = symDst("EmpiricalGram", dst, side)
	raw := dst.RawSymmetric()
	if err := kernelInto(raw.Data, raw.Stride, side, side, m, x, nil, k, opts); err != nil {
		return nil, err
	}
	return dst, nil
}

// EmpiricalCross returns the empirical NTK of m between the rows of x1
// and those of x2, the numbers of Empirical(m, x1, x2, opts), as a float64
// matrix: n1 x n2 traced over the outputs, or n1 k x n2 k with opts.Full
// in (point, output) order as for EmpiricalGram. With x1 the test and x2
// the training inputs it is the kTestTrain argument of Predictor's
// methods. dst is used as by EmpiricalGram (an empty one is resized with
// ReuseAs).
func EmpiricalCross[T tensor.Float](dst *mat.Dense, m nn.Module[T], x1, x2 *tensor.Tensor[T], opts Options) (*mat.Dense, error) {
	k, err := empiricalWidth("EmpiricalCross", m, x1, x2)
	if err != nil {
		return nil, err
	}
	r, c := x1.Dim(0), x1.Dim(0)
	if x2 != nil {
		c = x2.Dim(0)
	}
	if r == 0 || c == 0 {
		return nil, errors.New("ntk: EmpiricalCross of no inputs (gonum has no empty matrices)")
	}
	if opts.Full {
		r, c = r*k, c*k
	}
	switch {
	case dst == nil:
		dst = mat.NewDense(r, c, nil)
	case dst.IsEmpty():
		dst.ReuseAs(r, c)
	default:
		if dr, dc := dst.Dims(); dr != r || dc != c {
			panic(fmt.Sprintf("ntk.EmpiricalCross: dst is %d x %d, the kernel %d x %d", dr, dc, r, c))
		}
	}
	raw := dst.RawMatrix()
	if err := kernelInto(raw.Data, raw.Stride, r, c, m, x1, x2, k, opts); err != nil {
		return nil, err
	}
	return dst, nil
}

// kernelInto writes the empirical kernel (x2 nil: x1 with itself) into the
// r x c float64 matrix with the given storage and stride. A traced float64
// kernel in contiguous storage is computed in place; any other is
// computed into a tensor of T and converted.
func kernelInto[T tensor.Float](data []float64, stride, r, c int, m nn.Module[T], x1, x2 *tensor.Tensor[T], k int, opts Options) error {
	if d, ok := any(data).([]T); ok && !opts.Full && stride == c {
		out := tensor.FromSlice(d[:r*c], r, c)
		out.Zero()
		return empiricalInto(out, m, x1, x2, k, opts)
	}
	t, err := Empirical(m, x1, x2, opts)
	if err != nil {
		return err
	}
	writeMatrix(data, stride, t)
	return nil
}

// writeMatrix writes the kernel t, [n1, n2] or [n1, n2, k, k], into the
// float64 matrix storage dst with the given stride, in (point, output)
// order: t[i, j, a, b] goes to row i*k+a, column j*k+b.
func writeMatrix[T tensor.Float](dst []float64, stride int, t *tensor.Tensor[T]) {
	n1, n2, k := t.Dim(0), t.Dim(1), 1
	if t.NDim() == 4 {
		k = t.Dim(2)
	}
	src := t.Data()
	if k == 1 {
		for i := 0; i < n1; i++ {
			row := dst[i*stride : i*stride+n2]
			for j, v := range src[i*n2 : (i+1)*n2] {
				row[j] = float64(v)
			}
		}
		return
	}
	for i := 0; i < n1; i++ {
		for a := 0; a < k; a++ {
			row := dst[(i*k+a)*stride : (i*k+a)*stride+n2*k]
			for j := 0; j < n2; j++ {
				blk := src[((i*n2+j)*k+a)*k : ((i*n2+j)*k+a+1)*k]
				for b, v := range blk {
					row[j*k+b] = float64(v)
				}
			}
		}
	}
}

// symDst returns dst ready to receive a side x side kernel: a new matrix
// for a nil dst, an empty one resized; any other must have that side, else
// symDst panics with a message naming function fn.
func symDst(fn string, dst *mat.SymDense, side int) *mat.SymDense {
	switch {
	case dst == nil:
		dst = mat.NewSymDense(side, nil)
	case dst.IsEmpty():
		dst.ReuseAsSym(side)
	case dst.SymmetricDim() != side:
		panic(fmt.Sprintf("ntk.%s: dst is %d x %d, the kernel %d x %d", fn, dst.SymmetricDim(), dst.SymmetricDim(), side, side))
	}
	return dst
}

// symOf returns the square kernel t [n, n] as a float64 symmetric matrix:
// a view of t's storage when T is float64, else t converted into dst
// (reused when it is n x n, allocated when nil or of another size).
func symOf[T tensor.Float](dst *mat.SymDense, t *tensor.Tensor[T]) *mat.SymDense {
	n := t.Dim(0)
	if d, ok := any(t.Data()).([]float64); ok {
		return mat.NewSymDense(n, d)
	}
	if dst == nil || dst.SymmetricDim() != n {
		dst = mat.NewSymDense(n, nil)
	}
	raw := dst.RawSymmetric()
	writeMatrix(raw.Data, raw.Stride, t)
	return dst
}

// matrixOf returns the 2-D tensor t as a float64 matrix: a view of its
// storage when T is float64, a converted copy otherwise.
func matrixOf[T tensor.Float](t *tensor.Tensor[T]) *mat.Dense {
	if d, ok := any(t).(*tensor.Tensor[float64]); ok {
		return tensor.ToDense(d)
	}
	m := mat.NewDense(t.Dim(0), t.Dim(1), nil)
	writeMatrix(m.RawMatrix().Data, t.Dim(1), t)
	return m
}
