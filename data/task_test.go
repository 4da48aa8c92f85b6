package data

import (
	"strings"
	"testing"
)

// TestLoadTask: each kind of spec loads, splits and standardizes; bad
// specs are errors that quote the spec and say what it takes.
func TestLoadTask(t *testing.T) {
	tk, err := LoadTask[float32]("digits", 0.25, 1)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Name != "digits" || tk.Classes != 10 || tk.Outputs != 10 || tk.Train.Len()+tk.Test.Len() != 1797 {
		t.Errorf("digits: %s, %d classes, %d outputs, %d+%d rows", tk.Name, tk.Classes, tk.Outputs, tk.Train.Len(), tk.Test.Len())
	}
	if n := tk.Test.Len(); n < 440 || n > 460 {
		t.Errorf("digits test part %d rows, want about a quarter of 1797", n)
	}
	reg, err := LoadTask[float64]("synthetic:linear,n=200,d=3", 0.5, 2)
	if err != nil {
		t.Fatal(err)
	}
	if reg.Classes != 0 || reg.Outputs != 1 || reg.Train.Dim() != 3 || reg.Train.Len() != 100 {
		t.Errorf("linear: %d classes, %d outputs, %d features, %d train rows", reg.Classes, reg.Outputs, reg.Train.Dim(), reg.Train.Len())
	}
	// Standardized with the train part's statistics: mean 0 per feature.
	x, d := reg.Train.X.Data(), reg.Train.Dim()
	for j := range d {
		var s float64
		for i := j; i < len(x); i += d {
			s += x[i]
		}
		if m := s / float64(reg.Train.Len()); m > 1e-9 || m < -1e-9 {
			t.Errorf("feature %d of the train part has mean %v after standardizing", j, m)
		}
	}
	for spec, want := range map[string]string{
		"digits:x":              "takes no argument",
		"mnist":                 "needs the directory",
		"csv:":                  "needs a file name",
		"csv:a.csv,weird":       `unknown option "weird"`,
		"synthetic:moons":       "unknown generator",
		"synthetic:spirals,n=0": "positive integer",
		"nope":                  `"nope"`,
	} {
		if _, err := LoadTask[float32](spec, 0.2, 1); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadTask(%q): error %v, want one containing %q", spec, err, want)
		}
	}
}
