package meanfield

import (
	"math"
	"testing"
)

// scalingGrid is the width grid of the scaling tests: >= 4 widths over a
// factor 64 (16 in -short) and 3 seeds (2 in -short).
func scalingGrid() (widths []int, seeds int) {
	if testing.Short() {
		return []int{64, 128, 256, 512, 1024}, 2
	}
	return []int{64, 256, 1024, 4096}, 3
}

// runGrid trains a tanh network of every width and seed for 100 steps of
// full-batch gradient descent at eta = 1 (time T = 100 in the scaled units
// of the package documentation) and returns the last records, [seed][width].
func runGrid(t *testing.T, regime Regime, widths []int, seeds int) (first, last [][]Record, traces [][]*Trace) {
	t.Helper()
	x, y := teacherData(t, 32, 8)
	first = make([][]Record, seeds)
	last = make([][]Record, seeds)
	traces = make([][]*Trace, seeds)
	for s := range seeds {
		for _, m := range widths {
			tr, err := Run(RunConfig{Net: Config{InputDim: 8, Width: m, Regime: regime}, Seed: uint64(s + 1), LR: 1, Steps: 100, Every: 10}, x, y)
			if err != nil {
				t.Fatal(err)
			}
			first[s] = append(first[s], tr.Records[0])
			last[s] = append(last[s], tr.Last())
			traces[s] = append(traces[s], tr)
		}
	}
	return first, last, traces
}

func column(recs [][]Record, f func(Record) float64) [][]float64 {
	out := make([][]float64, len(recs))
	for s, row := range recs {
		for _, r := range row {
			out[s] = append(out[s], f(r))
		}
	}
	return out
}

// TestNTKScaling checks the lazy regime of alpha(m) = 1/sqrt(m) at a fixed
// training time: the relative weight change and the mean per-neuron
// displacement fall like m^-1/2 (tolerance 0.15 on the slope, the issue's),
// and the kernel drift falls like m^-1.
//
// The kernel drift exponent is -1, not the -1/2 of the upper bound of Lee
// et al. (2019): for a smooth activation and zero-mean output weights the
// first-order change of every neuron's kernel contribution is odd in a_i and
// averages out over neurons, leaving O(1/m) (Dyer and Gur-Ari 2020; Roberts,
// Yaida and Hanin 2022). Measured here: about -0.9 to -1.0. With ReLU the
// activation-pattern flips add a slower term (measured about -0.8 over
// 64..4096), so the test uses tanh, where the prediction is clean.
func TestNTKScaling(t *testing.T) {
	widths, seeds := scalingGrid()
	_, last, _ := runGrid(t, NTK, widths, seeds)
	w := floats(widths...)
	for _, c := range []struct {
		name      string
		f         func(Record) float64
		want, tol float64
	}{
		{"weight change", func(r Record) float64 { return r.WeightChange }, -0.5, 0.15},
		{"displacement", func(r Record) float64 { return r.Displacement }, -0.5, 0.15},
		{"kernel drift", func(r Record) float64 { return r.KernelDrift }, -1, 0.15},
	} {
		got, se := seedSlope(w, column(last, c.f))
		t.Logf("NTK %s: slope %.3f +- %.3f (se), want %.2f +- %.2f", c.name, got, se, c.want, c.tol)
		if math.Abs(got-c.want) > c.tol {
			t.Errorf("NTK %s: slope %.3f, want %.2f +- %.2f", c.name, got, c.want, c.tol)
		}
	}
}

