package outfile_test

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gradflow/gradflow/internal/outfile"
)

// Save JSON lines through a writer function.
func ExampleWrite() {
	dir, _ := os.MkdirTemp("", "outfile")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "rows.jsonl")
	err := outfile.Write(path, func(w io.Writer) error {
		return json.NewEncoder(w).Encode(map[string]int{"width": 64})
	})
	b, _ := os.ReadFile(path)
	fmt.Print(string(b), err)
	// Output:
	// {"width":64}
	// <nil>
}
