package data

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gradflow/gradflow/tensor"
)

// Dataset is a supervised dataset held in memory: n examples with d
// features each, and targets that are class labels, real vectors, or both
// (or neither, for inputs-only data such as points on a sphere).
//
// Rows of X, Labels and Y correspond. A Dataset owns its slices; the
// functions of this package that return new Datasets (Subset, Split) copy
// rows, so transforming a split never changes the original.
type Dataset[T tensor.Float] struct {
	// X holds the features, shape [n, d].
	X *tensor.Tensor[T]
	// Labels holds the class index of each example, in [0, NumClasses),
	// or is nil for a dataset without classes.
	Labels []int32
	// NumClasses is the number of classes; 0 when Labels is nil.
	NumClasses int
	// Classes[c] is the original name of class c (e.g. "setosa", or "7"
	// for a digit); nil when the source had no names.
	Classes []string
	// Y holds real-valued targets, shape [n, k], or is nil.
	Y *tensor.Tensor[T]
	// FeatureNames[j] names column j of X when the source had a header.
	FeatureNames []string
	// Shape is the shape of one example when its d features are an image
	// or another array, row-major: [1 8 8] for the digits, [1 28 28] for
	// MNIST ([C H W], the layout of PyTorch). Nil means flat features.
	// Models that need it (a convolutional nn.Net) read it; rows stay
	// rows, so loaders and every tool on [n, d] matrices are unaffected.
	Shape []int
}

// ExampleShape returns Shape, or [d] for a dataset of flat features.
func (ds *Dataset[T]) ExampleShape() []int {
	if ds.Shape != nil {
		return append([]int(nil), ds.Shape...)
	}
	return []int{ds.Dim()}
}

// Len returns the number of examples n.
func (ds *Dataset[T]) Len() int { return ds.X.Dim(0) }

// Dim returns the number of features d.
func (ds *Dataset[T]) Dim() int { return ds.X.Dim(1) }

// Validate checks that the parts of ds agree: X is [n, d] with n, d >= 1,
// Labels has n entries in [0, NumClasses), Y is [n, k], and the name
// slices have the right lengths. Constructors in this package return
// valid datasets; Validate is for datasets assembled by hand.
func (ds *Dataset[T]) Validate() error {
	if ds == nil {
		return fmt.Errorf("data: the dataset is nil")
	}
	if ds.X == nil {
		return fmt.Errorf("data: dataset has no features (X is nil)")
	}
	shape := ds.X.Shape()
	if len(shape) != 2 || shape[0] < 1 || shape[1] < 1 {
		return fmt.Errorf("data: features X have shape %v, want [n, d] with n, d >= 1", shape)
	}
	n, d := shape[0], shape[1]
	if ds.Labels != nil {
		if len(ds.Labels) != n {
			return fmt.Errorf("data: %d labels for %d examples", len(ds.Labels), n)
		}
		if ds.NumClasses < 1 {
			return fmt.Errorf("data: labels given but NumClasses = %d", ds.NumClasses)
		}
		for i, c := range ds.Labels {
			if c < 0 || int(c) >= ds.NumClasses {
				return fmt.Errorf("data: label %d of example %d outside [0, %d)", c, i, ds.NumClasses)
			}
		}
	} else if ds.NumClasses != 0 {
		return fmt.Errorf("data: NumClasses = %d but no labels", ds.NumClasses)
	}
	if ds.Classes != nil && len(ds.Classes) != ds.NumClasses {
		return fmt.Errorf("data: %d class names for %d classes", len(ds.Classes), ds.NumClasses)
	}
	if ds.Y != nil {
		ys := ds.Y.Shape()
		if len(ys) != 2 || ys[0] != n || ys[1] < 1 {
			return fmt.Errorf("data: targets Y have shape %v, want [%d, k] with k >= 1", ys, n)
		}
	}
	if ds.FeatureNames != nil && len(ds.FeatureNames) != d {
		return fmt.Errorf("data: %d feature names for %d features", len(ds.FeatureNames), d)
	}
	if ds.Shape != nil {
		p := 1
		for _, s := range ds.Shape {
			if s < 1 {
				p = -1
				break
			}
			p *= s
		}
		if p != d {
			return fmt.Errorf("data: example shape %v does not hold the %d features of a row", ds.Shape, d)
		}
	}
	return nil
}

// ClassCounts returns how many examples each class has; nil without labels.
func (ds *Dataset[T]) ClassCounts() []int {
	if ds.Labels == nil {
		return nil
	}
	counts := make([]int, ds.NumClasses)
	for _, c := range ds.Labels {
		counts[c]++
	}
	return counts
}

