package nn

import (
	"strings"
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

// TestNilRNG: the constructors that draw random weights return an error
// naming the nil random source instead of panicking in the first draw.
func TestNilRNG(t *testing.T) {
	if _, err := NewMLP[float64](MLPConfig{Dims: []int{3, 4, 2}}, nil); err == nil || !strings.Contains(err.Error(), "nn.NewMLP: rng is nil") {
		t.Errorf("NewMLP: error %v, want one saying rng is nil", err)
	}
	if _, err := NewLinear[float32](nil, "0.", 3, 2, true); err == nil || !strings.Contains(err.Error(), "nn.NewLinear: rng is nil") {
		t.Errorf("NewLinear: error %v, want one saying rng is nil", err)
	}
	if _, err := NewLinear[float32](newRNG(1), "0.", 0, 2, true); err == nil || !strings.Contains(err.Error(), "nn.NewLinear: in = 0, out = 2") {
		t.Errorf("NewLinear with 0 inputs: error %v", err)
	}
	// The initializers have no error to return: a nil source is a
	// programming error, reported by a panic that says so.
	w := tensor.New[float64](2, 3)
	mustPanic(t, func() { HeNormal(w, nil) }, "rng is nil")
	mustPanic(t, func() { TorchLinearWeight(w, nil) }, "rng is nil")
	mustPanic(t, func() { Orthogonal(w, 1, nil) }, "nn.Orthogonal: rng is nil")
}
