package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/gradflow/gradflow/internal/parallel"
)

// loadRecord is one line of `bench load -json`.
type loadRecord struct {
	Suite         string    `json:"suite"`
	Spin          string    `json:"spin"`
	Busy          int       `json:"busy"`
	Threads       int       `json:"threads"`
	Round         int       `json:"round"`
	SamplesPerSec float64   `json:"samples_per_sec"`
	Reps          []float64 `json:"reps"`
	// Ratio is the median over repetitions of samples/s at Threads over
	// samples/s at the first thread count in the repetition next to it.
	Ratio float64 `json:"ratio"`
	// Trips is how many spins the OS interrupted during the measurement
	// (parallel.SpinStats); each turns spinning off for a while.
	Trips int64 `json:"trips"`
	// OffPercent is the share of the measurement's wall time for which
	// the trips turned spinning off.
	OffPercent float64 `json:"off_percent"`
	// PressurePercent is the share of the measurement's wall time for
	// which the CPU stall counter turned spinning off (a runnable thread
	// waited for a CPU; parallel.SetPressure).
	PressurePercent float64 `json:"pressure_percent"`
}

// runLoad measures the MLP training step at one and two threads (or
// -threads) with 0 and 1 (or -busy) competing CPU-bound processes, for
// each spin policy of -spins, in rounds; ratios are taken within a round.
func runLoad(args []string) error {
	fs := newFlagSet("load")
	js := fs.Bool("json", false, "print one JSON object per line instead of a table")
	threadsFlag := fs.String("threads", "1,2", "thread counts (GOMAXPROCS)")
	busyFlag := fs.String("busy", "0,1", "numbers of competing busy processes (0 allowed)")
	spins := fs.String("spins", "adaptive", "spin policies, comma-separated: adaptive (the default policy), gaps (adaptive without the CPU stall counter) or a fixed duration such as 1ms or 0 (as GRADFLOW_SPIN)")
	dtype := fs.String("dtype", "float32", "element type: float32 or float64")
	reps := fs.Int("reps", 7, "repetitions per measurement, each thread count in turn (order alternating); the median is reported")
	rounds := fs.Int("rounds", 3, "rounds; the ratio to one thread is taken within a round and its median reported")
	minTime := fs.Duration("mintime", 200*time.Millisecond, "minimum time per repetition")
	busyLoop := fs.Bool("busyloop", false, "internal: be a competing busy process (spin on one thread until killed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *busyLoop {
		runtime.GOMAXPROCS(1)
		x := uint64(1)
		for {
			x = x*6364136223846793005 + 1442695040888963407
			if x == 0 {
				fmt.Println(x) // never; keeps the loop from being removed
			}
		}
	}
	threads, err := parseInts("threads", *threadsFlag)
	if err != nil {
		return err
	}
	var busies []int
	for _, f := range strings.Split(*busyFlag, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(f), &n); err != nil || n < 0 {
			return fmt.Errorf("-busy: %q is not an integer >= 0", f)
		}
		busies = append(busies, n)
	}
	type policy struct {
		name     string
		d        time.Duration
		fixed    bool
		pressure bool
	}
	var policies []policy
	for _, f := range strings.Split(*spins, ",") {
		f = strings.TrimSpace(f)
		switch f {
		case "adaptive":
			policies = append(policies, policy{f, time.Millisecond, false, true})
			continue
		case "gaps":
			policies = append(policies, policy{f, time.Millisecond, false, false})
			continue
		}
		d, err := time.ParseDuration(f)
		if err != nil || d < 0 {
			return fmt.Errorf("-spins: %q is neither adaptive, gaps nor a duration >= 0", f)
		}
		policies = append(policies, policy{f, d, true, false})
	}
	if *dtype != "float32" && *dtype != "float64" {
		return fmt.Errorf("-dtype: %q is not float32 or float64", *dtype)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	c := mlpCases[0]
	em := newEmitter(*js)
	prevProcs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prevProcs)
	defer parallel.SetSpin(time.Millisecond, false)
	defer parallel.SetPressure(true)
	if !*js {
		header(false)
		fmt.Printf("# %s b%d %s; competing processes: %s load -busyloop (one thread each)\n", dimsLabel(c.dims), c.batch, *dtype, self)
		fmt.Printf("%-9s %4s %5s %3s %10s %7s %6s %5s %6s\n", "spin", "busy", "round", "thr", "samples/s", "vs thr1", "trips", "off%", "stall%")
	}
	// ratios[policy][busy][threads] are the per-round ratios to the first
	// thread count.
	ratios := map[string]map[int]map[int][]float64{}
	for _, p := range policies {
		ratios[p.name] = map[int]map[int][]float64{}
		for _, b := range busies {
			ratios[p.name][b] = map[int][]float64{}
		}
	}
	for round := 1; round <= *rounds; round++ {
		for _, b := range busies {
			var procs []*exec.Cmd
			for i := 0; i < b; i++ {
				cmd := exec.Command(self, "load", "-busyloop")
				if err := cmd.Start(); err != nil {
					return err
				}
				procs = append(procs, cmd)
			}
			for _, p := range policies {
				parallel.SetSpin(p.d, p.fixed)
				parallel.SetPressure(p.pressure)
				trips0, off0, pr0 := parallel.SpinStats()
				t0 := time.Now()
				rates := pairedRates(*dtype, c, threads, *reps, *minTime)
				trips1, off1, pr1 := parallel.SpinStats()
				wall := time.Since(t0).Seconds()
				offPct := 100 * min(1, (off1-off0).Seconds()/wall)
				prPct := 100 * min(1, (pr1-pr0).Seconds()/wall)
				for i, t := range threads {
					// The ratio of each repetition to the first thread
					// count's repetition measured next to it.
					var rs []float64
					for r := range rates[i] {
						rs = append(rs, rates[i][r]/rates[0][r])
					}
					ratio := median(rs)
					ratios[p.name][b][t] = append(ratios[p.name][b][t], ratio)
					em.emit(loadRecord{Suite: "load", Spin: p.name, Busy: b, Threads: t, Round: round, SamplesPerSec: median(rates[i]), Reps: roundAll(rates[i]), Ratio: ratio, Trips: trips1 - trips0, OffPercent: round2(offPct), PressurePercent: round2(prPct)})
					if !*js {
						fmt.Printf("%-9s %4d %5d %3d %10.0f %7.2f %6d %5.0f %6.0f\n", p.name, b, round, t, median(rates[i]), ratio, trips1-trips0, offPct, prPct)
					}
				}
			}
			for _, cmd := range procs {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
		}
	}
	if !*js {
		fmt.Printf("\nmedian over rounds of samples/s at thr / at thr %d (same round, same policy and load):\n", threads[0])
		for _, p := range policies {
			for _, b := range busies {
				fmt.Printf("%-9s busy=%d:", p.name, b)
				for _, t := range threads[1:] {
					fmt.Printf("  thr %d: %.2fx %v", t, median(ratios[p.name][b][t]), roundAll(ratios[p.name][b][t]))
				}
				fmt.Println()
			}
		}
	}
	return nil
}

