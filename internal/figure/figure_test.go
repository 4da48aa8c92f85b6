package figure

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func checkFiles(t *testing.T, dir, name string) {
	t.Helper()
	png, err := os.ReadFile(filepath.Join(dir, name+".png"))
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("%s.png: not a PNG (err %v)", name, err)
	}
	svg, err := os.ReadFile(filepath.Join(dir, name+".svg"))
	if err != nil || !bytes.Contains(svg, []byte("<svg")) {
		t.Fatalf("%s.svg: not an SVG (err %v)", name, err)
	}
}

func TestPlotSave(t *testing.T) {
	dir := t.TempDir()
	p := Plot{Title: "t", XLabel: "x", YLabel: "y", LogX: true, LogY: true, Markers: true, Series: []Series{
		{Name: "a", X: []float64{1, 2, 4, 8}, Y: []float64{1, 0.5, 0.25, 0}, YErr: []float64{0.1, 0.1, 0.1, 0.1}},
		{Name: "ref", X: []float64{1, 8}, Y: []float64{2, 2}, Dashed: true},
	}}
	if err := p.Save(dir, "lines"); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, dir, "lines")
	// A single point (one width) on log axes gets a range around it,
	// even below 1, where widening by +-1 would reach zero.
	one := Plot{LogX: true, LogY: true, Series: []Series{{X: []float64{64}, Y: []float64{0.14}}}}
	if err := one.Save(dir, "one"); err != nil {
		t.Fatalf("Save of a single point on log axes: %v", err)
	}
	checkFiles(t, dir, "one")
	// Points a log axis cannot show are dropped; nothing left is ErrEmpty
	// and writes no file.
	empty := Plot{LogY: true, Series: []Series{{X: []float64{1, 2}, Y: []float64{0, math.NaN()}}}}
	if err := empty.Save(dir, "empty"); !errors.Is(err, ErrEmpty) {
		t.Fatalf("Save of undrawable points: %v, want ErrEmpty", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "empty.png")); !os.IsNotExist(err) {
		t.Fatalf("empty.png written (stat err %v)", err)
	}
}

func TestHeatmapSave(t *testing.T) {
	dir := t.TempDir()
	h := Heatmap{Title: "k", Rows: 5, Cols: 5, At: func(i, j int) float64 { return float64(i*5 + j) }}
	if err := h.Save(dir, "heat"); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, dir, "heat")
	if err := (Heatmap{Rows: 2, Cols: 2, At: func(i, j int) float64 { return math.NaN() }}).Save(dir, "nan"); !errors.Is(err, ErrEmpty) {
		t.Fatalf("all-NaN heatmap: %v, want ErrEmpty", err)
	}
}
