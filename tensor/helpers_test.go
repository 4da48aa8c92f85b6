package tensor

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// mustPanic runs f and fails unless it panics with a message containing
// every one of want.
func mustPanic(t *testing.T, f func(), want ...string) {
	t.Helper()
	msg := func() (msg string) {
		defer func() {
			if r := recover(); r != nil {
				msg = fmt.Sprint(r)
			}
		}()
		f()
		return "<no panic>"
	}()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("panic message %q does not contain %q", msg, w)
		}
	}
}

// eqData reports whether got holds exactly want, treating NaN as equal to
// NaN (tests of NaN propagation need that).
func eqData[T Float](got, want []T) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if g != w && !(g != g && w != w) {
			return false
		}
	}
	return true
}

// checkData fails unless tensor x has the given shape and exactly the given
// elements (NaN matching NaN).
func checkData[T Float](t *testing.T, name string, x *Tensor[T], shape []int, want []T) {
	t.Helper()
	if !shapeEqual(x.Shape(), shape) {
		t.Errorf("%s: shape %v, want %v", name, x.Shape(), shape)
		return
	}
	if !eqData(x.Data(), want) {
		t.Errorf("%s: data %v, want %v", name, x.Data(), want)
	}
}

// checkClose fails unless every element of got is within
// rtol*|want| + atol of want.
func checkClose[T Float](t *testing.T, name string, got []T, want []float64, rtol, atol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", name, len(got), len(want))
	}
	for i := range got {
		g, w := float64(got[i]), want[i]
		if g == w || (math.IsNaN(g) && math.IsNaN(w)) {
			continue
		}
		if !(math.Abs(g-w) <= atol+rtol*math.Abs(w)) {
			t.Errorf("%s[%d] = %v, want %v (rtol %g, atol %g)", name, i, g, w, rtol, atol)
		}
	}
}

// seq returns 1, 2, ..., n as a tensor of the given shape.
func seq[T Float](shape ...int) *Tensor[T] {
	x := New[T](shape...)
	for i := range x.data {
		x.data[i] = T(i + 1)
	}
	return x
}

// unravel converts a flat row-major index into a multi-index of shape.
func unravel(flat int, shape []int, idx []int) {
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			idx[d] = flat % shape[d]
			flat /= shape[d]
		}
	}
}

// broadcastIndex returns the flat index into a tensor of shape s of the
// element that output index idx (of a broadcast shape of rank len(idx))
// reads, by the textbook rule: align right, clamp size-1 dimensions to 0.
func broadcastIndex(s, idx []int) int {
	off := len(idx) - len(s)
	flat := 0
	for d := range s {
		i := idx[d+off]
		if s[d] == 1 {
			i = 0
		}
		flat = flat*s[d] + i
	}
	return flat
}
