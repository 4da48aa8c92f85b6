package optim

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/gradflow/gradflow/internal/nilcheck"
	"github.com/gradflow/gradflow/tensor"
)

// aggregated is what IAG and SAG share: a table of the last gradient seen
// of every term f_i of a FiniteSum, their running average, and the step
//
//	for j in the step's indices:  avg += (grad f_j(x) - table_j)/n;  table_j = grad f_j(x)
//	x <- prox_{eta g}(x - eta avg)
//
// The two methods differ only in which indices a step visits (next). The
// average is updated incrementally, as SAGA's: its rounding error grows like
// sqrt(steps) times the unit roundoff of the table's entries, far below what
// the rate tests resolve.
type aggregated[T tensor.Float] struct {
	base[T, ProxConfig[T]]
	f      FiniteSum
	n      int
	one    []int
	filled bool
	next   func() []int
}

const (
	aggTable = iota
	aggAvg
)

// newAggregated validates the arguments shared by NewIAG and NewSAG and
// builds the table-keeping core; the caller sets next.
func newAggregated[T tensor.Float](kind, ctor string, params []*Param[T], f FiniteSum, cfg VRConfig[T]) (*aggregated[T], int, error) {
	if nilcheck.Nil(f) {
		return nil, 0, fmt.Errorf("optim: %s: the objective is nil", ctor)
	}
	batch, _, err := cfg.check(kind, f.Len())
	if err != nil {
		return nil, 0, err
	}
	n := f.Len()
	o := &aggregated[T]{f: f, n: n, one: make([]int, 1)}
	o.init(kind, "table", "avg")
	o.bufLen = func(b, m int) int {
		if b == aggTable {
			return n * m
		}
		return m
	}
	if err := o.AddGroup(ProxConfig[T]{LR: cfg.LR, Prox: cfg.Prox}, params...); err != nil {
		return nil, 0, err
	}
	return o, batch, nil
}

// eachParam calls fn for every parameter of every group, with the group's
// hyperparameters, the parameter's slot and its length (the methods for
// finite sums, which call FiniteSum.Grad between passes, use it).
func (o *base[T, H]) eachParam(fn func(h *H, p *Param[T], s *slot[T], n int)) {
	for gi := range o.groups {
		g := &o.groups[gi]
		for pi, p := range g.params {
			fn(&g.hyper, p, &g.slots[pi], p.Value.Len())
		}
	}
}

// fill stores the gradient of every term at the current point (n calls of
// FiniteSum.Grad) and their average.
func (o *aggregated[T]) fill() {
	o.eachParam(func(_ *ProxConfig[T], _ *Param[T], s *slot[T], n int) {
		clear(o.buf(s, aggAvg, n))
		o.buf(s, aggTable, n)
	})
	inv := T(1 / float64(o.n))
	for i := 0; i < o.n; i++ {
		o.one[0] = i
		o.f.Grad(o.one)
		o.eachParam(func(_ *ProxConfig[T], p *Param[T], s *slot[T], n int) {
			checkFilled(o.kind, p)
			g, avg := p.Grad.Data()[:n], s.bufs[aggAvg][:n]
			copy(s.bufs[aggTable][i*n:(i+1)*n], g)
			for k, v := range g {
				avg[k] += inv * v
			}
		})
	}
	o.filled = true
}

// Step refreshes the table entries of the step's indices at the current
// point and moves along the average of the table (filling the table first
// if needed). It overwrites the parameters' Grad.
func (o *aggregated[T]) Step() {
	o.steps++
	if !o.filled {
		o.fill()
	}
	inv := T(1 / float64(o.n))
	for _, j := range o.next() {
		o.one[0] = j
		o.f.Grad(o.one)
		o.eachParam(func(_ *ProxConfig[T], p *Param[T], s *slot[T], n int) {
			checkFilled(o.kind, p)
			g, row, avg := p.Grad.Data()[:n], s.bufs[aggTable][j*n:(j+1)*n], s.bufs[aggAvg][:n]
			for k := range g {
				avg[k] += inv * (g[k] - row[k])
			}
			copy(row, g)
		})
	}
	o.eachParam(func(h *ProxConfig[T], p *Param[T], s *slot[T], n int) {
		s.step++
		eta := h.LR * lrScale(p)
		x, avg := p.Value.Data()[:n], s.bufs[aggAvg][:n]
		for k := range x {
			x[k] -= T(eta) * avg[k]
		}
		if h.Prox != nil {
			h.Prox.Prox(x, x, eta)
		}
	})
}

// extras returns the scalar state every aggregated method saves, plus m.
func (o *aggregated[T]) extras(m map[string]float64) map[string]float64 {
	if m == nil {
		m = map[string]float64{}
	}
	m["filled"] = 0
	if o.filled {
		m["filled"] = 1
	}
	return m
}

