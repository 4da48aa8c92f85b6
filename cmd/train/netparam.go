package main

import (
	"strings"

	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
)

// netConfig returns the nn.NetConfig of the net spec -arch on examples of
// the given shape under the fit flags that apply to nets, read as for an
// MLP (modelConfig): -param, -init (torch keeps PyTorch's init under sp;
// the other parameterizations draw their own) and the optimizer's kind
// (Adam-like optimizers get the adaptive learning-rate multipliers).
// -act does not apply: a spec names its activations.
func netConfig(cfg fitConfig, shape []int) (nn.NetConfig, error) {
	p, err := nn.ParseParameterization(cfg.Param)
	if err != nil {
		return nn.NetConfig{}, usagef("-param %q: want sp, ntk, mf or mup", cfg.Param)
	}
	init := nn.Init(cfg.Init)
	if cfg.Init == "default" || p != nn.Standard && cfg.Init == "torch" {
		init = nn.InitDefault
	}
	return nn.NetConfig{Spec: cfg.Arch, InputShape: shape, Parameterization: p, Init: init, AdaptiveLR: optim.Adaptive(cfg.Opt)}, nil
}

// hasDropout reports whether a net spec has a dropout layer, whose random
// masks make the training objective a random function.
func hasDropout(spec string) bool { return strings.Contains(spec, "dropout") }
