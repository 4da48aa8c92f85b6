package nn

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// TorchOptions supplies what a PyTorch state dict cannot record. The
// tensors of torch.nn.Sequential(Linear, act, Linear, ..., Linear) give
// the widths, but the activation modules have no parameters, so they leave
// no trace in model.state_dict(): the caller has to name them.
type TorchOptions struct {
	// Activation is the module after every hidden Linear layer: ReLU for
	// torch.nn.ReLU(), GELU for torch.nn.GELU() and so on (see the
	// Activation constants). It may be empty only for a single Linear
	// layer or when Activations names every hidden layer's module. There
	// is no default on purpose: a guessed activation would load without
	// error and compute a different function.
	Activation Activation
	// Activations optionally names the module after each hidden layer
	// separately, one entry per hidden layer (the number of Linear layers
	// minus one); an empty entry keeps Activation.
	Activations []Activation
}

// LoadTorch reads an MLP from a safetensors file holding the state dict of
// a torch.nn.Sequential of Linear layers with one activation module
// between consecutive ones, as written by
// safetensors.torch.save_file(model.state_dict(), path):
// "0.weight" [out, in], "0.bias" [out], "2.weight", ... The file need not
// carry gradflow's metadata; opt names the activations, which a state
// dict does not record. The model gets the standard parameterization
// (forward multipliers 1, as in torch.nn.Linear), so it computes what the
// PyTorch module computed, and Save writes it back under the same keys.
//
// A file with gradflow's metadata (one written by Save) loads as Load
// loads it, keeping its parameterization; the activations in opt must then
// agree with the metadata's. Tensors stored as F32 or F64 are converted to
// T. Other keys (a BatchNorm's, a prefix such as "model.0.weight"), other
// Sequential layouts (a Dropout between the Linear layers shifts the
// indices), non-2-D weights, biases of the wrong length, a bias on some
// layers but not others and widths that do not chain are errors naming the
// tensor and its shape.
func LoadTorch[T Float](r io.Reader, opt TorchOptions) (*MLP[T], error) {
	s, err := readSafetensors(r)
	if err != nil {
		return nil, err
	}
	return FromTorch[T](s, opt)
}

