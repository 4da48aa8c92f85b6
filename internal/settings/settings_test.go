package settings

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type common struct {
	Seed uint64 `json:"seed" help:"seed"`
}

type example struct {
	common
	Widths string  `json:"widths" help:"comma-separated widths"`
	LR     float64 `json:"lr" help:"learning rate"`
	Steps  int     `json:"steps" help:"steps"`
	NoFig  bool    `json:"no_figures" help:"skip figures"`
	hidden int     // no help tag: not a setting
}

// TestBindAndJSON: flags named after the JSON keys with - for _, the
// embedded struct's fields included; JSON writes them back sorted and
// ApplyFile reads that file into the same values.
func TestBindAndJSON(t *testing.T) {
	c := example{common: common{Seed: 1}, Widths: "64,128", LR: 0.1, Steps: 10}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	Bind(fs, &c)
	if err := fs.Parse([]string{"-no-figures", "-lr", "0.5", "-seed", "7"}); err != nil {
		t.Fatal(err)
	}
	if !c.NoFig || c.LR != 0.5 || c.Seed != 7 || fs.Lookup("steps").DefValue != "10" || fs.Lookup("hidden") != nil {
		t.Fatalf("after parsing: %+v", c)
	}
	b, err := JSON(&c, func(name string) bool { return name == "steps" })
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"lr\": 0.5,\n  \"no_figures\": true,\n  \"seed\": 7,\n  \"widths\": \"64,128\"\n}\n"
	if string(b) != want {
		t.Fatalf("JSON:\n%s\nwant\n%s", b, want)
	}
	path := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(path, b, 0o644)
	var d example
	set, err := ApplyFile(&d, path)
	if err != nil {
		t.Fatal(err)
	}
	if d.LR != 0.5 || !d.NoFig || d.Seed != 7 || d.Widths != "64,128" || len(set) != 4 || !set["no-figures"] {
		t.Fatalf("ApplyFile: %+v, set %v", d, set)
	}
}

// TestErrors: the errors name the file, the key or the flag.
func TestErrors(t *testing.T) {
	dir := t.TempDir()
	for body, want := range map[string]string{
		`{"stepz": 3}`:      `"stepz"`,
		`{"steps": "ten"}`:  `key "steps"`,
		`[1]`:               "c.json",
		`{"no-figures": 1}`: `"no-figures"`,
	} {
		path := filepath.Join(dir, "c.json")
		os.WriteFile(path, []byte(body), 0o644)
		var c example
		if _, err := ApplyFile(&c, path); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "c.json") {
			t.Errorf("%s: %v, want an error naming c.json and %s", body, err, want)
		}
	}
	if _, err := ApplyFile(&example{}, filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := JSON(&example{LR: 1.0 / zero()}, nil); err == nil || !strings.Contains(err.Error(), "-lr +Inf") {
		t.Errorf("JSON of an infinite rate: %v, want an error naming -lr", err)
	}
}

func zero() float64 { return 0 }
