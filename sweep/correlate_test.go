package sweep

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// bruteKendall is tau-b by its definition: every pair classified as
// concordant, discordant, tied in x, tied in y (both ties counted in each).
func bruteKendall(x, y []float64) float64 {
	var nc, nd, tx, ty int64
	n := len(x)
	for i := range n {
		for j := i + 1; j < n; j++ {
			dx, dy := x[i]-x[j], y[i]-y[j]
			switch {
			case dx == 0 && dy == 0:
				tx++
				ty++
			case dx == 0:
				tx++
			case dy == 0:
				ty++
			case (dx > 0) == (dy > 0):
				nc++
			default:
				nd++
			}
		}
	}
	n0 := int64(n) * int64(n-1) / 2
	return float64(nc-nd) / math.Sqrt(float64(n0-tx)*float64(n0-ty))
}

// TestKendallTauKnown: hand-counted cases with and without ties.
func TestKendallTauKnown(t *testing.T) {
	cases := []struct {
		name string
		x, y []float64
		want float64
	}{
		{"perfect", []float64{1, 2, 3, 4, 5}, []float64{10, 20, 30, 40, 50}, 1},
		{"anti", []float64{1, 2, 3, 4, 5}, []float64{5, 4, 3, 2, 1}, -1},
		// 5 concordant, 1 pair tied in y: 5/sqrt(6*5).
		{"tie in y", []float64{1, 2, 3, 4}, []float64{1, 2, 2, 3}, 5 / math.Sqrt(30)},
		// 4 concordant, one tie in x, one in y: 4/sqrt(5*5).
		{"ties in both", []float64{1, 2, 2, 3}, []float64{1, 3, 2, 3}, 0.8},
		// 1 concordant, 1 discordant, 2 ties in each: 0.
		{"balanced", []float64{1, 1, 2, 2}, []float64{1, 2, 1, 2}, 0},
		// A joint tie counts in n_1 and n_2: pairs (1,2) tied in both,
		// the other 2 concordant: 2/sqrt(2*2) = 1.
		{"joint tie", []float64{1, 1, 2}, []float64{5, 5, 7}, 1},
		// 3 concordant, 3 discordant.
		{"zero", []float64{1, 2, 3, 4}, []float64{2, 4, 1, 3}, 0},
		// 5 concordant, 1 discordant: 4/6.
		{"two thirds", []float64{1, 2, 3, 4}, []float64{1, 3, 2, 4}, 4.0 / 6},
	}
	for _, c := range cases {
		if got := KendallTau(c.x, c.y); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("%s: tau-b %v, want %v", c.name, got, c.want)
		}
	}
	for _, c := range [][2][]float64{{{1, 1, 1}, {1, 2, 3}}, {{1, 2, 3}, {4, 4, 4}}, {{1}, {2}}, {nil, nil}, {{1, math.NaN()}, {1, 2}}} {
		if got := KendallTau(c[0], c[1]); !math.IsNaN(got) {
			t.Errorf("KendallTau(%v, %v) = %v, want NaN", c[0], c[1], got)
		}
	}
}

// TestKendallTauBruteForce: the O(n log n) counting equals the pairwise
// definition bit for bit (both divide the same integer counts) on random
// data with many ties, and tau is symmetric and flips sign with -y.
func TestKendallTauBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 400 {
		n := 2 + rng.IntN(60)
		levels := 1 + rng.IntN(8) // few levels: many ties
		x, y := make([]float64, n), make([]float64, n)
		for i := range x {
			x[i] = float64(rng.IntN(levels))
			y[i] = float64(rng.IntN(levels)) + 0.5*x[i]
			if trial%3 == 0 {
				x[i] += rng.Float64() // no ties in x
			}
		}
		got, want := KendallTau(x, y), bruteKendall(x, y)
		if got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("trial %d (n %d): tau %v, brute force %v", trial, n, got, want)
		}
		if sym := KendallTau(y, x); sym != got && !math.IsNaN(got) {
			t.Fatalf("trial %d: tau(x,y) %v != tau(y,x) %v", trial, got, sym)
		}
		neg := make([]float64, n)
		for i := range y {
			neg[i] = -y[i]
		}
		if m := KendallTau(x, neg); m != -got && !math.IsNaN(got) {
			t.Fatalf("trial %d: tau(x,-y) %v != -tau(x,y) %v", trial, m, -got)
		}
	}
}

