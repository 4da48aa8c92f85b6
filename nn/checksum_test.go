package nn

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/internal/testutil"
)

// dataRegion returns the bytes after the header of a safetensors file.
func dataRegion(b []byte) []byte {
	return b[8+binary.LittleEndian.Uint64(b):]
}

// TestChecksumWritten: a saved file records the SHA-256 of its tensor data
// under ChecksumKey, for models (with their metadata) and for plain
// parameter lists (WriteSafetensors without metadata), replacing a stale
// value passed in.
func TestChecksumWritten(t *testing.T) {
	m, _ := NewMLP[float32](MLPConfig{Dims: []int{3, 4, 2}}, newRNG(1))
	var plain bytes.Buffer
	if err := WriteSafetensors(&plain, m.Params(), map[string]string{ChecksumKey: "stale", "note": "x"}); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"Save": saved(t, m), "WriteSafetensors": plain.Bytes()} {
		s, err := ParseSafetensors(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sum := sha256.Sum256(dataRegion(b))
		if got, want := s.Metadata[ChecksumKey], hex.EncodeToString(sum[:]); got != want {
			t.Errorf("%s: %s = %q, want %q", name, ChecksumKey, got, want)
		}
	}
}

// TestChecksumDetectsFlippedByte: a byte flipped anywhere in the tensor
// data makes Load, LoadTorch and their File forms fail with an error that
// names the file, wraps ErrChecksum and says the data does not match; the
// same file unchanged loads. (Without the checksum the flipped byte
// loaded silently as another weight.)
func TestChecksumDetectsFlippedByte(t *testing.T) {
	m, _ := NewMLP[float64](MLPConfig{Dims: []int{3, 4, 2}, Activation: Tanh}, newRNG(1))
	good := saved(t, m)
	start := len(good) - len(dataRegion(good))
	dir := t.TempDir()
	for _, at := range []int{start, start + 17, len(good) - 1} {
		b := bytes.Clone(good)
		b[at] ^= 0x10
		path := filepath.Join(dir, "flipped.safetensors")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err1 := LoadFile[float64](path)
		_, err2 := LoadTorchFile[float32](path, TorchOptions{Activation: Tanh})
		_, err3 := Load[float64](bytes.NewReader(b))
		for i, err := range []error{err1, err2, err3} {
			if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "does not match its checksum") {
				t.Errorf("byte %d, reader %d: error %v, want one wrapping ErrChecksum", at, i, err)
			}
			if i < 2 && (err == nil || !strings.HasPrefix(err.Error(), path+": ")) {
				t.Errorf("byte %d, reader %d: error %v does not start with the file name", at, i, err)
			}
		}
	}
	if _, err := Load[float64](bytes.NewReader(good)); err != nil {
		t.Errorf("the intact file: %v", err)
	}
}

// TestChecksumMalformed: a ChecksumKey value that is not a SHA-256 is an
// error, and a file without the key (as PyTorch writes them) loads.
func TestChecksumMalformed(t *testing.T) {
	w := rawTensor{"0.weight", "F32", []int{2, 3}, []float64{1, 2, 3, 4, 5, 6}}
	for _, v := range []string{"", "abc", strings.Repeat("A", 64), strings.Repeat("g", 64)} {
		_, err := ParseSafetensors(handSafetensors(map[string]string{ChecksumKey: v}, w))
		if err == nil || !strings.Contains(err.Error(), "is not a SHA-256") {
			t.Errorf("checksum %q: error %v", v, err)
		}
	}
	if _, err := LoadTorch[float32](bytes.NewReader(handSafetensors(nil, w)), TorchOptions{}); err != nil {
		t.Errorf("a file without a checksum: %v", err)
	}
}

// TestResealReachesParsers: the fuzzers' reseal step (FuzzLoad,
// FuzzLoadTorch) turns a file whose tensor data was changed into one that
// passes the checksum, so that their inputs reach the parsers behind it.
func TestResealReachesParsers(t *testing.T) {
	m, _ := NewMLP[float32](MLPConfig{Dims: []int{3, 4, 2}}, newRNG(1))
	b := saved(t, m)
	b[len(b)-2] ^= 0x01
	if _, err := Load[float32](bytes.NewReader(b)); !errors.Is(err, ErrChecksum) {
		t.Fatalf("changed data before resealing: error %v, want ErrChecksum", err)
	}
	if !testutil.ResealSafetensors(b, ChecksumKey) {
		t.Fatal("no checksum found to reseal")
	}
	if _, err := Load[float32](bytes.NewReader(b)); err != nil {
		t.Errorf("resealed: %v", err)
	}
}
