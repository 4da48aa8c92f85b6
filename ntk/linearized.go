package ntk

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// jvp returns J(x) u, the change of the outputs [n, k] along the parameter
// direction u (one tensor per layer parameter in Params order; nil entries
// are zero), by forward-mode differentiation through the layers:
// dz_l = Alpha_l (dh_l W_l^T + h_l dW_l^T) + BiasMult_l db_l, dh_{l+1} =
// act_l'(z_l) dz_l.
func (d denseNet[T]) jvp(fc forwardCache[T], u map[*nn.Param[T]]*tensor.Tensor[T]) *tensor.Tensor[T] {
	var dh *tensor.Tensor[T]
	n := fc.out.Dim(0)
	for l, layer := range d.layers {
		dz := tensor.New[T](n, layer.Out())
		if dw := u[layer.Weight]; dw != nil {
			tensor.MatMulInto(dz, fc.raw[l], dw, false, true, T(layer.Alpha), 0, tensor.Epilogue[T]{})
		}
		if dh != nil {
			tensor.MatMulInto(dz, dh, layer.Weight.Value, false, true, T(layer.Alpha), 1, tensor.Epilogue[T]{})
		}
		if layer.Bias != nil {
			if db := u[layer.Bias]; db != nil {
				tensor.AddInto(dz, dz, tensor.Scale(db, T(layer.BiasMult)))
			}
		}
		dh = tensor.MulInto(dz, dz, fc.ders[l])
	}
	return dh
}

// JVP returns the Jacobian-vector product J(x) u [n, k] of m's outputs on x
// [n, d] with respect to its parameters, along u (u[i] has the shape of
// m.Params()[i]; a nil entry is zero): forward mode through the layers for
// an MLP or Linear, and otherwise the double-backward trick J u =
// d/dw <J^T w, u> with autograd.
func JVP[T tensor.Float](m nn.Module[T], x *tensor.Tensor[T], u []*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	if err := nonNilModel("JVP", m); err != nil {
		return nil, err
	}
	if err := nonNilTensors("JVP", []string{"x"}, x); err != nil {
		return nil, err
	}
	ps := m.Params()
	if len(u) != len(ps) {
		return nil, fmt.Errorf("ntk: %d tangent tensors for %d parameters", len(u), len(ps))
	}
	for i, p := range ps {
		if u[i] != nil && !tensor.SameShape(u[i], p.Value) {
			return nil, fmt.Errorf("ntk: tangent %d has shape %v, parameter %q has %v", i, u[i].Shape(), p.Name, p.Value.Shape())
		}
	}
	if x.NDim() != 2 {
		return nil, fmt.Errorf("ntk: input shape %v is not [n, d]", x.Shape())
	}
	if _, err := outputWidth(m, x.Dim(1)); err != nil {
		return nil, err
	}
	if net, ok := denseOf(m); ok {
		um := make(map[*nn.Param[T]]*tensor.Tensor[T], len(ps))
		for i, p := range ps {
			um[p] = u[i]
		}
		return net.jvp(net.forward(x), um), nil
	}
	t := autograd.NewTape[T]()
	y := m.Forward(t, t.Const(x))
	vars := make([]*autograd.Var[T], len(ps))
	for i, p := range ps {
		vars[i] = p.Var(t)
	}
	w := t.Leaf(tensor.New[T](y.Shape()...), nil)
	g := t.Grad(y, vars, autograd.GradOptions[T]{CreateGraph: true, Seed: w})
	var s *autograd.Var[T]
	for i := range ps {
		if u[i] == nil {
			continue
		}
		term := autograd.Sum(autograd.Mul(g[i], t.Const(u[i])))
		if s == nil {
			s = term
		} else {
			s = autograd.Add(s, term)
		}
	}
	if s == nil {
		return tensor.New[T](y.Shape()...), nil
	}
	return t.Grad(s, []*autograd.Var[T]{w}, autograd.GradOptions[T]{})[0].Value().Clone(), nil
}

