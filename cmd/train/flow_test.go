package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFlowJSON: "train flow -json" with no study flags prints JSON lines
// only, one row per step size and a last {"kind":"summary"} line with the
// fitted orders, which are those of the issue (1 and 2); the files and the
// figure are written.
func TestFlowJSON(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, "flow", "-json", "-out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := jsonLines(t, out)
	if len(lines) != 5 {
		t.Fatalf("%d JSON lines, want 4 rows and a summary:\n%s", len(lines), out)
	}
	for _, r := range lines[:4] {
		if r["kind"] != "row" || !(r["dist_flow"].(float64) > r["dist_modified"].(float64)) {
			t.Errorf("row %v: want kind row and the modified flow closer than the flow", r)
		}
	}
	sum := lines[4]
	if sum["kind"] != "summary" {
		t.Fatalf("last line %v is not the summary", sum)
	}
	of, om := sum["order_flow"].(float64), sum["order_modified"].(float64)
	if of < 0.9 || of > 1.1 || om < 1.85 || om > 2.15 {
		t.Errorf("orders %.3f and %.3f, want 1 +- 0.1 and 2 +- 0.15", of, om)
	}
	b, err := os.ReadFile(filepath.Join(dir, "flow.jsonl"))
	if err != nil || string(b) != out {
		t.Errorf("flow.jsonl differs from stdout (err %v)", err)
	}
	for _, f := range []string{"config.json", "distance.png", "distance.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
}

func TestFlowUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-etas", "0.3"}, "whole number"},
		{[]string{"-etas", "0.1,x"}, `"x" is not a positive number`},
		{[]string{"-momentum", "1"}, "-momentum"},
		{[]string{"-act", "nope"}, "-act"},
		{[]string{"-data", "csv:/nonexistent.csv"}, "nonexistent"},
		{[]string{"-arch", "64-16-3"}, "64-16-3"},
	} {
		code, _, errs := runCLI(t, append([]string{"flow", "-out", t.TempDir()}, c.args...)...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message with %q", c.args, code, errs, c.want)
		}
	}
}
