package data

import (
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

// rowsOf recovers the original row numbers of a split of rowDataset, whose
// first feature is the row number.
func rowsOf(ds *Dataset[float64]) []int {
	if ds == nil {
		return nil
	}
	rows := make([]int, ds.Len())
	for i := range rows {
		rows[i] = int(ds.X.Data()[3*i])
		// Labels and targets must have moved with their rows.
		if ds.Y.Data()[i] != 10*float64(rows[i]) || ds.X.Data()[3*i+1] != -float64(rows[i]) {
			panic("row contents mixed up")
		}
	}
	return rows
}

func TestSplit(t *testing.T) {
	ds := rowDataset(100, 4)
	train, val, test, err := ds.Split(rand.New(rand.NewPCG(1, 1)), SplitSpec{Validation: 0.2, Test: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 70 || val.Len() != 20 || test.Len() != 10 {
		t.Fatalf("sizes %d/%d/%d, want 70/20/10", train.Len(), val.Len(), test.Len())
	}
	all := slices.Concat(rowsOf(train), rowsOf(val), rowsOf(test))
	slices.Sort(all)
	for i, r := range all {
		if r != i {
			t.Fatalf("parts do not partition the rows: %v", all)
		}
	}
	for _, part := range []*Dataset[float64]{train, val, test} {
		for i, r := range rowsOf(part) {
			if part.Labels[i] != int32(r%4) {
				t.Fatalf("label of row %d moved", r)
			}
		}
	}
	// Same seed, same split; the split copies, so changing it leaves ds alone.
	train2, _, _, _ := ds.Split(rand.New(rand.NewPCG(1, 1)), SplitSpec{Validation: 0.2, Test: 0.1})
	if !slices.Equal(rowsOf(train), rowsOf(train2)) {
		t.Error("same seed gave different splits")
	}
	train.X.Data()[0] = 1e9
	if slices.Contains(ds.X.Data(), 1e9) {
		t.Error("split shares memory with the dataset")
	}
	// A zero fraction gives a nil part.
	_, val, _, err = ds.Split(rand.New(rand.NewPCG(1, 1)), SplitSpec{Test: 0.5})
	if err != nil || val != nil {
		t.Errorf("Validation 0: val = %v, err = %v", val, err)
	}
}

func TestSplitStratified(t *testing.T) {
	// Unbalanced classes: 60, 30 and 10 examples.
	n := 100
	labels := make([]int32, n)
	for i := range labels {
		switch {
		case i < 60:
			labels[i] = 0
		case i < 90:
			labels[i] = 1
		default:
			labels[i] = 2
		}
	}
	ds := rowDataset(n, 3)
	ds.Labels = labels
	train, val, test, err := ds.Split(rand.New(rand.NewPCG(5, 5)), SplitSpec{Validation: 0.2, Test: 0.3, Stratify: true})
	if err != nil {
		t.Fatal(err)
	}
	// round(0.2 n_c) and round(0.3 n_c) per class, exactly.
	for _, c := range []struct {
		part *Dataset[float64]
		want []int
	}{{val, []int{12, 6, 2}}, {test, []int{18, 9, 3}}, {train, []int{30, 15, 5}}} {
		if got := c.part.ClassCounts(); !slices.Equal(got, c.want) {
			t.Errorf("class counts %v, want %v", got, c.want)
		}
	}
	// The parts are shuffled, not grouped by class: a grouped train part
	// would have its 30 zeros first.
	if slices.Equal(train.Labels[:30], make([]int32, 30)) {
		t.Error("stratified train part is grouped by class")
	}
}

func TestSplitErrors(t *testing.T) {
	ds := rowDataset(10, 2)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range []SplitSpec{
		{Validation: -0.1},
		{Test: 1},
		{Validation: 0.5, Test: 0.5},
		{Validation: math.NaN()},
		{Validation: 0.47, Test: 0.49}, // rounds to 5 + 5: no training rows
	} {
		if _, _, _, err := ds.Split(rng, s); err == nil {
			t.Errorf("Split accepted %+v", s)
		}
	}
	unlabeled := &Dataset[float64]{X: ds.X}
	if _, _, _, err := unlabeled.Split(rng, SplitSpec{Test: 0.5, Stratify: true}); err == nil {
		t.Error("stratified split without labels accepted")
	}
}

func TestOneHot(t *testing.T) {
	oh, err := OneHot[float32]([]int32{2, 0, 1}, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 0, 1, 1, 0, 0, 0, 1, 0}
	if !slices.Equal(oh.Data(), want) || oh.Dim(0) != 3 || oh.Dim(1) != 3 {
		t.Errorf("OneHot = %v %v", oh.Shape(), oh.Data())
	}
	if _, err := OneHot[float32]([]int32{3}, 3); err == nil {
		t.Error("label 3 of 3 classes accepted")
	}
	if _, err := OneHot[float32]([]int32{-1}, 3); err == nil {
		t.Error("label -1 accepted")
	}
}

func TestValidate(t *testing.T) {
	x := tensor.New[float64](4, 2)
	bad := []*Dataset[float64]{
		{},
		{X: tensor.New[float64](4)},
		{X: x, Labels: []int32{0, 1, 0}, NumClasses: 2},
		{X: x, Labels: []int32{0, 1, 0, 1}},
		{X: x, NumClasses: 3},
		{X: x, Labels: []int32{0, 1, 0, 1}, NumClasses: 2, Classes: []string{"a"}},
		{X: x, Y: tensor.New[float64](3, 1)},
		{X: x, FeatureNames: []string{"a"}},
	}
	for i, ds := range bad {
		if err := ds.Validate(); err == nil {
			t.Errorf("case %d: Validate accepted an inconsistent dataset", i)
		}
	}
	good := &Dataset[float64]{X: x, Labels: []int32{0, 1, 0, 1}, NumClasses: 2, Y: tensor.New[float64](4, 3)}
	if err := good.Validate(); err != nil {
		t.Error(err)
	}
}

func TestSubset(t *testing.T) {
	ds := rowDataset(5, 2)
	sub := ds.Subset([]int{4, 1, 1})
	if got := rowsOf(sub); !slices.Equal(got, []int{4, 1, 1}) || !slices.Equal(sub.Labels, []int32{0, 1, 1}) {
		t.Errorf("Subset rows %v labels %v", got, sub.Labels)
	}
	defer func() {
		if recover() == nil {
			t.Error("Subset with row 5 of 5 did not panic")
		}
	}()
	ds.Subset([]int{5})
}

// TestNilArguments: nil datasets, tensors and IDX arrays given to the
// package's functions are errors, not nil-pointer panics.
func TestNilArguments(t *testing.T) {
	var ds *Dataset[float64]
	var x *tensor.Tensor[float64]
	calls := map[string]func() error{
		"NewLoader": func() error { _, err := NewLoader(ds, LoaderConfig{BatchSize: 1}); return err },
		"Validate":  func() error { return ds.Validate() },
		"Split":     func() error { _, _, _, err := ds.Split(rand.New(rand.NewPCG(1, 1)), SplitSpec{}); return err },
		"FitScaler": func() error { _, err := FitScaler(Standardize, ds); return err },
		"Fit":       func() error { return (&Scaler[float64]{}).Fit(x) },
		"Transform": func() error { return (&Scaler[float64]{Center: []float64{0}, Scale: []float64{1}}).Transform(x) },
		"IDXTensor": func() error { _, err := IDXTensor[float64](nil); return err },
		"WriteIDX":  func() error { return WriteIDX(io.Discard, nil) },
	}
	for name, call := range calls {
		err := catchPanic(call)
		if err == nil || strings.Contains(err.Error(), "panic") || !strings.Contains(err.Error(), "nil") {
			t.Errorf("%s: error %v, want one saying what is nil", name, err)
		}
	}
}
