package nn

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/internal/testutil"
	"github.com/gradflow/gradflow/tensor"
)

func saved[T Float](t testing.TB, m *MLP[T]) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSaveLoadRoundTrip checks that Load(Save(m)) has bit-identical
// parameters, the same configuration, multipliers and LRScales, for every
// parameterization, in float32 and float64.
func TestSaveLoadRoundTrip(t *testing.T) {
	for _, p := range []Parameterization{Standard, NTK, MeanField, MuP} {
		c := MLPConfig{Dims: []int{4, 6, 5, 3}, Activation: GELU, Activations: []Activation{"", Tanh},
			Parameterization: p, WStd: 1.5, BStd: 0.25, AdaptiveLR: p == MuP}
		t.Run(string(p), func(t *testing.T) {
			roundTrip[float32](t, c)
			roundTrip[float64](t, c)
		})
	}
}

func roundTrip[T Float](t *testing.T, c MLPConfig) {
	m, err := NewMLP[T](c, newRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Load[T](bytes.NewReader(saved(t, m)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Params()) != len(m.Params()) {
		t.Fatalf("%d params, want %d", len(got.Params()), len(m.Params()))
	}
	for i, p := range m.Params() {
		q := got.Params()[i]
		if q.Name != p.Name || !tensor.Equal(q.Value, p.Value) || q.LRScale != p.LRScale {
			t.Errorf("param %s: round trip changed name, value or LRScale", p.Name)
		}
	}
	for i, l := range m.Layers {
		if g := got.Layers[i]; g.Alpha != l.Alpha || g.BiasMult != l.BiasMult || g.Act != l.Act {
			t.Errorf("layer %d: multipliers or activation changed", i)
		}
	}
	x := tensor.RandN(newRNG(2), T(0), 1, 3, 4)
	tp := autograd.NewTape[T]()
	if !tensor.Equal(m.Forward(tp, tp.Const(x)).Value(), got.Forward(tp, tp.Const(x)).Value()) {
		t.Error("reloaded model computes a different function")
	}
}

// TestSaveFileLayout checks the file against the safetensors format by
// hand: header length, keys and shapes of torch.nn.Sequential, 8-byte
// alignment of the data.
func TestSaveFileLayout(t *testing.T) {
	m, _ := NewMLP[float32](MLPConfig{Dims: []int{3, 4, 2}}, newRNG(1))
	b := saved(t, m)
	n := binary.LittleEndian.Uint64(b)
	if (8+n)%8 != 0 {
		t.Errorf("data starts at %d, not 8-byte aligned", 8+n)
	}
	h := string(b[8 : 8+n])
	for _, want := range []string{`"0.weight":{"dtype":"F32","shape":[4,3]`, `"0.bias"`, `"2.weight":{"dtype":"F32","shape":[2,4]`,
		`"2.bias"`, `"format":"gradflow.mlp/v1"`, `"dims":"[3,4,2]"`} {
		if !strings.Contains(h, want) {
			t.Errorf("header %s lacks %s", h, want)
		}
	}
	if want := 8 + int(n) + 4*(12+4+8+2); len(b) != want {
		t.Errorf("file of %d bytes, want %d", len(b), want)
	}
}

// TestLoadErrors checks that damaged files give errors that say what is
// wrong.
func TestLoadErrors(t *testing.T) {
	m, _ := NewMLP[float64](MLPConfig{Dims: []int{3, 4, 2}}, newRNG(1))
	good := saved(t, m)
	n := int(binary.LittleEndian.Uint64(good))
	header := string(good[8 : 8+n])
	withHeader := func(h string) []byte {
		for len(h)%8 != 0 {
			h += " "
		}
		b := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
		return append(append(b, h...), good[8+n:]...)
	}
	cases := map[string]struct {
		file []byte
		want string
	}{
		"empty":          {nil, "shorter than"},
		"truncated data": {good[:len(good)-5], "outside"},
		"huge header":    {append(binary.LittleEndian.AppendUint64(nil, 1<<40), good[8:]...), "header length"},
		"not json":       {withHeader("{not json"), "not a JSON object"},
		"bad dtype":      {withHeader(strings.Replace(header, `"F64"`, `"I8"`, 1)), "dtype"},
		"no metadata":    {withHeader(strings.Replace(header, `"__metadata__"`, `"__other__"`, 1)), ""},
		"wrong format":   {withHeader(strings.Replace(header, MLPFormat, "keras", 1)), "format"},
		"bad dims":       {withHeader(strings.Replace(header, `"dims":"[3,4,2]"`, `"dims":"[3,5,2]"`, 1)), `"0.weight" has shape [4 3], want [5 3]`},
		"unknown act":    {withHeader(strings.Replace(header, `"activation":"relu"`, `"activation":"swish"`, 1)), "Activation"},
		"missing tensor": {withHeader(strings.Replace(header, `"2.bias"`, `"9.bias"`, 1)), `"2.bias" missing`},
		"bad w_std":      {withHeader(strings.Replace(header, `"w_std":"1"`, `"w_std":"x"`, 1)), "w_std"},
	}
	for name, c := range cases {
		_, err := Load[float64](bytes.NewReader(c.file))
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not mention %q", name, err, c.want)
		}
	}
}

// FuzzLoad feeds arbitrary bytes to Load: it must return an error or a
// model, never panic, and a model it returns must survive a round trip.
// With reseal, the checksum the input records (if any) is first set to the
// SHA-256 of its tensor data, so that mutated data reaches the parsers
// behind the checksum; without, the checksum check itself is fuzzed.
//
//	go test ./nn -run '^$' -fuzz '^FuzzLoad$' -parallel 1 -fuzztime 1000000x
func FuzzLoad(f *testing.F) {
	m, _ := NewMLP[float32](MLPConfig{Dims: []int{2, 3, 2}, Activation: Tanh}, newRNG(1))
	var buf bytes.Buffer
	m.Save(&buf)
	good := buf.Bytes()
	m64, _ := NewMLP[float64](MLPConfig{Dims: []int{3, 2}, Parameterization: MuP}, newRNG(2))
	for _, reseal := range []bool{false, true} {
		f.Add(good, reseal)
		f.Add(good[:len(good)/2], reseal)
		f.Add(saved(f, m64), reseal)
	}
	f.Add(good[:12], false)
	f.Add([]byte{}, false)
	f.Add(append(binary.LittleEndian.AppendUint64(nil, 2), "{}"...), false)
	// A PyTorch state dict without gradflow's metadata: Load refuses it
	// (LoadTorch reads it; FuzzLoadTorch fuzzes that path).
	f.Add(handSafetensors(nil, refLayer{dyadic(3, 2, 0), []float64{1, 0, -1}}.tensors(0, "F32")...), false)
	f.Fuzz(func(t *testing.T, b []byte, reseal bool) {
		if reseal {
			b = bytes.Clone(b)
			testutil.ResealSafetensors(b, ChecksumKey)
		}
		m, err := Load[float32](bytes.NewReader(b))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := m.Save(&out); err != nil {
			t.Fatal(err)
		}
		m2, err := Load[float32](&out)
		if err != nil {
			t.Fatalf("reloading a loaded model: %v", err)
		}
		for i, p := range m.Params() {
			if !tensor.Equal(p.Value, m2.Params()[i].Value) && !hasNaN(p.Value) {
				t.Fatalf("round trip changed %s", p.Name)
			}
		}
	})
}

func hasNaN[T Float](x *tensor.Tensor[T]) bool {
	for _, v := range x.Data() {
		if v != v {
			return true
		}
	}
	return false
}

// TestLoadNoBiasFloat32: an NTK-parameterized model with b_std 0 has no
// biases; its float32 file must load (the size check once counted biases
// that do not exist and refused it).
func TestLoadNoBiasFloat32(t *testing.T) {
	m, err := NewMLP[float32](MLPConfig{Dims: []int{64, 128, 128, 10}, Parameterization: NTK}, newRNG(5))
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.HasBias() {
		t.Fatal("NTK with b_std 0 should have no biases")
	}
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := Load[float32](&buf)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range m.Params() {
		q := back.Params()[i]
		for j, v := range p.Value.Data() {
			if v != q.Value.Data()[j] {
				t.Fatalf("%s[%d] differs after the round trip", p.Name, j)
			}
		}
	}
}
