package flow

import (
	"context"
	"testing"

	"github.com/gradflow/gradflow/landscape"
)

// The cost of one unit of time on the default study's problem (a 64-16-10
// tanh MLP, 64 digits, cross-entropy): the plain and the modified flow at
// the integrator's default study tolerance against gradient descent at
// eta = 0.05 (20 steps through train.Stepper). Compare ns/op directly;
// evals/op counts gradients plus Hessian-vector products.
func benchStudy(b *testing.B) (Problem, []float64) {
	b.Helper()
	st, err := NewStudy(DefaultStudy())
	if err != nil {
		b.Fatal(err)
	}
	p := st.Problem()
	return p, flatten(p.Model, nil)
}

func benchFlow(b *testing.B, eta float64) {
	p, theta0 := benchStudy(b)
	obj, err := landscape.NewModelObjective(p.Model, p.Loss, p.Batch)
	if err != nil {
		b.Fatal(err)
	}
	f, err := NewFlow(obj, FlowConfig{Eta: eta, ODE: ODEOptions{RTol: 1e-11}})
	if err != nil {
		b.Fatal(err)
	}
	out := [][]float64{make([]float64, len(theta0))}
	b.ReportAllocs()
	var evals int
	for b.Loop() {
		st, err := f.Solve(context.Background(), theta0, []float64{1}, out)
		if err != nil {
			b.Fatal(err)
		}
		evals = st.Grads + st.HVPs
	}
	b.ReportMetric(float64(evals), "evals/op")
}

func BenchmarkFlowUnitTime(b *testing.B)         { benchFlow(b, 0) }
func BenchmarkModifiedFlowUnitTime(b *testing.B) { benchFlow(b, 0.05) }

func BenchmarkGDUnitTime(b *testing.B) {
	p, theta0 := benchStudy(b)
	b.ReportAllocs()
	for b.Loop() {
		setParams(p.Model, theta0)
		if err := descend(context.Background(), p, 0.05, 0, 20); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(20, "evals/op")
}
