package ntk

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/nn"
)

// randInputs returns n random points in R^d with rows of varied norms, so
// that the kernels see different variances as well as different angles.
func randInputs(rng *rand.Rand, n, d int) *mat.Dense {
	x := mat.NewDense(n, d, nil)
	for i := 0; i < n; i++ {
		s := 0.5 + rng.Float64()
		for j := 0; j < d; j++ {
			x.Set(i, j, s*rng.NormFloat64())
		}
	}
	return x
}

// unitRows scales every row of x to unit Euclidean norm.
func unitRows(x *mat.Dense) *mat.Dense {
	n, d := x.Dims()
	for i := 0; i < n; i++ {
		r := mat.Norm(x.RowView(i), 2)
		for j := 0; j < d; j++ {
			x.Set(i, j, x.At(i, j)/r)
		}
	}
	return x
}

func relClose(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// Theta(x, x) of a ReLU net with W_std^2 = 2, b_std = 0 and L hidden layers
// is 2 (L+1) |x|^2 / d: He scaling keeps Sigma_l(x, x) = 2 q0 and every
// layer adds 2 q0. With W_std^2 = 1 each ReLU halves the variance instead.
func TestReLUDiagonal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := randInputs(rng, 5, 7)
	for L := 0; L <= 4; L++ {
		k, err := Arch{Depth: L, Act: nn.ReLU, WStd: math.Sqrt2}.Kernels(x, nil)
		if err != nil {
			t.Fatal(err)
		}
		k1, err := Arch{Depth: L, Act: nn.ReLU, WStd: 1}.Kernels(x, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			q0 := mat.Dot(x.RowView(i), x.RowView(i)) / 7
			// A handful of multiply-adds per layer: 1e-14 is a few ulps.
			if got, want := k.NTK.At(i, i), 2*float64(L+1)*q0; !relClose(got, want, 1e-14) {
				t.Errorf("L=%d: Theta(x%d,x%d) = %.17g, want 2(L+1)|x|^2/d = %.17g", L, i, i, got, want)
			}
			if got, want := k.NNGP.At(i, i), 2*q0; L > 0 && !relClose(got, want, 1e-14) {
				t.Errorf("L=%d: Sigma(x%d,x%d) = %.17g, want 2|x|^2/d = %.17g", L, i, i, got, want)
			}
			if got, want := k1.NTK.At(i, i), float64(L+1)*q0/math.Pow(2, float64(L)); !relClose(got, want, 1e-14) {
				t.Errorf("L=%d, W_std=1: Theta(x%d,x%d) = %.17g, want (L+1)q0/2^L = %.17g", L, i, i, got, want)
			}
		}
	}
}

// One hidden ReLU layer, W_std = 1, no bias: NNGP = |x||y| J1(theta) /
// (2 pi d) with Cho & Saul's J1 = sin t + (pi - t) cos t, and NTK = NNGP +
// (x.y/d) (pi - t)/(2 pi).
func TestTwoLayerArcCosine(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const d = 5
	x1, x2 := randInputs(rng, 6, d), randInputs(rng, 4, d)
	k, err := Arch{Depth: 1}.Kernels(x1, x2)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		for j := 0; j < 4; j++ {
			a, b := x1.RowView(i), x2.RowView(j)
			na, nb, dot := mat.Norm(a, 2), mat.Norm(b, 2), mat.Dot(a, b)
			th := math.Acos(dot / (na * nb))
			j1 := math.Sin(th) + (math.Pi-th)*math.Cos(th)
			nngp := na * nb * j1 / (2 * math.Pi * d)
			ntk := nngp + dot/d*(math.Pi-th)/(2*math.Pi)
			// acos versus atan2 of the same angle: ~1e-15 relative.
			if !relClose(k.NNGP.At(i, j), nngp, 1e-13) || !relClose(k.NTK.At(i, j), ntk, 1e-13) {
				t.Errorf("(%d,%d): NNGP %.16g NTK %.16g, closed form %.16g %.16g", i, j, k.NNGP.At(i, j), k.NTK.At(i, j), nngp, ntk)
			}
		}
	}
}

