package optim

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/gradflow/gradflow/internal/nilcheck"
	"github.com/gradflow/gradflow/tensor"
)

// FiniteSum is an objective that is an average of n terms,
//
//	f(x) = (1/n) sum_{i<n} f_i(x),
//
// typically the empirical risk over n training examples. The
// variance-reduced methods (SVRG, SAGA) call it to obtain gradients of
// chosen terms at the parameters' current Values.
//
// An implementation over a model sets up the batch of examples, runs the
// forward pass, takes the mean loss over the batch and back-propagates; the
// per-example gradients of autograd (one Jacobian row per example) can serve
// Grad([]int{i}) calls for many i from one pass.
type FiniteSum interface {
	// Len returns n, the number of terms (>= 1).
	Len() int
	// Grad overwrites every parameter's Grad with the gradient, at the
	// current Values, of (1/|batch|) sum_{i in batch} f_i. The indices are
	// distinct and in [0, n). batch is only valid during the call.
	Grad(batch []int)
}

// VRConfig configures SVRG and SAGA: group 0's learning rate and optional
// Prox (the proximal variants of Xiao and Zhang 2014 and Defazio et al.
// 2014), the minibatch size, and SVRG's epoch length.
type VRConfig[T tensor.Float] struct {
	// LR is group 0's step size. The linear rates hold for eta of order
	// 1/L_max, L_max the largest smoothness constant of the f_i (SAGA:
	// eta = 1/(3 L_max); SVRG: eta = 1/(10 L_max) with EpochLen ~ 50 kappa
	// in Johnson and Zhang's analysis, 2n in their experiments).
	LR float64
	// Prox is group 0's nonsmooth term g (nil: none).
	Prox Prox[T]
	// BatchSize is the number of distinct terms sampled per step (0 means
	// 1; at most n).
	BatchSize int
	// EpochLen is SVRG's number of steps between snapshots (0 means
	// 2n/BatchSize, Johnson and Zhang's choice for convex problems).
	// SAGA ignores it.
	EpochLen int
}

func (c VRConfig[T]) check(kind string, n int) (batch, epoch int, err error) {
	if n < 1 {
		return 0, 0, fmt.Errorf("optim: %s: FiniteSum has Len() = %d terms, want >= 1", kind, n)
	}
	batch, epoch = c.BatchSize, c.EpochLen
	if batch == 0 {
		batch = 1
	}
	if batch < 0 || batch > n {
		return 0, 0, errField(kind, "BatchSize", c.BatchSize, fmt.Sprintf("in [0, n = %d]", n))
	}
	if epoch == 0 {
		epoch = max(1, 2*n/batch)
	}
	if epoch < 0 {
		return 0, 0, errField(kind, "EpochLen", c.EpochLen, ">= 0")
	}
	return batch, epoch, nil
}

// sampler draws minibatches of distinct indices by rejection, which keeps
// no state besides the caller's random source (so a checkpoint of that
// source reproduces the draws) and costs O(B^2) per batch.
type sampler struct {
	rng   *rand.Rand
	n     int
	batch []int
}

func (s *sampler) draw() []int {
	for k := range s.batch {
	again:
		j := s.rng.IntN(s.n)
		for _, i := range s.batch[:k] {
			if i == j {
				goto again
			}
		}
		s.batch[k] = j
	}
	return s.batch
}

// SVRG is stochastic variance-reduced gradient (Johnson and Zhang 2013).
// Every EpochLen steps it takes a snapshot xs of the parameters and the full
// gradient mu = grad f(xs); each step samples a minibatch B and moves along
// an unbiased gradient estimate whose variance vanishes as x and xs approach
// the optimum:
//
//	v = grad f_B(x) - grad f_B(xs) + mu
//	x <- prox_{eta g}(x - eta v)
//
// On a strongly convex finite sum this converges linearly with a constant
// step, where plain SGD needs decreasing steps and converges at O(1/t).
// Step overwrites the parameters' Grad (with grad f_B(xs)).
type SVRG[T tensor.Float] struct {
	base[T, ProxConfig[T]]
	f      FiniteSum
	epoch  int
	inner  int64 // steps since construction; a snapshot is due when inner%epoch == 0
	all    []int
	sample sampler
}

const (
	svrgSnapshot = iota
	svrgFullGrad
	svrgGrad
	svrgX
)