// VJP returns J(x)^T v, one tensor per parameter of m (zero for parameters
// sel rejects; nil sel selects all), for outputs weights v [n, k]: one
// backward pass with seed v.
func VJP[T tensor.Float](m nn.Module[T], x, v *tensor.Tensor[T], sel func(string) bool) ([]*tensor.Tensor[T], error) {
	if err := nonNilModel("VJP", m); err != nil {
		return nil, err
	}
	if err := nonNilTensors("VJP", []string{"x", "v"}, x, v); err != nil {
		return nil, err
	}
	if x.NDim() != 2 {
		return nil, fmt.Errorf("ntk: input shape %v is not [n, d]", x.Shape())
	}
	k, err := outputWidth(m, x.Dim(1))
	if err != nil {
		return nil, err
	}
	if v.NDim() != 2 || v.Dim(0) != x.Dim(0) || v.Dim(1) != k {
		return nil, fmt.Errorf("ntk: cotangent shape %v, want [%d %d]", v.Shape(), x.Dim(0), k)
	}
	ps := m.Params()
	t := autograd.NewTape[T]()
	y := m.Forward(t, t.Const(x))
	vars := make([]*autograd.Var[T], len(ps))
	for i, p := range ps {
		vars[i] = p.Var(t)
	}
	g := t.Grad(y, vars, autograd.GradOptions[T]{Seed: t.Const(v)})
	out := make([]*tensor.Tensor[T], len(ps))
	for i, p := range ps {
		if sel == nil || sel(p.Name) {
			out[i] = g[i].Value().Clone()
		} else {
			out[i] = tensor.ZerosLike(p.Value)
		}
	}
	return out, nil
}

// NTKVP returns the product of the empirical NTK between x1 [n1, d] and x2
// [n2, d] with v without forming the kernel: Theta v = J(x1) (J(x2)^T v),
// one backward and one forward-mode pass (Novak et al. 2022's NTK-vector
// products), memory O(P + n k). With Options.Full, v is [n2, k] and the
// result [n1, k] (sum_j,b Theta[i, j, a, b] v[j, b]); otherwise v is [n2]
// and the result [n1] is the traced kernel times v, which takes k passes of
// each kind. Options.Params selects parameters and Options.ParamWeight
// weights them (the weighted kernel times v); MemoryBudget and Method are
// ignored.
func NTKVP[T tensor.Float](m nn.Module[T], x1, x2, v *tensor.Tensor[T], opts Options) (*tensor.Tensor[T], error) {
	if err := nonNilModel("NTKVP", m); err != nil {
		return nil, err
	}
	if err := nonNilTensors("NTKVP", []string{"x1", "x2", "v"}, x1, x2, v); err != nil {
		return nil, err
	}
	if x1.NDim() != 2 || x2.NDim() != 2 || x1.Dim(1) != x2.Dim(1) {
		return nil, fmt.Errorf("ntk: inputs of shapes %v and %v are not [n, d] with the same d", x1.Shape(), x2.Shape())
	}
	k, err := outputWidth(m, x1.Dim(1))
	if err != nil {
		return nil, err
	}
	if err := checkWeights(m, opts.ParamWeight); err != nil {
		return nil, err
	}
	n1, n2 := x1.Dim(0), x2.Dim(0)
	if opts.Full {
		u, err := VJP(m, x2, v, opts.Params)
		if err != nil {
			return nil, err
		}
		weightTangents(u, m, opts.ParamWeight)
		return JVP(m, x1, u)
	}
	if v.NDim() != 1 || v.Dim(0) != n2 {
		return nil, fmt.Errorf("ntk: vector shape %v, want [%d]", v.Shape(), n2)
	}
	out := tensor.New[T](n1)
	seed := tensor.New[T](n2, k)
	for a := 0; a < k; a++ {
		seed.Zero()
		for j, vj := range v.Data() {
			seed.Data()[j*k+a] = vj
		}
		u, err := VJP(m, x2, seed, opts.Params)
		if err != nil {
			return nil, err
		}
		weightTangents(u, m, opts.ParamWeight)
		jv, err := JVP(m, x1, u)
		if err != nil {
			return nil, err
		}
		for i := range out.Data() {
			out.Data()[i] += jv.Data()[i*k+a] / T(k)
		}
	}
	return out, nil
}

