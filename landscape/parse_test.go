package landscape

import (
	"slices"
	"strings"
	"testing"
)

func TestParseNoiseBatches(t *testing.T) {
	for _, c := range []struct {
		spec string
		n    int
		want []int
		err  string
	}{
		{"auto", 200, []int{1, 10, 100}, ""},
		{"auto", 50, []int{1, 10}, ""},
		{"none", 50, nil, ""},
		{"1, 8,64", 64, []int{1, 8, 64}, ""},
		{"1,0", 64, nil, `"0" is not a positive batch size`},
		{"1,x", 64, nil, `"x" is not a positive batch size`},
		{"1,128", 64, nil, "128 is larger than the probe's subset (64 examples)"},
	} {
		got, err := ParseNoiseBatches(c.spec, c.n)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseNoiseBatches(%q, %d): %v, want an error saying %q", c.spec, c.n, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("ParseNoiseBatches(%q, %d) = %v, %v; want %v", c.spec, c.n, got, err, c.want)
		}
	}
}
