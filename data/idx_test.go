package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// encodeIDX builds the IDX bytes of values stored as type typ, by hand
// (not with WriteIDX), so that reader tests do not depend on the writer.
func encodeIDX(t testing.TB, typ IDXType, dims []uint32, values []float64) []byte {
	t.Helper()
	var b bytes.Buffer
	b.Write([]byte{0, 0, byte(typ), byte(len(dims))})
	for _, d := range dims {
		_ = binary.Write(&b, binary.BigEndian, d)
	}
	for _, v := range values {
		switch typ {
		case IDXUint8:
			b.WriteByte(uint8(v))
		case IDXInt8:
			b.WriteByte(byte(int8(v)))
		case IDXInt16:
			_ = binary.Write(&b, binary.BigEndian, int16(v))
		case IDXInt32:
			_ = binary.Write(&b, binary.BigEndian, int32(v))
		case IDXFloat32:
			_ = binary.Write(&b, binary.BigEndian, float32(v))
		case IDXFloat64:
			_ = binary.Write(&b, binary.BigEndian, v)
		default:
			t.Fatalf("bad type %v", typ)
		}
	}
	return b.Bytes()
}

func gzipBytes(t testing.TB, p []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(p); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestReadIDXAllTypes(t *testing.T) {
	// Values chosen to hit sign bits and byte order: a little-endian
	// reader or a missing sign extension gets them wrong.
	cases := []struct {
		typ    IDXType
		values []float64
	}{
		{IDXUint8, []float64{0, 1, 127, 128, 255, 7}},
		{IDXInt8, []float64{0, 1, -1, 127, -128, 5}},
		{IDXInt16, []float64{0, 258, -2, 32767, -32768, 1000}},
		{IDXInt32, []float64{0, 16909060, -3, math.MaxInt32, math.MinInt32, 9}},
		{IDXFloat32, []float64{0, 1.5, -2.25, float64(float32(3.4e38)), float64(float32(0.1)), float64(float32(-1e-30))}},
		{IDXFloat64, []float64{0, 0.1, -1e300, math.Pi, math.Inf(1), -0.5}},
	}
	for _, c := range cases {
		raw := encodeIDX(t, c.typ, []uint32{2, 3}, c.values)
		for _, compressed := range []bool{false, true} {
			in := raw
			if compressed {
				in = gzipBytes(t, raw)
			}
			a, err := ReadIDX(bytes.NewReader(in))
			if err != nil {
				t.Fatalf("%v gzip=%t: %v", c.typ, compressed, err)
			}
			if a.Type != c.typ || len(a.Dims) != 2 || a.Dims[0] != 2 || a.Dims[1] != 3 || a.Len() != 6 {
				t.Fatalf("%v: got type %v dims %v", c.typ, a.Type, a.Dims)
			}
			for i, want := range c.values {
				if got := a.At(i); got != want {
					t.Errorf("%v gzip=%t: At(%d) = %v, want %v", c.typ, compressed, i, got, want)
				}
			}
			x64, err := IDXTensor[float64](a)
			if err != nil {
				t.Fatal(err)
			}
			x32, err := IDXTensor[float32](a)
			if err != nil {
				t.Fatal(err)
			}
			if s := x64.Shape(); len(s) != 2 || s[0] != 2 || s[1] != 3 {
				t.Fatalf("tensor shape %v", s)
			}
			for i, want := range c.values {
				if x64.Data()[i] != want || x32.Data()[i] != float32(want) {
					t.Errorf("%v: tensor[%d] = %v / %v, want %v", c.typ, i, x64.Data()[i], x32.Data()[i], want)
				}
			}
			// WriteIDX must reproduce the hand-made encoding byte for byte.
			var out bytes.Buffer
			if err := WriteIDX(&out, a); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), raw) {
				t.Errorf("%v: WriteIDX output differs from the input", c.typ)
			}
		}
	}
}

func TestIDXLabels(t *testing.T) {
	a, err := ReadIDX(bytes.NewReader(encodeIDX(t, IDXInt16, []uint32{3}, []float64{4, -1, 300})))
	if err != nil {
		t.Fatal(err)
	}
	lab, err := a.Labels()
	if err != nil || len(lab) != 3 || lab[0] != 4 || lab[1] != -1 || lab[2] != 300 {
		t.Fatalf("Labels = %v, %v", lab, err)
	}
	f, err := ReadIDX(bytes.NewReader(encodeIDX(t, IDXFloat32, []uint32{1}, []float64{1})))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Labels(); err == nil {
		t.Error("float32 labels accepted")
	}
}