// LoadTorchFile reads an MLP from the named safetensors file (see
// LoadTorch); errors start with the path.
func LoadTorchFile[T Float](path string, opt TorchOptions) (*MLP[T], error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := LoadTorch[T](f, opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// torchLayer is one Linear layer found in a state dict.
type torchLayer struct {
	index        int    // position in the Sequential
	weight, bias string // keys; bias "" when absent
	wShape       []int
}

// FromTorch rebuilds an MLP from parsed safetensors content holding a
// PyTorch Sequential's state dict (see LoadTorch).
func FromTorch[T Float](s *Safetensors, opt TorchOptions) (*MLP[T], error) {
	if err := opt.check(); err != nil {
		return nil, err
	}
	if s.Metadata["format"] == MLPFormat {
		m, err := FromSafetensors[T](s)
		if err != nil {
			return nil, err
		}
		return m, opt.agrees(m.Config)
	}
	layers, err := torchLayers(s)
	if err != nil {
		return nil, err
	}
	bias := layers[0].bias != ""
	c := MLPConfig{Dims: []int{layers[0].wShape[1]}, NoBias: !bias, Parameterization: Standard}
	for _, l := range layers {
		c.Dims = append(c.Dims, l.wShape[0])
	}
	if c.Activation, c.Activations, err = opt.resolve(layers); err != nil {
		return nil, err
	}
	if c, err = c.withDefaults(); err != nil {
		return nil, fmt.Errorf("nn.LoadTorch: %w", err)
	}
	m := newMLPShell[T](c)
	for _, p := range m.params {
		// torchLayers checked every key and shape against the layers
		// newMLPShell builds, so the tensor exists and fits.
		v, _ := Tensor[T](s, p.Name)
		p.Value.CopyFrom(v)
	}
	return m, nil
}

// torchLayers reads the Linear layers of a Sequential's state dict, in
// index order, checking keys, shapes and layout.
func torchLayers(s *Safetensors) ([]torchLayer, error) {
	byIndex := map[int]*torchLayer{}
	for _, name := range s.Names() {
		idx, kind, ok := parseTorchKey(name)
		if !ok {
			return nil, fmt.Errorf("nn.LoadTorch: tensor %q is not a Linear parameter of a torch.nn.Sequential (want \"<index>.weight\" or \"<index>.bias\")", name)
		}
		l := byIndex[idx]
		if l == nil {
			l = &torchLayer{index: idx}
			byIndex[idx] = l
		}
		if kind == "weight" {
			l.weight = name
			l.wShape = s.entries[name].Shape
		} else {
			l.bias = name
		}
	}
	if len(byIndex) == 0 {
		return nil, fmt.Errorf("nn.LoadTorch: the file holds no tensors")
	}
	layers := make([]torchLayer, 0, len(byIndex))
	for _, l := range byIndex {
		layers = append(layers, *l)
	}
	sort.Slice(layers, func(i, j int) bool { return layers[i].index < layers[j].index })
	for k, l := range layers {
		if l.weight == "" {
			return nil, fmt.Errorf("nn.LoadTorch: tensor %q has no %q: a Linear layer needs a weight", l.bias, strconv.Itoa(l.index)+".weight")
		}
		w := l.wShape
		if len(w) != 2 || w[0] <= 0 || w[1] <= 0 {
			return nil, fmt.Errorf("nn.LoadTorch: tensor %q has shape %v, want a Linear weight [out in] with positive widths", l.weight, w)
		}
		if l.bias != "" {
			if b := s.entries[l.bias].Shape; len(b) != 1 || b[0] != w[0] {
				return nil, fmt.Errorf("nn.LoadTorch: tensor %q has shape %v, want [%d] (the out width of %q %v)", l.bias, b, w[0], l.weight, w)
			}
		}
		if k == 0 {
			if l.index != 0 {
				return nil, fmt.Errorf("nn.LoadTorch: tensor %q: the first Linear layer is at Sequential index %d, want 0 (%s)", l.weight, l.index, torchLayout)
			}
			continue
		}
		prev := layers[k-1]
		if l.index != prev.index+2 {
			return nil, fmt.Errorf("nn.LoadTorch: tensor %q: Linear layer at Sequential index %d follows the one at %d, want %d (%s)", l.weight, l.index, prev.index, prev.index+2, torchLayout)
		}
		if w[1] != prev.wShape[0] {
			return nil, fmt.Errorf("nn.LoadTorch: tensor %q has shape %v: its in width %d differs from the out width %d of %q %v", l.weight, w, w[1], prev.wShape[0], prev.weight, prev.wShape)
		}
		switch first := layers[0]; {
		case first.bias != "" && l.bias == "":
			return nil, fmt.Errorf("nn.LoadTorch: tensor %q missing while %q exists: an MLP has a bias in every layer or in none", strconv.Itoa(l.index)+".bias", first.bias)
		case first.bias == "" && l.bias != "":
			return nil, fmt.Errorf("nn.LoadTorch: tensor %q exists while %q is missing: an MLP has a bias in every layer or in none", l.bias, strconv.Itoa(first.index)+".bias")
		}
	}
	return layers, nil
}

// torchLayout explains the index rule in errors: the indices must be those
// of the Sequential that Save writes, or a model loaded here would not
// load back into the PyTorch module it came from.
const torchLayout = "an MLP is torch.nn.Sequential(Linear, act, Linear, act, ..., Linear) with its Linear layers at indices 0, 2, 4, ...; " +
	"another module between two Linear layers, such as a Dropout, shifts the indices: renumber the keys to load such a file"

// parseTorchKey splits "<index>.weight" or "<index>.bias" with index a
// canonical decimal (no sign, no leading zero): "01.weight" is a key no
// Sequential writes.
func parseTorchKey(name string) (idx int, kind string, ok bool) {
	num, kind, ok := strings.Cut(name, ".")
	if !ok || (kind != "weight" && kind != "bias") || num == "" || len(num) > 9 || (len(num) > 1 && num[0] == '0') {
		return 0, "", false
	}
	for _, r := range num {
		if r < '0' || r > '9' {
			return 0, "", false
		}
	}
	idx, err := strconv.Atoi(num)
	return idx, kind, err == nil
}

// check rejects unknown activation names before anything is read.
func (o TorchOptions) check() error {
	if o.Activation != "" && !o.Activation.Valid() {
		_, err := ParseActivation(string(o.Activation))
		return fmt.Errorf("nn.LoadTorch: TorchOptions.Activation: %w", err)
	}
	for i, a := range o.Activations {
		if a != "" && !a.Valid() {
			_, err := ParseActivation(string(a))
			return fmt.Errorf("nn.LoadTorch: TorchOptions.Activations[%d]: %w", i, err)
		}
	}
	return nil
}

// hidden returns the activation o names after hidden layer l, or "".
func (o TorchOptions) hidden(l int) Activation {
	if l < len(o.Activations) && o.Activations[l] != "" {
		return o.Activations[l]
	}
	return o.Activation
}

// resolve returns the MLPConfig activations for the layers, or an error if
// o leaves a hidden layer's activation unnamed or has the wrong number of
// entries.
func (o TorchOptions) resolve(layers []torchLayer) (Activation, []Activation, error) {
	hidden := len(layers) - 1
	if len(o.Activations) != 0 && len(o.Activations) != hidden {
		return "", nil, fmt.Errorf("nn.LoadTorch: TorchOptions.Activations has %d entries; the file's %d Linear layers (%q ... %q) have %d hidden layers",
			len(o.Activations), len(layers), layers[0].weight, layers[hidden].weight, hidden)
	}
	for l := 0; l < hidden; l++ {
		if o.hidden(l) == "" {
			return "", nil, fmt.Errorf("nn.LoadTorch: TorchOptions.Activation is empty: a state dict does not record the activation module after Linear layer %q; name it (nn.ReLU for torch.nn.ReLU, ...)", layers[l].weight)
		}
	}
	act := o.Activation
	if act == "" && hidden > 0 {
		act = o.hidden(0) // every layer is named in Activations: let Config.Activation describe the first
	}
	return act, append([]Activation(nil), o.Activations...), nil
}

// agrees reports an error if o names, for a hidden layer of c, an
// activation other than the one gradflow's metadata recorded: the caller
// believes the file holds a different model.
func (o TorchOptions) agrees(c MLPConfig) error {
	hidden := len(c.Dims) - 2
	if len(o.Activations) != 0 && len(o.Activations) != hidden {
		return fmt.Errorf("nn.LoadTorch: TorchOptions.Activations has %d entries; the file's metadata describes %d hidden layers (dims %v)", len(o.Activations), hidden, c.Dims)
	}
	for l := 0; l < hidden; l++ {
		if want, got := o.hidden(l), c.LayerActivation(l); want != "" && want != got {
			return fmt.Errorf("nn.LoadTorch: the file's gradflow metadata puts %s after Linear layer %q, TorchOptions says %s", got, strconv.Itoa(2*l)+".weight", want)
		}
	}
	return nil
}
