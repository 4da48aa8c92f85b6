// Package nilcheck tells whether an interface value is nil, including an
// interface holding a nil pointer (a nil *nn.MLP passed as an nn.Module, a
// nil *mat.Dense passed as a mat.Matrix): such a value is != nil, yet any
// method call on it fails with a nil-pointer runtime error. Public
// functions check their arguments with it so that the caller gets an error
// naming the argument instead.
package nilcheck

import "reflect"

// Nil reports whether v is nil or holds a nil pointer, map, slice,
// function, channel or interface.
func Nil(v any) bool {
	if v == nil {
		return true
	}
	switch r := reflect.ValueOf(v); r.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface, reflect.UnsafePointer:
		return r.IsNil()
	}
	return false
}
