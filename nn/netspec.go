package nn

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode"

	"github.com/gradflow/gradflow/autograd"
)

// netLayer is one parsed token of a net spec.
type netLayer struct {
	tok   string // the token as written, for error messages
	kind  string // conv, fc, act, maxpool, avgpool, gap, flatten, bn, ln, dropout, res
	n     int    // channels (conv) or width (fc)
	k     [2]int // conv kernel or pooling window
	conv  autograd.ConvParams
	pool  autograd.PoolParams
	bias  bool
	act   Activation
	p     float64
	body  []netLayer // res
	short []netLayer // res; nil: identity
}

// parseNetSpec parses a whole spec (see Net for the grammar).
func parseNetSpec(spec string) ([]netLayer, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, fmt.Errorf("empty net spec (want layers joined by '-', e.g. conv6k5p2-relu-maxpool2-flatten-fc10)")
	}
	toks, err := splitTop(spec, '-')
	if err != nil {
		return nil, err
	}
	layers := make([]netLayer, 0, len(toks))
	for _, tok := range toks {
		l, err := parseNetToken(tok)
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}
	return layers, nil
}

// splitTop splits s at the separator outside parentheses, checking that
// the parentheses balance and no part is empty.
func splitTop(s string, sep byte) ([]string, error) {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("net spec %q: unbalanced ')' at byte %d", s, i)
			}
		case sep:
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("net spec %q: unclosed '('", s)
	}
	parts = append(parts, s[start:])
	for i, p := range parts {
		if strings.TrimSpace(p) == "" {
			return nil, fmt.Errorf("net spec %q: empty layer at position %d (two '%c' in a row, or one at an end)", s, i+1, sep)
		}
	}
	return parts, nil
}

// parseNetToken parses one layer token.
func parseNetToken(tok string) (netLayer, error) {
	l := netLayer{tok: tok, bias: true}
	bad := func(format string, args ...any) (netLayer, error) {
		return netLayer{}, fmt.Errorf("net spec layer %q: %s", tok, fmt.Sprintf(format, args...))
	}
	if rest, ok := strings.CutPrefix(tok, "res("); ok {
		inner, ok := strings.CutSuffix(rest, ")")
		if !ok {
			return bad("a residual block is res(BODY) or res(BODY,SHORTCUT), ending with ')'")
		}
		parts, err := splitTop(inner, ',')
		if err != nil {
			return netLayer{}, err
		}
		if len(parts) > 2 {
			return bad("a residual block has a body and at most one shortcut, got %d parts", len(parts))
		}
		l.kind = "res"
		if l.body, err = parseNetSpec(parts[0]); err != nil {
			return netLayer{}, err
		}
		if len(parts) == 2 {
			if l.short, err = parseNetSpec(parts[1]); err != nil {
				return netLayer{}, err
			}
		}
		return l, nil
	}
	// The layer's name runs up to the first digit (or the '.' of
	// "dropout.5"); its size and options follow.
	name, rest := tok, ""
	if i := strings.IndexFunc(tok, func(r rune) bool { return unicode.IsDigit(r) || r == '.' }); i >= 0 {
		name, rest = tok[:i], tok[i:]
	}
	switch name {
	case "conv":
		n, opts, err := leadingInt(rest)
		if err != nil || n < 1 {
			return bad("want conv<channels>k<kernel>[s<stride>][p<padding>][d<dilation>][g<groups>][nb], e.g. conv16k3p1")
		}
		l.kind, l.n = "conv", n
		if err := parseOpts(opts, "kspdg", true, func(o byte, v [2]int) {
			switch o {
			case 'k':
				l.k = v
			case 's':
				l.conv.Stride = v
			case 'p':
				l.conv.Padding = v
			case 'd':
				l.conv.Dilation = v
			case 'g':
				l.conv.Groups = v[0]
			}
		}, &l.bias); err != nil {
			return bad("%v (e.g. conv16k3p1, conv32k3s2p1nb)", err)
		}
		if l.k[0] == 0 {
			return bad("a convolution needs a kernel size: k<size>, e.g. conv16k3")
		}
	case "fc":
		n, opts, err := leadingInt(rest)
		if err != nil || n < 1 {
			return bad("want fc<width>[nb], e.g. fc120")
		}
		l.kind, l.n = "fc", n
		if err := parseOpts(opts, "", true, nil, &l.bias); err != nil {
			return bad("%v (want fc<width>[nb], e.g. fc120)", err)
		}
	case "maxpool", "avgpool":
		k, opts, err := leadingPair(rest)
		if err != nil || k[0] < 1 || k[1] < 1 {
			return bad("want %s<window>[s<stride>][p<padding>], e.g. %s2 or %s3s2p1", name, name, name)
		}
		l.kind, l.k = name, k
		l.pool.Kernel = k
		if err := parseOpts(opts, "sp", false, func(o byte, v [2]int) {
			if o == 's' {
				l.pool.Stride = v
			} else {
				l.pool.Padding = v
			}
		}, nil); err != nil {
			return bad("%v (want %s<window>[s<stride>][p<padding>])", err, name)
		}
	case "dropout":
		l.kind, l.p = "dropout", 0.5
		if rest != "" {
			p, err := strconv.ParseFloat(rest, 64)
			if err != nil || !(p >= 0 && p < 1) {
				return bad("want dropout<p> with 0 <= p < 1, e.g. dropout0.5")
			}
			l.p = p
		}
	case "gap", "flatten", "bn", "ln":
		if rest != "" {
			return bad("%s takes no options", name)
		}
		l.kind = name
	default:
		a, err := ParseActivation(tok)
		if err != nil {
			return bad("unknown layer (want conv, fc, maxpool, avgpool, gap, flatten, bn, ln, dropout, res(...) or an activation: %v)", err)
		}
		l.kind, l.act = "act", a
	}
	return l, nil
}

