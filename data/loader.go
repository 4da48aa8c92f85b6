package data

import (
	"fmt"
	"math/bits"
	"math/rand/v2"

	"github.com/gradflow/gradflow/internal/parallel"
	"github.com/gradflow/gradflow/tensor"
)

// LoaderConfig configures a Loader.
type LoaderConfig struct {
	// BatchSize is the number of examples per batch, at least 1.
	BatchSize int
	// Shuffle visits the examples of each epoch in a fresh random order;
	// without it every epoch visits them in dataset order. It is the same
	// as Order: OrderShuffle; Order takes precedence when set.
	Shuffle bool
	// Order chooses how examples are drawn (see Order); the zero value
	// leaves the choice to Shuffle. Order OrderCyclic together with
	// Shuffle is refused as contradictory.
	Order Order
	// Seed determines the order of every epoch: epoch e uses the
	// permutation (or, with OrderReplacement, the draws) from PCG(Seed,
	// mix(e)), so any epoch can be regenerated without replaying the
	// ones before it.
	Seed uint64
	// DropLast skips the last batch of an epoch when it would be smaller
	// than BatchSize, so every batch has the same shape. With
	// OrderReplacement every batch is full and DropLast only sets the
	// number of batches per epoch (n/BatchSize rounded down instead of
	// up).
	DropLast bool
	// OneHot fills Batch.Y with the one-hot rows of the labels, for
	// training a classifier with a regression loss such as MSE. The
	// dataset must have labels and no Y of its own.
	OneHot bool
}

// Order is the order in which a Loader visits the examples.
type Order string

const (
	// OrderShuffle visits every example once per epoch, in the order of
	// a fresh Fisher-Yates permutation each epoch (random reshuffling).
	OrderShuffle Order = "shuffle"
	// OrderCyclic visits every example once per epoch, in dataset order.
	OrderCyclic Order = "cyclic"
	// OrderReplacement draws every example of every batch uniformly from
	// the whole dataset, independently, with replacement: the batches are
	// i.i.d., the sampling that stochastic approximation and the SDE
	// limits of SGD assume. An epoch is BatchesPerEpoch batches of
	// BatchSize rows each (BatchSize may exceed the dataset size).
	OrderReplacement Order = "replacement"
)

// Orders lists the valid values of LoaderConfig.Order, besides "".
var Orders = []Order{OrderShuffle, OrderCyclic, OrderReplacement}

// order is the effective order of cfg: Order, or the one Shuffle names.
func (cfg *LoaderConfig) order() Order {
	switch {
	case cfg.Order != "":
		return cfg.Order
	case cfg.Shuffle:
		return OrderShuffle
	}
	return OrderCyclic
}

// Batch is a batch of examples, held in tensors that the Loader reuses:
// its contents are valid until the next call to Next.
type Batch[T tensor.Float] struct {
	// X holds the features, shape [b, d].
	X *tensor.Tensor[T]
	// Labels holds the class labels, length b, or is nil.
	Labels []int32
	// Y holds the real targets (or one-hot labels), shape [b, k], or is nil.
	Y *tensor.Tensor[T]
	// Rows holds the dataset row of each example, length b.
	Rows []int
}

// Size returns the number of examples b in the batch.
func (b *Batch[T]) Size() int { return len(b.Rows) }

// LoaderState is the position of a Loader, small enough to store in a
// checkpoint. Restoring it into a loader over the same dataset with the
// same configuration resumes the exact sequence of batches.
type LoaderState struct {
	Seed   uint64 `json:"seed"`
	Epoch  int    `json:"epoch"`
	Offset int    `json:"offset"` // examples of Epoch already delivered
	// The fields below are not needed to resume; they are recorded so
	// Restore can refuse a state saved with another dataset or settings.
	Rows      int  `json:"rows"`
	BatchSize int  `json:"batch_size"`
	Shuffle   bool `json:"shuffle"`
	DropLast  bool `json:"drop_last"`
	// Order is "replacement" for a loader sampling with replacement and
	// empty otherwise (Shuffle tells the other two orders apart), so that
	// states saved before Order existed still restore.
	Order Order `json:"order,omitempty"`
}

