package data

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

// columnStats returns per-column mean, population std, min and max.
func columnStats(x *tensor.Tensor[float64]) (mean, std, lo, hi []float64) {
	n, d := x.Dim(0), x.Dim(1)
	v := x.Data()
	mean, std, lo, hi = make([]float64, d), make([]float64, d), make([]float64, d), make([]float64, d)
	for j := range d {
		lo[j], hi[j] = math.Inf(1), math.Inf(-1)
		for i := range n {
			mean[j] += v[i*d+j] / float64(n)
			lo[j] = math.Min(lo[j], v[i*d+j])
			hi[j] = math.Max(hi[j], v[i*d+j])
		}
		for i := range n {
			std[j] += (v[i*d+j] - mean[j]) * (v[i*d+j] - mean[j]) / float64(n)
		}
		std[j] = math.Sqrt(std[j])
	}
	return
}

// skewed returns n rows of three columns with different scales and offsets
// and a constant fourth column.
func skewed(rng *rand.Rand, n int) *Dataset[float64] {
	x := make([]float64, 4*n)
	for i := range n {
		x[4*i] = 1000 + 5*rng.NormFloat64()
		x[4*i+1] = 1e-3 * rng.Float64()
		x[4*i+2] = -7 + rng.ExpFloat64()
		x[4*i+3] = 42
	}
	return &Dataset[float64]{X: tensor.FromSlice(x, n, 4)}
}

func TestStandardizeFitsTrainOnly(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	train, test := skewed(rng, 500), skewed(rng, 200)
	testRaw := append([]float64(nil), test.X.Data()...)
	s, err := FitScaler(Standardize, train, test, nil)
	if err != nil {
		t.Fatal(err)
	}
	mean, std, _, _ := columnStats(train.X)
	// After standardizing, the training columns have mean 0 and std 1 up
	// to rounding: 1e-12 allows ~1e4 ulps on values of order 1.
	for j := range 3 {
		if math.Abs(mean[j]) > 1e-12 || math.Abs(std[j]-1) > 1e-12 {
			t.Errorf("train column %d: mean %v std %v", j, mean[j], std[j])
		}
	}
	// The constant column maps to exactly 0 instead of NaN.
	if mean[3] != 0 || std[3] != 0 || s.Scale[3] != 1 {
		t.Errorf("constant column: mean %v std %v scale %v", mean[3], std[3], s.Scale[3])
	}
	// The test set got the training statistics, not its own: recompute
	// with the scaler's numbers.
	for i, v := range test.X.Data() {
		j := i % 4
		want := (testRaw[i] - s.Center[j]) / s.Scale[j]
		if math.Abs(v-want) > 1e-12 {
			t.Fatalf("test value %d = %v, want %v", i, v, want)
		}
	}
	// With its own statistics the test mean would be exactly 0; with the
	// training ones it is the gap between two sample means, which is not.
	tm, _, _, _ := columnStats(test.X)
	if math.Abs(tm[0]) < 1e-9 {
		t.Errorf("test column 0 mean %v: looks fitted on the test set", tm[0])
	}
	if err := s.Inverse(test.X); err != nil {
		t.Fatal(err)
	}
	for i, v := range test.X.Data() {
		if math.Abs(v-testRaw[i]) > 1e-9*math.Max(1, math.Abs(testRaw[i])) {
			t.Fatalf("Inverse(Transform(x))[%d] = %v, want %v", i, v, testRaw[i])
		}
	}
}

func TestMinMax(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	ds := skewed(rng, 300)
	if _, err := FitScaler(MinMax, ds); err != nil {
		t.Fatal(err)
	}
	_, _, lo, hi := columnStats(ds.X)
	for j := range 3 {
		// (max-min)/(max-min) may round to 1 +- 1 ulp.
		if lo[j] != 0 || math.Abs(hi[j]-1) > 1e-15 {
			t.Errorf("column %d spans [%v, %v], want [0, 1]", j, lo[j], hi[j])
		}
	}
	if lo[3] != 0 || hi[3] != 0 {
		t.Errorf("constant column spans [%v, %v], want 0", lo[3], hi[3])
	}
}

func TestScalerErrors(t *testing.T) {
	var s Scaler[float64]
	if err := s.Transform(tensor.New[float64](2, 2)); err == nil {
		t.Error("Transform before Fit accepted")
	}
	if err := s.Fit(tensor.New[float64](3)); err == nil {
		t.Error("Fit on a vector accepted")
	}
	if err := s.Fit(tensor.FromSlice([]float64{1, math.Inf(1)}, 2, 1)); err == nil {
		t.Error("Fit on an infinite column accepted")
	}
	if err := s.Fit(tensor.New[float64](2, 2)); err != nil {
		t.Fatal(err)
	}
	if err := s.Transform(tensor.New[float64](2, 3)); err == nil {
		t.Error("Transform with 3 columns after Fit on 2 accepted")
	}
	bad := Scaler[float64]{Method: 7}
	if err := bad.Fit(tensor.New[float64](2, 2)); err == nil {
		t.Error("unknown method accepted")
	}
}

// TestStandardizeGlobal: one mean and std over all entries (here 1..6:
// mean 3.5, population std sqrt(35/12)), the same for every column.
func TestStandardizeGlobal(t *testing.T) {
	x := tensor.FromSlice([]float64{1, 2, 3, 4, 5, 6}, 3, 2)
	s := &Scaler[float64]{Method: StandardizeGlobal}
	if err := s.Fit(x); err != nil {
		t.Fatal(err)
	}
	std := math.Sqrt(35.0 / 12)
	for j := range s.Center {
		if s.Center[j] != 3.5 || math.Abs(s.Scale[j]-std) > 1e-15 {
			t.Fatalf("column %d: center %v scale %v, want 3.5 and %v", j, s.Center[j], s.Scale[j], std)
		}
	}
	if err := s.Transform(x); err != nil {
		t.Fatal(err)
	}
	if got := x.At(0, 0); math.Abs(got-(1-3.5)/std) > 1e-15 {
		t.Fatalf("x'[0,0] = %v", got)
	}
}