// leadingInt splits the decimal number at the start of s from the rest.
func leadingInt(s string) (int, string, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 9 {
		return 0, s, fmt.Errorf("want a number at %q", s)
	}
	n, err := strconv.Atoi(s[:i])
	return n, s[i:], err
}

// leadingPair reads N or NxM at the start of s.
func leadingPair(s string) ([2]int, string, error) {
	a, rest, err := leadingInt(s)
	if err != nil {
		return [2]int{}, s, err
	}
	b := a
	if r, ok := strings.CutPrefix(rest, "x"); ok {
		if b, rest, err = leadingInt(r); err != nil {
			return [2]int{}, s, err
		}
	}
	return [2]int{a, b}, rest, nil
}

// parseOpts reads options <letter><N or NxM> (letters from allowed, each
// at most once) and, when nb is not nil, the flag "nb" (no bias).
func parseOpts(s, allowed string, nbOK bool, set func(byte, [2]int), bias *bool) error {
	seen := map[byte]bool{}
	for s != "" {
		if nbOK && strings.HasPrefix(s, "nb") {
			*bias = false
			s = s[2:]
			continue
		}
		o := s[0]
		if !strings.Contains(allowed, string(o)) {
			return fmt.Errorf("unknown option %q", s)
		}
		if seen[o] {
			return fmt.Errorf("option %c given twice", o)
		}
		seen[o] = true
		v, rest, err := leadingPair(s[1:])
		if err != nil {
			return fmt.Errorf("option %c: %v", o, err)
		}
		if o == 'g' && v[0] != v[1] {
			return fmt.Errorf("groups take one number")
		}
		set(o, v)
		s = rest
	}
	return nil
}

