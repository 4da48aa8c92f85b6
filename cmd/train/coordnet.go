package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gradflow/gradflow/internal/progress"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/sweep"
	"github.com/gradflow/gradflow/train"
)

// netDefaults applies the defaults of a net check (-arch other than mlp)
// to the flags not given, and refuses the MLP-only flags given.
func (f *ccFlags) netDefaults(given map[string]bool) error {
	if f.Arch == "mlp" {
		return nil
	}
	for _, name := range []string{"depth", "act", "dim"} {
		if given[name] {
			return usagef("coordcheck: -%s applies to -arch mlp; a net (-arch %s) has the layers of its spec and takes the digits' 8x8 images", name, f.Arch)
		}
	}
	for name, set := range map[string]func(){
		"opt":    func() { f.Opt = "adam" },
		"lr":     func() { f.LR = 0.01 },
		"widths": func() { f.Widths = "8,16,32,64,128" },
		"seeds":  func() { f.Seeds = 3 },
		"n":      func() { f.N = 64 },
	} {
		if !given[name] {
			set()
		}
	}
	return nil
}

// checkNet is check for a net: -arch cnn or a spec template on digits.
func (f *ccFlags) checkNet() (cc sweep.CoordConfig, err error) {
	cc.Net = f.Arch
	if f.Arch == "cnn" {
		cc.Net = sweep.CNNCoordSpec
	}
	if !strings.ContainsFunc(cc.Net, func(r rune) bool { return r >= 'a' && r <= 'z' }) {
		return cc, usagef("coordcheck: -arch %q: want mlp, cnn or a net spec template such as conv{w}k3p1-relu-flatten-fc10", f.Arch)
	}
	if !nn.IsNetSpecTemplate(cc.Net) {
		return cc, usagef("coordcheck: -arch %q has no width placeholder: write {w} where the channels scale with the width, e.g. conv{w}k3p1-relu-flatten-fc10", f.Arch)
	}
	if cc.Parameterizations, err = sweep.ParseParameterizations(f.Param); err != nil {
		return cc, usagef("coordcheck: -param %q: %v", f.Param, err)
	}
	if cc.Widths, err = intList("widths", f.Widths); err != nil {
		return cc, err
	}
	err = checkRules("coordcheck",
		rule{f.Steps < 1, fmt.Sprintf("-steps %d: want at least 1", f.Steps)},
		rule{f.Seeds < 1, fmt.Sprintf("-seeds %d: want at least 1", f.Seeds)},
		rule{!positive(f.LR), fmt.Sprintf("-lr %v: want a positive finite rate", f.LR)},
		rule{f.Opt != "sgd" && f.Opt != "adam", fmt.Sprintf("-opt %q: want sgd or adam", f.Opt)},
		rule{f.N < 1 || f.N > 1797, fmt.Sprintf("-n %d: want 1..1797 digits", f.N)},
	)
	cc.Dataset = sweep.Dataset{Kind: "digits", N: f.N}
	cc.LR, cc.Optimizer, cc.Steps = f.LR, f.Opt, f.Steps
	for i := range f.Seeds {
		cc.Seeds = append(cc.Seeds, uint64(i+1))
	}
	return cc, err
}

// runNetCoordCheck is runCoordCheck for a net: the same outputs, with the
// layers named by their spec tokens, and with -json a summary line last.
func runNetCoordCheck(ctx context.Context, f ccFlags, cc sweep.CoordConfig, mode train.RunMode, stdout, stderr io.Writer) error {
	// The MLP-only settings are left out, so that -config takes the file.
	config, err := configJSON("coordcheck", &f, func(name string) bool { return name == "depth" || name == "act" || name == "dim" })
	if err != nil {
		return err
	}
	rd, err := openOut("coordcheck", f.Out, mode)
	if err != nil {
		return err
	}
	defer rd.Close()
	human := humanOut(f.JSON, stdout, stderr)
	fmt.Fprintf(human, "gradflow coordcheck: net %s on the first %d digits [1 8 8], widths %s, %s lr %g, t = 1..%d, %d seeds\n",
		cc.Net, f.N, f.Widths, f.Opt, f.LR, f.Steps, f.Seeds)
	stop := progress.New(stderr).Busy(fmt.Sprintf("coordcheck: training %d widths x %d parameterizations x %d seeds", len(cc.Widths), len(cc.Parameterizations), f.Seeds))
	res, err := sweep.CoordCheck(ctx, cc)
	stop()
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: coordinate check stopped before it finished", errInterrupted)
	}
	if err != nil {
		return usageError{err}
	}
	if err := rd.Begin(config); err != nil {
		return err
	}
	if err := rd.Stage(func(dir string) error { return res.Save(dir, !f.NoFigures) }); err != nil {
		return err
	}
	if f.JSON {
		if err = res.WriteJSONL(stdout); err == nil {
			err = json.NewEncoder(stdout).Encode(struct {
				Summary netCoordSummary `json:"summary"`
			}{netCoordSummary{Net: cc.Net, Layers: res.Layers, Widths: cc.Widths, Steps: f.Steps, Slopes: res.Slopes()}})
		}
	} else if err = res.WriteTable(stdout); err == nil {
		err = res.WriteSlopes(stdout)
	}
	if err != nil {
		return err
	}
	written := "config.json coordcheck.jsonl"
	if !f.NoFigures {
		written += " coordcheck_<param>.png/svg"
	}
	fmt.Fprintf(human, "outputs in %s: %s\n", f.Out, written)
	return nil
}

// netCoordSummary is the last line of a net check's -json output.
type netCoordSummary struct {
	Net    string             `json:"net"`
	Layers []string           `json:"layers"`
	Widths []int              `json:"widths"`
	Steps  int                `json:"steps"`
	Slopes []sweep.CoordSlope `json:"slopes"`
}
