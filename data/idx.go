package data

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"strconv"

	"github.com/gradflow/gradflow/tensor"
)

// IDXType is the element type code, the third byte of an IDX magic number.
type IDXType byte

// The IDX element types. Multi-byte values are big-endian.
const (
	IDXUint8   IDXType = 0x08
	IDXInt8    IDXType = 0x09
	IDXInt16   IDXType = 0x0B
	IDXInt32   IDXType = 0x0C
	IDXFloat32 IDXType = 0x0D
	IDXFloat64 IDXType = 0x0E
)

// Size returns the number of bytes of one element, or 0 for an unknown code.
func (t IDXType) Size() int {
	switch t {
	case IDXUint8, IDXInt8:
		return 1
	case IDXInt16:
		return 2
	case IDXInt32, IDXFloat32:
		return 4
	case IDXFloat64:
		return 8
	}
	return 0
}

// String returns the type's name, e.g. "uint8", or its hexadecimal code.
func (t IDXType) String() string {
	switch t {
	case IDXUint8:
		return "uint8"
	case IDXInt8:
		return "int8"
	case IDXInt16:
		return "int16"
	case IDXInt32:
		return "int32"
	case IDXFloat32:
		return "float32"
	case IDXFloat64:
		return "float64"
	}
	return "0x" + strconv.FormatUint(uint64(t), 16)
}

// IDX is an N-dimensional array in the IDX format of the MNIST files.
//
// The payload is kept as the raw big-endian bytes of the file: converting it
// is left to IDXTensor and Labels, so that a uint8 image file costs one byte
// per pixel until the caller picks the element type it trains with.
type IDX struct {
	Type IDXType
	Dims []int  // sizes, outermost first; at least one
	Raw  []byte // len(Raw) == Len() * Type.Size(), row-major, big-endian
}

// Len returns the number of elements, the product of Dims.
func (a *IDX) Len() int {
	n := 1
	for _, d := range a.Dims {
		n *= d
	}
	return n
}

// At returns element i (in row-major order) converted to float64, which
// holds every IDX type exactly.
func (a *IDX) At(i int) float64 {
	switch a.Type {
	case IDXUint8:
		return float64(a.Raw[i])
	case IDXInt8:
		return float64(int8(a.Raw[i]))
	case IDXInt16:
		return float64(int16(binary.BigEndian.Uint16(a.Raw[2*i:])))
	case IDXInt32:
		return float64(int32(binary.BigEndian.Uint32(a.Raw[4*i:])))
	case IDXFloat32:
		return float64(math.Float32frombits(binary.BigEndian.Uint32(a.Raw[4*i:])))
	case IDXFloat64:
		return math.Float64frombits(binary.BigEndian.Uint64(a.Raw[8*i:]))
	}
	panic("data: IDX.At on unknown type " + a.Type.String())
}

// check verifies that a is consistent, as ReadIDX guarantees but a
// hand-built IDX may not be.
func (a *IDX) check() error {
	if a == nil {
		return fmt.Errorf("data: idx array is nil")
	}
	size := uint64(a.Type.Size())
	if size == 0 {
		return fmt.Errorf("data: idx: unknown element type %v", a.Type)
	}
	if len(a.Dims) == 0 {
		return fmt.Errorf("data: idx: no dimensions")
	}
	bytes := size
	for _, d := range a.Dims {
		hi, lo := bits.Mul64(bytes, uint64(d))
		if d < 0 || hi != 0 {
			return fmt.Errorf("data: idx: dims %v negative or overflowing", a.Dims)
		}
		bytes = lo
	}
	if uint64(len(a.Raw)) != bytes {
		return fmt.Errorf("data: idx: %d payload bytes, dims %v of %v need %d", len(a.Raw), a.Dims, a.Type, bytes)
	}
	return nil
}

// Labels returns the elements as int32 class labels. It refuses the float
// types, whose values need not be integers.
func (a *IDX) Labels() ([]int32, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	switch a.Type {
	case IDXUint8, IDXInt8, IDXInt16, IDXInt32:
	default:
		return nil, fmt.Errorf("data: idx labels must have an integer type, have %v", a.Type)
	}
	out := make([]int32, a.Len())
	for i := range out {
		out[i] = int32(a.At(i))
	}
	return out, nil
}

