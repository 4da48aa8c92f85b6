package data

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// gzipMagic starts every gzip member (RFC 1952). Neither an IDX stream
// (which starts with two zero bytes) nor a text CSV can start with it, so
// sniffing it is unambiguous and file names need not end in ".gz".
var gzipMagic = [2]byte{0x1f, 0x8b}

// source is the decompressed view of an input. It counts the bytes it has
// delivered, so errors can name an offset, and keeps the last error of the
// underlying reader, so a clean end (io.EOF) can be told apart from a
// corrupt or truncated gzip stream.
type source struct {
	r      io.Reader
	gzip   bool
	offset int64
	err    error
	// limit bounds the length of the decompressed stream, or is -1 when
	// the input's size is unknown.
	limit int64
	// trust is the length up to which a size announced by a header is
	// believed enough to allocate for it up front, or -1. It equals limit
	// for raw input; for gzip it assumes a ratio that real data stays
	// under, so that a small hostile file cannot claim the 1032-fold
	// expansion deflate allows and have it allocated before the data is
	// seen to be missing. Larger claims are read into growing buffers.
	trust int64
}

// trustedRatio bounds the compression ratio of the gzip inputs whose
// announced sizes are allocated up front (MNIST's images compress about
// 4.7 times).
const trustedRatio = 64

// maxDeflateRatio bounds how much deflate can expand its input: a 258-byte
// match costs at least 2 bits, so one compressed byte yields at most 1032.
const maxDeflateRatio = 1032

// inputSize returns the number of bytes left in r when that is cheap to
// know (in-memory readers, regular files), or -1.
func inputSize(r io.Reader) int64 {
	switch v := r.(type) {
	case interface{ Len() int }: // bytes.Reader, strings.Reader, bytes.Buffer
		return int64(v.Len())
	case *os.File:
		fi, err := v.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return -1
		}
		off, err := v.Seek(0, io.SeekCurrent)
		if err != nil {
			return -1
		}
		return fi.Size() - off
	}
	return -1
}

// openSource wraps r, transparently decompressing it if it starts with the
// gzip magic bytes.
func openSource(r io.Reader) (*source, error) {
	size := inputSize(r)
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(2)
	if err == nil && magic[0] == gzipMagic[0] && magic[1] == gzipMagic[1] {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCompression, err)
		}
		return &source{r: zr, gzip: true, limit: scaled(size, maxDeflateRatio, 0),
			trust: scaled(size, trustedRatio, 1<<20)}, nil
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	return &source{r: br, limit: size, trust: size}, nil
}

// Read implements io.Reader.
func (s *source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.offset += int64(n)
	if err != nil {
		s.err = err
	}
	return n, err
}

// scaled returns size*ratio + extra, saturating, or -1 for an unknown size.
func scaled(size, ratio, extra int64) int64 {
	if size < 0 {
		return -1
	}
	if size > (math.MaxInt64-extra)/ratio {
		return math.MaxInt64
	}
	return size*ratio + extra
}

// trusts reports whether n bytes from the current offset on may be
// allocated before they are read.
func (s *source) trusts(n int) bool {
	return s.trust >= 0 && int64(n) <= s.trust-s.offset
}

// failure turns the last read error into one wrapping ErrCompression when the
// gzip layer is at fault, or nil when the input simply ended.
func (s *source) failure() error {
	if s.err == nil || s.err == io.EOF {
		return nil
	}
	if s.gzip {
		if errors.Is(s.err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: compressed data ends early", ErrCompression)
		}
		return fmt.Errorf("%w: %v", ErrCompression, s.err)
	}
	return s.err
}
