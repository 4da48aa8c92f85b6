package meanfield

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testStudy(dir string) StudyConfig {
	return StudyConfig{Regimes: []Regime{MeanField, Lazy}, Widths: []int{16, 32, 64}, Alpha: 4,
		N: 8, Dim: 3, Seed: 3, LR: 1, Steps: 6, Every: 3, Dir: dir}
}

// TestStudyOutputs: the rows are the last records of Run's traces (a row
// and a trace per regime and width, in order), the widest network is at
// distance 0 from itself, and Dir receives the traces, two particle
// clouds per run and the summary, which is WriteJSONL byte for byte.
func TestStudyOutputs(t *testing.T) {
	dir := t.TempDir()
	cfg := testStudy(dir)
	res, err := Study(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 6 || len(res.Slopes) != 2 {
		t.Fatalf("%d rows and %d slope lines, want 6 and 2", len(res.Rows), len(res.Slopes))
	}
	x, y, err := teacher(cfg.N, cfg.Dim, cfg.Seed)
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range res.Rows {
		reg, m := cfg.Regimes[i/3], cfg.Widths[i%3]
		tr, err := Run(cfg.run(reg, m), x, y)
		if err != nil {
			t.Fatal(err)
		}
		if row.Regime != string(reg) || row.Width != m || row.Displacement != tr.Last().Displacement || row.FinalLoss != tr.Last().Loss ||
			row.Dissipation != tr.Last().Dissipation {
			t.Errorf("row %d = %+v, want %s m=%d with the last record %+v", i, row, reg, m, tr.Last())
		}
		if m == 64 && (row.SW2Widest == nil || *row.SW2Widest != 0) {
			t.Errorf("row %d: the widest network's SW2 to itself is %v, want 0", i, row.SW2Widest)
		}
	}
	var want bytes.Buffer
	if err := res.WriteJSONL(&want); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "summary.jsonl")); err != nil || !bytes.Equal(got, want.Bytes()) {
		t.Errorf("summary.jsonl differs from WriteJSONL (err %v)", err)
	}
	traces, err := os.ReadFile(filepath.Join(dir, "meanfield.jsonl"))
	if n := strings.Count(string(traces), `{"config":`); err != nil || n != 6 {
		t.Errorf("meanfield.jsonl holds %d runs (err %v), want 6", n, err)
	}
	clouds, _ := filepath.Glob(filepath.Join(dir, "particles", "*.csv"))
	if len(clouds) != 12 {
		t.Errorf("%d particle files, want 12", len(clouds))
	}
}

// cancelAfter is a context that is done from its (n+1)th Err call on: a
// study interrupted after n runs.
type cancelAfter struct {
	context.Context
	n int
}

func (c *cancelAfter) Err() error {
	if c.n--; c.n < 0 {
		return context.Canceled
	}
	return nil
}

// TestStudyInterrupted: a study interrupted after two runs returns the
// context's error and leaves the two finished runs in meanfield.jsonl.
func TestStudyInterrupted(t *testing.T) {
	dir := t.TempDir()
	_, err := Study(&cancelAfter{context.Background(), 2}, testStudy(dir))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted Study: %v, want context.Canceled", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "meanfield.jsonl"))
	if n := strings.Count(string(b), `{"config":`); err != nil || n != 2 {
		t.Errorf("meanfield.jsonl holds %d runs (err %v), want the 2 finished ones", n, err)
	}
}

// TestStudyConfigErrors: a configuration that some run would refuse is
// refused before the first run, naming the field.
func TestStudyConfigErrors(t *testing.T) {
	for _, c := range []struct {
		edit func(*StudyConfig)
		want string
	}{
		{func(c *StudyConfig) { c.Regimes = nil }, "Regimes"},
		{func(c *StudyConfig) { c.Widths = nil }, "Widths"},
		{func(c *StudyConfig) { c.N = 0 }, "N = 0"},
		{func(c *StudyConfig) { c.Steps = 0 }, "Steps"},
		{func(c *StudyConfig) { c.Alpha = 0 }, "Alpha"},
		{func(c *StudyConfig) { c.Symmetric, c.Widths = true, []int{16, 33} }, "Width = 33"},
	} {
		dir := t.TempDir()
		cfg := testStudy(dir)
		c.edit(&cfg)
		_, err := Study(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one naming %q", err, c.want)
		}
		if _, serr := os.Stat(filepath.Join(dir, "meanfield.jsonl")); !os.IsNotExist(serr) {
			t.Errorf("%q: meanfield.jsonl written before the configuration was checked", c.want)
		}
	}
}