func TestReadIDXErrors(t *testing.T) {
	valid := encodeIDX(t, IDXInt16, []uint32{2, 2}, []float64{1, 2, 3, 4}) // 12 header bytes + 8 payload bytes
	hdr := func(b ...byte) []byte { return b }
	cases := []struct {
		name   string
		in     []byte
		sent   error
		offset int64
		field  string
	}{
		{"empty", nil, ErrTruncated, 0, "magic"},
		{"short magic", hdr(0, 0, 8), ErrTruncated, 3, "magic"},
		{"bad magic", hdr(1, 0, 8, 1, 0, 0, 0, 1, 5), ErrFormat, 0, "magic"},
		{"unknown type", hdr(0, 0, 0x0A, 1, 0, 0, 0, 1, 5), ErrFormat, 2, "type"},
		{"rank zero", hdr(0, 0, 8, 0), ErrSize, 3, "rank"},
		{"short dims", hdr(0, 0, 8, 2, 0, 0, 0, 1, 0, 0), ErrTruncated, 10, "dimension 1"},
		// 2^32-1 by 2^16-1 float64s fit in an int; a third factor of 2^32-1
		// cannot, and the error must name that third dimension.
		{"overflow", hdr(0, 0, 0x0E, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), ErrSize, 12, "dimension 2"},
		{"short payload", valid[:len(valid)-1], ErrTruncated, int64(len(valid) - 1), "payload"},
		{"trailing", append(append([]byte(nil), valid...), 0), ErrSize, int64(len(valid)), "payload"},
	}
	for _, c := range cases {
		_, err := ReadIDX(bytes.NewReader(c.in))
		var ie *IDXError
		if !errors.As(err, &ie) {
			t.Errorf("%s: error %v is not an *IDXError", c.name, err)
			continue
		}
		if !errors.Is(err, c.sent) || ie.Offset != c.offset || ie.Field != c.field {
			t.Errorf("%s: got %v (offset %d, field %q), want %v at offset %d in %q", c.name, err, ie.Offset, ie.Field, c.sent, c.offset, c.field)
		}
	}
}

func TestReadIDXBadGzip(t *testing.T) {
	raw := encodeIDX(t, IDXUint8, []uint32{64, 64}, make([]float64, 64*64))
	gz := gzipBytes(t, raw)

	// The CRC-32 and size trailer sits in the last 8 bytes; corrupting
	// the CRC leaves the IDX data intact, so only the checksum can tell.
	crc := append([]byte(nil), gz...)
	crc[len(crc)-8] ^= 0xff
	// Cutting the compressed stream short.
	short := gz[:len(gz)/2]
	// A gzip magic followed by garbage.
	header := []byte{0x1f, 0x8b, 0, 0, 0}
	for name, in := range map[string][]byte{"crc": crc, "short": short, "header": header} {
		_, err := ReadIDX(bytes.NewReader(in))
		if !errors.Is(err, ErrCompression) {
			t.Errorf("%s: got %v, want ErrCompression", name, err)
		}
	}
	// A well-formed gzip stream holding too little IDX data is the IDX
	// data's fault, not gzip's.
	_, err := ReadIDX(bytes.NewReader(gzipBytes(t, raw[:100])))
	if !errors.Is(err, ErrTruncated) || errors.Is(err, ErrCompression) {
		t.Errorf("short gzipped payload: got %v, want ErrTruncated", err)
	}
}

