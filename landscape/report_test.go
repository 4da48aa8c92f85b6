package landscape

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// edgeResult is the summary of seven synthetic measurements whose
// stability ratio crosses 1 at step 20, falls back at step 40 and then
// hovers in [0.9, 1.05], with the trace and the noise measured.
func edgeResult() *StudyResult {
	ratios := []float64{0.2, 0.6, 1.1, 1.3, 0.9, 1.05, 0.95}
	var h []Measurement
	var traj Trajectory
	for i, r := range ratios {
		sharp, ratio, tr, se, b, cov := 4*r, r, 10*r, 0.5, float64(i), 2.0
		h = append(h, Measurement{Step: 10 * i, LR: 0.5, Loss: 1 / float64(i+1), GradNormSq: 1, Sharpness: []float64{sharp, sharp / 2},
			StabilityRatio: &ratio, Trace: &tr, TraceStdErr: &se, BSimple: &b, TraceCov: &cov})
		traj.Append(10*i, 1/float64(i+1), 1)
	}
	r := &StudyResult{LR: 0.5, Steps: 60, Stopped: "steps", Batch: 10, Examples: 10, FullBatchGD: true}
	r.summarize(h, &traj, summaryOptions{lojTail: 1, seed: 1, traceProbes: 7})
	return r
}

// TestWriteText: the report reads the edge of stability off the summary,
// adds the caveat about 2/eta only when the run was not full-batch GD,
// and shows the crossing in the table however long the run.
func TestWriteText(t *testing.T) {
	r := edgeResult()
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"sharpness: 0.8 at step 0, max 5.2 at step 30, final 3.8; 2/eta = 4\n",
		"edge of stability: 2/eta reached at step 20 (overshoot to 1.300), back below at step 40, then lambda_1 eta/2 in [0.900, 1.050]\n",
		"Hessian trace: 2 +- 0.5 at step 0, 9.5 +- 0.5 at the end (Hutchinson, 7 probes)\n",
		"gradient noise scale B_simple: 0 at step 0, 6 at the end",
		"60 steps, 7 measurements in 0.0s (steps)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "threshold of full-batch") {
		t.Errorf("caveat about 2/eta for a full-batch GD run:\n%s", out)
	}
	r.FullBatchGD = false
	b.Reset()
	r.WriteText(&b)
	if !strings.Contains(b.String(), "threshold of full-batch") {
		t.Errorf("no caveat about 2/eta for a run that is not full-batch GD:\n%s", b.String())
	}

	// 100 measurements give a table of every 7th row (at most about
	// 16), plus the crossing and the last one.
	long := make([]Measurement, 100)
	for i := range long {
		long[i] = Measurement{Step: i, Sharpness: []float64{1}}
	}
	cross := 13
	r = &StudyResult{History: long, Measurements: 100, Sharpness: SharpnessSummary{CrossStep: &cross}}
	b.Reset()
	r.WriteText(&b)
	var steps []string
	for _, l := range strings.Split(b.String(), "\n") {
		if f := strings.Fields(l); len(f) == 8 && f[0] != "step" {
			steps = append(steps, f[0])
		}
	}
	want := strings.Fields("0 7 13 14 21 28 35 42 49 56 63 70 77 84 91 98 99")
	if !slices.Equal(steps, want) {
		t.Errorf("table rows at steps %v, want %v", steps, want)
	}

	b.Reset()
	(&StudyResult{}).WriteText(&b)
	if b.String() != "no measurements\n" {
		t.Errorf("empty result: %q", b.String())
	}
}

// TestWriteFigures: every figure measured is drawn as PNG and SVG; a
// noise scale that a log axis cannot show leaves its figure out.
func TestWriteFigures(t *testing.T) {
	dir := t.TempDir()
	r := edgeResult()
	names, err := r.WriteFigures(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"sharpness", "trace", "noise"}) {
		t.Errorf("drew %v, want sharpness, trace, noise", names)
	}
	for _, n := range names {
		for _, ext := range []string{".png", ".svg"} {
			if st, err := os.Stat(filepath.Join(dir, n+ext)); err != nil || st.Size() == 0 {
				t.Errorf("%s%s missing or empty (%v)", n, ext, err)
			}
		}
	}

	for i := range r.History {
		zero := 0.0
		r.History[i].BSimple = &zero
		r.History[i].Trace = nil
	}
	dir = t.TempDir()
	if names, err = r.WriteFigures(dir); err != nil || !slices.Equal(names, []string{"sharpness"}) {
		t.Errorf("without a trace and with B_simple = 0: drew %v (%v), want sharpness only", names, err)
	}
	if names, err := (&StudyResult{}).WriteFigures(dir); err != nil || names != nil {
		t.Errorf("empty result: drew %v (%v)", names, err)
	}
}
