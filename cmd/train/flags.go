package main

import (
	"flag"
	"fmt"
	"reflect"
	"strings"
)

// bindFlags declares on fs one flag per field of the struct *cfg that has
// a `help` tag. The flag's name is the field's JSON key with "-" for "_"
// (the key config.json and -config files use for it), its default the
// field's current value, and its usage the tag. A command's settings are
// thus one struct whose fields say, each on one line, what JSON key, flag
// and help they have. Fields of type string, bool, int, uint64 and float64
// are supported; any other type with a help tag is a programming error.
func bindFlags(fs *flag.FlagSet, cfg any) {
	v := reflect.ValueOf(cfg).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		help, ok := f.Tag.Lookup("help")
		if !ok {
			continue
		}
		key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		name := strings.ReplaceAll(key, "_", "-")
		switch p := v.Field(i).Addr().Interface().(type) {
		case *string:
			fs.StringVar(p, name, *p, help)
		case *bool:
			fs.BoolVar(p, name, *p, help)
		case *int:
			fs.IntVar(p, name, *p, help)
		case *uint64:
			fs.Uint64Var(p, name, *p, help)
		case *float64:
			fs.Float64Var(p, name, *p, help)
		default:
			panic(fmt.Sprintf("bindFlags: field %s has unsupported type %s", f.Name, f.Type))
		}
	}
}