// Loader delivers a dataset in batches, epoch after epoch:
//
//	for epoch := 0; epoch < epochs; epoch++ {
//		for l.Next() {
//			b := l.Batch()
//			// use b.X, b.Labels, b.Y
//		}
//	}
//
// Next returns false once at the end of each epoch and then moves on to
// the next epoch. Batches are copied into tensors allocated once by
// NewLoader, so Next allocates nothing. The order of examples depends only
// on the seed and the epoch: the permutation is drawn by one goroutine from
// a PCG generator, identically for any GOMAXPROCS.
//
// A Loader is not safe for concurrent use.
type Loader[T tensor.Float] struct {
	ds  *Dataset[T]
	cfg LoaderConfig

	epoch, offset int
	perm          []int
	permEpoch     int // epoch that perm was drawn for, -1 if none
	pcg           rand.PCG

	// full holds batches of BatchSize rows; tail, the last smaller batch
	// of an epoch, is a view of the first rows of full's buffers, made
	// once so that it costs no allocation either.
	full, tail Batch[T]
	cur        *Batch[T]
	rows       rowCopy[T]
}

// rowCopy copies the rows of a batch from the dataset, divided among the
// cores in two or more parts of rows: a batch of MNIST images gathers
// 400 KB from random places of a 188 MB array, a tenth of a training step
// on one core. The parts run pinned (parallel.RunPinned), on the same
// participants as the rest of a training step's shared work
// (tensor/affinity.go).
type rowCopy[T tensor.Float] struct {
	src, dst []T
	rows     []int
	d, parts int
}

// minRowCopy is the element count below which one core copies the batch.
const minRowCopy = 1 << 15

// Do copies part p of the rows.
func (c *rowCopy[T]) Do(_, p int) {
	lo, hi := p*len(c.rows)/c.parts, (p+1)*len(c.rows)/c.parts
	d := c.d
	for i := lo; i < hi; i++ {
		r := c.rows[i]
		copy(c.dst[i*d:(i+1)*d], c.src[r*d:(r+1)*d])
	}
}

// NewLoader returns a Loader over ds positioned at the start of epoch 0.
// The loader reads ds without copying it; do not change ds.X, ds.Y or
// ds.Labels while the loader is in use.
func NewLoader[T tensor.Float](ds *Dataset[T], cfg LoaderConfig) (*Loader[T], error) {
	if err := ds.Validate(); err != nil {
		return nil, err
	}
	n, d := ds.Len(), ds.Dim()
	if cfg.BatchSize < 1 {
		return nil, fmt.Errorf("data: batch size %d, want >= 1", cfg.BatchSize)
	}
	if cfg.DropLast && cfg.BatchSize > n {
		return nil, fmt.Errorf("data: batch size %d with DropLast over %d examples gives no batch", cfg.BatchSize, n)
	}
	switch cfg.Order {
	case "", OrderShuffle, OrderReplacement:
	case OrderCyclic:
		if cfg.Shuffle {
			return nil, fmt.Errorf("data: Order %q contradicts Shuffle", cfg.Order)
		}
	default:
		return nil, fmt.Errorf("data: unknown Order %q (want %q, %q or %q)", cfg.Order, OrderShuffle, OrderCyclic, OrderReplacement)
	}
	ycols := 0
	switch {
	case cfg.OneHot && ds.Labels == nil:
		return nil, fmt.Errorf("data: OneHot needs class labels")
	case cfg.OneHot && ds.Y != nil:
		return nil, fmt.Errorf("data: OneHot would replace the dataset's own targets Y")
	case cfg.OneHot:
		ycols = ds.NumClasses
	case ds.Y != nil:
		ycols = ds.Y.Dim(1)
	}
	bs := min(cfg.BatchSize, n)
	l := &Loader[T]{ds: ds, cfg: cfg, permEpoch: -1}
	if cfg.order() == OrderReplacement {
		bs = cfg.BatchSize
	}
	l.perm = make([]int, l.epochLen())
	l.full = newBatch[T](bs, d, ycols, ds.Labels != nil)
	if r := len(l.perm) % bs; r != 0 {
		l.tail = Batch[T]{
			X:    tensor.FromSlice(l.full.X.Data()[:r*d], r, d),
			Rows: l.full.Rows[:r],
		}
		if l.full.Labels != nil {
			l.tail.Labels = l.full.Labels[:r]
		}
		if l.full.Y != nil {
			l.tail.Y = tensor.FromSlice(l.full.Y.Data()[:r*ycols], r, ycols)
		}
	}
	return l, nil
}

