package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/gradflow/gradflow/train"
)

// writeFigures draws loss.{png,svg} and accuracy.{png,svg} from the
// run's metrics.jsonl (so a resumed run's figures cover the whole run).
func writeFigures(dir string) error {
	f, err := os.Open(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		return err
	}
	defer f.Close()
	var trainLoss, testLoss, trainAcc, testAcc plotter.XYs
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	for line := 1; sc.Scan(); line++ {
		var r train.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return fmt.Errorf("metrics.jsonl line %d: %w", line, err)
		}
		x := float64(r.Step)
		trainLoss = append(trainLoss, plotter.XY{X: x, Y: r.Loss})
		if r.Accuracy != nil {
			trainAcc = append(trainAcc, plotter.XY{X: x, Y: *r.Accuracy})
		}
		if m, ok := r.Evals["test"]; ok {
			testLoss = append(testLoss, plotter.XY{X: x, Y: m["loss"]})
			if a, ok := m["accuracy"]; ok {
				testAcc = append(testAcc, plotter.XY{X: x, Y: a})
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if err := lineFigure(dir, "loss", "loss", trainLoss, testLoss); err != nil {
		return err
	}
	if len(trainAcc) > 0 || len(testAcc) > 0 {
		return lineFigure(dir, "accuracy", "accuracy", trainAcc, testAcc)
	}
	return nil
}

func lineFigure(dir, name, ylabel string, trainXY, testXY plotter.XYs) error {
	p := plot.New()
	p.Title.Text = name
	p.X.Label.Text = "step"
	p.Y.Label.Text = ylabel
	var args []any
	if len(trainXY) > 0 {
		args = append(args, "train", trainXY)
	}
	if len(testXY) > 0 {
		args = append(args, "test", testXY)
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return err
	}
	for _, ext := range []string{".png", ".svg"} {
		if err := p.Save(6*vg.Inch, 4*vg.Inch, filepath.Join(dir, name+ext)); err != nil {
			return err
		}
	}
	return nil
}
