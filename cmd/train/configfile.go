package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The -config files of ntk, meanfield and coordcheck are JSON objects
// whose keys are the command's flag names with "_" for "-" (as fit's and
// landscape's config.json), and whose values have the flag's JSON type.
// They are applied to the flag set itself: the file's values become the
// flags' values before the command line is parsed, so flags given too
// override them, and each command writes the same object back as
// config.json in its -out directory.

// configUsage is the usage text of -config of those commands.
const configUsage = "JSON `FILE` with settings: keys are the flag names with _ for - (as in the config.json this command writes); flags given too override it"

// configKey is the JSON key of flag name.
func configKey(name string) string { return strings.ReplaceAll(name, "-", "_") }

// applyConfigFile reads the JSON object in path and sets every flag of fs
// it names (all but -config itself) to the file's value, without marking
// the flag as given on the command line. It returns the names of the
// flags the file set. A missing or unreadable file, an unknown key or a
// value of the wrong type is a usage error naming the file (and the key).
func applyConfigFile(fs *flag.FlagSet, path string) (map[string]bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError{err}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, usagef("%s: %v", path, err)
	}
	if obj == nil {
		return nil, usagef("%s: want a JSON object of settings", path)
	}
	// Visit the keys in a fixed order so that the first error is stable.
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	set := map[string]bool{}
	for _, key := range keys {
		name := strings.ReplaceAll(key, "_", "-")
		f := fs.Lookup(name)
		if f == nil || name == "config" || configKey(name) != key {
			return nil, usagef("%s: json: unknown field %q", path, key)
		}
		g, ok := f.Value.(flag.Getter)
		if !ok {
			return nil, usagef("%s: json: unknown field %q", path, key)
		}
		raw := obj[key]
		var s string
		switch g.Get().(type) {
		case bool:
			var v bool
			err = json.Unmarshal(raw, &v)
			s = strconv.FormatBool(v)
		case int:
			var v int
			err = json.Unmarshal(raw, &v)
			s = strconv.Itoa(v)
		case uint64:
			var v uint64
			err = json.Unmarshal(raw, &v)
			s = strconv.FormatUint(v, 10)
		case float64:
			var v float64
			err = json.Unmarshal(raw, &v)
			s = strconv.FormatFloat(v, 'g', -1, 64)
		case string:
			err = json.Unmarshal(raw, &s)
		default:
			return nil, usagef("%s: json: unknown field %q", path, key)
		}
		if err == nil && bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			continue // as encoding/json: null leaves the value alone
		}
		if err != nil {
			return nil, usagef("%s: key %q: %v", path, key, err)
		}
		if err := f.Value.Set(s); err != nil {
			return nil, usagef("%s: key %q: %v", path, key, err)
		}
		set[name] = true
	}
	return set, nil
}

// flagConfig returns the values of fs's flags (all but -config and those
// omit reports) as the indented JSON object applyConfigFile accepts.
func flagConfig(fs *flag.FlagSet, omit func(name string) bool) ([]byte, error) {
	obj := map[string]any{}
	var bad error
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "config" || (omit != nil && omit(f.Name)) {
			return
		}
		g, ok := f.Value.(flag.Getter)
		if !ok {
			return
		}
		v := g.Get()
		if x, ok := v.(float64); ok && (math.IsNaN(x) || math.IsInf(x, 0)) && bad == nil {
			bad = usagef("%s: -%s %v cannot be recorded in config.json (want a finite number)", fs.Name(), f.Name, x)
		}
		obj[configKey(f.Name)] = v
	})
	if bad != nil {
		return nil, bad
	}
	b, err := json.MarshalIndent(obj, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// writeFlagConfig writes b (from flagConfig) as dir/config.json.
func writeFlagConfig(dir string, b []byte) error {
	return os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
}

// parseWithConfig parses the flags of a command that takes -config. fs
// has the command's flags declared; scratch declares them again on a
// throwaway set, for the pre-parse that finds -config. The file's values
// are applied first, then args are parsed, so flags given override the
// file. It returns the names of the flags the file set.
func parseWithConfig(fs *flag.FlagSet, args []string, stdout io.Writer, scratch func(*flag.FlagSet)) (map[string]bool, error) {
	pv, err := preParse(fs.Name(), args, scratch, "config")
	if err != nil {
		return nil, err
	}
	fs.String("config", "", configUsage)
	fromFile := map[string]bool{}
	if path := pv["config"]; path != "" {
		if fromFile, err = applyConfigFile(fs, path); err != nil {
			return nil, err
		}
	}
	return fromFile, parseFlags(fs, args, stdout)
}
