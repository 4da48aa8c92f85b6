package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ntk -arch <net spec>: JSON lines (kernels, posteriors, widths, the
// summary last), cnn_ntk.json, convergence.json and the figures; the
// Monte Carlo kernels are closer to the analytic ones than one network's,
// and every posterior classifies the digits far above chance.
func TestNTKNetStudy(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, "ntk", "-arch", "conv{w}k3p1-res(relu-conv{w}k3p1)-relu-flatten-fc10", "-width", "8",
		"-n", "40", "-n-test", "40", "-mc-seeds", "3", "-widths", "4,8,16", "-wstd", "1.4", "-bstd", "0.1", "-json", "-out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	kinds := map[string]int{}
	for i, l := range lines {
		var v struct {
			Kind string  `json:"kind"`
			Acc  float64 `json:"test_accuracy"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i, err, l)
		}
		kinds[v.Kind]++
		if v.Kind == "posterior" && v.Acc < 0.6 {
			t.Errorf("posterior line %s: accuracy below 0.6 (chance 0.1)", l)
		}
		if (v.Kind == "summary") != (i == len(lines)-1) {
			t.Errorf("line %d has kind %q; the summary must be last and only last", i, v.Kind)
		}
	}
	if kinds["kernel"] != 2 || kinds["posterior"] != 6 || kinds["width"] != 3 || kinds["summary"] != 1 {
		t.Errorf("JSON lines by kind %v, want 2 kernel, 6 posterior, 3 width, 1 summary", kinds)
	}
	var sum struct {
		Spec     string `json:"spec"`
		Analytic bool   `json:"analytic"`
		Kernels  []struct {
			Name   string   `json:"name"`
			NTKErr *float64 `json:"ntk_rel_err"`
		} `json:"kernels"`
		Convergence struct {
			Points []json.RawMessage `json:"points"`
		} `json:"convergence"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Spec != "conv8k3p1-res(relu-conv8k3p1)-relu-flatten-fc10" || !sum.Analytic || len(sum.Kernels) != 2 || len(sum.Convergence.Points) != 3 {
		t.Fatalf("summary: spec %q, analytic %v, %d kernels, %d widths", sum.Spec, sum.Analytic, len(sum.Kernels), len(sum.Convergence.Points))
	}
	if one, mc := *sum.Kernels[0].NTKErr, *sum.Kernels[1].NTKErr; !(mc < one) {
		t.Errorf("Monte Carlo NTK error %.3f is not below one network's %.3f", mc, one)
	}
	for _, f := range []string{"config.json", "cnn_ntk.json", "convergence.json", "cnn_ntk.png", "convergence.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing output: %v", err)
		}
	}
	if !strings.Contains(errs, "relative Frobenius distance from the analytic (ConvArch) kernels") || !strings.Contains(errs, "slope NTK Monte Carlo") {
		t.Errorf("summary on stderr lacks the kernel table or the slopes:\n%s", errs)
	}
	cfg, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if !strings.Contains(string(cfg), `"mc_seeds": 3`) {
		t.Errorf("config.json lacks mc_seeds:\n%s", cfg)
	}
}

// A net with max pooling has no analytic kernel: the study says which
// layer, and still reports the finite-width kernels and posteriors.
func TestNTKNetNoAnalytic(t *testing.T) {
	dir := t.TempDir()
	code, _, errs := runCLI(t, "ntk", "-arch", "conv4k3p1-relu-maxpool2-flatten-fc10", "-n", "20", "-n-test", "20", "-mc-seeds", "0", "-no-figures", "-out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "cnn_ntk.json"))
	if err != nil {
		t.Fatal(err)
	}
	if s := string(raw); !strings.Contains(s, `"analytic": false`) || !strings.Contains(s, `layer 2 \"maxpool2\"`) || !strings.Contains(s, `"ntk_rel_err": null`) {
		t.Errorf("cnn_ntk.json does not say which layer has no analytic kernel:\n%s", s)
	}
}

// Settings the net study does not take, and nets that do not fit the
// data, are one-line usage errors; net-only flags on an MLP are too.
func TestNTKNetUsageErrors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	net := "conv4k3p1-relu-flatten-fc10"
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-arch", net, "-full"}, "-full does not apply to a net spec"},
		{[]string{"-arch", net, "-act", "tanh"}, "names its activations"},
		{[]string{"-arch", net, "-param", "sp"}, "NTK parameterization"},
		{[]string{"-arch", net, "-mc-seeds", "1"}, "-mc-seeds 1"},
		{[]string{"-arch", net, "-widths", "4,8,16"}, "needs {w}"},
		{[]string{"-arch", "conv{w}k3p1-relu-flatten-fc10", "-widths", "4,8"}, "at least 3 widths"},
		{[]string{"-arch", "conv{w}k3p1-relu-flatten-fc10", "-width", "0"}, "-width 0"},
		{[]string{"-arch", "conv4k3p1-relu-flatten-fc3"}, "end the spec with fc10"},
		{[]string{"-arch", "conv4k9-relu-flatten-fc10"}, "conv4k9"},
		{[]string{"-arch", net, "-data", "synthetic:linear"}, "use images with labels"},
		{[]string{"-mc-seeds", "4"}, "-mc-seeds applies to a net spec"},
	}
	for _, c := range cases {
		args := append([]string{"ntk", "-out", out, "-no-figures"}, c.args...)
		code, _, errs := runCLI(t, args...)
		lines := strings.Split(strings.TrimSpace(errs), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line mentioning %q", c.args, code, errs, c.want)
		}
	}
}
