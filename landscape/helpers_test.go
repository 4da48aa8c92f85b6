package landscape

import (
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// randomOrthogonal returns a Haar-distributed n x n orthogonal matrix: the
// Q of the QR decomposition of a Gaussian matrix.
func randomOrthogonal(t *testing.T, rng *rand.Rand, n int) *mat.Dense {
	t.Helper()
	g := mat.NewDense(n, n, nil)
	for i := range n {
		for j := range n {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var q mat.Dense
	qr.QTo(&q)
	return &q
}

func gaussianMatrix(rng *rand.Rand, r, c int) *mat.Dense {
	a := mat.NewDense(r, c, nil)
	for i := range r {
		for j := range c {
			a.Set(i, j, rng.NormFloat64())
		}
	}
	return a
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }
