package nn

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/tensor"
)

const lenet = "conv6k5p2-relu-maxpool2-conv16k5-relu-maxpool2-flatten-fc120-relu-fc84-relu-fc10"

// TestNetLeNetLayout checks LeNet-5's parameter names and shapes (the
// state-dict keys of the equivalent torch.nn.Sequential, where ReLU,
// pools and Flatten take indices), its output shape, PyTorch's init
// bounds and the output of a forward pass on rows.
func TestNetLeNetLayout(t *testing.T) {
	n, err := NewNet[float64](lenet, []int{1, 28, 28}, newRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]int{
		"0.weight": {6, 1, 5, 5}, "0.bias": {6}, "3.weight": {16, 6, 5, 5}, "3.bias": {16},
		"7.weight": {120, 400}, "7.bias": {120}, "9.weight": {84, 120}, "9.bias": {84}, "11.weight": {10, 84}, "11.bias": {10},
	}
	if len(n.Params()) != len(want) {
		t.Fatalf("%d parameters, want %d", len(n.Params()), len(want))
	}
	for _, p := range n.Params() {
		if !slices.Equal(p.Value.Shape(), want[p.Name]) {
			t.Errorf("%s: shape %v, want %v", p.Name, p.Value.Shape(), want[p.Name])
		}
	}
	if got := NumParams[float64](n); got != 61706 {
		t.Errorf("%d parameters, want LeNet-5's 61706", got)
	}
	// conv 0 has fan_in 25: bound 0.2, and the draws should come close.
	w := n.Params()[0].Value.Data()
	lo, hi := slices.Min(w), slices.Max(w)
	if lo < -0.2 || hi > 0.2 || hi < 0.15 || lo > -0.15 {
		t.Errorf("conv weight in [%v, %v], want draws of U(-0.2, 0.2)", lo, hi)
	}
	if got := n.OutputShape(); !slices.Equal(got, []int{10}) {
		t.Errorf("output shape %v, want [10]", got)
	}
	tp := autograd.NewTape[float64]()
	y := n.Forward(tp, tp.Const(tensor.RandN(newRNG(2), 0.0, 1.0, 3, 784)))
	if !slices.Equal(y.Shape(), []int{3, 10}) {
		t.Errorf("forward on [3 784]: shape %v, want [3 10]", y.Shape())
	}
	if d, ok := InputWidth[float64](n); !ok || d != 784 {
		t.Errorf("InputWidth = %d, %v; want 784, true", d, ok)
	}
}

// TestNetSpecErrors checks that bad specs are errors naming the token
// and, for a layer that does not fit, the shape it would get.
func TestNetSpecErrors(t *testing.T) {
	img := []int{1, 8, 8}
	for _, c := range []struct {
		spec  string
		shape []int
		want  []string
	}{
		{"conv6k3-maxpool2-conv16k5-flatten-fc10", img, []string{"conv16k5 on [6 3 3]", "kernel 5 larger than the padded input 3"}},
		{"conv6k5-relu-fc10", img, []string{"fc10 on [6 4 4]", "flatten"}},
		{"conv6k3", []int{64}, []string{"conv6k3 on [64]", "[C H W]"}},
		{"conv6", img, []string{`"conv6"`, "kernel"}},
		{"conv6k3q2", img, []string{`"conv6k3q2"`, "unknown option"}},
		{"conv6k3-relu--fc10", img, []string{"empty layer"}},
		{"res(conv8k3p1)-flatten-fc10", img, []string{"res(conv8k3p1) on [1 8 8]", "identity shortcut gives [1 8 8]"}},
		{"res(conv4k3p1", img, []string{"unclosed"}},
		{"dropout1.5", img, []string{`"dropout1.5"`, "0 <= p < 1"}},
		{"swish", img, []string{`"swish"`, "unknown layer"}},
		{"maxpool3p2", img, []string{"maxpool3p2 on [1 8 8]", "half the window"}},
		{"conv4k3g3", []int{3, 8, 8}, []string{"conv4k3g3 on [3 8 8]", "groups 3 must divide"}},
		{"flatten-bn-fc3", []int{2, 4, 4}, nil},
	} {
		_, err := NewNet[float32](c.spec, c.shape, newRNG(1))
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: %v", c.spec, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s on %v: no error", c.spec, c.shape)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.spec, err, w)
			}
		}
	}
}

