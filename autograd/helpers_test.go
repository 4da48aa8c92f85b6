package autograd

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

// gradTol is the bound on GradCheck's error asked of every op: central
// differences in float64 at eps = 1e-6 are accurate to about 1e-10 on these
// O(1) inputs, so 1e-6 leaves four orders of margin and still catches any
// wrong derivative (an error in a backward rule is O(1)).
const gradTol = 1e-6

type fn = func(tp *Tape[float64], xs []*Var[float64]) *Var[float64]

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 99)) }

// randAway returns a tensor with entries of magnitude in [0.2, 1.5] and
// random signs: away from the kinks of relu, abs and max at 0, so that
// finite differences see a smooth function.
func randAway(rng *rand.Rand, shape ...int) *tensor.Tensor[float64] {
	x := tensor.RandU(rng, 0.2, 1.5, shape...)
	for i, v := range x.Data() {
		if rng.IntN(2) == 0 {
			x.Data()[i] = -v
		}
	}
	return x
}

// randPos returns a tensor with entries in [0.5, 2] (for log, sqrt, pow).
func randPos(rng *rand.Rand, shape ...int) *tensor.Tensor[float64] {
	return tensor.RandU(rng, 0.5, 2, shape...)
}

// checkOp runs GradCheck on f, then the second-order check: the gradient
// of s(x) = <grad_x <u, f(x)>, w> computed by double backward against
// finite differences of the first-order gradient. Both must be within
// gradTol.
func checkOp(t *testing.T, f fn, inputs ...*tensor.Tensor[float64]) {
	t.Helper()
	if e, err := GradCheck(f, inputs, GradCheckOptions{Tol: gradTol}); err != nil {
		t.Errorf("first order: %v", err)
	} else if e > gradTol {
		t.Errorf("first order: error %g", e)
	}
	// Fixed random directions for the second-order check.
	rng := newRNG(7)
	tp := NewTape[float64]()
	xs := make([]*Var[float64], len(inputs))
	for i, x := range inputs {
		xs[i] = tp.Leaf(x, nil)
	}
	u := tensor.RandN(rng, 0.0, 1.0, f(tp, xs).Shape()...)
	ws := make([]*tensor.Tensor[float64], len(inputs))
	for i, x := range inputs {
		ws[i] = tensor.RandN(rng, 0.0, 1.0, x.Shape()...)
	}
	second := func(tp *Tape[float64], xs []*Var[float64]) *Var[float64] {
		y := f(tp, xs)
		gs := tp.Grad(y, xs, GradOptions[float64]{CreateGraph: true, Seed: tp.Const(u)})
		var s *Var[float64]
		for i, g := range gs {
			d := Sum(Mul(g, tp.Const(ws[i])))
			if s == nil {
				s = d
			} else {
				s = Add(s, d)
			}
		}
		return s
	}
	if _, err := GradCheck(second, inputs, GradCheckOptions{Tol: gradTol}); err != nil {
		t.Errorf("second order: %v", err)
	}
}

// mustPanic fails unless f panics with a message containing every want.
func mustPanic(t *testing.T, f func(), want ...string) {
	t.Helper()
	msg := func() (msg string) {
		defer func() {
			if r := recover(); r != nil {
				msg = fmt.Sprint(r)
			}
		}()
		f()
		return "<no panic>"
	}()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("panic message %q does not contain %q", msg, w)
		}
	}
}
