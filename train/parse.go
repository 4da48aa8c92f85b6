package train

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gradflow/gradflow/tensor"
)

// ParseArch reads the layer widths of an MLP written as "784-512-512-10"
// and checks them against data with in features and out outputs; "auto"
// (or "") is in-128-128-out. The errors quote spec and say what is wrong
// (the caller names the setting it came from, such as the flag -arch).
func ParseArch(spec string, in, out int) ([]int, error) {
	if spec == "auto" || spec == "" {
		return []int{in, 128, 128, out}, nil
	}
	var dims []int
	for _, f := range strings.Split(spec, "-") {
		v, err := strconv.Atoi(f)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%q: %q is not a positive width", spec, f)
		}
		dims = append(dims, v)
	}
	switch {
	case len(dims) < 2:
		return nil, fmt.Errorf("%q: needs at least input and output widths", spec)
	case dims[0] != in:
		return nil, fmt.Errorf("%q: input width %d, but the data has %d features", spec, dims[0], in)
	case dims[len(dims)-1] != out:
		return nil, fmt.Errorf("%q: output width %d, but the data needs %d outputs", spec, dims[len(dims)-1], out)
	}
	return dims, nil
}

// LossNames are the names ParseLoss takes.
var LossNames = []string{"auto", "ce", "mse", "half_mse"}

// ParseLoss returns the loss name stands for on data with class labels
// (classes) or real targets: "ce" (cross-entropy, classes only), "mse",
// "half_mse" (0.5 * MSE, the convention of NTK theory) or "auto" (ce for
// classes, mse otherwise). oneHot says that the square loss trains on
// one-hot class labels (data.LoaderConfig.OneHot). The errors quote name
// (the caller names the setting it came from).
func ParseLoss[T tensor.Float](name string, classes bool) (loss Loss[T], oneHot bool, err error) {
	switch name {
	case "auto":
		if classes {
			return &CrossEntropy[T]{}, false, nil
		}
		return &MSE[T]{}, false, nil
	case "ce":
		if !classes {
			return nil, false, fmt.Errorf("%q needs class labels, and the data has real-valued targets (use mse)", name)
		}
		return &CrossEntropy[T]{}, false, nil
	case "mse", "half_mse":
		return &MSE[T]{Half: name == "half_mse", Classes: classes}, classes, nil
	}
	return nil, false, fmt.Errorf("%q: want ce, mse, half_mse or auto", name)
}
