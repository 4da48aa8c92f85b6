package autograd

import "github.com/gradflow/gradflow/tensor"

// MatMul returns op(a) op(b) for 2-D a and b, where op transposes its
// operand when the flag is set (no transposed copy is made). It panics if
// the shapes do not multiply.
func MatMul[T Float](a, b *Var[T], transA, transB bool) *Var[T] {
	return matmul(a, b, transA, transB, 1)
}

// matmul computes alpha op(a) op(b).
func matmul[T Float](a, b *Var[T], transA, transB bool, alpha float64) *Var[T] {
	return matmulSplit(a, b, transA, transB, alpha, tensor.SplitAuto)
}

// matmulSplit is matmul with the product divided among cores as split says.
func matmulSplit[T Float](a, b *Var[T], transA, transB bool, alpha float64, split tensor.Split) *Var[T] {
	t := sameTape("MatMul", a, b)
	as, bs := a.Shape(), b.Shape()
	if len(as) != 2 || len(bs) != 2 {
		panic("autograd.MatMul: need 2-D operands, got shapes " + shapeStr(as) + " and " + shapeStr(bs))
	}
	m, k := as[0], as[1]
	if transA {
		m, k = k, m
	}
	kb, n := bs[0], bs[1]
	if transB {
		kb, n = n, kb
	}
	if k != kb {
		panic("autograd.MatMul: shapes " + shapeStr(as) + " and " + shapeStr(bs) + " do not multiply (transA=" +
			boolStr(transA) + ", transB=" + boolStr(transB) + ")")
	}
	v := t.newVar()
	tensor.MatMulInto(v.out(m, n), a.value, b.value, transA, transB, T(alpha), 0, tensor.Epilogue[T]{Split: split})
	if t.record(v, matmulOp[T]{}, a, b) {
		v.flag, v.flag2, v.f = transA, transB, alpha
	}
	return v
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

type matmulOp[T Float] struct{}

func (matmulOp[T]) name() string { return "MatMul" }

// For C = alpha op(A) op(B) with upstream gradient G:
//
//	C = A B     dA = G B^T     dB = A^T G
//	C = A B^T   dA = G B       dB = G^T A
//	C = A^T B   dA = B G^T     dB = A G
//	C = A^T B^T dA = B^T G^T   dB = G^T A^T
//
// each times alpha; all are GEMMs with transpose flags, no copies.
func (matmulOp[T]) backward(t *Tape[T], v, g *Var[T]) {
	a, b := v.in[0], v.in[1]
	ta, tb, alpha := v.flag, v.flag2, v.f
	if t.wants(a) {
		var da *Var[T]
		switch {
		case !ta && !tb:
			da = matmul(g, b, false, true, alpha)
		case !ta && tb:
			da = matmul(g, b, false, false, alpha)
		case ta && !tb:
			da = matmul(b, g, false, true, alpha)
		default:
			da = matmul(b, g, true, true, alpha)
		}
		t.accum(a, da)
	}
	if t.wants(b) {
		var db *Var[T]
		switch {
		case !ta && !tb:
			db = matmul(a, g, true, false, alpha)
		case !ta && tb:
			db = matmul(g, a, true, false, alpha)
		case ta && !tb:
			db = matmul(a, g, false, false, alpha)
		default:
			db = matmul(g, a, true, true, alpha)
		}
		t.accum(b, db)
	}
}
