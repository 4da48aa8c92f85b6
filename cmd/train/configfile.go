package main

import (
	"flag"
	"io"

	"github.com/gradflow/gradflow/internal/settings"
	"github.com/gradflow/gradflow/train"
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

// applyConfigFile is settings.ApplyFile; its errors (a file, a key) are
// the user's to fix.
func applyConfigFile(cfg any, path string) (map[string]bool, error) {
	set, err := settings.ApplyFile(cfg, path)
	if err != nil {
		return nil, usageError{err}
	}
	return set, nil
}

// configJSON is settings.JSON for command cmd: config.json of its
// settings *cfg, all but those omit reports by flag name.
func configJSON(cmd string, cfg any, omit func(name string) bool) ([]byte, error) {
	b, err := settings.JSON(cfg, omit)
	if err != nil {
		return nil, usagef("%s: %v", cmd, err)
	}
	return b, nil
}

// parseWithConfig parses the flags of a command that takes -config and
// -overwrite: fs has the settings of the struct *cfg declared (bindFlags).
// A pre-parse on a throwaway copy finds -config; the file's values are
// applied to cfg, then args are parsed, so flags given override the file.
// It returns the flag names of the settings the file set, and the run
// mode -overwrite asks for.
func parseWithConfig[C any](fs *flag.FlagSet, cfg *C, args []string, stdout io.Writer) (map[string]bool, train.RunMode, error) {
	scratch := *cfg
	pv, err := preParse(fs.Name(), args, func(pre *flag.FlagSet) { settings.Bind(pre, &scratch); pre.Bool("overwrite", false, "") }, "config")
	if err != nil {
		return nil, 0, err
	}
	fs.String("config", "", configUsage)
	overwrite := fs.Bool("overwrite", false, overwriteUsage)
	fromFile := map[string]bool{}
	if path := pv["config"]; path != "" {
		if fromFile, err = applyConfigFile(cfg, path); err != nil {
			return nil, 0, err
		}
	}
	err = parseFlags(fs, args, stdout)
	return fromFile, runMode(*overwrite), err
}
