package train

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
)

// mismatch builds the parts of a Config whose model, loss and data may not
// fit together. Every constructor error is fatal: the cases differ only in
// what New must refuse.
type mismatch struct{ t *testing.T }

func (m *mismatch) mlp(dims ...int) *nn.MLP[float64] {
	m.t.Helper()
	model, err := nn.NewMLP[float64](nn.MLPConfig{Dims: dims}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		m.t.Fatal(err)
	}
	return model
}

func (m *mismatch) digits() *data.Dataset[float64] {
	m.t.Helper()
	ds, err := data.Digits[float64]()
	if err != nil {
		m.t.Fatal(err)
	}
	return ds
}

// regression returns n examples with d features and a real target of width 1.
func (m *mismatch) regression(n, d int) *data.Dataset[float64] {
	m.t.Helper()
	ds, _, err := data.LinearRegression[float64](rand.New(rand.NewPCG(3, 4)), n, d, 0.1)
	if err != nil {
		m.t.Fatal(err)
	}
	return ds
}

// classes returns n examples with d features in k classes.
func (m *mismatch) classes(n, d, k int) *data.Dataset[float64] {
	m.t.Helper()
	ds, _, err := data.GaussianMixture[float64](rand.New(rand.NewPCG(5, 6)), n, d, k, 3, 1)
	if err != nil {
		m.t.Fatal(err)
	}
	return ds
}

func (m *mismatch) config(model nn.Module[float64], loss Loss[float64], ds *data.Dataset[float64], oneHot bool, evals ...Eval[float64]) Config[float64] {
	m.t.Helper()
	ld, err := data.NewLoader(ds, data.LoaderConfig{BatchSize: 32, Shuffle: true, Seed: 5, OneHot: oneHot})
	if err != nil {
		m.t.Fatal(err)
	}
	opt, err := optim.NewSGD(model.Params(), optim.SGDConfig{LR: 0.01})
	if err != nil {
		m.t.Fatal(err)
	}
	return Config[float64]{Model: model, Loss: loss, Optimizer: opt, Train: ld, Evals: evals, Steps: 5}
}

// panicky is a model that fails on any input, as a buggy user module would.
type panicky struct{ inner nn.Module[float64] }

func (p panicky) Params() []*nn.Param[float64] { return p.inner.Params() }
func (p panicky) Forward(t *autograd.Tape[float64], x *autograd.Var[float64]) *autograd.Var[float64] {
	var s []int
	_ = s[x.Shape()[1]] // index out of range: a runtime error, not a string panic
	return p.inner.Forward(t, x)
}

// TestNewRefusesModelDataMismatch: New returns an error naming the dataset
// and the widths at fault, where Run used to panic at its first step (or
// first evaluation). Each case lists words the message must contain.
func TestNewRefusesModelDataMismatch(t *testing.T) {
	m := &mismatch{t: t}
	digits := m.digits()        // 64 features, 10 classes
	reg := m.regression(100, 4) // 4 features, Y [n, 1]
	ce, mse := &CrossEntropy[float64]{}, &MSE[float64]{}
	more := digits.Subset([]int{0, 1, 2, 3}) // the same rows with 12 classes declared
	more.NumClasses, more.Classes = 12, nil
	more.Labels[3] = 11
	cases := []struct {
		name string
		cfg  func() Config[float64]
		want []string
	}{
		{"regression data with cross-entropy", func() Config[float64] {
			return m.config(m.mlp(4, 8, 1), ce, reg, false)
		}, []string{"Config.Train", "no class labels", "width 1", "cross_entropy"}},
		{"input width", func() Config[float64] {
			return m.config(m.mlp(32, 16, 10), ce, digits, false)
		}, []string{"Config.Train", "64 features", "32 inputs"}},
		{"fewer outputs than classes", func() Config[float64] {
			return m.config(m.mlp(64, 16, 3), ce, digits, false)
		}, []string{"Config.Train", "class label", "3 outputs"}},
		{"mse target width", func() Config[float64] {
			return m.config(m.mlp(4, 8, 2), mse, reg, false)
		}, []string{"Config.Train", "[1 2]", "[n 1]"}},
		{"mse without targets", func() Config[float64] {
			return m.config(m.mlp(64, 16, 10), mse, digits, false)
		}, []string{"Config.Train", "no real targets", "OneHot"}},
		{"mse one-hot width", func() Config[float64] {
			return m.config(m.mlp(64, 16, 7), &MSE[float64]{Classes: true}, digits, true)
		}, []string{"Config.Train", "[1 7]", "[n 10]"}},
		{"sequential input width", func() Config[float64] {
			l, err := nn.NewLinear[float64](rand.New(rand.NewPCG(1, 1)), "0.", 32, 10, true)
			if err != nil {
				t.Fatal(err)
			}
			return m.config(nn.NewSequential[float64](l), ce, digits, false)
		}, []string{"Config.Train", "64 features", "32 inputs"}},
		{"panicking model", func() Config[float64] {
			return m.config(panicky{m.mlp(64, 16, 10)}, ce, digits, false)
		}, []string{"Config.Train", "[1 64]", "index out of range"}},
		{"eval input width", func() Config[float64] {
			return m.config(m.mlp(64, 16, 10), ce, digits, false, Eval[float64]{Name: "test", Data: m.classes(20, 10, 10)})
		}, []string{`eval "test"`, "10 features", "64 inputs"}},
		{"eval regression with cross-entropy", func() Config[float64] {
			return m.config(m.mlp(64, 16, 10), ce, digits, false, Eval[float64]{Name: "val", Data: m.regression(20, 64)})
		}, []string{`eval "val"`, "no class labels", "cross_entropy"}},
		{"eval has more classes than outputs", func() Config[float64] {
			return m.config(m.mlp(64, 16, 10), ce, digits, false, Eval[float64]{Name: "test", Data: more})
		}, []string{`eval "test"`, "12 classes", "10 outputs"}},
		{"eval without data", func() Config[float64] {
			return m.config(m.mlp(64, 16, 10), ce, digits, false, Eval[float64]{Name: "test"})
		}, []string{`Evals[0] ("test")`, "no dataset"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg()
			var tr *Trainer[float64]
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("New panicked: %v", r)
					}
				}()
				tr, err = New(cfg)
			}()
			if err == nil {
				// Show what the unchecked run does, to make the failure
				// explicit.
				msg := "no error"
				func() {
					defer func() {
						if r := recover(); r != nil {
							msg = fmt.Sprintf("Run panicked: %v", r)
						}
					}()
					if _, rerr := tr.Run(context.Background()); rerr != nil {
						msg = "Run failed: " + rerr.Error()
					}
				}()
				t.Fatalf("New accepted the config (%s); want an error mentioning %q", msg, c.want)
			}
			t.Log(err)
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Count(err.Error(), "\n") != 0 {
				t.Errorf("error spans several lines: %q", err)
			}
		})
	}
}

