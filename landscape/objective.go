package landscape

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Objective is a twice differentiable function f: R^n -> R seen through
// the oracles the estimators of this package need. Points and directions
// are flat float64 vectors: a model's parameters are flattened in the
// order of its Params (see ModelObjective), and the spectral estimators
// work in float64 whatever the model's element type, because Lanczos and
// power iteration lose orthogonality fast in float32.
//
// Implementations may reuse internal buffers, so an Objective is not safe
// for concurrent use; Value, Grad and HVP must not modify x or v.
type Objective interface {
	// Dim returns n, the length of points and directions.
	Dim() int
	// Value returns f(x).
	Value(x []float64) float64
	// Grad writes grad f(x) into dst and returns f(x).
	Grad(x, dst []float64) float64
	// HVP writes the Hessian-vector product (Hess f)(x) v into dst.
	HVP(x, v, dst []float64)
}

// Quadratic is f(x) = 0.5 x^T A x - b^T x + c with a symmetric A: the
// problem whose Hessian is A everywhere, used to check the estimators
// against a known spectrum.
type Quadratic struct {
	A *mat.SymDense
	B []float64 // nil means zero
	C float64
}

// NewQuadratic returns the quadratic with Hessian A = Q diag(eigs) Q^T for
// an orthogonal Q (eigs[i] is the eigenvalue of column i of Q), linear term
// b (nil for zero) and constant c. It returns an error if Q is not square
// with len(eigs) columns or b has the wrong length.
func NewQuadratic(q *mat.Dense, eigs, b []float64, c float64) (*Quadratic, error) {
	n := len(eigs)
	if r, k := q.Dims(); r != n || k != n {
		return nil, fmt.Errorf("landscape.NewQuadratic: Q is %dx%d, want %dx%d (len(eigs))", r, k, n, n)
	}
	if b != nil && len(b) != n {
		return nil, fmt.Errorf("landscape.NewQuadratic: len(b) = %d, want %d", len(b), n)
	}
	var scaled mat.Dense
	scaled.Apply(func(_, j int, v float64) float64 { return v * eigs[j] }, q)
	var a mat.Dense
	a.Mul(&scaled, q.T())
	s := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			// Average the two triangles so that rounding does not make
			// A slightly asymmetric.
			s.SetSym(i, j, 0.5*(a.At(i, j)+a.At(j, i)))
		}
	}
	return &Quadratic{A: s, B: b, C: c}, nil
}

// Dim implements Objective.
func (q *Quadratic) Dim() int { return q.A.SymmetricDim() }

// Value implements Objective.
func (q *Quadratic) Value(x []float64) float64 {
	xv := mat.NewVecDense(len(x), x)
	f := 0.5*mat.Inner(xv, q.A, xv) + q.C
	if q.B != nil {
		f -= dot(q.B, x)
	}
	return f
}

// Grad implements Objective: A x - b.
func (q *Quadratic) Grad(x, dst []float64) float64 {
	q.HVP(x, x, dst)
	if q.B != nil {
		for i, b := range q.B {
			dst[i] -= b
		}
	}
	return q.Value(x)
}

// HVP implements Objective: A v.
func (q *Quadratic) HVP(_, v, dst []float64) {
	d := mat.NewVecDense(len(dst), dst)
	d.MulVec(q.A, mat.NewVecDense(len(v), v))
}

// LeastSquares is f(x) = 0.5 |A x - b|^2, whose Hessian is A^T A. With a
// wide A (fewer rows than columns, full row rank) it is not strongly convex
// but satisfies the PL inequality with mu = lambda_min^+(A^T A) =
// lambda_min(A A^T) and f* = 0 (Karimi, Nutini and Schmidt 2016).
type LeastSquares struct {
	A *mat.Dense
	B []float64

	r []float64 // residual buffer
}

// Dim implements Objective.
func (l *LeastSquares) Dim() int { _, c := l.A.Dims(); return c }

func (l *LeastSquares) residual(x []float64) []float64 {
	m, _ := l.A.Dims()
	if len(l.r) != m {
		l.r = make([]float64, m)
	}
	rv := mat.NewVecDense(m, l.r)
	rv.MulVec(l.A, mat.NewVecDense(len(x), x))
	for i, b := range l.B {
		l.r[i] -= b
	}
	return l.r
}

// Value implements Objective.
func (l *LeastSquares) Value(x []float64) float64 {
	r := l.residual(x)
	return 0.5 * dot(r, r)
}

// Grad implements Objective: A^T (A x - b).
func (l *LeastSquares) Grad(x, dst []float64) float64 {
	r := l.residual(x)
	d := mat.NewVecDense(len(dst), dst)
	d.MulVec(l.A.T(), mat.NewVecDense(len(r), r))
	return 0.5 * dot(r, r)
}

// HVP implements Objective: A^T A v.
func (l *LeastSquares) HVP(_, v, dst []float64) {
	m, _ := l.A.Dims()
	av := mat.NewVecDense(m, nil)
	av.MulVec(l.A, mat.NewVecDense(len(v), v))
	d := mat.NewVecDense(len(dst), dst)
	d.MulVec(l.A.T(), av)
}

// Separable is f(x) = sum_i Phi(x_i) for a scalar function Phi with
// derivatives D1 and D2: f(x) = x^4 (Phi = x^4) is the textbook function
// that satisfies the Lojasiewicz inequality with exponent 3/4 but no PL
// inequality, since |f'|= 4|x|^3 = 4 f^{3/4}.
type Separable struct {
	N           int
	Phi, D1, D2 func(float64) float64
}

// Quartic returns the Separable f(x) = sum_i x_i^4 in n dimensions.
func Quartic(n int) *Separable {
	return &Separable{
		N:   n,
		Phi: func(x float64) float64 { x2 := x * x; return x2 * x2 },
		D1:  func(x float64) float64 { return 4 * x * x * x },
		D2:  func(x float64) float64 { return 12 * x * x },
	}
}

// Dim implements Objective.
func (s *Separable) Dim() int { return s.N }

// Value implements Objective.
func (s *Separable) Value(x []float64) float64 {
	f := 0.0
	for _, xi := range x {
		f += s.Phi(xi)
	}
	return f
}

// Grad implements Objective.
func (s *Separable) Grad(x, dst []float64) float64 {
	for i, xi := range x {
		dst[i] = s.D1(xi)
	}
	return s.Value(x)
}

// HVP implements Objective: the Hessian is diagonal.
func (s *Separable) HVP(x, v, dst []float64) {
	for i, xi := range x {
		dst[i] = s.D2(xi) * v[i]
	}
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

func norm(a []float64) float64 { return math.Sqrt(dot(a, a)) }

func axpy(alpha float64, x, y []float64) {
	for i, v := range x {
		y[i] += alpha * v
	}
}

func scal(alpha float64, x []float64) {
	for i := range x {
		x[i] *= alpha
	}
}
