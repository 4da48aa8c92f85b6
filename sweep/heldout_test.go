package sweep

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
)

// heldOutSweeps are one small sweep per dataset kind, each with 40 held-out
// points.
func heldOutSweeps() map[string]Config {
	base := func(d Dataset) Config {
		return Config{Dataset: d, Widths: []int{16, 32}, Parameterizations: []nn.Parameterization{nn.MuP},
			Seeds: []uint64{1, 2}, LRs: []float64{0.2}, Steps: 8, LogEvery: 4, KernelPoints: 4}
	}
	return map[string]Config{
		"teacher":        base(Dataset{Kind: "teacher", N: 24, Dim: 5, Noise: 0.1, Seed: 3, TestN: 40}),
		"teacher-sphere": base(Dataset{Kind: "teacher-sphere", N: 24, Dim: 5, Seed: 4, TestN: 40}),
		"teacher-class":  base(Dataset{Kind: "teacher-class", N: 30, Dim: 6, Classes: 3, Seed: 5, TestN: 40}),
		"digits":         base(Dataset{Kind: "digits", N: 60, TestN: 40}),
	}
}

// TestHeldOutMetricsPresence: records carry test_loss (and test_accuracy
// for classification) exactly when test_n > 0, within sane ranges, and
// the training metrics do not depend on test_n.
func TestHeldOutMetricsPresence(t *testing.T) {
	for name, c := range heldOutSweeps() {
		t.Run(name, func(t *testing.T) {
			classify := name == "teacher-class" || name == "digits"
			plain := c
			plain.Dataset.TestN = 0
			ds, err := makeDataset(c)
			if err != nil {
				t.Fatal(err)
			}
			for _, spec := range c.Runs() {
				with, div, err := Train(context.Background(), c, ds, spec)
				if err != nil || div != 0 {
					t.Fatalf("%s: err %v, diverged at %d", spec.ID, err, div)
				}
				without, _, err := Train(context.Background(), plain, ds, spec)
				if err != nil {
					t.Fatal(err)
				}
				if len(with) != len(without) || len(with) != 3 {
					t.Fatalf("%s: %d records with test_n, %d without, want 3", spec.ID, len(with), len(without))
				}
				for i, r := range with {
					if r.TestLoss == nil || !(*r.TestLoss >= 0) || math.IsInf(*r.TestLoss, 0) {
						t.Errorf("%s step %d: test_loss %v", spec.ID, r.Step, r.TestLoss)
					}
					if (r.TestAccuracy != nil) != classify {
						t.Errorf("%s step %d: test_accuracy present %v, want %v", spec.ID, r.Step, r.TestAccuracy != nil, classify)
					}
					if r.TestAccuracy != nil && !(*r.TestAccuracy >= 0 && *r.TestAccuracy <= 1) {
						t.Errorf("%s step %d: test_accuracy %v", spec.ID, r.Step, *r.TestAccuracy)
					}
					w := without[i]
					if w.TestLoss != nil || w.TestAccuracy != nil {
						t.Errorf("%s step %d: held-out metrics without test_n", spec.ID, w.Step)
					}
					// Apart from the held-out metrics the records are equal.
					r.TestLoss, r.TestAccuracy = nil, nil
					a, _ := json.Marshal(r)
					b, _ := json.Marshal(w)
					if !bytes.Equal(a, b) {
						t.Errorf("%s step %d: training metrics depend on test_n:\n%s\n%s", spec.ID, w.Step, a, b)
					}
				}
				if v, ok := Metric(with[len(with)-1], "test_loss"); !ok || v != *with[len(with)-1].TestLoss {
					t.Errorf("Metric(test_loss) = %v, %v", v, ok)
				}
				if _, ok := Metric(with[0], "test_accuracy"); ok != classify {
					t.Errorf("Metric(test_accuracy) ok = %v, want %v", ok, classify)
				}
				if _, ok := Metric(without[0], "test_loss"); ok {
					t.Error("Metric(test_loss) found without test_n")
				}
			}
		})
	}
}