// Du et al. (2019): for f = m^-1/2 sum_r a_r relu(w_r . x) with only w
// trained and unit inputs, H_inf_ij = x_i.x_j (pi - arccos(x_i.x_j)) / (2 pi).
// In neural-tangents' terms this is d times the first layer's share of the
// NTK (the input layer has multiplier 1/sqrt(d)), i.e. d (NTK - NNGP).
func TestDuHInf(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n, d = 8, 6
	x := unitRows(randInputs(rng, n, d))
	k, err := Arch{Depth: 1}.Kernels(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			c := math.Max(-1, math.Min(1, mat.Dot(x.RowView(i), x.RowView(j))))
			if i == j {
				c = 1 // |x_i| = 1; the rounded dot product would give acos ~ 1e-8
			}
			hij := c * (math.Pi - math.Acos(c)) / (2 * math.Pi)
			h.SetSym(i, j, hij)
			if got := d * (k.NTK.At(i, j) - k.NNGP.At(i, j)); !relClose(got, hij, 1e-12) {
				t.Errorf("H_inf(%d,%d) = %.16g, want %.16g", i, j, got, hij)
			}
		}
	}
	// Du et al.'s assumption: no two inputs parallel gives lambda_0 > 0.
	if l0, err := LambdaMin(h); err != nil || l0 <= 0 {
		t.Errorf("lambda_0(H_inf) = %v, %v: want positive for non-parallel inputs", l0, err)
	}
}

// The kernel maps of the vocabulary's activations that the pair tests use.
var (
	reluMap, _ = kernelMapOf(nn.ReLU)
	erfMap, _  = kernelMapOf(nn.Erf)
)

// gaussExpect returns E[f(u, v)] for (u, v) ~ N(0, [[q1, c], [c, q2]]) by
// tensor Gauss-Hermite quadrature on (u, v) = L z, exact to rounding for
// smooth f once the node count resolves it.
func gaussExpect(q1, q2, c float64, f func(u, v float64) float64) float64 {
	const m = 80
	z, w := make([]float64, m), make([]float64, m)
	quad.Hermite{}.FixedLocations(z, w, math.Inf(-1), math.Inf(1))
	l11 := math.Sqrt(q1)
	l21 := c / l11
	l22 := math.Sqrt(q2 - l21*l21)
	var s float64
	for i := range z {
		for j := range z {
			a, b := math.Sqrt2*z[i], math.Sqrt2*z[j]
			s += w[i] * w[j] * f(l11*a, l21*a+l22*b)
		}
	}
	return s / math.Pi
}

// The erf kernel and its derivative kernel against direct quadrature of
// E[erf(u) erf(v)] and E[erf'(u) erf'(v)] (both integrands are smooth).
func TestErfPairQuadrature(t *testing.T) {
	for _, p := range [][3]float64{{1, 1, 0.3}, {0.5, 2, -0.6}, {3, 0.2, 0.7}, {1, 1, 0.999}} {
		q1, q2, c := p[0], p[1], p[2]
		k, kd := erfMap.pair(q1, q2, c)
		wantK := gaussExpect(q1, q2, c, func(u, v float64) float64 { return math.Erf(u) * math.Erf(v) })
		d := func(u float64) float64 { return 2 / math.SqrtPi * math.Exp(-u*u) }
		wantKd := gaussExpect(q1, q2, c, func(u, v float64) float64 { return d(u) * d(v) })
		// 80-node Gauss-Hermite on entire integrands of this width:
		// converged to ~1e-12.
		if !relClose(k, wantK, 1e-9) || !relClose(kd, wantKd, 1e-9) {
			t.Errorf("erf (%v): K %.15g Kdot %.15g, quadrature %.15g %.15g", p, k, kd, wantK, wantKd)
		}
		// The diagonal formula is a separate expression of the same
		// function at c = q1 = q2.
		if diag, kk := erfMap.diag(q1), 0.0; true {
			kk, _ = erfMap.pair(q1, q1, q1)
			if !relClose(diag, kk, 1e-14) {
				t.Errorf("erf diag(%v) = %.16g, pair(q, q, q) = %.16g", q1, diag, kk)
			}
		}
	}
}

