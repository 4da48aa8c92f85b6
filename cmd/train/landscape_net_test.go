package main

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/landscape"
	"github.com/gradflow/gradflow/nn"
)

// TestLandscapeNet runs the landscape probe on a small CNN under muP
// (-arch a net spec on the digits' 8x8 images): the summary labels the
// study with the spec, PL* (the net's Jacobian) is positive at init, the
// header names the net, and model.safetensors reloads into the net the
// spec describes with nn.NewNetWith and LoadState.
func TestLandscapeNet(t *testing.T) {
	const spec = "conv4k3p1-tanh-maxpool2-flatten-fc10"
	dir := t.TempDir()
	code, out, errs := runCLI(t, "landscape", "-arch", spec, "-param", "mup", "-n", "40", "-steps", "20", "-every", "10",
		"-trace-probes", "2", "-plstar", "5", "-no-figures", "-out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "net "+spec+" on [1 8 8]") || !strings.Contains(out, "PL*:") {
		t.Errorf("output lacks the net or PL*:\n%s", out)
	}
	var sum landscape.StudyResult
	b, err := os.ReadFile(filepath.Join(dir, "landscape.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Arch != spec || sum.PLStar.Initial == nil || !(*sum.PLStar.Initial > 0) || sum.Steps != 20 {
		t.Errorf("summary: arch %q, PL* at init %v, %d steps; want %q, a positive PL*, 20 steps", sum.Arch, sum.PLStar.Initial, sum.Steps, spec)
	}
	n, err := nn.NewNetWith[float32](nn.NetConfig{Spec: spec, InputShape: []int{1, 8, 8}, Parameterization: nn.MuP, WStd: 0.5}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := nn.ParseSafetensors(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.LoadState(st); err != nil {
		t.Errorf("model.safetensors does not load into %s: %v", spec, err)
	}
}

// TestLandscapeNetUsageErrors checks the one-line errors for nets.
func TestLandscapeNetUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-arch", "conv4k3-relu-flatten-fc10", "-act", "relu"}, "-act relu applies to MLPs"},
		{[]string{"-arch", "conv4k3-relu-dropout-flatten-fc10"}, "dropout"},
		{[]string{"-arch", "conv4k3-relu-flatten-fc7"}, "end the spec with fc10"},
		{[]string{"-arch", "conv4k3-relu-conv4k3-relu-flatten-fc10", "-param", "mf"}, "meanfield applies to nets with two weight layers"},
		{[]string{"-arch", "conv4k9-relu-flatten-fc10"}, "kernel 9 larger than the padded input 8"},
	} {
		code, _, errs := runCLI(t, append(append([]string{"landscape"}, c.args...), "-steps", "2", "-out", dir, "-overwrite")...)
		lines := strings.Split(strings.TrimSpace(errs), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line mentioning %q", c.args, code, errs, c.want)
		}
	}
}
