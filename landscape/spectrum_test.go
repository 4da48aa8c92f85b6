package landscape

import (
	"math"
	"sort"
	"testing"
)

// knownSpectrum is an indefinite spectrum with a clear top gap (10 vs 9),
// a negative end (-2) and a cluster in between.
func knownSpectrum(n int) []float64 {
	eigs := make([]float64, n)
	eigs[0], eigs[1], eigs[2] = 10, 9, -2
	for i := 3; i < n; i++ {
		eigs[i] = 0.1 + 5*float64(i-3)/float64(n-3) // in [0.1, 5)
	}
	return eigs
}

func TestSharpnessQuadratic(t *testing.T) {
	const n = 60
	rng := newRand(1)
	eigs := knownSpectrum(n)
	q, err := NewQuadratic(randomOrthogonal(t, rng, n), eigs, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, n) // the Hessian is the same everywhere
	sorted := append([]float64(nil), eigs...)
	sort.Sort(sort.Reverse(sort.Float64Slice(sorted)))

	// Power iteration: the residual test bounds the eigenvalue error by
	// Tol*|theta| = 1e-8 * 10, well inside the required 1e-6.
	pr, err := PowerIteration(q, x, EigenOptions{Iters: 2000, Tol: 1e-8, Rand: rng})
	if err != nil {
		t.Fatal(err)
	}
	if !pr.Converged || math.Abs(pr.Values[0]-10) > 1e-6 {
		t.Errorf("power iteration: %v after %d HVPs (converged %v), want 10 to 1e-6", pr.Values[0], pr.Iters, pr.Converged)
	}
	t.Logf("power iteration: lambda_max %.12f in %d HVPs", pr.Values[0], pr.Iters)

	// Lanczos converges the top 3 to the same tolerance in far fewer
	// products; the last Ritz value approximates the bottom of the
	// spectrum.
	lr, err := Lanczos(q, x, EigenOptions{K: 3, Iters: n, Tol: 1e-10, Rand: rng})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if math.Abs(lr.Values[i]-sorted[i]) > 1e-6 {
			t.Errorf("Lanczos eigenvalue %d = %v, want %v to 1e-6", i, lr.Values[i], sorted[i])
		}
	}
	if !lr.Converged || lr.Iters >= pr.Iters {
		t.Errorf("Lanczos: converged %v after %d HVPs; power iteration took %d", lr.Converged, lr.Iters, pr.Iters)
	}
	// The eigenvector: |H v - lambda v| small.
	hv := make([]float64, n)
	q.HVP(x, lr.Vectors[0], hv)
	axpy(-lr.Values[0], lr.Vectors[0], hv)
	if r := norm(hv); r > 1e-6 {
		t.Errorf("Lanczos top eigenvector residual %v, want <= 1e-6", r)
	}
	t.Logf("Lanczos: top %v in %d HVPs", lr.Values[:3], lr.Iters)

	// A full-dimension run sees both ends: L = max(10, |-2|) = 10 and the
	// smallest Ritz value is -2.
	full, err := Lanczos(q, x, EigenOptions{K: n, Iters: n, Tol: 1e-10, Rand: rng})
	if err != nil {
		t.Fatal(err)
	}
	if got := full.Values[len(full.Values)-1]; math.Abs(got+2) > 1e-6 {
		t.Errorf("Lanczos bottom eigenvalue %v, want -2", got)
	}
	if math.Abs(full.Smoothness()-10) > 1e-6 {
		t.Errorf("smoothness %v, want 10", full.Smoothness())
	}
}

func TestHutchinsonQuadratic(t *testing.T) {
	const n = 40
	rng := newRand(2)
	eigs := knownSpectrum(n)
	q, err := NewQuadratic(randomOrthogonal(t, rng, n), eigs, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	trace := 0.0
	for _, e := range eigs {
		trace += e
	}
	// The variance of one Rademacher probe is 2 sum_{i != j} A_ij^2.
	off := 0.0
	for i := range n {
		for j := range n {
			if i != j {
				off += q.A.At(i, j) * q.A.At(i, j)
			}
		}
	}
	const probes = 400
	est, err := HutchinsonTrace(q, make([]float64, n), TraceOptions{Probes: probes, Rand: rng})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("trace %v, estimate %v +- %v (theoretical SE %v)", trace, est.Trace, est.StdErr, math.Sqrt(2*off/probes))
	// Within 3 standard errors: fails with probability about 0.003 for a
	// random seed; the seed is fixed, so the test is deterministic.
	if math.Abs(est.Trace-trace) > 3*est.StdErr {
		t.Errorf("Hutchinson %v +- %v, true trace %v: more than 3 SE away", est.Trace, est.StdErr, trace)
	}
	// The reported SE estimates the true one: the sample standard
	// deviation of 400 probes has a relative error of a few percent, so a
	// factor 1.25 either way would be a bug, not chance.
	theo := math.Sqrt(2 * off / probes)
	if est.StdErr > 1.25*theo || est.StdErr < theo/1.25 {
		t.Errorf("standard error %v, theory %v", est.StdErr, theo)
	}
}

func TestEigenOptionErrors(t *testing.T) {
	q := Quartic(3)
	x := []float64{1, 2, 3}
	cases := []struct {
		name string
		opts EigenOptions
	}{
		{"no rand", EigenOptions{}},
		{"negative iters", EigenOptions{Iters: -1, Rand: newRand(1)}},
		{"K too large", EigenOptions{K: 4, Rand: newRand(1)}},
		{"bad start", EigenOptions{Start: []float64{1}}},
		{"zero start", EigenOptions{Start: []float64{0, 0, 0}}},
	}
	for _, c := range cases {
		if _, err := Lanczos(q, x, c.opts); err == nil {
			t.Errorf("Lanczos %s: no error", c.name)
		}
		if _, err := PowerIteration(q, x, c.opts); err == nil && c.name != "K too large" {
			t.Errorf("PowerIteration %s: no error", c.name)
		}
	}
	if _, err := HutchinsonTrace(q, x, TraceOptions{Probes: 1, Rand: newRand(1)}); err == nil {
		t.Error("HutchinsonTrace with 1 probe: no error")
	}
	if _, err := HutchinsonTrace(q, x, TraceOptions{}); err == nil {
		t.Error("HutchinsonTrace without Rand: no error")
	}
}