// NewSVRG returns an SVRG optimizer over params for the objective f, drawing
// minibatches from rng.
func NewSVRG[T tensor.Float](params []*Param[T], f FiniteSum, cfg VRConfig[T], rng *rand.Rand) (*SVRG[T], error) {
	if nilcheck.Nil(f) {
		return nil, errors.New("optim: NewSVRG: the objective is nil")
	}
	batch, epoch, err := cfg.check("SVRG", f.Len())
	if err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, errors.New("optim: NewSVRG: rng is nil (want a seeded *rand.Rand)")
	}
	o := &SVRG[T]{f: f, epoch: epoch, sample: sampler{rng: rng, n: f.Len(), batch: make([]int, batch)}}
	o.all = make([]int, f.Len())
	for i := range o.all {
		o.all[i] = i
	}
	o.init("svrg", "snapshot", "full_grad", "grad", "x")
	if err := o.AddGroup(ProxConfig[T]{LR: cfg.LR, Prox: cfg.Prox}, params...); err != nil {
		return nil, err
	}
	o.saveExtra = func() map[string]float64 { return map[string]float64{"inner": float64(o.inner)} }
	o.loadExtra = func(m map[string]float64) (func(), error) {
		in, ok := m["inner"]
		if !ok || in < 0 {
			return nil, fmt.Errorf("missing or negative extra \"inner\"")
		}
		return func() { o.inner = int64(in) }, nil
	}
	return o, nil
}

// Step performs one SVRG step (taking a snapshot first when one is due).
func (o *SVRG[T]) Step() {
	o.steps++
	if o.inner%int64(o.epoch) == 0 {
		o.f.Grad(o.all)
		o.eachParam(func(_ *ProxConfig[T], p *Param[T], s *slot[T], n int) {
			checkFilled(o.kind, p)
			copy(o.buf(s, svrgSnapshot, n), p.Value.Data())
			copy(o.buf(s, svrgFullGrad, n), p.Grad.Data())
		})
	}
	o.inner++
	batch := o.sample.draw()
	o.f.Grad(batch)
	o.eachParam(func(_ *ProxConfig[T], p *Param[T], s *slot[T], n int) {
		checkFilled(o.kind, p)
		copy(o.buf(s, svrgGrad, n), p.Grad.Data())
		copy(o.buf(s, svrgX, n), p.Value.Data())
		copy(p.Value.Data(), s.bufs[svrgSnapshot])
	})
	o.f.Grad(batch)
	o.eachParam(func(h *ProxConfig[T], p *Param[T], s *slot[T], n int) {
		checkFilled(o.kind, p)
		s.step++
		eta := h.LR * lrScale(p)
		a := T(eta)
		x, gs := p.Value.Data()[:n], p.Grad.Data()[:n]
		g, mu, x0 := s.bufs[svrgGrad][:n], s.bufs[svrgFullGrad][:n], s.bufs[svrgX][:n]
		for i := range x {
			x[i] = x0[i] - a*(g[i]-gs[i]+mu[i])
		}
		if h.Prox != nil {
			h.Prox.Prox(x, x, eta)
		}
	})
}

// SAGA is the incremental gradient method of Defazio, Bach and
// Lacoste-Julien (2014). It keeps a table of the last gradient seen of every
// term f_i and their average; each step samples a minibatch B, evaluates
// g_j = grad f_j(x) for j in B and moves along
//
//	v = (1/|B|) sum_{j in B} (g_j - table_j) + mean_i table_i
//	x <- prox_{eta g}(x - eta v)
//
// then stores g_j in the table. The first Step fills the table with the
// gradients at the starting point (n calls of FiniteSum.Grad). Memory is
// n times the number of parameters; for linear models, where grad f_i is a
// multiple of the example, storing the scalar would do, but FiniteSum hides
// that structure. Step overwrites the parameters' Grad.
type SAGA[T tensor.Float] struct {
	base[T, ProxConfig[T]]
	f      FiniteSum
	n      int
	one    []int
	filled bool
	sample sampler
}

const (
	sagaTable = iota
	sagaAvg
	sagaV
	sagaDelta
)

