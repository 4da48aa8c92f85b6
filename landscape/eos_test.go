package landscape

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/train"
)

// Edge of stability (Cohen, Kaur, Li, Kolter and Talwalkar, "Gradient
// descent on neural networks typically occurs at the edge of stability",
// ICLR 2021).
//
// Setup: 200 examples of the embedded UCI digits (pixels / 16, one-hot
// targets), an MLP 64 -> 32 -> 32 -> 10 with tanh, standard
// parameterization with WStd = 0.5 (a small init, so the sharpness starts
// far below the threshold), loss nn.MSE (mean over examples and the 10
// outputs), full-batch gradient descent (train.Trainer with plain SGD and
// one batch of all 200 examples) with eta = 0.5, i.e. 2/eta = 4, for 3000
// steps. The sharpness is measured by a Probe every 25 steps (Lanczos,
// warm-started, relative residual 1e-3) on the same 200 examples.
//
// What happens: the sharpness starts near 0.84 (0.21 of 2/eta), grows
// steadily (progressive sharpening) and crosses 2/eta around step 900; it
// overshoots by about 10% (up to 16% for other init seeds), falls back
// below 2/eta within a few hundred steps, and from then on oscillates
// around 2/eta while the loss keeps decreasing non-monotonically. The test
// asserts the start below half the threshold, the crossing, an overshoot
// of at most 25%, every measurement after the first fall back within 15%
// of 2/eta (over at least a quarter of the run), and a lower loss at the
// end than at the crossing. Init seeds 1..5 all pass (seed 1 is used).
func TestEdgeOfStability(t *testing.T) {
	const (
		n     = 200
		eta   = 0.5
		steps = 3000
		every = 25
	)
	digits, err := data.Digits[float64]()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ds := digits.Subset(rng.Perm(digits.Len())[:n])
	for i, v := range ds.X.Data() {
		ds.X.Data()[i] = v / 16
	}
	model, err := nn.NewMLP[float64](nn.MLPConfig{Dims: []int{64, 32, 32, 10}, Activation: nn.Tanh, WStd: 0.5}, rng)
	if err != nil {
		t.Fatal(err)
	}
	loader, err := data.NewLoader(ds, data.LoaderConfig{BatchSize: n, OneHot: true})
	if err != nil {
		t.Fatal(err)
	}
	opt, err := optim.NewSGD(model.Params(), optim.SGDConfig{LR: eta})
	if err != nil {
		t.Fatal(err)
	}
	loss := &train.MSE[float64]{}
	var out bytes.Buffer
	probe, err := NewProbe(ProbeConfig[float64]{
		Model: model, Loss: loss, Data: ds, OneHot: true, Every: every, Out: &out, Seed: 3,
		Sharpness: &SharpnessBudget{Iters: 30, Tol: 1e-3},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := probe.Measure(0, eta); err != nil {
		t.Fatal(err)
	}
	tr, err := train.New(train.Config[float64]{
		Model: model, Loss: loss, Optimizer: opt, Train: loader, Steps: steps,
		Callbacks: []train.Callback[float64]{probe},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}

	// The JSON lines decode to the history.
	var lines []Measurement
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var m Measurement
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d: %v", len(lines)+1, err)
		}
		lines = append(lines, m)
	}
	h := probe.History()
	if len(lines) != len(h) || len(h) != steps/every+1 {
		t.Fatalf("%d JSON lines, %d measurements, want %d", len(lines), len(h), steps/every+1)
	}

	ratio := func(m Measurement) float64 { return *m.StabilityRatio }
	first := ratio(h[0])
	cross := -1
	for i, m := range h {
		if ratio(m) >= 1 {
			cross = i
			break
		}
	}
	// The first crossing overshoots (the sharpness keeps growing until
	// the instability has grown enough to push it back); the hovering
	// regime starts when it first falls back below 2/eta.
	settle := -1
	peak := 0.0
	if cross >= 0 {
		for i := cross; i < len(h); i++ {
			if ratio(h[i]) < 1 {
				settle = i
				break
			}
			peak = max(peak, ratio(h[i]))
		}
	}
	lo, hi := 1e9, 0.0
	if settle >= 0 {
		for _, m := range h[settle:] {
			lo, hi = min(lo, ratio(m)), max(hi, ratio(m))
		}
	}
	t.Logf("2/eta = %.3f; sharpness at step 0 %.3f (ratio %.3f); reaches 2/eta at step %d, overshoots to ratio %.3f, back below at step %d; from then on ratio in [%.3f, %.3f]; final sharpness %.3f, loss %.5f",
		2/eta, h[0].Sharpness[0], first, h[max(cross, 0)].Step, peak, h[max(settle, 0)].Step, lo, hi, h[len(h)-1].Sharpness[0], h[len(h)-1].Loss)
	if first > 0.5 {
		t.Errorf("initial sharpness %.3f is %.2f of 2/eta, want <= 0.5 (the setup must start below the edge)", h[0].Sharpness[0], first)
	}
	if cross < 0 || settle < 0 {
		t.Fatalf("sharpness never reached 2/eta = %v and came back in %d steps", 2/eta, steps)
	}
	if peak > 1.25 {
		t.Errorf("the first overshoot reached %v of 2/eta, want <= 1.25", peak)
	}
	if lo < 0.85 || hi > 1.15 {
		t.Errorf("at the edge the sharpness ratio ranges over [%v, %v], want within [0.85, 1.15]", lo, hi)
	}
	// The edge of stability leaves a run that still learns.
	if last := h[len(h)-1].Loss; last >= h[cross].Loss {
		t.Errorf("loss %v at the end, %v when the edge was reached: GD stopped making progress", last, h[cross].Loss)
	}
	if steps-h[settle].Step < steps/4 {
		t.Errorf("the hovering regime starts at step %d, leaving too little of the run to show it", h[settle].Step)
	}
}
