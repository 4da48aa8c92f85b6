package meanfield

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/tensor"
)

// teacherData is the regression problem of the scaling tests: n Gaussian
// inputs in R^d labelled by a random tanh teacher with 8 hidden units.
func teacherData(t testing.TB, n, d int) (x, y *tensor.Tensor[float64]) {
	t.Helper()
	ds, _, err := data.TeacherStudent[float64](rand.New(rand.NewPCG(7, 7)), n, data.TeacherConfig{Dims: []int{d, 8, 1}, Activation: tensor.Tanh})
	if err != nil {
		t.Fatal(err)
	}
	return ds.X, ds.Y
}

// slope is the least-squares slope of log(y) against log(x).
func slope(x, y []float64) float64 {
	var mx, my float64
	for i := range x {
		mx += math.Log(x[i])
		my += math.Log(y[i])
	}
	mx /= float64(len(x))
	my /= float64(len(x))
	var sxy, sxx float64
	for i := range x {
		dx := math.Log(x[i]) - mx
		sxy += dx * (math.Log(y[i]) - my)
		sxx += dx * dx
	}
	return sxy / sxx
}

// seedSlope fits one slope per seed (ys[seed][width]) and returns their mean
// and standard error: the widths of one seed share nothing but the seed
// number, so the per-seed slopes are independent estimates.
func seedSlope(x []float64, ys [][]float64) (mean, se float64) {
	s := make([]float64, len(ys))
	for i, y := range ys {
		s[i] = slope(x, y)
		mean += s[i]
	}
	mean /= float64(len(s))
	for _, v := range s {
		se += (v - mean) * (v - mean)
	}
	if len(s) > 1 {
		se = math.Sqrt(se / float64(len(s)-1) / float64(len(s)))
	}
	return mean, se
}

func floats(xs ...int) []float64 {
	out := make([]float64, len(xs))
	for i, v := range xs {
		out[i] = float64(v)
	}
	return out
}

// TestNilRNG: New and SlicedW2 return an error naming the nil random
// source instead of panicking in the first draw.
func TestNilRNG(t *testing.T) {
	if _, err := New(Config{InputDim: 2, Width: 4}, nil); err == nil || !strings.Contains(err.Error(), "meanfield.New: rng is nil") {
		t.Errorf("New: error %v, want one saying rng is nil", err)
	}
	p := [][]float64{{0, 1}, {1, 0}}
	if _, err := SlicedW2(p, p, 3, nil); err == nil || !strings.Contains(err.Error(), "meanfield.SlicedW2: rng is nil") {
		t.Errorf("SlicedW2: error %v, want one saying rng is nil", err)
	}
}
