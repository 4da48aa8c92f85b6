package ntk

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

var (
	mnistOnce sync.Once
	mnistX    *tensor.Tensor[float64]
	mnistSrc  string
)

// mnistImages returns 512 MNIST training images [512, 784] from
// $GRADFLOW_MNIST or ../../shared/datasets/mnist, or uniform random pixels
// of the same shape when the files are absent (the cost of the NTK does
// not depend on the pixel values).
func mnistImages(tb testing.TB) *tensor.Tensor[float64] {
	mnistOnce.Do(func() {
		dir := os.Getenv("GRADFLOW_MNIST")
		if dir == "" {
			dir = filepath.Join("..", "..", "shared", "datasets", "mnist")
		}
		if train, _, err := data.MNIST[float64](dir); err == nil {
			mnistX = train.X.Rows(0, 512).Clone()
			mnistSrc = "MNIST " + dir
			return
		}
		mnistX = tensor.RandU[float64](rand.New(rand.NewPCG(1, 1)), 0, 1, 512, 784)
		mnistSrc = "random pixels (MNIST files not found)"
	})
	tb.Log("inputs:", mnistSrc)
	return mnistX
}

// BenchmarkEmpiricalMNIST times the traced empirical NTK of a
// 784-1024-1024-10 ReLU MLP (NTK parameterization): the structured method
// on 512 images, and both methods on 16 images, where the per-example
// Jacobian (16 x 10 x 1.86M float64 = 2.4 GB) still fits in memory.
//
//	go test ./ntk -run '^$' -bench EmpiricalMNIST -benchtime 1x
func BenchmarkEmpiricalMNIST(b *testing.B) {
	m, err := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{784, 1024, 1024, 10}, Parameterization: nn.NTK, BStd: 0.1}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		b.Fatal(err)
	}
	x := mnistImages(b)
	for _, c := range []struct {
		n      int
		method Method
	}{{512, Structured}, {16, Structured}, {16, Contraction}} {
		name := map[Method]string{Structured: "structured", Contraction: "contraction"}[c.method]
		b.Run(fmt.Sprintf("%s/n=%d", name, c.n), func(b *testing.B) {
			xs := x.Rows(0, c.n)
			for b.Loop() {
				if _, err := Empirical[float64](m, xs, nil, Options{Method: c.method, MemoryBudget: 6 << 30}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
