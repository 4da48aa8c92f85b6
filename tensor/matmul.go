package tensor

import (
	"strconv"

	"github.com/gradflow/gradflow/internal/simd"
)

// Epilogue is work fused into a matrix product while its output tile is
// still in registers: after C = alpha*op(A)*op(B) + beta*C, add Bias (one
// value per output column, broadcast over rows) and apply Act, which must
// be Fusable (or empty, for none); MatMulInto panics otherwise. Fusing saves
// one or two extra passes over C, which is what a Linear layer followed by
// an activation would otherwise cost. The zero value does nothing.
//
// Epilogue also carries Split, which says how the product is divided among
// cores. It never changes the result.
type Epilogue[T Float] struct {
	Bias  *Tensor[T] // shape [n] or [1, n], or nil for no bias
	Act   Activation
	Split Split
}

// Split says how a product is divided among cores.
type Split uint8

const (
	// SplitAuto lets the product choose: large products are divided over
	// the cores that are free, small ones stay on one core.
	SplitAuto Split = iota
	// SplitRows divides the rows of the output into the parts of
	// ShareRows and gives part p to the same core on every call, from
	// products of about 1 MFLOP; rows too few for two parts leave the
	// division to the columns. A training step that splits every
	// product touching a weight matrix by that matrix's rows (and updates
	// the rows in the same parts) keeps each part of the weights in one
	// core's cache instead of moving them between cores every step.
	SplitRows
	// SplitCols does the same with the columns of the output (and falls
	// back to the rows).
	SplitCols
	// SplitK divides the inner dimension into the two parts of ShareRows
	// (part p on core p) and adds the two partial products in the column
	// parts of ShareRows. For dX = dZ W of a layer, the inner dimension is
	// the rows of W, so each core reads only its own rows of W (with
	// SplitCols every core reads half of every row, and the optimizer's
	// update of a row then has to take the row back from the other core's
	// cache). The division is fixed by the shape, so results are the same
	// for any number of cores; they differ in rounding from the other
	// splits. Inner dimensions below 128, and products with a bias or an
	// activation, are divided as by SplitCols.
	SplitK
)

// ShareRows returns the rows [lo, hi) of an n-row matrix that part p of
// parts covers under SplitRows (and the columns under SplitCols): equal
// shares rounded to the GEMM kernel's tile, so that trailing parts may be
// empty.
func ShareRows[T Float](n, parts, p int) (lo, hi int) { return simd.Share[T](n, parts, p) }

func (s Split) simdSplit() simd.Split {
	switch s {
	case SplitAuto:
		return simd.SplitAuto
	case SplitRows:
		return simd.SplitRows
	case SplitCols:
		return simd.SplitCols
	case SplitK:
		return simd.SplitK
	}
	panic("tensor.MatMulInto: unknown Split " + strconv.Itoa(int(s)))
}

// simdAct maps the epilogue's activation to the kernel's constant. The
// empty Act of a zero Epilogue means no activation. The kernels implement
// only the Fusable activations; any other is a programming error here
// (autograd.Linear applies those after the product), reported with its
// name rather than silently computed as something else.
func (ep Epilogue[T]) simdAct() simd.Activation {
	switch ep.Act {
	case "", Identity:
		return simd.ActIdentity
	case ReLU:
		return simd.ActReLU
	}
	if ep.Act.Valid() {
		panic("tensor.MatMulInto: activation " + strconv.Quote(string(ep.Act)) + " cannot be fused into the product (only identity and relu can; apply it to the result)")
	}
	panic("tensor.MatMulInto: unknown activation " + strconv.Quote(string(ep.Act)))
}

// MatMul returns the matrix product op(a) op(b), where op(x) is x or, when
// the flag is set, the transpose of x (no transposed copy is made).
//
// 2-D operands give a 2-D product: op(a) is m x k, op(b) is k x n, and the
// result is m x n. 3-D operands are batches of matrices: [B, ., .] times
// [B, ., .] gives [B, m, n]; a 2-D operand next to a 3-D one is used for
// every matrix of the batch. It panics if the shapes do not multiply.
func MatMul[T Float](a, b *Tensor[T], transA, transB bool) *Tensor[T] {
	return MatMulInto(nil, a, b, transA, transB, 1, 0, Epilogue[T]{})
}