// buildNet builds the modules of layers on examples of shape in, naming
// parameters with prefix and their Sequential index; it returns them and
// the output shape, or an error naming the token and the shape it got.
// ReLU after a conv or fc layer is fused into it, and the ReLU's index
// holds an identity, so the state-dict indices stay PyTorch's.
func buildNet[T Float](layers []netLayer, in []int, prefix string, rng *rand.Rand) ([]Module[T], []int, error) {
	ms := make([]Module[T], 0, len(layers))
	shape := in
	for i := range layers {
		l := &layers[i]
		pre := prefix + strconv.Itoa(i) + "."
		fail := func(err error) ([]Module[T], []int, error) {
			return nil, nil, fmt.Errorf("%s on %s: %w", l.tok, shapeStr(shape), err)
		}
		var m Module[T]
		switch l.kind {
		case "conv":
			if len(shape) != 3 {
				return fail(fmt.Errorf("a convolution takes [C H W] examples, not flat rows (image data such as digits or MNIST has that shape)"))
			}
			c, err := NewConv2D[T](rng, pre, shape[0], l.n, l.k, l.conv, l.bias)
			if err != nil {
				return fail(err)
			}
			m = c
		case "fc":
			if len(shape) != 1 {
				return fail(fmt.Errorf("a Linear layer takes flat examples: put flatten or gap before it"))
			}
			lin, err := NewLinear[T](rng, pre, shape[0], l.n, l.bias)
			if err != nil {
				return fail(err)
			}
			m = lin
		case "act":
			m = Act[T](l.act)
			if l.act == ReLU && i > 0 {
				switch prev := ms[i-1].(type) {
				case *Conv2D[T]:
					prev.Act, m = ReLU, Func[T](fusedIdentity[T])
				case *Linear[T]:
					prev.Act, m = ReLU, Func[T](fusedIdentity[T])
				}
			}
		case "maxpool":
			m = &MaxPool2D[T]{Pool: l.pool}
		case "avgpool":
			m = &AvgPool2D[T]{Pool: l.pool}
		case "gap":
			m = GlobalAvgPool[T]{}
		case "flatten":
			m = Flatten[T]{}
		case "bn":
			if len(shape) != 1 && len(shape) != 3 {
				return fail(fmt.Errorf("batch normalization takes [C] or [C H W] examples"))
			}
			m = NewBatchNorm[T](pre, shape[0])
		case "ln":
			m = NewLayerNorm[T](pre, shape...)
		case "dropout":
			d, err := NewDropout[T](l.p, rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())))
			if err != nil {
				return fail(err)
			}
			m = d
		case "res":
			body, _, err := buildNet[T](l.body, shape, pre+"body.", rng)
			if err != nil {
				return fail(err)
			}
			var short Module[T]
			if l.short != nil {
				sm, _, err := buildNet[T](l.short, shape, pre+"shortcut.", rng)
				if err != nil {
					return fail(err)
				}
				short = NewSequential(sm...)
			}
			m = NewResidual(NewSequential(body...), short)
		}
		out, err := moduleShape(m, shape)
		if err != nil {
			return fail(err)
		}
		ms = append(ms, m)
		shape = out
	}
	return ms, shape, nil
}

// fusedIdentity stands at the Sequential index of a ReLU that the layer
// before it applies.
func fusedIdentity[T Float](_ *autograd.Tape[T], x *autograd.Var[T]) *autograd.Var[T] { return x }

// shaper is implemented by the modules that know the shape of their
// output for one example of a given shape.
type shaper interface {
	outShape(in []int) ([]int, error)
}

// moduleShape returns the output shape of m for one example of shape in.
// Parameterless functions (activations) keep the shape.
func moduleShape[T Float](m Module[T], in []int) ([]int, error) {
	switch m := m.(type) {
	case shaper:
		return m.outShape(in)
	case *Sequential[T]:
		for i, sm := range m.Modules {
			out, err := moduleShape(sm, in)
			if err != nil {
				return nil, fmt.Errorf("module %d: %w", i, err)
			}
			in = out
		}
		return in, nil
	case *Linear[T]:
		if len(in) != 1 || in[0] != m.In() {
			return nil, fmt.Errorf("examples of shape %s, the Linear layer takes [%d]", shapeStr(in), m.In())
		}
		return []int{m.Out()}, nil
	}
	return in, nil
}
