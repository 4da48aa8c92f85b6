package flow

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// The claim on real data: a tanh MLP on 64 digits, full-batch GD
// at four step sizes for T = 2; |theta_GD - theta_flow| falls like eta
// (slope 1 +- 0.1) and the distance to the modified flow like eta^2
// (2 +- 0.15). Measured: 0.990 and 1.962 (local slopes 0.99 0.99 0.99 and
// 1.99 1.97 1.93; the last pair, eta 0.2 -> 0.4, feels the O(eta^3) term).
func TestStudyDigitsOrders(t *testing.T) {
	st, err := NewStudy(DefaultStudy())
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) < 4 {
		t.Fatalf("%d step sizes, want >= 4", len(res.Rows))
	}
	for _, r := range res.Rows {
		t.Logf("eta %.3f: |GD - flow| %.4e, |GD - modified| %.4e, loss %.6f", r.Eta, r.DistFlow, r.DistModified, r.LossGD)
		// The integrator's error must be far below what is measured.
		if r.Modified.ODE.ErrorBound > 1e-3*r.DistModified {
			t.Errorf("eta %g: integrator error bound %.2g is not negligible against the distance %.2g", r.Eta, r.Modified.ODE.ErrorBound, r.DistModified)
		}
	}
	t.Logf("orders: flow %.3f, modified %.3f; flow: %d steps, %d grads, %d HVPs", res.OrderFlow, res.OrderModified, res.Flow.ODE.Accepted, res.Flow.Grads, res.Flow.HVPs)
	if math.Abs(res.OrderFlow-1) > 0.1 {
		t.Errorf("order against the gradient flow %.3f, want 1 +- 0.1", res.OrderFlow)
	}
	if math.Abs(res.OrderModified-2) > 0.15 {
		t.Errorf("order against the modified flow %.3f, want 2 +- 0.15", res.OrderModified)
	}
	if !(res.LossFlow < res.Loss0) {
		t.Errorf("flow loss %.4f did not fall below the initial %.4f", res.LossFlow, res.Loss0)
	}
	// The JSON lines: rows, then the summary with the fitted orders.
	var buf bytes.Buffer
	if err := res.WriteJSONL(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var sum map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatal(err)
	}
	if sum["kind"] != "summary" || sum["order_flow"] != res.OrderFlow || sum["order_modified"] != res.OrderModified {
		t.Errorf("summary line %s", lines[len(lines)-1])
	}
}

func TestStudyConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  StudyConfig
		want string
	}{
		{StudyConfig{CompareConfig: CompareConfig{Etas: []float64{0.3}, T: 1}}, "whole number"},
		{StudyConfig{CompareConfig: CompareConfig{Etas: []float64{-0.1}, T: 1}}, "positive"},
		{StudyConfig{CompareConfig: CompareConfig{Momentum: 1}}, "Momentum"},
		{StudyConfig{N: 100000}, "N = 100000"},
		{StudyConfig{Data: "nope"}, "nope"},
		{StudyConfig{Arch: "64-16-3"}, "64-16-3"},
	} {
		_, err := NewStudy(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one mentioning %q", c.cfg, err, c.want)
		}
	}
}
