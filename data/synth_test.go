package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

// The statistical tests below draw from fixed seeds, so they are
// deterministic; the tolerances are nevertheless chosen as 5 standard
// deviations of the statistic under the stated distribution, so that they
// would pass for almost any seed (a two-sided 5-sigma event has
// probability 6e-7) while a wrong formula (a missing factor, a wrong
// variance) fails by far more than that.

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

func TestSphere(t *testing.T) {
	const n, d = 20000, 5
	x, err := Sphere[float64](newRNG(1), n, d)
	if err != nil {
		t.Fatal(err)
	}
	v := x.Data()
	mean := make([]float64, d)
	second := make([]float64, d*d)
	for i := range n {
		row := v[i*d : (i+1)*d]
		var norm2 float64
		for j, a := range row {
			norm2 += a * a
			mean[j] += a / n
			for k, b := range row {
				second[j*d+k] += a * b / n
			}
		}
		// Normalized in float64: the norm is 1 up to a few ulps.
		if math.Abs(math.Sqrt(norm2)-1) > 1e-12 {
			t.Fatalf("point %d has norm %v", i, math.Sqrt(norm2))
		}
	}
	// Uniform on S^{d-1}: E x = 0, E x x^T = I/d. Var x_j = 1/d;
	// Var x_j^2 = E x^4 - (E x^2)^2 = 3/(d(d+2)) - 1/d^2;
	// Var x_j x_k = E x_j^2 x_k^2 = 1/(d(d+2)).
	tolMean := 5 / math.Sqrt(n*d)
	tolDiag := 5 * math.Sqrt((3.0/(d*(d+2))-1.0/(d*d))/n)
	tolOff := 5 * math.Sqrt(1.0/(d*(d+2))/n)
	for j := range d {
		if math.Abs(mean[j]) > tolMean {
			t.Errorf("mean of coordinate %d = %v, want 0 +- %v", j, mean[j], tolMean)
		}
		for k := range d {
			want, tol := 0.0, tolOff
			if j == k {
				want, tol = 1.0/d, tolDiag
			}
			if got := second[j*d+k]; math.Abs(got-want) > tol {
				t.Errorf("E x_%d x_%d = %v, want %v +- %v", j, k, got, want, tol)
			}
		}
	}

	// Moments do not prove uniformity; on S^2 Archimedes' theorem does
	// better: the z coordinate of a uniform point is uniform on [-1, 1].
	// Check the quartiles of z: each holds 1/4 of the points, with binomial
	// std sqrt(p(1-p)/n).
	x3, err := Sphere[float64](newRNG(2), n, 3)
	if err != nil {
		t.Fatal(err)
	}
	var quart [4]float64
	for i := range n {
		z := x3.Data()[3*i+2]
		quart[min(int((z+1)*2), 3)] += 1.0 / n
	}
	tolQ := 5 * math.Sqrt(0.25*0.75/n)
	for q, f := range quart {
		if math.Abs(f-0.25) > tolQ {
			t.Errorf("fraction of z in quartile %d = %v, want 0.25 +- %v", q, f, tolQ)
		}
	}

	// In float32 each coordinate is rounded once (relative 2^-24), so
	// the norm is 1 within about sqrt(d) 2^-24 < 1e-6.
	x32, err := Sphere[float32](newRNG(3), 1000, 50)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		var norm2 float64
		for _, a := range x32.Data()[i*50 : (i+1)*50] {
			norm2 += float64(a) * float64(a)
		}
		if math.Abs(math.Sqrt(norm2)-1) > 1e-6 {
			t.Fatalf("float32 point %d has norm %v", i, math.Sqrt(norm2))
		}
	}
}

// meanSquare returns the mean of (y - f)^2 over the rows.
func meanSquare(y []float64, f func(i int) float64) float64 {
	var s float64
	for i, v := range y {
		r := v - f(i)
		s += r * r
	}
	return s / float64(len(y))
}

// checkNoise asserts that the mean squared residual estimates noise^2: its
// std is noise^2 sqrt(2/n) for Gaussian residuals.
func checkNoise(t *testing.T, what string, ms, noise float64, n int) {
	t.Helper()
	tol := 5 * noise * noise * math.Sqrt(2/float64(n))
	if math.Abs(ms-noise*noise) > tol {
		t.Errorf("%s: mean squared residual %v, want %v +- %v", what, ms, noise*noise, tol)
	}
}

