package train

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/gradflow/gradflow/optim"
)

// TestResumeAveragedBitIdentical: with Polyak-Ruppert averaging from step
// 10, a run interrupted at step 30 and resumed ends with bit-identical
// parameters, average and averaged evaluation ("test@avg") as an
// uninterrupted run; a checkpoint written without averaging (the format
// before averaging existed) resumes into an averaged trainer, which then
// averages from the resumed step.
func TestResumeAveragedBitIdentical(t *testing.T) {
	const total = 60
	run := func(s *setup[float64], avg string, steps int, ckpt string, resume bool) (*optim.Averaged[float64], Result) {
		cfg := s.config()
		var av *optim.Averaged[float64]
		if avg != "" {
			a, _, err := optim.ParseAveraging(avg)
			if err != nil {
				t.Fatal(err)
			}
			if av, err = optim.NewAveraged[float64](s.opt, a); err != nil {
				t.Fatal(err)
			}
			cfg.Optimizer = av
		}
		_, res := runCheckpointed(t, cfg, steps, ckpt, resume)
		return av, res
	}
	same := func(what string, a, b *setup[float64], aa, ba *optim.Averaged[float64]) {
		t.Helper()
		for i, p := range a.model.Params() {
			q := b.model.Params()[i]
			x, y := make([]float64, p.Value.Len()), make([]float64, p.Value.Len())
			aa.Average(i, x)
			ba.Average(i, y)
			for j, v := range p.Value.Data() {
				if math.Float64bits(v) != math.Float64bits(q.Value.Data()[j]) || math.Float64bits(x[j]) != math.Float64bits(y[j]) {
					t.Fatalf("%s: %s[%d]: value %v average %v, want %v and %v", what, p.Name, j, q.Value.Data()[j], y[j], v, x[j])
				}
			}
		}
	}
	ref := newSetup[float64](t, 1, 32, 0.05)
	refAv, refRes := run(ref, "from:10", total, "", false)
	if refAv.Count() != total-10 || refRes.Last.Evals["test@avg"] == nil {
		t.Fatalf("uninterrupted run: %d iterates averaged, last record %+v", refAv.Count(), refRes.Last.Evals)
	}
	t.Logf("test loss at step %d: last iterate %.4f, average %.4f", total, refRes.Last.Evals["test"]["loss"], refRes.Last.Evals["test@avg"]["loss"])

	ckpt := filepath.Join(t.TempDir(), "avg.ckpt")
	first := newSetup[float64](t, 1, 32, 0.05)
	run(first, "from:10", 30, ckpt, false)
	second := newSetup[float64](t, 99, 32, 0.05)
	secondAv, res := run(second, "from:10", total, ckpt, true)
	same("resumed averaged run", ref, second, refAv, secondAv)
	if res.Last.Evals["test@avg"]["loss"] != refRes.Last.Evals["test@avg"]["loss"] {
		t.Fatalf("averaged evaluation differs: resumed %v, uninterrupted %v", res.Last.Evals["test@avg"], refRes.Last.Evals["test@avg"])
	}

	// A checkpoint without averaging, resumed with averaging from step 0:
	// the average holds the iterates after the resume, exactly as a run
	// averaging from step 30 from the start.
	old := filepath.Join(t.TempDir(), "plain.ckpt")
	plain := newSetup[float64](t, 1, 32, 0.05)
	run(plain, "", 30, old, false)
	resumed := newSetup[float64](t, 99, 32, 0.05)
	resumedAv, _ := run(resumed, "polyak", total, old, true)
	late := newSetup[float64](t, 1, 32, 0.05)
	lateAv, _ := run(late, "from:30", total, "", false)
	same("old checkpoint resumed with averaging", late, resumed, lateAv, resumedAv)
}