// bruteBootstrap is the documented bootstrap of BootstrapKendall with the
// brute-force tau and a sort-based percentile.
func bruteBootstrap(x, y []float64, resamples int, level float64, seed uint64) (lo, hi float64) {
	rng := rand.New(rand.NewPCG(seed, 0x6b656e64))
	var taus []float64
	n := len(x)
	for range resamples {
		bx, by := make([]float64, n), make([]float64, n)
		for i := range n {
			j := rng.IntN(n)
			bx[i], by[i] = x[j], y[j]
		}
		if tau := bruteKendall(bx, by); !math.IsNaN(tau) {
			taus = append(taus, tau)
		}
	}
	slices.Sort(taus)
	q := func(p float64) float64 {
		h := p * float64(len(taus)-1)
		i := int(h)
		if i+1 >= len(taus) {
			return taus[len(taus)-1]
		}
		return taus[i] + (h-float64(i))*(taus[i+1]-taus[i])
	}
	return q((1 - level) / 2), q((1 + level) / 2)
}

// TestBootstrapKendall: perfectly ranked data give [1, 1]; the interval
// contains tau on noisy data, narrows with more data, and is reproduced by
// the same seed.
func TestBootstrapKendall(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5, 6}
	lo, hi := BootstrapKendall(x, x, 200, 0.95, rand.New(rand.NewPCG(3, 0x6b656e64)))
	if lo != 1 || hi != 1 {
		t.Fatalf("perfect ranking: interval [%v, %v], want [1, 1]", lo, hi)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	width := func(n int) float64 {
		x, y := make([]float64, n), make([]float64, n)
		for i := range x {
			x[i] = rng.NormFloat64()
			y[i] = x[i] + rng.NormFloat64()
		}
		tau := KendallTau(x, y)
		lo, hi := BootstrapKendall(x, y, 500, 0.9, rand.New(rand.NewPCG(5, 0x6b656e64)))
		blo, bhi := bruteBootstrap(x, y, 500, 0.9, 5)
		if math.Abs(lo-blo) > 1e-15 || math.Abs(hi-bhi) > 1e-15 {
			t.Fatalf("n %d: interval [%v, %v], recomputed [%v, %v]", n, lo, hi, blo, bhi)
		}
		if !(lo <= tau && tau <= hi) {
			t.Fatalf("n %d: tau %v outside its interval [%v, %v]", n, tau, lo, hi)
		}
		return hi - lo
	}
	// The interval's width falls like n^-1/2: 16x the data, about a
	// quarter; asserted loosely (at most half) against resampling noise.
	if w20, w320 := width(20), width(320); !(w320 < w20/2) {
		t.Fatalf("interval width %v at n = 320 not below half of %v at n = 20", w320, w20)
	}
}

// geometryTestConfig is the example geometry sweep (54 runs on digits).
func geometryTestConfig(t *testing.T) Config {
	t.Helper()
	c, err := ParseConfig([]byte(GeometryExampleConfig))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.Runs()); n < 24 {
		t.Fatalf("example has %d runs, want >= 24", n)
	}
	return c
}

// rawFinal reads the last record of every result file in dir/runs as
// plain JSON, independently of the package's parsing.
func rawFinal(t *testing.T, dir string) map[string]map[string]any {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "runs", "*.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no result files in %s (%v)", dir, err)
	}
	out := map[string]map[string]any{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var lines []map[string]any
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			lines = append(lines, m)
		}
		out[filepath.Base(f)] = lines[len(lines)-2] // before the trailer
	}
	return out
}

