package sweep

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/ntk"
)

// NewNetModel builds the net of run spec for a sweep with a net spec
// (Config.Net): the template at the run's width (nn.NetSpecWidth) on
// examples of the given shape, under the run's parameterization
// (nn.NewNetWith, with Config.WStd and BStd, the Adam multipliers for
// Adam), initialized from PCG(seed, width) as NewModel's MLPs. It also
// returns the net's configuration.
func NewNetModel(c Config, spec RunSpec, shape []int) (*nn.Net[float64], nn.NetConfig, error) {
	s, err := nn.NetSpecWidth(c.Net, spec.Width)
	if err != nil {
		return nil, nn.NetConfig{}, err
	}
	nc := nn.NetConfig{Spec: s, InputShape: shape, Parameterization: spec.Parameterization, WStd: c.WStd, BStd: c.BStd,
		AdaptiveLR: spec.Optimizer == "adam"}
	n, err := nn.NewNetWith[float64](nc, rand.New(rand.NewPCG(spec.Seed, uint64(spec.Width))))
	if err != nil {
		return nil, nc, configErrorf("sweep config: field \"net\": width %d: %v", spec.Width, err)
	}
	return n, nc, nil
}

// runModel is the model of a run with what the measurements need beyond
// nn.Module: the outputs of its layers, the displacement of its first
// layer's neurons and the weights of its learning-rate-weighted kernel.
type runModel struct {
	nn.Module[float64]
	// forwardLayers appends the output of every layer to dst[:0], the
	// network's output last.
	forwardLayers func(dst []*autograd.Var[float64], t *autograd.Tape[float64], x *autograd.Var[float64]) []*autograd.Var[float64]
	// names labels the layers of forwardLayers (nil for an MLP).
	names []string
	// weights are ntk.LRWeights' kernel weights: the SGD multipliers.
	weights func(string) float64
}

// buildModel builds the model of run spec on ds: NewModel's MLP, or
// NewNetModel's net when c has a net spec.
func buildModel(c Config, spec RunSpec, ds *data.Dataset[float64]) (*runModel, error) {
	if c.Net == "" {
		m, err := NewModel(c, spec, ds.Dim(), outputs(ds))
		if err != nil {
			return nil, err
		}
		return &runModel{Module: m, forwardLayers: m.ForwardLayers, weights: ntk.LRWeights[float64](m)}, nil
	}
	n, nc, err := NewNetModel(c, spec, ds.ExampleShape())
	if err != nil {
		return nil, err
	}
	if out := n.OutputShape(); len(out) != 1 || out[0] != outputs(ds) {
		return nil, configErrorf("sweep config: field \"net\": %s gives outputs of shape %v, the dataset needs %d (end the spec with fc%d)", nc.Spec, out, outputs(ds), outputs(ds))
	}
	// The kernel's weights are the SGD multipliers, also for a net built
	// for Adam (see ntk.LRWeights for why).
	sgd := nc
	sgd.AdaptiveLR = false
	lr, err := sgd.LRScales()
	if err != nil {
		return nil, err
	}
	rm := &runModel{Module: n, names: netLayerNames(n, c.Net), weights: func(name string) float64 {
		if v, ok := lr[name]; ok {
			return v
		}
		return 1
	}}
	rm.forwardLayers = func(dst []*autograd.Var[float64], t *autograd.Tape[float64], x *autograd.Var[float64]) []*autograd.Var[float64] {
		return netForwardLayers(dst, n, t, x)
	}
	return rm, nil
}

// netForwardLayers is Net.Forward that appends to dst[:0] the output of
// every top-level module with parameters (a conv or fc layer after the
// ReLU it fuses, a normalization layer, a residual block) and, if the last
// module has none, the net's output: the coordinates a coordinate check
// of a net watches, one per layer token of its spec as the mup library's
// forward hooks record them. Normalization layers in training mode would
// update their running statistics; the buffers are restored, so that
// measuring does not change the model.
func netForwardLayers(dst []*autograd.Var[float64], n *nn.Net[float64], t *autograd.Tape[float64], x *autograd.Var[float64]) []*autograd.Var[float64] {
	dst = dst[:0]
	saved := saveBuffers(n)
	defer restoreBuffers(n, saved)
	if len(n.InputShape) > 1 && x.Value().NDim() == 2 {
		x = t.Const(x.Value().Reshape(append([]int{x.Value().Dim(0)}, n.InputShape...)...))
	}
	mods := n.Body.Modules
	for i, m := range mods {
		x = m.Forward(t, x)
		if len(m.Params()) > 0 || i == len(mods)-1 {
			dst = append(dst, x)
		}
	}
	return dst
}

