package sweep

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gradflow/gradflow/internal/outfile"
)

// Merge combines the output directories of the shards of one sweep into dst,
// which then holds what a single-machine Run of the whole sweep writes: the
// same config.json and the same result files, byte for byte (each run is
// deterministic, and Merge copies files without rewriting them). It refuses
// the destination as a source, a source without a sweep's config.json,
// sources with another configuration, incomplete result files, and two
// different files for one run; it returns an error naming the missing runs
// if the shards together do not cover the grid (the runs present are still
// copied, so a later Merge can complete dst).
func Merge(dst string, srcs ...string) error {
	cfgBytes, c, err := sourceConfig(dst, srcs)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dst, runsDir), 0o755); err != nil {
		return err
	}
	if old, err := os.ReadFile(filepath.Join(dst, configFile)); err == nil {
		if !bytes.Equal(old, cfgBytes) {
			return configErrorf("sweep: merge: %s holds another sweep", filepath.Join(dst, configFile))
		}
	} else if err := outfile.WriteBytes(filepath.Join(dst, configFile), cfgBytes); err != nil {
		return err
	}
	var missing []string
	for _, spec := range c.Runs() {
		var found []byte
		var from string
		for _, s := range srcs {
			b, err := os.ReadFile(RunFile(s, spec))
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return fmt.Errorf("sweep: merge: %w", err)
			}
			if _, _, _, err := parseRunFile(b); err != nil {
				return fmt.Errorf("sweep: merge: %s: %v", RunFile(s, spec), err)
			}
			if found != nil && !bytes.Equal(found, b) {
				return fmt.Errorf("sweep: merge: %s and %s differ", RunFile(from, spec), RunFile(s, spec))
			}
			found, from = b, s
		}
		if found == nil {
			if !complete(RunFile(dst, spec)) {
				missing = append(missing, spec.ID)
			}
			continue
		}
		if old, err := os.ReadFile(RunFile(dst, spec)); err == nil && !bytes.Equal(old, found) {
			return fmt.Errorf("sweep: merge: %s differs from %s", RunFile(dst, spec), RunFile(from, spec))
		}
		if err := outfile.WriteBytes(RunFile(dst, spec), found); err != nil {
			return err
		}
	}
	if len(missing) > 0 {
		show := missing
		if len(show) > 5 {
			show = append(show[:5:5], "...")
		}
		return fmt.Errorf("sweep: merge: %d of %d runs missing: %s", len(missing), len(c.Runs()), strings.Join(show, ", "))
	}
	return nil
}

// sourceConfig returns the config.json the sources srcs of a merge into dst
// share, and the sweep it holds. It refuses before anything is written:
// no sources, dst among them, a source without a config.json, and sources
// of different sweeps.
func sourceConfig(dst string, srcs []string) ([]byte, Config, error) {
	if len(srcs) == 0 {
		return nil, Config{}, errors.New("sweep: merge: no source directories")
	}
	var cfgBytes []byte
	for _, s := range srcs {
		if filepath.Clean(s) == filepath.Clean(dst) {
			return nil, Config{}, configErrorf("sweep: merge: source %s is the destination", s)
		}
		b, err := os.ReadFile(filepath.Join(s, configFile))
		if errors.Is(err, os.ErrNotExist) {
			return nil, Config{}, configErrorf("sweep: merge: %s is not a sweep output directory (no %s)", s, configFile)
		}
		if err != nil {
			return nil, Config{}, fmt.Errorf("sweep: merge: %w", err)
		}
		if cfgBytes == nil {
			cfgBytes = b
		} else if !bytes.Equal(b, cfgBytes) {
			return nil, Config{}, fmt.Errorf("sweep: merge: %s and %s hold different sweeps", filepath.Join(srcs[0], configFile), filepath.Join(s, configFile))
		}
	}
	c, err := ParseConfig(cfgBytes)
	if err != nil {
		return nil, Config{}, fmt.Errorf("sweep: merge: %s: %w", filepath.Join(srcs[0], configFile), err)
	}
	return cfgBytes, c, nil
}
