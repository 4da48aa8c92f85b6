package meanfield

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// Particles is a cloud of points, one per neuron: the particle view of a
// two-layer network, theta_i = (a_i, w_i, b_i) in R^(k+d+1) (without b_i
// when the network has no bias), whose empirical measure
// mu_m = (1/m) sum_i delta_{theta_i} is what mean-field theory follows.
type Particles struct {
	// Names names the coordinates: "a0".."a{k-1}", "w0".."w{d-1}", "b".
	Names []string `json:"names"`
	// Points holds one row of len(Names) coordinates per particle.
	Points [][]float64 `json:"points"`
}

// Len returns the number of particles.
func (p Particles) Len() int { return len(p.Points) }

// Column returns coordinate j of every particle (a one-dimensional marginal).
func (p Particles) Column(j int) []float64 {
	out := make([]float64, len(p.Points))
	for i, q := range p.Points {
		out[i] = q[j]
	}
	return out
}

// Particles returns a copy of the network's neurons as a point cloud.
func (n *Net) Particles() Particles {
	d, m, k := n.Config.InputDim, n.Config.Width, n.Config.Outputs
	p := Particles{Names: n.particleNames()}
	a, w := n.Readout.Weight.Value.Data(), n.Hidden.Weight.Value.Data()
	var b []float64
	if n.Hidden.Bias != nil {
		b = n.Hidden.Bias.Value.Data()
	}
	flat := make([]float64, m*len(p.Names))
	p.Points = make([][]float64, m)
	for i := range p.Points {
		row := flat[i*len(p.Names) : (i+1)*len(p.Names) : (i+1)*len(p.Names)]
		for o := 0; o < k; o++ {
			row[o] = a[o*m+i]
		}
		copy(row[k:k+d], w[i*d:(i+1)*d])
		if b != nil {
			row[k+d] = b[i]
		}
		p.Points[i] = row
	}
	return p
}

func (n *Net) particleNames() []string {
	var names []string
	for o := 0; o < n.Config.Outputs; o++ {
		names = append(names, "a"+strconv.Itoa(o))
	}
	for j := 0; j < n.Config.InputDim; j++ {
		names = append(names, "w"+strconv.Itoa(j))
	}
	if n.Hidden.Bias != nil {
		names = append(names, "b")
	}
	return names
}

// SetParticles overwrites the network's neurons with p, which must have the
// network's width and coordinate names (as written by Particles). It is the
// import half of the particle view: a cloud saved from one run (or moved by
// hand) becomes a network again.
func (n *Net) SetParticles(p Particles) error {
	names := n.particleNames()
	if len(p.Names) != len(names) {
		return fmt.Errorf("meanfield: particles have %d coordinates %v, the network %d %v", len(p.Names), p.Names, len(names), names)
	}
	for j := range names {
		if p.Names[j] != names[j] {
			return fmt.Errorf("meanfield: particle coordinate %d is %q, the network's is %q", j, p.Names[j], names[j])
		}
	}
	if len(p.Points) != n.Config.Width {
		return fmt.Errorf("meanfield: %d particles for a network of width %d", len(p.Points), n.Config.Width)
	}
	for i, row := range p.Points {
		if len(row) != len(names) {
			return fmt.Errorf("meanfield: particle %d has %d coordinates, want %d", i, len(row), len(names))
		}
	}
	d, m, k := n.Config.InputDim, n.Config.Width, n.Config.Outputs
	a, w := n.Readout.Weight.Value.Data(), n.Hidden.Weight.Value.Data()
	for i, row := range p.Points {
		for o := 0; o < k; o++ {
			a[o*m+i] = row[o]
		}
		copy(w[i*d:(i+1)*d], row[k:k+d])
		if n.Hidden.Bias != nil {
			n.Hidden.Bias.Value.Data()[i] = row[k+d]
		}
	}
	return nil
}

// Displacement returns ||theta_i(t) - theta_i(0)||_2 for every particle,
// p0 and pt being the same network's clouds at two times.
func Displacement(p0, pt Particles) ([]float64, error) {
	if len(p0.Points) != len(pt.Points) || len(p0.Names) != len(pt.Names) {
		return nil, fmt.Errorf("meanfield: displacement between clouds of %d x %d and %d x %d", len(p0.Points), len(p0.Names), len(pt.Points), len(pt.Names))
	}
	out := make([]float64, len(p0.Points))
	for i := range p0.Points {
		if len(p0.Points[i]) != len(pt.Points[i]) {
			return nil, fmt.Errorf("meanfield: particle %d has %d and %d coordinates", i, len(p0.Points[i]), len(pt.Points[i]))
		}
		var s float64
		for j, v := range p0.Points[i] {
			dv := pt.Points[i][j] - v
			s += dv * dv
		}
		out[i] = math.Sqrt(s)
	}
	return out, nil
}

// MeanDisplacement returns (1/m) sum_i ||theta_i(t) - theta_i(0)||: Theta(1)
// in mean field, Theta(m^-1/2) in the NTK regime.
func MeanDisplacement(p0, pt Particles) (float64, error) {
	d, err := Displacement(p0, pt)
	if err != nil {
		return 0, err
	}
	var s float64
	for _, v := range d {
		s += v
	}
	return s / float64(len(d)), nil
}

// WriteCSV writes the cloud as CSV: a header of coordinate names, then one
// line per particle, numbers in the shortest form that reads back exactly.
func (p Particles) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(p.Names); err != nil {
		return err
	}
	rec := make([]string, len(p.Names))
	for i, row := range p.Points {
		if len(row) != len(p.Names) {
			return fmt.Errorf("meanfield: particle %d has %d coordinates, header %d", i, len(row), len(p.Names))
		}
		for j, v := range row {
			rec[j] = strconv.FormatFloat(v, 'g', -1, 64)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ReadParticlesCSV reads a cloud written by WriteCSV. Errors name the line
// and column at fault.
func ReadParticlesCSV(r io.Reader) (Particles, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err == io.EOF {
		return Particles{}, errors.New("meanfield: particle CSV is empty (no header line)")
	}
	if err != nil {
		return Particles{}, fmt.Errorf("meanfield: particle CSV: %w", err)
	}
	p := Particles{Names: header}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Particles{}, fmt.Errorf("meanfield: particle CSV: %w", err)
		}
		line, _ := cr.FieldPos(0)
		row := make([]float64, len(rec))
		for j, f := range rec {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return Particles{}, fmt.Errorf("meanfield: particle CSV line %d column %d (%s): %q is not a finite number", line, j+1, header[j], f)
			}
			row[j] = v
		}
		p.Points = append(p.Points, row)
	}
	return p, nil
}