func dot(x []float64, w []float64) float64 {
	var s float64
	for j, v := range w {
		s += x[j] * v
	}
	return s
}

func TestLinearRegression(t *testing.T) {
	const n, d, noise = 20000, 10, 0.5
	ds, w, err := LinearRegression[float64](newRNG(4), n, d, noise)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != n || ds.Dim() != d || ds.Y.Dim(1) != 1 || len(w) != d {
		t.Fatalf("shapes X %v Y %v w %d", ds.X.Shape(), ds.Y.Shape(), len(w))
	}
	x := ds.X.Data()
	checkNoise(t, "linear", meanSquare(ds.Y.Data(), func(i int) float64 { return dot(x[i*d:], w) }), noise, n)
	// Inputs are standard normal: every column has variance 1 (std of the
	// estimate sqrt(2/n)).
	for j := range d {
		var s float64
		for i := range n {
			s += x[i*d+j] * x[i*d+j] / n
		}
		if math.Abs(s-1) > 5*math.Sqrt(2.0/n) {
			t.Errorf("column %d has second moment %v, want 1", j, s)
		}
	}
	// Same seed, same data.
	again, w2, _ := LinearRegression[float64](newRNG(4), n, d, noise)
	if !slices.Equal(again.Y.Data(), ds.Y.Data()) || !slices.Equal(w, w2) {
		t.Error("same seed, different data")
	}
}

func TestOverparameterized(t *testing.T) {
	const n, d = 20, 50
	ds, w, err := Overparameterized[float64](newRNG(5), n, d)
	if err != nil {
		t.Fatal(err)
	}
	x := ds.X.Data()
	for i, y := range ds.Y.Data() {
		// Same products in the same order: equal up to the final rounding.
		if f := dot(x[i*d:], w); math.Abs(y-f) > 1e-12 {
			t.Errorf("row %d: y = %v, x.w = %v", i, y, f)
		}
	}
	if _, _, err := Overparameterized[float64](newRNG(5), 50, 50); err == nil {
		t.Error("d = n accepted")
	}
}

func TestSparseRegression(t *testing.T) {
	const n, d, k, noise = 200, 1000, 10, 0.1
	ds, b, err := SparseRegression[float64](newRNG(6), n, d, k, noise)
	if err != nil {
		t.Fatal(err)
	}
	nonzero := 0
	for _, v := range b {
		switch v {
		case 0:
		case 1, -1:
			nonzero++
		default:
			t.Fatalf("planted entry %v, want 0 or +-1", v)
		}
	}
	if nonzero != k {
		t.Errorf("%d nonzeros, want %d", nonzero, k)
	}
	a := ds.X.Data()
	checkNoise(t, "sparse", meanSquare(ds.Y.Data(), func(i int) float64 { return dot(a[i*d:], b) }), noise, n)
	// Entries N(0, 1/n): squared column norms are chi^2_n / n, mean 1 and
	// variance 2/n; their average over d columns has std sqrt(2/(n d)).
	var sq float64
	for _, v := range a {
		sq += v * v
	}
	if avg := sq / d; math.Abs(avg-1) > 5*math.Sqrt(2.0/(n*d)) {
		t.Errorf("mean squared column norm %v, want 1", avg)
	}

	// Over many draws each coordinate is in the support with probability
	// k/d and each sign has probability 1/2.
	const draws, dd, kk = 4000, 10, 3
	rng := newRNG(7)
	var in [dd]float64
	var plus float64
	for range draws {
		_, b, err := SparseRegression[float64](rng, 1, dd, kk, 0)
		if err != nil {
			t.Fatal(err)
		}
		for j, v := range b {
			if v != 0 {
				in[j] += 1.0 / draws
			}
			if v > 0 {
				plus += 1.0 / (draws * kk)
			}
		}
	}
	p := float64(kk) / dd
	for j, f := range in {
		if tol := 5 * math.Sqrt(p*(1-p)/draws); math.Abs(f-p) > tol {
			t.Errorf("coordinate %d in the support with frequency %v, want %v +- %v", j, f, p, tol)
		}
	}
	if tol := 5 * math.Sqrt(0.25/(draws*kk)); math.Abs(plus-0.5) > tol {
		t.Errorf("fraction of + signs %v, want 0.5 +- %v", plus, tol)
	}
}

