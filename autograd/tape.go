package autograd

import (
	"strconv"

	"github.com/gradflow/gradflow/tensor"
)

// Float is the set of element types a Tape can work with.
type Float = tensor.Float

// op is the backward rule of one recorded operation. Implementations are
// zero-size struct types (one per file, next to the forward function):
// storing a zero-size value in an interface costs no allocation, which keeps
// recording free of garbage.
//
// backward receives the output v and its gradient g and adds the gradient
// of every input that t.wants to that input with t.accum. It must compute
// with the differentiable functions of this package (Add, Mul, MatMul...),
// never with raw tensor kernels on g, so that when the tape records the
// backward pass (GradOptions.CreateGraph) the gradient is itself a
// differentiable function of the inputs and double backward works.
type op[T Float] interface {
	name() string
	backward(t *Tape[T], v, g *Var[T])
}

// Tape records operations on Vars as they run (define by run) and computes
// gradients by walking the record backwards.
//
// A Tape belongs to one goroutine at a time; it holds no global state, so
// independent models train concurrently on their own tapes.
//
// # Memory
//
// Every Var a tape hands out, and every tensor buffer behind it, is kept in
// an arena indexed by the position of the operation in the step. Reset
// rewinds the arena without freeing it; the next step that performs the
// same operations on tensors of the same shapes gets the same Vars and
// buffers back, so a training step in steady state allocates nothing. A
// position whose shape changed (for example a smaller last batch) gets a
// new buffer. The price is that Vars and their values are valid only until
// the next Reset: copy out whatever must outlive the step.
type Tape[T Float] struct {
	vars      []*Var[T] // the arena; vars[:n] are live
	n         int
	gradOff   bool   // no-grad mode set by the user
	recording bool   // false while a backward pass runs without CreateGraph
	gen       uint32 // stamp of the current backward pass (see Var.gradGen)
	pruning   bool   // restrict the backward pass to Vars marked reach == gen
	// direct is set while Backward runs without recording: ops may then add
	// a leaf's gradient straight into the tensor bound to it (directGrad)
	// instead of handing a new Var to accum, saving a pass over the
	// gradient and a buffer per parameter.
	direct bool
	epoch  uint64 // counts Resets, so that caches keyed by step can tell steps apart
	// fresh lists the bound gradient tensors that the BackwardFresh in
	// progress has not written yet: their first contribution overwrites
	// them (claim), and those left at the end are zeroed.
	fresh []*tensor.Tensor[T]

	relu reluBackJob[T] // scratch of linearBackwardFast's ReLU mask
}

// NewTape returns an empty tape with gradient recording enabled.
func NewTape[T Float]() *Tape[T] { return &Tape[T]{recording: true} }

// Reset forgets every recorded operation and rewinds the arena: Vars and
// values obtained before are invalid afterwards. Buffers are kept for reuse.
// Reset does not touch parameter gradients.
func (t *Tape[T]) Reset() {
	t.n = 0
	t.epoch++
	t.recording = true
}

// Epoch returns the number of Resets so far: Vars obtained in another epoch
// are invalid. Callers that cache Vars per step (nn.Param.Var) compare it.
func (t *Tape[T]) Epoch() uint64 { return t.epoch }

// Len returns the number of Vars on the tape (recorded operations, leaves,
// constants and the Vars a backward pass created).
func (t *Tape[T]) Len() int { return t.n }

// SetGradEnabled turns recording on or off and returns the previous
// setting, like torch.set_grad_enabled. With recording off (no-grad mode,
// for evaluation) operations compute their values but record nothing, and
// no Var requires a gradient.
func (t *Tape[T]) SetGradEnabled(enabled bool) (prev bool) {
	prev = !t.gradOff
	t.gradOff = !enabled
	return prev
}

// GradEnabled reports whether operations are being recorded.
func (t *Tape[T]) GradEnabled() bool { return !t.gradOff }

