package train

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gradflow/gradflow/internal/figure"
)

// ReadRecords reads the records of a metrics file (one JSON object a line,
// as Config.Metrics receives them). The error names the line at fault.
func ReadRecords(r io.Reader) ([]Record, error) {
	var recs []Record
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	for line := 1; sc.Scan(); line++ {
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return recs, fmt.Errorf("line %d: %w", line, err)
		}
		recs = append(recs, rec)
	}
	return recs, sc.Err()
}

// SaveMetricsFigures draws the run whose metrics file is metricsPath into
// dir: loss.png/svg and accuracy.png/svg against the step, with a train
// and a test line (the Eval named "test"). Drawing from the file rather
// than from a session's records makes a resumed run's figures cover the
// whole run. A figure with nothing to draw (no accuracy for a regression,
// or only non-finite losses) is not written.
func SaveMetricsFigures(metricsPath, dir string) error {
	f, err := os.Open(metricsPath)
	if err != nil {
		return err
	}
	defer f.Close()
	recs, err := ReadRecords(f)
	if err != nil {
		return fmt.Errorf("%s: %w", metricsPath, err)
	}
	loss, acc := stepFigure("loss"), stepFigure("accuracy")
	for _, r := range recs {
		x := float64(r.Step)
		loss.add(0, x, r.Loss)
		if r.Accuracy != nil {
			acc.add(0, x, *r.Accuracy)
		}
		if m, ok := r.Evals["test"]; ok {
			loss.add(1, x, m["loss"])
			if a, ok := m["accuracy"]; ok {
				acc.add(1, x, a)
			}
		}
	}
	for _, p := range []stepPlot{loss, acc} {
		if err := p.Save(dir, p.Title); err != nil && !errors.Is(err, figure.ErrEmpty) {
			return err
		}
	}
	return nil
}

// stepPlot is a figure of a quantity against the step, with a train and a
// test line.
type stepPlot struct{ figure.Plot }

func stepFigure(name string) stepPlot {
	return stepPlot{figure.Plot{Title: name, XLabel: "step", YLabel: name, Markers: true,
		Series: []figure.Series{{Name: "train"}, {Name: "test"}}}}
}

// add appends the point (x, y) to line i (0 train, 1 test).
func (p stepPlot) add(i int, x, y float64) {
	s := &p.Series[i]
	s.X, s.Y = append(s.X, x), append(s.Y, y)
}
