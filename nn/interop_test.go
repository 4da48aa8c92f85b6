package nn

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/tensor"
)

// torchPython is the interpreter with Debian's python3-torch.
const torchPython = "/usr/bin/python3"

func haveTorch() bool {
	return exec.Command(torchPython, "-c", "import torch").Run() == nil
}

// TestLoadTorchWrittenFile loads a safetensors file written by PyTorch
// (testdata/torch/interop.py save, the format written by hand) and checks
// that the rebuilt model reproduces torch's outputs. Only the committed
// fixture is needed, not torch.
func TestLoadTorchWrittenFile(t *testing.T) {
	m, err := LoadFile[float64](filepath.Join(torchDir, "torch_mlp.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(torchDir, "torch_mlp_io.json"))
	if err != nil {
		t.Fatal(err)
	}
	var io struct{ X, Y jsonTensor }
	if err := json.Unmarshal(raw, &io); err != nil {
		t.Fatal(err)
	}
	tp := autograd.NewTape[float64]()
	assertClose(t, "output", m.Forward(tp, tp.Const(io.X.tensor())).Value(), io.Y)
}

// TestTorchLoadsGradflowFile saves gradflow models (float32 and float64,
// standard and NTK parameterizations), has PyTorch load each into
// torch.nn.Sequential with load_state_dict(strict=True), and compares
// outputs. Skipped when python3-torch is not installed.
func TestTorchLoadsGradflowFile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts python3 with torch three times")
	}
	if !haveTorch() {
		t.Skip("python3-torch not installed (apt-get install python3-torch)")
	}
	dir := t.TempDir()
	x := tensor.RandN(newRNG(3), 0.0, 1.0, 6, 4)
	in := filepath.Join(dir, "x.json")
	b, _ := json.Marshal(jsonTensor{Shape: x.Shape(), Data: x.Data()})
	if err := os.WriteFile(in, b, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, model, outPath string) jsonTensor {
		return runInterop(t, "load", model, in, outPath)
	}
	for _, p := range []Parameterization{Standard, NTK} {
		t.Run(string(p)+"/f64", func(t *testing.T) {
			m, _ := NewMLP[float64](MLPConfig{Dims: []int{4, 7, 5, 3}, Activation: GELU, Activations: []Activation{"", SiLU},
				Parameterization: p, BStd: 0.3}, newRNG(4))
			path := filepath.Join(dir, string(p)+"64.safetensors")
			if err := m.SaveFile(path); err != nil {
				t.Fatal(err)
			}
			y := run(t, path, filepath.Join(dir, string(p)+"64.json"))
			tp := autograd.NewTape[float64]()
			// NTK's multipliers are folded into torch's weights, which
			// rounds once more than gradflow's fused alpha: 1e-10 still
			// holds by far (see torchTol).
			assertClose(t, "output", m.Forward(tp, tp.Const(x)).Value(), y)
		})
	}
	t.Run("standard/f32", func(t *testing.T) {
		m, _ := NewMLP[float32](MLPConfig{Dims: []int{4, 7, 3}, Activation: Tanh, Init: InitTorch}, newRNG(5))
		path := filepath.Join(dir, "f32.safetensors")
		if err := m.SaveFile(path); err != nil {
			t.Fatal(err)
		}
		y := run(t, path, filepath.Join(dir, "f32.json"))
		tp := autograd.NewTape[float32]()
		got := m.Forward(tp, tp.Const(tensor.Convert[float32](x))).Value()
		// float32: the two libraries round their sums differently; 1e-5
		// relative is a few float32 ulps times the sum length.
		if !tensor.AllClose(tensor.Convert[float64](got), y.tensor(), 1e-5, 1e-6) {
			t.Errorf("outputs %v, torch %v", got, y.Data)
		}
	})
}

// torchPlainIO is testdata/torch/torch_plain_mlp_io.json, written by
// interop.py save-plain next to the state dict it describes.
type torchPlainIO struct {
	Dims        []int        `json:"dims"`
	Activations []Activation `json:"activations"`
	X           jsonTensor   `json:"x"`
	Y           jsonTensor   `json:"y"`   // float64 forward of the float32 weights
	Y32         jsonTensor   `json:"y32"` // torch's float32 forward
}