// Var is a node of the tape: a tensor value and, when it requires a
// gradient, the operation and inputs that produced it.
//
// A Var and its Value are owned by the tape and valid until the tape's next
// Reset.
type Var[T Float] struct {
	value *tensor.Tensor[T]
	tape  *Tape[T]
	id    int

	op        op[T]
	in        [2]*Var[T]
	ins       []*Var[T] // inputs of n-ary ops (Concat)
	f         float64   // scalar attribute (scale, exponent, slope, alpha)
	c         float64   // second scalar attribute (shift)
	i0, i1    int       // integer attributes (axis, start)
	flag      bool      // boolean attribute (keepDim, transpose, Linear's fused ReLU)
	flag2     bool      // second boolean attribute
	idx       []int     // index attribute (IndexRows, Pick); owned by the caller
	labels    []int32   // class labels (CrossEntropy); owned by the caller
	pgrad     *tensor.Tensor[T]
	needsGrad bool

	grad    *Var[T]
	gradGen uint32
	reach   uint32

	// Arena storage, kept across Reset.
	buf     *tensor.Tensor[T] // owned output storage
	scratch *tensor.Tensor[T] // owned auxiliary storage
	view    *tensor.Tensor[T] // cached view (Reshape, Rows)
	ints    []int             // owned integer scratch (ArgMax)
	shape   []int             // owned shape storage
}

// Value returns the tensor the Var holds. It must not be modified while the
// tape may still use it (until Backward or Grad has run).
func (v *Var[T]) Value() *tensor.Tensor[T] { return v.value }

// Shape returns the shape of the Var's value.
func (v *Var[T]) Shape() []int { return v.value.Shape() }

// Tape returns the tape v lives on.
func (v *Var[T]) Tape() *Tape[T] { return v.tape }

// RequiresGrad reports whether gradients flow to v: it is a leaf made with
// Leaf, or the result of a recorded operation on such Vars.
func (v *Var[T]) RequiresGrad() bool { return v.needsGrad }

// Op returns the name of the operation that produced v, or "leaf" or
// "const".
func (v *Var[T]) Op() string {
	switch {
	case v.op != nil:
		return v.op.name()
	case v.needsGrad:
		return "leaf"
	}
	return "const"
}

// Item returns the single element of a one-element Var (a loss).
func (v *Var[T]) Item() T { return v.value.Item() }

// newVar takes the next Var from the arena and clears its per-step fields,
// keeping its buffers.
func (t *Tape[T]) newVar() *Var[T] {
	if t.n == len(t.vars) {
		t.vars = append(t.vars, &Var[T]{tape: t})
	}
	v := t.vars[t.n]
	v.id = t.n
	t.n++
	v.value = nil
	v.op = nil
	v.in = [2]*Var[T]{}
	v.ins = v.ins[:0]
	v.f, v.c = 0, 0
	v.i0, v.i1 = 0, 0
	v.flag, v.flag2 = false, false
	v.idx = nil
	v.labels = nil
	v.pgrad = nil
	v.needsGrad = false
	v.grad = nil
	v.gradGen = 0
	v.reach = 0
	return v
}

// out makes v's owned buffer have the given shape (reusing it when it
// already has) and makes it v's value.
func (v *Var[T]) out(shape ...int) *tensor.Tensor[T] {
	v.value = ensure(&v.buf, shape)
	return v.value
}

// aux returns v's scratch buffer with the given shape.
func (v *Var[T]) aux(shape ...int) *tensor.Tensor[T] { return ensure(&v.scratch, shape) }

// ensure returns *b if it has the given shape and replaces it by a new
// tensor otherwise.
func ensure[T Float](b **tensor.Tensor[T], shape []int) *tensor.Tensor[T] {
	if *b == nil || !sameShape((*b).Shape(), shape) {
		*b = tensor.New[T](shape...)
	}
	return *b
}

// viewOf returns a cached view of src with the given shape, making a new
// view only when src's storage or the shape changed: tensor.Reshape
// allocates a header, and a step in steady state must not.
func (v *Var[T]) viewOf(src *tensor.Tensor[T], shape []int) *tensor.Tensor[T] {
	if v.view == nil || !sameShape(v.view.Shape(), shape) || !sameData(v.view, src) {
		v.view = src.Reshape(shape...)
	}
	return v.view
}

