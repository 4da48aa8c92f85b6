package sweep

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/nn"
)

// TestConfigClasses: dataset.classes is checked against the dataset kind,
// with an error naming the field, instead of failing later in data.
func TestConfigClasses(t *testing.T) {
	base := Config{Widths: []int{8}, Parameterizations: []nn.Parameterization{nn.MuP}, Seeds: []uint64{1}, LRs: []float64{0.1}, Steps: 1}
	cases := []struct {
		ds   Dataset
		want string // "" for valid
	}{
		{Dataset{Kind: "teacher-class", N: 32, Dim: 4, Classes: -1}, "dataset.classes"},
		{Dataset{Kind: "teacher-class", N: 32, Dim: 4, Classes: 1}, "dataset.classes"},
		{Dataset{Kind: "teacher-class", N: 32, Dim: 4}, ""},
		{Dataset{Kind: "teacher", N: 32, Dim: 4, Classes: 3}, "dataset.classes"},
		{Dataset{Kind: "digits", N: 32, Classes: 5}, "dataset.classes"},
		{Dataset{Kind: "digits", N: 32, Classes: 10}, ""},
	}
	for _, c := range cases {
		cfg := base
		cfg.Dataset = c.ds
		err := cfg.Validate()
		if c.want == "" {
			if err != nil {
				t.Errorf("%+v: %v", c.ds, err)
			}
			continue
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want a ConfigError naming %s", c.ds, err, c.want)
		}
	}
}

// TestSmallDatasets: a dataset smaller than the default 16 kernel points
// measures the kernel on all of it, and the coordinate check (which never
// measures the kernel) runs on it too.
func TestSmallDatasets(t *testing.T) {
	cfg := Config{Dataset: Dataset{Kind: "teacher", N: 8, Dim: 4}, Widths: []int{8}, Parameterizations: []nn.Parameterization{nn.MuP},
		Seeds: []uint64{1}, LRs: []float64{0.1}, Steps: 2}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("N=8 with the default kernel points: %v", err)
	}
	c, err := cfg.withDefaults()
	if err != nil || c.KernelPoints != 8 {
		t.Fatalf("kernel points %d (err %v), want 8", c.KernelPoints, err)
	}
	cfg.KernelPoints = 9
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "kernel_points") {
		t.Fatalf("kernel_points 9 > n = 8: error %v", err)
	}
	if _, err := CoordCheck(context.Background(), CoordConfig{Dataset: Dataset{Kind: "teacher", N: 8, Dim: 4}, Widths: []int{8, 16},
		Parameterizations: []nn.Parameterization{nn.MuP}, Seeds: []uint64{1}, LR: 0.1}); err != nil {
		t.Fatalf("coordinate check on 8 points: %v", err)
	}
}
