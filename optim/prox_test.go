package optim

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestProxOptimality checks z = prox_{eta g}(x) against its optimality
// condition (x - z)/eta in the subdifferential of g at z, written out per
// operator, and against the definition: z minimizes
// g(z) + |z - x|^2/(2 eta), so no random feasible perturbation does better.
// Inputs are random with a spread that exercises every case (below and above
// thresholds, inside and outside sets).
func TestProxOptimality(t *testing.T) {
	const tol = 1e-12
	rng := rand.New(rand.NewPCG(51, 52))
	type tc struct {
		name string
		g    Prox[float64]
		// subgrad reports whether v = (x - z)/eta is in the
		// subdifferential of g at z (to tol).
		subgrad func(z, v []float64) bool
	}
	inL1 := func(lambda float64) func(z, v []float64) bool {
		return func(z, v []float64) bool {
			for i := range z {
				if z[i] != 0 && math.Abs(v[i]-lambda*math.Copysign(1, z[i])) > tol ||
					z[i] == 0 && math.Abs(v[i]) > lambda+tol {
					return false
				}
			}
			return true
		}
	}
	const group = 3
	cases := []tc{
		{"L1", L1[float64]{Lambda: 0.7}, inL1(0.7)},
		{"L2Squared", L2Squared[float64]{Lambda: 1.3}, func(z, v []float64) bool {
			for i := range z {
				if math.Abs(v[i]-1.3*z[i]) > tol {
					return false
				}
			}
			return true
		}},
		{"ElasticNet", ElasticNet[float64]{L1: 0.5, L2: 2}, func(z, v []float64) bool {
			w := make([]float64, len(v))
			for i := range v {
				w[i] = v[i] - 2*z[i] // remove the smooth part's gradient
			}
			return inL1(0.5)(z, w)
		}},
		{"GroupLasso", GroupLasso[float64]{Lambda: 0.9, GroupSize: group}, func(z, v []float64) bool {
			for s := 0; s < len(z); s += group {
				zs, vs := z[s:s+group], v[s:s+group]
				n := math.Sqrt(dot(zs, zs))
				if n == 0 {
					if math.Sqrt(dot(vs, vs)) > 0.9+tol {
						return false
					}
					continue
				}
				for i := range zs {
					if math.Abs(vs[i]-0.9*zs[i]/n) > tol {
						return false
					}
				}
			}
			return true
		}},
		{"NonNegative", NonNegative[float64]{}, func(z, v []float64) bool {
			// Normal cone of the orthant: v_i = 0 where z_i > 0, v_i <= 0 where z_i = 0.
			for i := range z {
				if z[i] < 0 || z[i] > 0 && math.Abs(v[i]) > tol || z[i] == 0 && v[i] > tol {
					return false
				}
			}
			return true
		}},
		{"Box", Box[float64]{Lo: -0.5, Hi: 1}, func(z, v []float64) bool {
			for i := range z {
				switch {
				case z[i] < -0.5 || z[i] > 1:
					return false
				case z[i] > -0.5 && z[i] < 1 && math.Abs(v[i]) > tol,
					z[i] == -0.5 && v[i] > tol, z[i] == 1 && v[i] < -tol:
					return false
				}
			}
			return true
		}},
		{"L2Ball", L2Ball[float64]{Radius: 1.5}, func(z, v []float64) bool {
			// Normal cone of the ball: v = 0 inside; v = c z, c >= 0 on the sphere.
			n := math.Sqrt(dot(z, z))
			if n > 1.5*(1+tol) {
				return false
			}
			if n < 1.5*(1-tol) {
				return math.Sqrt(dot(v, v)) <= tol
			}
			c := dot(v, z) / (n * n)
			for i := range z {
				if c < -tol || math.Abs(v[i]-c*z[i]) > tol*(1+math.Abs(c)) {
					return false
				}
			}
			return true
		}},
	}
	for _, c := range cases {
		mustNoErr(t, c.g.Validate())
		for trial := 0; trial < 200; trial++ {
			n := group * (1 + rng.IntN(4))
			x := make([]float64, n)
			scale := math.Exp(2 * rng.NormFloat64()) // spans small and large inputs
			for i := range x {
				x[i] = scale * rng.NormFloat64()
			}
			eta := math.Exp(rng.NormFloat64())
			z := make([]float64, n)
			c.g.Prox(z, x, eta)
			v := make([]float64, n)
			for i := range v {
				v[i] = (x[i] - z[i]) / eta
			}
			if !c.subgrad(z, v) {
				t.Fatalf("%s: optimality condition fails: x = %v, eta = %g, z = %v", c.name, x, eta, z)
			}
			obj := func(y []float64) float64 { return c.g.Value(y) + dist2(y, x)/(2*eta) }
			best := obj(z)
			if math.IsInf(best, 0) {
				t.Fatalf("%s: prox output outside the domain: %v", c.name, z)
			}
			for k := 0; k < 20; k++ {
				y := make([]float64, n)
				for i := range y {
					y[i] = z[i] + 1e-3*scale*rng.NormFloat64()
				}
				if o := obj(y); o < best-1e-12*math.Max(1, math.Abs(best)) {
					t.Fatalf("%s: a perturbation of the prox output has a lower objective (%g < %g)", c.name, o, best)
				}
			}
			// In-place use (dst == x) gives the same result.
			y := append([]float64(nil), x...)
			c.g.Prox(y, y, eta)
			for i := range y {
				if y[i] != z[i] {
					t.Fatalf("%s: in-place prox differs", c.name)
				}
			}
		}
	}
}

func TestProxValues(t *testing.T) {
	x := []float64{3, -4, 0, 1, 0, 0}
	checks := []struct {
		name      string
		got, want float64
	}{
		{"L1", L1[float64]{Lambda: 2}.Value(x), 16},
		{"L2Squared", L2Squared[float64]{Lambda: 2}.Value(x), 26},
		{"ElasticNet", ElasticNet[float64]{L1: 1, L2: 1}.Value(x), 8 + 13},
		{"GroupLasso", GroupLasso[float64]{Lambda: 1, GroupSize: 3}.Value(x), 5 + 1},
		{"GroupLasso whole", GroupLasso[float64]{Lambda: 1}.Value(x), math.Sqrt(26)},
		{"NonNegative", NonNegative[float64]{}.Value(x), math.Inf(1)},
		{"Box", Box[float64]{Lo: -4, Hi: 3}.Value(x), 0},
		{"L2Ball", L2Ball[float64]{Radius: 5}.Value(x), math.Inf(1)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s.Value = %g, want %g", c.name, c.got, c.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("GroupLasso on a length not divisible by GroupSize did not panic")
		}
	}()
	GroupLasso[float64]{Lambda: 1, GroupSize: 4}.Value(x)
}
