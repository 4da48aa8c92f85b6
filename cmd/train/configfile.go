package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
)

// The -config files of ntk, landscape, meanfield and coordcheck are JSON
// objects whose keys are the command's settings' JSON keys (its flag names
// with "_" for "-", as in fit's config.json), and whose values have the
// setting's JSON type. The file's values become the settings' values
// before the command line is parsed, so flags given too override them;
// ntk, meanfield and coordcheck write the same object back as config.json
// in their -out directory (configJSON), landscape its settings struct.

// configUsage is the usage text of -config of those commands.
const configUsage = "JSON `FILE` with settings: keys are the flag names with _ for - (as in the config.json this command writes); flags given too override it"

// applyConfigFile reads the JSON object in path and sets every setting of
// the struct *cfg it names to the file's value. It returns the flag names
// of the settings the file set. A missing or unreadable file, an unknown
// key or a value of the wrong type is a usage error naming the file (and
// the key).
func applyConfigFile(cfg any, path string) (map[string]bool, error) {
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
	byKey := map[string]setting{}
	for _, s := range settingsOf(cfg) {
		byKey[s.key] = s
	}
	set := map[string]bool{}
	// Visit the keys in a fixed order so that the first error is stable.
	for _, key := range slices.Sorted(maps.Keys(obj)) {
		s, ok := byKey[key]
		if !ok {
			return nil, usagef("%s: json: unknown field %q", path, key)
		}
		if bytes.Equal(bytes.TrimSpace(obj[key]), []byte("null")) {
			continue // as encoding/json: null leaves the value alone
		}
		if err := json.Unmarshal(obj[key], s.v.Addr().Interface()); err != nil {
			return nil, usagef("%s: key %q: %v", path, key, err)
		}
		set[s.name] = true
	}
	return set, nil
}

// configJSON returns the settings of the struct *cfg (all but those omit
// reports by flag name) as the indented JSON object, keys sorted, that
// applyConfigFile accepts. A setting that is not a finite number is a
// usage error of command cmd: JSON cannot record it.
func configJSON(cmd string, cfg any, omit func(name string) bool) ([]byte, error) {
	// In the order of the flag names, so that the first error is stable.
	settings := settingsOf(cfg)
	slices.SortFunc(settings, func(a, b setting) int { return strings.Compare(a.name, b.name) })
	obj := map[string]any{}
	for _, s := range settings {
		if omit != nil && omit(s.name) {
			continue
		}
		if x, ok := s.v.Interface().(float64); ok && !finite(x) {
			return nil, usagef("%s: -%s %v cannot be recorded in config.json (want a finite number)", cmd, s.name, x)
		}
		obj[s.key] = s.v.Interface()
	}
	b, err := json.MarshalIndent(obj, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// parseWithConfig parses the flags of a command that takes -config: fs
// has the settings of the struct *cfg declared (bindFlags). A pre-parse
// on a throwaway copy finds -config; the file's values are applied to cfg,
// then args are parsed, so flags given override the file. It returns the
// flag names of the settings the file set.
func parseWithConfig[C any](fs *flag.FlagSet, cfg *C, args []string, stdout io.Writer) (map[string]bool, error) {
	scratch := *cfg
	pv, err := preParse(fs.Name(), args, func(pre *flag.FlagSet) { bindFlags(pre, &scratch) }, "config")
	if err != nil {
		return nil, err
	}
	fs.String("config", "", configUsage)
	fromFile := map[string]bool{}
	if path := pv["config"]; path != "" {
		if fromFile, err = applyConfigFile(cfg, path); err != nil {
			return nil, err
		}
	}
	return fromFile, parseFlags(fs, args, stdout)
}