func newBatch[T tensor.Float](b, d, ycols int, labels bool) Batch[T] {
	out := Batch[T]{X: tensor.New[T](b, d), Rows: make([]int, b)}
	if labels {
		out.Labels = make([]int32, b)
	}
	if ycols > 0 {
		out.Y = tensor.New[T](b, ycols)
	}
	return out
}

// Next fills the next batch of the current epoch and reports whether there
// was one. At the end of an epoch it returns false and advances to the
// next epoch, whose first batch the following call delivers.
func (l *Loader[T]) Next() bool {
	rem := len(l.perm) - l.offset
	if rem <= 0 || (l.cfg.DropLast && rem < l.cfg.BatchSize) {
		l.epoch++
		l.offset = 0
		l.cur = nil
		return false
	}
	if l.permEpoch != l.epoch {
		l.permute()
	}
	b := &l.full
	if rem < len(b.Rows) {
		b = &l.tail
	}
	size := len(b.Rows)
	copy(b.Rows, l.perm[l.offset:l.offset+size])
	l.gather(b)
	l.offset += size
	l.cur = b
	return true
}

// Batch returns the batch filled by the last call to Next that returned
// true, or nil after Next returned false.
func (l *Loader[T]) Batch() *Batch[T] { return l.cur }

// gather copies the rows named in b.Rows into b's tensors.
func (l *Loader[T]) gather(b *Batch[T]) {
	d := l.ds.Dim()
	c := &l.rows
	*c = rowCopy[T]{src: l.ds.X.Data(), dst: b.X.Data(), rows: b.Rows, d: d, parts: parallel.Workers()}
	if len(b.Rows)*d < minRowCopy {
		c.parts = 1
	}
	c.parts = min(c.parts, max(len(b.Rows), 1))
	parallel.RunPinned(c, c.parts, c.parts)
	*c = rowCopy[T]{}
	if b.Labels != nil {
		for i, r := range b.Rows {
			b.Labels[i] = l.ds.Labels[r]
		}
	}
	switch {
	case l.cfg.OneHot:
		// Labels were validated by NewLoader, so this cannot fail.
		_ = oneHotInto(b.Y.Data(), b.Labels, l.ds.NumClasses)
	case b.Y != nil:
		k := b.Y.Dim(1)
		ys, yd := l.ds.Y.Data(), b.Y.Data()
		for i, r := range b.Rows {
			copy(yd[i*k:(i+1)*k], ys[r*k:(r+1)*k])
		}
	}
}

// epochLen is the number of examples an epoch delivers: the dataset size,
// or with replacement BatchesPerEpoch full batches.
func (l *Loader[T]) epochLen() int {
	if l.cfg.order() == OrderReplacement {
		return l.BatchesPerEpoch() * l.cfg.BatchSize
	}
	return l.ds.Len()
}

// permute draws the order of the current epoch into l.perm.
func (l *Loader[T]) permute() {
	switch l.cfg.order() {
	case OrderShuffle:
		for i := range l.perm {
			l.perm[i] = i
		}
		l.pcg.Seed(l.cfg.Seed, mix64(uint64(l.epoch)))
		shuffle(&l.pcg, l.perm)
	case OrderReplacement:
		l.pcg.Seed(l.cfg.Seed, mix64(uint64(l.epoch)))
		n := uint64(l.ds.Len())
		for i := range l.perm {
			l.perm[i] = int(uniformN(&l.pcg, n))
		}
	default:
		for i := range l.perm {
			l.perm[i] = i
		}
	}
	l.permEpoch = l.epoch
}

