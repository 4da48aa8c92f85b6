package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/nn"
)

// netArch is a small convolutional net for the 8x8 digits with
// BatchNorm (whose running statistics a resume must restore) and a
// residual block.
const netArch = "conv4k3p1-bn-relu-res(conv4k3p1-bn-relu-conv4k3p1-bn)-relu-maxpool2-flatten-fc10"

// TestFitNet: -arch with a net spec trains a CNN on the digits' [1 8 8]
// images and saves an nn.Net that LoadNetFile rebuilds; a run stopped
// after 2 epochs and resumed to 3 ends with the final test metrics of an
// uninterrupted 3-epoch run (so the checkpoint carried the running
// statistics, which the test evaluation uses).
func TestFitNet(t *testing.T) {
	whole, split := t.TempDir(), t.TempDir()
	args := []string{"fit", "-arch", netArch, "-no-figures", "-batch", "64", "-lr", "0.02", "-dtype", "f64"}
	code, out, errs := runCLI(t, append(args, "-out", whole, "-epochs", "3")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "net "+netArch+" on [1 8 8]") {
		t.Errorf("header does not describe the net:\n%s", out)
	}
	net, err := nn.LoadNetFile[float64](filepath.Join(whole, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if net.Spec != netArch || !slices.Equal(net.InputShape, []int{1, 8, 8}) {
		t.Errorf("saved net: spec %q, input shape %v", net.Spec, net.InputShape)
	}
	if code, _, errs := runCLI(t, append(args, "-out", split, "-epochs", "2")...); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	code, again, errs := runCLI(t, "fit", "-resume", split, "-epochs", "3")
	if code != 0 {
		t.Fatalf("resume: exit %d: %s", code, errs)
	}
	want := readMetrics(t, filepath.Join(whole, "metrics.jsonl"))
	got := readMetrics(t, filepath.Join(split, "metrics.jsonl"))
	if len(got) != 3 || len(want) != 3 {
		t.Fatalf("%d and %d records, want 3", len(got), len(want))
	}
	w, g := want[2]["eval"].(map[string]any)["test"], got[2]["eval"].(map[string]any)["test"]
	if !mapsEqual(w.(map[string]any), g.(map[string]any)) {
		t.Errorf("resumed run ends with test metrics %v, the uninterrupted run %v\n%s", g, w, again)
	}
	a, _ := os.ReadFile(filepath.Join(whole, "model.safetensors"))
	b, _ := os.ReadFile(filepath.Join(split, "model.safetensors"))
	if string(a) != string(b) {
		t.Error("the resumed run's model file differs from the uninterrupted run's")
	}
}

func mapsEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestFitNetErrors: a net spec that does not fit the data, an MLP-only
// flag or a parameterization that does not apply to the net, exit with status 2 and one line naming the
// token and shape or the flag.
func TestFitNetErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-arch", "conv6k3-maxpool2-conv16k5-flatten-fc10"}, "conv16k5 on [6 3 3]: kernel 5 larger than the padded input 3"},
		{[]string{"-arch", "conv6k3-flatten-fc7"}, "needs 10 outputs"},
		{[]string{"-arch", "conv6k3-relu-conv6k3-flatten-fc10", "-param", "mf"}, "weight layers"},
		{[]string{"-arch", "conv6k3-flatten-fc10", "-act", "tanh"}, "-act tanh"},
		{[]string{"-arch", "conv6x3"}, `"conv6x3"`},
		{[]string{"-arch", "conv6k3-flatten-fc2", "-data", "synthetic:spirals"}, "conv6k3 on [2]: a convolution takes [C H W] examples"},
	} {
		code, _, errs := runCLI(t, append([]string{"fit", "-out", t.TempDir(), "-epochs", "1"}, c.args...)...)
		if code != 2 || !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line with %q", c.args, code, errs, c.want)
		}
	}
}

// TestFitNetParam: -param applies to nets (nn.NewNetWith): a muP CNN
// trains on digits and its file records the parameterization.
func TestFitNetParam(t *testing.T) {
	dir := t.TempDir()
	code, _, errs := runCLI(t, "fit", "-out", dir, "-epochs", "2", "-opt", "adam", "-lr", "0.01", "-param", "mup",
		"-arch", "conv8k3p1-relu-maxpool2-flatten-fc10")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	net, err := nn.LoadNetFile[float32](filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	// muP's readout (MuReadout) multiplies by 1/fan_in: the flattened
	// 8 x 4 x 4 features.
	var readout *nn.Linear[float32]
	for _, m := range net.Body.Modules {
		if l, ok := m.(*nn.Linear[float32]); ok {
			readout = l
		}
	}
	if readout == nil || readout.Alpha != 1.0/128 {
		t.Fatalf("readout %+v: want a Linear with multiplier 1/128 under muP", readout)
	}
}
