package autograd

import "testing"

func TestSumGrad(t *testing.T) {
	rng := newRNG(8)
	sq := func(v *Var[float64]) *Var[float64] { return Mul(v, v) }
	cases := map[string]fn{
		"Sum":          func(tp *Tape[float64], x []*Var[float64]) *Var[float64] { return sq(Sum(sq(x[0]))) },
		"Mean":         func(tp *Tape[float64], x []*Var[float64]) *Var[float64] { return sq(Mean(sq(x[0]))) },
		"SumAxis0":     func(tp *Tape[float64], x []*Var[float64]) *Var[float64] { return sq(SumAxis(sq(x[0]), 0, false)) },
		"SumAxis1Keep": func(tp *Tape[float64], x []*Var[float64]) *Var[float64] { return sq(SumAxis(sq(x[0]), 1, true)) },
		"SumAxisLast":  func(tp *Tape[float64], x []*Var[float64]) *Var[float64] { return sq(SumAxis(sq(x[0]), -1, false)) },
		"MeanAxis":     func(tp *Tape[float64], x []*Var[float64]) *Var[float64] { return sq(MeanAxis(sq(x[0]), 1, false)) },
		"BroadcastTo":  func(tp *Tape[float64], x []*Var[float64]) *Var[float64] { return sq(BroadcastTo(Sum(x[0]), 2, 3)) },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) { checkOp(t, f, randAway(rng, 2, 3, 4)) })
	}
}
