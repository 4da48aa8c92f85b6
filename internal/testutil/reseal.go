package testutil

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// ResealSafetensors overwrites, in place, the checksum that a safetensors
// file b records in its header under key (nn.ChecksumKey) with the
// SHA-256 of b's tensor data, so that fuzzers whose inputs mutate the
// tensor data get past the checksum to the parsers behind it. It looks for
// `"key":"` followed by 64 characters and `"`, the form gradflow and
// testdata/torch/interop.py write; a b without it, or too short to hold a
// header, is left as it is. It reports whether it rewrote the checksum.
func ResealSafetensors(b []byte, key string) bool {
	if len(b) < 8 {
		return false
	}
	n := binary.LittleEndian.Uint64(b)
	if n > uint64(len(b)-8) {
		return false
	}
	header := b[8 : 8+n]
	tag := []byte(`"` + key + `":"`)
	i := bytes.Index(header, tag)
	if i < 0 {
		return false
	}
	digits := header[i+len(tag):]
	if len(digits) < 2*sha256.Size+1 || digits[2*sha256.Size] != '"' {
		return false
	}
	sum := sha256.Sum256(b[8+n:])
	hex.Encode(digits[:2*sha256.Size], sum[:])
	return true
}