// pairedRates measures the step's samples/s at each thread count reps
// times, the thread counts in turn (in reverse order every other
// repetition), so that a change of the machine's other load hits all of
// them alike: rates[i][r] is thread count i in repetition r. The trips of
// the spin policy count for the whole measurement.
func pairedRates(dtype string, c mlpCase, threads []int, reps int, minTime time.Duration) [][]float64 {
	type stepper interface{ step() float64 }
	steps := make([]stepper, len(threads))
	for i, t := range threads {
		runtime.GOMAXPROCS(t)
		if dtype == "float32" {
			steps[i] = newMLPStep[float32](c, 1)
		} else {
			steps[i] = newMLPStep[float64](c, 1)
		}
		for k, t0 := 0, time.Now(); k < 50 || time.Since(t0) < minTime/2; k++ {
			steps[i].step()
		}
	}
	rates := make([][]float64, len(threads))
	for r := 0; r < reps; r++ {
		for k := range threads {
			i := k
			if r%2 == 1 {
				i = len(threads) - 1 - k
			}
			runtime.GOMAXPROCS(threads[i])
			n := 0
			t0 := time.Now()
			var dt time.Duration
			for {
				steps[i].step()
				n++
				if dt = time.Since(t0); dt >= minTime {
					break
				}
			}
			rates[i] = append(rates[i], float64(n*c.batch)/dt.Seconds())
		}
	}
	return rates
}
