package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// summary returns the lines of a fit's output that report the final
// metrics ("train accuracy ...", "test  loss ...").
func summary(out string) []string {
	var s []string
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, "train ") || strings.HasPrefix(line, "test  ") {
			s = append(s, strings.TrimSpace(line))
		}
	}
	return s
}

// TestResumeFinishedRun: resuming a run that already reached its budget
// takes no step, says so, and reports the same final metrics as the run
// itself (it used to print "test accuracy 0.00% loss 0.0000"); the metrics
// file keeps its records.
func TestResumeFinishedRun(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
	}{
		{"classes", []string{"-epochs", "2"}},
		{"regression", []string{"-data", "synthetic:linear,n=200,d=4", "-epochs", "2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			code, first, errs := runCLI(t, append([]string{"fit", "-out", dir, "-no-figures"}, c.args...)...)
			if code != 0 {
				t.Fatalf("first run: exit %d: %s", code, errs)
			}
			metrics := filepath.Join(dir, "metrics.jsonl")
			before, err := os.ReadFile(metrics)
			if err != nil {
				t.Fatal(err)
			}
			code, again, errs := runCLI(t, "fit", "-resume", dir)
			if code != 0 {
				t.Fatalf("resume: exit %d: %s", code, errs)
			}
			want, got := summary(first), summary(again)
			if len(want) != 2 || !slices.Equal(got, want) {
				t.Fatalf("resumed finished run reports\n%q\nwant the run's own\n%q\nfull output:\n%s", got, want, again)
			}
			if !strings.Contains(again, "already finished") || !strings.Contains(again, "0 new steps") {
				t.Errorf("resume output does not say the run had already finished with 0 new steps:\n%s", again)
			}
			if after, _ := os.ReadFile(metrics); string(after) != string(before) {
				t.Errorf("metrics.jsonl changed by a resume that took no step:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// commandNames are the subcommands the top-level help must list and run
// must dispatch.
var commandNames = []string{"fit", "ntk", "landscape", "flow", "sde", "stability", "sweep", "meanfield", "coordcheck", "batch", "mutransfer", "info"}

// TestTopLevelHelp: "train -h", "train -help", "train --help" and "train
// help" print the list of commands (not fit's flags) and exit 0; every
// listed command is dispatched (its -h exits 0); "train help CMD" prints
// CMD's help.
func TestTopLevelHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"-help"}, {"--help"}, {"help"}} {
		code, out, errs := runCLI(t, args...)
		if code != 0 {
			t.Errorf("%v: exit %d: %s", args, code, errs)
			continue
		}
		if strings.Contains(out, "usage: train fit") || strings.Contains(out, "-arch") {
			t.Errorf("%v prints fit's help instead of the command list:\n%s", args, out)
		}
		for _, c := range commandNames {
			if !strings.Contains(out, "\n  "+c+" ") {
				t.Errorf("%v: command %q missing from the list:\n%s", args, c, out)
			}
		}
	}
	for _, c := range commandNames {
		if code, _, errs := runCLI(t, c, "-h"); code != 0 {
			t.Errorf("%s -h: exit %d: %s", c, code, errs)
		}
	}
	code, out, errs := runCLI(t, "help", "fit")
	if code != 0 || !strings.Contains(out, "usage: train fit") {
		t.Errorf("help fit: exit %d, stdout %q, stderr %q; want fit's usage", code, out, errs)
	}
	if code, _, errs := runCLI(t, "help", "frobnicate"); code != 2 || !strings.Contains(errs, "frobnicate") {
		t.Errorf("help frobnicate: exit %d, stderr %q; want 2 naming the command", code, errs)
	}
}

// TestUnknownCommandListsCommands: an unknown command exits 2 with one
// line that lists every command.
func TestUnknownCommandListsCommands(t *testing.T) {
	code, _, errs := runCLI(t, "frobnicate")
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if lines := strings.Split(strings.TrimSpace(errs), "\n"); len(lines) != 1 || !strings.Contains(errs, `"frobnicate"`) {
		t.Fatalf("stderr %q, want one line naming the command", errs)
	}
	for _, c := range commandNames {
		if !strings.Contains(errs, c) {
			t.Errorf("stderr %q does not list command %q", errs, c)
		}
	}
}

// TestCSVLabelHelp: the -data help says that a numeric label=COL counts
// columns from 1, as data.CSVOptions.LabelColumn does, and a label=2
// really selects the second column.
func TestCSVLabelHelp(t *testing.T) {
	code, out, errs := runCLI(t, "fit", "-h")
	if code != 0 {
		t.Fatalf("fit -h: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "1-based") {
		t.Errorf("fit -h does not say label=COL is 1-based:\n%s", out)
	}
	code, _, errs = runCLI(t, "fit", "-data", "csv:x.csv,lable=2")
	if code != 2 || !strings.Contains(errs, "1-based") {
		t.Errorf("unknown csv option: exit %d, stderr %q; want 2 and the label=COL help", code, errs)
	}
	dir := t.TempDir()
	csv := filepath.Join(dir, "d.csv")
	// Column 2 holds the classes a/b; columns 1 and 3 are numbers.
	var b strings.Builder
	for i := range 40 {
		cls := "a"
		if i%2 == 1 {
			cls = "b"
		}
		b.WriteString(strings.Join([]string{strconv.Itoa(i % 5), cls, strconv.Itoa(i % 3)}, ",") + "\n")
	}
	os.WriteFile(csv, []byte(b.String()), 0o644)
	code, out, errs = runCLI(t, "fit", "-data", "csv:"+csv+",label=2", "-epochs", "1", "-out", dir, "-no-figures")
	if code != 0 || !strings.Contains(out, "MLP 2-128-128-2") {
		t.Fatalf("label=2: exit %d, stdout %q, stderr %q; want 2 features and 2 classes", code, out, errs)
	}
}