// TestHeldOutData: the training set does not depend on test_n; for the
// teacher kinds the held-out points are the next draws of the same
// generator labelled by the same teacher (train followed by test equals
// one data.TeacherStudent draw of n + test_n noiseless points), and none
// of them is a training point; for digits they are the rows after the
// first n.
func TestHeldOutData(t *testing.T) {
	for name, c := range heldOutSweeps() {
		t.Run(name, func(t *testing.T) {
			c.Dataset.Noise = 0
			d := c.Dataset
			tr, te, err := makeDatasets(c)
			if err != nil {
				t.Fatal(err)
			}
			if te == nil || te.Len() != d.TestN || te.Dim() != tr.Dim() {
				t.Fatalf("held-out set %v, want %d points of dimension %d", te, d.TestN, tr.Dim())
			}
			plain := c
			plain.Dataset.TestN = 0
			tr0, te0, err := makeDatasets(plain)
			if err != nil || te0 != nil {
				t.Fatalf("test_n 0: held-out set %v, err %v", te0, err)
			}
			if !slices.Equal(tr.X.Data(), tr0.X.Data()) || !slices.Equal(tr.Labels, tr0.Labels) ||
				(tr.Y != nil && !slices.Equal(tr.Y.Data(), tr0.Y.Data())) {
				t.Error("the training set depends on test_n")
			}
			rowKey := func(x []float64) string { b, _ := json.Marshal(x); return string(b) }
			trainRows := map[string]bool{}
			for i := range tr.Len() {
				trainRows[rowKey(tr.X.Data()[i*tr.Dim():(i+1)*tr.Dim()])] = true
			}
			for i := range te.Len() {
				if trainRows[rowKey(te.X.Data()[i*te.Dim():(i+1)*te.Dim()])] && name != "digits" {
					t.Errorf("held-out point %d is a training point", i)
				}
			}
			// The reference: one draw of all n + test_n points.
			var all *data.Dataset[float64]
			switch name {
			case "digits":
				all, err = data.Digits[float64]()
				if err != nil {
					t.Fatal(err)
				}
				for i := range all.X.Data() {
					all.X.Data()[i] /= 16
				}
			default:
				tc := data.TeacherConfig{Dims: []int{d.Dim, 8, 1}, Activation: nn.Tanh}
				switch name {
				case "teacher-class":
					tc = data.TeacherConfig{Dims: []int{d.Dim, 8, d.Classes}, Activation: nn.Tanh, Classify: true}
				case "teacher-sphere":
					tc.Inputs = data.SphereInputs
				}
				all, _, err = data.TeacherStudent[float64](rand.New(rand.NewPCG(d.Seed, 0x5eed)), d.N+d.TestN, tc)
				if err != nil {
					t.Fatal(err)
				}
				if name == "teacher-sphere" {
					for i := range all.X.Data() {
						all.X.Data()[i] *= math.Sqrt(float64(d.Dim))
					}
				}
			}
			k := tr.Dim()
			if !slices.Equal(te.X.Data(), all.X.Data()[d.N*k:(d.N+d.TestN)*k]) {
				t.Error("held-out inputs are not the draws (rows) after the training points")
			}
			if all.Labels != nil {
				if !slices.Equal(te.Labels, all.Labels[d.N:d.N+d.TestN]) || te.NumClasses != tr.NumClasses {
					t.Error("held-out labels differ from the teacher's")
				}
			} else if !slices.Equal(te.Y.Data(), all.Y.Data()[d.N:d.N+d.TestN]) {
				t.Error("held-out targets differ from the teacher's")
			}
		})
	}
	// With noise, the held-out targets are the teacher's outputs plus noise
	// of the configured size (the same distribution as the training ones).
	c := heldOutSweeps()["teacher"]
	d := c.Dataset
	_, te, err := makeDatasets(c)
	if err != nil {
		t.Fatal(err)
	}
	_, teacher, err := data.TeacherStudent[float64](rand.New(rand.NewPCG(d.Seed, 0x5eed)), d.N,
		data.TeacherConfig{Dims: []int{d.Dim, 8, 1}, Activation: nn.Tanh, Noise: d.Noise})
	if err != nil {
		t.Fatal(err)
	}
	var ss float64
	for i, v := range teacher.Forward(te.X).Data() {
		ss += (te.Y.Data()[i] - v) * (te.Y.Data()[i] - v)
	}
	if sd := math.Sqrt(ss / float64(d.TestN)); sd < d.Noise/2 || sd > 2*d.Noise {
		t.Errorf("held-out noise sd %.4f, want about %v", sd, d.Noise)
	}
}

