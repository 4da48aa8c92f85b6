package data

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestExampleShapeKept checks that the digits carry their image shape and
// that the helpers returning new datasets (Split, Subset, LoadTask) keep
// it, since a convolutional model reads it to reshape rows.
func TestExampleShapeKept(t *testing.T) {
	ds, err := Digits[float32]()
	if err != nil {
		t.Fatal(err)
	}
	want := []int{1, 8, 8}
	if !slices.Equal(ds.Shape, want) || !slices.Equal(ds.ExampleShape(), want) {
		t.Fatalf("digits Shape %v, ExampleShape %v, want %v", ds.Shape, ds.ExampleShape(), want)
	}
	tr, _, te, err := ds.Split(rand.New(rand.NewPCG(1, 2)), SplitSpec{Test: 0.2, Stratify: true})
	if err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string]*Dataset[float32]{"train": tr, "test": te, "subset": ds.Subset([]int{3, 1})} {
		if !slices.Equal(d.Shape, want) {
			t.Errorf("%s part has Shape %v, want %v", name, d.Shape, want)
		}
	}
	tk, err := LoadTask[float32]("digits", 0.2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tk.Train.Shape, want) || !slices.Equal(tk.Test.Shape, want) {
		t.Errorf("LoadTask digits: shapes %v and %v, want %v", tk.Train.Shape, tk.Test.Shape, want)
	}
	flat := &Dataset[float32]{X: ds.X}
	if got := flat.ExampleShape(); !slices.Equal(got, []int{64}) {
		t.Errorf("flat ExampleShape %v, want [64]", got)
	}
	bad := &Dataset[float32]{X: ds.X, Shape: []int{1, 8, 7}}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "[1 8 7]") {
		t.Errorf("Validate of Shape [1 8 7] on 64 features: %v, want an error naming the shape", err)
	}
}

// TestIDXImageShape checks the example shape of IDX images: [1 H W] for
// an array of gray images [n H W], [C H W] for [n C H W].
func TestIDXImageShape(t *testing.T) {
	dir := t.TempDir()
	labels := filepath.Join(dir, "labels")
	if err := os.WriteFile(labels, encodeIDX(t, IDXUint8, []uint32{2}, []float64{1, 0}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dims []uint32
		want []int
	}{
		{[]uint32{2, 2, 3}, []int{1, 2, 3}},
		{[]uint32{2, 3, 1, 2}, []int{3, 1, 2}},
		{[]uint32{2, 6}, nil},
	} {
		images := filepath.Join(dir, "images")
		if err := os.WriteFile(images, encodeIDX(t, IDXUint8, c.dims, make([]float64, 12)), 0o600); err != nil {
			t.Fatal(err)
		}
		ds, err := IDXDataset[float32](images, labels, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ds.Shape, c.want) || ds.Validate() != nil {
			t.Errorf("IDX dims %v: Shape %v (Validate: %v), want %v", c.dims, ds.Shape, ds.Validate(), c.want)
		}
	}
}
