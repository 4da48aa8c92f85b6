package data

import (
	"bytes"
	_ "embed"
	"fmt"

	"github.com/gradflow/gradflow/tensor"
)

// digitsCSV is the UCI optical digits data (E. Alpaydin, C. Kaynak, 1998,
// CC BY 4.0); embed/README.md gives the attribution and provenance.
//
//go:embed embed/digits.csv.gz
var digitsCSV []byte

// Digits dimensions: 1797 images of 8x8 pixels, 10 classes.
const (
	DigitsRows     = 1797
	DigitsFeatures = 64
	DigitsClasses  = 10
)

// Digits returns the embedded UCI optical recognition of handwritten
// digits dataset: 1797 examples of 64 features (8x8 pixel counts, 0..16,
// row-major; Shape [1 8 8]) and labels 0..9, in the file's order, unscaled. It needs no
// file or network, so programs can train on real data out of the box.
// Each call parses a fresh copy (a few milliseconds).
func Digits[T tensor.Float]() (*Dataset[T], error) {
	ds, err := readCSV[T](bytes.NewReader(digitsCSV), "embed/digits.csv.gz", CSVOptions{Header: HeaderNone}, false)
	if err != nil {
		return nil, err
	}
	if ds.Len() != DigitsRows || ds.Dim() != DigitsFeatures || ds.NumClasses != DigitsClasses {
		return nil, fmt.Errorf("data: embedded digits has %d x %d with %d classes, want %d x %d with %d",
			ds.Len(), ds.Dim(), ds.NumClasses, DigitsRows, DigitsFeatures, DigitsClasses)
	}
	ds.Shape = []int{1, 8, 8}
	return ds, nil
}