// IDXTensor converts a to a tensor of the same shape. float64 holds every IDX
// type exactly; float32 rounds int32 values beyond 2^24 and float64 values.
// IDX allows 255 dimensions, a tensor tensor.MaxRank: a deeper array is an
// error (reshape it first by editing Dims, e.g. to [n, rest]).
func IDXTensor[T tensor.Float](a *IDX) (*tensor.Tensor[T], error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	if len(a.Dims) > tensor.MaxRank {
		return nil, fmt.Errorf("data: idx dims %v have rank %d, a tensor at most %d", a.Dims, len(a.Dims), tensor.MaxRank)
	}
	out := make([]T, a.Len())
	convertIDX(out, a, 1)
	return tensor.FromSlice(out, a.Dims...), nil
}

// convertIDX writes a's elements times scale into dst, with the type switch
// hoisted out of the loop: this is the hot path when loading MNIST.
func convertIDX[T tensor.Float](dst []T, a *IDX, scale T) {
	raw := a.Raw
	switch a.Type {
	case IDXUint8:
		var table [256]T
		for i := range table {
			table[i] = T(i) * scale
		}
		for i, b := range raw[:len(dst)] {
			dst[i] = table[b]
		}
	case IDXInt8:
		for i := range dst {
			dst[i] = T(int8(raw[i])) * scale
		}
	case IDXInt16:
		for i := range dst {
			dst[i] = T(int16(binary.BigEndian.Uint16(raw[2*i:]))) * scale
		}
	case IDXInt32:
		for i := range dst {
			dst[i] = T(int32(binary.BigEndian.Uint32(raw[4*i:]))) * scale
		}
	case IDXFloat32:
		for i := range dst {
			dst[i] = T(math.Float32frombits(binary.BigEndian.Uint32(raw[4*i:]))) * scale
		}
	case IDXFloat64:
		for i := range dst {
			dst[i] = T(math.Float64frombits(binary.BigEndian.Uint64(raw[8*i:]))) * scale
		}
	default:
		panic("data: convertIDX on unknown type " + a.Type.String())
	}
}

// ReadIDXFile reads an IDX file, raw or gzip-compressed (detected by its
// magic bytes, whatever the file name). Errors name the file and the offset.
func ReadIDXFile(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	return readIDX(f, path)
}

// ReadIDX reads one IDX array from r, raw or gzip-compressed (detected by
// the gzip magic bytes). The whole of r must be the array: trailing bytes,
// a short payload, a dimension product that overflows int, an unknown type
// code or a corrupt gzip stream are errors of type *IDXError.
//
// A header cannot make ReadIDX allocate much more than the input holds:
// when the input size is known (a file, a bytes.Reader) a payload larger
// than the input, or than its gzip stream can decompress to (at most 1032
// times its size), is refused before anything is allocated; a payload is
// allocated up front only when plausible (no more than the raw input, or
// 64 times a gzip input); otherwise the buffer grows with the bytes
// actually read, to at most twice their number.
func ReadIDX(r io.Reader) (*IDX, error) { return readIDX(r, "") }

func readIDX(r io.Reader, name string) (*IDX, error) {
	s, h, err := openIDX(r, name)
	if err != nil {
		return nil, err
	}
	var raw []byte
	if s.src.trusts(h.bytes()) {
		raw = make([]byte, h.bytes())
		n, _ := io.ReadFull(s.src, raw)
		raw = raw[:n]
	} else {
		raw = readUpTo(s.src, h.bytes())
	}
	if len(raw) < h.bytes() {
		return nil, s.truncated("payload", "dims %v of %v need %d payload bytes, stream has %d",
			h.dims, h.typ, h.bytes(), len(raw))
	}
	if err := s.end(h); err != nil {
		return nil, err
	}
	return &IDX{Type: h.typ, Dims: h.dims, Raw: raw}, nil
}

// readIDXFileAs reads an IDX file straight into a []T of its values times
// scale, converting one chunk at a time as the file is decompressed, so
// that the raw payload is never held whole (for MNIST's training images
// that saves a 47 MB buffer and a pass over it).
func readIDXFileAs[T tensor.Float](path string, scale T) ([]int, []T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	return decodeIDXAs(f, path, scale)
}

