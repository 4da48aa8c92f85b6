package settings

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
)

// Setting is one field of a settings struct.
type Setting struct {
	// Name is the flag name, Key the JSON key, Help the usage text.
	Name, Key, Help string
	// Value is the field, addressable.
	Value reflect.Value
}

// Of returns the settings of the struct *cfg in field order.
func Of(cfg any) []Setting { return appendSettings(nil, reflect.ValueOf(cfg).Elem()) }

func appendSettings(out []Setting, v reflect.Value) []Setting {
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			out = appendSettings(out, v.Field(i))
			continue
		}
		help, ok := f.Tag.Lookup("help")
		if !ok {
			continue
		}
		key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		out = append(out, Setting{Name: strings.ReplaceAll(key, "_", "-"), Key: key, Help: help, Value: v.Field(i)})
	}
	return out
}

// Bind declares on fs one flag per setting of the struct *cfg.
func Bind(fs *flag.FlagSet, cfg any) {
	for _, s := range Of(cfg) {
		switch p := s.Value.Addr().Interface().(type) {
		case *string:
			fs.StringVar(p, s.Name, *p, s.Help)
		case *bool:
			fs.BoolVar(p, s.Name, *p, s.Help)
		case *int:
			fs.IntVar(p, s.Name, *p, s.Help)
		case *uint64:
			fs.Uint64Var(p, s.Name, *p, s.Help)
		case *float64:
			fs.Float64Var(p, s.Name, *p, s.Help)
		default:
			panic(fmt.Sprintf("settings.Bind: setting %s has unsupported type %s", s.Key, s.Value.Type()))
		}
	}
}

// ApplyFile reads the JSON object in path and sets every setting of the
// struct *cfg it names to the file's value. It returns the flag names of
// the settings the file set. The errors name the file (and the key): a
// missing or unreadable file, one that is not a JSON object, an unknown
// key, a value of the wrong type.
func ApplyFile(cfg any, path string) (map[string]bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if obj == nil {
		return nil, fmt.Errorf("%s: want a JSON object of settings", path)
	}
	byKey := map[string]Setting{}
	for _, s := range Of(cfg) {
		byKey[s.Key] = s
	}
	set := map[string]bool{}
	// Visit the keys in a fixed order so that the first error is stable.
	for _, key := range slices.Sorted(maps.Keys(obj)) {
		s, ok := byKey[key]
		if !ok {
			return nil, fmt.Errorf("%s: json: unknown field %q", path, key)
		}
		if bytes.Equal(bytes.TrimSpace(obj[key]), []byte("null")) {
			continue // as encoding/json: null leaves the value alone
		}
		if err := json.Unmarshal(obj[key], s.Value.Addr().Interface()); err != nil {
			return nil, fmt.Errorf("%s: key %q: %v", path, key, err)
		}
		set[s.Name] = true
	}
	return set, nil
}

// JSON returns the settings of the struct *cfg (all but those omit reports
// by flag name) as the indented JSON object, keys sorted, that ApplyFile
// accepts. A setting that is not a finite number is an error naming its
// flag: JSON cannot record it.
func JSON(cfg any, omit func(name string) bool) ([]byte, error) {
	// In the order of the flag names, so that the first error is stable.
	settings := Of(cfg)
	slices.SortFunc(settings, func(a, b Setting) int { return strings.Compare(a.Name, b.Name) })
	obj := map[string]any{}
	for _, s := range settings {
		if omit != nil && omit(s.Name) {
			continue
		}
		if x, ok := s.Value.Interface().(float64); ok && (math.IsNaN(x) || math.IsInf(x, 0)) {
			return nil, fmt.Errorf("-%s %v cannot be recorded in config.json (want a finite number)", s.Name, x)
		}
		obj[s.Key] = s.Value.Interface()
	}
	b, err := json.MarshalIndent(obj, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
