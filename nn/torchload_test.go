package nn

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/internal/testutil"
	"github.com/gradflow/gradflow/tensor"
)

// rawTensor is one tensor of a hand-written safetensors file.
type rawTensor struct {
	name  string
	dtype string // "F32" or "F64"
	shape []int
	data  []float64
}

// handSafetensors writes a safetensors file byte by byte, independently of
// WriteSafetensors, with the tensors in the given order and no
// __metadata__ when meta is nil: what safetensors.torch.save_file writes
// for a state dict.
func handSafetensors(meta map[string]string, ts ...rawTensor) []byte {
	var h, data bytes.Buffer
	h.WriteByte('{')
	if meta != nil {
		m, _ := json.Marshal(meta)
		h.WriteString(`"__metadata__":`)
		h.Write(m)
	}
	for i, t := range ts {
		begin := data.Len()
		for _, v := range t.data {
			if t.dtype == "F32" {
				data.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(v))))
			} else {
				data.Write(binary.LittleEndian.AppendUint64(nil, math.Float64bits(v)))
			}
		}
		if i > 0 || meta != nil {
			h.WriteByte(',')
		}
		name, _ := json.Marshal(t.name)
		shape, _ := json.Marshal(t.shape)
		if t.shape == nil {
			shape = []byte("[]")
		}
		h.Write(name)
		h.WriteString(`:{"dtype":"` + t.dtype + `","shape":` + string(shape) + `,"data_offsets":[`)
		h.WriteString(itoa(begin) + "," + itoa(data.Len()) + "]}")
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(h.Len()))
	return append(append(out, h.Bytes()...), data.Bytes()...)
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// refLayer is a Linear layer of the closed-form reference: w [out][in].
type refLayer struct {
	w [][]float64
	b []float64 // nil: no bias
}

// dyadic returns an out x in matrix of small multiples of 1/8: exact in
// float32, so an F32 file holds the same numbers as an F64 one and the
// reference needs no rounding model.
func dyadic(out, in, salt int) [][]float64 {
	w := make([][]float64, out)
	for j := range w {
		w[j] = make([]float64, in)
		for i := range w[j] {
			w[j][i] = float64((j*7+i*3+salt*5)%11-5) / 8
		}
	}
	return w
}

// tensors returns the state dict of layers as torch.nn.Sequential names
// them (Linear layers at 0, 2, 4, ...).
func (l refLayer) tensors(idx int, dtype string) []rawTensor {
	var flat []float64
	for _, row := range l.w {
		flat = append(flat, row...)
	}
	p := itoa(idx) + "."
	ts := []rawTensor{{p + "weight", dtype, []int{len(l.w), len(l.w[0])}, flat}}
	if l.b != nil {
		ts = append(ts, rawTensor{p + "bias", dtype, []int{len(l.b)}, l.b})
	}
	return ts
}

// refForward is the MLP written out as sums: h <- act(W h + b), no
// activation after the last layer.
func refForward(x [][]float64, layers []refLayer, acts []func(float64) float64) [][]float64 {
	out := make([][]float64, len(x))
	for n, h := range x {
		for l, layer := range layers {
			next := make([]float64, len(layer.w))
			for j, row := range layer.w {
				s := 0.0
				if layer.b != nil {
					s = layer.b[j]
				}
				for i, w := range row {
					s += w * h[i]
				}
				if l < len(layers)-1 {
					s = acts[l](s)
				}
				next[j] = s
			}
			h = next
		}
		out[n] = h
	}
	return out
}

func forward64(m *MLP[float64], x [][]float64) *tensor.Tensor[float64] {
	flat := make([]float64, 0, len(x)*len(x[0]))
	for _, r := range x {
		flat = append(flat, r...)
	}
	tp := autograd.NewTape[float64]()
	return m.Forward(tp, tp.Const(tensor.FromSlice(flat, len(x), len(x[0])))).Value()
}

