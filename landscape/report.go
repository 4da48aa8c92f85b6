package landscape

import (
	"errors"
	"fmt"
	"io"

	"github.com/gradflow/gradflow/internal/figure"
)

// lojWide is the interval width from which the report says that the
// Lojasiewicz exponent is not determined by the run (PL gives 1/2, x^4
// gives 3/4: an interval wider than this cannot tell them apart).
const lojWide = 0.5

// lojBound is how close to the ends of FitLojasiewicz's search range
// [-2, 4] a theta must be to say that no exponent fits.
const lojBound = 1e-3

// textWriter keeps the first write error, so that a report of many lines
// checks it once.
type textWriter struct {
	w   io.Writer
	err error
}

func (t *textWriter) printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
}

// WriteText writes the report of "train landscape": a table of the
// measurements (at most about 16 rows, always with the first, the
// crossing of 2/eta and the last) and the summary with its reading (the
// edge of stability, whether the Lojasiewicz fit pins theta down). Its
// hints name the command's flags.
func (r *StudyResult) WriteText(w io.Writer) error {
	t := &textWriter{w: w}
	if len(r.History) == 0 {
		t.printf("no measurements\n")
		return t.err
	}
	r.writeTable(t)
	r.writeSharpness(t)
	r.writeFits(t)
	for _, e := range []struct {
		name string
		m    *EvalSummary
	}{{"train", r.Train}, {"test ", r.Test}} {
		switch {
		case e.m == nil:
		case e.m.Accuracy != nil:
			t.printf("%s accuracy %.2f%%  loss %s\n", e.name, 100**e.m.Accuracy, fmtPtr(e.m.Loss, "%.5f"))
		default:
			t.printf("%s loss %s\n", e.name, fmtPtr(e.m.Loss, "%.5f"))
		}
	}
	t.printf("%d steps, %d measurements in %.1fs (%s)\n", r.Steps, r.Measurements, r.Seconds, r.Stopped)
	return t.err
}

// writeTable writes every stride-th measurement, so that a long run fits
// on a screen.
func (r *StudyResult) writeTable(t *textWriter) {
	h := r.History
	t.printf("\n%7s  %10s  %10s  %9s  %7s  %20s  %9s  %9s\n", "step", "loss", "|grad|^2", "lambda_1", "l1*lr/2", "Hessian trace (se)", "PL ratio", "B_simple")
	stride := max(1, (len(h)+14)/15)
	for i, m := range h {
		crossing := r.Sharpness.CrossStep != nil && m.Step == *r.Sharpness.CrossStep
		if i%stride != 0 && i != len(h)-1 && !crossing {
			continue
		}
		trace := "-"
		if m.Trace != nil {
			trace = fmt.Sprintf("%.4g (%.2g)", *m.Trace, *m.TraceStdErr)
		}
		t.printf("%7d  %10.4g  %10.4g  %9.4g  %7s  %20s  %9s  %9s\n", m.Step, m.Loss, m.GradNormSq, m.Sharpness[0],
			fmtPtr(m.StabilityRatio, "%.3f"), trace, fmtPtr(m.PLRatio, "%.3g"), fmtPtr(m.BSimple, "%.3g"))
	}
	t.printf("\n")
}

// writeSharpness reads the sharpness against 2/eta.
func (r *StudyResult) writeSharpness(t *textWriter) {
	sh := r.Sharpness
	t.printf("sharpness: %.4g at step 0, max %.4g at step %d, final %.4g", sh.Initial, sh.Max, sh.MaxStep, sh.Final)
	if r.LR > 0 {
		t.printf("; 2/eta = %.4g", 2/r.LR)
	}
	t.printf("\n")
	switch {
	case sh.CrossStep == nil:
		t.printf("edge of stability: not reached (largest lambda_1 eta/2 = %s)\n", fmtPtr(sh.MaxRatio, "%.3f"))
	case sh.SettleStep == nil:
		t.printf("edge of stability: 2/eta reached at step %d; still above it at the end (lambda_1 eta/2 = %s)\n", *sh.CrossStep, fmtPtr(sh.FinalRatio, "%.3f"))
	default:
		t.printf("edge of stability: 2/eta reached at step %d (overshoot to %s), back below at step %d, then lambda_1 eta/2 in [%s, %s]\n",
			*sh.CrossStep, fmtPtr(sh.MaxRatio, "%.3f"), *sh.SettleStep, fmtPtr(sh.EdgeMin, "%.3f"), fmtPtr(sh.EdgeMax, "%.3f"))
	}
	if !r.FullBatchGD {
		t.printf("  (2/eta is the threshold of full-batch gradient descent; minibatches, momentum, adaptive steps and per-layer rates move it)\n")
	}
}