// TestMeanFieldScaling checks alpha(m) = 1/m with per-neuron rate eta*m:
// neurons move O(1) (displacement slope 0 +- 0.15), the kernel moves O(1)
// (slope 0 +- 0.15 and a relative drift above 0.5), the output at
// initialization is Theta(m^-1/2) (slope -0.5 +- 0.15 over 16 seeds), and
// the loss curves of widths m and 4m approach each other as m grows.
func TestMeanFieldScaling(t *testing.T) {
	widths, seeds := scalingGrid()
	_, last, traces := runGrid(t, MeanField, widths, seeds)
	w := floats(widths...)
	for _, c := range []struct {
		name string
		f    func(Record) float64
	}{
		{"displacement", func(r Record) float64 { return r.Displacement }},
		{"kernel drift", func(r Record) float64 { return r.KernelDrift }},
	} {
		got, se := seedSlope(w, column(last, c.f))
		t.Logf("mean field %s: slope %.3f +- %.3f (se), want 0 +- 0.15", c.name, got, se)
		if math.Abs(got) > 0.15 {
			t.Errorf("mean field %s: slope %.3f, want 0 +- 0.15", c.name, got)
		}
	}
	for s := range seeds {
		for i, r := range last[s] {
			if r.KernelDrift < 0.5 {
				t.Errorf("mean field width %d seed %d: kernel drift %.3f, want O(1) (> 0.5)", widths[i], s+1, r.KernelDrift)
			}
		}
	}

	// Output at initialization: needs no training, so average over more
	// seeds to beat the O(1) relative fluctuation of a single draw.
	x, _ := teacherData(t, 32, 8)
	const initSeeds = 16
	out := make([][]float64, initSeeds)
	for s := range initSeeds {
		for _, m := range widths {
			n, err := New(Config{InputDim: 8, Width: m}, NewRNG(uint64(100+s)))
			if err != nil {
				t.Fatal(err)
			}
			out[s] = append(out[s], rms(n.Predict(x).Data()))
		}
	}
	// Average the mean square over seeds first: its expectation is exactly
	// proportional to 1/m, while a single draw fluctuates by O(1).
	ms := make([]float64, len(widths))
	for i := range widths {
		for s := range initSeeds {
			ms[i] += out[s][i] * out[s][i] / initSeeds
		}
		ms[i] = math.Sqrt(ms[i])
	}
	if got := slope(w, ms); math.Abs(got+0.5) > 0.15 {
		t.Errorf("mean field output at init: slope %.3f, want -0.5 +- 0.15", got)
	} else {
		t.Logf("mean field output at init: slope %.3f, want -0.5 +- 0.15", got)
	}

	// Loss curves: sup_t |L_m(t) - L_4m(t)|, averaged over seeds, for
	// consecutive pairs 4x apart; each should be smaller than the one before
	// (the gap is a finite-width fluctuation, O(m^-1/2)).
	var gaps []float64
	for i := range widths {
		j := -1
		for k := range widths {
			if widths[k] == 4*widths[i] {
				j = k
			}
		}
		if j < 0 {
			continue
		}
		var g float64
		for s := range seeds {
			a, b := traces[s][i].Losses(), traces[s][j].Losses()
			var sup float64
			for k := range a {
				sup = math.Max(sup, math.Abs(a[k]-b[k]))
			}
			g += sup / float64(seeds)
		}
		t.Logf("mean field loss-curve gap between widths %d and %d: %.5f", widths[i], widths[j], g)
		gaps = append(gaps, g)
	}
	if len(gaps) < 2 {
		t.Fatal("grid has fewer than two width pairs 4x apart")
	}
	if gaps[len(gaps)-1] >= gaps[0] {
		t.Errorf("loss-curve gaps %v do not shrink with the width", gaps)
	}
}

// TestLazyScale checks Chizat and Bach's lazy scale: with f = (Alpha/m)
// sum_i a_i act(.), the symmetric initialization (f_0 = 0) and the rate
// eta m/Alpha^2, the weights move O(1/Alpha): slope -1 +- 0.15 of the weight
// change against Alpha over 4..256 at fixed width.
func TestLazyScale(t *testing.T) {
	x, y := teacherData(t, 32, 8)
	alphas := []float64{4, 16, 64, 256}
	steps := 100
	if testing.Short() {
		steps = 50
	}
	var wc []float64
	for _, a := range alphas {
		tr, err := Run(RunConfig{Net: Config{InputDim: 8, Width: 256, Regime: Lazy, Alpha: a, Symmetric: true}, Seed: 3, LR: 1, Steps: steps, Every: steps, NoKernel: true}, x, y)
		if err != nil {
			t.Fatal(err)
		}
		if f0 := tr.Records[0].OutputRMS; f0 > 1e-12 {
			t.Errorf("alpha %v: output at init %g, want 0 (symmetric init)", a, f0)
		}
		if tr.Last().Loss > 0.5*tr.Records[0].Loss {
			t.Errorf("alpha %v: loss %g -> %g, training did not progress", a, tr.Records[0].Loss, tr.Last().Loss)
		}
		wc = append(wc, tr.Last().WeightChange)
	}
	got := slope(alphas, wc)
	t.Logf("lazy scale: weight change %v, slope %.3f, want -1 +- 0.15", wc, got)
	if math.Abs(got+1) > 0.15 {
		t.Errorf("lazy scale: slope of weight change against alpha %.3f, want -1 +- 0.15", got)
	}
}
