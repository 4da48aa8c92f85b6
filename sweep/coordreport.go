package sweep

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"

	"github.com/gradflow/gradflow/nn"
)

// WriteJSONL writes one JSON line per row of r, in the order of r.Rows,
// with the fields of CoordRow. A network that blew up (SP at large widths)
// has infinite or NaN coordinates, which JSON cannot hold: they are written
// as null.
func (r *CoordResult) WriteJSONL(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, row := range r.Rows {
		// The outer Mean and Delta shadow the embedded ones (same JSON
		// names, same position in the output).
		line := struct {
			CoordRow
			Mean  *float64 `json:"mean"`
			Delta *float64 `json:"delta"`
		}{row, nullable(row.Mean), nullable(row.Delta)}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	return nil
}

// Save writes the check into dir (which must exist): coordcheck.jsonl
// (WriteJSONL) and, if figures, coordcheck_<param>.png and .svg
// (WriteFigures).
func (r *CoordResult) Save(dir string, figures bool) error {
	return save(filepath.Join(dir, "coordcheck.jsonl"), r.WriteJSONL, figures, func() error { return r.WriteFigures(dir) })
}

// CoordSlope is the verdict of a coordinate check on one layer: the log-log
// slopes against the width of its mean |h| and of its change from t = 1 at
// the last step. muP promises about 0 for both; SP with SGD gives positive
// slopes that grow with the depth.
type CoordSlope struct {
	Parameterization nn.Parameterization `json:"parameterization"`
	Layer            int                 `json:"layer"` // Depth = output
	// Name is the layer of a net (CoordRow.Name); empty for an MLP.
	Name string `json:"name,omitempty"`
	T    int    `json:"t"` // the last step, Config.Steps
	// Mean and Delta are the slopes of mean |h_l(T)| and mean
	// |h_l(T) - h_l(1)|; nil when fewer than two widths have a positive,
	// finite value.
	Mean  *float64 `json:"mean"`
	Delta *float64 `json:"delta"`
}

// Slopes returns the slope of every parameterization and layer, in the
// order of the table.
func (r *CoordResult) Slopes() []CoordSlope {
	last := r.Config.Steps
	ws := make([]float64, len(r.Config.Widths))
	for i, wd := range r.Config.Widths {
		ws[i] = float64(wd)
	}
	var out []CoordSlope
	for _, p := range r.Config.Parameterizations {
		for l := 0; l <= r.Config.Depth; l++ {
			means := make([]float64, len(ws))
			deltas := make([]float64, len(ws))
			for i, wd := range r.Config.Widths {
				row, _ := r.Value(p, l, last, wd)
				means[i], deltas[i] = row.Mean, row.Delta
			}
			out = append(out, CoordSlope{Parameterization: p, Layer: l, Name: r.name(l), T: last,
				Mean: nullable(LogLogSlope(ws, means)), Delta: nullable(LogLogSlope(ws, deltas))})
		}
	}
	return out
}

// WriteSlopes writes Slopes as a table, a blank line and a title first, to
// follow WriteTable.
func (r *CoordResult) WriteSlopes(w io.Writer) error {
	fmt.Fprintf(w, "\nlog-log slope against the width at t = %d (muP: about 0):\n", r.Config.Steps)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "param\tlayer\tmean |h|\tchange |h(t)-h(1)|")
	for _, s := range r.Slopes() {
		name := r.layerLabel(s.Layer)
		if s.Layer == r.Config.Depth {
			name += " (output)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Parameterization, name, fmtSlope(s.Mean), fmtSlope(s.Delta))
	}
	return tw.Flush()
}

// fmtSlope formats a slope with its sign, or "-" for none.
func fmtSlope(s *float64) string {
	if s == nil {
		return "-"
	}
	return fmt.Sprintf("%+.3f", *s)
}

// name is layer l's CoordRow.Name: empty for an MLP.
func (r *CoordResult) name(l int) string {
	if l < len(r.Layers) {
		return r.Layers[l]
	}
	return ""
}
