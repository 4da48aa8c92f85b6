package data

import (
	"os"
	"path/filepath"
	"strconv"
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
		"digits:x":                         "takes no argument",
		"mnist":                            "needs the directory",
		"csv:":                             "needs a file name",
		"csv:a.csv,weird":                  `unknown option "weird"`,
		"csv:a.csv,label=0":                "columns count from 1",
		"csv:a.csv,label=":                 "label= needs a column",
		"csv:a.csv,regression,classes=a:b": "one or the other",
		"synthetic:moons":                  "unknown generator",
		"synthetic:spirals,n=0":            "positive integer",
		"nope":                             `"nope"`,
	} {
		if _, err := LoadTask[float32](spec, 0.2, 1); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadTask(%q): error %v, want one containing %q", spec, err, want)
		}
	}
}

// TestLoadTaskLabels: the label errors of a csv spec name the file (and
// the line and value) and suggest the spec's own options; classes= reads
// labels that are not class indices as declared classes.
func TestLoadTaskLabels(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	var pm strings.Builder
	pm.WriteString("x,y,target\n")
	for i := range 20 {
		pm.WriteString(strings.Join([]string{strconv.Itoa(i), strconv.Itoa(i * i % 7), []string{"-1", "1"}[i%2]}, ",") + "\n")
	}
	signs := write("signs.csv", pm.String())
	one := write("one.csv", "1,2,3\n4,5,3\n6,7,3\n")
	for spec, want := range map[string][]string{
		"csv:" + signs: {signs + ":2", `"-1"`, "add ,regression to the csv:" + signs + " spec", "add ,classes=NAME:NAME:..."},
		"csv:" + one:   {one, `one class ("3")`, "add ,regression to the csv:" + one + " spec"},
	} {
		_, err := LoadTask[float32](spec, 0.2, 1)
		for _, w := range want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("LoadTask(%q): error %v, want one containing %q", spec, err, w)
			}
		}
	}
	tk, err := LoadTask[float32]("csv:"+signs+",classes=-1:1", 0.2, 1)
	if err != nil || tk.Classes != 2 || tk.Outputs != 2 {
		t.Fatalf("classes=-1:1: %v", err)
	}
	if _, err := LoadTask[float32]("csv:"+signs+",regression", 0.2, 1); err != nil {
		t.Fatalf(",regression: %v", err)
	}
}
