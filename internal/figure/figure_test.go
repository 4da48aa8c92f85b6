package figure

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
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

// TestLegendBesideData checks that the legend stands right of the data
// area, within the figure, and that a legend taller than the data area is
// split into columns that each fit its height.
func TestLegendBesideData(t *testing.T) {
	for _, n := range []int{1, 9, 60} {
		var series []Series
		for i := range n {
			series = append(series, Series{Name: fmt.Sprintf("layer %d t=%d", i/3, i%3), X: []float64{64, 128, 256}, Y: []float64{1, 2, float64(i + 1)}})
		}
		lf, err := Plot{Title: "t", XLabel: "width", YLabel: "mean |h|", LogX: true, LogY: true, Markers: true, Series: series}.prepare()
		if err != nil {
			t.Fatal(err)
		}
		c := draw.Canvas{Rectangle: vg.Rectangle{Max: vg.Point{X: lf.width(), Y: lf.h}}}
		_, data, side := lf.layout(c)
		if side.Min.X < data.Max.X || side.Max.X > c.Max.X {
			t.Fatalf("%d entries: legend column x %v..%v, data area ends at %v, figure at %v", n, side.Min.X, side.Max.X, data.Max.X, c.Max.X)
		}
		if w := lf.legend.width(); w <= 0 || w > side.Size().X+1e-9 {
			t.Fatalf("%d entries: legend width %v in a column of %v", n, w, side.Size().X)
		}
		total := 0
		for _, col := range lf.legend.cols {
			total += len(col)
			if h := vg.Length(len(col))*(lf.legend.entryH+legendPadding) - legendPadding; h > data.Size().Y {
				t.Fatalf("%d entries: a column of %d entries is %v high, the data area %v", n, len(col), h, data.Size().Y)
			}
		}
		if total != n || n == 60 && len(lf.legend.cols) < 2 {
			t.Fatalf("%d entries: %d in %d columns", n, total, len(lf.legend.cols))
		}
	}
	// Without names there is no legend column.
	lf, err := Plot{Series: []Series{{X: []float64{1, 2}, Y: []float64{1, 2}}}}.prepare()
	if err != nil || lf.width() != 6*vg.Inch {
		t.Fatalf("unnamed series: width %v (err %v), want 6 inches", lf.width(), err)
	}
}

func TestAutoLogY(t *testing.T) {
	steps := []float64{10, 20, 30, 40, 50, 60}
	for _, c := range []struct {
		name string
		y    []float64
		err  []float64
		want bool
	}{
		{"falling loss", []float64{1.2, 0.15, 0.04, 0.01, 0.004, 0.002}, nil, true},
		{"rising accuracy", []float64{0.01, 0.5, 0.8, 0.9, 0.95, 0.97}, nil, false},
		{"within a factor 10", []float64{4, 1, 0.9, 0.8, 0.7, 0.6}, nil, false},
		{"a zero", []float64{1.2, 0.15, 0.04, 0.01, 0.004, 0}, nil, false},
		{"error bars below zero", []float64{1.2, 0.15, 0.04, 0.01, 0.004, 0.002}, []float64{0, 0, 0, 0, 0, 0.01}, false},
	} {
		f := Plot{Series: []Series{{X: steps, Y: c.y, YErr: c.err}}}
		if got := f.AutoLogY(); got != c.want {
			t.Errorf("%s: AutoLogY %v, want %v", c.name, got, c.want)
		}
		lf, err := f.prepare()
		if err != nil {
			t.Fatal(err)
		}
		if _, log := lf.p.Y.Scale.(plot.LogScale); log != c.want {
			t.Errorf("%s: log scale %v, want %v", c.name, log, c.want)
		}
		f.LinearY = true
		if lf, _ := f.prepare(); lf.p.Y.Scale != (plot.LinearScale{}) {
			t.Errorf("%s: LinearY drew %T", c.name, lf.p.Y.Scale)
		}
	}
}

// TestLogErrorBarsCut draws error bars that reach below zero on a log
// axis: they are cut at the lowest point instead of stretching the axis to
// zero, which a log scale cannot draw.
func TestLogErrorBarsCut(t *testing.T) {
	f := Plot{LogY: true, Series: []Series{{X: []float64{1, 2, 3}, Y: []float64{10, 1, 0.1}, YErr: []float64{20, 0.5, 1}}}}
	if err := f.Save(t.TempDir(), "bars"); err != nil {
		t.Fatal(err)
	}
	lf, err := f.prepare()
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(lf.p.Y.Min-0.1) > 1e-12 {
		t.Fatalf("axis from %g, want the lowest point 0.1", lf.p.Y.Min)
	}
}

// TestAsymmetricBarsAndPoints: YLo/YHi give bars from the lower to the
// upper end (the axis reaches both), and a Points series adds a scatter
// and no line.
func TestAsymmetricBarsAndPoints(t *testing.T) {
	f := Plot{LinearY: true, Series: []Series{
		{Name: "tau", X: []float64{1}, Y: []float64{0.2}, YLo: []float64{-0.5}, YHi: []float64{0.3}, Points: true},
		{Name: "scatter", X: []float64{1, 2, 3}, Y: []float64{0.1, 0.4, 0.2}, Points: true},
	}}
	if err := f.Save(t.TempDir(), "asym"); err != nil {
		t.Fatal(err)
	}
	lf, err := f.prepare()
	if err != nil {
		t.Fatal(err)
	}
	if lf.p.Y.Min > -0.5+1e-12 || lf.p.Y.Max < 0.4 {
		t.Fatalf("Y axis [%g, %g] does not reach the bar's lower end -0.5 and the point 0.4", lf.p.Y.Min, lf.p.Y.Max)
	}
	pts, errs := keep(f.Series[0], false, false)
	if len(pts) != 1 || len(errs) != 1 || math.Abs(errs[0].Low-0.7) > 1e-15 || math.Abs(errs[0].High-0.1) > 1e-15 {
		t.Fatalf("bar %+v, want Low 0.7 and High 0.1", errs)
	}
	for _, col := range lf.legend.cols {
		for _, e := range col {
			for _, th := range e.thumbs {
				if _, ok := th.(*plotter.Line); ok {
					t.Fatalf("the Points series %q drew a line", e.name)
				}
			}
		}
	}
}