// TestNetSaveLoad saves a net with BatchNorm, a residual block with a
// shortcut and dropout after moving its running statistics, and checks
// that LoadNet rebuilds it from the file alone: same tensors, an I64
// num_batches_tracked, the same eval-mode output.
func TestNetSaveLoad(t *testing.T) {
	spec := "conv4k3p1-bn-relu-res(conv8k3s2p1-bn-relu-conv8k3p1-bn,conv8k1s2-bn)-relu-dropout0.25-gap-fc3"
	n, err := NewNet[float32](spec, []int{1, 8, 8}, newRNG(3))
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.RandN(newRNG(4), float32(0), 1, 4, 64)
	tp := autograd.NewTape[float32]()
	n.Forward(tp, tp.Const(x))
	n.Forward(tp, tp.Const(x))
	SetTraining[float32](n, false)
	tp.Reset()
	want := n.Forward(tp, tp.Const(x)).Value().Clone()
	var buf bytes.Buffer
	if err := n.Save(&buf); err != nil {
		t.Fatal(err)
	}
	s, err := ParseSafetensors(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if e := s.entries["1.num_batches_tracked"]; e.Dtype != "I64" || len(e.Shape) != 0 {
		t.Errorf("num_batches_tracked stored as %s %v, want I64 []", e.Dtype, e.Shape)
	}
	if v, _ := Tensor[float32](s, "3.body.1.num_batches_tracked"); v.Data()[0] != 2 {
		t.Errorf("num_batches_tracked = %v after two training passes, want 2", v.Data()[0])
	}
	m, err := LoadNet[float32](bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if m.Spec != spec || !slices.Equal(m.InputShape, []int{1, 8, 8}) {
		t.Errorf("loaded spec %q shape %v", m.Spec, m.InputShape)
	}
	if len(m.Buffers()) != 12 || m.Buffers()[5].Name != "3.body.1.num_batches_tracked" {
		t.Errorf("buffers %d, the sixth %q", len(m.Buffers()), m.Buffers()[5].Name)
	}
	SetTraining[float32](m, false)
	tp.Reset()
	got := m.Forward(tp, tp.Const(x)).Value()
	if !slices.Equal(got.Data(), want.Data()) {
		t.Errorf("loaded net's eval output %v, want %v", got.Data(), want.Data())
	}
	// Evaluation mode turned dropout off and left the statistics alone.
	if rm := m.Buffers()[0].Value.Data()[0]; rm != n.Buffers()[0].Value.Data()[0] {
		t.Errorf("running mean changed in eval mode")
	}
}

// TestNetLoadStrict checks that keys missing, unexpected or misshapen
// are errors naming the key, and that the net is left unchanged.
func TestNetLoadStrict(t *testing.T) {
	spec := "conv2k3-bn-relu-flatten-fc3"
	n, err := NewNet[float64](spec, []int{1, 4, 4}, newRNG(5))
	if err != nil {
		t.Fatal(err)
	}
	save := func(params []*Param[float64], bufs []*Buffer[float64]) *Safetensors {
		var buf bytes.Buffer
		if err := WriteStateDict(&buf, params, bufs, nil); err != nil {
			t.Fatal(err)
		}
		s, err := ParseSafetensors(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ps, bs := n.Params(), n.Buffers()
	extra := NewParam("5.weight", tensor.New[float64](2))
	wrong := NewParam("4.weight", tensor.New[float64](3, 7))
	before := ps[0].Value.Clone()
	for _, c := range []struct {
		s    *Safetensors
		want string
	}{
		{save(ps, bs[:2]), `"1.num_batches_tracked" missing`},
		{save(append(slices.Clone(ps), extra), bs), `unexpected tensor "5.weight"`},
		{save(append(slices.Clone(ps[:4]), wrong, ps[5]), bs), `"4.weight" has shape [3 7], want [3 8]`},
	} {
		ps[0].Value.Fill(7)
		err := n.LoadState(c.s)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), spec) {
			t.Errorf("LoadState: %v, want an error with %q and the spec", err, c.want)
		}
		if ps[0].Value.Data()[0] != 7 {
			t.Error("a failed LoadState changed the net")
		}
	}
	_ = before
	if _, err := LoadNet[float64](bytes.NewReader(mustSave(t, save(ps, bs)))); err == nil || !strings.Contains(err.Error(), "LoadTorchNet") {
		t.Errorf("LoadNet of a file without metadata: %v, want a pointer to LoadTorchNet", err)
	}
}

func mustSave(t *testing.T, s *Safetensors) []byte {
	t.Helper()
	var buf bytes.Buffer
	var ps []*Param[float64]
	for _, name := range s.Names() {
		v, err := Tensor[float64](s, name)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, NewParam(name, v))
	}
	if err := WriteSafetensors(&buf, ps, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSafetensorsDtypes checks that I64 tensors are read as integers and
// that other dtypes are refused with an error naming the tensor and the
// dtype.
func TestSafetensorsDtypes(t *testing.T) {
	file := func(dtype string, data []byte) []byte {
		h, _ := json.Marshal(map[string]any{"n": map[string]any{"dtype": dtype, "shape": []int{2}, "data_offsets": []int{0, len(data)}}})
		b := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
		return append(append(b, h...), data...)
	}
	i64 := binary.LittleEndian.AppendUint64(nil, uint64(5))
	i64 = binary.LittleEndian.AppendUint64(i64, ^uint64(2)) // -3
	s, err := ParseSafetensors(file("I64", i64))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := Tensor[float32](s, "n")
	if !slices.Equal(v.Data(), []float32{5, -3}) {
		t.Errorf("I64 [5 -3] read as %v", v.Data())
	}
	for _, dt := range []string{"I32", "BF16", "U8"} {
		_, err := ParseSafetensors(file(dt, make([]byte, 8)))
		if err == nil || !strings.Contains(err.Error(), `"n"`) || !strings.Contains(err.Error(), dt) {
			t.Errorf("dtype %s: %v, want an error naming the tensor and the dtype", dt, err)
		}
	}
}

// TestSetTrainingRecurses checks that SetTraining reaches BatchNorm and
// Dropout inside Sequential and Residual, reports the previous mode, and
// that dropout masks follow the seed.
func TestSetTrainingRecurses(t *testing.T) {
	spec := "fc8-bn-res(fc8-dropout0.5-bn)-dropout0.5-fc2"
	n, err := NewNet[float64](spec, []int{5}, newRNG(6))
	if err != nil {
		t.Fatal(err)
	}
	var modes []bool
	var walk func(m Module[float64])
	walk = func(m Module[float64]) {
		switch m := m.(type) {
		case *Sequential[float64]:
			for _, s := range m.Modules {
				walk(s)
			}
		case *Residual[float64]:
			walk(m.Body)
		case *BatchNorm[float64]:
			modes = append(modes, m.Training)
		case *Dropout[float64]:
			modes = append(modes, m.Training)
		}
	}
	if !SetTraining[float64](n, false) {
		t.Error("a new net reports evaluation mode")
	}
	walk(n.Body)
	if len(modes) != 4 || slices.Contains(modes, true) {
		t.Errorf("after SetTraining(false) the modes are %v, want 4 x false", modes)
	}
	if SetTraining[float64](n, true) {
		t.Error("SetTraining(true) reports training mode after SetTraining(false)")
	}
	x := tensor.RandN(newRNG(7), 0.0, 1.0, 6, 5)
	out := func(seed uint64) []float64 {
		m, err := NewNet[float64](spec, []int{5}, newRNG(seed))
		if err != nil {
			t.Fatal(err)
		}
		tp := autograd.NewTape[float64]()
		return m.Forward(tp, tp.Const(x)).Value().Clone().Data()
	}
	if a, b := out(9), out(9); !slices.Equal(a, b) {
		t.Error("two nets from one seed give different training-mode outputs")
	}
	tp := autograd.NewTape[float64]()
	a := n.Forward(tp, tp.Const(x)).Value().Clone().Data()
	tp.Reset()
	if b := n.Forward(tp, tp.Const(x)).Value().Data(); slices.Equal(a, b) {
		t.Error("two training-mode passes gave the same output: dropout masks are not redrawn")
	}
}

// TestLoadMLPOfNetFile: nn.Load of a net's file says to use LoadNet.
func TestLoadMLPOfNetFile(t *testing.T) {
	n, err := NewNet[float32]("flatten-fc3", []int{1, 2, 2}, newRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := n.Save(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := Load[float32](&buf); err == nil || !strings.Contains(err.Error(), "LoadNet") || !strings.Contains(err.Error(), "flatten-fc3") {
		t.Errorf("Load of a net file: %v, want an error naming the spec and LoadNet", err)
	}
}

// TestPredictNetEvalMode: Predict on a net with BatchNorm in training mode
// uses the running statistics without moving them, gives the same rows
// whatever the batch, and leaves the net in training mode.
func TestPredictNetEvalMode(t *testing.T) {
	n, err := NewNet[float64]("fc4-bn-relu-dropout0.5-fc2", []int{3}, newRNG(8))
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.RandN(newRNG(9), 0.0, 1.0, 5, 3)
	all, err := Predict[float64](n, x)
	if err != nil {
		t.Fatal(err)
	}
	one, err := Predict[float64](n, tensor.FromSlice(x.Data()[:3], 1, 3))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(one.Data(), all.Data()[:2]) {
		t.Errorf("row 0 predicted alone %v, in a batch %v: batch statistics or dropout used", one.Data(), all.Data()[:2])
	}
	if rm := n.Buffers()[0].Value.Data(); slices.Max(rm) != 0 || slices.Min(rm) != 0 {
		t.Errorf("Predict moved the running mean to %v", rm)
	}
	if !SetTraining[float64](n, true) {
		t.Error("Predict left the net in evaluation mode")
	}
}

// BenchmarkLeNetForwardBackward times a forward and backward pass of
// LeNet-5 on a batch of 128 MNIST-size images in float32 (the work of one
// training step without the optimizer). It reports allocations: 0 in
// steady state.
func BenchmarkLeNetForwardBackward(b *testing.B) {
	n, err := NewNet[float32](lenet, []int{1, 28, 28}, newRNG(1))
	if err != nil {
		b.Fatal(err)
	}
	x := tensor.RandN(newRNG(2), float32(0), 1, 128, 784)
	labels := make([]int32, 128)
	for i := range labels {
		labels[i] = int32(i % 10)
	}
	tp := autograd.NewTape[float32]()
	step := func() {
		tp.Reset()
		ZeroGrad[float32](n)
		tp.Backward(autograd.CrossEntropy(n.Forward(tp, tp.Const(x)), labels))
	}
	step()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		step()
	}
	b.ReportMetric(float64(b.N*128)/b.Elapsed().Seconds(), "images/s")
}

// TestNetSpecOptions checks that the options of a token reach the module:
// kernel, stride, padding, dilation (N or HxW), groups, no bias, pooling
// geometry and dropout probabilities.
func TestNetSpecOptions(t *testing.T) {
	n, err := NewNet[float32]("conv8k3x1s2x1p1x0d1x2g2nb-maxpool3s2p1-avgpool2-dropout-dropout.25-flatten-fc4nb", []int{2, 9, 9}, newRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	c := n.Body.Modules[0].(*Conv2D[float32])
	want := autograd.ConvParams{Stride: [2]int{2, 1}, Padding: [2]int{1, 0}, Dilation: [2]int{1, 2}, Groups: 2}
	if c.Geometry != want || c.Kernel() != [2]int{3, 1} || c.Bias != nil || c.In() != 2 || c.Out() != 8 {
		t.Errorf("conv: geometry %+v kernel %v bias %v in %d out %d", c.Geometry, c.Kernel(), c.Bias != nil, c.In(), c.Out())
	}
	if p := n.Body.Modules[1].(*MaxPool2D[float32]).Pool; p.Kernel != [2]int{3, 3} || p.Stride != [2]int{2, 2} || p.Padding != [2]int{1, 1} {
		t.Errorf("maxpool3s2p1: %+v", p)
	}
	if p := n.Body.Modules[2].(*AvgPool2D[float32]).Pool; p.Kernel != [2]int{2, 2} || p.Stride != [2]int{} {
		t.Errorf("avgpool2: %+v", p)
	}
	if d1, d2 := n.Body.Modules[3].(*Dropout[float32]), n.Body.Modules[4].(*Dropout[float32]); d1.P != 0.5 || d2.P != 0.25 {
		t.Errorf("dropout probabilities %v and %v, want 0.5 and 0.25", d1.P, d2.P)
	}
	// [2 9 9] -> conv [8 5 9] -> maxpool [8 3 5] -> avgpool [8 1 2] -> 16.
	if l := n.Body.Modules[6].(*Linear[float32]); l.In() != 16 || l.Bias != nil {
		t.Errorf("fc4nb: in %d, bias %v; want 16 and none", l.In(), l.Bias != nil)
	}
}

// TestLoadTorchNetShiftedKeys: a spec that leaves out a module of the
// PyTorch Sequential (here its ReLU) shifts the indices; the error names
// the missing key and the file's key in its place.
func TestLoadTorchNetShiftedKeys(t *testing.T) {
	n, err := NewNet[float64]("conv2k3-relu-flatten-fc3", []int{1, 4, 4}, newRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteStateDict(&buf, n.Params(), nil, nil); err != nil {
		t.Fatal(err)
	}
	_, err = LoadTorchNet[float64](&buf, "conv2k3-flatten-fc3", []int{1, 4, 4})
	for _, w := range []string{`"2.weight" missing`, `the file has "3.bias" instead`, "one per spec token"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %q", err, w)
		}
	}
}

// TestConv2DMultipliers: Alpha and BiasMult scale the product and the
// bias in the forward pass, as in Linear: conv with (alpha, beta) on
// (W, b) equals conv with multipliers 1 on (alpha W, beta b).
func TestConv2DMultipliers(t *testing.T) {
	c, err := NewConv2D[float64](newRNG(1), "", 2, 3, [2]int{3, 3}, autograd.ConvParams{Padding: [2]int{1, 1}}, true)
	if err != nil {
		t.Fatal(err)
	}
	c.Alpha, c.BiasMult = 0.5, 3
	w2, b2 := c.Weight.Value.Clone(), c.Bias.Value.Clone()
	for i := range w2.Data() {
		w2.Data()[i] *= 0.5
	}
	for i := range b2.Data() {
		b2.Data()[i] *= 3
	}
	ref := NewConv2DFrom("", w2, b2, c.Geometry)
	x := tensor.RandN(newRNG(2), 0.0, 1.0, 2, 2, 5, 5)
	tp := autograd.NewTape[float64]()
	got, want := c.Forward(tp, tp.Const(x)).Value(), ref.Forward(tp, tp.Const(x)).Value()
	for i, g := range got.Data() {
		if w := want.Data()[i]; math.Abs(g-w) > 1e-12*(1+math.Abs(w)) {
			t.Fatalf("output[%d] = %v with multipliers, %v with scaled tensors", i, g, w)
		}
	}
	if _, err := NewConv2D[float64](nil, "", 2, 3, [2]int{3, 3}, autograd.ConvParams{}, true); err == nil {
		t.Error("NewConv2D accepted a nil rng")
	}
	if _, err := NewConv2D[float64](newRNG(1), "", 3, 4, [2]int{3, 3}, autograd.ConvParams{Groups: 2}, true); err == nil || !strings.Contains(err.Error(), "groups 2") {
		t.Errorf("NewConv2D with groups 2 and 3 input channels: %v", err)
	}
}
