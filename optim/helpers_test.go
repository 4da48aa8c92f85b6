package optim

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/tensor"
)

// vecParam returns a 1-D parameter holding a copy of x, with a zero gradient.
func vecParam(name string, x []float64) *Param[float64] {
	return &Param[float64]{Name: name, Value: tensor.FromSlice(append([]float64(nil), x...)),
		Grad: tensor.New[float64](len(x))}
}

func mustNoErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// leastSquares is the finite sum f(x) = (1/n) sum_i f_i(x) with
// f_i(x) = 0.5 (a_i.x - b_i)^2 + (ridge/2)|x|^2, over one parameter p.
type leastSquares struct {
	a     *mat.Dense // n x d, rows a_i
	b     []float64
	ridge float64
	p     *Param[float64]
}

func (ls *leastSquares) Len() int { r, _ := ls.a.Dims(); return r }

func (ls *leastSquares) Grad(batch []int) {
	x, g := ls.p.Value.Data(), ls.p.Grad.Data()
	for k := range g {
		g[k] = ls.ridge * x[k]
	}
	w := 1 / float64(len(batch))
	for _, i := range batch {
		row := ls.a.RawRowView(i)
		r := -ls.b[i]
		for k, v := range row {
			r += v * x[k]
		}
		for k, v := range row {
			g[k] += w * r * v
		}
	}
}

// value returns f(x).
func (ls *leastSquares) value(x []float64) float64 {
	n, _ := ls.a.Dims()
	var s float64
	for i := 0; i < n; i++ {
		r := -ls.b[i]
		for k, v := range ls.a.RawRowView(i) {
			r += v * x[k]
		}
		s += r * r
	}
	return s/(2*float64(n)) + ls.ridge/2*dot(x, x)
}

// hessian returns H = A^T A / n + ridge I.
func (ls *leastSquares) hessian() *mat.SymDense {
	n, d := ls.a.Dims()
	h := mat.NewSymDense(d, nil)
	h.SymOuterK(1/float64(n), ls.a.T())
	for k := 0; k < d; k++ {
		h.SetSym(k, k, h.At(k, k)+ls.ridge)
	}
	return h
}

// minimizer solves H x = A^T b / n (the problem must be strongly convex).
func (ls *leastSquares) minimizer(t testing.TB) []float64 {
	n, d := ls.a.Dims()
	rhs := mat.NewVecDense(d, nil)
	rhs.MulVec(ls.a.T(), mat.NewVecDense(n, ls.b))
	rhs.ScaleVec(1/float64(n), rhs)
	var ch mat.Cholesky
	if !ch.Factorize(ls.hessian()) {
		t.Fatal("least-squares Hessian is not positive definite")
	}
	x := mat.NewVecDense(d, nil)
	if err := ch.SolveVecTo(x, rhs); err != nil {
		t.Fatal(err)
	}
	return x.RawVector().Data
}

// lMax returns max_i |a_i|^2 + ridge, the largest smoothness constant of the f_i.
func (ls *leastSquares) lMax() float64 {
	n, _ := ls.a.Dims()
	var m float64
	for i := 0; i < n; i++ {
		r := ls.a.RawRowView(i)
		m = math.Max(m, dot(r, r))
	}
	return m + ls.ridge
}

// newRegression returns n examples of d features, feature k scaled by
// 1/sqrt(1+k) (so the Hessian is not well conditioned), labels
// b = A w + noise*N(0,1).
func newRegression(rng *rand.Rand, n, d int, noise, ridge float64) *leastSquares {
	a := mat.NewDense(n, d, nil)
	w := make([]float64, d)
	for k := range w {
		w[k] = rng.NormFloat64()
	}
	b := make([]float64, n)
	for i := 0; i < n; i++ {
		for k := 0; k < d; k++ {
			a.Set(i, k, rng.NormFloat64()/math.Sqrt(1+float64(k)))
		}
		b[i] = dot(a.RawRowView(i), w) + noise*rng.NormFloat64()
	}
	return &leastSquares{a: a, b: b, ridge: ridge, p: vecParam("w", make([]float64, d))}
}

// symEigen returns the eigenvalues of s in ascending order.
func symEigen(t testing.TB, s *mat.SymDense) []float64 {
	var e mat.EigenSym
	if !e.Factorize(s, false) {
		t.Fatal("eigendecomposition failed")
	}
	return e.Values(nil)
}

func dot(x, y []float64) float64 {
	var s float64
	for i := range x {
		s += x[i] * y[i]
	}
	return s
}

func dist2(x, y []float64) float64 { return sqDist(x, y) }

// fitSlope returns the least-squares slope of ys against xs.
func fitSlope(xs, ys []float64) float64 {
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(len(xs))
	my /= float64(len(xs))
	var sxy, sxx float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	return sxy / sxx
}