func readPlainIO(t *testing.T) torchPlainIO {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(torchDir, "torch_plain_mlp_io.json"))
	if err != nil {
		t.Fatal(err)
	}
	var io torchPlainIO
	if err := json.Unmarshal(raw, &io); err != nil {
		t.Fatal(err)
	}
	return io
}

// TestLoadTorchPlainStateDict loads the committed state dict of a real
// torch.nn.Sequential(Linear, ReLU, Linear, GELU, Linear) in float32,
// stored without metadata as safetensors.torch.save_file stores it, and
// compares the forward pass with torch's: in float64 (the float32 weights
// widen exactly, so only summation order differs: torchTol) and in float32.
// Only the committed fixture is needed, not torch.
func TestLoadTorchPlainStateDict(t *testing.T) {
	io := readPlainIO(t)
	path := filepath.Join(torchDir, "torch_plain_mlp.safetensors")
	opt := TorchOptions{Activations: io.Activations}
	m, err := LoadTorchFile[float64](path, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !sameShape(m.Config.Dims, io.Dims) {
		t.Errorf("dims %v, want %v", m.Config.Dims, io.Dims)
	}
	tp := autograd.NewTape[float64]()
	assertClose(t, "output", m.Forward(tp, tp.Const(io.X.tensor())).Value(), io.Y)

	// The activations are part of the function: told ReLU everywhere, the
	// loader builds another model (so the check above can fail).
	wrong, err := LoadTorchFile[float64](path, TorchOptions{Activation: ReLU})
	if err != nil {
		t.Fatal(err)
	}
	if tensor.AllClose(wrong.Forward(tp, tp.Const(io.X.tensor())).Value(), io.Y.tensor(), torchTol, torchTol) {
		t.Error("ReLU in place of GELU gives torch's outputs: the fixture does not exercise the activations")
	}

	m32, err := LoadTorchFile[float32](path, opt)
	if err != nil {
		t.Fatal(err)
	}
	tp32 := autograd.NewTape[float32]()
	got := m32.Forward(tp32, tp32.Const(tensor.Convert[float32](io.X.tensor()))).Value()
	// float32: the two libraries round their sums differently; 1e-5
	// relative is a few float32 ulps times the sum length.
	if !tensor.AllClose(tensor.Convert[float64](got), io.Y32.tensor(), 1e-5, 1e-6) {
		t.Errorf("float32 outputs %v, torch %v", got, io.Y32.Data)
	}
}

// TestTorchLoadsLoadTorchModel is the way back: a model read by LoadTorch,
// changed in gradflow (as training would) and saved, loads into the
// PyTorch module built in code with load_state_dict(strict=True), the
// gradflow metadata ignored as safetensors.torch.load_file ignores it, and
// computes what gradflow computes. Skipped when python3-torch is not
// installed.
func TestTorchLoadsLoadTorchModel(t *testing.T) {
	if testing.Short() {
		t.Skip("starts python3 with torch twice")
	}
	if !haveTorch() {
		t.Skip("python3-torch not installed (apt-get install python3-torch); interop.py load-plain needs it")
	}
	io := readPlainIO(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "x.json")
	b, _ := json.Marshal(io.X)
	if err := os.WriteFile(in, b, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, model string) jsonTensor {
		return runInterop(t, "load-plain", model, in, model+".json")
	}
	opt := TorchOptions{Activations: io.Activations}
	t.Run("f64", func(t *testing.T) {
		m, err := LoadTorchFile[float64](filepath.Join(torchDir, "torch_plain_mlp.safetensors"), opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Params() {
			tensor.ScaleInto(p.Value, p.Value, 0.75)
		}
		path := filepath.Join(dir, "f64.safetensors")
		if err := m.SaveFile(path); err != nil {
			t.Fatal(err)
		}
		tp := autograd.NewTape[float64]()
		assertClose(t, "output", m.Forward(tp, tp.Const(io.X.tensor())).Value(), run(t, path))
	})
	t.Run("f32", func(t *testing.T) {
		m, err := LoadTorchFile[float32](filepath.Join(torchDir, "torch_plain_mlp.safetensors"), opt)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "f32.safetensors")
		if err := m.SaveFile(path); err != nil {
			t.Fatal(err)
		}
		tp := autograd.NewTape[float32]()
		got := m.Forward(tp, tp.Const(tensor.Convert[float32](io.X.tensor()))).Value()
		// float32: see TestLoadTorchPlainStateDict.
		if y := run(t, path); !tensor.AllClose(tensor.Convert[float64](got), y.tensor(), 1e-5, 1e-6) {
			t.Errorf("outputs %v, torch %v", got, y.Data)
		}
	})
}

// runInterop runs testdata/torch/interop.py's command (load or load-plain)
// on model with the input in, and returns the output it wrote to out.
func runInterop(t *testing.T, command, model, in, out string) jsonTensor {
	t.Helper()
	cmd := exec.Command(torchPython, filepath.Join(torchDir, "interop.py"), command, model, in, out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("interop.py %s: %v\n%s", command, err, msg)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var y jsonTensor
	if err := json.Unmarshal(raw, &y); err != nil {
		t.Fatal(err)
	}
	return y
}

// TestChecksumInterop checks the checksum against an implementation
// outside gradflow (interop.py with hashlib): the value gradflow records
// is the SHA-256 that Python computes over the bytes after the header, a
// flipped byte makes the two disagree (and gradflow refuse the file), and
// a file sealed by Python verifies in gradflow. PyTorch loading files that
// carry the checksum is TestTorchLoadsGradflowFile and
// TestTorchLoadsLoadTorchModel. Skipped when python3-torch is not
// installed.
func TestChecksumInterop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts python3 with torch four times")
	}
	if !haveTorch() {
		t.Skip("python3-torch not installed (apt-get install python3-torch)")
	}
	dir := t.TempDir()
	type sums struct{ Recorded, Computed *string }
	pythonSums := func(path string) sums {
		t.Helper()
		out := path + ".json"
		cmd := exec.Command(torchPython, filepath.Join(torchDir, "interop.py"), "checksum", path, out)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("interop.py checksum: %v\n%s", err, msg)
		}
		raw, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var s sums
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatal(err)
		}
		if s.Recorded == nil || s.Computed == nil {
			t.Fatalf("%s: Python found no recorded checksum (%s)", path, raw)
		}
		return s
	}
	m, _ := NewMLP[float32](MLPConfig{Dims: []int{4, 7, 3}, Activation: Tanh}, newRNG(5))
	path := filepath.Join(dir, "model.safetensors")
	if err := m.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	st, err := ParseSafetensors(raw)
	if err != nil {
		t.Fatal(err)
	}
	if s := pythonSums(path); *s.Recorded != *s.Computed || *s.Computed != st.Metadata[ChecksumKey] {
		t.Errorf("Python computes %s, the file records %s, gradflow wrote %s", *s.Computed, *s.Recorded, st.Metadata[ChecksumKey])
	}
	flipped := filepath.Join(dir, "flipped.safetensors")
	b := bytes.Clone(raw)
	b[len(b)-5] ^= 1
	if err := os.WriteFile(flipped, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if s := pythonSums(flipped); *s.Recorded == *s.Computed {
		t.Error("Python's checksum does not see the flipped byte")
	}
	if _, err := LoadFile[float32](flipped); !errors.Is(err, ErrChecksum) {
		t.Errorf("gradflow loads the flipped file: %v", err)
	}

	// The other way: PyTorch's plain state dict sealed by Python.
	sealed := filepath.Join(dir, "sealed.safetensors")
	cmd := exec.Command(torchPython, filepath.Join(torchDir, "interop.py"), "seal", filepath.Join(torchDir, "torch_plain_mlp.safetensors"), sealed)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("interop.py seal: %v\n%s", err, msg)
	}
	opt := TorchOptions{Activations: readPlainIO(t).Activations}
	got, err := LoadTorchFile[float32](sealed, opt)
	if err != nil {
		t.Fatalf("a file sealed by Python: %v", err)
	}
	want, err := LoadTorchFile[float32](filepath.Join(torchDir, "torch_plain_mlp.safetensors"), opt)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range want.Params() {
		if !tensor.Equal(p.Value, got.Params()[i].Value) {
			t.Errorf("%s differs after sealing", p.Name)
		}
	}
	b, _ = os.ReadFile(sealed)
	b[len(b)-1] ^= 0x80
	if _, err := LoadTorch[float32](bytes.NewReader(b), opt); !errors.Is(err, ErrChecksum) {
		t.Errorf("gradflow loads a flipped byte in the Python-sealed file: %v", err)
	}
}