// decodeIDXAs is readIDXFileAs on a reader; name is used in errors.
func decodeIDXAs[T tensor.Float](r io.Reader, name string, scale T) ([]int, []T, error) {
	s, h, err := openIDX(r, name)
	if err != nil {
		return nil, nil, err
	}
	if !s.src.trusts(h.bytes()) {
		// The input size is unknown or the claim is implausibly large
		// for it: the reader that grows its buffer with the data is the
		// safe one, and conversion waits until the data is all there.
		raw := readUpTo(s.src, h.bytes())
		if len(raw) < h.bytes() {
			return nil, nil, s.truncated("payload", "dims %v of %v need %d payload bytes, stream has %d",
				h.dims, h.typ, h.bytes(), len(raw))
		}
		if err := s.end(h); err != nil {
			return nil, nil, err
		}
		out := make([]T, h.count)
		convertIDX(out, &IDX{Type: h.typ, Dims: h.dims, Raw: raw}, scale)
		return h.dims, out, nil
	}
	out := make([]T, h.count)
	got := convertPipelined(out, s.src, h.typ, h.bytes(), scale)
	if got < h.bytes() {
		return nil, nil, s.truncated("payload", "dims %v of %v need %d payload bytes, stream has %d",
			h.dims, h.typ, h.bytes(), got)
	}
	if err := s.end(h); err != nil {
		return nil, nil, err
	}
	return h.dims, out, nil
}

// convertPipelined reads n payload bytes of type typ from r and writes
// their values times scale into dst, returning how many bytes it read.
//
// Decompression and conversion overlap: one goroutine fills chunks while
// this one converts them, because converting into a fresh slice is
// dominated by first-touch page faults, which cost as much as the
// decompression itself. Each element is converted exactly once, by one
// goroutine, in order: the result does not depend on scheduling.
func convertPipelined[T tensor.Float](dst []T, r io.Reader, typ IDXType, n int, scale T) int {
	size := typ.Size()
	chunkLen := (256 << 10) / size * size
	const buffers = 4
	type chunk struct {
		buf []byte
		n   int
	}
	full := make(chan chunk, buffers)
	free := make(chan []byte, buffers)
	for range buffers {
		free <- make([]byte, chunkLen)
	}
	go func() {
		defer close(full)
		for left := n; left > 0; {
			buf := <-free
			m := min(len(buf), left)
			k, _ := io.ReadFull(r, buf[:m])
			full <- chunk{buf, k}
			if k < m {
				return
			}
			left -= k
		}
	}()
	done := 0
	for c := range full {
		// A short last chunk may end inside an element; the caller
		// reports the truncation, so only whole elements are converted.
		whole := c.n / size * size
		at := done / size
		convertIDX(dst[at:at+whole/size], &IDX{Type: typ, Raw: c.buf[:whole]}, scale)
		done += c.n
		free <- c.buf
	}
	return done
}

// idxHeader is a parsed IDX header.
type idxHeader struct {
	typ   IDXType
	dims  []int
	count int   // number of elements, the product of dims
	start int64 // offset of the payload
}

func (h idxHeader) bytes() int { return h.count * h.typ.Size() }

// idxStream reads one IDX stream and builds its errors.
type idxStream struct {
	src  *source
	name string
}

func (s *idxStream) fail(off int64, field string, err error) error {
	return &IDXError{File: s.name, Offset: off, Field: field, Err: err}
}

// truncated reports a short read at the current offset, blaming gzip if
// the compressed stream, not the IDX data, is what broke.
func (s *idxStream) truncated(field string, format string, args ...any) error {
	if gzErr := s.src.failure(); gzErr != nil {
		return s.fail(s.src.offset, field, gzErr)
	}
	return s.fail(s.src.offset, field, fmt.Errorf("%w: "+format, append([]any{ErrTruncated}, args...)...))
}

