package ntk

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// torchFixture is testdata/ntk/empirical_ntk.json, written by
// testdata/ntk/make_fixture.py.
type torchFixture struct {
	Raw    map[string]json.RawMessage `json:"state_dict"`
	X1     [][]float64                `json:"x1"`
	X2     [][]float64                `json:"x2"`
	Full   [][][][]float64            `json:"ntk_full"`
	Traced [][]float64                `json:"ntk_traced"`
}

func matrix(rows [][]float64) *tensor.Tensor[float64] {
	t := tensor.New[float64](len(rows), len(rows[0]))
	for i, r := range rows {
		copy(t.Data()[i*len(r):], r)
	}
	return t
}

// The empirical NTK of PyTorch's Sequential(Linear, ReLU, Linear, Tanh,
// Linear) with the same float64 weights: both methods agree with the
// fixture to 1e-10 relative (two float64 computations with different
// summation orders; observed ~1e-15).
func TestEmpiricalMatchesPyTorch(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "ntk", "empirical_ntk.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx torchFixture
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	m, err := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{4, 6, 5, 3}, Activations: []nn.Activation{nn.ReLU, nn.Tanh},
		Parameterization: nn.Standard, Init: nn.InitTorch}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		raw, ok := fx.Raw[p.Name]
		if !ok {
			t.Fatalf("fixture lacks %s", p.Name)
		}
		var flat []float64
		if p.Value.NDim() == 2 {
			var rows [][]float64
			if err := json.Unmarshal(raw, &rows); err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				flat = append(flat, r...)
			}
		} else if err := json.Unmarshal(raw, &flat); err != nil {
			t.Fatal(err)
		}
		if len(flat) != p.Value.Len() {
			t.Fatalf("%s: fixture has %d values, model %d", p.Name, len(flat), p.Value.Len())
		}
		copy(p.Value.Data(), flat)
	}
	x1, x2 := matrix(fx.X1), matrix(fx.X2)
	wantFull := tensor.New[float64](5, 3, 3, 3)
	for i := range fx.Full {
		for j := range fx.Full[i] {
			for a := range fx.Full[i][j] {
				for c, v := range fx.Full[i][j][a] {
					wantFull.Set(v, i, j, a, c)
				}
			}
		}
	}
	wantTraced := matrix(fx.Traced)
	for _, method := range []Method{Structured, Contraction} {
		full, err := Empirical[float64](m, x1, x2, Options{Full: true, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if d := maxRelDiff(full, wantFull); d > 1e-10 {
			t.Errorf("method %d: full NTK differs from PyTorch by %g", method, d)
		}
		tr, err := Empirical[float64](m, x1, nil, Options{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if d := maxRelDiff(tr, wantTraced); d > 1e-10 {
			t.Errorf("method %d: traced NTK differs from PyTorch by %g", method, d)
		}
	}
}
