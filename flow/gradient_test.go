package flow

import (
	"context"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/landscape"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// scalarProblem is L(w) = lambda w^2 / 2 as a gradflow model: a bias-free
// 1 -> 1 linear layer with weight w, input sqrt(lambda), target 0 and the
// half mean squared error.
func scalarProblem(w0, lambda float64) Problem {
	lin := nn.NewLinearFrom[float64]("0", tensor.FromSlice([]float64{w0}, 1, 1), nil)
	b := &data.Batch[float64]{X: tensor.FromSlice([]float64{math.Sqrt(lambda)}, 1, 1), Y: tensor.FromSlice([]float64{0}, 1, 1)}
	return Problem{Model: lin, Loss: &train.MSE[float64]{Half: true}, Batch: b}
}

// The closed forms on L = x^2/2 from x = 1, eta = 0.1, T = 1: GD
// 0.9^10, the flow e^-1, the modified flow e^-1.05 (its field is
// -(1 + eta/2) x), each to 1e-9.
func TestCompareScalarClosedForms(t *testing.T) {
	p := scalarProblem(1, 1)
	res, err := Compare(context.Background(), p, CompareConfig{Etas: []float64{0.1}, T: 1, RTol: 1e-12})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Rows[0]
	gd := math.Pow(0.9, 10)
	flow := math.Exp(-1)
	mod := math.Exp(-1.05)
	// The distances are |x_GD - x_flow| with x_GD = 0.9^10 exactly.
	if r.Steps != 10 {
		t.Fatalf("%d steps, want 10", r.Steps)
	}
	if e := math.Abs(r.LossGD - gd*gd/2); e > 1e-12 {
		t.Errorf("GD loss %.15g, want 0.9^20/2 = %.15g", r.LossGD, gd*gd/2)
	}
	if e := math.Abs(r.DistFlow - (flow - gd)); e > 1e-9 {
		t.Errorf("|x_GD - x_flow| = %.12f, want e^-1 - 0.9^10 = %.12f (error %.2g)", r.DistFlow, flow-gd, e)
	}
	if e := math.Abs(r.DistModified - (mod - gd)); e > 1e-9 {
		t.Errorf("|x_GD - x_mod| = %.12f, want e^-1.05 - 0.9^10 = %.12f (error %.2g)", r.DistModified, mod-gd, e)
	}
	if e := math.Abs(res.LossFlow - flow*flow/2); e > 1e-9 {
		t.Errorf("flow loss %.15g, want e^-2/2 = %.15g", res.LossFlow, flow*flow/2)
	}
	// The model is left at its starting point.
	if w := p.Model.Params()[0].Value.Data()[0]; w != 1 {
		t.Errorf("the model's weight is %g after Compare, want 1 (restored)", w)
	}
	// The values themselves, through Flow directly.
	obj := mustObjective(t, p)
	for _, c := range []struct {
		eta, want float64
	}{{0, flow}, {0.1, mod}} {
		f, err := NewFlow(obj, FlowConfig{Eta: c.eta, ODE: ODEOptions{RTol: 1e-12}})
		if err != nil {
			t.Fatal(err)
		}
		out := [][]float64{{0}}
		if _, err := f.Solve(context.Background(), []float64{1}, []float64{1}, out); err != nil {
			t.Fatal(err)
		}
		if e := math.Abs(out[0][0] - c.want); e > 1e-9 {
			t.Errorf("eta %g: x(1) = %.12f, want %.12f", c.eta, out[0][0], c.want)
		}
	}
}

// Heavy ball on L = lambda x^2/2: the distance to the plain flow
// x' = -lambda x/(1-beta) falls like eta, to the modified flow (with its
// shifted start) like eta^2.
func TestCompareHeavyBallOrders(t *testing.T) {
	p := scalarProblem(1, 0.5)
	res, err := Compare(context.Background(), p, CompareConfig{Etas: []float64{0.04, 0.02, 0.01, 0.005}, T: 1, Momentum: 0.5, RTol: 1e-12})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Rows {
		t.Logf("eta %.3f: |GD - flow| %.3e, |GD - modified| %.3e", r.Eta, r.DistFlow, r.DistModified)
	}
	t.Logf("orders: flow %.3f, modified %.3f", res.OrderFlow, res.OrderModified)
	if math.Abs(res.OrderFlow-1) > 0.1 {
		t.Errorf("order against the plain flow %.3f, want 1 +- 0.1", res.OrderFlow)
	}
	if math.Abs(res.OrderModified-2) > 0.15 {
		t.Errorf("order against the modified flow %.3f, want 2 +- 0.15", res.OrderModified)
	}
}

func mustObjective(t *testing.T, p Problem) *landscape.ModelObjective[float64] {
	t.Helper()
	o, err := landscape.NewModelObjective(p.Model, p.Loss, p.Batch)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// On a stiff quadratic (Hessian eigenvalues 1 and 1000) the flow's step
// cap comes from the measured sharpness, keeps the explicit integration
// stable with almost no rejected steps, and the solution is the closed
// form x_i(t) = e^{-lambda_i t} x_i(0).
func TestFlowStiffnessCap(t *testing.T) {
	q, err := landscape.NewQuadratic(mat.NewDense(2, 2, []float64{1, 0, 0, 1}), []float64{1, 1000}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFlow(q, FlowConfig{ODE: ODEOptions{RTol: 1e-6}, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	out := [][]float64{{0, 0}}
	st, err := f.Solve(context.Background(), []float64{1, 1}, []float64{3}, out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", st)
	if math.Abs(st.FirstSharp-1000) > 10 {
		t.Errorf("sharpness estimate %.4g, want 1000 +- 1%%", st.FirstSharp)
	}
	capH := 0.9 * dpStability / 1000
	if st.ODE.MaxStep > capH*1.02 {
		t.Errorf("largest step %.4g above the stiffness cap %.4g", st.ODE.MaxStep, capH)
	}
	if st.ODE.Rejected > 2 {
		t.Errorf("%d rejected steps under the cap, want <= 2", st.ODE.Rejected)
	}
	if e := math.Abs(out[0][0] - math.Exp(-3)); e > 1e-5 {
		t.Errorf("x_0(3) = %.8f, want e^-3 (error %.2g)", out[0][0], e)
	}
}