// assertRef compares the model's float64 forward pass with the reference
// at torchTol: the sums are the same up to their order and the activations
// up to a few ulps.
func assertRef(t *testing.T, m *MLP[float64], x [][]float64, layers []refLayer, acts []func(float64) float64) {
	t.Helper()
	got := forward64(m, x)
	want := refForward(x, layers, acts)
	for n, row := range want {
		for j, w := range row {
			if g := got.At(n, j); !closeTo(g, w) {
				t.Errorf("output[%d][%d] = %.17g, want %.17g", n, j, g, w)
			}
		}
	}
}

var refX = [][]float64{{0.5, -1, 2}, {-1.5, 0.25, 0.75}, {3, 2, -2}, {0, 0, 0}}

// TestLoadTorchStateDict loads a plain state dict (no metadata) of
// Sequential(Linear(3,4), Tanh, Linear(4,2)) stored as F32 and as F64 and
// checks the architecture, the parameter names and the forward pass
// against the closed form W1 tanh(W0 x + b0) + b1.
func TestLoadTorchStateDict(t *testing.T) {
	layers := []refLayer{{dyadic(4, 3, 0), []float64{0.5, -0.25, 0, 1}}, {dyadic(2, 4, 1), []float64{-1, 0.125}}}
	for _, dtype := range []string{"F32", "F64"} {
		t.Run(dtype, func(t *testing.T) {
			// Write the second layer first: the header's order must not
			// matter, only the indices.
			file := handSafetensors(nil, append(layers[1].tensors(2, dtype), layers[0].tensors(0, dtype)...)...)
			m, err := LoadTorch[float64](bytes.NewReader(file), TorchOptions{Activation: Tanh})
			if err != nil {
				t.Fatal(err)
			}
			c := m.Config
			if !sameShape(c.Dims, []int{3, 4, 2}) || c.Activation != Tanh || c.Parameterization != Standard || !c.HasBias() {
				t.Errorf("config %+v, want dims [3 4 2], tanh, standard, biases", c)
			}
			var names []string
			for _, p := range m.Params() {
				names = append(names, p.Name)
			}
			if got := strings.Join(names, " "); got != "0.weight 0.bias 2.weight 2.bias" {
				t.Errorf("params %s", got)
			}
			for i, l := range m.Layers {
				if l.Alpha != 1 || l.BiasMult != 1 {
					t.Errorf("layer %d multipliers %v, %v, want 1 as in torch.nn.Linear", i, l.Alpha, l.BiasMult)
				}
			}
			assertRef(t, m, refX, layers, []func(float64) float64{math.Tanh})
		})
	}
}

// TestLoadTorchDeepNoBias: six bias-free Linear layers, so that "10.weight"
// sorts before "2.weight" as a string, with a different activation after
// each hidden layer.
func TestLoadTorchDeepNoBias(t *testing.T) {
	widths := []int{3, 5, 4, 4, 3, 5, 2}
	var layers []refLayer
	var ts []rawTensor
	for l := 0; l+1 < len(widths); l++ {
		layers = append(layers, refLayer{w: dyadic(widths[l+1], widths[l], l)})
		ts = append(layers[l].tensors(2*l, "F64"), ts...) // reversed order in the header
	}
	acts := []Activation{ReLU, Sigmoid, Identity, LeakyReLU, Softplus}
	ref := []func(float64) float64{
		func(x float64) float64 { return math.Max(x, 0) },
		func(x float64) float64 { return 1 / (1 + math.Exp(-x)) },
		func(x float64) float64 { return x },
		func(x float64) float64 { return math.Max(x, LeakySlope*x) },
		func(x float64) float64 { return math.Log1p(math.Exp(x)) },
	}
	m, err := LoadTorch[float64](bytes.NewReader(handSafetensors(nil, ts...)), TorchOptions{Activations: acts})
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.HasBias() || len(m.Params()) != 6 || m.Params()[5].Name != "10.weight" {
		t.Fatalf("want 6 bias-free layers ending in 10.weight, got %d params, bias %v", len(m.Params()), m.Config.HasBias())
	}
	for l, a := range acts {
		if got := m.Config.LayerActivation(l); got != a {
			t.Errorf("activation after layer %d: %s, want %s", l, got, a)
		}
	}
	assertRef(t, m, refX, layers, ref)
}

