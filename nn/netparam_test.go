package nn

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/tensor"
)

// paramCNN has every kind of parameter a parameterization treats: an
// input conv, a grouped hidden conv, BatchNorm and a readout, on [3 6 6]:
// conv 0 has fan_in 3*9 = 27 and fan_out 4, conv 2 fan_in 4/2*9 = 18 and
// fan_out 6 (output [6 4 4]), the BatchNorm 6 channels and the readout
// fan_in 96.
const paramCNN = "conv4k3p1-relu-conv6k3g2-bn-relu-flatten-fc10"

var paramCNNShape = []int{3, 6, 6}

// TestNetParamNTKConvEqualsRescaledSP checks neural-tangents' NTK
// parameterization of a CNN: weights drawn N(0, 1) with forward
// multipliers W_std/sqrt(fan_in) (fan_in = in/groups x kernel area) and
// BiasMult b_std compute the function of the standard net (multipliers 1)
// whose weights are those weights times the multipliers, and the gradient
// of a weight is the multiplier times the SP net's gradient (chain rule
// through W_sp = alpha W). The tolerance is rounding of float64 sums of a
// few hundred terms.
func TestNetParamNTKConvEqualsRescaledSP(t *testing.T) {
	const spec = "conv4k3p1-tanh-conv6k3s2g2-relu-flatten-fc5"
	const wStd, bStd = 1.5, 0.3
	ntk, err := NewNetWith[float64](NetConfig{Spec: spec, InputShape: paramCNNShape, Parameterization: NTK, WStd: wStd, BStd: bStd}, newRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	sp, err := NewNet[float64](spec, paramCNNShape, newRNG(2))
	if err != nil {
		t.Fatal(err)
	}
	// conv6k3s2g2 on [4 6 6]: [6 2 2], so the readout has fan_in 24.
	wantAlpha := map[string]float64{"0.": wStd / math.Sqrt(27), "2.": wStd / math.Sqrt(18), "5.": wStd / math.Sqrt(24)}
	layers, _, _ := netParts[float64](ntk.Body, nil, nil, false)
	spLayers, _, _ := netParts[float64](sp.Body, nil, nil, false)
	var sum, sumSq, count float64
	for i, l := range layers {
		prefix := strings.TrimSuffix(l.weight.Name, "weight")
		if *l.alpha != wantAlpha[prefix] || *l.biasMult != bStd {
			t.Errorf("layer %s: Alpha %v, BiasMult %v; want %v, %v", prefix, *l.alpha, *l.biasMult, wantAlpha[prefix], bStd)
		}
		for _, v := range l.weight.Value.Data() {
			sum, sumSq, count = sum+v, sumSq+v*v, count+1
		}
		s := spLayers[i]
		for j, v := range l.weight.Value.Data() {
			s.weight.Value.Data()[j] = *l.alpha * v
		}
		for j, v := range l.bias.Value.Data() {
			s.bias.Value.Data()[j] = *l.biasMult * v
		}
	}
	// 696 N(0, 1) draws: the sample standard deviation is 1 within a few
	// times its standard error 1/sqrt(2*696) = 0.027.
	if std := math.Sqrt(sumSq/count - (sum/count)*(sum/count)); math.Abs(std-1) > 0.12 {
		t.Errorf("NTK weights have standard deviation %.3f over %v draws, want N(0, 1)", std, count)
	}
	x := tensor.RandN(newRNG(3), 0.0, 1.0, 5, 108)
	run := func(n *Net[float64]) (*tensor.Tensor[float64], []*tensor.Tensor[float64]) {
		ZeroGrad[float64](n)
		tp := autograd.NewTape[float64]()
		y := n.Forward(tp, tp.Const(x))
		tp.Backward(autograd.Sum(autograd.Mul(y, y)))
		var gs []*tensor.Tensor[float64]
		for _, p := range n.Params() {
			gs = append(gs, p.Grad.Clone())
		}
		return y.Value().Clone(), gs
	}
	yN, gN := run(ntk)
	yS, gS := run(sp)
	for i, v := range yN.Data() {
		if d := math.Abs(v - yS.Data()[i]); d > 1e-12*(1+math.Abs(v)) {
			t.Fatalf("output %d: NTK net %v, rescaled SP net %v", i, v, yS.Data()[i])
		}
	}
	for i, p := range ntk.Params() {
		mult := *layers[i/2].alpha
		if i%2 == 1 {
			mult = *layers[i/2].biasMult
		}
		for j, g := range gN[i].Data() {
			if want := mult * gS[i].Data()[j]; math.Abs(g-want) > 1e-10*(1+math.Abs(want)) {
				t.Fatalf("%s gradient %d: NTK %v, multiplier x SP %v", p.Name, j, g, want)
			}
		}
	}
}

// TestNetParamLRScalesTable checks the learning-rate multipliers and
// forward multipliers of paramCNN (and of a two-layer CNN for mean field)
// under every parameterization, SGD and Adam, against a table worked out
// by hand from the package documentation: muP input layer eta*fan_out
// under SGD, hidden biases and BatchNorm affine (vector-like) eta*width
// under SGD, hidden weights eta/fan_in under Adam, readout eta*fan_in
// under SGD with multiplier 1/fan_in.
func TestNetParamLRScalesTable(t *testing.T) {
	ones := map[string]float64{"0.weight": 1, "0.bias": 1, "2.weight": 1, "2.bias": 1, "3.weight": 1, "3.bias": 1, "6.weight": 1, "6.bias": 1}
	ntkAlpha := []float64{1 / math.Sqrt(27), 1 / math.Sqrt(18), 1 / math.Sqrt(96)}
	cases := []struct {
		spec     string
		p        Parameterization
		adaptive bool
		lr       map[string]float64
		alpha    []float64
	}{
		{paramCNN, Standard, false, ones, []float64{1, 1, 1}},
		{paramCNN, Standard, true, ones, []float64{1, 1, 1}},
		{paramCNN, NTK, false, ones, ntkAlpha},
		{paramCNN, NTK, true, ones, ntkAlpha},
		{paramCNN, MuP, false, map[string]float64{"0.weight": 4, "0.bias": 4, "2.weight": 1, "2.bias": 6, "3.weight": 6, "3.bias": 6, "6.weight": 96, "6.bias": 1}, []float64{1, 1, 1.0 / 96}},
		{paramCNN, MuP, true, map[string]float64{"0.weight": 1, "0.bias": 1, "2.weight": 1.0 / 18, "2.bias": 1, "3.weight": 1, "3.bias": 1, "6.weight": 1, "6.bias": 1}, []float64{1, 1, 1.0 / 96}},
		// conv4k3p1 keeps 6x6: the readout has fan_in 4*36 = 144.
		{"conv4k3p1-relu-flatten-fc10", MeanField, false, map[string]float64{"0.weight": 4, "0.bias": 4, "3.weight": 144, "3.bias": 1}, []float64{1 / math.Sqrt(27), 1.0 / 144}},
		{"conv4k3p1-relu-flatten-fc10", MeanField, true, map[string]float64{"0.weight": 1, "0.bias": 1, "3.weight": 1, "3.bias": 1}, []float64{1 / math.Sqrt(27), 1.0 / 144}},
	}
	for _, c := range cases {
		cfg := NetConfig{Spec: c.spec, InputShape: paramCNNShape, Parameterization: c.p, BStd: 0.5, AdaptiveLR: c.adaptive}
		name := fmt.Sprintf("%s adaptive=%v", c.p, c.adaptive)
		n, err := NewNetWith[float64](cfg, newRNG(1))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(n.Params()) != len(c.lr) {
			t.Errorf("%s: %d parameters, the table has %d", name, len(n.Params()), len(c.lr))
		}
		byName, err := cfg.LRScales()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range n.Params() {
			want, ok := c.lr[p.Name]
			if !ok || p.LRScale != want || byName[p.Name] != want {
				t.Errorf("%s: %s LRScale %v (LRScales %v), want %v", name, p.Name, p.LRScale, byName[p.Name], want)
			}
		}
		ss, err := cfg.Scalings()
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range ss {
			if math.Abs(s.Alpha-c.alpha[i]) > 1e-15 {
				t.Errorf("%s: layer %s (%s) Alpha %v, want %v", name, s.Prefix, s.Role, s.Alpha, c.alpha[i])
			}
		}
		if roles := ss[0].Role + "," + ss[len(ss)-1].Role; roles != "input,output" {
			t.Errorf("%s: roles of the first and last weight layers %s, want input,output", name, roles)
		}
	}
}

// TestNetParamMeanFieldOnlyTwoLayers checks that mean field is refused,
// with a message saying where it applies and what to use, for a net with
// three weight layers and a normalization layer.
func TestNetParamMeanFieldOnlyTwoLayers(t *testing.T) {
	_, err := NewNetWith[float64](NetConfig{Spec: paramCNN, InputShape: paramCNNShape, Parameterization: MeanField}, newRNG(1))
	if err == nil {
		t.Fatal("mean field on a three-weight-layer CNN: no error")
	}
	for _, want := range []string{"meanfield", "two weight layers", "3 weight layers", "1 normalization layers", "use mup"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// TestNetParamTorchInitIsNewNet checks that the standard parameterization
// with PyTorch's init is NewNet bit for bit (same draws, multipliers 1,
// LRScale 1), and that the parameterization's own init redraws the
// weights with standard deviation WStd/sqrt(fan_in).
func TestNetParamTorchInitIsNewNet(t *testing.T) {
	a, err := NewNetWith[float64](NetConfig{Spec: paramCNN, InputShape: paramCNNShape, Init: InitTorch}, newRNG(4))
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewNet[float64](paramCNN, paramCNNShape, newRNG(4))
	if err != nil {
		t.Fatal(err)
	}
	if da, db := netDigest(a), netDigest(b); da != db {
		t.Errorf("NewNetWith(standard, torch) digest %s, NewNet %s", da, db)
	}
	const wStd = 2.0
	c, err := NewNetWith[float64](NetConfig{Spec: paramCNN, InputShape: paramCNNShape, WStd: wStd}, newRNG(4))
	if err != nil {
		t.Fatal(err)
	}
	// 4*27 = 108 draws of N(0, 4/27): the sample std within 25% (about 5
	// standard errors of 1/sqrt(2*108) = 0.068).
	w := c.Params()[0].Value.Data()
	var ss float64
	for _, v := range w {
		ss += v * v
	}
	if got, want := math.Sqrt(ss/float64(len(w))), wStd/math.Sqrt(27); math.Abs(got/want-1) > 0.25 {
		t.Errorf("SP default init: conv 0 weight std %.4f, want %.4f", got, want)
	}
}

// TestNetParamZeroReadoutAndNTKNoBias checks ZeroReadout (the readout's
// weight and bias are 0, the other layers are not) and NTK with BStd 0
// (biases 0 with multiplier 0: no bias, as neural-tangents).
func TestNetParamZeroReadoutAndNTKNoBias(t *testing.T) {
	for _, init := range []Init{InitDefault, InitTorch} {
		n, err := NewNetWith[float64](NetConfig{Spec: paramCNN, InputShape: paramCNNShape, Parameterization: MuP, BStd: 1, ZeroReadout: true, Init: init}, newRNG(5))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range n.Params() {
			zero := true
			for _, v := range p.Value.Data() {
				zero = zero && v == 0
			}
			readout := strings.HasPrefix(p.Name, "6.")
			if p.Name != "3.bias" && zero != readout {
				t.Errorf("init %q: %s all zero = %v, want %v", init, p.Name, zero, readout)
			}
		}
	}
	n, err := NewNetWith[float64](NetConfig{Spec: paramCNN, InputShape: paramCNNShape, Parameterization: NTK}, newRNG(5))
	if err != nil {
		t.Fatal(err)
	}
	layers, _, _ := netParts[float64](n.Body, nil, nil, false)
	for _, l := range layers {
		for _, v := range l.bias.Value.Data() {
			if v != 0 || *l.biasMult != 0 {
				t.Fatalf("NTK with BStd 0: %s = %v with BiasMult %v, want 0 and 0", l.bias.Name, v, *l.biasMult)
			}
		}
	}
}

// TestNetParamMatchesMLPScalings checks that a net of fc layers gets the
// MLP's constants layer by layer under every parameterization, SGD and
// Adam: the two share one table.
func TestNetParamMatchesMLPScalings(t *testing.T) {
	for _, p := range []Parameterization{Standard, NTK, MeanField, MuP} {
		for _, adaptive := range []bool{false, true} {
			spec, dims := "fc16-relu-fc12-relu-fc3", []int{5, 16, 12, 3}
			if p == MeanField {
				spec, dims = "fc16-relu-fc3", []int{5, 16, 3}
			}
			mc := MLPConfig{Dims: dims, Parameterization: p, WStd: 1.3, BStd: 0.4, AdaptiveLR: adaptive}
			ss, err := NetConfig{Spec: spec, InputShape: []int{5}, Parameterization: p, WStd: 1.3, BStd: 0.4, AdaptiveLR: adaptive}.Scalings()
			if err != nil {
				t.Fatal(err)
			}
			for l, s := range ss {
				m := scalings(mc, l)
				got := [6]float64{s.WeightStd, s.BiasStd, s.Alpha, s.BiasMult, s.LRWeight, s.LRBias}
				want := [6]float64{m.wStd, m.bStd, m.alpha, m.biasMult, m.lrW, m.lrB}
				if got != want || s.Role != m.role {
					t.Errorf("%s adaptive=%v layer %d: net %v %s, MLP %v %s", p, adaptive, l, got, s.Role, want, m.role)
				}
			}
		}
	}
}

// TestMLPScalingsUnchanged pins the digest of the MLPs (weights, biases,
// multipliers and learning-rate scales) of every parameterization, SGD and
// Adam, one to three layers, as computed before the scaling table was
// shared with nets (commit 9ddcef1): the MLP path is bit for bit the same.
func TestMLPScalingsUnchanged(t *testing.T) {
	h := sha256.New()
	put := func(v float64) { h.Write(binary.LittleEndian.AppendUint64(nil, math.Float64bits(v))) }
	for _, p := range []Parameterization{Standard, NTK, MeanField, MuP} {
		for _, adaptive := range []bool{false, true} {
			for _, dims := range [][]int{{3, 2}, {5, 7}, {3, 8, 2}, {6, 16, 12, 3}} {
				m, err := NewMLP[float64](MLPConfig{Dims: dims, Parameterization: p, WStd: 1.3, BStd: 0.4, AdaptiveLR: adaptive}, newRNG(3))
				if err != nil {
					t.Fatal(err)
				}
				for _, l := range m.Layers {
					put(l.Alpha)
					put(l.BiasMult)
				}
				for _, q := range m.Params() {
					put(q.LRScale)
					for _, v := range q.Value.Data() {
						put(v)
					}
				}
			}
		}
	}
	const want = "d0060f30e780be52b75fd81a2a6777ef1ac42f91c752959c615e4a834a42e3ac"
	if got := fmt.Sprintf("%x", h.Sum(nil)); got != want {
		t.Errorf("MLP digest %s, want %s", got, want)
	}
}

// netDigest hashes a net's parameter values, LRScales and multipliers.
func netDigest(n *Net[float64]) string {
	h := sha256.New()
	put := func(v float64) { h.Write(binary.LittleEndian.AppendUint64(nil, math.Float64bits(v))) }
	for _, p := range n.Params() {
		put(p.LRScale)
		for _, v := range p.Value.Data() {
			put(v)
		}
	}
	layers, _, _ := netParts[float64](n.Body, nil, nil, false)
	for _, l := range layers {
		put(*l.alpha)
		put(*l.biasMult)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// TestNetSpecWidth checks the width placeholders {w} and {Kw} and that a
// malformed placeholder is an error naming it.
func TestNetSpecWidth(t *testing.T) {
	got, err := NetSpecWidth("conv{w}k3p1-relu-res(conv{2w}k3s2p1,conv{2w}k1s2)-gap-fc10", 8)
	if want := "conv8k3p1-relu-res(conv16k3s2p1,conv16k1s2)-gap-fc10"; err != nil || got != want {
		t.Errorf("NetSpecWidth = %q, %v; want %q", got, err, want)
	}
	if got, err := NetSpecWidth("fc10", 3); err != nil || got != "fc10" {
		t.Errorf("no placeholder: %q, %v", got, err)
	}
	for _, bad := range []string{"conv{x}k3", "conv{0w}k3", "conv{wk3", "conv}k3", "conv{-2w}k3"} {
		if _, err := NetSpecWidth(bad, 4); err == nil || !strings.Contains(err.Error(), "placeholder") && !strings.Contains(err.Error(), "unmatched") {
			t.Errorf("NetSpecWidth(%q): error %v, want one about the placeholder", bad, err)
		}
	}
	if _, err := NetSpecWidth("conv{w}k3", 0); err == nil {
		t.Error("width 0: no error")
	}
}

// TestNetParamSaveLoad checks that a parameterized net survives Save and
// LoadNet: the metadata records the parameterization, and the reloaded
// net computes the same outputs bit for bit (its multipliers are rebuilt)
// with the same learning-rate scales; the standard parameterization with
// PyTorch's init writes NewNet's file byte for byte.
func TestNetParamSaveLoad(t *testing.T) {
	for _, p := range []Parameterization{NTK, MuP} {
		cfg := NetConfig{Spec: paramCNN, InputShape: paramCNNShape, Parameterization: p, WStd: 1.5, BStd: 0.5, AdaptiveLR: true}
		a, err := NewNetWith[float64](cfg, newRNG(6))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := a.Save(&buf); err != nil {
			t.Fatal(err)
		}
		b, err := LoadNet[float64](bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if da, db := netDigest(a), netDigest(b); da != db {
			t.Errorf("%s: reloaded net digest %s, saved %s", p, db, da)
		}
		a.SetTraining(false)
		b.SetTraining(false)
		x := tensor.RandN(newRNG(7), 0.0, 1.0, 3, 108)
		ya, yb := forwardValues(a, x), forwardValues(b, x)
		for i := range ya {
			if ya[i] != yb[i] {
				t.Fatalf("%s: output %d: saved net %v, reloaded %v", p, i, ya[i], yb[i])
			}
		}
	}
	n, err := NewNet[float64](paramCNN, paramCNNShape, newRNG(6))
	if err != nil {
		t.Fatal(err)
	}
	sp, err := NewNetWith[float64](NetConfig{Spec: paramCNN, InputShape: paramCNNShape, Init: InitTorch}, newRNG(6))
	if err != nil {
		t.Fatal(err)
	}
	var fa, fb bytes.Buffer
	if err := n.Save(&fa); err != nil {
		t.Fatal(err)
	}
	if err := sp.Save(&fb); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fa.Bytes(), fb.Bytes()) {
		t.Error("the file of NewNetWith(standard, torch) differs from NewNet's")
	}
}

func forwardValues(n *Net[float64], x *tensor.Tensor[float64]) []float64 {
	tp := autograd.NewTape[float64]()
	return slices.Clone(n.Forward(tp, tp.Const(x)).Value().Data())
}
