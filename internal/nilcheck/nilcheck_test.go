package nilcheck

import (
	"io"
	"strings"
	"testing"
)

type fn func()

func (fn) Read([]byte) (int, error) { return 0, io.EOF }

func TestNil(t *testing.T) {
	var nilPtr *strings.Reader
	var nilFn fn
	cases := []struct {
		name string
		v    any
		want bool
	}{
		{"untyped nil", nil, true},
		{"nil pointer in an interface", io.Reader(nilPtr), true},
		{"nil func in an interface", io.Reader(nilFn), true},
		{"nil slice", []int(nil), true},
		{"pointer", strings.NewReader(""), false},
		{"func", io.Reader(fn(func() {})), false},
		{"empty slice", []int{}, false},
		{"number", 0, false},
		{"struct", struct{}{}, false},
	}
	for _, c := range cases {
		if got := Nil(c.v); got != c.want {
			t.Errorf("%s: Nil = %v, want %v", c.name, got, c.want)
		}
	}
}
