package ntk

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// checkMatrix reports the first entry where the matrix m differs from the
// kernel t of Empirical, [n1, n2] or [n1, n2, k, k], read in (point,
// output) order: m(i*k+a, j*k+b) = t[i, j, a, b]. The same algorithm
// computes both, so they agree bit for bit.
func checkMatrix[T tensor.Float](t *testing.T, what string, m mat.Matrix, want *tensor.Tensor[T]) {
	t.Helper()
	n1, n2, k := want.Dim(0), want.Dim(1), 1
	if want.NDim() == 4 {
		k = want.Dim(2)
	}
	if r, c := m.Dims(); r != n1*k || c != n2*k {
		t.Fatalf("%s: %d x %d, want %d x %d", what, r, c, n1*k, n2*k)
	}
	src := want.Data()
	for i := 0; i < n1; i++ {
		for j := 0; j < n2; j++ {
			for a := 0; a < k; a++ {
				for b := 0; b < k; b++ {
					w := src[((i*n2+j)*k+a)*k+b]
					if got := m.At(i*k+a, j*k+b); got != float64(w) {
						t.Fatalf("%s: (%d, %d) = %v, Empirical's [%d %d %d %d] = %v", what, i*k+a, j*k+b, got, i, j, a, b, w)
					}
				}
			}
		}
	}
}

// EmpiricalGram and EmpiricalCross return Empirical's numbers, bit for bit,
// traced and full, in both precisions and with both methods, and the Gram
// matrix holds both triangles (a *mat.Dense view of it is the kernel).
func TestEmpiricalMatrices(t *testing.T) {
	for _, full := range []bool{false, true} {
		for _, method := range []Method{Structured, Contraction} {
			opts := Options{Full: full, Method: method}
			name := fmt.Sprintf("full %v method %d", full, method)
			testMatrices[float64](t, name+" f64", opts)
			testMatrices[float32](t, name+" f32", opts)
		}
	}
}

func testMatrices[T tensor.Float](t *testing.T, name string, opts Options) {
	m, err := nn.NewMLP[T](nn.MLPConfig{Dims: []int{3, 16, 2}, Parameterization: nn.NTK, BStd: 0.3}, rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		t.Fatal(err)
	}
	x1 := tensor.RandN[T](rand.New(rand.NewPCG(7, 8)), 0, 1, 5, 3)
	x2 := tensor.RandN[T](rand.New(rand.NewPCG(9, 10)), 0, 1, 4, 3)
	want, err := Empirical(m, x1, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	g, err := EmpiricalGram(nil, m, x1, opts)
	if err != nil {
		t.Fatal(err)
	}
	checkMatrix(t, name+" Gram", g, want)
	n := g.SymmetricDim()
	checkMatrix(t, name+" Gram as Dense", mat.NewDense(n, n, g.RawSymmetric().Data), want)

	want, err = Empirical(m, x1, x2, opts)
	if err != nil {
		t.Fatal(err)
	}
	c, err := EmpiricalCross(nil, m, x1, x2, opts)
	if err != nil {
		t.Fatal(err)
	}
	checkMatrix(t, name+" Cross", c, want)
}

// allocated returns the bytes f allocates (the smallest of three runs, so
// that a stray allocation of the runtime does not count).
func allocated(f func()) uint64 {
	best := ^uint64(0)
	for range 3 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		best = min(best, after.TotalAlloc-before.TotalAlloc)
	}
	return best
}