// shuffle is a Fisher-Yates shuffle drawing only raw PCG outputs, with
// Lemire's unbiased bounded integers. Unlike rand.Rand.Shuffle its result
// is fixed by the PCG algorithm alone, so checkpoints stay resumable across
// Go releases.
func shuffle(src *rand.PCG, p []int) {
	for i := len(p) - 1; i > 0; i-- {
		j := uniformN(src, uint64(i+1))
		p[i], p[j] = p[j], p[i]
	}
}

// uniformN returns a uniform integer in [0, n) (D. Lemire, "Fast random
// integer generation in an interval", ACM TOMACS 29(1), 2019).
func uniformN(src *rand.PCG, n uint64) uint64 {
	hi, lo := bits.Mul64(src.Uint64(), n)
	if lo < n {
		threshold := -n % n
		for lo < threshold {
			hi, lo = bits.Mul64(src.Uint64(), n)
		}
	}
	return hi
}

// mix64 is the SplitMix64 finalizer: it turns consecutive epoch numbers
// into unrelated PCG stream seeds.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// BatchesPerEpoch returns the number of batches Next delivers per epoch:
// n/BatchSize for n examples, rounded down with DropLast and up without.
func (l *Loader[T]) BatchesPerEpoch() int {
	n, b := l.ds.Len(), l.cfg.BatchSize
	if l.cfg.DropLast {
		return n / b
	}
	return (n + b - 1) / b
}

// Epoch returns the current epoch, counting from 0.
func (l *Loader[T]) Epoch() int { return l.epoch }

// State returns the loader's position, to save in a checkpoint.
func (l *Loader[T]) State() LoaderState {
	return LoaderState{
		Seed:      l.cfg.Seed,
		Epoch:     l.epoch,
		Offset:    l.offset,
		Rows:      l.ds.Len(),
		BatchSize: l.cfg.BatchSize,
		Shuffle:   l.cfg.order() == OrderShuffle,
		DropLast:  l.cfg.DropLast,
		Order:     l.stateOrder(),
	}
}

// stateOrder is the Order a LoaderState records (see LoaderState.Order).
func (l *Loader[T]) stateOrder() Order {
	if o := l.cfg.order(); o == OrderReplacement {
		return o
	}
	return ""
}

// Restore moves the loader to a position saved by State. The next batches
// are then exactly those the saved loader would have delivered. It refuses
// a state saved over a dataset of another size or with other settings,
// since its offsets would not mean the same examples.
func (l *Loader[T]) Restore(s LoaderState) error {
	n, end := l.ds.Len(), len(l.perm)
	shuffled := l.cfg.order() == OrderShuffle
	switch {
	case s.Rows != n:
		return fmt.Errorf("data: loader state for %d examples, dataset has %d", s.Rows, n)
	case s.Seed != l.cfg.Seed || s.BatchSize != l.cfg.BatchSize ||
		s.Shuffle != shuffled || s.DropLast != l.cfg.DropLast || s.Order != l.stateOrder():
		return fmt.Errorf("data: loader state (seed %d, batch %d, shuffle %t, drop last %t, order %q) differs from loader config (seed %d, batch %d, shuffle %t, drop last %t, order %q)",
			s.Seed, s.BatchSize, s.Shuffle, s.DropLast, s.Order,
			l.cfg.Seed, l.cfg.BatchSize, shuffled, l.cfg.DropLast, l.stateOrder())
	case s.Epoch < 0:
		return fmt.Errorf("data: loader state epoch %d < 0", s.Epoch)
	case s.Offset < 0 || s.Offset > end || (s.Offset%s.BatchSize != 0 && s.Offset != end):
		return fmt.Errorf("data: loader state offset %d is not a batch boundary of %d examples in batches of %d",
			s.Offset, end, s.BatchSize)
	}
	l.epoch, l.offset = s.Epoch, s.Offset
	l.cur = nil
	return nil
}
