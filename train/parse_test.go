package train

import (
	"slices"
	"strings"
	"testing"
)

func TestParseArch(t *testing.T) {
	for _, c := range []struct {
		spec string
		want []int
		err  string
	}{
		{"auto", []int{64, 128, 128, 10}, ""},
		{"", []int{64, 128, 128, 10}, ""},
		{"64-32-10", []int{64, 32, 10}, ""},
		{"64-x-10", nil, `"x" is not a positive width`},
		{"64-0-10", nil, `"0" is not a positive width`},
		{"64", nil, "at least input and output"},
		{"10-32-10", nil, "input width 10, but the data has 64 features"},
		{"64-32-7", nil, "output width 7, but the data needs 10 outputs"},
	} {
		got, err := ParseArch(c.spec, 64, 10)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), `"`+c.spec+`"`) {
				t.Errorf("ParseArch(%q): %v, want an error quoting it and saying %q", c.spec, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("ParseArch(%q) = %v, %v; want %v", c.spec, got, err, c.want)
		}
	}
}

func TestParseLoss(t *testing.T) {
	for _, c := range []struct {
		name        string
		classes     bool
		want        string // the loss's Name, or "" for an error
		oneHot      bool
		errContains string
	}{
		{"auto", true, (&CrossEntropy[float32]{}).Name(), false, ""},
		{"auto", false, (&MSE[float32]{}).Name(), false, ""},
		{"ce", true, (&CrossEntropy[float32]{}).Name(), false, ""},
		{"mse", true, (&MSE[float32]{Classes: true}).Name(), true, ""},
		{"half_mse", false, (&MSE[float32]{Half: true}).Name(), false, ""},
		{"ce", false, "", false, "needs class labels"},
		{"hinge", true, "", false, "want ce, mse, half_mse or auto"},
	} {
		l, oneHot, err := ParseLoss[float32](c.name, c.classes)
		if c.want == "" {
			if err == nil || !strings.Contains(err.Error(), c.errContains) {
				t.Errorf("ParseLoss(%q, %v): %v, want an error saying %q", c.name, c.classes, err, c.errContains)
			}
			continue
		}
		if err != nil || l.Name() != c.want || oneHot != c.oneHot {
			t.Errorf("ParseLoss(%q, %v) = %v, %v, %v; want %s, oneHot %v", c.name, c.classes, l, oneHot, err, c.want, c.oneHot)
		}
	}
}
