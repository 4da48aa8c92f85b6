package ntk

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// cnnSpec has convolutions, BatchNorm (in eval mode), fused and separate
// activations, an identity residual block, max pooling, a block with a
// 1x1 convolution as shortcut, average pooling, flatten and a Linear
// readout: every kind of layer whose Jacobian the empirical NTK of a CNN
// goes through. The PyTorch fixture (testdata/cnn_ntk.py) uses it too.
const cnnSpec = "conv4k3p1-bn-relu-res(conv4k3p1-relu-conv4k3p1)-relu-maxpool2-" +
	"res(conv6k3p1-relu-conv6k3p1,conv6k1)-tanh-avgpool2-flatten-fc3"

var cnnShape = []int{1, 8, 8}

// baselineNTK is the full NTK [n, n, k, k] of m on the rows of x computed
// independently of Empirical: per example and output, a fresh tape,
// Backward of <e_a, f(x_i)> into the parameters' Grad, and the rows of J
// contracted by plain float64 loops.
func baselineNTK[T tensor.Float](m nn.Module[T], x *tensor.Tensor[T]) (theta []float64, k int) {
	n := x.Dim(0)
	var jac [][]float64 // row i*k + a
	for i := 0; i < n; i++ {
		t := autograd.NewTape[T]()
		y := m.Forward(t, t.Const(x.Rows(i, i+1)))
		k = y.Shape()[1]
		for a := 0; a < k; a++ {
			nn.ZeroGrad(m)
			t = autograd.NewTape[T]()
			y = m.Forward(t, t.Const(x.Rows(i, i+1)))
			e := tensor.New[T](1, k)
			e.Data()[a] = 1
			t.Backward(autograd.Sum(autograd.Mul(y, t.Const(e))))
			var row []float64
			for _, p := range m.Params() {
				for _, g := range p.Grad.Data() {
					row = append(row, float64(g))
				}
			}
			jac = append(jac, row)
		}
	}
	theta = make([]float64, n*n*k*k)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			for a := 0; a < k; a++ {
				for b := 0; b < k; b++ {
					s := 0.0
					for p, v := range jac[i*k+a] {
						s += v * jac[j*k+b][p]
					}
					theta[((i*n+j)*k+a)*k+b] = s
				}
			}
		}
	}
	return theta, k
}

// cnnRelDiff returns max |got - want| / max |want|.
func cnnRelDiff[T tensor.Float](got []T, want []float64) float64 {
	scale, diff := 0.0, 0.0
	for i, w := range want {
		scale = max(scale, math.Abs(w))
		diff = max(diff, math.Abs(float64(got[i])-w))
	}
	return diff / scale
}

func cnnUniformRows[T tensor.Float](n, d int, seed uint64) *tensor.Tensor[T] {
	rng := rand.New(rand.NewPCG(seed, 3))
	x := tensor.New[T](n, d)
	for i := range x.Data() {
		x.Data()[i] = T(rng.Float64())
	}
	return x
}

// The empirical NTK of a CNN (conv, BatchNorm in eval mode, pools, two
// residual blocks), full and traced, Gram and cross, equals the
// independent baseline to 1e-10 of its largest entry, in the standard
// (PyTorch init) and NTK parameterizations. The two computations share
// only the tape's backward rules; their float64 sums differ in order
// only, which leaves ~1e-15.
func TestCNNEmpiricalMatchesBaseline(t *testing.T) {
	for _, param := range []string{"standard", "ntk"} {
		cfg := nn.NetConfig{Spec: cnnSpec, InputShape: cnnShape, Init: nn.InitTorch}
		if param == "ntk" {
			cfg = nn.NetConfig{Spec: cnnSpec, InputShape: cnnShape, Parameterization: nn.NTK, WStd: math.Sqrt2, BStd: 0.3}
		}
		net, err := nn.NewNetWith[float64](cfg, rand.New(rand.NewPCG(7, 7)))
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckNet[float64](net); err == nil || !strings.Contains(err.Error(), "training mode") {
			t.Fatalf("%s: CheckNet on a net in training mode = %v, want an error about training mode", param, err)
		}
		net.SetTraining(false)
		if err := CheckNet[float64](net); err != nil {
			t.Fatalf("%s: CheckNet in eval mode: %v", param, err)
		}
		x := cnnUniformRows[float64](5, 64, 1)
		want, k := baselineNTK[float64](net, x)
		full, err := Empirical[float64](net, x, nil, Options{Full: true})
		if err != nil {
			t.Fatal(err)
		}
		d := cnnRelDiff(full.Data(), want)
		if d > 1e-10 {
			t.Errorf("%s: full NTK differs from the baseline by %.3g of its largest entry, want <= 1e-10", param, d)
		}
		// Traced kernel between the first 2 and the last 3 rows.
		cross, err := Empirical[float64](net, x.Rows(0, 2), x.Rows(2, 5), Options{})
		if err != nil {
			t.Fatal(err)
		}
		traced := make([]float64, 6)
		for i := 0; i < 2; i++ {
			for j := 0; j < 3; j++ {
				for a := 0; a < k; a++ {
					traced[i*3+j] += want[((i*5+j+2)*k+a)*k+a] / float64(k)
				}
			}
		}
		if d := cnnRelDiff(cross.Data(), traced); d > 1e-10 {
			t.Errorf("%s: traced cross NTK differs from the baseline by %.3g, want <= 1e-10", param, d)
		}
		t.Logf("%s: %d parameters, full NTK max |Theta| %.4g, relative difference %.2g", param, selectedParams[float64](net, nil), cnnMaxAbs(want), d)
	}
}

func cnnMaxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, math.Abs(x))
	}
	return m
}

// cnnFixture is testdata/cnn_ntk.json.
type cnnFixture struct {
	Spec  string `json:"spec"`
	Shape []int  `json:"shape"`
	X     struct {
		Shape []int     `json:"shape"`
		Data  []float64 `json:"data"`
	} `json:"x"`
	NTK64, NTK32 struct {
		Shape []int     `json:"shape"`
		Data  []float64 `json:"data"`
	}
}

func readCNNFixture(t *testing.T) cnnFixture {
	t.Helper()
	raw, err := os.ReadFile("testdata/cnn_ntk.json")
	if err != nil {
		t.Fatal(err)
	}
	var f cnnFixture
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func fixtureNTK[T tensor.Float](t *testing.T, f cnnFixture) *tensor.Tensor[T] {
	t.Helper()
	net, err := nn.LoadTorchNetFile[T]("testdata/cnn_ntk.safetensors", f.Spec, f.Shape)
	if err != nil {
		t.Fatal(err)
	}
	net.SetTraining(false)
	x := tensor.New[T](f.X.Shape...)
	for i, v := range f.X.Data {
		x.Data()[i] = T(v)
	}
	th, err := Empirical[T](net, x, nil, Options{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	return th
}

// The full empirical NTK of a CNN in eval mode equals PyTorch 1.13's
// (per-example torch.autograd.grad loops, testdata/cnn_ntk.py) on the
// committed weights and inputs: in float64 to 1e-12 of the largest entry
// (summation order only), and in float32 to 1e-6 (float32's epsilon is
// 1.2e-7; the entries are sums of ~1000 products of gradients that went
// through ~10 layers, each rounding relative to its own size).
func TestCNNEmpiricalMatchesTorch(t *testing.T) {
	f := readCNNFixture(t)
	if f.Spec != cnnSpec {
		t.Fatalf("fixture spec %q, test spec %q: regenerate with /usr/bin/python3 testdata/cnn_ntk.py fixture testdata", f.Spec, cnnSpec)
	}
	d64 := cnnRelDiff(fixtureNTK[float64](t, f).Data(), f.NTK64.Data)
	if d64 > 1e-12 {
		t.Errorf("float64 NTK differs from PyTorch's by %.3g of the largest entry, want <= 1e-12", d64)
	}
	d32 := cnnRelDiff(fixtureNTK[float32](t, f).Data(), f.NTK32.Data)
	if d32 > 1e-6 {
		t.Errorf("float32 NTK differs from PyTorch's float32 NTK by %.3g of the largest entry, want <= 1e-6", d32)
	}
	t.Logf("relative difference from PyTorch: float64 %.2g, float32 %.2g", d64, d32)
	// The float32 reference is not the float64 one: the comparison above
	// resolves float32 rounding.
	if d := cnnRelDiff(f.NTK32.Data, f.NTK64.Data); d == 0 || d > 1e-5 {
		t.Errorf("fixture's float32 and float64 NTKs differ by %.3g, want float32 rounding (0 < d <= 1e-5)", d)
	}
}

// Live: a net gradflow initialized and saved, loaded by PyTorch, has the
// same float64 NTK. Skips without /usr/bin/python3 and torch.
func TestCNNEmpiricalMatchesTorchLive(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PyTorch")
	}
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch").Run(); err != nil {
		t.Skipf("no PyTorch for %s: %v", py, err)
	}
	spec := "conv3k3p1-relu-avgpool2-res(conv3k3p1-tanh-conv3k3p1)-relu-maxpool2-gap-fc2"
	net, err := nn.NewNet[float64](spec, cnnShape, rand.New(rand.NewPCG(11, 12)))
	if err != nil {
		t.Fatal(err)
	}
	net.SetTraining(false)
	dir := t.TempDir()
	model, xPath, out := filepath.Join(dir, "m.safetensors"), filepath.Join(dir, "x.json"), filepath.Join(dir, "ntk.json")
	if err := net.SaveFile(model); err != nil {
		t.Fatal(err)
	}
	x := cnnUniformRows[float64](4, 64, 5)
	raw, _ := json.Marshal(map[string]any{"shape": x.Shape(), "data": x.Data()})
	if err := os.WriteFile(xPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "testdata/cnn_ntk.py", "ntk", spec, "[1,8,8]", model, xPath, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cnn_ntk.py: %v\n%s", err, b)
	}
	var ref struct{ Data []float64 }
	raw, err = os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	th, err := Empirical[float64](net, x, nil, Options{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := cnnRelDiff(th.Data(), ref.Data); d > 1e-12 {
		t.Errorf("NTK differs from PyTorch's by %.3g of the largest entry, want <= 1e-12", d)
	}
}