// TestHeldOutDigitsGeneralize: a short training on 500 digits that fits
// them reaches more than 80% accuracy on the next 300.
func TestHeldOutDigitsGeneralize(t *testing.T) {
	c := Config{Dataset: Dataset{Kind: "digits", N: 500, TestN: 300}, Widths: []int{128},
		Parameterizations: []nn.Parameterization{nn.MuP}, Seeds: []uint64{1}, LRs: []float64{0.05},
		Optimizers: []string{"adam"}, Steps: 60, LogEvery: 20, KernelEvery: -1}
	ds, err := makeDataset(c)
	if err != nil {
		t.Fatal(err)
	}
	recs, div, err := Train(context.Background(), c, ds, c.Runs()[0])
	if err != nil || div != 0 {
		t.Fatalf("err %v, diverged at %d", err, div)
	}
	last := recs[len(recs)-1]
	t.Logf("step %d: train loss %.4f acc %.4f, test loss %.4f acc %.4f", last.Step, last.Loss, *last.Accuracy, *last.TestLoss, *last.TestAccuracy)
	if *last.Accuracy < 0.95 {
		t.Fatalf("train accuracy %.3f, want >= 0.95", *last.Accuracy)
	}
	if *last.TestAccuracy <= 0.8 {
		t.Errorf("test accuracy %.3f, want > 0.8", *last.TestAccuracy)
	}
	if first := recs[0]; *first.TestAccuracy > 0.5 || *last.TestLoss >= *first.TestLoss {
		t.Errorf("held-out metrics did not improve: step 0 acc %.3f loss %.4f, last loss %.4f", *first.TestAccuracy, *first.TestLoss, *last.TestLoss)
	}
}

// TestHeldOutDeterminism: with test_n, Train is bit-identical across
// reruns and GOMAXPROCS 1 and 4, and Run writes byte-identical result
// files with 1 and 3 workers.
func TestHeldOutDeterminism(t *testing.T) {
	c := heldOutSweeps()["teacher-class"]
	c.BatchSize = 10
	c.Optimizers = []string{"sgd", "adam"}
	ds, err := makeDataset(c)
	if err != nil {
		t.Fatal(err)
	}
	encode := func() []byte {
		var buf bytes.Buffer
		for _, spec := range c.Runs() {
			recs, _, err := Train(context.Background(), c, ds, spec)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.NewEncoder(&buf).Encode(recs); err != nil {
				t.Fatal(err)
			}
		}
		return buf.Bytes()
	}
	prev := runtime.GOMAXPROCS(1)
	a := encode()
	runtime.GOMAXPROCS(4)
	b := encode()
	c2 := encode()
	runtime.GOMAXPROCS(prev)
	if !bytes.Equal(a, b) || !bytes.Equal(b, c2) {
		t.Error("held-out records depend on GOMAXPROCS or differ between reruns")
	}
	if !bytes.Contains(a, []byte(`"test_loss"`)) {
		t.Error("no test_loss in the records")
	}
	d1, d3 := t.TempDir(), t.TempDir()
	if err := Run(context.Background(), c, d1, All, 1, nil); err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), c, d3, All, 3, nil); err != nil {
		t.Fatal(err)
	}
	f1, f3 := readAll(t, d1), readAll(t, d3)
	if len(f1) != len(c.Runs())+1 {
		t.Fatalf("%d files, want %d", len(f1), len(c.Runs())+1)
	}
	for name, x := range f1 {
		if !bytes.Equal(x, f3[name]) {
			t.Errorf("%s differs between 1 and 3 workers", name)
		}
	}
	cfg, err := os.ReadFile(filepath.Join(d1, configFile))
	if err != nil || !bytes.Contains(cfg, []byte(`"test_n": 40`)) {
		t.Errorf("config.json lacks test_n (%v):\n%s", err, cfg)
	}
}

