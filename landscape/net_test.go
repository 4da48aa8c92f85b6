package landscape

import (
	"math"
	"slices"
	"testing"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// hidden hides the type of a module, so that PLStarModel takes its
// generic path.
type hidden struct{ nn.Module[float64] }

// TestPLStarModelGeneric checks the generic Jacobian of PLStarModel (one
// backward pass per output coordinate) against the MLP's structured one
// (nn.Jacobian): the same PL* constant to rounding (relative 1e-9: both
// are lambda_min of the same 12 x 12 Gram matrix, summed in different
// orders).
func TestPLStarModelGeneric(t *testing.T) {
	m, err := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{5, 16, 3}, Activation: nn.Tanh}, newRand(1))
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.RandN(newRand(2), 0.0, 1.0, 4, 5)
	want, err := PLStarMLP(m, x, true)
	if err != nil {
		t.Fatal(err)
	}
	got, err := PLStarModel[float64](hidden{m}, x, true)
	if err != nil {
		t.Fatal(err)
	}
	if !(want > 0) || math.Abs(got-want) > 1e-9*want {
		t.Errorf("PL* generic %v, MLP %v", got, want)
	}
}

// TestModelObjectiveKeepsBuffers checks that the objective of a CNN with
// BatchNorm in training mode leaves its running statistics as they were
// (each forward pass would update them), and so does PLStarModel.
func TestModelObjectiveKeepsBuffers(t *testing.T) {
	const spec = "conv4k3p1-bn-relu-flatten-fc3"
	n, err := nn.NewNet[float64](spec, []int{1, 4, 4}, newRand(3))
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.RandN(newRand(4), 0.0, 1.0, 6, 16)
	ds := &data.Dataset[float64]{X: x, Labels: []int32{0, 1, 2, 0, 1, 2}, NumClasses: 3, Shape: []int{1, 4, 4}}
	batch, err := BatchOf(ds, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := NewModelObjective[float64](n, &train.MSE[float64]{}, batch)
	if err != nil {
		t.Fatal(err)
	}
	before := bufferValues(n)
	p := obj.Point(nil)
	v := make([]float64, len(p))
	v[0] = 1
	obj.HVP(p, v, make([]float64, len(p)))
	if _, err := PLStarModel[float64](n, x, false); err != nil {
		t.Fatal(err)
	}
	if after := bufferValues(n); !slices.Equal(before, after) {
		t.Errorf("buffers changed by the objective or PL*: %v -> %v", before, after)
	}
	// The same forward pass outside the objective does update them: the
	// check above could fail.
	tp := autograd.NewTape[float64]()
	n.Forward(tp, tp.Const(x))
	if slices.Equal(before, bufferValues(n)) {
		t.Fatal("a training-mode forward pass left the running statistics unchanged")
	}
}

func bufferValues(n *nn.Net[float64]) []float64 {
	var out []float64
	for _, b := range n.Buffers() {
		out = append(out, b.Value.Data()...)
	}
	return out
}
