package autograd

import "testing"

func TestRowsGrad(t *testing.T) {
	rng := newRNG(11)
	f := func(tp *Tape[float64], x []*Var[float64]) *Var[float64] {
		r := Rows(x[0], 1, 3)
		return Mul(r, r)
	}
	checkOp(t, f, randAway(rng, 4, 3))
}

// TestRowsIsView checks that Rows shares data with its operand and that the
// cached view follows a change of range.
func TestRowsIsView(t *testing.T) {
	tp := NewTape[float64]()
	x := randAway(newRNG(1), 4, 3)
	for step, i := range []int{1, 1, 2} {
		tp.Reset()
		r := Rows(tp.Const(x), i, i+2)
		if r.Value().At(0, 0) != x.At(i, 0) || &r.Value().Data()[0] != &x.Data()[i*3] {
			t.Fatalf("step %d: Rows(%d, %d) is not a view of row %d", step, i, i+2, i)
		}
	}
}
