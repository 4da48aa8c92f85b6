package optim

import (
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/gradflow/gradflow/tensor"
)

// benchParams returns the parameters of a 784-512-512-10 MLP (about 670k
// values) with random gradients.
func benchParams[T tensor.Float]() []*Param[T] {
	rng := rand.New(rand.NewPCG(1, 1))
	var ps []*Param[T]
	for _, s := range [][]int{{512, 784}, {512}, {512, 512}, {512}, {10, 512}, {10}} {
		ps = append(ps, &Param[T]{Name: "p", Value: tensor.RandN[T](rng, 0, 0.05, s...), Grad: tensor.RandN[T](rng, 0, 0.01, s...)})
	}
	return ps
}

func benchStep[T tensor.Float](b *testing.B, o Optimizer[T], ps []*Param[T]) {
	n := 0
	for _, p := range ps {
		n += p.Value.Len()
	}
	b.SetBytes(int64(n) * int64(unsafe.Sizeof(T(0))))
	b.ReportAllocs()
	o.Step()
	b.ResetTimer()
	for range b.N {
		o.Step()
	}
}

func BenchmarkSGDMomentum(b *testing.B) {
	ps := benchParams[float32]()
	o, _ := NewSGD(ps, SGDConfig{LR: 1e-3, Momentum: 0.9, WeightDecay: 1e-4})
	benchStep(b, o, ps)
}

func BenchmarkAdamW32(b *testing.B) {
	ps := benchParams[float32]()
	o, _ := NewAdamW(ps, DefaultAdamW())
	benchStep(b, o, ps)
}

func BenchmarkAdamW64(b *testing.B) {
	ps := benchParams[float64]()
	o, _ := NewAdamW(ps, DefaultAdamW())
	benchStep(b, o, ps)
}

func BenchmarkRMSpropCentered(b *testing.B) {
	ps := benchParams[float32]()
	c := DefaultRMSprop()
	c.Centered, c.Momentum = true, 0.9
	o, _ := NewRMSprop(ps, c)
	benchStep(b, o, ps)
}

func BenchmarkProxSGDL1(b *testing.B) {
	ps := benchParams[float32]()
	o, _ := NewProxSGD(ps, ProxConfig[float32]{LR: 1e-3, Prox: L1[float32]{Lambda: 1e-4}})
	benchStep(b, o, ps)
}

func BenchmarkClipGradNorm(b *testing.B) {
	ps := benchParams[float32]()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ClipGradNorm(ps, 1e9)
	}
}
