package ntk

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/internal/nilcheck"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// The checks below give the package's public functions an error naming
// the argument for a nil model, tensor or matrix, where a method call on
// it would fail with a nil-pointer runtime error (a nil *nn.MLP or
// *mat.Dense in an interface is not == nil, hence nilcheck).

// errNil is the error of function fn given a nil argument called name.
func errNil(fn, name string) error { return fmt.Errorf("ntk.%s: %s is nil", fn, name) }

// nonNilModel returns an error if m is nil.
func nonNilModel[T tensor.Float](fn string, m nn.Module[T]) error {
	if nilcheck.Nil(m) {
		return errNil(fn, "the model")
	}
	return nil
}

// nonNilTensors returns an error naming the first nil tensor; names and xs
// go in pairs.
func nonNilTensors[T tensor.Float](fn string, names []string, xs ...*tensor.Tensor[T]) error {
	for i, x := range xs {
		if x == nil {
			return errNil(fn, names[i])
		}
	}
	return nil
}

// nonNilMatrix returns an error if a is nil.
func nonNilMatrix(fn, name string, a mat.Matrix) error {
	if nilcheck.Nil(a) {
		return errNil(fn, name)
	}
	return nil
}

// optional returns nil for a nil matrix, also a nil pointer in the
// interface, so that an optional argument given as a nil *mat.Dense means
// what nil means.
func optional(a mat.Matrix) mat.Matrix {
	if nilcheck.Nil(a) {
		return nil
	}
	return a
}
