package autograd

import (
	"math"

	"github.com/gradflow/gradflow/tensor"
)

// CrossEntropy returns the mean over the batch of the softmax cross-entropy
// of logits z [n, c] with class indices labels (n values in [0, c)):
//
//	-1/n sum_i log softmax(z_i)[labels[i]] = 1/n sum_i (lse(z_i) - z_i[labels[i]])
//
// as torch.nn.CrossEntropyLoss. It is one op rather than the composition
// Neg(Mean(Pick(LogSoftmax(z, 1), labels))): the forward pass makes one
// max-shifted pass over the logits and keeps the softmax, and the backward
// pass is the single expression (softmax(z) - onehot(labels)) * g/n, where
// the composition would record and run seven ops. For a small model that
// per-op overhead is a visible share of a training step. labels is read
// again by the backward pass: keep it unchanged until then. The labels are
// int32, the type data.Dataset and data.Batch hold them in, so a training
// step passes them through without a conversion.
func CrossEntropy[T Float](logits *Var[T], labels []int32) *Var[T] {
	t := logits.tape
	s := logits.Shape()
	if len(s) != 2 || len(labels) != s[0] {
		panic("autograd.CrossEntropy: need 2-D logits and one label per row (as Pick), got shape " + shapeStr(s) +
			" and " + itoa(len(labels)) + " labels")
	}
	n, c := s[0], s[1]
	for i, k := range labels {
		if k < 0 || int(k) >= c {
			panic("autograd.CrossEntropy: label " + itoa(int(k)) + " in row " + itoa(i) + " out of range for logits of shape " + shapeStr(s))
		}
	}
	v := t.newVar()
	out := v.out()
	if n == 0 {
		out.Data()[0] = T(math.NaN()) // the mean of nothing, as torch
		t.record(v, crossEntropyOp[T]{}, logits, nil)
		return v
	}
	// p holds exp(z - max) and then the softmax, for the backward pass.
	p := v.aux(n, c)
	pd := p.Data()
	shiftByRowMax(pd, logits.value.Data(), c)
	// The picked shifted logit is read before the exponentials overwrite it.
	var loss float64
	for i, k := range labels {
		loss -= float64(pd[i*c+int(k)])
	}
	tensor.ExpInto(p, p)
	for r := 0; r < n*c; r += c {
		o := pd[r : r+c]
		var sum float64
		for _, e := range o {
			sum += float64(e)
		}
		loss += math.Log(sum)
		inv := T(1 / sum)
		for j := range o {
			o[j] *= inv
		}
	}
	out.Data()[0] = T(loss / float64(n))
	if t.record(v, crossEntropyOp[T]{}, logits, nil) {
		v.labels = labels
	}
	return v
}

type crossEntropyOp[T Float] struct{}

func (crossEntropyOp[T]) name() string { return "CrossEntropy" }

// dz = (softmax(z) - onehot(labels)) * g/n. When the backward pass is not
// recorded, the softmax kept by the forward pass gives dz in one pass;
// otherwise dz is built from differentiable ops so that it can be
// differentiated again.
func (crossEntropyOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	a := v.in[0]
	if !t.wants(a) {
		return
	}
	s := a.Shape()
	n, c := s[0], s[1]
	if n == 0 {
		return
	}
	if !t.recording {
		dz := t.constLike(s)
		d, p := dz.value.Data(), v.scratch.Data()
		scale := g.value.Item() / T(n)
		for i := range d {
			d[i] = p[i] * scale
		}
		for i, k := range v.labels {
			d[i*c+int(k)] -= scale
		}
		t.accum(a, dz)
		return
	}
	onehot := t.constLike(s)
	oh := onehot.value.Data()
	clear(oh)
	for i, k := range v.labels {
		oh[i*c+int(k)] = 1
	}
	t.accum(a, Mul(g, Scale(Sub(Softmax(a, 1), onehot), 1/float64(n))))
}
