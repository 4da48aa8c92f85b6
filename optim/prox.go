package optim

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/gradflow/gradflow/tensor"
)

// Prox is a closed convex function g (a regularizer or the indicator of a
// convex set) whose proximal operator
//
//	prox_{eta g}(x) = argmin_z  g(z) + |z - x|^2 / (2 eta)
//
// is cheap. Proximal methods (ProxSGD, FISTA, SVRG and SAGA with a Prox)
// apply it to each parameter tensor separately, so g is separable across
// parameters. The optimality condition that characterizes z = prox(x) is
// (x - z)/eta in the subdifferential of g at z.
type Prox[T tensor.Float] interface {
	// Prox sets dst = prox_{eta g}(x) for eta > 0; dst may be x.
	Prox(dst, x []T, eta float64)
	// Value returns g(x): +Inf outside the set for an indicator.
	Value(x []T) float64
	// Validate reports an invalid parameter (a negative weight, an empty
	// box, ...), naming it.
	Validate() error
}

// L1 is g(x) = Lambda |x|_1 (the lasso penalty). Its prox is the
// soft-threshold z_i = sign(x_i) max(|x_i| - eta Lambda, 0).
type L1[T tensor.Float] struct{ Lambda float64 }

// Prox soft-thresholds x at eta*Lambda.
func (r L1[T]) Prox(dst, x []T, eta float64) { softThreshold(dst, x, T(eta*r.Lambda), 1) }

// Value returns Lambda |x|_1.
func (r L1[T]) Value(x []T) float64 { return r.Lambda * l1Norm(x) }

// Validate requires Lambda >= 0.
func (r L1[T]) Validate() error { return checkWeight("L1", "Lambda", r.Lambda) }

// L2Squared is g(x) = (Lambda/2) |x|^2 (ridge, weight decay). Its prox is
// z = x / (1 + eta Lambda).
type L2Squared[T tensor.Float] struct{ Lambda float64 }

// Prox scales x by 1/(1 + eta Lambda).
func (r L2Squared[T]) Prox(dst, x []T, eta float64) {
	s := T(1 / (1 + eta*r.Lambda))
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = v * s
	}
}

// Value returns (Lambda/2) |x|^2.
func (r L2Squared[T]) Value(x []T) float64 { return r.Lambda / 2 * sumSquares(x) }

// Validate requires Lambda >= 0.
func (r L2Squared[T]) Validate() error { return checkWeight("L2Squared", "Lambda", r.Lambda) }

// ElasticNet is g(x) = L1 |x|_1 + (L2/2) |x|^2 (Zou and Hastie 2005). Its
// prox soft-thresholds at eta L1, then scales by 1/(1 + eta L2).
type ElasticNet[T tensor.Float] struct{ L1, L2 float64 }

// Prox applies the elastic-net proximal operator.
func (r ElasticNet[T]) Prox(dst, x []T, eta float64) {
	softThreshold(dst, x, T(eta*r.L1), T(1/(1+eta*r.L2)))
}

// Value returns L1 |x|_1 + (L2/2) |x|^2.
func (r ElasticNet[T]) Value(x []T) float64 { return r.L1*l1Norm(x) + r.L2/2*sumSquares(x) }

// Validate requires L1, L2 >= 0.
func (r ElasticNet[T]) Validate() error {
	if err := checkWeight("ElasticNet", "L1", r.L1); err != nil {
		return err
	}
	return checkWeight("ElasticNet", "L2", r.L2)
}

// GroupLasso is g(x) = Lambda sum_G |x_G|_2 over consecutive groups of
// GroupSize elements (Yuan and Lin 2006); for a row-major [out, in] weight
// matrix with GroupSize = in the groups are its rows (neurons), so the
// penalty prunes whole units. GroupSize 0 makes the whole tensor one group.
// Its prox shrinks each group toward 0: z_G = x_G max(0, 1 - eta Lambda / |x_G|).
// The tensor's length must be a multiple of GroupSize.
type GroupLasso[T tensor.Float] struct {
	Lambda    float64
	GroupSize int
}

func (r GroupLasso[T]) size(n int) int {
	if r.GroupSize == 0 {
		return max(n, 1)
	}
	if n%r.GroupSize != 0 {
		panic(fmt.Sprintf("optim: GroupLasso: length %d is not a multiple of GroupSize %d", n, r.GroupSize))
	}
	return r.GroupSize
}

