package testutil

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
)

func TestResealSafetensors(t *testing.T) {
	file := func(header, data string) []byte {
		b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
		return append(append(b, header...), data...)
	}
	data := "0123456789abcdef"
	sum := sha256.Sum256([]byte(data))
	want := hex.EncodeToString(sum[:])
	b := file(`{"__metadata__":{"k":"`+strings.Repeat("0", 64)+`"}}`, data)
	if !ResealSafetensors(b, "k") || !strings.Contains(string(b), `"k":"`+want+`"`) {
		t.Errorf("not resealed: %s", b)
	}
	for name, b := range map[string][]byte{
		"short":       []byte("abc"),
		"no key":      file(`{"__metadata__":{"j":"`+strings.Repeat("0", 64)+`"}}`, data),
		"short value": file(`{"__metadata__":{"k":"00"}}`, data),
		"huge header": append(binary.LittleEndian.AppendUint64(nil, 1<<40), "{}"...),
	} {
		before := string(b)
		if ResealSafetensors(b, "k") || string(b) != before {
			t.Errorf("%s: changed", name)
		}
	}
}
