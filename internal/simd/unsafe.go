package simd

import "unsafe"

// unsafeSlice views n elements starting at p. Kernels receive base pointers
// (the asm calling convention); the Go wrappers have checked the lengths.
func unsafeSlice[T any](p *T, n int) []T { return unsafe.Slice(p, n) }

// as reinterprets a slice of T as a slice of U where T and U are the same
// type at run time (used to route a generic call to its float32 or float64
// table without an interface conversion, which would allocate).
func as[U, T any](s []T) []U {
	return unsafe.Slice((*U)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

// isF32 reports whether T is float32 (otherwise it is float64).
func isF32[T Float]() bool {
	var z T
	_, ok := any(z).(float32)
	return ok
}
