package data

import (
	"fmt"
	"math"

	"github.com/gradflow/gradflow/tensor"
)

// ScaleMethod selects what a Scaler fits.
type ScaleMethod int

const (
	// Standardize maps each column to mean 0 and standard deviation 1:
	// x' = (x - mean) / std, with the population std (divisor n).
	Standardize ScaleMethod = iota
	// MinMax maps each column's [min, max] onto [0, 1]:
	// x' = (x - min) / (max - min).
	MinMax
	// StandardizeGlobal uses one mean and standard deviation over all
	// features (every column gets the same Center and Scale). For images
	// this is the usual choice: per-pixel statistics would blow up the
	// rare non-zero values of nearly constant border pixels.
	StandardizeGlobal
)

// String returns "standardize" or "minmax".
func (m ScaleMethod) String() string {
	switch m {
	case Standardize:
		return "standardize"
	case MinMax:
		return "minmax"
	case StandardizeGlobal:
		return "standardize_global"
	}
	return fmt.Sprintf("ScaleMethod(%d)", int(m))
}

// Scaler is a per-column affine map x' = (x - Center[j]) / Scale[j].
//
// Fit it on the training features only and Transform every split with it,
// so that no statistic of validation or test data leaks into training.
// The parameters are float64 whatever T is, and exported, so they can be
// saved with a checkpoint and the same map applied at inference.
type Scaler[T tensor.Float] struct {
	Method ScaleMethod
	Center []float64
	// Scale is never 0: a constant column gets 1, so it maps to 0
	// instead of dividing by zero.
	Scale []float64
}

// Fit computes Center and Scale from the columns of the [n, d] tensor x,
// accumulating in float64 (two passes for the variance, for accuracy).
func (s *Scaler[T]) Fit(x *tensor.Tensor[T]) error {
	if x == nil {
		return fmt.Errorf("data: scaler fit on a nil tensor")
	}
	shape := x.Shape()
	if len(shape) != 2 || shape[0] < 1 || shape[1] < 1 {
		return fmt.Errorf("data: scaler fit on shape %v, want [n, d] with n, d >= 1", shape)
	}
	n, d := shape[0], shape[1]
	v := x.Data()
	center := make([]float64, d)
	scale := make([]float64, d)
	switch s.Method {
	case Standardize:
		for i := range n {
			for j, xv := range v[i*d : (i+1)*d] {
				center[j] += float64(xv)
			}
		}
		for j := range center {
			center[j] /= float64(n)
		}
		for i := range n {
			for j, xv := range v[i*d : (i+1)*d] {
				dev := float64(xv) - center[j]
				scale[j] += dev * dev
			}
		}
		for j := range scale {
			scale[j] = math.Sqrt(scale[j] / float64(n))
		}
	case StandardizeGlobal:
		var sum, ss float64
		for _, xv := range v[:n*d] {
			sum += float64(xv)
		}
		mean := sum / float64(n*d)
		for _, xv := range v[:n*d] {
			dev := float64(xv) - mean
			ss += dev * dev
		}
		std := math.Sqrt(ss / float64(n*d))
		for j := range center {
			center[j], scale[j] = mean, std
		}
	case MinMax:
		hi := make([]float64, d)
		for j := range d {
			center[j], hi[j] = math.Inf(1), math.Inf(-1)
		}
		for i := range n {
			for j, xv := range v[i*d : (i+1)*d] {
				center[j] = math.Min(center[j], float64(xv))
				hi[j] = math.Max(hi[j], float64(xv))
			}
		}
		for j := range scale {
			scale[j] = hi[j] - center[j]
		}
	default:
		return fmt.Errorf("data: unknown scale method %v", s.Method)
	}
	for j, sc := range scale {
		if math.IsNaN(sc) || math.IsInf(sc, 0) || math.IsNaN(center[j]) || math.IsInf(center[j], 0) {
			return fmt.Errorf("data: scaler fit: column %d has non-finite values", j)
		}
		if sc == 0 {
			scale[j] = 1
		}
	}
	s.Center, s.Scale = center, scale
	return nil
}

// Transform applies the fitted map to x in place. x must have as many
// columns as the data Fit saw.
func (s *Scaler[T]) Transform(x *tensor.Tensor[T]) error {
	d, err := s.check(x)
	if err != nil {
		return err
	}
	v := x.Data()
	for i := 0; i < len(v); i += d {
		row := v[i : i+d]
		for j := range row {
			row[j] = T((float64(row[j]) - s.Center[j]) / s.Scale[j])
		}
	}
	return nil
}

// Inverse undoes Transform in place: x = x' * Scale[j] + Center[j]. Use it
// to report predictions of a scaled target in the original units.
func (s *Scaler[T]) Inverse(x *tensor.Tensor[T]) error {
	d, err := s.check(x)
	if err != nil {
		return err
	}
	v := x.Data()
	for i := 0; i < len(v); i += d {
		row := v[i : i+d]
		for j := range row {
			row[j] = T(float64(row[j])*s.Scale[j] + s.Center[j])
		}
	}
	return nil
}

func (s *Scaler[T]) check(x *tensor.Tensor[T]) (int, error) {
	if s.Center == nil {
		return 0, fmt.Errorf("data: scaler used before Fit")
	}
	if x == nil {
		return 0, fmt.Errorf("data: scaler applied to a nil tensor")
	}
	shape := x.Shape()
	if len(shape) != 2 || shape[1] != len(s.Center) || len(s.Scale) != len(s.Center) {
		return 0, fmt.Errorf("data: scaler fitted on %d columns, applied to shape %v", len(s.Center), shape)
	}
	return shape[1], nil
}

// FitScaler fits a Scaler of the given method on train.X and transforms the
// features of train and of every other dataset (validation, test) with it.
// Nil datasets are skipped, so the nil parts returned by Split can be
// passed directly.
func FitScaler[T tensor.Float](method ScaleMethod, train *Dataset[T], others ...*Dataset[T]) (*Scaler[T], error) {
	if train == nil {
		return nil, fmt.Errorf("data.FitScaler: the training dataset is nil")
	}
	s := &Scaler[T]{Method: method}
	if err := s.Fit(train.X); err != nil {
		return nil, err
	}
	for _, ds := range append([]*Dataset[T]{train}, others...) {
		if ds == nil {
			continue
		}
		if err := s.Transform(ds.X); err != nil {
			return nil, err
		}
	}
	return s, nil
}
