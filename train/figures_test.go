package train

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSaveMetricsFigures: loss and accuracy figures from a metrics file;
// a regression run (no accuracy) gets the loss figure only; a bad line is
// reported with its number.
func TestSaveMetricsFigures(t *testing.T) {
	dir := t.TempDir()
	metrics := filepath.Join(dir, MetricsFile)
	writeFile(t, metrics, `{"step":10,"loss":2.1,"accuracy":0.3,"eval":{"test":{"loss":2.2,"accuracy":0.25}}}
{"step":20,"loss":1.1,"accuracy":0.6,"eval":{"test":{"loss":1.3,"accuracy":0.55}}}
`)
	if err := SaveMetricsFigures(metrics, dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"loss.png", "loss.svg", "accuracy.png", "accuracy.svg"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty (%v)", f, err)
		}
	}
	reg := t.TempDir()
	writeFile(t, filepath.Join(reg, MetricsFile), `{"step":1,"loss":0.5,"eval":{"test":{"loss":0.6}}}`+"\n")
	if err := SaveMetricsFigures(filepath.Join(reg, MetricsFile), reg); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(reg, "accuracy.png")); err == nil {
		t.Error("an accuracy figure for a run without accuracy")
	}
	writeFile(t, metrics, "{\"step\":1,\"loss\":1}\nnot json\n")
	if err := SaveMetricsFigures(metrics, dir); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad metrics line: %v, want an error naming line 2", err)
	}
}
