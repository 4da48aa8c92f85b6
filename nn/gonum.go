package nn

import (
	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/tensor"
)

// WeightDense returns the weight of a float64 Linear layer as a gonum
// matrix [out, in] sharing its storage: changes through either are seen by
// the other (for spectra, norms and other linear algebra on weights).
func WeightDense(l *Linear[float64]) *mat.Dense { return tensor.ToDense(l.Weight.Value) }

// GradDense returns the weight gradient of a float64 Linear layer as a
// gonum matrix sharing its storage.
func GradDense(l *Linear[float64]) *mat.Dense { return tensor.ToDense(l.Weight.Grad) }
