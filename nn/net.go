package nn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"

	"github.com/gradflow/gradflow/autograd"
)

// NetFormat is the value of the "format" metadata key of Net files.
const NetFormat = "gradflow.net/v1"

// Net is a network described by a spec string: a Sequential of layers
// (Body) together with its spec and the shape of one input example. It
// takes batches as rows x [n, prod(InputShape)], the layout of every
// dataset and tool of gradflow, and reshapes them to [n, InputShape...]
// (e.g. [n, 1, 28, 28], NCHW) before the first layer, so a convolutional
// net trains, evaluates and differentiates like an MLP.
//
// # Spec grammar
//
// A spec is layers joined by '-'; each layer is one module of Body and
// takes one Sequential index, as in torch.nn.Sequential (activations,
// pools and flatten count too), so parameter and buffer names are
// PyTorch's state-dict keys "0.weight", "1.running_mean", ...:
//
//	conv<C>k<K>[s<S>][p<P>][d<D>][g<G>][nb]  torch.nn.Conv2d(in, C, K, stride S, padding P, dilation D, groups G);
//	                                         nb: no bias; K, S, P, D may be HxW, e.g. k3x1
//	fc<N>[nb]                                torch.nn.Linear(in, N) on flat examples
//	relu, tanh, gelu, silu, sigmoid, ...     an activation module (nn.Activation names)
//	maxpool<K>[s<S>][p<P>]                   torch.nn.MaxPool2d(K, S, P); S defaults to K
//	avgpool<K>[s<S>][p<P>]                   torch.nn.AvgPool2d(K, S, P)
//	gap                                      global average pool, [C H W] -> [C] (one module; write
//	                                         gap-flatten for torch's AdaptiveAvgPool2d(1), Flatten())
//	flatten                                  torch.nn.Flatten()
//	bn                                       torch.nn.BatchNorm1d / BatchNorm2d by the input's rank
//	ln                                       torch.nn.LayerNorm(shape of one example)
//	dropout[<p>]                             torch.nn.Dropout(p), p defaults to 0.5
//	res(<spec>[,<spec>])                     residual block body + shortcut (identity when absent);
//	                                         parameters "<i>.body.<j>.weight", "<i>.shortcut.<j>.weight"
//
// Channels and widths of the inputs follow from the input shape. For
// example LeNet-5 on MNIST, InputShape [1 28 28]:
//
//	conv6k5p2-relu-maxpool2-conv16k5-relu-maxpool2-flatten-fc120-relu-fc84-relu-fc10
//
// and a small ResNet-style net on 8x8 digits:
//
//	conv16k3p1-bn-relu-res(conv16k3p1-bn-relu-conv16k3p1-bn)-relu-res(conv32k3s2p1-bn-relu-conv32k3p1-bn,conv32k1s2-bn)-relu-gap-fc10
//
// A ReLU right after a conv or fc layer is applied by that layer's op (its
// index holds an identity), which changes nothing in the function.
type Net[T Float] struct {
	Spec       string
	InputShape []int // one example, e.g. [1 28 28]; [d] for flat data
	Body       *Sequential[T]
	input      *Unflatten[T] // nil when InputShape is flat
	outShape   []int
	param      *NetConfig // NewNetWith's configuration, which Save records; nil for NewNet
}

// NewNet builds the network spec describes for examples of shape
// inputShape ([C H W] for images, [d] for flat rows), initialized from rng
// as PyTorch initializes each layer, in training mode. A spec that does
// not parse or does not fit the shape is an error naming the layer token
// and the shape it would get, e.g. "conv16k5 on [6 4 4]: kernel 5 larger
// than the padded input 4".
func NewNet[T Float](spec string, inputShape []int, rng *rand.Rand) (*Net[T], error) {
	if rng == nil {
		return nil, errNilRNG("nn.NewNet")
	}
	if len(inputShape) == 0 || slices.Min(inputShape) < 1 {
		return nil, fmt.Errorf("nn.NewNet: input shape %v, want one example's shape such as [1 28 28] or [64]", inputShape)
	}
	layers, err := parseNetSpec(spec)
	if err != nil {
		return nil, fmt.Errorf("nn.NewNet: %w", err)
	}
	ms, out, err := buildNet[T](layers, inputShape, "", rng)
	if err != nil {
		return nil, fmt.Errorf("nn.NewNet: %w", err)
	}
	n := &Net[T]{Spec: spec, InputShape: slices.Clone(inputShape), Body: NewSequential(ms...), outShape: out}
	if len(inputShape) > 1 {
		n.input = &Unflatten[T]{Shape: n.InputShape}
	}
	return n, nil
}

// InputWidth returns the number of values of one example, the row width
// of the batches the net takes.
func (n *Net[T]) InputWidth() int { return prod(n.InputShape) }

