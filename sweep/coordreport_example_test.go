package sweep_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/sweep"
)

// tinyCoordCheck is a coordinate check of muP and SP small enough for an
// example.
func tinyCoordCheck() *sweep.CoordResult {
	res, err := sweep.CoordCheck(context.Background(), sweep.CoordConfig{
		Dataset:           sweep.Dataset{Kind: "teacher", N: 16, Dim: 4, Seed: 1},
		Widths:            []int{64, 256},
		Depth:             1,
		Parameterizations: []nn.Parameterization{nn.MuP, nn.Standard},
		Seeds:             []uint64{1, 2},
		LR:                0.1,
	})
	if err != nil {
		panic(err)
	}
	return res
}

// The verdict of a coordinate check: under SGD the output's change grows
// with the width in SP and stays flat in muP.
func ExampleCoordResult_Slopes() {
	for _, s := range tinyCoordCheck().Slopes() {
		if s.Layer == 1 {
			fmt.Printf("%-8s output change slope > 0.5: %v\n", s.Parameterization, *s.Delta > 0.5)
		}
	}
	// Output:
	// mup      output change slope > 0.5: false
	// standard output change slope > 0.5: true
}

// The slopes as a table, to print after CoordResult.WriteTable.
func ExampleCoordResult_WriteSlopes() {
	var b strings.Builder
	if err := tinyCoordCheck().WriteSlopes(&b); err != nil {
		panic(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	fmt.Println(lines[0])
	fmt.Println(strings.Fields(lines[1])[:3])
	fmt.Println(len(lines)-2, "rows")
	// Output:
	// log-log slope against the width at t = 3 (muP: about 0):
	// [param layer mean]
	// 4 rows
}

// One JSON line per cell: 2 parameterizations x 2 layers x 3 times x 2
// widths.
func ExampleCoordResult_WriteJSONL() {
	var b strings.Builder
	if err := tinyCoordCheck().WriteJSONL(&b); err != nil {
		panic(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	fmt.Println(len(lines), "lines; the first:", lines[0][:strings.Index(lines[0], `,"mean"`)])
	// Output: 24 lines; the first: {"parameterization":"mup","layer":0,"t":1,"width":64
}

// Save writes the cells and the figures into a directory.
func ExampleCoordResult_Save() {
	dir, _ := os.MkdirTemp("", "coordcheck")
	defer os.RemoveAll(dir)
	if err := tinyCoordCheck().Save(dir, true); err != nil {
		panic(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "coordcheck*"))
	for _, f := range files {
		fmt.Println(filepath.Base(f))
	}
	// Output:
	// coordcheck.jsonl
	// coordcheck_mup.png
	// coordcheck_mup.svg
	// coordcheck_standard.png
	// coordcheck_standard.svg
}
