package tensor

import (
	"math"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	for _, c := range []struct {
		name string
		got  string
		want string
	}{
		{"scalar", Scalar(2.5).String(), "2.5"},
		{"1-D", FromSlice([]float64{1, -2, 3}).String(), "[ 1 -2  3]"},
		{"2-D", seq[float64](2, 3).String(), "[[1 2 3]\n [4 5 6]]"},
		{"3-D", seq[float64](2, 2, 2).String(), "[[[1 2]\n  [3 4]]\n\n [[5 6]\n  [7 8]]]"},
		{"float32 shortest", FromSlice([]float32{0.1, 1e-8}).String(), "[  0.1 1e-08]"},
		{"float64 shortest", FromSlice([]float64{0.1, 1.0 / 3}).String(), "[               0.1 0.3333333333333333]"},
		{"special", FromSlice([]float64{math.Inf(1), math.NaN()}).String(), "[+Inf  NaN]"},
		{"empty", New[float64](0).String(), "[]"},
		{"empty rows", New[float64](2, 0).String(), "[[]\n []]"},
	} {
		if c.got != c.want {
			t.Errorf("%s: String() = %q, want %q", c.name, c.got, c.want)
		}
	}

	// Large tensors are summarized: 3 leading and trailing entries per
	// long dimension.
	s := Arange[float64](0, 2000, 1).Reshape(40, 50).String()
	lines := strings.Split(s, "\n")
	if len(lines) != 7 || lines[3] != " ..." {
		t.Fatalf("summary has %d lines, middle %q:\n%s", len(lines), lines[3], s)
	}
	if lines[0] != "[[   0    1    2 ...   47   48   49]" || lines[6] != " [1950 1951 1952 ... 1997 1998 1999]]" {
		t.Fatalf("summary rows:\n%s", s)
	}
}

func TestEqualAllClose(t *testing.T) {
	a := FromSlice([]float64{1, 2, 3})
	if !Equal(a, a.Clone()) || Equal(a, FromSlice([]float64{1, 2, 4})) || Equal(a, a.Reshape(1, 3)) {
		t.Fatal("Equal")
	}
	if Equal(FromSlice([]float64{math.NaN()}), FromSlice([]float64{math.NaN()})) {
		t.Fatal("Equal treats NaN as equal")
	}
	b := FromSlice([]float64{1 + 1e-9, 2, 3 - 1e-9})
	if !AllClose(a, b, 1e-8, 0) || AllClose(a, b, 1e-10, 0) || !AllClose(a, b, 0, 2e-9) {
		t.Fatal("AllClose tolerances")
	}
	inf := math.Inf(1)
	if !AllClose(FromSlice([]float64{inf}), FromSlice([]float64{inf}), 0, 0) ||
		AllClose(FromSlice([]float64{inf}), FromSlice([]float64{-inf}), 1, 1) ||
		AllClose(FromSlice([]float64{math.NaN()}), FromSlice([]float64{math.NaN()}), 1, 1) ||
		AllClose(a, a.Reshape(3, 1), 1, 1) {
		t.Fatal("AllClose special cases")
	}
}
