// Package settings makes a command's settings one struct whose fields say,
// each on one line, what JSON key, flag and help they have: every field
// with a `help` tag is a setting. Its flag's name is the field's JSON key
// with "-" for "_" (the key config.json and -config files use for it), its
// default the field's value when the flags are declared (Bind), and its
// usage the tag. The fields of an embedded struct are settings too. Fields
// of type string, bool, int, uint64 and float64 are supported; any other
// type with a help tag is a programming error.
//
// A settings file is a JSON object whose keys are the settings' JSON keys
// and whose values have the setting's JSON type: ApplyFile sets the
// settings it names (before the command line is parsed, so that flags
// given too override it) and JSON writes the object back.
package settings