func TestTwoSpirals(t *testing.T) {
	const n, turns = 1000, 1.5
	ds, err := TwoSpirals[float64](newRNG(8), n, turns, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds.ClassCounts(), []int{n / 2, n / 2}) {
		t.Errorf("class counts %v", ds.ClassCounts())
	}
	for i := range n {
		px, py := ds.X.Data()[2*i], ds.X.Data()[2*i+1]
		r := math.Hypot(px, py)
		if r > 1 {
			t.Fatalf("point %d at radius %v > 1", i, r)
		}
		if r < 1e-6 {
			continue // the angle of a point at the centre is meaningless
		}
		// Without noise the point is on its spiral: angle = 2 pi turns r
		// + pi c (mod 2 pi), to rounding.
		want := 2*math.Pi*turns*r + math.Pi*float64(ds.Labels[i])
		diff := math.Remainder(math.Atan2(py, px)-want, 2*math.Pi)
		if math.Abs(diff) > 1e-9 {
			t.Fatalf("point %d (class %d, r %v) is %v rad off its spiral", i, ds.Labels[i], r, diff)
		}
	}
	if _, err := TwoSpirals[float64](newRNG(8), n, 0, 0); err == nil {
		t.Error("zero turns accepted")
	}
}

func TestGaussianMixture(t *testing.T) {
	const n, d, k, sep, std = 6000, 4, 3, 3.0, 0.5
	ds, means, err := GaussianMixture[float64](newRNG(9), n, d, k, sep, std)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds.ClassCounts(), []int{2000, 2000, 2000}) {
		t.Errorf("class counts %v", ds.ClassCounts())
	}
	// The classes are shuffled, not in the round-robin order they were
	// assigned in: a shuffled sequence matches i mod k at about n/k places.
	same := 0
	for i, c := range ds.Labels {
		if int(c) == i%k {
			same++
		}
	}
	if same > n/2 {
		t.Errorf("labels follow i mod k at %d of %d places", same, n)
	}
	mu := means.Data()
	for c := range k {
		if norm := math.Sqrt(dot(mu[c*d:(c+1)*d], mu[c*d:(c+1)*d])); math.Abs(norm-sep) > 1e-12 {
			t.Errorf("mean %d has norm %v, want %v", c, norm, sep)
		}
		var sum, sq [d]float64
		var nc float64
		for i, l := range ds.Labels {
			if int(l) != c {
				continue
			}
			nc++
			for j := range d {
				v := ds.X.Data()[i*d+j] - mu[c*d+j]
				sum[j] += v
				sq[j] += v * v
			}
		}
		for j := range d {
			m, v := sum[j]/nc, sq[j]/nc
			if tol := 5 * std / math.Sqrt(nc); math.Abs(m) > tol {
				t.Errorf("class %d coordinate %d: mean offset %v, want 0 +- %v", c, j, m, tol)
			}
			if tol := 5 * std * std * math.Sqrt(2/nc); math.Abs(v-std*std) > tol {
				t.Errorf("class %d coordinate %d: variance %v, want %v +- %v", c, j, v, std*std, tol)
			}
		}
	}
}

func TestSinusoid(t *testing.T) {
	const n, freq, noise = 20000, 3.0, 0.2
	ds, err := Sinusoid[float64](newRNG(10), n, freq, noise)
	if err != nil {
		t.Fatal(err)
	}
	x := ds.X.Data()
	var mean float64
	for _, v := range x {
		if v < -math.Pi || v >= math.Pi {
			t.Fatalf("x = %v outside [-pi, pi)", v)
		}
		mean += v / n
	}
	// U(-pi, pi) has variance pi^2/3.
	if tol := 5 * math.Pi / math.Sqrt(3*n); math.Abs(mean) > tol {
		t.Errorf("mean x %v, want 0 +- %v", mean, tol)
	}
	checkNoise(t, "sinusoid", meanSquare(ds.Y.Data(), func(i int) float64 { return math.Sin(freq * x[i]) }), noise, n)
}

// forwardByHand evaluates a teacher with plain loops and the scalar
// reference of the activation, independently of tensor.MatMul and of the
// vectorized activations.
func forwardByHand(tc *Teacher[float64], x []float64) []float64 {
	h := x
	for l, w := range tc.Weights {
		out, in := w.Dim(0), w.Dim(1)
		z := make([]float64, out)
		for o := range out {
			z[o] = tc.Biases[l][o] + dot(h, w.Data()[o*in:(o+1)*in])
			if l+1 < len(tc.Weights) {
				z[o], _ = tc.Activation.Eval(z[o])
			}
		}
		h = z
	}
	return h
}