// ABReLU from ReLU by linearity: phi(u) = b relu(u) - a relu(-u), and (u,
// -v) has covariance -c, so K_ab(c) = (a^2+b^2) K(c) - 2ab K(-c) and
// Kdot_ab(c) = (a^2+b^2) Kdot(c) + 2ab Kdot(-c).
func TestABReLULinearity(t *testing.T) {
	for _, p := range [][3]float64{{1, 2, 0.5}, {0.3, 0.7, -0.4}, {2, 2, 3.9}} {
		q1, q2, c := p[0], p[1], p[2]
		for _, s := range [][2]float64{{0.01, 1}, {-1, 1}, {0.5, 2}, {1, 1}} {
			a, b := s[0], s[1]
			k, kd := kernelMap{kind: actABReLU, a: a, b: b}.pair(q1, q2, c)
			kp, kdp := reluMap.pair(q1, q2, c)
			km, kdm := reluMap.pair(q1, q2, -c)
			if want := (a*a+b*b)*kp - 2*a*b*km; !relClose(k, want, 1e-13) {
				t.Errorf("ABReLU(%v,%v) K at %v = %.16g, want %.16g", a, b, p, k, want)
			}
			if want := (a*a+b*b)*kdp + 2*a*b*kdm; !relClose(kd, want, 1e-13) {
				t.Errorf("ABReLU(%v,%v) Kdot at %v = %.16g, want %.16g", a, b, p, kd, want)
			}
		}
	}
	// Identity as ABReLU(1, 1) must equal the identity map.
	if k, kd := (kernelMap{kind: actABReLU, a: 1, b: 1}).pair(1, 2, 0.3); !relClose(k, 0.3, 1e-15) || kd != 1 {
		t.Errorf("ABReLU(1,1) = %v, %v; want 0.3, 1", k, kd)
	}
}

// Symmetric and positive semidefinite for every activation and both
// parameterizations; cross kernels agree with the corresponding block of
// the joint kernel.
func TestKernelsSymmetricPSD(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	x := randInputs(rng, 12, 4)
	acts := []nn.Activation{nn.ReLU, nn.Erf, nn.Identity, nn.LeakyReLU}
	for _, act := range acts {
		for _, arch := range []Arch{
			{Depth: 3, Act: act, WStd: 1.3, BStd: 0.2},
			{Depth: 2, Act: act, WStd: 1.1, BStd: 0.1, Parameterization: nn.Standard, Widths: []int{100, 50}},
		} {
			k, err := arch.Kernels(x, nil)
			if err != nil {
				t.Fatal(err)
			}
			g, err := arch.Gram(x)
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range []*mat.Dense{k.NNGP, k.NTK} {
				if !mat.Equal(m, m.T()) {
					t.Errorf("%v %s: kernel not exactly symmetric", act, arch.Parameterization)
				}
				// Gram is the same kernel as a symmetric matrix, every
				// entry (both triangles of its storage) bit for bit.
				sym := []*mat.SymDense{g.NNGP, g.NTK}[i]
				if !slices.Equal(sym.RawSymmetric().Data, m.RawMatrix().Data) {
					t.Errorf("%v %s: Gram differs from Kernels(x, nil)", act, arch.Parameterization)
				}
				ev, err := Spectrum(sym)
				if err != nil {
					t.Fatal(err)
				}
				// PSD up to eigensolver rounding: ~n eps lambda_max.
				if ev[0] < -1e-10*ev[len(ev)-1] {
					t.Errorf("%v %s: lambda_min %v < -1e-10 lambda_max %v", act, arch.Parameterization, ev[0], ev[len(ev)-1])
				}
			}
			// Cross kernel rows 0..4 vs 5..11 equals the joint block.
			kc, err := arch.Kernels(x.Slice(0, 5, 0, 4), x.Slice(5, 12, 0, 4))
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 5; i++ {
				for j := 0; j < 7; j++ {
					if !relClose(kc.NTK.At(i, j), k.NTK.At(i, 5+j), 1e-13) || !relClose(kc.NNGP.At(i, j), k.NNGP.At(i, 5+j), 1e-13) {
						t.Fatalf("%v: cross kernel differs from joint block at (%d,%d)", act, i, j)
					}
				}
			}
		}
	}
}