// TestGeometryCorrelationsRecomputed runs the example geometry sweep
// (widths x learning rates x batch sizes x seeds on digits) and checks that
// every number of its correlation table and JSON lines is recomputed from
// the result files: tau-b by the pairwise definition on the runs' last
// records (exactly), the bootstrap interval by redoing the documented
// resampling with the same seed (to 1e-15), and the printed table's
// figures to their printed precision. The sweep is then run again at
// GOMAXPROCS 1 with one worker and must write the same bytes.
func TestGeometryCorrelationsRecomputed(t *testing.T) {
	c := geometryTestConfig(t)
	prev := runtime.GOMAXPROCS(2)
	rep, dir := runAndAnalyze(t, c, 2)
	runtime.GOMAXPROCS(prev)
	if len(rep.Missing) > 0 {
		t.Fatalf("missing runs %v", rep.Missing)
	}
	opts := CorrelationOptions{Resamples: 300, Seed: 7}
	var js, table bytes.Buffer
	if err := rep.WriteCorrelationsJSON(&js, opts); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteCorrelations(&table, opts); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", table.String())
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(js.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, m)
	}
	if len(lines) != len(GeometryMeasures)+1 || lines[len(lines)-1]["kind"] != "summary" {
		t.Fatalf("want %d correlation lines and a summary last, got %v", len(GeometryMeasures), lines)
	}
	final := rawFinal(t, dir)
	if sum := lines[len(lines)-1]; sum["runs"] != float64(len(final)) || sum["total_runs"] != float64(len(final)) {
		t.Fatalf("summary %v: want all %d runs ranked", sum, len(final))
	}
	names := make([]string, 0, len(final))
	for name := range final {
		names = append(names, name)
	}
	// tau-b does not depend on the order of the runs, the bootstrap's
	// draws do: the package takes them in the grid's order.
	order := map[string]int{}
	for _, s := range c.Runs() {
		order[s.ID+".jsonl"] = s.Index
	}
	slices.SortFunc(names, func(a, b string) int { return order[a] - order[b] })
	tableLines := strings.Split(table.String(), "\n")
	for k, m := range GeometryMeasures {
		var x, gap, xa, accGap []float64
		for _, name := range names {
			rec := final[name]
			g, ok := rec["geometry"].(map[string]any)
			if !ok {
				t.Fatalf("%s: last record has no geometry", name)
			}
			v, ok := g[m].(float64)
			if !ok {
				continue
			}
			x, gap = append(x, v), append(gap, rec["test_loss"].(float64)-rec["loss"].(float64))
			xa, accGap = append(xa, v), append(accGap, rec["accuracy"].(float64)-rec["test_accuracy"].(float64))
		}
		line := lines[k]
		if line["kind"] != "correlation" || line["measure"] != m || line["runs"] != float64(len(x)) || len(x) < 24 {
			t.Fatalf("line %d %v: want measure %s over %d (>= 24) runs", k, line, m, len(x))
		}
		tau, accTau := bruteKendall(x, gap), bruteKendall(xa, accGap)
		lo, hi := bruteBootstrap(x, gap, opts.Resamples, 0.95, opts.Seed)
		alo, ahi := bruteBootstrap(xa, accGap, opts.Resamples, 0.95, opts.Seed)
		if line["tau"] != tau || line["acc_gap_tau"] != accTau {
			t.Errorf("%s: tau %v and accuracy-gap tau %v, recomputed %v and %v", m, line["tau"], line["acc_gap_tau"], tau, accTau)
		}
		for _, p := range []struct {
			key  string
			want float64
		}{{"ci_lo", lo}, {"ci_hi", hi}, {"acc_gap_ci_lo", alo}, {"acc_gap_ci_hi", ahi}} {
			if got := line[p.key].(float64); math.Abs(got-p.want) > 1e-15 {
				t.Errorf("%s: %s %v, recomputed %v", m, p.key, got, p.want)
			}
		}
		row := fmt.Sprintf("%d  %+.3f  [%+.3f, %+.3f]  %+.3f  [%+.3f, %+.3f]", len(x), tau, lo, hi, accTau, alo, ahi)
		if got := strings.Join(strings.Fields(tableLines[2+k]), "  "); got != strings.Join(strings.Fields(m+"  "+row), "  ") {
			t.Errorf("table line %q, recomputed %q", tableLines[2+k], m+"  "+row)
		}
	}

	// Same bytes with one thread and one worker.
	prev = runtime.GOMAXPROCS(1)
	_, dir1 := runAndAnalyze(t, c, 1)
	runtime.GOMAXPROCS(prev)
	a, b := readAll(t, dir), readAll(t, dir1)
	if len(a) != len(b) {
		t.Fatalf("%d files at GOMAXPROCS 2, %d at 1", len(a), len(b))
	}
	for name, content := range a {
		if !bytes.Equal(content, b[name]) {
			t.Fatalf("%s differs between GOMAXPROCS 2 (2 workers) and 1 (1 worker)", name)
		}
	}
}