// TestReadIDXHugeClaim checks that a header claiming 16 GiB over a few bytes
// of data fails without allocating what the header claims, both when the
// input size is known (checked up front) and when it is not (the buffer
// grows with the data).
func TestReadIDXHugeClaim(t *testing.T) {
	in := []byte{0, 0, byte(IDXFloat64), 1, 0x80, 0, 0, 0, 1, 2, 3}
	for _, compressed := range []bool{false, true} {
		for _, hide := range []bool{false, true} {
			src := in
			if compressed {
				src = gzipBytes(t, in)
			}
			var r io.Reader = bytes.NewReader(src)
			if hide {
				r = hiddenSize{r}
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := ReadIDX(r)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrTruncated) {
				t.Errorf("gzip=%t hidden=%t: got %v, want ErrTruncated", compressed, hide, err)
			}
			// The growing reader starts with a 1 MiB buffer; gzip and
			// bufio add under 100 KiB. 4 MiB leaves room and is far
			// below 16 GiB.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
				t.Errorf("gzip=%t hidden=%t: allocated %d bytes for a %d-byte input", compressed, hide, alloc, len(src))
			}
		}
	}
	// A gzip stream of 100 KB could in principle expand to 100 MB, but a
	// claim of 80 MB is implausible enough not to be allocated up front:
	// both readers must fail having allocated about what the data holds.
	rng := rand.New(rand.NewPCG(1, 1))
	noise := make([]byte, 100<<10)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	claim := append([]byte{0, 0, byte(IDXUint8), 1, 0x05, 0, 0, 0}, noise...) // 80 MiB claimed
	gz := gzipBytes(t, claim)
	for name, read := range map[string]func() error{
		"ReadIDX": func() error { _, err := ReadIDX(bytes.NewReader(gz)); return err },
		"stream":  func() error { _, _, err := decodeIDXAs(bytes.NewReader(gz), "", float32(1)); return err },
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := read()
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrTruncated) {
			t.Errorf("%s: got %v, want ErrTruncated", name, err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
			t.Errorf("%s: allocated %d bytes for %d bytes of data claiming 80 MiB", name, alloc, len(noise))
		}
	}

	// The growing reader still reads a large valid payload in full.
	big := make([]float64, 3<<20)
	for i := range big {
		big[i] = float64(i % 251)
	}
	raw := encodeIDX(t, IDXUint8, []uint32{3 << 20}, big)
	a, err := ReadIDX(hiddenSize{bytes.NewReader(gzipBytes(t, raw))})
	if err != nil || !bytes.Equal(a.Raw, raw[8:]) {
		t.Fatalf("3 MiB payload through the growing reader: %v", err)
	}
}

func TestReadIDXFileNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.idx")
	if err := os.WriteFile(path, []byte{0, 0, 8}, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ReadIDXFile(path)
	var ie *IDXError
	if !errors.As(err, &ie) || ie.File != path {
		t.Fatalf("got %v, want an *IDXError naming %s", err, path)
	}
	if !bytes.Contains([]byte(err.Error()), []byte(path)) {
		t.Errorf("message %q does not name the file", err)
	}
}

func TestIDXTensorChecks(t *testing.T) {
	deep := &IDX{Type: IDXUint8, Dims: []int{1, 1, 1, 1, 1, 1, 1, 1, 2}, Raw: []byte{1, 2}}
	if _, err := IDXTensor[float32](deep); err == nil {
		t.Error("rank 9 accepted as a tensor")
	}
	deep.Dims = []int{1, 2}
	if x, err := IDXTensor[float32](deep); err != nil || x.Len() != 2 {
		t.Errorf("reshaped to [1 2]: %v", err)
	}
	short := &IDX{Type: IDXInt32, Dims: []int{2}, Raw: []byte{0, 0, 0, 1}}
	if _, err := IDXTensor[float32](short); err == nil {
		t.Error("IDX with a short payload converted")
	}
	if _, err := short.Labels(); err == nil {
		t.Error("IDX with a short payload gave labels")
	}
}

func TestWriteIDXChecks(t *testing.T) {
	bad := []*IDX{
		{Type: 0x42, Dims: []int{1}, Raw: []byte{0}},
		{Type: IDXUint8, Dims: nil},
		{Type: IDXUint8, Dims: []int{-1}},
		{Type: IDXUint8, Dims: []int{3}, Raw: []byte{1, 2}},
		{Type: IDXFloat64, Dims: []int{1 << 31, 1 << 31, 1 << 31}},
		{Type: IDXUint8, Dims: make([]int, 256)},
	}
	for i, a := range bad {
		if err := WriteIDX(&bytes.Buffer{}, a); err == nil {
			t.Errorf("case %d: WriteIDX accepted %v %v with %d bytes", i, a.Type, a.Dims, len(a.Raw))
		}
	}
}