// weightTangents multiplies u[i], a tangent of parameter i of m, by that
// parameter's weight under w (nil: none), so that J (W J^T v) is the
// weighted kernel times v.
func weightTangents[T tensor.Float](u []*tensor.Tensor[T], m nn.Module[T], w func(string) float64) {
	if w == nil {
		return
	}
	for i, q := range m.Params() {
		if v := w(q.Name); v != 1 {
			tensor.ScaleInto(u[i], u[i], T(v))
		}
	}
}

// Linearized is the first-order Taylor expansion of an MLP in its
// parameters around theta0 (Lee et al. 2019):
//
//	f_lin(x; theta) = f(x; theta0) + J(x; theta0) (theta - theta0).
//
// It is an nn.Module: its Params start at theta0 and can be trained by any
// optimizer and training loop; Forward records f_lin on a tape, computing
// f(x; theta0) and the layer quantities at theta0 without recording and the
// Jacobian-vector product by forward-mode differentiation written with
// autograd operations, so gradients with respect to theta are J^T g. The
// input x is treated as a constant. Training it by gradient descent on
// 0.5*mean squared error follows Predictor.GD with its NTK exactly.
type Linearized[T tensor.Float] struct {
	net    denseNet[T] // a copy of the model at theta0
	params []*nn.Param[T]
	theta0 []*tensor.Tensor[T]
}

// Linearize returns the linearization of m around its current parameters,
// which are copied: later changes to m do not affect it. m must be an
// *nn.MLP or *nn.Linear.
func Linearize[T tensor.Float](m nn.Module[T]) (*Linearized[T], error) {
	if err := nonNilModel("Linearize", m); err != nil {
		return nil, err
	}
	net, ok := denseOf(m)
	if !ok {
		return nil, fmt.Errorf("ntk: Linearize needs an *nn.MLP or *nn.Linear, got %T", m)
	}
	lin := &Linearized[T]{}
	for _, l := range net.layers {
		prefix := strings.TrimSuffix(l.Weight.Name, "weight")
		var b *tensor.Tensor[T]
		if l.Bias != nil {
			b = l.Bias.Value.Clone()
		}
		c := nn.NewLinearFrom(prefix, l.Weight.Value.Clone(), b)
		c.Alpha, c.BiasMult, c.Act = l.Alpha, l.BiasMult, l.Act
		c.Weight.Name = l.Weight.Name
		if l.Bias != nil {
			c.Bias.Name = l.Bias.Name
		}
		lin.net.layers = append(lin.net.layers, c)
		for _, p := range l.Params() {
			q := nn.NewParam(p.Name, p.Value.Clone())
			q.LRScale = p.LRScale
			lin.params = append(lin.params, q)
		}
		for _, p := range c.Params() {
			lin.theta0 = append(lin.theta0, p.Value)
		}
	}
	return lin, nil
}

// Params returns the trainable parameters theta, in the model's order and
// with its names and learning-rate scales.
func (l *Linearized[T]) Params() []*nn.Param[T] { return l.params }

