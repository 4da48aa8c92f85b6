package nn

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/tensor"
)

// cnnRef is a case written by testdata/cnn_ref.py fixtures.
type cnnRef struct {
	Spec       string                `json:"spec"`
	InputShape []int                 `json:"input_shape"`
	X          jsonTensor            `json:"x"`
	Labels     []int32               `json:"labels"`
	Logits     jsonTensor            `json:"logits"`
	Loss       float64               `json:"loss"`
	Grads      map[string]jsonTensor `json:"grads"`
	V          map[string]jsonTensor `json:"v"`
	HVP        map[string]jsonTensor `json:"hvp"`
	Buffers    map[string]jsonTensor `json:"buffers"`
	EvalLogits jsonTensor            `json:"eval_logits"`
}

var cnnCases = []string{"small8", "gap12", "fused10"}

func readCNNRef(t *testing.T, name string) cnnRef {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "cnn_ref_"+name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var c cnnRef
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestNetMatchesPyTorch loads the state dict of PyTorch CNNs (Conv2d with
// stride, padding, dilation, groups and non-square kernels, BatchNorm1d/2d
// in training mode, ReLU (fused into the conv and fc ops where it follows
// them), MaxPool2d, AvgPool2d, residual blocks with and without a
// shortcut, global average pooling, LayerNorm, Flatten, Linear) into the Nets of the same specs and requires, to
// torchTol in float64: the logits, the cross-entropy, its gradient for
// every parameter, a Hessian-vector product, the buffers after the
// forward pass (running statistics and num_batches_tracked) and the
// eval-mode logits.
func TestNetMatchesPyTorch(t *testing.T) {
	for _, name := range cnnCases {
		t.Run(name, func(t *testing.T) {
			ref := readCNNRef(t, name)
			net, err := LoadTorchNetFile[float64](filepath.Join("testdata", "cnn_ref_"+name+".safetensors"), ref.Spec, ref.InputShape)
			if err != nil {
				t.Fatal(err)
			}
			if len(net.Params()) != len(ref.Grads) || len(net.Buffers()) != len(ref.Buffers) {
				t.Fatalf("net has %d parameters and %d buffers, PyTorch %d and %d", len(net.Params()), len(net.Buffers()), len(ref.Grads), len(ref.Buffers))
			}
			tp := autograd.NewTape[float64]()
			logits := net.Forward(tp, tp.Const(ref.X.tensor()))
			assertClose(t, "logits", logits.Value(), ref.Logits)
			loss := autograd.CrossEntropy(logits, ref.Labels)
			if !closeTo(float64(loss.Item()), ref.Loss) {
				t.Errorf("loss %.17g, want %.17g", loss.Item(), ref.Loss)
			}
			xs := ParamVars(nil, tp, net)
			vs := make([]*tensor.Tensor[float64], len(xs))
			for i, p := range net.Params() {
				v, ok := ref.V[p.Name]
				if !ok {
					t.Fatalf("parameter %q not in PyTorch's named_parameters", p.Name)
				}
				vs[i] = v.tensor()
			}
			grads, hvps := tp.GradHVP(loss, xs, vs)
			for i, p := range net.Params() {
				assertClose(t, "grad "+p.Name, grads[i].Value(), ref.Grads[p.Name])
				assertClose(t, "hvp "+p.Name, hvps[i].Value(), ref.HVP[p.Name])
			}
			for _, b := range net.Buffers() {
				assertClose(t, "buffer "+b.Name, b.Value, ref.Buffers[b.Name])
			}
			if was := SetTraining[float64](net, false); !was && len(net.Buffers()) > 0 {
				t.Error("SetTraining reported evaluation mode for a freshly loaded net")
			}
			tp.Reset()
			assertClose(t, "eval logits", net.Forward(tp, tp.Const(ref.X.tensor())).Value(), ref.EvalLogits)
			for _, b := range net.Buffers() {
				assertClose(t, "buffer after eval "+b.Name, b.Value, ref.Buffers[b.Name])
			}
		})
	}
}

// TestTorchLoadsNet saves Nets built by gradflow (float64 and float32)
// after a training-mode forward pass (so the running statistics are not
// their init), has PyTorch load each into the torch module of the same
// spec with load_state_dict(strict=True), and compares eval-mode logits.
// Skipped when python3-torch is not installed.
func TestTorchLoadsNet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts python3 with torch")
	}
	if !haveTorch() {
		t.Skip("python3-torch not installed (apt-get install python3-torch)")
	}
	for i, name := range cnnCases {
		ref := readCNNRef(t, name)
		dir := t.TempDir()
		net, err := NewNet[float64](ref.Spec, ref.InputShape, newRNG(uint64(40+i)))
		if err != nil {
			t.Fatal(err)
		}
		x := ref.X.tensor()
		tp := autograd.NewTape[float64]()
		net.Forward(tp, tp.Const(x)) // moves the running statistics
		SetTraining[float64](net, false)
		tp.Reset()
		want := net.Forward(tp, tp.Const(x)).Value()
		model := filepath.Join(dir, "net.safetensors")
		if err := net.SaveFile(model); err != nil {
			t.Fatal(err)
		}
		in, out := filepath.Join(dir, "x.json"), filepath.Join(dir, "y.json")
		b, _ := json.Marshal(jsonTensor{Shape: x.Shape(), Data: x.Data()})
		if err := os.WriteFile(in, b, 0o644); err != nil {
			t.Fatal(err)
		}
		shape, _ := json.Marshal(ref.InputShape)
		cmd := exec.Command(torchPython, filepath.Join("testdata", "cnn_ref.py"), "eval", ref.Spec, string(shape), model, in, out)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, msg)
		}
		raw, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var got jsonTensor
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		assertClose(t, fmt.Sprintf("%s: torch's eval logits of the gradflow file", name), want, got)
	}
}

