package outfile

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Write replaces path with what write produces: through a buffer into a
// temporary file next to path, synced, then renamed over path (and the
// directory synced). It returns the first error of write, the flush, the
// sync, the close and the rename; on error path is left as it was and the
// temporary file is removed. The file has mode 0644.
func Write(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	err = write(w)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	return syncDir(filepath.Dir(path))
}

// WriteBytes replaces path with b as Write does.
func WriteBytes(path string, b []byte) error {
	return Write(path, func(w io.Writer) error { _, err := w.Write(b); return err })
}

// Stage runs write on a new temporary directory inside dir and then moves
// every file write created there to the same relative path under dir,
// each synced and renamed (subdirectories are created as needed). If write
// fails nothing is moved. The temporary directory is removed either way.
func Stage(dir string, write func(tmp string) error) error {
	tmp, err := os.MkdirTemp(dir, ".stage.tmp*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := write(tmp); err != nil {
		return err
	}
	synced := map[string]bool{}
	err = filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(tmp, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := syncFile(p); err != nil {
			return err
		}
		synced[filepath.Dir(dst)] = true
		return os.Rename(p, dst)
	})
	if err != nil {
		return fmt.Errorf("committing the files written to %s: %w", dir, err)
	}
	for d := range synced {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// IsTemp reports whether name (a base name) is a temporary file or
// directory of Write, Stage or a train checkpoint: it starts with "." and
// contains ".tmp".
func IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp")
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir persists the renames in dir. Some systems cannot sync a
// directory (Windows); that is not an error.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	_ = d.Sync()
	return d.Close()
}
