package meanfield_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/gradflow/gradflow/meanfield"
)

// smallStudy is a study small enough for an example: two regimes, widths
// 64..1024, 30 steps on 16 points in 4 dimensions.
func smallStudy() meanfield.StudyConfig {
	return meanfield.StudyConfig{
		Regimes: []meanfield.Regime{meanfield.MeanField, meanfield.NTK},
		Widths:  []int{64, 256, 1024},
		N:       16, Dim: 4, Seed: 1, LR: 1, Steps: 30, Every: 10,
	}
}

// smallResult runs smallStudy.
func smallResult() *meanfield.StudyResult {
	res, err := meanfield.Study(context.Background(), smallStudy())
	if err != nil {
		panic(err)
	}
	return res
}

// Measure how the neurons' motion scales with the width in the mean-field
// and the NTK regime: about m^0 against m^-1/2.
func ExampleStudy() {
	res, err := meanfield.Study(context.Background(), smallStudy())
	if err != nil {
		panic(err)
	}
	want := map[string]float64{"meanfield": 0, "ntk": -0.5}
	for _, s := range res.Slopes {
		slope := *s.Slopes["displacement"]
		fmt.Printf("%-9s displacement ~ m^%v: %v\n", s.Regime, want[s.Regime], math.Abs(slope-want[s.Regime]) < 0.2)
	}
	// Output:
	// meanfield displacement ~ m^0: true
	// ntk       displacement ~ m^-0.5: true
}

// The JSON lines of a study: one per regime and width, then one per regime
// with the slopes.
func ExampleStudyResult_WriteJSONL() {
	var b bytes.Buffer
	if err := smallResult().WriteJSONL(&b); err != nil {
		panic(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	fmt.Println(len(lines), "lines; the last:", lines[len(lines)-1][:30])
	// Output: 8 lines; the last: {"regime":"ntk","slopes":{"dis
}

// The table ends with what the theory predicts for each regime.
func ExampleStudyResult_WriteTable() {
	var b bytes.Buffer
	if err := smallResult().WriteTable(&b); err != nil {
		panic(err)
	}
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.Contains(l, "theory") {
			fmt.Println(strings.TrimSpace(l))
		}
	}
	// Output:
	// meanfield theory: displacement, weight change, kernel drift 0; output at init -0.5
	// ntk theory: displacement, weight change -0.5; kernel drift -1 (smooth act); output at init 0
}

// A study with a directory keeps the raw outputs; the figure is drawn on
// request.
func ExampleStudyResult_WriteFigures() {
	dir, _ := os.MkdirTemp("", "study")
	defer os.RemoveAll(dir)
	cfg := smallStudy()
	cfg.Dir = dir
	res, err := meanfield.Study(context.Background(), cfg)
	if err != nil {
		panic(err)
	}
	if err := res.WriteFigures(dir); err != nil {
		panic(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.*"))
	particles, _ := filepath.Glob(filepath.Join(dir, "particles", "*.csv"))
	for _, f := range files {
		fmt.Println(filepath.Base(f))
	}
	fmt.Println(len(particles), "particle clouds")
	// Output:
	// displacement.png
	// displacement.svg
	// meanfield.jsonl
	// summary.jsonl
	// 12 particle clouds
}

// Regimes as a command line names them.
func ExampleParseRegimes() {
	regimes, err := meanfield.ParseRegimes("mf,all")
	fmt.Println(regimes, err)
	_, err = meanfield.ParseRegimes("chaotic")
	fmt.Println(err)
	// Output:
	// [meanfield ntk lazy] <nil>
	// meanfield: unknown regime "chaotic" (want mf, ntk, lazy or all)
}