// TestLoadTorchSingleLayer: one Linear layer has no activation to name,
// and metadata that is not gradflow's (transformers writes
// {"format": "pt"}) is ignored.
func TestLoadTorchSingleLayer(t *testing.T) {
	layer := refLayer{dyadic(2, 3, 4), []float64{0.5, -2}}
	file := handSafetensors(map[string]string{"format": "pt"}, layer.tensors(0, "F32")...)
	m, err := LoadTorch[float64](bytes.NewReader(file), TorchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	assertRef(t, m, refX, []refLayer{layer}, nil)
}

// TestLoadTorchFloat32FromF64 checks the conversion of an F64 state dict to
// a float32 model: each value rounded to the nearest float32.
func TestLoadTorchFloat32FromF64(t *testing.T) {
	w := []float64{0.1, -0.2, 1.0 / 3, 1e-3, math.Pi, -math.E}
	file := handSafetensors(nil, rawTensor{"0.weight", "F64", []int{2, 3}, w})
	m, err := LoadTorch[float32](bytes.NewReader(file), TorchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range m.Params()[0].Value.Data() {
		if v != float32(w[i]) {
			t.Errorf("weight[%d] = %v, want float32(%v)", i, v, w[i])
		}
	}
}

// TestLoadTorchWritesBack checks the round trip through Save: the keys are
// those of the state dict, so the file loads into the same
// torch.nn.Sequential, and Load rebuilds the model from its metadata.
func TestLoadTorchWritesBack(t *testing.T) {
	layers := []refLayer{{dyadic(4, 3, 0), []float64{0.5, -0.25, 0, 1}}, {dyadic(2, 4, 1), []float64{-1, 0.125}}}
	file := handSafetensors(nil, append(layers[0].tensors(0, "F32"), layers[1].tensors(2, "F32")...)...)
	m, err := LoadTorch[float32](bytes.NewReader(file), TorchOptions{Activation: GELU})
	if err != nil {
		t.Fatal(err)
	}
	out := saved(t, m)
	s, err := ParseSafetensors(out)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := ParseSafetensors(file)
	if got, want := strings.Join(s.Names(), " "), strings.Join(in.Names(), " "); got != want {
		t.Errorf("saved keys %s, want the state dict's %s", got, want)
	}
	back, err := Load[float32](bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if back.Config.Activation != GELU {
		t.Errorf("reloaded activation %s, want gelu", back.Config.Activation)
	}
	for i, p := range m.Params() {
		if !tensor.Equal(p.Value, back.Params()[i].Value) {
			t.Errorf("%s changed in the round trip", p.Name)
		}
	}
}

// TestLoadPointsToLoadTorch: Load refuses a state dict without gradflow's
// metadata, and says what to use instead.
func TestLoadPointsToLoadTorch(t *testing.T) {
	layer := refLayer{w: dyadic(2, 3, 0)}
	for name, meta := range map[string]map[string]string{"no metadata": nil, "transformers metadata": {"format": "pt"}} {
		_, err := Load[float64](bytes.NewReader(handSafetensors(meta, layer.tensors(0, "F32")...)))
		if err == nil || !strings.Contains(err.Error(), "nn.LoadTorch") {
			t.Errorf("%s: error %v does not point to nn.LoadTorch", name, err)
		}
	}
}

// TestLoadTorchGradflowFile: a file saved by gradflow loads through
// LoadTorch with its metadata, keeping a non-standard parameterization's
// multipliers (ignoring them would change the function), and options that
// contradict the metadata are an error.
func TestLoadTorchGradflowFile(t *testing.T) {
	m, err := NewMLP[float64](MLPConfig{Dims: []int{3, 5, 4, 2}, Activation: Tanh, Activations: []Activation{"", SiLU},
		Parameterization: NTK, WStd: 1.5, BStd: 0.2}, newRNG(8))
	if err != nil {
		t.Fatal(err)
	}
	file := saved(t, m)
	for _, opt := range []TorchOptions{{}, {Activation: Tanh, Activations: []Activation{"", SiLU}}, {Activations: []Activation{Tanh, SiLU}}} {
		got, err := LoadTorch[float64](bytes.NewReader(file), opt)
		if err != nil {
			t.Fatalf("%+v: %v", opt, err)
		}
		if got.Config.Parameterization != NTK || got.Layers[1].Alpha != m.Layers[1].Alpha {
			t.Errorf("%+v: parameterization %s, alpha %v, want ntk, %v", opt, got.Config.Parameterization, got.Layers[1].Alpha, m.Layers[1].Alpha)
		}
		if !tensor.Equal(forward64(got, refX), forward64(m, refX)) {
			t.Errorf("%+v: loaded model computes another function", opt)
		}
	}
	for _, c := range []struct {
		opt  TorchOptions
		want string
	}{
		{TorchOptions{Activation: ReLU}, `puts tanh after Linear layer "0.weight", TorchOptions says relu`},
		{TorchOptions{Activation: Tanh}, `puts silu after Linear layer "2.weight", TorchOptions says tanh`},
		{TorchOptions{Activations: []Activation{Tanh}}, "Activations has 1 entries; the file's metadata describes 2 hidden layers"},
		{TorchOptions{Activations: []Activation{"", SiLU, Tanh}}, "Activations has 3 entries"},
		{TorchOptions{Activations: []Activation{Tanh, "swish"}}, `TorchOptions.Activations[1]: tensor: unknown activation "swish"`},
		{TorchOptions{Activation: "swish"}, `TorchOptions.Activation: tensor: unknown activation "swish"`},
	} {
		_, err := LoadTorch[float64](bytes.NewReader(file), c.opt)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one containing %q", c.opt, err, c.want)
		}
	}
}

// TestLoadTorchErrors checks that every state dict gradflow's MLP cannot
// express is refused with an error naming the tensor and its shape.
func TestLoadTorchErrors(t *testing.T) {
	w0 := rawTensor{"0.weight", "F32", []int{4, 3}, make([]float64, 12)}
	b0 := rawTensor{"0.bias", "F32", []int{4}, make([]float64, 4)}
	w2 := rawTensor{"2.weight", "F32", []int{2, 4}, make([]float64, 8)}
	b2 := rawTensor{"2.bias", "F32", []int{2}, make([]float64, 2)}
	rename := func(r rawTensor, name string) rawTensor { r.name = name; return r }
	reshape := func(r rawTensor, shape ...int) rawTensor {
		n := 1
		for _, d := range shape {
			n *= d
		}
		r.shape, r.data = shape, make([]float64, n)
		return r
	}
	relu := TorchOptions{Activation: ReLU}
	cases := []struct {
		name string
		file []byte
		opt  TorchOptions
		want string
	}{
		{"no tensors", handSafetensors(nil), relu, "holds no tensors"},
		{"batchnorm key", handSafetensors(nil, w0, b0, rawTensor{"1.running_mean", "F32", []int{4}, make([]float64, 4)}, w2, b2), relu,
			`tensor "1.running_mean" is not a Linear parameter of a torch.nn.Sequential`},
		{"module prefix", handSafetensors(nil, rename(w0, "model.0.weight")), relu, `tensor "model.0.weight" is not a Linear parameter`},
		{"leading zero", handSafetensors(nil, rename(w0, "00.weight")), relu, `tensor "00.weight" is not a Linear parameter`},
		{"signed index", handSafetensors(nil, rename(w0, "+0.weight")), relu, `tensor "+0.weight" is not a Linear parameter`},
		{"no index", handSafetensors(nil, rename(w0, "weight")), relu, `tensor "weight" is not a Linear parameter`},
		{"huge index", handSafetensors(nil, rename(w0, "12345678901.weight")), relu, `tensor "12345678901.weight" is not`},
		{"bias without weight", handSafetensors(nil, w0, b0, b2), relu, `tensor "2.bias" has no "2.weight"`},
		{"1-D weight", handSafetensors(nil, reshape(w0, 12)), relu, `tensor "0.weight" has shape [12], want a Linear weight [out in]`},
		{"3-D weight", handSafetensors(nil, reshape(w0, 4, 3, 1)), relu, `tensor "0.weight" has shape [4 3 1], want a Linear weight`},
		{"empty weight", handSafetensors(nil, reshape(w0, 0, 3)), relu, `tensor "0.weight" has shape [0 3], want a Linear weight [out in] with positive widths`},
		{"scalar weight", handSafetensors(nil, rawTensor{"0.weight", "F32", []int{}, []float64{1}}), relu, `tensor "0.weight" has shape [], want`},
		{"short bias", handSafetensors(nil, w0, reshape(b0, 3)), relu, `tensor "0.bias" has shape [3], want [4] (the out width of "0.weight" [4 3])`},
		{"2-D bias", handSafetensors(nil, w0, reshape(b0, 4, 1)), relu, `tensor "0.bias" has shape [4 1], want [4]`},
		{"broken chain", handSafetensors(nil, w0, b0, reshape(w2, 2, 5), b2), relu,
			`tensor "2.weight" has shape [2 5]: its in width 5 differs from the out width 4 of "0.weight" [4 3]`},
		{"missing later bias", handSafetensors(nil, w0, b0, w2), relu, `tensor "2.bias" missing while "0.bias" exists: an MLP has a bias in every layer or in none`},
		{"missing first bias", handSafetensors(nil, w0, w2, b2), relu, `tensor "2.bias" exists while "0.bias" is missing`},
		{"first layer not at 0", handSafetensors(nil, rename(w0, "1.weight")), relu, `tensor "1.weight": the first Linear layer is at Sequential index 1, want 0`},
		{"adjacent linears", handSafetensors(nil, w0, rename(w2, "1.weight")), relu, `tensor "1.weight": Linear layer at Sequential index 1 follows the one at 0, want 2`},
		{"dropout between", handSafetensors(nil, w0, rename(w2, "3.weight")), relu, `tensor "3.weight": Linear layer at Sequential index 3 follows the one at 0, want 2 (an MLP is torch.nn.Sequential(`},
		{"missing middle layer", handSafetensors(nil, w0, rename(reshape(w2, 2, 4), "4.weight")), relu, `Linear layer at Sequential index 4 follows the one at 0, want 2`},
		{"no activation", handSafetensors(nil, w0, w2), TorchOptions{}, `TorchOptions.Activation is empty: a state dict does not record the activation module after Linear layer "0.weight"`},
		{"partial activations", handSafetensors(nil, w0, w2, rename(reshape(w2, 1, 2), "4.weight")), TorchOptions{Activations: []Activation{Tanh, ""}},
			`does not record the activation module after Linear layer "2.weight"`},
		{"activation count", handSafetensors(nil, w0, w2), TorchOptions{Activations: []Activation{Tanh, Tanh}},
			`TorchOptions.Activations has 2 entries; the file's 2 Linear layers ("0.weight" ... "2.weight") have 1 hidden layers`},
		{"unknown activation", handSafetensors(nil, w0, w2), TorchOptions{Activation: "swish"}, `unknown activation "swish"`},
		{"half precision", handSafetensors(nil, rawTensor{"0.weight", "F16", []int{0, 0}, nil}), relu, `dtype "F16" not supported`},
		{"gradflow metadata, broken", handSafetensors(map[string]string{"format": MLPFormat, "dims": "[3,4"}, w0), relu, "nn.Load: metadata dims"},
	}
	for _, c := range cases {
		_, err := LoadTorch[float64](bytes.NewReader(c.file), c.opt)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not contain %q", c.name, err, c.want)
		}
	}
}

// TestLoadTorchFileErrorNamesPath: LoadTorchFile's errors start with the
// path, like LoadFile's.
func TestLoadTorchFileErrorNamesPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.safetensors")
	if err := os.WriteFile(path, handSafetensors(nil, rawTensor{"0.running_mean", "F32", []int{1}, []float64{0}}), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadTorchFile[float32](path, TorchOptions{})
	if err == nil || !strings.HasPrefix(err.Error(), path+": nn.LoadTorch: ") {
		t.Errorf("error %v does not start with the path", err)
	}
}

// FuzzLoadTorch feeds arbitrary bytes to LoadTorch: it must return an
// error or a model, never panic; a model it returns holds exactly the
// file's tensors (converted to float32) under their own names, and
// survives a Save/Load round trip. reseal is as in FuzzLoad.
//
//	go test ./nn -run '^$' -fuzz '^FuzzLoadTorch$' -parallel 1 -fuzztime 1000000x
func FuzzLoadTorch(f *testing.F) {
	layers := []refLayer{{dyadic(4, 3, 0), []float64{0.5, -0.25, 0, 1}}, {dyadic(2, 4, 1), []float64{-1, 0.125}}}
	plain := handSafetensors(nil, append(layers[0].tensors(0, "F32"), layers[1].tensors(2, "F64")...)...)
	sealed := handSafetensors(map[string]string{ChecksumKey: strings.Repeat("0", 64)}, append(layers[0].tensors(0, "F32"), layers[1].tensors(2, "F64")...)...)
	f.Add(plain, false)
	f.Add(sealed, true)
	f.Add(plain[:len(plain)-3], false)
	f.Add(handSafetensors(nil, refLayer{w: dyadic(2, 3, 0)}.tensors(0, "F64")...), false)
	f.Add(handSafetensors(map[string]string{"format": "pt"}, layers[0].tensors(0, "F32")...), false)
	f.Add(handSafetensors(nil, rawTensor{"0.weight", "F32", []int{2, 3}, make([]float64, 6)}, rawTensor{"2.weight", "F32", []int{1, 3}, make([]float64, 3)}), false)
	f.Add(handSafetensors(nil), false)
	if b, err := os.ReadFile(filepath.Join(torchDir, "torch_plain_mlp.safetensors")); err == nil {
		f.Add(b, false)
	}
	m, _ := NewMLP[float32](MLPConfig{Dims: []int{2, 3, 2}, Activation: Tanh}, newRNG(1))
	var buf bytes.Buffer
	m.Save(&buf)
	f.Add(buf.Bytes(), false)
	f.Add(buf.Bytes(), true)
	f.Fuzz(func(t *testing.T, b []byte, reseal bool) {
		if reseal {
			b = bytes.Clone(b)
			testutil.ResealSafetensors(b, ChecksumKey)
		}
		m, err := LoadTorch[float32](bytes.NewReader(b), TorchOptions{Activation: Tanh})
		if err != nil {
			return
		}
		s, err := ParseSafetensors(b)
		if err != nil {
			t.Fatalf("LoadTorch accepted a file ParseSafetensors refuses: %v", err)
		}
		if len(s.Names()) != len(m.Params()) {
			t.Fatalf("%d tensors in the file, %d params", len(s.Names()), len(m.Params()))
		}
		for _, p := range m.Params() {
			v, err := Tensor[float32](s, p.Name)
			if err != nil {
				t.Fatalf("param %s is not in the file", p.Name)
			}
			if !sameShape(v.Shape(), p.Value.Shape()) || !tensor.Equal(v, p.Value) && !hasNaN(v) {
				t.Fatalf("param %s differs from the file's tensor", p.Name)
			}
		}
		var out bytes.Buffer
		if err := m.Save(&out); err != nil {
			t.Fatal(err)
		}
		m2, err := Load[float32](&out)
		if err != nil {
			t.Fatalf("reloading a model LoadTorch returned: %v", err)
		}
		for i, p := range m.Params() {
			if !tensor.Equal(p.Value, m2.Params()[i].Value) && !hasNaN(p.Value) {
				t.Fatalf("round trip changed %s", p.Name)
			}
		}
	})
}
