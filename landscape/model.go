package landscape

import (
	"errors"
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/internal/nilcheck"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// ModelObjective is the training loss of a model on a fixed batch, as a
// function of the model's parameters flattened in Params order (each
// tensor row-major): f(w) = Loss(model_w(X), targets). The batch is the
// full training set or a fixed subset of it; a fixed batch makes f a
// deterministic function, which the spectral estimators need (a fresh
// minibatch per Hessian-vector product would change the matrix under
// Lanczos).
//
// Gradients come from one backward pass, Hessian-vector products from a
// double backward (autograd's Tape.HVP, Pearlmutter's trick), so no
// Hessian is ever formed. Every method writes its point x into the
// parameters for the duration of the call and puts the previous values
// back before returning, and so for the buffers of a model that has them
// (the running statistics a BatchNorm in training mode updates on every
// forward pass): the model is unchanged afterwards. It uses its own tape,
// never the trainer's, and does not touch Param.Grad.
type ModelObjective[T tensor.Float] struct {
	model  nn.Module[T]
	loss   train.Loss[T]
	batch  *data.Batch[T]
	params []*nn.Param[T]
	dim    int
	tape   *autograd.Tape[T]
	saved  []T
	// bufs are the model's buffers (nn.Buffers) and bufSaved their
	// values while a method runs.
	bufs     []*nn.Buffer[T]
	bufSaved []T
	vs       []*tensor.Tensor[T]
	vars     []*autograd.Var[T]
	gbuf     []float64 // the gradient HVP computes on the way
}

// NewModelObjective returns the objective of model under loss on batch.
// The loss must be a mean over the examples of a per-example loss that
// depends on the example's output only (train.MSE and train.CrossEntropy
// are), which PerExampleGrads relies on. The batch is used by reference:
// keep it unchanged (a batch from a data.Loader is overwritten by the
// loader's next call; use BatchOf for a stable copy).
func NewModelObjective[T tensor.Float](model nn.Module[T], loss train.Loss[T], batch *data.Batch[T]) (*ModelObjective[T], error) {
	switch {
	case nilcheck.Nil(model):
		return nil, errors.New("landscape.NewModelObjective: model is nil")
	case nilcheck.Nil(loss):
		return nil, errors.New("landscape.NewModelObjective: loss is nil")
	case batch == nil || batch.X == nil || batch.X.NDim() != 2 || batch.X.Dim(0) == 0:
		return nil, errors.New("landscape.NewModelObjective: batch.X must be a non-empty [n, d] tensor")
	}
	params := model.Params()
	o := &ModelObjective[T]{model: model, loss: loss, batch: batch, params: params, tape: autograd.NewTape[T]()}
	for _, p := range params {
		o.dim += p.Value.Len()
		o.vs = append(o.vs, tensor.New[T](p.Value.Shape()...))
	}
	if o.dim == 0 {
		return nil, errors.New("landscape.NewModelObjective: model has no parameters")
	}
	o.saved = make([]T, o.dim)
	o.bufs = nn.Buffers(model)
	for _, b := range o.bufs {
		o.bufSaved = append(o.bufSaved, b.Value.Data()...)
	}
	return o, nil
}

// BatchOf returns a batch holding copies of the given rows of ds (all rows
// if rows is nil), for a ModelObjective on a fixed subset. With oneHot and
// a dataset that has labels but no Y, Y is filled with one-hot rows, as a
// data.Loader with OneHot does, for training a classifier with MSE.
func BatchOf[T tensor.Float](ds *data.Dataset[T], rows []int, oneHot bool) (*data.Batch[T], error) {
	if ds == nil || ds.X == nil {
		return nil, errors.New("landscape.BatchOf: dataset is nil or has no X")
	}
	if rows == nil {
		rows = make([]int, ds.Len())
		for i := range rows {
			rows[i] = i
		}
	}
	if len(rows) == 0 {
		return nil, errors.New("landscape.BatchOf: rows is empty")
	}
	for _, r := range rows {
		if r < 0 || r >= ds.Len() {
			return nil, fmt.Errorf("landscape.BatchOf: row %d out of range [0, %d)", r, ds.Len())
		}
	}
	sub := ds.Subset(rows)
	b := &data.Batch[T]{X: sub.X, Labels: sub.Labels, Y: sub.Y, Rows: append([]int(nil), rows...)}
	if oneHot && b.Y == nil {
		if sub.Labels == nil {
			return nil, errors.New("landscape.BatchOf: oneHot needs a dataset with labels")
		}
		y, err := data.OneHot[T](sub.Labels, ds.NumClasses)
		if err != nil {
			return nil, fmt.Errorf("landscape.BatchOf: %w", err)
		}
		b.Y = y
	}
	return b, nil
}

// Dim implements Objective: the number of scalar parameters.
func (o *ModelObjective[T]) Dim() int { return o.dim }

// Batch returns the batch the objective is evaluated on.
func (o *ModelObjective[T]) Batch() *data.Batch[T] { return o.batch }

// Point appends the model's current parameters, flattened, to dst[:0].
func (o *ModelObjective[T]) Point(dst []float64) []float64 {
	dst = dst[:0]
	for _, p := range o.params {
		for _, v := range p.Value.Data() {
			dst = append(dst, float64(v))
		}
	}
	return dst
}

// enter saves the parameters and loads x into them; leave restores them.
func (o *ModelObjective[T]) enter(x []float64) {
	if len(x) != o.dim {
		panic(fmt.Sprintf("landscape.ModelObjective: point of length %d, want %d", len(x), o.dim))
	}
	k := 0
	for _, p := range o.params {
		d := p.Value.Data()
		copy(o.saved[k:], d)
		for i := range d {
			d[i] = T(x[k+i])
		}
		k += len(d)
	}
	saveBuffers(o.bufs, o.bufSaved)
}

func (o *ModelObjective[T]) leave() {
	k := 0
	for _, p := range o.params {
		d := p.Value.Data()
		copy(d, o.saved[k:k+len(d)])
		k += len(d)
	}
	restoreBuffers(o.bufs, o.bufSaved)
}

// saveBuffers copies the values of bufs into dst, which holds them all.
func saveBuffers[T tensor.Float](bufs []*nn.Buffer[T], dst []T) {
	k := 0
	for _, b := range bufs {
		k += copy(dst[k:], b.Value.Data())
	}
}

// restoreBuffers copies saveBuffers' dst back into bufs.
func restoreBuffers[T tensor.Float](bufs []*nn.Buffer[T], src []T) {
	k := 0
	for _, b := range bufs {
		k += copy(b.Value.Data(), src[k:])
	}
}

// forward records the loss on the batch on a fresh step of the tape.
func (o *ModelObjective[T]) forward() (out, loss *autograd.Var[T]) {
	o.tape.Reset()
	out = o.model.Forward(o.tape, o.tape.Const(o.batch.X))
	loss = o.loss.Eval(out, o.batch)
	o.vars = nn.ParamVars(o.vars, o.tape, o.model)
	return out, loss
}

func (o *ModelObjective[T]) flatten(vs []*autograd.Var[T], dst []float64) {
	k := 0
	for _, v := range vs {
		for _, e := range v.Value().Data() {
			dst[k] = float64(e)
			k++
		}
	}
}

// Value implements Objective.
func (o *ModelObjective[T]) Value(x []float64) float64 {
	o.enter(x)
	defer o.leave()
	prev := o.tape.SetGradEnabled(false)
	defer o.tape.SetGradEnabled(prev)
	o.tape.Reset()
	out := o.model.Forward(o.tape, o.tape.Const(o.batch.X))
	return float64(o.loss.Eval(out, o.batch).Item())
}

// Grad implements Objective.
func (o *ModelObjective[T]) Grad(x, dst []float64) float64 {
	o.enter(x)
	defer o.leave()
	_, loss := o.forward()
	o.flatten(o.tape.Grad(loss, o.vars, autograd.GradOptions[T]{}), dst)
	return float64(loss.Item())
}

// HVP implements Objective by double backward.
func (o *ModelObjective[T]) HVP(x, v, dst []float64) {
	if len(o.gbuf) != o.dim {
		o.gbuf = make([]float64, o.dim)
	}
	o.GradHVP(x, v, o.gbuf, dst)
}

// GradHVP writes grad f(x) into g and the Hessian-vector product
// (Hess f)(x) v into hv from one double backward, and returns f(x). A nil
// v means v = grad f(x): hv is then H grad f, the gradient of
// |grad f|^2/2 (the correction term of a modified gradient flow).
func (o *ModelObjective[T]) GradHVP(x, v, g, hv []float64) float64 {
	o.enter(x)
	defer o.leave()
	var vs []*tensor.Tensor[T]
	if v != nil {
		k := 0
		for _, t := range o.vs {
			d := t.Data()
			for i := range d {
				d[i] = T(v[k+i])
			}
			k += len(d)
		}
		vs = o.vs
	}
	_, loss := o.forward()
	gs, hvs := o.tape.GradHVP(loss, o.vars, vs)
	o.flatten(gs, g)
	o.flatten(hvs, hv)
	return float64(loss.Item())
}

// PerExampleGrads returns the n x P matrix whose row i is the gradient at x
// of the per-example loss l_i, where the batch loss is L = (1/n) sum_i l_i,
// so that the rows average to grad L. The adjoint of the batch loss with
// respect to the outputs, times n, is the per-example seed dl_i/df_i; for
// an *nn.MLP the rows then come from nn.PerExampleGrads (one forward and
// one backward pass for the whole batch), for another Module from one
// backward pass per example.
func (o *ModelObjective[T]) PerExampleGrads(x []float64) *mat.Dense {
	o.enter(x)
	defer o.leave()
	n := o.batch.X.Dim(0)
	out, loss := o.forward()
	g := mat.NewDense(n, o.dim, nil)
	if mlp, ok := o.model.(*nn.MLP[T]); ok {
		dout := o.tape.Grad(loss, []*autograd.Var[T]{out}, autograd.GradOptions[T]{})[0].Value()
		seed := tensor.Scale(dout, T(n))
		pe := nn.PerExampleGrads(mlp, o.batch.X, seed)
		pd := pe.Data()
		for i := range n {
			row := g.RawRowView(i)
			for j := range row {
				row[j] = float64(pd[i*o.dim+j])
			}
		}
		return g
	}
	one := &data.Batch[T]{}
	for i := range n {
		one.X = o.batch.X.Rows(i, i+1)
		if o.batch.Y != nil {
			one.Y = o.batch.Y.Rows(i, i+1)
		}
		if o.batch.Labels != nil {
			one.Labels = o.batch.Labels[i : i+1]
		}
		if o.batch.Rows != nil {
			one.Rows = o.batch.Rows[i : i+1]
		}
		o.tape.Reset()
		out := o.model.Forward(o.tape, o.tape.Const(one.X))
		li := o.loss.Eval(out, one)
		o.vars = nn.ParamVars(o.vars, o.tape, o.model)
		o.flatten(o.tape.Grad(li, o.vars, autograd.GradOptions[T]{}), g.RawRowView(i))
	}
	return g
}
