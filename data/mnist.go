package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/gradflow/gradflow/tensor"
)

// IDXDataset reads a pair of IDX files, images [n, ...] and labels [n],
// into a classification dataset with X of shape [n, d] (d is the product of
// the image dimensions) holding the values times scale. Labels must have an
// integer type and be non-negative; Shape is [1 H W] for images [n H W]
// and [C H W] for [n C H W]; NumClasses is the largest label plus
// one. The two files are decoded concurrently.
func IDXDataset[T tensor.Float](imagesPath, labelsPath string, scale T) (*Dataset[T], error) {
	var images idxImages[T]
	var labels *IDX
	var errLabels error
	var wg sync.WaitGroup
	wg.Go(func() { images.dims, images.x, images.err = readIDXFileAs(imagesPath, scale) })
	wg.Go(func() { labels, errLabels = ReadIDXFile(labelsPath) })
	wg.Wait()
	if err := errors.Join(images.err, errLabels); err != nil {
		return nil, err
	}
	return idxDataset(images, labels, imagesPath, labelsPath)
}

// idxImages is an IDX array of images already converted to T.
type idxImages[T tensor.Float] struct {
	dims []int
	x    []T
	err  error
}

func idxDataset[T tensor.Float](images idxImages[T], labels *IDX, imagesPath, labelsPath string) (*Dataset[T], error) {
	n := images.dims[0]
	if n == 0 {
		return nil, fmt.Errorf("data: %s: no images (dims %v)", imagesPath, images.dims)
	}
	d := len(images.x) / n
	if d == 0 {
		return nil, fmt.Errorf("data: %s: empty images (dims %v)", imagesPath, images.dims)
	}
	if len(labels.Dims) != 1 || labels.Dims[0] != n {
		return nil, fmt.Errorf("data: %s: labels have dims %v, want [%d] to match %s", labelsPath, labels.Dims, n, imagesPath)
	}
	lab, err := labels.Labels()
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", labelsPath, err)
	}
	maxLabel := int32(0)
	for i, c := range lab {
		if c < 0 {
			return nil, fmt.Errorf("data: %s: label %d of example %d is negative", labelsPath, c, i)
		}
		maxLabel = max(maxLabel, c)
	}
	k := int(maxLabel) + 1
	classes := make([]string, k)
	for c := range classes {
		classes[c] = strconv.Itoa(c)
	}
	// One image is [1 H W] (one channel, as torchvision's MNIST) or, for
	// an IDX array [n C H W], [C H W].
	var shape []int
	switch len(images.dims) {
	case 3:
		shape = []int{1, images.dims[1], images.dims[2]}
	case 4:
		shape = append([]int(nil), images.dims[1:]...)
	}
	return &Dataset[T]{X: tensor.FromSlice(images.x, n, d), Labels: lab, NumClasses: k, Classes: classes, Shape: shape}, nil
}

// The MNIST file names, without the ".gz" that the distributed copies have.
const (
	MNISTTrainImages = "train-images-idx3-ubyte"
	MNISTTrainLabels = "train-labels-idx1-ubyte"
	MNISTTestImages  = "t10k-images-idx3-ubyte"
	MNISTTestLabels  = "t10k-labels-idx1-ubyte"
)

// MNIST reads the four MNIST files from dir, each gzipped (name.gz) or raw
// (name), and returns the training set (60000 examples) and the test set
// (10000), with pixels scaled from 0..255 to [0, 1] and labels 0..9. Any
// data set in the same format and file names, such as Fashion-MNIST, loads
// too, as long as it has images of equal size and 10 classes or fewer.
// The four files are decoded concurrently.
func MNIST[T tensor.Float](dir string) (train, test *Dataset[T], err error) {
	names := [4]string{MNISTTrainImages, MNISTTrainLabels, MNISTTestImages, MNISTTestLabels}
	var paths [4]string
	for i, name := range names {
		if paths[i], err = findFile(dir, name); err != nil {
			return nil, nil, err
		}
	}
	const scale = 1.0 / 255
	var images [2]idxImages[T]
	var labels [2]*IDX
	var errLabels [2]error
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { images[i].dims, images[i].x, images[i].err = readIDXFileAs(paths[2*i], T(scale)) })
		wg.Go(func() { labels[i], errLabels[i] = ReadIDXFile(paths[2*i+1]) })
	}
	wg.Wait()
	if err := errors.Join(images[0].err, errLabels[0], images[1].err, errLabels[1]); err != nil {
		return nil, nil, err
	}
	if train, err = idxDataset(images[0], labels[0], paths[0], paths[1]); err != nil {
		return nil, nil, err
	}
	if test, err = idxDataset(images[1], labels[1], paths[2], paths[3]); err != nil {
		return nil, nil, err
	}
	for _, ds := range []*Dataset[T]{train, test} {
		if ds.NumClasses > 10 {
			return nil, nil, fmt.Errorf("data: mnist in %s: labels up to %d, want 0..9", dir, ds.NumClasses-1)
		}
		// Report every split with the same ten classes, even if one lacks
		// the highest digits, so that models built from either agree.
		ds.NumClasses, ds.Classes = 10, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	}
	if train.Dim() != test.Dim() {
		return nil, nil, fmt.Errorf("data: mnist in %s: training images have %d pixels, test images %d", dir, train.Dim(), test.Dim())
	}
	return train, test, nil
}

// findFile returns dir/name.gz or dir/name, whichever exists.
func findFile(dir, name string) (string, error) {
	for _, p := range []string{filepath.Join(dir, name+".gz"), filepath.Join(dir, name)} {
		_, err := os.Stat(p)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("data: %w", err)
		}
	}
	return "", fmt.Errorf("data: neither %s.gz nor %s in %s", name, name, dir)
}
