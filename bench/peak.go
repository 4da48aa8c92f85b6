package main

import (
	"fmt"
	"time"

	"github.com/gradflow/gradflow/internal/simd"
)

type peakRecord struct {
	Suite  string  `json:"suite"`
	SIMD   string  `json:"simd"`
	DType  string  `json:"dtype"`
	GFLOPS float64 `json:"gflops"`
}

func runPeak(args []string) error {
	fs := newFlagSet("peak")
	js := fs.Bool("json", false, "print one JSON object per line instead of a table")
	dur := fs.Duration("time", 300*time.Millisecond, "measurement time per tier and dtype")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: go run ./bench peak [flags]\n\nexample: go run ./bench peak -json\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	em := newEmitter(*js)
	header(*js)
	for _, t := range simd.Tiers() {
		if t == simd.TierGeneric {
			continue
		}
		for _, f32 := range []bool{true, false} {
			dt := "float64"
			if f32 {
				dt = "float32"
			}
			g, err := simd.MeasurePeak(t, f32, *dur)
			if err != nil {
				return err
			}
			em.emit(peakRecord{"peak", t, dt, round2(g)})
			if !*js {
				fmt.Printf("%-8s %-8s %8.1f GFLOPS (one core)\n", t, dt, g)
			}
		}
	}
	return nil
}
