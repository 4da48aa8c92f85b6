package simd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// transposeGuard is the number of elements before and after the dst and src
// regions that a transpose kernel must leave untouched.
const transposeGuard = 37

// TestTranspose compares every tier's transposes with transposeGeneric, bit
// for bit, over shapes that exercise each block kernel, each column and row
// remainder and their combinations, with padded and unpadded strides. The
// source holds random bit patterns (NaNs with payloads included), so any
// conversion or canonicalisation shows up. Guard elements around dst and
// src, and the dst elements of rows >= rows inside each ld-long dst row,
// must keep their values.
func TestTranspose(t *testing.T) {
	for _, name := range Tiers() {
		tbl := newTable(name)
		t.Run(name+"/f32", func(t *testing.T) {
			testTranspose(t, tbl.t32, func(r *rand.Rand) float32 { return math.Float32frombits(r.Uint32()) })
		})
		t.Run(name+"/f64", func(t *testing.T) {
			testTranspose(t, tbl.t64, func(r *rand.Rand) float64 { return math.Float64frombits(r.Uint64()) })
		})
	}
}

func testTranspose[T Float](t *testing.T, kernel func([]T, int, []T, int, int, int), gen func(*rand.Rand) T) {
	rng := rand.New(rand.NewPCG(1, 2))
	colsList := []int{31, 32, 33, 63, 64, 65, 200, 513}
	for c := 20; c >= 1; c-- {
		colsList = append([]int{c}, colsList...)
	}
	failures := 0
	for rows := 1; rows <= 33; rows++ {
		for _, cols := range colsList {
			for _, ld := range []int{rows, rows + 3, 32} {
				if ld < rows {
					continue
				}
				for _, lds := range []int{cols, cols + 1, cols + 17} {
					if !checkTranspose(t, kernel, gen, rng, rows, cols, ld, lds) {
						if failures++; failures >= 10 {
							t.Fatal("too many failures")
						}
					}
				}
			}
		}
	}
}

// checkTranspose runs one shape and reports whether it passed.
func checkTranspose[T Float](t *testing.T, kernel func([]T, int, []T, int, int, int), gen func(*rand.Rand) T, rng *rand.Rand, rows, cols, ld, lds int) bool {
	t.Helper()
	g := transposeGuard
	nsrc := (rows-1)*lds + cols
	ndst := (cols-1)*ld + rows
	srcBuf := make([]T, g+nsrc+g)
	for i := range srcBuf {
		srcBuf[i] = gen(rng)
	}
	srcOrig := append([]T(nil), srcBuf...)
	dstBuf := make([]T, g+ndst+g)
	for i := range dstBuf {
		dstBuf[i] = gen(rng)
	}
	want := append([]T(nil), dstBuf...)
	// Exact-length slices, as transposeInto would pass after its checks;
	// the guards lie outside them.
	transposeGeneric(want[g:g+ndst], ld, srcOrig[g:g+nsrc], lds, rows, cols)
	kernel(dstBuf[g:g+ndst], ld, srcBuf[g:g+nsrc], lds, rows, cols)

	shape := fmt.Sprintf("rows=%d cols=%d ld=%d lds=%d", rows, cols, ld, lds)
	for i := range dstBuf {
		if transposeBits(dstBuf[i]) != transposeBits(want[i]) {
			j := i - g
			switch {
			case j < 0 || j >= ndst:
				t.Errorf("%s: guard dst[%d] overwritten", shape, j)
			case j%ld >= rows:
				t.Errorf("%s: padding dst[%d] (c=%d, r=%d >= rows) overwritten", shape, j, j/ld, j%ld)
			default:
				t.Errorf("%s: dst[%d] (c=%d, r=%d) = %#x, want %#x", shape, j, j/ld, j%ld, transposeBits(dstBuf[i]), transposeBits(want[i]))
			}
			return false
		}
	}
	for i := range srcBuf {
		if transposeBits(srcBuf[i]) != transposeBits(srcOrig[i]) {
			t.Errorf("%s: src[%d] modified", shape, i-g)
			return false
		}
	}
	return true
}

// transposeBits returns the bit pattern of v, so that NaNs compare by payload.
func transposeBits[T Float](v T) uint64 {
	switch x := any(v).(type) {
	case float32:
		return uint64(math.Float32bits(x))
	default:
		return math.Float64bits(any(v).(float64))
	}
}

// TestCopyPanels checks every tier's panel copy (the packing of contiguous
// panel rows) bit for bit against the definition, for panel widths of 32
// to 256 bytes and widths that are not multiples of 32 bytes (which take
// the per-row path), one to three panels, odd and even row counts, and
// strides with padding. Guard elements around dst and src, and the gaps
// between panels, must keep their values.
func TestCopyPanels(t *testing.T) {
	for _, name := range Tiers() {
		restore, err := SetTier(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name+"/f32", func(t *testing.T) {
			testCopyPanels(t, func(r *rand.Rand) float32 { return math.Float32frombits(r.Uint32()) })
		})
		t.Run(name+"/f64", func(t *testing.T) {
			testCopyPanels(t, func(r *rand.Rand) float64 { return math.Float64frombits(r.Uint64()) })
		})
		restore()
	}
}

func testCopyPanels[T Float](t *testing.T, gen func(*rand.Rand) T) {
	rng := rand.New(rand.NewPCG(3, 4))
	bits := func(v T) uint64 {
		if f, ok := any(v).(float32); ok {
			return uint64(math.Float32bits(f))
		}
		return math.Float64bits(any(v).(float64))
	}
	const g = transposeGuard
	for rows := 1; rows <= 9; rows++ {
		for w := 1; w <= 66; w++ {
			for panels := 1; panels <= 3; panels++ {
				for _, pad := range []int{0, 5} {
					pstride, lds := rows*w+pad, panels*w+2*pad+3
					src := make([]T, 2*g+(rows-1)*lds+panels*w)
					dst := make([]T, 2*g+(panels-1)*pstride+rows*w)
					for i := range src {
						src[i] = gen(rng)
					}
					for i := range dst {
						dst[i] = gen(rng)
					}
					want := append([]T(nil), dst...)
					for q := 0; q < panels; q++ {
						for p := 0; p < rows; p++ {
							copy(want[g+q*pstride+p*w:g+q*pstride+(p+1)*w], src[g+p*lds+q*w:])
						}
					}
					copyPanelsInto(dst[g:len(dst)-g], pstride, src[g:len(src)-g], lds, rows, panels, w)
					for i := range dst {
						if bits(dst[i]) != bits(want[i]) {
							t.Fatalf("rows %d w %d panels %d pstride %d lds %d: element %d is %v, want %v",
								rows, w, panels, pstride, lds, i-g, dst[i], want[i])
						}
					}
				}
			}
		}
	}
}
