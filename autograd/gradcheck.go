package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gradflow/gradflow/tensor"
)

// GradCheckOptions configures GradCheck. The zero value selects the
// defaults.
type GradCheckOptions struct {
	// Eps is the step of the central differences (default 1e-6). Their
	// truncation error is O(Eps^2 |f'''|) and their rounding error
	// O(2^-53 |f| / Eps): about 1e-10 relative at the default.
	Eps float64
	// Tol is the largest accepted error (default 1e-6), measured per
	// element as |analytic - numeric| / max(1, |numeric|): relative for
	// gradients above 1, absolute below, so that tiny gradients are not
	// held to a relative standard that finite differences cannot meet.
	Tol float64
	// Seed seeds the random projection u of a non-scalar output.
	Seed uint64
}

// GradCheck compares the gradients that the tape computes for f with
// central finite differences, in float64.
//
// f builds its output from leaves holding the inputs; it is called once for
// the analytic gradient and twice per input element for the numeric one,
// each time on a freshly reset tape. A non-scalar output y is reduced to
// the scalar <u, y> with a fixed random u, so that one VJP checks the whole
// Jacobian in the direction u. f may itself call Grad with CreateGraph (to
// check second derivatives: the analytic side then runs a double
// backward). GradCheck returns the largest error found, and an error
// naming the input and element where it exceeds Tol.
func GradCheck(f func(t *Tape[float64], xs []*Var[float64]) *Var[float64], inputs []*tensor.Tensor[float64],
	opts GradCheckOptions) (maxErr float64, err error) {
	eps, tol := opts.Eps, opts.Tol
	if eps == 0 {
		eps = 1e-6
	}
	if tol == 0 {
		tol = 1e-6
	}
	tp := NewTape[float64]()
	leaves := func() []*Var[float64] {
		xs := make([]*Var[float64], len(inputs))
		for i, x := range inputs {
			xs[i] = tp.Leaf(x, nil)
		}
		return xs
	}
	xs := leaves()
	y := f(tp, xs)
	u := tensor.New[float64](y.Shape()...)
	if u.Len() == 1 {
		u.Fill(1)
	} else {
		tensor.FillRandN(u, rand.New(rand.NewPCG(opts.Seed, 0x5eed)), 0, 1)
	}
	var analytic []*tensor.Tensor[float64]
	for _, g := range tp.Grad(y, xs, GradOptions[float64]{Seed: tp.Const(u)}) {
		analytic = append(analytic, g.Value().Clone())
	}
	eval := func() float64 {
		tp.Reset()
		y := f(tp, leaves())
		return tensor.Dot(y.Value(), u)
	}
	for i, x := range inputs {
		d := x.Data()
		for j := range d {
			orig := d[j]
			d[j] = orig + eps
			fp := eval()
			d[j] = orig - eps
			fm := eval()
			d[j] = orig
			num := (fp - fm) / (2 * eps)
			a := analytic[i].Data()[j]
			e := math.Abs(a-num) / math.Max(1, math.Abs(num))
			if e > maxErr || math.IsNaN(e) {
				maxErr = e
			}
			if (e > tol || math.IsNaN(e)) && err == nil {
				err = fmt.Errorf("autograd.GradCheck: input %d %v, element %d: analytic %.12g, numeric %.12g (error %.3g > %.3g)",
					i, x.Shape(), j, a, num, e, tol)
			}
		}
	}
	return maxErr, err
}
