package data

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// mnistDir is where the shared MNIST copy lives, relative to this package.
const mnistDir = "../../shared/datasets/mnist"

func skipWithoutMNIST(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(filepath.Join(mnistDir, MNISTTrainImages+".gz")); err != nil {
		tb.Skipf("MNIST not found at %s: %v", mnistDir, err)
	}
}

// The label counts of MNIST as published with the data set.
var (
	mnistTrainCounts = []int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}
	mnistTestCounts  = []int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}
)

func TestMNIST(t *testing.T) {
	skipWithoutMNIST(t)
	train, test, err := MNIST[float32](mnistDir)
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 60000 || train.Dim() != 784 || test.Len() != 10000 || test.Dim() != 784 {
		t.Fatalf("train %d x %d, test %d x %d; want 60000 x 784, 10000 x 784", train.Len(), train.Dim(), test.Len(), test.Dim())
	}
	if !slices.Equal(train.ClassCounts(), mnistTrainCounts) || !slices.Equal(test.ClassCounts(), mnistTestCounts) {
		t.Errorf("label histograms %v / %v, want %v / %v", train.ClassCounts(), test.ClassCounts(), mnistTrainCounts, mnistTestCounts)
	}
	// Pixels are scaled to [0, 1] and the full range occurs.
	lo, hi := slices.Min(train.X.Data()), slices.Max(train.X.Data())
	if lo != 0 || hi != 1 {
		t.Errorf("train pixels span [%v, %v], want [0, 1]", lo, hi)
	}
	// MNIST digits are centred in a 20x20 box: the 28x28 image's corner
	// pixel is 0 in every example.
	for i := range train.Len() {
		if train.X.Data()[i*784] != 0 {
			t.Fatalf("example %d has corner pixel %v", i, train.X.Data()[i*784])
		}
	}
	if err := train.Validate(); err != nil {
		t.Error(err)
	}
}

// TestIDXDatasetRawFiles writes an uncompressed copy of small IDX files, as
// some mirrors distribute them, and reads them back through the helpers.
func TestIDXDatasetRawFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	images := encodeIDX(t, IDXUint8, []uint32{3, 2, 2}, []float64{0, 255, 51, 102, 1, 2, 3, 4, 5, 6, 7, 8})
	labels := encodeIDX(t, IDXUint8, []uint32{3}, []float64{7, 0, 9})
	write(MNISTTrainImages, images)
	write(MNISTTrainLabels, labels)
	write(MNISTTestImages+".gz", gzipBytes(t, images))
	write(MNISTTestLabels, labels)
	train, test, err := MNIST[float64](dir)
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 3 || train.Dim() != 4 || !slices.Equal(train.Labels, []int32{7, 0, 9}) || train.NumClasses != 10 {
		t.Fatalf("train %d x %d labels %v classes %d", train.Len(), train.Dim(), train.Labels, train.NumClasses)
	}
	if want := []float64{0, 1, 0.2, 0.4}; !slices.Equal(train.X.Data()[:4], want) {
		t.Errorf("scaled pixels %v, want %v", train.X.Data()[:4], want)
	}
	if !slices.Equal(test.X.Data(), train.X.Data()) {
		t.Error("gzipped and raw copies differ")
	}

	// Mismatched counts are refused with both file names.
	write("labels4", encodeIDX(t, IDXUint8, []uint32{4}, []float64{1, 2, 3, 4}))
	_, err = IDXDataset[float64](filepath.Join(dir, MNISTTrainImages), filepath.Join(dir, "labels4"), 1)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("labels4")) {
		t.Errorf("got %v, want an error naming labels4", err)
	}
	// Float labels are refused.
	write("flabels", encodeIDX(t, IDXFloat32, []uint32{3}, []float64{1, 2, 3}))
	if _, err := IDXDataset[float64](filepath.Join(dir, MNISTTrainImages), filepath.Join(dir, "flabels"), 1); err == nil {
		t.Error("float labels accepted")
	}
	// A truncated or corrupt image file is refused, naming the file,
	// by the streaming decoder that MNIST and IDXDataset use.
	gzImages := gzipBytes(t, images)
	write("short-images", images[:len(images)-3])
	write("short-images.gz", gzipBytes(t, images[:len(images)-3]))
	write("cut-images.gz", gzImages[:len(gzImages)-6])
	for name, sent := range map[string]error{"short-images": ErrTruncated, "short-images.gz": ErrTruncated, "cut-images.gz": ErrCompression} {
		path := filepath.Join(dir, name)
		_, err := IDXDataset[float64](path, filepath.Join(dir, MNISTTrainLabels), 1)
		var ie *IDXError
		if !errors.Is(err, sent) || !errors.As(err, &ie) || ie.File != path {
			t.Errorf("%s: got %v, want %v naming the file", name, err, sent)
		}
	}
	// A missing file is named.
	if _, _, err := MNIST[float64](t.TempDir()); err == nil || !bytes.Contains([]byte(err.Error()), []byte(MNISTTrainImages)) {
		t.Errorf("got %v, want an error naming %s", err, MNISTTrainImages)
	}
}

// BenchmarkMNISTLoad measures reading and decoding the four gzipped MNIST
// files into float32 datasets.
func BenchmarkMNISTLoad(b *testing.B) {
	skipWithoutMNIST(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := MNIST[float32](mnistDir); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoaderMNIST is the loader on MNIST, batch 128, float32: one op
// is one batch; it reports batches/s and must show 0 allocs/op.
func BenchmarkLoaderMNIST(b *testing.B) {
	skipWithoutMNIST(b)
	train, _, err := MNIST[float32](mnistDir)
	if err != nil {
		b.Fatal(err)
	}
	benchmarkLoader(b, train, 128)
}

func TestDigits(t *testing.T) {
	ds, err := Digits[float32]()
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 1797 || ds.Dim() != 64 || ds.NumClasses != 10 {
		t.Fatalf("digits %d x %d with %d classes, want 1797 x 64 with 10", ds.Len(), ds.Dim(), ds.NumClasses)
	}
	// Class counts of the UCI optdigits test set.
	if want := []int{178, 182, 177, 183, 181, 182, 181, 179, 174, 180}; !slices.Equal(ds.ClassCounts(), want) {
		t.Errorf("class counts %v, want %v", ds.ClassCounts(), want)
	}
	if lo, hi := slices.Min(ds.X.Data()), slices.Max(ds.X.Data()); lo != 0 || hi != 16 {
		t.Errorf("pixel counts span [%v, %v], want [0, 16]", lo, hi)
	}
	// The first example of the file is a 0 whose first row of pixels is
	// 0 0 5 13 9 1 0 0.
	if ds.Labels[0] != 0 || !slices.Equal(ds.X.Data()[:8], []float32{0, 0, 5, 13, 9, 1, 0, 0}) {
		t.Errorf("first example: label %d, pixels %v", ds.Labels[0], ds.X.Data()[:8])
	}
	// The embedded copy matches the shared one when it is present.
	shared, err := os.ReadFile(filepath.Join(uciDir, "digits.csv.gz"))
	if err == nil && !bytes.Equal(shared, digitsCSV) {
		t.Error("embedded digits differ from the shared copy")
	}
}
