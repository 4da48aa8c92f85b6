package flow

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/gradflow/gradflow/internal/figure"
)

// studyLine is a row of the JSON lines of a study.
type studyLine struct {
	Kind string `json:"kind"`
	CompareRow
}

// studySummary is the last JSON line of a study.
type studySummary struct {
	Kind          string      `json:"kind"`
	OrderFlow     *float64    `json:"order_flow"`
	OrderModified *float64    `json:"order_modified"`
	LocalFlow     []*float64  `json:"local_orders_flow"`
	LocalModified []*float64  `json:"local_orders_modified"`
	Params        int         `json:"params"`
	Dims          []int       `json:"dims"`
	Loss0         float64     `json:"loss0"`
	LossFlow      float64     `json:"loss_flow"`
	FlowStats     FlowStats   `json:"flow_stats"`
	FlowPerTime   float64     `json:"flow_evals_per_time"`
	GDPerTime     float64     `json:"gd_grads_per_time"`
	Config        StudyConfig `json:"config"`
}

// LocalOrders returns the slopes of log distance against log eta between
// consecutive step sizes (ascending), for the plain and the modified flow:
// constant when the asymptotic regime is reached.
func (r *CompareResult) LocalOrders() (flow, modified []float64) {
	for i := 1; i < len(r.Rows); i++ {
		a, b := r.Rows[i-1], r.Rows[i]
		le := math.Log(b.Eta / a.Eta)
		flow = append(flow, math.Log(b.DistFlow/a.DistFlow)/le)
		modified = append(modified, math.Log(b.DistModified/a.DistModified)/le)
	}
	return flow, modified
}

func nullables(v []float64) []*float64 {
	out := make([]*float64, len(v))
	for i, x := range v {
		out[i] = nullable(x)
	}
	return out
}

// WriteJSONL writes one {"kind":"row"} object per step size and then the
// {"kind":"summary"} object with the fitted orders ("order_flow",
// "order_modified"; null when they cannot be fitted): what
// "train flow -json" prints.
func (r *StudyResult) WriteJSONL(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, row := range r.Rows {
		if err := enc.Encode(studyLine{Kind: "row", CompareRow: row}); err != nil {
			return err
		}
	}
	lf, lm := r.LocalOrders()
	return enc.Encode(studySummary{Kind: "summary", OrderFlow: nullable(r.OrderFlow), OrderModified: nullable(r.OrderModified),
		LocalFlow: nullables(lf), LocalModified: nullables(lm), Params: r.Params, Dims: r.Dims, Loss0: r.Loss0,
		LossFlow: r.LossFlow, FlowStats: r.Flow, FlowPerTime: r.FlowPerTime, GDPerTime: r.GDPerTime, Config: r.Config})
}

// WriteTable writes the study as a table for a terminal.
func (r *StudyResult) WriteTable(w io.Writer) error {
	method := "gradient descent"
	if r.Config.Momentum > 0 {
		method = fmt.Sprintf("heavy ball (momentum %g)", r.Config.Momentum)
	}
	fmt.Fprintf(w, "%s vs gradient flow at time T = %g (loss %.5g -> flow %.5g)\n", method, r.Config.T, r.Loss0, r.LossFlow)
	fmt.Fprintf(w, "%8s %6s %12s %12s %14s %14s\n", "eta", "steps", "loss_gd", "loss_mod", "|gd - flow|", "|gd - mod|")
	for _, row := range r.Rows {
		fmt.Fprintf(w, "%8.4g %6d %12.6g %12.6g %14.4e %14.4e\n", row.Eta, row.Steps, row.LossGD, row.LossModified, row.DistFlow, row.DistModified)
	}
	lf, lm := r.LocalOrders()
	fmt.Fprintf(w, "order in eta: flow %.3f (theory 1, local %s), modified flow %.3f (theory 2, local %s)\n",
		r.OrderFlow, fmtList(lf), r.OrderModified, fmtList(lm))
	_, err := fmt.Fprintf(w, "cost per unit time: flow %.0f gradient+HVP evaluations (%d steps, %d rejected, sharpness %.3g), GD at eta %g: %.0f gradients\n",
		r.FlowPerTime, r.Flow.ODE.Accepted, r.Flow.ODE.Rejected, r.Flow.Sharpness, r.Rows[0].Eta, r.GDPerTime)
	return err
}

func fmtList(v []float64) string {
	s := ""
	for i, x := range v {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%.2f", x)
	}
	return s
}

// WriteFigures writes distance.png and .svg into dir: the distances of the
// discrete iterates to the plain and the modified flow at time T against
// eta on log-log axes, with the fitted orders in the legend and dashed
// reference lines of slope 1 and 2.
func (r *StudyResult) WriteFigures(dir string) error {
	p := figure.Plot{Title: fmt.Sprintf("discrete iterates vs flows at T = %g", r.Config.T), XLabel: "step size eta",
		YLabel: "|theta_k - theta(k eta)|", LogX: true, LogY: true, Markers: true}
	flow := figure.Series{Name: fmt.Sprintf("gradient flow (order %.2f)", r.OrderFlow)}
	mod := figure.Series{Name: fmt.Sprintf("modified flow (order %.2f)", r.OrderModified)}
	for _, row := range r.Rows {
		flow.X, flow.Y = append(flow.X, row.Eta), append(flow.Y, row.DistFlow)
		mod.X, mod.Y = append(mod.X, row.Eta), append(mod.Y, row.DistModified)
	}
	p.Series = []figure.Series{flow, mod}
	if n := len(r.Rows); n > 0 {
		// Reference slopes through the largest step's points.
		last := r.Rows[n-1]
		for _, ref := range []struct {
			order float64
			at    float64
		}{{1, last.DistFlow}, {2, last.DistModified}} {
			s := figure.Series{Name: fmt.Sprintf("slope %g", ref.order), Dashed: true}
			for _, row := range r.Rows {
				s.X = append(s.X, row.Eta)
				s.Y = append(s.Y, ref.at*math.Pow(row.Eta/last.Eta, ref.order))
			}
			p.Series = append(p.Series, s)
		}
	}
	if err := p.Save(dir, "distance"); err != nil && !errors.Is(err, figure.ErrEmpty) {
		return err
	}
	return nil
}
