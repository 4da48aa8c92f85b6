// Package tensor provides Tensor[T], an N-dimensional array of float32 or
// float64, and the numerical operations gradflow builds on: elementwise
// arithmetic and functions with broadcasting, reductions, matrix products,
// random initialization and conversion to and from gonum. It knows nothing
// of gradients; package autograd records operations on tensors.
//
// # Layout
//
// A Tensor holds its elements in one contiguous slice in row-major (C)
// order together with its shape, at most MaxRank = 8 dimensions. A tensor
// with shape [] is a scalar (one element). There are no strides: every
// tensor is contiguous, so every operation can hand whole slices to the
// vector kernels of internal/simd. Views that keep the layout contiguous
// share data without copying: Reshape, Rows (a range along the first
// dimension) and FromSlice. Transpose makes a copy; MatMul reads transposed
// operands in place through its transA and transB flags instead.
//
// # Broadcasting
//
// The elementwise binary operations (Add, Sub, Mul, Div, Maximum, Minimum)
// follow NumPy's broadcasting rules. The two shapes are aligned at their
// last dimension; a missing leading dimension counts as 1; in each position
// the sizes must be equal or one of them must be 1, and the result has the
// larger size. So [m, n] + [n] adds a row vector to every row, [m, n] +
// [m, 1] adds a column vector to every column, and [m, 1] * [1, n] is an
// outer product. Shapes that do not broadcast are a programming error and
// panic with a message naming the operation and both shapes, e.g.
//
//	tensor.Add: shapes [2 3] and [4] do not broadcast
//
// SumTo is the adjoint of broadcasting: it sums a broadcast result back to
// the shape of the operand that was broadcast, as a backward pass needs.
// BroadcastTo copies a tensor out to a broadcast shape.
//
// Equal shapes take a fast path of one kernel call over all the data; a
// broadcast row vector costs one kernel call per row; any other pattern
// walks the tensors with a strided loop whose innermost dimension is still
// a vector kernel call or a tight loop.
//
// # Products and reductions
//
// MatMulInto computes C = alpha*op(A)*op(B) + beta*C, op being identity or
// transpose, on 2-D matrices or batches of them (3-D), and can fuse an
// epilogue C = act(C + bias) into the same pass, as a Linear layer needs.
// Reductions (Sum, Mean, MaxAll, ArgMax, LogSumExp) work over all elements
// or along one axis, with or without keeping that axis as size 1.
// LogSumExp is computed as m + log(sum(exp(x - m))) with m = max(x), which
// neither overflows for large x nor returns log(0) for very negative x.
//
// # Activations
//
// Activation is the vocabulary of elementwise nonlinearities that every
// package above the kernels shares (nn re-exports it; autograd, data and
// meanfield take it): Identity, ReLU, LeakyReLU (slope LeakySlope = 0.01),
// Tanh, Sigmoid, GELU, SiLU, Softplus and Erf, whose string values
// ("identity", "relu", "leaky_relu", "tanh", "sigmoid", "gelu", "silu",
// "softplus", "erf") are the names stored in model files and
// configurations. It lives here, the lowest layer that needs it, because
// the epilogue of MatMulInto takes it: identity and ReLU are Fusable into
// the product; the others are applied by the caller after it. Eval is the
// float64 reference of each function and its derivative, with PyTorch's
// conventions (ReLU'(0) = 0, GELU(z) = z Phi(z) in its exact erf form,
// Softplus(z) = log(1 + e^z)):
//
//	identity   z                      1
//	relu       max(z, 0)              1{z > 0}
//	leaky_relu z if z > 0 else 0.01 z 1 if z > 0 else 0.01
//	tanh       tanh z                 1 - tanh^2 z
//	sigmoid    s = 1/(1 + e^-z)       s (1 - s)
//	gelu       z Phi(z)               Phi(z) + z phi(z)
//	silu       z s                    s + z s (1 - s)
//	softplus   log(1 + e^z)           s
//	erf        erf z                  (2/sqrt(pi)) e^(-z^2)
//
// The vector forms (ReluInto, TanhInto, SigmoidInto, and the tape
// operations of package autograd) may differ from Eval in the last bits.
// Because the constants Tanh and Sigmoid name activations, the tensor
// operations of those names exist only in their Into form: TanhInto(nil,
// a) allocates its result.
//
// # The Into convention
//
// Every operation that computes a new tensor (as opposed to a constructor
// or a view) comes in two forms. Add(a, b)
// allocates its result. AddInto(dst, a, b) writes into dst, which must
// already have the result's shape, and returns dst; it allocates nothing,
// so a training loop that reuses its buffers runs without garbage. Passing
// a nil dst to an Into function allocates it, which lets a caller write the
// same code for its first and later iterations. Elementwise Into functions
// accept dst equal to an input of the same shape (in-place operation).
// Reductions along an axis accept dst with or without the reduced
// dimension kept (the layouts are the same).
//
// # Errors
//
// Shape mismatches, out-of-range indices and axes are programming errors:
// they panic, naming the operation and the shapes involved. Numerical
// special cases follow IEEE 754 and never panic (x/0 is Inf, log(-1) is
// NaN); reductions propagate NaN.
//
// # Determinism
//
// Every operation gives the same bits for the same inputs on the same
// machine and SIMD tier, whatever GOMAXPROCS: elementwise operations and
// reductions run on one goroutine in a fixed order, and the parallel GEMM
// behind MatMul splits the output into tiles and never the inner
// dimension. Random constructors draw from an explicit *rand.Rand
// (math/rand/v2) in row-major order, so a seed fixes the tensor. Results
// may differ in the last bits between SIMD tiers (see internal/simd for the
// error bounds of each kernel).
package tensor