// NewSAGA returns a SAGA optimizer over params for the objective f, drawing
// minibatches from rng.
func NewSAGA[T tensor.Float](params []*Param[T], f FiniteSum, cfg VRConfig[T], rng *rand.Rand) (*SAGA[T], error) {
	if nilcheck.Nil(f) {
		return nil, errors.New("optim: NewSAGA: the objective is nil")
	}
	batch, _, err := cfg.check("SAGA", f.Len())
	if err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, errors.New("optim: NewSAGA: rng is nil (want a seeded *rand.Rand)")
	}
	n := f.Len()
	o := &SAGA[T]{f: f, n: n, one: make([]int, 1), sample: sampler{rng: rng, n: n, batch: make([]int, batch)}}
	o.init("saga", "table", "avg", "v", "delta")
	o.bufLen = func(b, m int) int {
		if b == sagaTable {
			return n * m
		}
		return m
	}
	if err := o.AddGroup(ProxConfig[T]{LR: cfg.LR, Prox: cfg.Prox}, params...); err != nil {
		return nil, err
	}
	o.saveExtra = func() map[string]float64 {
		if o.filled {
			return map[string]float64{"filled": 1}
		}
		return map[string]float64{"filled": 0}
	}
	o.loadExtra = func(m map[string]float64) (func(), error) {
		return func() { o.filled = m["filled"] == 1 }, nil
	}
	return o, nil
}

// Step performs one SAGA step (filling the gradient table first if needed).
func (o *SAGA[T]) Step() {
	o.steps++
	if !o.filled {
		o.eachParam(func(_ *ProxConfig[T], _ *Param[T], s *slot[T], n int) {
			clear(o.buf(s, sagaAvg, n))
			o.buf(s, sagaTable, n)
		})
		for i := 0; i < o.n; i++ {
			o.one[0] = i
			o.f.Grad(o.one)
			o.eachParam(func(_ *ProxConfig[T], p *Param[T], s *slot[T], n int) {
				checkFilled(o.kind, p)
				g := p.Grad.Data()[:n]
				copy(s.bufs[sagaTable][i*n:(i+1)*n], g)
				avg := s.bufs[sagaAvg][:n]
				for k := range avg {
					avg[k] += g[k]
				}
			})
		}
		o.eachParam(func(_ *ProxConfig[T], _ *Param[T], s *slot[T], n int) {
			avg, inv := s.bufs[sagaAvg][:n], T(1/float64(o.n))
			for k := range avg {
				avg[k] *= inv
			}
		})
		o.filled = true
	}
	batch := o.sample.draw()
	o.eachParam(func(_ *ProxConfig[T], _ *Param[T], s *slot[T], n int) {
		copy(o.buf(s, sagaV, n), s.bufs[sagaAvg])
		clear(o.buf(s, sagaDelta, n))
	})
	invB := T(1 / float64(len(batch)))
	for _, j := range batch {
		o.one[0] = j
		o.f.Grad(o.one)
		o.eachParam(func(_ *ProxConfig[T], p *Param[T], s *slot[T], n int) {
			checkFilled(o.kind, p)
			g, row := p.Grad.Data()[:n], s.bufs[sagaTable][j*n:(j+1)*n]
			v, delta := s.bufs[sagaV][:n], s.bufs[sagaDelta][:n]
			for k := range g {
				d := g[k] - row[k]
				v[k] += invB * d
				delta[k] += d
			}
			copy(row, g)
		})
	}
	invN := T(1 / float64(o.n))
	o.eachParam(func(h *ProxConfig[T], p *Param[T], s *slot[T], n int) {
		s.step++
		eta := h.LR * lrScale(p)
		x, v := p.Value.Data()[:n], s.bufs[sagaV][:n]
		avg, delta := s.bufs[sagaAvg][:n], s.bufs[sagaDelta][:n]
		for k := range x {
			x[k] -= T(eta) * v[k]
			avg[k] += invN * delta[k]
		}
		if h.Prox != nil {
			h.Prox.Prox(x, x, eta)
		}
	})
}

// checkFilled panics if a FiniteSum left a parameter without a gradient.
func checkFilled[T tensor.Float](kind string, p *Param[T]) {
	if p.Grad == nil {
		panic(fmt.Sprintf("optim: %s.Step: FiniteSum.Grad left parameter %q without a gradient", kind, p.Name))
	}
	checkGrad(kind, p)
}
