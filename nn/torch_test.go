package nn

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/tensor"
)

// Fixtures written by testdata/torch/make_fixtures.py.
const torchDir = "../testdata/torch"

type jsonTensor struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

func (j jsonTensor) tensor() *tensor.Tensor[float64] {
	return tensor.FromSlice(append([]float64(nil), j.Data...), j.Shape...)
}

type torchCase struct {
	Activation string                `json:"activation"`
	Loss       string                `json:"loss"`
	Dims       []int                 `json:"dims"`
	X          jsonTensor            `json:"x"`
	Labels     []int32               `json:"labels"`
	Targets    jsonTensor            `json:"targets"`
	Output     jsonTensor            `json:"output"`
	LossValue  float64               `json:"loss_value"`
	Params     map[string]jsonTensor `json:"params"`
	Grads      map[string]jsonTensor `json:"grads"`
	V          map[string]jsonTensor `json:"v"`
	HVP        map[string]jsonTensor `json:"hvp"`
}

// torchTol is the agreement asked with PyTorch in float64. Both sides
// compute the same sums in possibly different orders (GEMM blocking), so
// they differ by a few ulps times the condition of each sum: about 1e-15
// relative here. 1e-10 leaves ample room while any wrong formula is off by
// far more.
const torchTol = 1e-10

func closeTo(got, want float64) bool {
	return math.Abs(got-want) <= torchTol*math.Max(1, math.Abs(want))
}

func assertClose(t *testing.T, what string, got *tensor.Tensor[float64], want jsonTensor) {
	t.Helper()
	if !sameShape(got.Shape(), want.Shape) {
		t.Errorf("%s: shape %v, want %v", what, got.Shape(), want.Shape)
		return
	}
	for i, w := range want.Data {
		if g := got.Data()[i]; !closeTo(g, w) {
			t.Errorf("%s[%d] = %.17g, want %.17g (PyTorch)", what, i, g, w)
			return
		}
	}
}

// TestMatchesPyTorch checks loss, gradients and Hessian-vector products of
// 2-hidden-layer MLPs (tanh and relu; cross-entropy and MSE) against
// PyTorch 1.13 in float64.
func TestMatchesPyTorch(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(torchDir, "mlp_grads.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []torchCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) != 4 {
		t.Fatalf("%d cases in the fixture, want 4", len(doc.Cases))
	}
	for _, c := range doc.Cases {
		t.Run(c.Activation+"/"+c.Loss, func(t *testing.T) {
			act, err := ParseActivation(c.Activation)
			if err != nil {
				t.Fatal(err)
			}
			m, err := NewMLP[float64](MLPConfig{Dims: c.Dims, Activation: act}, newRNG(0))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range m.Params() {
				w, ok := c.Params[p.Name]
				if !ok {
					t.Fatalf("fixture has no %s", p.Name)
				}
				p.Value.CopyFrom(w.tensor())
			}
			tp := autograd.NewTape[float64]()
			out := m.Forward(tp, tp.Const(c.X.tensor()))
			var loss *autograd.Var[float64]
			if c.Loss == "ce" {
				loss = autograd.CrossEntropy(out, c.Labels)
			} else {
				loss = MSE(out, tp.Const(c.Targets.tensor()))
			}
			assertClose(t, "output", out.Value(), c.Output)
			if !closeTo(loss.Item(), c.LossValue) {
				t.Errorf("loss %.17g, want %.17g", loss.Item(), c.LossValue)
			}
			// Hessian-vector product first (Grad leaves Param.Grad alone),
			// then the ordinary Backward into Param.Grad.
			xs := ParamVars(nil, tp, m)
			vs := make([]*tensor.Tensor[float64], len(xs))
			for i, p := range m.Params() {
				vs[i] = c.V[p.Name].tensor()
			}
			hv := tp.HVP(loss, xs, vs)
			for i, p := range m.Params() {
				assertClose(t, "Hv "+p.Name, hv[i].Value(), c.HVP[p.Name])
			}
			tp.Backward(loss)
			for _, p := range m.Params() {
				assertClose(t, "grad "+p.Name, p.Grad, c.Grads[p.Name])
			}
		})
	}
}
