package ntk

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// TestNilInputs: every public function of the package given a nil model,
// tensor or matrix (also a nil pointer held in an interface) returns an
// error naming the argument, never a panic or an error carrying a runtime
// error's text.
func TestNilInputs(t *testing.T) {
	m := newMLP(t, nn.MLPConfig{Dims: []int{3, 5, 2}}, 1)
	x := randTensor(2, 4, 3)
	v := randTensor(3, 4, 2)
	var nilMLP *nn.MLP[float64]
	var nilT *tensor.Tensor[float64]
	var nilDense *mat.Dense
	var nilSym *mat.SymDense
	lin, err := Linearize[float64](m)
	if err != nil {
		t.Fatal(err)
	}
	gram, err := Arch{Depth: 1}.Gram(tensor.ToDense(x))
	if err != nil {
		t.Fatal(err)
	}
	y := mat.NewDense(4, 2, nil)
	pred, err := NewPredictor(gram.NTK, y, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var nilPred *Predictor
	ds := &data.Dataset[float64]{X: x, Y: v}
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"Empirical nil model", func() error { _, err := Empirical[float64](nil, x, nil, Options{}); return err }, "ntk.Empirical: the model is nil"},
		{"Empirical nil *MLP", func() error { _, err := Empirical[float64](nilMLP, x, nil, Options{}); return err }, "ntk.Empirical: the model is nil"},
		{"Empirical nil x1", func() error { _, err := Empirical[float64](m, nil, x, Options{}); return err }, "ntk.Empirical: x1 is nil"},
		{"EmpiricalGram nil model", func() error { _, err := EmpiricalGram[float64](nil, nilMLP, x, Options{}); return err }, "ntk.EmpiricalGram: the model is nil"},
		{"EmpiricalGram nil x", func() error { _, err := EmpiricalGram(nil, m, nilT, Options{}); return err }, "ntk.EmpiricalGram: x is nil"},
		{"EmpiricalCross nil model", func() error { _, err := EmpiricalCross[float64](nil, nil, x, x, Options{}); return err }, "ntk.EmpiricalCross: the model is nil"},
		{"EmpiricalCross nil x1", func() error { _, err := EmpiricalCross(nil, m, nil, x, Options{}); return err }, "ntk.EmpiricalCross: x1 is nil"},
		{"Jacobian nil model", func() error { _, err := Jacobian[float64](nilMLP, x, nil); return err }, "ntk.Jacobian: the model is nil"},
		{"Jacobian nil x", func() error { _, err := Jacobian(m, nil, nil); return err }, "ntk.Jacobian: x is nil"},
		{"JVP nil model", func() error { _, err := JVP[float64](nil, x, nil); return err }, "ntk.JVP: the model is nil"},
		{"JVP nil x", func() error { _, err := JVP(m, nil, make([]*tensor.Tensor[float64], 4)); return err }, "ntk.JVP: x is nil"},
		{"VJP nil model", func() error { _, err := VJP[float64](nilMLP, x, v, nil); return err }, "ntk.VJP: the model is nil"},
		{"VJP nil x", func() error { _, err := VJP(m, nil, v, nil); return err }, "ntk.VJP: x is nil"},
		{"VJP nil v", func() error { _, err := VJP(m, x, nil, nil); return err }, "ntk.VJP: v is nil"},
		{"NTKVP nil model", func() error { _, err := NTKVP[float64](nil, x, x, v, Options{}); return err }, "ntk.NTKVP: the model is nil"},
		{"NTKVP nil x1", func() error { _, err := NTKVP(m, nil, x, v, Options{}); return err }, "ntk.NTKVP: x1 is nil"},
		{"NTKVP nil x2", func() error { _, err := NTKVP(m, x, nil, v, Options{}); return err }, "ntk.NTKVP: x2 is nil"},
		{"NTKVP nil v", func() error { _, err := NTKVP(m, x, x, nil, Options{}); return err }, "ntk.NTKVP: v is nil"},
		{"Kernels nil x1", func() error { _, err := Arch{Depth: 1}.Kernels(nil, tensor.ToDense(x)); return err }, "ntk.Arch.Kernels: x1 is nil"},
		{"Kernels nil *Dense x1", func() error { _, err := Arch{Depth: 1}.Kernels(nilDense, nil); return err }, "ntk.Arch.Kernels: x1 is nil"},
		{"Gram nil x", func() error { _, err := Arch{Depth: 1}.Gram(nilDense); return err }, "ntk.Arch.Gram: x is nil"},
		{"NewPredictor nil kernel", func() error { _, err := NewPredictor(nilSym, y, PredictOptions{}); return err }, "ntk.NewPredictor: kTrain is nil"},
		{"NewPredictor nil targets", func() error { _, err := NewPredictor(gram.NTK, nil, PredictOptions{}); return err }, "ntk.NewPredictor: yTrain is nil"},
		{"Flow nil predictor", func() error { _, _, err := nilPred.Flow(1, nil, nil, nil); return err }, "ntk.Predictor.Flow: the Predictor is nil"},
		{"GD nil predictor", func() error { _, _, err := nilPred.GD(1, 1, nil, nil, nil); return err }, "ntk.Predictor.GD: the Predictor is nil"},
		{"Infinite nil predictor", func() error { _, _, err := nilPred.Infinite(nil, nil, nil); return err }, "ntk.Predictor.Infinite: the Predictor is nil"},
		{"Linearize nil model", func() error { _, err := Linearize[float64](nilMLP); return err }, "ntk.Linearize: the model is nil"},
		{"Linearized.Eval nil x", func() error { _, err := lin.Eval(nil, nil); return err }, "ntk.Linearized.Eval: x is nil"},
		{"Linearized.Eval nil param", func() error {
			_, err := lin.Eval(x, make([]*nn.Param[float64], len(m.Params())))
			return err
		}, "ntk.Linearized.Eval: params[0] is nil"},
		{"LinearizationGap nil model", func() error { _, _, err := LinearizationGap[float64](nil, lin, x); return err }, "ntk.LinearizationGap: the model is nil"},
		{"LinearizationGap nil lin", func() error { _, _, err := LinearizationGap[float64](m, nil, x); return err }, "ntk.LinearizationGap: lin is nil"},
		{"LinearizationGap nil x", func() error { _, _, err := LinearizationGap[float64](m, lin, nil); return err }, "ntk.LinearizationGap: x is nil"},
		{"Spectrum nil", func() error { _, err := Spectrum(nilSym); return err }, "ntk.Spectrum: k is nil"},
		{"LambdaMin nil", func() error { _, err := LambdaMin(nil); return err }, "ntk.LambdaMin: k is nil"},
		{"MaxLearningRate nil", func() error { _, err := MaxLearningRate(nil, 0, 0); return err }, "ntk.MaxLearningRate: kTrain is nil"},
		{"KernelDrift nil", func() error { _, err := KernelDrift(nilDense, tensor.ToDense(x)); return err }, "ntk.KernelDrift: theta0 is nil"},
		{"KernelDriftTensor nil", func() error { _, err := KernelDriftTensor(x, nil); return err }, "ntk.KernelDriftTensor: thetaT is nil"},
		{"KernelAlignment nil", func() error { _, err := KernelAlignment(gram.NTK, nilDense); return err }, "ntk.KernelAlignment: y is nil"},
		{"RelativeChange nil model", func() error { _, _, err := TakeSnapshot[float64](m).RelativeChange(nil); return err }, "ntk.Snapshot.RelativeChange: the model is nil"},
		{"WriteKernelCSV nil", func() error { return WriteKernelCSV(&strings.Builder{}, nilDense) }, "ntk.WriteKernelCSV: k is nil"},
		{"Study nil model", func() error { _, err := Study(context.Background(), nilMLP, ds, ds, StudyConfig{}); return err }, "ntk.Study: the model is nil"},
		{"Study nil train", func() error { _, err := Study(context.Background(), m, nil, ds, StudyConfig{}); return err }, "ntk.Study: the training data is nil"},
		{"Study nil test X", func() error {
			_, err := Study(context.Background(), m, ds, &data.Dataset[float64]{}, StudyConfig{})
			return err
		}, "ntk.Study: the test data has no inputs"},
		{"Study nil ctx", func() error { _, err := Study(nil, m, ds, ds, StudyConfig{}); return err }, "ntk.Study: ctx is nil"}, //nolint:staticcheck // testing the nil check
		{"NewLazyProbe nil *MLP", func() error {
			_, err := NewLazyProbe(LazyConfig[float64]{Model: nilMLP, Probe: x})
			return err
		}, "ntk.LazyConfig.Model is nil"},
	}
	for _, c := range cases {
		err := func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("panic: %v", r)
				}
			}()
			return c.call()
		}()
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "runtime error") {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}

	// A nil pointer for an optional matrix means what nil means: Kernels
	// of x with a nil *mat.Dense is the Gram matrix of x.
	k, err := Arch{Depth: 1}.Kernels(tensor.ToDense(x), nilDense)
	if err != nil {
		t.Fatalf("Kernels(x, nil *mat.Dense): %v", err)
	}
	if !mat.Equal(k.NTK, gram.NTK) {
		t.Error("Kernels(x, nil *mat.Dense) differs from Gram(x)")
	}
	f1, f2, err := pred.Flow(1, nilDense, nilDense, nilDense)
	if err != nil || f2 != nil {
		t.Fatalf("Flow with nil *mat.Dense arguments: %v, test outputs %v", err, f2)
	}
	g1, _, err := pred.Flow(1, nil, nil, nil)
	if err != nil || !mat.Equal(f1, g1) {
		t.Errorf("Flow with nil *mat.Dense arguments differs from Flow with nil: %v", err)
	}
}