// Forward records f_lin(x; theta) for x [n, d] on t.
func (l *Linearized[T]) Forward(t *autograd.Tape[T], x *autograd.Var[T]) *autograd.Var[T] {
	if s := x.Shape(); len(s) != 2 || s[1] != l.net.in() {
		panic(fmt.Sprintf("ntk.Linearized.Forward: input shape %v, want [n %d]", s, l.net.in()))
	}
	fc := l.net.forward(x.Value())
	var dh *autograd.Var[T]
	pi := 0
	for li, layer := range l.net.layers {
		dw := autograd.Sub(l.params[pi].Var(t), t.Const(l.theta0[pi]))
		pi++
		dz := autograd.MatMul(t.Const(fc.raw[li]), dw, false, true)
		if dh != nil {
			dz = autograd.Add(dz, autograd.MatMul(dh, t.Const(layer.Weight.Value), false, true))
		}
		if layer.Alpha != 1 {
			dz = autograd.Scale(dz, layer.Alpha)
		}
		if layer.Bias != nil {
			db := autograd.Sub(l.params[pi].Var(t), t.Const(l.theta0[pi]))
			pi++
			if layer.BiasMult != 1 {
				db = autograd.Scale(db, layer.BiasMult)
			}
			dz = autograd.Add(dz, db)
		}
		dh = autograd.Mul(dz, t.Const(fc.ders[li]))
	}
	return autograd.Add(t.Const(fc.out), dh)
}

// Eval returns f_lin(x; theta) [n, k] for the parameter values of params,
// which must match the model's (names and shapes): pass the Params of the
// trained network to compare it with its linearization, or nil for the
// Linearized's own parameters.
func (l *Linearized[T]) Eval(x *tensor.Tensor[T], params []*nn.Param[T]) (*tensor.Tensor[T], error) {
	if l == nil {
		return nil, errNil("Linearized.Eval", "the Linearized")
	}
	if err := nonNilTensors("Linearized.Eval", []string{"x"}, x); err != nil {
		return nil, err
	}
	if params == nil {
		params = l.params
	}
	if len(params) != len(l.params) {
		return nil, fmt.Errorf("ntk: %d parameters, the linearization has %d", len(params), len(l.params))
	}
	if x.NDim() != 2 || x.Dim(1) != l.net.in() {
		return nil, fmt.Errorf("ntk: input shape %v, want [n %d]", x.Shape(), l.net.in())
	}
	u := make(map[*nn.Param[T]]*tensor.Tensor[T], len(params))
	i := 0
	for _, layer := range l.net.layers {
		for _, p := range layer.Params() {
			q := params[i]
			if q == nil || q.Value == nil {
				return nil, errNil("Linearized.Eval", fmt.Sprintf("params[%d]", i))
			}
			if q.Name != l.params[i].Name || !tensor.SameShape(q.Value, p.Value) {
				return nil, fmt.Errorf("ntk: parameter %d is %q %v, want %q %v", i, q.Name, q.Value.Shape(), l.params[i].Name, p.Value.Shape())
			}
			u[p] = tensor.Sub(q.Value, p.Value)
			i++
		}
	}
	fc := l.net.forward(x)
	return tensor.AddInto(nil, fc.out, l.net.jvp(fc, u)), nil
}

// LinearizationGap returns the root-mean-square and the largest absolute
// difference between the outputs of model m and of its linearization lin
// evaluated at m's current parameters, on x: how far training has left the
// kernel regime. In the NTK parameterization it is O(width^-1/2) over a
// training run (Lee et al. 2019).
func LinearizationGap[T tensor.Float](m nn.Module[T], lin *Linearized[T], x *tensor.Tensor[T]) (rms, maxAbs float64, err error) {
	if err := nonNilModel("LinearizationGap", m); err != nil {
		return 0, 0, err
	}
	if lin == nil {
		return 0, 0, errNil("LinearizationGap", "lin")
	}
	if err := nonNilTensors("LinearizationGap", []string{"x"}, x); err != nil {
		return 0, 0, err
	}
	fl, err := lin.Eval(x, m.Params())
	if err != nil {
		return 0, 0, err
	}
	t := autograd.NewTape[T]()
	t.SetGradEnabled(false)
	f := m.Forward(t, t.Const(x)).Value()
	if !tensor.SameShape(f, fl) {
		return 0, 0, errors.New("ntk: model and linearization outputs differ in shape")
	}
	var s float64
	for i, v := range f.Data() {
		d := float64(v) - float64(fl.Data()[i])
		s += d * d
		if d < 0 {
			d = -d
		}
		maxAbs = max(maxAbs, d)
	}
	return math.Sqrt(s / float64(f.Len())), maxAbs, nil
}