// openIDX opens the (possibly gzipped) stream and parses its header,
// checking that the payload it announces fits in an int and, when the
// input size is known, in the input.
func openIDX(r io.Reader, name string) (*idxStream, idxHeader, error) {
	var h idxHeader
	src, err := openSource(r)
	if err != nil {
		return nil, h, &IDXError{File: name, Offset: 0, Field: "gzip header", Err: err}
	}
	s := &idxStream{src: src, name: name}

	var magic [4]byte
	if n, _ := io.ReadFull(src, magic[:]); n < len(magic) {
		return nil, h, s.truncated("magic", "stream has %d bytes, an IDX header needs at least 4", n)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, h, s.fail(0, "magic", fmt.Errorf("%w: magic number 0x%08x does not start with two zero bytes",
			ErrFormat, binary.BigEndian.Uint32(magic[:])))
	}
	h.typ = IDXType(magic[2])
	size := h.typ.Size()
	if size == 0 {
		return nil, h, s.fail(2, "type", fmt.Errorf("%w: unknown element type code %v", ErrFormat, h.typ))
	}
	ndim := int(magic[3])
	if ndim == 0 {
		return nil, h, s.fail(3, "rank", fmt.Errorf("%w: zero dimensions", ErrSize))
	}

	h.dims = make([]int, ndim)
	var dimBytes [4]byte
	// maxElems keeps count*size representable as an int on every platform.
	maxElems := math.MaxInt / size
	h.count = 1
	for i := range h.dims {
		off := src.offset
		field := "dimension " + strconv.Itoa(i)
		if n, _ := io.ReadFull(src, dimBytes[:]); n < len(dimBytes) {
			return nil, h, s.truncated(field, "header ends after %d of %d dimensions", i, ndim)
		}
		d := binary.BigEndian.Uint32(dimBytes[:])
		if uint64(d) > uint64(math.MaxInt) {
			return nil, h, s.fail(off, field, fmt.Errorf("%w: size %d overflows int", ErrSize, d))
		}
		h.dims[i] = int(d)
		if d != 0 && h.count > maxElems/int(d) {
			return nil, h, s.fail(off, field, fmt.Errorf("%w: product of dimensions %v overflows", ErrSize, h.dims[:i+1]))
		}
		h.count *= int(d)
	}
	h.start = src.offset
	if src.limit >= 0 && int64(h.bytes()) > src.limit-h.start {
		if src.gzip {
			return nil, h, s.fail(h.start, "payload", fmt.Errorf(
				"%w: dims %v of %v need %d payload bytes, more than the gzip stream can hold (at most %d)",
				ErrTruncated, h.dims, h.typ, h.bytes(), src.limit-h.start))
		}
		return nil, h, s.fail(src.limit, "payload", fmt.Errorf(
			"%w: dims %v of %v need %d payload bytes, stream has %d",
			ErrTruncated, h.dims, h.typ, h.bytes(), src.limit-h.start))
	}
	return s, h, nil
}

// end checks that the stream ends right after the payload.
func (s *idxStream) end(h idxHeader) error {
	// Reading one more byte both detects trailing data and, for gzip, runs
	// the decoder to the end of the member so that its CRC is verified.
	var extra [1]byte
	if n, _ := io.ReadFull(s.src, extra[:]); n > 0 {
		return s.fail(h.start+int64(h.bytes()), "payload",
			fmt.Errorf("%w: trailing bytes after the %d payload bytes of dims %v", ErrSize, h.bytes(), h.dims))
	}
	if err := s.src.failure(); err != nil {
		return s.fail(s.src.offset, "payload", err)
	}
	return nil
}

// readUpTo reads up to n bytes, growing its buffer geometrically as data
// arrives instead of trusting n: a header that claims gigabytes over a
// short stream costs at most twice what the stream holds. It returns fewer
// than n bytes when the stream ends early or fails; the caller reports gzip
// and I/O errors through source.failure.
func readUpTo(r io.Reader, n int) []byte {
	const first = 1 << 20
	buf := make([]byte, 0, min(n, first))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(n, 2*cap(buf)))
			copy(grown, buf)
			buf = grown
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil {
			break
		}
	}
	return buf
}

// WriteIDX writes a in the IDX format, uncompressed. It checks that the
// dimensions fit the format (rank 1 to 255, each below 2^32) and that
// len(a.Raw) matches them.
func WriteIDX(w io.Writer, a *IDX) error {
	if err := a.check(); err != nil {
		return err
	}
	if len(a.Dims) > 255 {
		return fmt.Errorf("data: idx: rank %d above the format's 255", len(a.Dims))
	}
	hdr := make([]byte, 4+4*len(a.Dims))
	hdr[2] = byte(a.Type)
	hdr[3] = byte(len(a.Dims))
	for i, d := range a.Dims {
		if uint64(d) > math.MaxUint32 {
			return fmt.Errorf("data: idx: dimension %d = %d above the format's 2^32-1", i, d)
		}
		binary.BigEndian.PutUint32(hdr[4+4*i:], uint32(d))
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	_, err := w.Write(a.Raw)
	return err
}