// Subset returns a new dataset holding copies of the given rows, in that
// order (rows may repeat, as in a bootstrap sample). It panics if a row is
// out of range: indices come from the program, not from input files.
func (ds *Dataset[T]) Subset(rows []int) *Dataset[T] {
	n := ds.Len()
	for _, r := range rows {
		if r < 0 || r >= n {
			panic(fmt.Sprintf("data: Subset row %d outside [0, %d)", r, n))
		}
	}
	out := &Dataset[T]{
		X:            gatherRows(ds.X, rows),
		NumClasses:   ds.NumClasses,
		Classes:      ds.Classes,
		FeatureNames: ds.FeatureNames,
		Shape:        ds.Shape,
	}
	if ds.Labels != nil {
		out.Labels = make([]int32, len(rows))
		for i, r := range rows {
			out.Labels[i] = ds.Labels[r]
		}
	}
	if ds.Y != nil {
		out.Y = gatherRows(ds.Y, rows)
	}
	return out
}

// gatherRows copies rows of the [n, w] tensor t into a new [len(rows), w] one.
func gatherRows[T tensor.Float](t *tensor.Tensor[T], rows []int) *tensor.Tensor[T] {
	w := t.Dim(1)
	src := t.Data()
	dst := make([]T, len(rows)*w)
	for i, r := range rows {
		copy(dst[i*w:(i+1)*w], src[r*w:(r+1)*w])
	}
	return tensor.FromSlice(dst, len(rows), w)
}

// SplitSpec says how Split divides a dataset.
type SplitSpec struct {
	// Validation and Test are the fractions of examples, each in [0, 1),
	// that go to the validation and test parts; the rest is for training.
	Validation, Test float64
	// Stratify splits each class separately, so every part keeps the class
	// proportions of the whole (to within one example per class). It
	// needs class labels.
	Stratify bool
}

// Split divides ds at random into training, validation and test parts,
// copying the rows. Part sizes are round(fraction * n), or with Stratify,
// the sums over classes c of round(fraction * n_c). A part with no rows is
// returned as nil, so Validation 0 gives a nil val. The rows of each part
// are in random order. The same rng state gives the same split.
func (ds *Dataset[T]) Split(rng *rand.Rand, spec SplitSpec) (train, val, test *Dataset[T], err error) {
	if ds == nil || ds.X == nil {
		return nil, nil, nil, fmt.Errorf("data.Dataset.Split: the dataset is nil or has no features")
	}
	if rng == nil {
		return nil, nil, nil, errNilRNG("data.Dataset.Split")
	}
	fv, ft := spec.Validation, spec.Test
	if !(fv >= 0 && fv < 1) || !(ft >= 0 && ft < 1) || !(fv+ft < 1) {
		return nil, nil, nil, fmt.Errorf("data: split fractions validation %v, test %v: each must be in [0, 1), their sum below 1", fv, ft)
	}
	n := ds.Len()
	var groups [][]int
	if spec.Stratify {
		if ds.Labels == nil {
			return nil, nil, nil, fmt.Errorf("data: stratified split needs class labels")
		}
		groups = make([][]int, ds.NumClasses)
		for i, c := range ds.Labels {
			groups[c] = append(groups[c], i)
		}
	} else {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		groups = [][]int{all}
	}
	var trainRows, valRows, testRows []int
	for _, g := range groups {
		rng.Shuffle(len(g), func(i, j int) { g[i], g[j] = g[j], g[i] })
		nv := int(math.Round(fv * float64(len(g))))
		nt := int(math.Round(ft * float64(len(g))))
		if nv+nt > len(g) {
			// Both fractions rounded up in a tiny group; give the test
			// part what is left so no row is used twice.
			nt = len(g) - nv
		}
		valRows = append(valRows, g[:nv]...)
		testRows = append(testRows, g[nv:nv+nt]...)
		trainRows = append(trainRows, g[nv+nt:]...)
	}
	if len(trainRows) == 0 {
		return nil, nil, nil, fmt.Errorf("data: split of %d examples leaves no training rows", n)
	}
	part := func(rows []int) *Dataset[T] {
		if len(rows) == 0 {
			return nil
		}
		// Stratified parts come out grouped by class; shuffle so that
		// a loader without shuffling still sees mixed classes.
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		return ds.Subset(rows)
	}
	return part(trainRows), part(valRows), part(testRows), nil
}

// OneHot returns the [len(labels), numClasses] matrix whose row i is the
// indicator vector of labels[i].
func OneHot[T tensor.Float](labels []int32, numClasses int) (*tensor.Tensor[T], error) {
	if numClasses < 1 {
		return nil, fmt.Errorf("data: one-hot with %d classes", numClasses)
	}
	out := make([]T, len(labels)*numClasses)
	if err := oneHotInto(out, labels, numClasses); err != nil {
		return nil, err
	}
	return tensor.FromSlice(out, len(labels), numClasses), nil
}

// oneHotInto writes the one-hot rows of labels into dst, which must have
// len(labels)*k elements; it allocates nothing, for the loader's sake.
func oneHotInto[T tensor.Float](dst []T, labels []int32, k int) error {
	clear(dst)
	for i, c := range labels {
		if c < 0 || int(c) >= k {
			return fmt.Errorf("data: label %d of row %d outside [0, %d)", c, i, k)
		}
		dst[i*k+int(c)] = 1
	}
	return nil
}