// TestHeldOutTables: the slope table (and Metrics) include test_loss
// after loss when the sweep has a held-out set, and not otherwise.
func TestHeldOutTables(t *testing.T) {
	c := heldOutSweeps()["teacher"]
	for _, testN := range []int{0, 40} {
		c.Dataset.TestN = testN
		rep, dir := runAndAnalyze(t, c, 2)
		want := slices.Clone(DefaultMetrics)
		if testN > 0 {
			want = slices.Insert(want, 1, "test_loss")
		}
		if got := rep.Metrics(); !slices.Equal(got, want) {
			t.Errorf("test_n %d: Metrics %v, want %v", testN, got, want)
		}
		var tab bytes.Buffer
		if err := rep.WriteTables(&tab); err != nil {
			t.Fatal(err)
		}
		if has := strings.Contains(tab.String(), "test_loss"); has != (testN > 0) {
			t.Errorf("test_n %d: table has test_loss %v:\n%s", testN, has, tab.String())
		}
		if testN > 0 {
			if f, err := rep.Fit("test_loss", rep.Groups()[0], -1); err != nil || len(f.PerSeed) != 2 {
				t.Errorf("Fit(test_loss): %+v, %v", f, err)
			}
			if err := rep.WriteFigures(filepath.Join(dir, "figures")); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(dir, "figures", "test_loss_vs_width.png")); err != nil {
				t.Error(err)
			}
		}
	}
}

// TestHeldOutValidation: test_n must be non-negative and, for digits, fit
// after the n training rows; errors are ConfigErrors naming dataset.test_n.
func TestHeldOutValidation(t *testing.T) {
	c := heldOutSweeps()["digits"]
	for _, tc := range []struct {
		n, testN int
		field    string // "" for valid
	}{
		{60, -1, "dataset.test_n"},
		{1500, 298, "dataset.test_n"},
		{1797, 1, "dataset.test_n"},
		{1497, 300, ""},
		{1797, 0, ""},
		{1800, 0, "dataset.n"},
	} {
		c.Dataset.N, c.Dataset.TestN = tc.n, tc.testN
		c.KernelPoints = 4
		err := c.Validate()
		if err == nil {
			_, _, err = makeDatasets(c)
		}
		var ce *ConfigError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("n %d test_n %d: %v", tc.n, tc.testN, err)
		case tc.field != "" && (!errors.As(err, &ce) || !strings.Contains(err.Error(), `"`+tc.field+`"`)):
			t.Errorf("n %d test_n %d: error %v, want a ConfigError naming %s", tc.n, tc.testN, err, tc.field)
		}
	}
	tch := heldOutSweeps()["teacher"]
	tch.Dataset.TestN = -5
	if err := tch.Validate(); err == nil || !strings.Contains(err.Error(), "dataset.test_n") {
		t.Errorf("teacher test_n -5: %v", err)
	}
	// JSON: test_n is read, and omitted from a config without it.
	cfg, err := ParseConfig([]byte(`{"dataset": {"kind": "teacher", "n": 8, "dim": 3, "test_n": 16},
		"widths": [4], "parameterizations": ["mup"], "seeds": [1], "lrs": [0.1], "steps": 2}`))
	if err != nil || cfg.Dataset.TestN != 16 {
		t.Fatalf("ParseConfig: test_n %d, %v", cfg.Dataset.TestN, err)
	}
	cfg.Dataset.TestN = 0
	if b, _ := json.Marshal(cfg); bytes.Contains(b, []byte("test_n")) {
		t.Errorf("test_n 0 is not omitted: %s", b)
	}
	if _, err := ParseConfig([]byte(`{"dataset": {"kind": "digits", "n": 1700, "test_n": 100},
		"widths": [4], "parameterizations": ["mup"], "seeds": [1], "lrs": [0.1], "steps": 2}`)); err == nil ||
		!strings.Contains(err.Error(), "dataset.test_n") {
		t.Errorf("ParseConfig digits 1700+100: %v", err)
	}
}