// MatMulInto computes dst = alpha*op(a)*op(b) + beta*dst, then applies the
// epilogue, and returns dst. Shapes are as for MatMul; a nil dst is
// allocated. When beta is 0, dst is not read, so NaNs in a reused buffer do
// not leak into the result. dst must not share data with a or b.
//
// The product is computed by simd.Gemm, which is parallel and bit-identical
// for any GOMAXPROCS.
func MatMulInto[T Float](dst, a, b *Tensor[T], transA, transB bool, alpha, beta T, ep Epilogue[T]) *Tensor[T] {
	ra, rb := len(a.shape), len(b.shape)
	if ra < 2 || ra > 3 || rb < 2 || rb > 3 {
		panicMatMul(dst != nil, "need 2-D or 3-D operands", a, b, transA, transB)
	}
	// Stored operand shapes: a is [.., ar, ac], b is [.., br, bc].
	ar, ac := a.shape[ra-2], a.shape[ra-1]
	br, bc := b.shape[rb-2], b.shape[rb-1]
	// Leading dimensions are the stored row lengths; Gemm wants them >= 1
	// even for an empty operand (k == 0), where they are never used.
	m, k, lda := ar, ac, max(ac, 1)
	if transA {
		m, k = ac, ar
	}
	kb, n, ldb := br, bc, max(bc, 1)
	if transB {
		kb, n = bc, br
	}
	if k != kb {
		panicMatMul(dst != nil, "inner dimensions "+strconv.Itoa(k)+" and "+strconv.Itoa(kb)+" differ", a, b, transA, transB)
	}
	batch, batchA, batchB := 1, 1, 1
	if ra == 3 {
		batchA = a.shape[0]
		batch = batchA
	}
	if rb == 3 {
		batchB = b.shape[0]
		batch = batchB
	}
	if ra == 3 && rb == 3 && batchA != batchB {
		panicMatMul(dst != nil, "batch sizes differ", a, b, transA, transB)
	}
	batched := ra == 3 || rb == 3

	if dst == nil {
		if batched {
			dst = New[T](batch, m, n)
		} else {
			dst = New[T](m, n)
		}
	} else {
		ok := len(dst.shape) == 2 && !batched && dst.shape[0] == m && dst.shape[1] == n
		ok = ok || len(dst.shape) == 3 && batched && dst.shape[0] == batch && dst.shape[1] == m && dst.shape[2] == n
		if !ok {
			want := "[" + strconv.Itoa(m) + " " + strconv.Itoa(n) + "]"
			if batched {
				want = "[" + strconv.Itoa(batch) + " " + strconv.Itoa(m) + " " + strconv.Itoa(n) + "]"
			}
			panic("tensor.MatMulInto: dst shape " + shapeStr(dst.shape) + ", want " + want + " for " +
				shapeStr(a.shape) + " x " + shapeStr(b.shape) + transposeNote(transA, transB))
		}
	}

	sep := simd.Epilogue[T]{Act: ep.simdAct(), Split: ep.Split.simdSplit()}
	if ep.Bias != nil {
		bs := ep.Bias.shape
		if !(len(bs) == 1 && bs[0] == n || len(bs) == 2 && bs[0] == 1 && bs[1] == n) {
			panic("tensor.MatMulInto: bias shape " + shapeStr(bs) + ", want [" + strconv.Itoa(n) + "] for output columns of " +
				shapeStr(a.shape) + " x " + shapeStr(b.shape) + transposeNote(transA, transB))
		}
		sep.Bias = ep.Bias.data
	}
	if m == 0 || n == 0 || batch == 0 {
		return dst
	}

	if ra == 3 && rb == 2 && !transA {
		// A batch of untransposed matrices times one matrix is a single
		// product with batch*m rows: one large GEMM parallelizes and
		// blocks better than batch small ones.
		simd.Gemm(false, transB, batch*m, n, k, alpha, a.data, lda, b.data, ldb, beta, dst.data, n, sep)
		return dst
	}
	sa, sb, sc := 0, 0, m*n
	if ra == 3 {
		sa = ar * ac
	}
	if rb == 3 {
		sb = br * bc
	}
	for i := 0; i < batch; i++ {
		simd.Gemm(transA, transB, m, n, k, alpha, a.data[i*sa:i*sa+ar*ac], lda, b.data[i*sb:i*sb+br*bc], ldb,
			beta, dst.data[i*sc:(i+1)*sc], n, sep)
	}
	return dst
}

func transposeNote(transA, transB bool) string {
	if !transA && !transB {
		return ""
	}
	return " (transA=" + strconv.FormatBool(transA) + ", transB=" + strconv.FormatBool(transB) + ")"
}

func panicMatMul[T Float](into bool, why string, a, b *Tensor[T], transA, transB bool) {
	panicOp("MatMul", into, "shapes "+shapeStr(a.shape)+" and "+shapeStr(b.shape)+transposeNote(transA, transB)+
		" do not multiply: "+why)
}