// TestTorchReadGoFile is TestTorchLoadsNet without torch: the committed
// testdata/cnn_go_small8.safetensors was written by Net.Save (after a
// training-mode pass, so its running statistics and I64
// num_batches_tracked are not their init) and cnn_go_small8_torch.json
// holds the eval-mode logits PyTorch computed after loading it with
// load_state_dict(strict=True). Gradflow must read the same file to the
// same function. To regenerate both:
//
//	GRADFLOW_WRITE_FIXTURES=1 go test ./nn -run TestTorchReadGoFile
//	/usr/bin/python3 nn/testdata/cnn_ref.py eval SPEC '[1,8,8]' nn/testdata/cnn_go_small8.safetensors \
//	    nn/testdata/cnn_go_small8_x.json nn/testdata/cnn_go_small8_torch.json
func TestTorchReadGoFile(t *testing.T) {
	ref := readCNNRef(t, "small8")
	model := filepath.Join("testdata", "cnn_go_small8.safetensors")
	xfile := filepath.Join("testdata", "cnn_go_small8_x.json")
	if os.Getenv("GRADFLOW_WRITE_FIXTURES") == "1" {
		net, err := NewNet[float64](ref.Spec, ref.InputShape, newRNG(77))
		if err != nil {
			t.Fatal(err)
		}
		tp := autograd.NewTape[float64]()
		net.Forward(tp, tp.Const(ref.X.tensor()))
		if err := net.SaveFile(model); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(ref.X)
		if err := os.WriteFile(xfile, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s and %s; now run cnn_ref.py eval (see the test's comment) with SPEC %s", model, xfile, ref.Spec)
		return
	}
	net, err := LoadNetFile[float64](model)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "cnn_go_small8_torch.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want jsonTensor
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	SetTraining[float64](net, false)
	tp := autograd.NewTape[float64]()
	assertClose(t, "eval logits of the gradflow file, as PyTorch computed them", net.Forward(tp, tp.Const(ref.X.tensor())).Value(), want)
}
