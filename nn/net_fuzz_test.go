package nn

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/internal/testutil"
	"github.com/gradflow/gradflow/tensor"
)

// FuzzNetSpec feeds arbitrary specs and input shapes to NewNet: it must
// return an error or a net, never panic, and a net it returns must take a
// batch of its input width and give the output shape it reports.
//
//	go test ./nn -run '^$' -fuzz '^FuzzNetSpec$' -parallel 1 -fuzztime 100000x
func FuzzNetSpec(f *testing.F) {
	for _, s := range []string{
		"conv6k5p2-relu-maxpool2-conv16k5-relu-maxpool2-flatten-fc120-relu-fc84-relu-fc10",
		"conv16k3p1-bn-relu-res(conv16k3p1-bn-relu-conv16k3p1-bn)-relu-res(conv32k3s2p1-bn-relu-conv32k3p1-bn,conv32k1s2-bn)-relu-gap-fc10",
		"conv4k3x1s2p1d2g2nb-tanh-avgpool3s1p1-ln-dropout0.25-flatten-fc3nb",
		"fc8-gelu-fc2", "res(", "conv0k3", "maxpool9", "dropout1.5", "gap-gap", "fc-1", "res(fc3,)",
	} {
		f.Add(s, uint8(1), uint8(8), uint8(8))
	}
	f.Add("fc4", uint8(0), uint8(0), uint8(5))
	f.Fuzz(func(t *testing.T, spec string, c, h, w uint8) {
		if len(spec) > 200 || bigNumber.MatchString(spec) {
			return // a long spec or a width of 1000 or more only builds a big net
		}
		shape := []int{int(c%4) + 1, int(h%12) + 1, int(w%12) + 1}
		if h == 0 {
			shape = []int{int(w%16) + 1} // flat rows
		}
		net, err := NewNet[float64](spec, shape, newRNG(1))
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatalf("%q on %v: empty error", spec, shape)
			}
			return
		}
		if NumParams[float64](net) > 1<<20 {
			return // valid but too big to run quickly
		}
		x := tensor.RandN(newRNG(2), 0.0, 1.0, 2, net.InputWidth())
		y, err := Predict(net, x)
		if err != nil {
			t.Fatalf("%q on %v: Predict: %v", spec, shape, err)
		}
		want := append([]int{2}, net.OutputShape()...)
		if !sameInts(y.Shape(), want) {
			t.Fatalf("%q on %v: output shape %v, OutputShape says %v", spec, shape, y.Shape(), want)
		}
	})
}

// FuzzLoadNet feeds arbitrary bytes to LoadNet: an error or a net, never a
// panic, and a net it returns survives a round trip. With reseal the
// recorded checksum is first made to match the data (see FuzzLoad).
//
//	go test ./nn -run '^$' -fuzz '^FuzzLoadNet$' -parallel 1 -fuzztime 100000x
func FuzzLoadNet(f *testing.F) {
	for _, spec := range []string{"conv2k3p1-bn-relu-maxpool2-flatten-fc3", "conv2k3p1-res(conv2k3p1-bn)-gap-fc2"} {
		net, err := NewNet[float32](spec, []int{1, 4, 4}, newRNG(1))
		if err != nil {
			f.Fatal(err)
		}
		var buf bytes.Buffer
		if err := net.Save(&buf); err != nil {
			f.Fatal(err)
		}
		good := buf.Bytes()
		for _, reseal := range []bool{false, true} {
			f.Add(good, reseal)
			f.Add(good[:len(good)/2], reseal)
		}
	}
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, b []byte, reseal bool) {
		if reseal {
			b = bytes.Clone(b)
			testutil.ResealSafetensors(b, ChecksumKey)
		}
		net, err := LoadNet[float32](bytes.NewReader(b))
		if err != nil {
			return
		}
		if NumParams[float32](net) > 1<<20 {
			return
		}
		var out bytes.Buffer
		if err := net.Save(&out); err != nil {
			t.Fatal(err)
		}
		net2, err := LoadNet[float32](&out)
		if err != nil {
			t.Fatalf("reloading a loaded net: %v", err)
		}
		for i, p := range net.Params() {
			if !tensor.Equal(p.Value, net2.Params()[i].Value) && !hasNaN(p.Value) {
				t.Fatalf("round trip changed %s", p.Name)
			}
		}
	})
}

// bigNumber matches a number of four or more digits in a spec.
var bigNumber = regexp.MustCompile(`[0-9]{4}`)

func sameInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
