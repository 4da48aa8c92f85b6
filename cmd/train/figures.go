package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gradflow/gradflow/internal/figure"
	"github.com/gradflow/gradflow/train"
)

// writeFigures draws loss.{png,svg} and accuracy.{png,svg} from the
// run's metrics.jsonl (so a resumed run's figures cover the whole run).
// A figure with nothing to draw (no accuracy for a regression, or only
// non-finite losses) is not written.
func writeFigures(dir string) error {
	f, err := os.Open(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		return err
	}
	defer f.Close()
	loss := stepFigure("loss")
	acc := stepFigure("accuracy")
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	for line := 1; sc.Scan(); line++ {
		var r train.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return fmt.Errorf("metrics.jsonl line %d: %w", line, err)
		}
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
	if err := sc.Err(); err != nil {
		return err
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
