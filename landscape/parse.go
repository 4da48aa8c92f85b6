package landscape

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseNoiseBatches reads the batch sizes of NoiseBudget.BatchSizes for a
// probe subset of n examples from a comma-separated list such as "1,8,64";
// "auto" is 1, 10 and 100 as far as they fit in n, "none" (or "") none.
// An explicit size larger than n is an error, which quotes spec.
func ParseNoiseBatches(spec string, n int) ([]int, error) {
	if spec == "none" || spec == "" {
		return nil, nil
	}
	auto, list := spec == "auto", spec
	if auto {
		list = "1,10,100"
	}
	var bs []int
	for _, f := range strings.Split(list, ",") {
		b, err := strconv.Atoi(strings.TrimSpace(f))
		switch {
		case err != nil || b < 1:
			return nil, fmt.Errorf("%q: %q is not a positive batch size", spec, f)
		case auto && b > n:
			continue
		case b > n:
			return nil, fmt.Errorf("%q: %d is larger than the probe's subset (%d examples)", spec, b, n)
		}
		bs = append(bs, b)
	}
	return bs, nil
}
