package data

import (
	"bytes"
	"errors"
	"io"
	"math"
	"testing"

	"github.com/gradflow/gradflow/tensor"
)

// Run a fuzzer with, for example,
//
//	go test ./data -run '^$' -fuzz '^FuzzIDX$' -fuzztime 60s
//	go test ./data -run '^$' -fuzz '^FuzzCSV$' -fuzztime 10000x
//
// Inputs it finds are saved under testdata/fuzz/<name>/ and replayed by
// every plain `go test` from then on, with the seeds added below.

// hiddenSize hides the Len method of a bytes.Reader, so that the reader
// cannot know the input size and must take its growing-buffer path.
type hiddenSize struct{ r io.Reader }

func (h hiddenSize) Read(p []byte) (int, error) { return h.r.Read(p) }

// sentinels are the errors every reader failure must wrap.
var sentinels = []error{ErrTruncated, ErrFormat, ErrSize, ErrMissingValue, ErrNonFinite, ErrCompression}

func wrapsSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func FuzzIDX(f *testing.F) {
	for _, typ := range []IDXType{IDXUint8, IDXInt8, IDXInt16, IDXInt32, IDXFloat32, IDXFloat64} {
		raw := encodeIDX(f, typ, []uint32{2, 3}, []float64{0, 1, 2, 3, 4, 5})
		f.Add(raw, false)
		f.Add(gzipBytes(f, raw), true)
		f.Add(raw[:len(raw)-1], false)
	}
	f.Add(encodeIDX(f, IDXUint8, []uint32{0, 5}, nil), false)
	f.Add([]byte{0, 0, 8, 1, 0xff, 0xff, 0xff, 0xff}, true)
	f.Add([]byte{0, 0, 0x0e, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, false)
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, false)

	f.Fuzz(func(t *testing.T, in []byte, hide bool) {
		var r io.Reader = bytes.NewReader(in)
		if hide {
			r = hiddenSize{r}
		}
		a, err := ReadIDX(r)
		// The streaming conversion used for MNIST must agree with ReadIDX.
		dims, vals, errAs := decodeIDXAs(bytes.NewReader(in), "", 1.0)
		if (err == nil) != (errAs == nil) {
			t.Fatalf("ReadIDX error %v, streaming error %v", err, errAs)
		}
		if err != nil {
			var ie *IDXError
			if !errors.As(err, &ie) || !wrapsSentinel(err) {
				t.Fatalf("error %v (%T) is not an *IDXError wrapping a sentinel", err, err)
			}
			if ie.Offset < 0 || ie.Offset > int64(len(in))*maxDeflateRatio+1 {
				t.Fatalf("offset %d outside the stream", ie.Offset)
			}
			return
		}
		if a.Type.Size() == 0 || len(a.Dims) == 0 || len(a.Raw) != a.Len()*a.Type.Size() {
			t.Fatalf("accepted type %v dims %v with %d bytes", a.Type, a.Dims, len(a.Raw))
		}
		if len(dims) != len(a.Dims) || len(vals) != a.Len() {
			t.Fatalf("streaming dims %v (%d values), ReadIDX dims %v", dims, len(vals), a.Dims)
		}
		for i, v := range vals {
			w := a.At(i)
			if v != w && !(math.IsNaN(v) && math.IsNaN(w)) {
				t.Fatalf("element %d: streaming %v, ReadIDX %v", i, v, w)
			}
		}
		// Writing back gives the decompressed input exactly.
		var out bytes.Buffer
		if err := WriteIDX(&out, a); err != nil {
			t.Fatalf("WriteIDX of an accepted array: %v", err)
		}
		again, err := ReadIDX(&out)
		if err != nil || !bytes.Equal(again.Raw, a.Raw) || len(again.Dims) != len(a.Dims) {
			t.Fatalf("round trip failed: %v", err)
		}
		if len(in) > 0 && in[0] == 0 {
			var w bytes.Buffer
			_ = WriteIDX(&w, a)
			if !bytes.Equal(w.Bytes(), in) {
				t.Fatal("uncompressed input not reproduced by WriteIDX")
			}
		}
		if a.Len() <= 1<<16 {
			x, err := IDXTensor[float32](a)
			if (err != nil) != (len(a.Dims) > tensor.MaxRank) {
				t.Fatalf("IDXTensor of rank %d: %v", len(a.Dims), err)
			}
			if err == nil && x.Len() != a.Len() {
				t.Fatalf("tensor of %d elements for %d", x.Len(), a.Len())
			}
		}
	})
}

// csvOptions derives reader options from a fuzzer-chosen byte.
func csvOptions(mode uint8) CSVOptions {
	opt := CSVOptions{
		Header: HeaderMode(mode & 3),
		Target: TargetKind((mode >> 2) % 3),
	}
	if mode&16 != 0 {
		opt.NonFinite = KeepNonFinite
	}
	switch (mode >> 5) & 3 {
	case 1:
		opt.LabelColumn = 1
	case 2:
		opt.LabelColumn = -2
	case 3:
		opt.LabelName = "y"
	}
	if mode&128 != 0 {
		opt.Comma = ';'
		opt.Comment = '#'
	}
	return opt
}

func FuzzCSV(f *testing.F) {
	seeds := []string{
		"1,2,0\n3,4,1\n",
		"a,b,y\n1,2,cat\n3,4,dog\n",
		"150,4,setosa,versicolor,virginica\n5.1,3.5,1.4,0.2,0\n",
		"3,2,a,b\n1,2,0\n3,4,1\n",
		"x,y\n1,NaN\n2,Inf\n",
		"1;2;3\n# c\n4;5;6\n",
		"\"1\n\",2,0\n",
		"1,,0\n",
		"\ufeffa,b\n1,2\n",
		"1e999,2,0\n",
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint8(i*37))
	}
	f.Add(gzipBytes(f, []byte("1,2,0\n3,4,1\n")), uint8(0))

	f.Fuzz(func(t *testing.T, in []byte, mode uint8) {
		opt := csvOptions(mode)
		ds, err := ReadCSV[float64](bytes.NewReader(in), opt)
		if err != nil {
			var ce *CSVError
			if !errors.As(err, &ce) || !wrapsSentinel(err) {
				t.Fatalf("error %v (%T) is not a *CSVError wrapping a sentinel", err, err)
			}
			if ce.Line < 0 || ce.Column < 0 {
				t.Fatalf("negative position in %v", ce)
			}
			return
		}
		if err := ds.Validate(); err != nil {
			t.Fatalf("invalid dataset: %v", err)
		}
		if opt.Target == TargetClass && ds.Labels == nil || opt.Target == TargetReal && ds.Y == nil {
			t.Fatalf("target %v read without targets", opt.Target)
		}
		if opt.NonFinite == RefuseNonFinite {
			for _, v := range ds.X.Data() {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("non-finite %v accepted", v)
				}
			}
		}
		// A file that float64 reads with non-finite values kept, float32
		// reads too, with the same shape.
		if opt.NonFinite == KeepNonFinite {
			ds32, err := ReadCSV[float32](bytes.NewReader(in), opt)
			if err != nil || ds32.Len() != ds.Len() || ds32.Dim() != ds.Dim() {
				t.Fatalf("float32 read: %v", err)
			}
		}
	})
}