// IAG is the incremental aggregated gradient method of Blatt, Hero and
// Gauchman (2007). It visits the terms of f = (1/n) sum_i f_i in cyclic
// order, BatchSize consecutive indices (mod n) per step, refreshes their
// stored gradients at the current point and steps along the average of all
// n stored gradients:
//
//	for j in the step's block:  table_j = grad f_j(x_k)
//	x_{k+1} = prox_{eta g}(x_k - eta (1/n) sum_i table_i)
//
// so the step uses gradients that are at most ceil(n/BatchSize) - 1 steps
// old. Blatt et al. state the method for the sum sum_i f_i; with the average
// their step mu corresponds to eta = n mu. For f strongly convex and eta
// small enough it converges linearly (Blatt et al. 2007, Gurbuzbalaban,
// Ozdaglar and Parrilo 2017); the delays cost little when eta n L_max << 1,
// where IAG contracts like gradient descent with the same eta, 1 - eta mu per
// step on the slowest direction (the test checks this). Unlike SAG the order
// is deterministic, so no random source is needed. The first Step fills the
// table at the starting point (n calls of FiniteSum.Grad); memory is n times
// the number of parameters. Step overwrites the parameters' Grad.
type IAG[T tensor.Float] struct {
	*aggregated[T]
	cursor int
	block  []int
}

// NewIAG returns an IAG optimizer over params for the objective f
// (cfg.EpochLen is ignored).
func NewIAG[T tensor.Float](params []*Param[T], f FiniteSum, cfg VRConfig[T]) (*IAG[T], error) {
	a, batch, err := newAggregated("IAG", "NewIAG", params, f, cfg)
	if err != nil {
		return nil, err
	}
	a.kind = "iag"
	o := &IAG[T]{aggregated: a, block: make([]int, batch)}
	a.next = func() []int {
		for k := range o.block {
			o.block[k] = o.cursor
			o.cursor = (o.cursor + 1) % a.n
		}
		return o.block
	}
	a.saveExtra = func() map[string]float64 {
		return a.extras(map[string]float64{"cursor": float64(o.cursor)})
	}
	a.loadExtra = func(m map[string]float64) (func(), error) {
		c, ok := m["cursor"]
		if !ok || c < 0 || c >= float64(a.n) || c != float64(int(c)) {
			return nil, fmt.Errorf("missing or invalid extra \"cursor\" (want an integer in [0, %d))", a.n)
		}
		return func() { o.cursor, a.filled = int(c), m["filled"] == 1 }, nil
	}
	return o, nil
}

// SAG is the stochastic average gradient method of Schmidt, Le Roux and
// Bach (2017; Le Roux, Schmidt and Bach 2012). Each step draws BatchSize
// distinct indices uniformly at random (independently across steps),
// refreshes their stored gradients at the current point and steps along the
// average of all n stored gradients:
//
//	for j in the sampled batch:  table_j = grad f_j(x_k)
//	x_{k+1} = prox_{eta g}(x_k - eta (1/n) sum_i table_i)
//
// Unlike SAGA's, the direction is a biased estimate of grad f(x_k) (the
// refreshed term enters with weight 1/n, not 1), which lowers its variance.
// Schmidt et al. (2017, Thm. 1), for BatchSize 1, each f_i L-smooth (L =
// L_max), f mu-strongly convex and eta = 1/(16 L):
//
//	E f(x_k) - f* <= (1 - min(mu/(16 L), 1/(8 n)))^k C_0,
//
// with C_0 depending on x_0 and the initial table (they analyse a zero
// table; the contraction of their Lyapunov function holds for any table,
// here filled with the gradients at x_0 as SAGA does). The first Step fills
// the table (n calls of FiniteSum.Grad); memory is n times the number of
// parameters. Step overwrites the parameters' Grad.
type SAG[T tensor.Float] struct {
	*aggregated[T]
	sample sampler
}

// NewSAG returns a SAG optimizer over params for the objective f, drawing
// indices from rng (cfg.EpochLen is ignored).
func NewSAG[T tensor.Float](params []*Param[T], f FiniteSum, cfg VRConfig[T], rng *rand.Rand) (*SAG[T], error) {
	a, batch, err := newAggregated("SAG", "NewSAG", params, f, cfg)
	if err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, errors.New("optim: NewSAG: rng is nil (want a seeded *rand.Rand)")
	}
	a.kind = "sag"
	o := &SAG[T]{aggregated: a, sample: sampler{rng: rng, n: a.n, batch: make([]int, batch)}}
	a.next = o.sample.draw
	a.saveExtra = func() map[string]float64 { return a.extras(nil) }
	a.loadExtra = func(m map[string]float64) (func(), error) {
		return func() { a.filled = m["filled"] == 1 }, nil
	}
	return o, nil
}
