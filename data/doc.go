// Package data provides datasets for gradflow: in-memory datasets and their
// splits and scalings, seeded batch loaders, readers for the IDX (MNIST) and
// CSV formats, an embedded default dataset, and synthetic problems built for
// the theory of gradient methods.
//
// # Datasets
//
// A Dataset[T] holds features X of shape [n, d] and targets: class labels
// (Labels in [0, NumClasses), with the original names in Classes), real
// vectors (Y of shape [n, k]), both, or neither. Dataset.Split divides it at
// random into training, validation and test parts, optionally stratified by
// class. A Scaler (Standardize: x' = (x - mean)/std with the population std;
// MinMax: x' = (x - min)/(max - min)) is fitted on the training features only
// and then applied unchanged to the other parts, so no statistic of held-out
// data leaks into training; FitScaler does both steps. OneHot turns labels
// into indicator rows.
//
// # Loaders
//
// A Loader delivers batches epoch after epoch. With Shuffle, epoch e visits
// the examples in the order of a Fisher-Yates shuffle driven by PCG(Seed,
// SplitMix64(e)) with Lemire's unbiased bounded integers; the permutation is
// drawn by one goroutine, so the order depends only on the seed and the
// epoch, never on GOMAXPROCS, and any epoch can be regenerated on its own.
// That makes the loader's position (LoaderState: seed, epoch, offset) enough
// to resume a run from a checkpoint with exactly the batches it would have
// seen. LoaderConfig.Order names the order explicitly: OrderShuffle (what
// Shuffle selects), OrderCyclic (dataset order), or OrderReplacement, which
// draws every row of every batch uniformly and independently from the whole
// dataset with Lemire's bounded integers from PCG(Seed, SplitMix64(e)):
// i.i.d. minibatches, the sampling of the stochastic-approximation and SDE
// analyses of SGD (package flow's SVAG needs two independent minibatches per
// step). Batches are gathered into tensors allocated once, so Next
// allocates nothing in steady state.
//
// # IDX files and MNIST
//
// IDX is the format of the MNIST files (Y. LeCun, C. Cortes, C. J. C.
// Burges, The MNIST database of handwritten digits; licence CC BY-SA 3.0).
// A file is a 4-byte magic number 0x00 0x00 <type> <rank>, then rank
// big-endian uint32 dimensions, then the elements in row-major order,
// big-endian:
//
//	0x08 uint8   0x09 int8   0x0B int16   0x0C int32   0x0D float32   0x0E float64
//
// ReadIDX and ReadIDXFile read any of these types, raw or gzip-compressed
// (recognised by the gzip magic bytes 1f 8b, not by the file name), and
// refuse with an *IDXError naming the byte offset: wrong magic numbers,
// unknown types, truncated headers or payloads, trailing bytes, dimension
// products that overflow, and corrupt gzip streams (including a bad CRC).
// A header never makes them allocate beyond what the input can hold: the
// payload is checked against the input size (or, for gzip, against 1032
// times it, deflate's largest expansion) when that size is known, and
// otherwise read into a buffer that grows with the data. MNIST reads the
// four standard files from a directory into a training set of 60000 and a
// test set of 10000 examples of 784 pixels scaled to [0, 1]; IDXDataset
// reads any images/labels pair.
//
// # CSV files
//
// ReadCSV and ReadCSVFile read numeric features and one label column,
// selected by header name or by position. The first line is detected as a
// header of column names when one of its feature fields is not a number.
// The UCI copies distributed with scikit-learn start instead with a line
// "n,d,name_0,...,name_{k-1}": n rows follow, each with d features and an
// integer label naming class name_label; this header is detected too, and
// n and d are checked against the data. Class labels (any strings) are
// mapped to indices in sorted order, numerically if all are numbers, and
// the mapping is kept in Dataset.Classes.
//
// A class label is a name or a class index, and the reader refuses, with an
// error wrapping ErrLabel that names the file, line, column and value, what
// can be neither:
//
//   - a label that parses as a number must be a non-negative whole number
//     (0, 1, 7, 1e1): -1, 0.5, NaN or 1e999 in a label column is far likelier
//     a real-valued target read without TargetReal than a class, and would
//     otherwise silently become a class name;
//   - CSVOptions.Classes declares the class names (a csv spec's
//     classes=NAME:NAME:...): then every label must be one of them, whatever
//     it looks like (the way to keep -1/+1 labels as two classes), and class
//     i is the i-th declared name, seen or not;
//   - with a UCI header, labels must be indices into its class names;
//   - fewer than 2 classes are refused (no classifier can learn from one),
//     suggesting a real-valued target when the one label is a number.
//
// Missing values (empty fields,
// "?", "NA", "N/A", "null", "none"), malformed numbers and lines with the
// wrong number of fields are refused with a *CSVError naming the file, line
// and column; NaN, ±Inf and values that overflow T are refused too, or kept
// and reported, as CSVOptions.NonFinite chooses.
//
// # Embedded digits
//
// Digits returns the UCI optical recognition of handwritten digits data
// embedded in the package: 1797 images of 8x8 pixel counts (0..16) with
// labels 0..9 (E. Alpaydin, C. Kaynak, Optical Recognition of Handwritten
// Digits, UCI Machine Learning Repository, 1998, CC BY 4.0; see
// embed/README.md). Programs can therefore train on real data with no
// download.
//
// # Synthetic problems
//
// Every generator takes an explicit *rand.Rand; the same seed gives the same
// data bit for bit. With e a standard normal vector of the right size:
//
//   - TeacherStudent: x ~ N(0, I_d) or uniform on S^{d-1}; a teacher network
//     with widths [d, h_1, ..., k], weights W_l ~ N(0, 1/fan_in) and biases
//     ~ N(0, BiasStd^2) computes f(x) = W_L a(... a(W_1 x + b_1) ...) + b_L,
//     a being any activation of package tensor (identity when empty),
//     applied by the same tape operations as a student's.
//     Regression targets are y = f(x) + Noise*e; class labels are argmax f(x)
//     (or 1{f(x) > 0} for k = 1), each replaced with probability LabelNoise
//     by a uniformly drawn class.
//   - LinearRegression: x ~ N(0, I_d), w ~ N(0, I_d/d), y = x.w + noise*e.
//   - Overparameterized: the same with d > n and no noise, so that
//     infinitely many linear models interpolate the data; gradient descent
//     from zero finds the minimum-norm one, X^T (X X^T)^{-1} y.
//   - SparseRegression (LASSO, compressed sensing): A_ij ~ N(0, 1/n), b with
//     k entries ±1 on a uniformly random support and zeros elsewhere,
//     y = A b + noise*e.
//   - TwoSpirals (K. Lang, M. Witbrock, Learning to tell two spirals apart,
//     1988): class c = i mod 2, t ~ U(0, 1), angle a = 2 pi turns t + pi c,
//     x = t (cos a, sin a) + noise*e.
//   - GaussianMixture: means m_c = sep*u_c with u_c uniform on S^{d-1},
//     x = m_c + std*e, balanced classes in random order.
//   - Sinusoid: x ~ U(-pi, pi), y = sin(freq x) + noise*e.
//   - Sphere: x = g/|g| with g ~ N(0, I_d), uniform on S^{d-1} by the
//     rotation invariance of the Gaussian (M. E. Muller, A note on a method
//     for generating points uniformly on n-dimensional spheres, Comm. ACM
//     2(4), 1959); the input distribution of the NTK spectral theory.
//
// # Fuzzing
//
// FuzzIDX and FuzzCSV check that the readers return errors of the documented
// types, never panic, and agree with the writers and with each other. Their
// seed corpus is committed under testdata/fuzz. CI runs each for a fixed
// number of executions:
//
//	go test ./data -run '^$' -fuzz '^FuzzIDX$' -fuzztime 20000x
//	go test ./data -run '^$' -fuzz '^FuzzCSV$' -fuzztime 20000x
package data