// netLayerNames labels netForwardLayers' layers with their index and
// spec token, e.g. "0 conv16k3p1"; the output, when the last token has no
// parameters, is "<i> <token> (output)".
func netLayerNames(n *nn.Net[float64], spec string) []string {
	toks := splitSpec(spec)
	mods := n.Body.Modules
	var names []string
	for i, m := range mods {
		if len(m.Params()) > 0 || i == len(mods)-1 {
			tok := "?"
			if i < len(toks) {
				tok = toks[i]
			}
			names = append(names, strconv.Itoa(i)+" "+tok)
		}
	}
	return names
}

// splitSpec splits a net spec into its top-level layer tokens (the '-'
// outside parentheses), one per module of the net's body.
func splitSpec(spec string) []string {
	var toks []string
	depth, start := 0, 0
	for i := 0; i < len(spec); i++ {
		switch spec[i] {
		case '(':
			depth++
		case ')':
			depth--
		case '-':
			if depth == 0 {
				toks = append(toks, spec[start:i])
				start = i + 1
			}
		}
	}
	return append(toks, spec[start:])
}

func saveBuffers(n *nn.Net[float64]) [][]float64 {
	var out [][]float64
	for _, b := range n.Buffers() {
		out = append(out, append([]float64(nil), b.Value.Data()...))
	}
	return out
}

func restoreBuffers(n *nn.Net[float64], saved [][]float64) {
	for i, b := range n.Buffers() {
		copy(b.Value.Data(), saved[i])
	}
}

// displacement is the mean over the first weight layer's neurons i (its
// output units or channels) of ||(W0[i], b0[i], W1[:, i])(t) - (...)(0)||:
// the incoming weights and bias, and the outgoing weights of the next
// weight layer when it reads those channels directly (an fc layer, after
// flatten or gap for a conv, or a conv without groups); otherwise the
// incoming part alone. params are the model's parameters in order and
// theta0 their initial values.
func displacement(params []*nn.Param[float64], theta0 [][]float64) float64 {
	w0, b0, w1 := -1, -1, -1
	for i, p := range params {
		switch {
		case p.Value.NDim() < 2:
			if w0 >= 0 && b0 < 0 && w1 < 0 && p.Name == strings.TrimSuffix(params[w0].Name, "weight")+"bias" {
				b0 = i
			}
		case w0 < 0:
			w0 = i
		case w1 < 0:
			w1 = i
		}
	}
	if w0 < 0 {
		return 0
	}
	n := params[w0].Value.Dim(0)
	in := params[w0].Value.Len() / n
	sq := make([]float64, n)
	for i := range n {
		for j := range in {
			d := params[w0].Value.Data()[i*in+j] - theta0[w0][i*in+j]
			sq[i] += d * d
		}
		if b0 >= 0 {
			d := params[b0].Value.Data()[i] - theta0[b0][i]
			sq[i] += d * d
		}
	}
	if w1 >= 0 {
		// W1 [out, cols, ...]: neuron i owns the block of cols/n columns
		// (times the kernel) at i, if the columns split evenly.
		w := params[w1].Value
		out, rest := w.Dim(0), w.Len()/w.Dim(0)
		if w.Dim(1)%n == 0 {
			per := rest / n
			for o := range out {
				for i := range n {
					for k := range per {
						j := o*rest + i*per + k
						d := w.Data()[j] - theta0[w1][j]
						sq[i] += d * d
					}
				}
			}
		}
	}
	var total float64
	for _, s := range sq {
		total += math.Sqrt(s)
	}
	return total / float64(n)
}

// checkNet checks the net spec template of c at every width (the
// placeholders only: the layers are checked when built on the data).
func checkNet(c Config) error {
	for _, w := range c.Widths {
		if _, err := nn.NetSpecWidth(c.Net, w); err != nil {
			return fmt.Errorf("%v", strings.TrimPrefix(err.Error(), "nn.NetSpecWidth: "))
		}
	}
	return nil
}