func sameData[T Float](a, b *tensor.Tensor[T]) bool {
	da, db := a.Data(), b.Data()
	if len(da) != len(db) {
		return false
	}
	return len(da) == 0 || &da[0] == &db[0]
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Const returns a Var holding x that does not require a gradient (an input,
// a target, a mask). x is used without copying.
func (t *Tape[T]) Const(x *tensor.Tensor[T]) *Var[T] {
	v := t.newVar()
	v.value = x
	return v
}

// Leaf returns a Var holding x that requires a gradient. When grad is not
// nil (it must have x's shape) Backward adds the gradient of the loss with
// respect to x into grad: bind each parameter's value and gradient tensor
// this way. Grad never touches grad. x is used without copying.
//
// In no-grad mode Leaf returns a constant.
func (t *Tape[T]) Leaf(x, grad *tensor.Tensor[T]) *Var[T] {
	if grad != nil && !sameShape(x.Shape(), grad.Shape()) {
		panic("autograd.Leaf: grad shape " + shapeStr(grad.Shape()) + " differs from value shape " + shapeStr(x.Shape()))
	}
	v := t.newVar()
	v.value = x
	v.needsGrad = !t.gradOff
	v.pgrad = grad
	return v
}

// constLike returns a new constant Var with an owned buffer of the given
// shape, for masks and seeds computed inside backward rules.
func (t *Tape[T]) constLike(shape []int) *Var[T] {
	v := t.newVar()
	v.out(shape...)
	return v
}

// record attaches o and the inputs to v if the tape is recording and an
// input requires a gradient; otherwise v stays a constant. It reports
// whether it recorded.
func (t *Tape[T]) record(v *Var[T], o op[T], a, b *Var[T]) bool {
	if !t.recording || t.gradOff {
		return false
	}
	if !(a != nil && a.needsGrad || b != nil && b.needsGrad) {
		return false
	}
	v.op = o
	v.in = [2]*Var[T]{a, b}
	v.needsGrad = true
	return true
}

// wants reports whether the backward pass in progress needs the gradient of
// x: x requires one, and (in Grad) x lies on a path to a requested input.
func (t *Tape[T]) wants(x *Var[T]) bool {
	return x != nil && x.needsGrad && (!t.pruning || x.reach == t.gen)
}

// accum adds c to the gradient of x accumulated in the current backward
// pass. Gradients are combined with Add, never in place, so a gradient
// shared between Vars (Add passes g to both operands) is never corrupted
// and a recorded backward pass stays differentiable.
func (t *Tape[T]) accum(x, c *Var[T]) {
	if !sameShape(x.value.Shape(), c.value.Shape()) {
		panic("autograd: internal error: gradient of shape " + shapeStr(c.value.Shape()) + " for a Var of shape " +
			shapeStr(x.value.Shape()) + " (op " + x.Op() + ")")
	}
	if x.gradGen == t.gen && x.grad != nil {
		x.grad = Add(x.grad, c)
		return
	}
	x.grad, x.gradGen = c, t.gen
}

// directGrad returns the gradient tensor bound to the leaf x when the
// backward pass in progress may add x's gradient into it directly (Backward
// without recording, x a leaf bound with Leaf(x, grad)), and nil otherwise.
// Adding each contribution as it comes gives the sum Backward would have
// added at the end, and gives it bit for bit when the tensor starts at zero
// and there is one contribution (a parameter used once).
func (t *Tape[T]) directGrad(x *Var[T]) *tensor.Tensor[T] {
	if t.direct && x.op == nil && x.pgrad != nil && !t.pruning {
		return x.pgrad
	}
	return nil
}

// claimGrad is directGrad for a caller about to write x's gradient: set
// reports that this is the first contribution to a tensor the pass in
// progress sets rather than adds to (BackwardFresh), which the caller must
// then overwrite (a GEMM with beta 0, a copy) instead of adding to.
func (t *Tape[T]) claimGrad(x *Var[T]) (pg *tensor.Tensor[T], set bool) {
	pg = t.directGrad(x)
	if pg == nil {
		return nil, false
	}
	return pg, t.claim(pg)
}

// claim reports whether g is still waiting for its first contribution in
// the BackwardFresh in progress, and takes it off that list.
func (t *Tape[T]) claim(g *tensor.Tensor[T]) bool {
	for i, f := range t.fresh {
		if f == g {
			last := len(t.fresh) - 1
			t.fresh[i], t.fresh[last] = t.fresh[last], nil
			t.fresh = t.fresh[:last]
			return true
		}
	}
	return false
}

// sameTape panics unless a and b live on the same tape.
func sameTape[T Float](opName string, a, b *Var[T]) *Tape[T] {
	if a.tape != b.tape {
		panic("autograd." + opName + ": operands live on different tapes")
	}
	return a.tape
}

func shapeStr(s []int) string {
	b := make([]byte, 0, 2+4*len(s))
	b = append(b, '[')
	for i, d := range s {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, int64(d), 10)
	}
	return string(append(b, ']'))
}

// normAxis returns axis in [0, rank), counting negative axes from the end,
// and panics (naming opName and the shape) if it is out of range.
func normAxis(opName string, axis int, shape []int) int {
	ax := axis
	if ax < 0 {
		ax += len(shape)
	}
	if ax < 0 || ax >= len(shape) {
		panic("autograd." + opName + ": axis " + strconv.Itoa(axis) + " out of range for shape " + shapeStr(shape))
	}
	return ax
}
