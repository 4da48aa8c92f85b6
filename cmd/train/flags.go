package main

import (
	"flag"
	"fmt"
	"reflect"
	"strings"
)

// A command's settings are one struct whose fields say, each on one line,
// what JSON key, flag and help they have: every field with a `help` tag is
// a setting. Its flag's name is the field's JSON key with "-" for "_" (the
// key config.json and -config files use for it), its default the field's
// value when the flags are declared, and its usage the tag. The fields of
// an embedded struct are settings too. Fields of type string, bool, int,
// uint64 and float64 are supported; any other type with a help tag is a
// programming error.

// setting is one field of a settings struct.
type setting struct {
	name, key, help string
	v               reflect.Value // the field, addressable
}

// settingsOf returns the settings of the struct *cfg in field order.
func settingsOf(cfg any) []setting { return appendSettings(nil, reflect.ValueOf(cfg).Elem()) }

func appendSettings(out []setting, v reflect.Value) []setting {
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
		out = append(out, setting{name: strings.ReplaceAll(key, "_", "-"), key: key, help: help, v: v.Field(i)})
	}
	return out
}

// bindFlags declares on fs one flag per setting of the struct *cfg.
func bindFlags(fs *flag.FlagSet, cfg any) {
	for _, s := range settingsOf(cfg) {
		switch p := s.v.Addr().Interface().(type) {
		case *string:
			fs.StringVar(p, s.name, *p, s.help)
		case *bool:
			fs.BoolVar(p, s.name, *p, s.help)
		case *int:
			fs.IntVar(p, s.name, *p, s.help)
		case *uint64:
			fs.Uint64Var(p, s.name, *p, s.help)
		case *float64:
			fs.Float64Var(p, s.name, *p, s.help)
		default:
			panic(fmt.Sprintf("bindFlags: setting %s has unsupported type %s", s.key, s.v.Type()))
		}
	}
}