// TestGeometryLeavesTrainingAlone: the geometry measurements do not
// change the run: its records equal those of the run without the
// geometry block, but for the Geometry of the last one.
func TestGeometryLeavesTrainingAlone(t *testing.T) {
	c := geometryTestConfig(t)
	c.Steps, c.LogEvery = 40, 10
	ds, err := makeDataset(c)
	if err != nil {
		t.Fatal(err)
	}
	spec := c.Runs()[len(c.Runs())-1]
	with, div, err := Train(context.Background(), c, ds, spec)
	if err != nil || div != 0 {
		t.Fatalf("err %v, diverged at %d", err, div)
	}
	plain := c
	plain.Geometry = nil
	without, _, err := Train(context.Background(), plain, ds, spec)
	if err != nil {
		t.Fatal(err)
	}
	g := with[len(with)-1].Geometry
	if g == nil || g.Measurements != 5 || g.Probe != 64 || g.Error != "" || g.Sharpness == nil || g.HessianTrace == nil || g.BSimple == nil || g.PLMin == nil || g.LojTheta == nil {
		t.Fatalf("geometry %+v: want every measure over 5 points (steps 0, 10, ..., 40) of 64 examples", g)
	}
	// The PL minimum is the smallest ratio along the path, so at most the
	// final one; the sharpness bounds the trace's mean eigenvalue only
	// loosely, but is positive near a minimum of cross-entropy.
	if *g.PLMin > *g.PLFinal || !(*g.Sharpness > 0) || !(g.WeightDistance > 0) {
		t.Fatalf("geometry %+v: want pl_min <= pl_final, positive sharpness and distance", g)
	}
	with[len(with)-1].Geometry = nil
	if !reflect.DeepEqual(with, without) {
		t.Fatal("records with the geometry block differ from those without it")
	}
}

// TestGeometryConfigErrors: the geometry block and batch_sizes are
// validated with the field named.
func TestGeometryConfigErrors(t *testing.T) {
	base := geometryTestConfig(t)
	for _, c := range []struct {
		edit  func(*Config)
		field string
	}{
		{func(c *Config) { c.Dataset.TestN = 0 }, `"geometry"`},
		{func(c *Config) { c.Geometry.Probe = 1 }, `"geometry.probe"`},
		{func(c *Config) { c.Geometry.Probe = c.Dataset.N + 1 }, `"geometry.probe"`},
		{func(c *Config) { c.Geometry.TraceProbes = 1 }, `"geometry.trace_probes"`},
		{func(c *Config) { c.Geometry.LojTail = 2 }, `"geometry.loj_tail"`},
		{func(c *Config) { c.Geometry.Every = -1 }, `"geometry.every"`},
		{func(c *Config) { c.BatchSize = 8 }, `"batch_sizes"`},
		{func(c *Config) { c.BatchSizes = []int{8, 0} }, `"batch_sizes"`},
		{func(c *Config) { c.BatchSizes = []int{8, 8} }, `"batch_sizes"`},
	} {
		cfg := base
		g := *base.Geometry
		cfg.Geometry = &g
		cfg.BatchSizes = slices.Clone(base.BatchSizes)
		c.edit(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("want an error naming %s, got %v", c.field, err)
		}
	}
}