// A traced float64 kernel is computed in the matrix's own storage: with a
// dst, EmpiricalGram allocates at least the n x n result less than
// Empirical does (the scratch of the computation is the same), and
// returns dst itself. A float32 kernel needs its float32 result as
// scratch, but not a second float64 matrix.
func TestEmpiricalGramInPlace(t *testing.T) {
	const n = 160
	result := uint64(n * n * 8)
	m := newMLP(t, nn.MLPConfig{Dims: []int{4, 32, 3}, Parameterization: nn.NTK}, 3)
	x := randTensor(4, n, 4)
	dst := mat.NewSymDense(n, nil)
	var got *mat.SymDense
	gram := allocated(func() { got, _ = EmpiricalGram(dst, m, x, Options{}) })
	tens := allocated(func() { _, _ = Empirical(m, x, nil, Options{}) })
	t.Logf("float64: EmpiricalGram into dst %d bytes, Empirical %d, result %d", gram, tens, result)
	if got != dst {
		t.Fatal("EmpiricalGram did not return its dst")
	}
	if gram+result*9/10 > tens {
		t.Errorf("EmpiricalGram into dst allocates %d bytes, Empirical %d: want at least the %d-byte result fewer", gram, tens, result)
	}

	m32, err := nn.NewMLP[float32](nn.MLPConfig{Dims: []int{4, 32, 3}, Parameterization: nn.NTK}, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	x32 := tensor.Convert[float32](x)
	gram = allocated(func() { got, _ = EmpiricalGram(dst, m32, x32, Options{}) })
	tens = allocated(func() { _, _ = Empirical(m32, x32, nil, Options{}) })
	t.Logf("float32: EmpiricalGram into dst %d bytes, Empirical %d", gram, tens)
	if got != dst || gram > tens+result/2 {
		t.Errorf("float32 EmpiricalGram into dst allocates %d bytes, Empirical %d: want no new %d-byte float64 matrix", gram, tens, result)
	}
}

// dst follows gonum's receiver rules: an empty one is sized, one of the
// wrong size is a programmer error; empty inputs are an error (gonum has
// no empty matrices).
func TestEmpiricalMatrixDst(t *testing.T) {
	m := newMLP(t, nn.MLPConfig{Dims: []int{3, 8, 2}, Parameterization: nn.NTK}, 1)
	x := randTensor(2, 4, 3)
	var empty mat.SymDense
	if g, err := EmpiricalGram(&empty, m, x, Options{Full: true}); err != nil || g != &empty || g.SymmetricDim() != 8 {
		t.Errorf("EmpiricalGram into an empty dst: %v, %v; want dst sized 8 x 8", g, err)
	}
	var emptyDense mat.Dense
	if c, err := EmpiricalCross(&emptyDense, m, x, x.Rows(0, 2), Options{}); err != nil || c != &emptyDense {
		t.Errorf("EmpiricalCross into an empty dst: %v, %v", c, err)
	} else if r, cols := c.Dims(); r != 4 || cols != 2 {
		t.Errorf("EmpiricalCross: %d x %d, want 4 x 2", r, cols)
	}
	for name, f := range map[string]func(){
		"Gram":  func() { _, _ = EmpiricalGram(mat.NewSymDense(3, nil), m, x, Options{}) },
		"Cross": func() { _, _ = EmpiricalCross(mat.NewDense(4, 3, nil), m, x, x.Rows(0, 2), Options{}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s into a dst of the wrong size did not panic", name)
				}
			}()
			f()
		}()
	}
	if _, err := EmpiricalGram(nil, m, x.Rows(0, 0), Options{}); err == nil {
		t.Error("EmpiricalGram of no inputs: no error")
	}
	if _, err := EmpiricalGram(nil, m, randTensor(3, 4, 5), Options{}); err == nil {
		t.Error("EmpiricalGram with 5 features for a model of 3: no error")
	}
}

// symOf and matrixOf view float64 storage (a change through the tensor
// shows in the matrix) and convert float32 (into the dst given).
func TestFloat64Views(t *testing.T) {
	k := tensor.FromSlice([]float64{2, 1, 1, 3}, 2, 2)
	s, d := symOf(nil, k), matrixOf(k)
	k.Data()[1], k.Data()[2] = 5, 5
	if s.At(0, 1) != 5 || d.At(1, 0) != 5 {
		t.Errorf("float64 views do not share the tensor's storage: %v, %v", s.At(0, 1), d.At(1, 0))
	}
	k32 := tensor.FromSlice([]float32{2, 0.1, 0.1, 3}, 2, 2)
	dst := mat.NewSymDense(2, nil)
	if got := symOf(dst, k32); got != dst || got.At(1, 0) != float64(float32(0.1)) {
		t.Errorf("symOf(float32) = %v into %p, want the converted kernel in dst %p", got, got, dst)
	}
	if got := matrixOf(k32); got.At(1, 1) != 3 {
		t.Errorf("matrixOf(float32) = %v", mat.Formatted(got))
	}
}