// Prox applies block soft-thresholding to each group.
func (r GroupLasso[T]) Prox(dst, x []T, eta float64) {
	dst = dst[:len(x)]
	k := r.size(len(x))
	t := eta * r.Lambda
	for s := 0; s < len(x); s += k {
		xs, ds := x[s:s+k], dst[s:s+k]
		nrm := math.Sqrt(sumSquares(xs))
		f := T(0)
		if nrm > t {
			f = T(1 - t/nrm)
		}
		for i, v := range xs {
			ds[i] = v * f
		}
	}
}

// Value returns Lambda sum_G |x_G|_2.
func (r GroupLasso[T]) Value(x []T) float64 {
	k := r.size(len(x))
	var s float64
	for i := 0; i < len(x); i += k {
		s += math.Sqrt(sumSquares(x[i : i+k]))
	}
	return r.Lambda * s
}

// Validate requires Lambda >= 0 and GroupSize >= 0.
func (r GroupLasso[T]) Validate() error {
	if r.GroupSize < 0 {
		return errField("GroupLasso", "GroupSize", r.GroupSize, ">= 0")
	}
	return checkWeight("GroupLasso", "Lambda", r.Lambda)
}

// NonNegative is the indicator of the nonnegative orthant; its prox is the
// projection z = max(x, 0).
type NonNegative[T tensor.Float] struct{}

// Prox projects x onto x >= 0.
func (NonNegative[T]) Prox(dst, x []T, _ float64) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = max(v, 0)
	}
}

// Value returns 0 if every x_i >= 0, +Inf otherwise.
func (NonNegative[T]) Value(x []T) float64 {
	for _, v := range x {
		if !(v >= 0) {
			return math.Inf(1)
		}
	}
	return 0
}

// Validate always succeeds.
func (NonNegative[T]) Validate() error { return nil }

// Box is the indicator of {x : Lo <= x_i <= Hi}; its prox is clamping.
type Box[T tensor.Float] struct{ Lo, Hi float64 }

// Prox clamps x into [Lo, Hi].
func (r Box[T]) Prox(dst, x []T, _ float64) {
	lo, hi := T(r.Lo), T(r.Hi)
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = min(max(v, lo), hi)
	}
}

// Value returns 0 inside the box, +Inf outside.
func (r Box[T]) Value(x []T) float64 {
	for _, v := range x {
		if !(float64(v) >= r.Lo && float64(v) <= r.Hi) {
			return math.Inf(1)
		}
	}
	return 0
}

// Validate requires Lo <= Hi (infinite bounds are allowed).
func (r Box[T]) Validate() error {
	if !(r.Lo <= r.Hi) {
		return fmt.Errorf("optim: Box: Lo = %v, Hi = %v, want Lo <= Hi", r.Lo, r.Hi)
	}
	return nil
}

// L2Ball is the indicator of {x : |x|_2 <= Radius} over the whole tensor
// (max-norm constraints apply it per layer); its prox is the projection
// z = x min(1, Radius/|x|).
type L2Ball[T tensor.Float] struct{ Radius float64 }

// Prox projects x onto the ball.
func (r L2Ball[T]) Prox(dst, x []T, _ float64) {
	dst = dst[:len(x)]
	f := T(1)
	if nrm := math.Sqrt(sumSquares(x)); nrm > r.Radius {
		f = T(r.Radius / nrm)
	}
	for i, v := range x {
		dst[i] = v * f
	}
}

// Value returns 0 inside the ball, +Inf outside. A relative slack of a few
// rounding errors of T admits the output of Prox, whose norm can exceed
// Radius by rounding.
func (r L2Ball[T]) Value(x []T) float64 {
	slack := 1e-12
	if unsafe.Sizeof(T(0)) == 4 {
		slack = 1e-6
	}
	if math.Sqrt(sumSquares(x)) <= r.Radius*(1+slack) {
		return 0
	}
	return math.Inf(1)
}

// Validate requires Radius >= 0.
func (r L2Ball[T]) Validate() error { return checkWeight("L2Ball", "Radius", r.Radius) }

// softThreshold sets dst_i = scale * sign(x_i) max(|x_i| - t, 0), computed
// as x_i - clamp(x_i, -t, t): exact, and branch-free so that inputs of random
// sign do not cost a mispredicted branch per element.
func softThreshold[T tensor.Float](dst, x []T, t, scale T) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = (v - min(max(v, -t), t)) * scale
	}
}

func l1Norm[T tensor.Float](x []T) float64 {
	var s float64
	for _, v := range x {
		s += math.Abs(float64(v))
	}
	return s
}

func checkWeight(kind, field string, v float64) error {
	if !finiteNonNeg(v) {
		return errField(kind, field, v, "a finite number >= 0")
	}
	return nil
}