// TestNewKeepsLoaderPosition: the check of the first batch in New leaves
// the loader where it was, so the batches of the run are those of an
// unchecked loader (at the start, and at an epoch's end, where a peek has
// to start the next epoch).
func TestNewKeepsLoaderPosition(t *testing.T) {
	m := &mismatch{t: t}
	digits := m.digits()
	for _, skip := range []int{0, 3, 57} { // 57 batches of 32 = one epoch of 1797 rows, at its end
		cfg := m.config(m.mlp(64, 16, 10), &CrossEntropy[float64]{}, digits, false)
		ref, err := data.NewLoader(digits, data.LoaderConfig{BatchSize: 32, Shuffle: true, Seed: 5})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < skip; i++ {
			cfg.Train.Next()
			ref.Next()
		}
		before := cfg.Train.State()
		if _, err := New(cfg); err != nil {
			t.Fatal(err)
		}
		if after := cfg.Train.State(); after != before {
			t.Fatalf("after %d batches: loader state %+v after New, %+v before", skip, after, before)
		}
		for i := 0; i < 3; i++ {
			okA, okB := cfg.Train.Next(), ref.Next()
			if okA != okB {
				t.Fatalf("after %d batches: Next %d reports %v, reference %v", skip, i, okA, okB)
			}
			if okA && !reflect.DeepEqual(cfg.Train.Batch().Rows, ref.Batch().Rows) {
				t.Fatalf("after %d batches: batch %d differs from the reference loader's", skip, i)
			}
		}
	}
}

// TestRunRefusesLabelBeyondOutputs: a label the first batch did not show
// (unshuffled data sorted by class) stops Run with an error naming the
// label, the dataset row and the output width, instead of a panic in the
// loss; the parameters keep their values from before that step.
func TestRunRefusesLabelBeyondOutputs(t *testing.T) {
	m := &mismatch{t: t}
	const n = 40
	x := tensor.New[float64](n, 2)
	for i, v := range x.Data() {
		x.Data()[i] = v + float64(i%7)/7
	}
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = int32(i / 20) // rows 0-19 class 0, rows 20-39 class 1
	}
	ds := &data.Dataset[float64]{X: x, Labels: labels, NumClasses: 2}
	model := m.mlp(2, 4, 1) // one output for two classes
	ld, err := data.NewLoader(ds, data.LoaderConfig{BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	opt, err := optim.NewSGD(model.Params(), optim.SGDConfig{LR: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	// The first batch (rows 0-9, all class 0) fits one output: New cannot
	// know the class count of the loader's dataset.
	tr, err := New(Config[float64]{Model: model, Loss: &CrossEntropy[float64]{}, Optimizer: opt, Train: ld, Epochs: 1})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var res Result
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("Run panicked: %v", r)
			}
		}()
		res, err = tr.Run(context.Background())
	}()
	if err == nil {
		t.Fatal("Run accepted label 1 with one output")
	}
	for _, w := range []string{"step 3", "Config.Train", "class label 1", "dataset row 20", "1 outputs"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	if res.Steps != 2 {
		t.Errorf("run stopped after %d steps, want 2 (the batches of class 0)", res.Steps)
	}
}

// TestEvaluateRefusesMismatch: the Evaluate function and method return an
// error, not a panic, for a dataset the model cannot take.
func TestEvaluateRefusesMismatch(t *testing.T) {
	m := &mismatch{t: t}
	model := m.mlp(64, 16, 10)
	reg := m.regression(20, 10)
	if _, _, err := Evaluate(model, &MSE[float64]{}, reg, 8, nil); err == nil || !strings.Contains(err.Error(), "10 features") {
		t.Errorf("Evaluate: err = %v, want one naming the 10 features", err)
	}
	tr, err := New(m.config(model, &CrossEntropy[float64]{}, m.digits(), false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tr.Evaluate(reg); err == nil || !strings.Contains(err.Error(), "no class labels") {
		t.Errorf("Trainer.Evaluate: err = %v, want one naming the missing class labels", err)
	}
}