func TestTeacherStudent(t *testing.T) {
	for _, act := range []tensor.Activation{tensor.Identity, tensor.Tanh, tensor.ReLU, tensor.Sigmoid, tensor.GELU} {
		cfg := TeacherConfig{Dims: []int{6, 8, 5, 3}, Activation: act, BiasStd: 0.3, Noise: 0.1}
		ds, tc, err := TeacherStudent[float64](newRNG(11), 4000, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if ds.Y.Dim(1) != 3 || ds.Labels != nil {
			t.Fatalf("%v: Y %v", act, ds.Y.Shape())
		}
		// Targets = teacher + N(0, 0.1^2) noise, with the teacher
		// evaluated independently here.
		var ms float64
		for i := range ds.Len() {
			f := forwardByHand(tc, ds.X.Data()[6*i:6*i+6])
			for o := range 3 {
				r := ds.Y.Data()[3*i+o] - f[o]
				ms += r * r / float64(3*ds.Len())
			}
		}
		checkNoise(t, string(act), ms, 0.1, 3*ds.Len())
		// Forward agrees with the loops to rounding (1e-12 for sums of a
		// few O(1) terms and activations that the vector kernels compute
		// to a few ulp).
		out := tc.Forward(ds.X)
		for i := range 10 {
			f := forwardByHand(tc, ds.X.Data()[6*i:6*i+6])
			for o := range 3 {
				if math.Abs(out.Data()[3*i+o]-f[o]) > 1e-12 {
					t.Fatalf("%v: Forward row %d = %v, by hand %v", act, i, out.Data()[3*i:3*i+3], f)
				}
			}
		}
	}
}

func TestTeacherStudentClassify(t *testing.T) {
	const n, k, p = 20000, 4, 0.3
	cfg := TeacherConfig{Dims: []int{10, 16, k}, Activation: tensor.ReLU, Classify: true, Inputs: SphereInputs}
	clean, tc, err := TeacherStudent[float64](newRNG(12), n, cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := tc.Forward(clean.X)
	for i, c := range clean.Labels {
		row := out.Data()[k*i : k*i+k]
		if row[c] != slices.Max(row) {
			t.Fatalf("row %d: label %d is not the argmax of %v", i, c, row)
		}
		if norm := math.Sqrt(dot(clean.X.Data()[10*i:10*i+10], clean.X.Data()[10*i:10*i+10])); math.Abs(norm-1) > 1e-12 {
			t.Fatalf("sphere input %d has norm %v", i, norm)
		}
	}
	// With label noise p, a label changes when it is resampled (prob p)
	// to another class (prob (k-1)/k): frequency p(k-1)/k, binomial std.
	cfg.LabelNoise = p
	noisy, tc2, err := TeacherStudent[float64](newRNG(12), n, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tc2.Weights[0].Data(), tc.Weights[0].Data()) || !slices.Equal(noisy.X.Data(), clean.X.Data()) {
		t.Fatal("same seed, different teacher or inputs")
	}
	var changed float64
	for i := range n {
		if noisy.Labels[i] != clean.Labels[i] {
			changed += 1.0 / n
		}
	}
	want := p * (k - 1) / k
	if tol := 5 * math.Sqrt(want*(1-want)/n); math.Abs(changed-want) > tol {
		t.Errorf("fraction of changed labels %v, want %v +- %v", changed, want, tol)
	}

	// One output: two classes by sign.
	bin, tc3, err := TeacherStudent[float64](newRNG(13), 500, TeacherConfig{Dims: []int{3, 1}, Classify: true})
	if err != nil {
		t.Fatal(err)
	}
	if bin.NumClasses != 2 {
		t.Errorf("one output gives %d classes, want 2", bin.NumClasses)
	}
	o := tc3.Forward(bin.X).Data()
	for i, c := range bin.Labels {
		if (o[i] > 0) != (c == 1) {
			t.Fatalf("row %d: output %v, label %d", i, o[i], c)
		}
	}
}

func TestGeneratorErrors(t *testing.T) {
	rng := newRNG(14)
	checks := map[string]error{}
	_, _, checks["teacher dims"] = TeacherStudent[float64](rng, 10, TeacherConfig{Dims: []int{3}})
	_, _, checks["teacher width"] = TeacherStudent[float64](rng, 10, TeacherConfig{Dims: []int{3, 0, 1}})
	_, _, checks["teacher n"] = TeacherStudent[float64](rng, 0, TeacherConfig{Dims: []int{3, 1}})
	_, _, checks["teacher noise"] = TeacherStudent[float64](rng, 10, TeacherConfig{Dims: []int{3, 1}, LabelNoise: 1.5})
	_, _, checks["teacher activation"] = TeacherStudent[float64](rng, 10, TeacherConfig{Dims: []int{3, 1}, Activation: "swish"})
	_, _, checks["teacher inputs"] = TeacherStudent[float64](rng, 10, TeacherConfig{Dims: []int{3, 1}, Inputs: 9})
	_, checks["sphere"] = Sphere[float64](rng, 10, 0)
	_, _, checks["linear"] = LinearRegression[float64](rng, 10, 3, -1)
	_, _, checks["sparse k"] = SparseRegression[float64](rng, 10, 3, 4, 0)
	_, _, checks["mixture"] = GaussianMixture[float64](rng, 10, 3, 0, 1, 1)
	_, checks["sinusoid"] = Sinusoid[float64](rng, 10, math.Inf(1), 0)
	for name, err := range checks {
		if err == nil {
			t.Errorf("%s: bad parameters accepted", name)
		}
	}
}

// TestTeacherEmptyActivation checks that an empty activation, the zero
// value of TeacherConfig, still means a linear teacher.
func TestTeacherEmptyActivation(t *testing.T) {
	tc, err := NewTeacher[float64](newRNG(16), []int{3, 4, 2}, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if tc.Activation != tensor.Identity {
		t.Errorf("empty activation resolved to %q, want %q", tc.Activation, tensor.Identity)
	}
}

// TestTeacherFloat32 checks that the float32 path runs through tensor.MatMul
// and stays close to the float64 teacher with the same seed.
func TestTeacherFloat32(t *testing.T) {
	cfg := TeacherConfig{Dims: []int{5, 7, 2}, Activation: tensor.Tanh}
	d64, _, err := TeacherStudent[float64](newRNG(15), 100, cfg)
	if err != nil {
		t.Fatal(err)
	}
	d32, _, err := TeacherStudent[float32](newRNG(15), 100, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Same draws rounded to float32: outputs agree to float32 precision
	// (1e-5 for a two-layer net with O(1) activations).
	if !tensor.AllClose(tensor.Convert[float64](d32.Y), d64.Y, 1e-5, 1e-5) {
		t.Error("float32 and float64 teachers disagree")
	}
}

// TestGeneratorsNilRNG: every generator returns an error naming the nil
// random source instead of panicking in its first draw.
func TestGeneratorsNilRNG(t *testing.T) {
	calls := map[string]func() error{
		"data.NewTeacher": func() error { _, err := NewTeacher[float64](nil, []int{2, 1}, tensor.Tanh, 0); return err },
		"data.TeacherStudent": func() error {
			_, _, err := TeacherStudent[float64](nil, 4, TeacherConfig{Dims: []int{2, 1}})
			return err
		},
		"data.Sphere":            func() error { _, err := Sphere[float64](nil, 4, 2); return err },
		"data.LinearRegression":  func() error { _, _, err := LinearRegression[float64](nil, 4, 2, 0); return err },
		"data.Overparameterized": func() error { _, _, err := Overparameterized[float64](nil, 2, 4); return err },
		"data.SparseRegression":  func() error { _, _, err := SparseRegression[float64](nil, 4, 3, 1, 0); return err },
		"data.TwoSpirals":        func() error { _, err := TwoSpirals[float64](nil, 4, 1, 0); return err },
		"data.GaussianMixture":   func() error { _, _, err := GaussianMixture[float64](nil, 4, 2, 2, 1, 1); return err },
		"data.Sinusoid":          func() error { _, err := Sinusoid[float64](nil, 4, 1, 0); return err },
		"data.Dataset.Split": func() error {
			ds := &Dataset[float64]{X: tensor.New[float64](4, 1)}
			_, _, _, err := ds.Split(nil, SplitSpec{Test: 0.5})
			return err
		},
	}
	for name, call := range calls {
		err := catchPanic(call)
		if want := name + ": rng is nil"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, want)
		}
	}
}

// catchPanic runs f and returns its error, or the value of a panic in f
// as an error.
func catchPanic(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f()
}