// Deep linear network: every layer is linear, so with b = 0 the NNGP is
// W^(2(L+1)) x.y/d and the NTK (L+1) times that for W_std = 1.
// Standard parameterization with width n: Theta = sum over layers of the
// fan-in times the input kernel of that layer, times W^2 to the number of
// layers above.
func TestIdentityAndStandard(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	x := randInputs(rng, 3, 4)
	k, err := Arch{Depth: 2, Act: nn.Identity}.Kernels(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	k0 := mat.Dot(x.RowView(0), x.RowView(1)) / 4
	if !relClose(k.NNGP.At(0, 1), k0, 1e-14) || !relClose(k.NTK.At(0, 1), 3*k0, 1e-14) {
		t.Errorf("linear net: NNGP %v NTK %v, want %v and %v", k.NNGP.At(0, 1), k.NTK.At(0, 1), k0, 3*k0)
	}
	// Standard, one hidden layer of width n, identity, W_std = 1, biases
	// with b_std = 0: Theta = (d K0 + 1) + n K0 + 1 (readout weights see
	// the hidden kernel K0 times fan-in n; input weights contribute
	// W^2 (d K0 + 1)).
	ks, err := Arch{Depth: 1, Act: nn.Identity, Parameterization: nn.Standard, Widths: []int{50}}.Kernels(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := 4*k0 + 1 + 50*k0 + 1; !relClose(ks.NTK.At(0, 1), want, 1e-14) {
		t.Errorf("standard linear: NTK %v, want %v", ks.NTK.At(0, 1), want)
	}
}

func TestKernelsErrors(t *testing.T) {
	x := mat.NewDense(2, 3, []float64{1, 2, 3, 4, 5, 6})
	bad := []struct {
		arch   Arch
		x1, x2 mat.Matrix
	}{
		{Arch{Depth: 1}, x, mat.NewDense(2, 2, nil)},
		{Arch{Depth: -1}, x, nil},
		{Arch{Depth: 1, Parameterization: nn.Standard}, x, nil},
		{Arch{Depth: 1, Parameterization: nn.MuP}, x, nil},
		{Arch{Depth: 1}, mat.NewDense(1, 3, []float64{1, math.NaN(), 0}), nil},
		{Arch{Depth: 1, WStd: math.Inf(1)}, x, nil},
		{Arch{Depth: 1, Act: "swish"}, x, nil},
	}
	for i, c := range bad {
		if _, err := c.arch.Kernels(c.x1, c.x2); err == nil {
			t.Errorf("case %d: no error", i)
		}
	}
	if a, err := ArchOf(nn.MLPConfig{Dims: []int{3, 8, 1}, Activation: nn.Tanh}); err != nil || a.Act != nn.Tanh {
		t.Errorf("ArchOf(tanh) = %+v, %v: want the tanh Arch (quadrature kernels)", a, err)
	}
	if _, err := ArchOf(nn.MLPConfig{Dims: []int{3, 8, 8, 1}, Activations: []nn.Activation{nn.Tanh, nn.GELU}}); err == nil {
		t.Error("ArchOf(tanh, gelu): no error for differing per-layer activations")
	}
	a, err := ArchOf(nn.MLPConfig{Dims: []int{3, 8, 9, 1}, Parameterization: nn.Standard, WStd: 2})
	if err != nil || a.Depth != 2 || len(a.Widths) != 2 || a.Widths[1] != 9 || a.WStd != 2 {
		t.Errorf("ArchOf(standard) = %+v, %v", a, err)
	}
}