// OutputShape returns the shape of the output for one example, e.g. [10].
func (n *Net[T]) OutputShape() []int { return slices.Clone(n.outShape) }

// Params returns the parameters of the layers in order.
func (n *Net[T]) Params() []*Param[T] { return n.Body.Params() }

// Buffers returns the buffers of the layers in order.
func (n *Net[T]) Buffers() []*Buffer[T] { return n.Body.Buffers() }

// SetTraining switches the layers with modes (BatchNorm, Dropout).
func (n *Net[T]) SetTraining(training bool) bool { return n.Body.SetTraining(training) }

// Forward records the net applied to x [N, prod(InputShape)] (or to x
// already of shape [N, InputShape...]).
func (n *Net[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) *autograd.Var[T] {
	if n.input != nil && x.Value().NDim() == 2 {
		x = n.input.Forward(t, x)
	}
	return n.Body.Forward(t, x)
}

// metadata records what rebuilds the net: its spec and input shape.
func (n *Net[T]) metadata() map[string]string {
	shape, _ := json.Marshal(n.InputShape)
	md := map[string]string{"format": NetFormat, "spec": n.Spec, "input_shape": string(shape)}
	if n.param != nil {
		n.param.addMetadata(md)
	}
	return md
}

// Save writes the net as a safetensors file: its state dict (parameters
// and buffers under PyTorch's keys; num_batches_tracked as I64) and
// metadata holding the spec and input shape, from which LoadNet rebuilds
// it.
func (n *Net[T]) Save(w io.Writer) error {
	return WriteStateDict(w, n.Params(), n.Buffers(), n.metadata())
}

// SaveFile writes the net to the named file (see Save).
func (n *Net[T]) SaveFile(path string) error {
	var buf bytes.Buffer
	if err := n.Save(&buf); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// LoadNet reads a net saved by Net.Save: it rebuilds the net from the
// spec and input shape in the metadata and loads every parameter and
// buffer strictly (see LoadState). The net is in training mode, as a
// freshly built one.
func LoadNet[T Float](r io.Reader) (*Net[T], error) {
	s, err := readSafetensors(r)
	if err != nil {
		return nil, err
	}
	md := s.Metadata
	if md["format"] != NetFormat {
		return nil, fmt.Errorf("nn.LoadNet: metadata format %q, want %q (a PyTorch state dict without it loads with nn.LoadTorchNet, given the spec and input shape)", md["format"], NetFormat)
	}
	var shape []int
	if err := json.Unmarshal([]byte(md["input_shape"]), &shape); err != nil {
		return nil, fmt.Errorf("nn.LoadNet: metadata input_shape %q is not a JSON list of sizes: %v", md["input_shape"], err)
	}
	if c, ok, err := netConfigFrom(md, md["spec"], shape); ok {
		return loadNetWith[T](s, c, err)
	}
	return netFrom[T](s, md["spec"], shape, "nn.LoadNet")
}

// LoadNetFile reads a net from the named file (see LoadNet); errors start
// with the path.
func LoadNetFile[T Float](path string) (*Net[T], error) {
	return withFile(path, LoadNet[T])
}

// LoadTorchNet reads the state dict of a PyTorch module into the net that
// spec and inputShape describe: a torch.nn.Sequential whose modules are
// those of the spec, one per layer token, saved with
// safetensors.torch.save_file(model.state_dict(), path). A state dict does
// not record kernel sizes, strides or activations, so the caller gives the
// spec. A file written by Net.Save loads too (its metadata is ignored).
func LoadTorchNet[T Float](r io.Reader, spec string, inputShape []int) (*Net[T], error) {
	s, err := readSafetensors(r)
	if err != nil {
		return nil, err
	}
	return netFrom[T](s, spec, inputShape, "nn.LoadTorchNet")
}

// LoadTorchNetFile is LoadTorchNet on the named file.
func LoadTorchNetFile[T Float](path, spec string, inputShape []int) (*Net[T], error) {
	return withFile(path, func(r io.Reader) (*Net[T], error) { return LoadTorchNet[T](r, spec, inputShape) })
}

func withFile[T Float](path string, load func(io.Reader) (*Net[T], error)) (*Net[T], error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n, err := load(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// netFrom builds the net and loads s into it.
func netFrom[T Float](s *Safetensors, spec string, shape []int, fn string) (*Net[T], error) {
	// The values are overwritten: any seed will do.
	n, err := NewNet[T](spec, shape, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	if err := n.LoadState(s); err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	return n, nil
}

// LoadState copies the tensors of s into the net's parameters and
// buffers. It is strict, as torch's load_state_dict: a missing key, an
// unexpected key or a shape that differs is an error naming the key and
// the spec, and the net is changed only when all of them fit.
func (n *Net[T]) LoadState(s *Safetensors) error {
	return loadState(s, n.Params(), n.Buffers(), "spec "+n.Spec+" on input "+shapeStr(n.InputShape))
}