// writeFits writes the trace, the Lojasiewicz fit, the PL and PL*
// constants and the noise scale.
func (r *StudyResult) writeFits(t *textWriter) {
	if tr := r.Trace; tr != nil {
		t.printf("Hessian trace: %.4g +- %.2g at step 0, %.4g +- %.2g at the end (Hutchinson, %d probes)\n", tr.Initial, tr.InitialSE, tr.Final, tr.FinalSE, tr.Probes)
	}
	if l := r.Lojasiewicz; l != nil {
		t.printf("Lojasiewicz exponent: theta = %.3f, %.0f%% interval [%.3f, %.3f], c = %.3g (%d points, f* = %g)\n",
			l.Theta, 100*l.Level, l.Lo, l.Hi, l.C, l.Points, r.FStar)
		if l.Theta < -2+lojBound || l.Theta > 4-lojBound || l.Lo < -2+lojBound || l.Hi > 4-lojBound {
			t.printf("  (at the edge of the fitted range: |grad f| does not follow a power of f - f* along this run, as when GD oscillates at the edge of stability; try -loj-tail)\n")
		} else if l.Hi-l.Lo > lojWide {
			t.printf("  (the interval is wider than %g: the points do not pin theta down; along a run at the edge of stability |grad f| jumps with the oscillation instead of following f - f*; a smaller -lr keeps GD below the edge)\n", lojWide)
		}
	} else {
		t.printf("Lojasiewicz exponent: not fitted (%s)\n", r.LojasiewiczError)
	}
	t.printf("empirical PL constant: mu = %s (smallest PL ratio", fmtPtr(r.PL.Mu, "%.4g"))
	if r.PL.Window > 0 {
		t.printf(" over the last %d measurements", r.PL.Window)
	}
	t.printf(", f* = %g)\n", r.FStar)
	if p := r.PLStar; p.Examples > 0 {
		t.printf("PL*: %s at init, %s at the end (lambda_min of the NTK Gram on %d examples times the loss scale)\n",
			fmtPtr(p.Initial, "%.4g"), fmtPtr(p.Final, "%.4g"), p.Examples)
	}
	if nz := r.Noise; nz != nil {
		t.printf("gradient noise scale B_simple: %s at step 0, %s at the end (critical batch-size estimate)\n",
			fmtPtr(nz.BSimpleInitial, "%.4g"), fmtPtr(nz.BSimpleFinal, "%.4g"))
	}
}

// fmtPtr formats *v, or "-" for a value that could not be computed.
func fmtPtr(v *float64, format string) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(format, *v)
}

// WriteFigures draws, in dir, sharpness.{png,svg} (the top eigenvalues
// with the threshold 2/eta at each step's rate, a curve so that a
// schedule shows) and, when measured, trace.{png,svg} (with +- 1 standard
// error bars) and noise.{png,svg}. It returns the names drawn.
func (r *StudyResult) WriteFigures(dir string) ([]string, error) {
	h := r.History
	if len(h) == 0 {
		return nil, nil
	}
	sharp := figure.Plot{Title: "sharpness (top Hessian eigenvalues)", XLabel: "step", YLabel: "eigenvalue"}
	for i := range len(h[0].Sharpness) {
		s := figure.Series{Name: fmt.Sprintf("lambda_%d", i+1)}
		for _, m := range h {
			if i < len(m.Sharpness) {
				s.X, s.Y = append(s.X, float64(m.Step)), append(s.Y, m.Sharpness[i])
			}
		}
		sharp.Series = append(sharp.Series, s)
	}
	thr := figure.Series{Name: "2/eta", Dashed: true}
	for _, m := range h {
		if m.LR > 0 {
			thr.X, thr.Y = append(thr.X, float64(m.Step)), append(thr.Y, 2/m.LR)
		}
	}
	sharp.Series = append(sharp.Series, thr)
	figs := map[string]figure.Plot{"sharpness": sharp}
	if h[0].Trace != nil {
		s := figure.Series{}
		for _, m := range h {
			s.X, s.Y, s.YErr = append(s.X, float64(m.Step)), append(s.Y, *m.Trace), append(s.YErr, *m.TraceStdErr)
		}
		figs["trace"] = figure.Plot{Title: "Hessian trace (Hutchinson, +- 1 standard error)", XLabel: "step", YLabel: "tr H", Series: []figure.Series{s}}
	}
	if h[0].TraceCov != nil {
		// B_simple spans orders of magnitude along a run: a log scale,
		// which leaves out the points where it is not positive (or was
		// not computed, at a stationary point).
		s := figure.Series{}
		for _, m := range h {
			if m.BSimple != nil {
				s.X, s.Y = append(s.X, float64(m.Step)), append(s.Y, *m.BSimple)
			}
		}
		figs["noise"] = figure.Plot{Title: "gradient noise scale B_simple = tr(Sigma)/|G|^2", XLabel: "step", YLabel: "B_simple (examples)", LogY: true, Series: []figure.Series{s}}
	}
	var drawn []string
	for _, name := range []string{"sharpness", "trace", "noise"} {
		f, ok := figs[name]
		if !ok {
			continue
		}
		switch err := f.Save(dir, name); {
		case errors.Is(err, figure.ErrEmpty):
		case err != nil:
			return drawn, err
		default:
			drawn = append(drawn, name)
		}
	}
	return drawn, nil
}
