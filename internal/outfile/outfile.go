package outfile

import (
	"bufio"
	"io"
	"os"
)

// Write creates (or truncates) path and fills it with write through a
// buffer. It returns the first error of write, the flush and the close.
func Write(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	err = write(w)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
