package ntk

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/internal/figure"
)

// SaveOptions selects what StudyResult.Save writes besides ntk.json.
type SaveOptions struct {
	// CSV writes the training kernels as kernel.csv and
	// kernel_analytic.csv (WriteKernelCSV).
	CSV bool
	// Figures writes spectrum.png/svg and kernel.png/svg (WriteFigures).
	Figures bool
}

// Save writes the study into dir, creating it: ntk.json (the result as
// indented JSON) and what opts selects. It returns the names written, in
// order, with a figure's two files as one name.png/svg.
func (r *StudyResult) Save(dir string, opts SaveOptions) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "ntk.json"), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	written := []string{"ntk.json"}
	if opts.CSV {
		for _, f := range []struct {
			name string
			k    *mat.SymDense
		}{{"kernel.csv", r.EmpiricalKernel}, {"kernel_analytic.csv", r.AnalyticKernel}} {
			if f.k == nil {
				continue
			}
			if err := writeKernelFile(filepath.Join(dir, f.name), f.k); err != nil {
				return written, err
			}
			written = append(written, f.name)
		}
	}
	if opts.Figures {
		if err := r.WriteFigures(dir); err != nil {
			return written, fmt.Errorf("figures: %w", err)
		}
		written = append(written, "spectrum.png/svg", "kernel.png/svg")
	}
	return written, nil
}

// writeKernelFile writes the kernel k as CSV to path.
func writeKernelFile(path string, k mat.Matrix) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteKernelCSV(f, k); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteSummary writes the study as the text "train ntk" prints: the data
// and model, the spectrum and alignment of each kernel, and the test
// scores of the network, its linearization and kernel regression.
func (r *StudyResult) WriteSummary(w io.Writer) error {
	bw := bufio.NewWriter(w)
	kind := "traced over outputs"
	if r.Full {
		kind = fmt.Sprintf("full, %d x %d", r.KernelDim, r.KernelDim)
	}
	src := ""
	switch r.Model.Source {
	case "":
	case "init":
		src = " at init (seed " + strconv.FormatUint(r.Seed, 10) + ")"
	default:
		src = " from " + r.Model.Source
	}
	dims := make([]string, len(r.Model.Dims))
	for i, d := range r.Model.Dims {
		dims[i] = strconv.Itoa(d)
	}
	fmt.Fprintf(bw, "gradflow ntk: %s, %d train x %d test points, MLP %s %s/%s%s, %d parameters, %s, kernel %s\n",
		r.Data, r.NTrain, r.NTest, strings.Join(dims, "-"), r.Model.Activation, r.Model.Parameterization, src, r.Model.Params, r.DType, kind)
	fmt.Fprintf(bw, "empirical NTK (%.2fs):\n", r.Seconds)
	r.Empirical.writeSpectrum(bw)
	if r.Analytic != nil {
		fmt.Fprintf(bw, "analytic NTK (infinite width, W_std %g, b_std %g):\n", r.Model.WStd, r.Model.BStd)
		r.Analytic.writeSpectrum(bw)
		note := ""
		if src != "" && r.Model.Source != "init" {
			note = " (includes the change of the kernel during training)"
		}
		fmt.Fprintf(bw, "  ||empirical - analytic||_F / ||analytic||_F = %.4f%s\n", *r.RelFrobenius, note)
	} else {
		fmt.Fprintf(bw, "analytic NTK: skipped: %s\n", r.AnalyticSkipped)
	}
	fmt.Fprintf(bw, "test predictions on %d points (diag_reg %g):\n", r.NTest, r.DiagReg)
	r.Network.writeLine(bw, "network itself")
	r.Linearized.writeLine(bw, "linearized network, trained to convergence")
	r.Empirical.Regression.writeLine(bw, "kernel regression, empirical NTK")
	if r.Analytic != nil {
		r.Analytic.Regression.writeLine(bw, "kernel regression, analytic NTK")
	}
	return bw.Flush()
}

// writeSpectrum writes the two summary lines of a kernel.
func (k *StudyKernel) writeSpectrum(w io.Writer) {
	cond := "inf (lambda_min <= 0)"
	if k.Condition != nil {
		cond = fmt.Sprintf("%.3g", *k.Condition)
	}
	fmt.Fprintf(w, "  lambda_max %.4g  lambda_min %.4g  condition %s  mean diagonal %.4g\n", k.LambdaMax, k.LambdaMin, cond, k.MeanDiagonal)
	fmt.Fprintf(w, "  max stable GD learning rate 2N/lambda_max = %.4g   kernel-target alignment %.4f\n", k.MaxLR, k.Alignment)
}

// writeLine writes one test score of the summary.
func (s TestScore) writeLine(w io.Writer, name string) {
	acc := "     -"
	if s.Accuracy != nil {
		acc = fmt.Sprintf("%5.1f%%", 100**s.Accuracy)
	}
	fmt.Fprintf(w, "  %-42s accuracy %s  mse %.4f\n", name, acc, s.MSE)
}

// WriteFigures writes to dir, as PNG and SVG, spectrum: the eigenvalues of
// the training kernels in descending order on a log scale (eigenvalues <=
// 0, rounding, cannot be drawn there), and kernel: the empirical training
// kernel normalized to unit diagonal, Theta_ij / sqrt(Theta_ii Theta_jj),
// as a heatmap. The normalization keeps a few points of large norm
// (standardized features that are rare in the training split) from
// washing out the class structure that the kernel order shows.
func (r *StudyResult) WriteFigures(dir string) error {
	spectrum := figure.Plot{Title: "NTK spectrum on the training points", XLabel: "index", YLabel: "eigenvalue", LogY: true}
	add := func(name string, ev []float64) {
		x := make([]float64, len(ev))
		for i := range x {
			x[i] = float64(i + 1)
		}
		spectrum.Series = append(spectrum.Series, figure.Series{Name: name, X: x, Y: ev})
	}
	add("empirical", r.Empirical.Eigenvalues)
	if r.Analytic != nil {
		add("analytic (infinite width)", r.Analytic.Eigenvalues)
	}
	if err := spectrum.Save(dir, "spectrum"); err != nil {
		return err
	}
	k := r.EmpiricalKernel
	if k == nil {
		return errors.New("ntk: StudyResult has no EmpiricalKernel to draw")
	}
	n := k.SymmetricDim()
	heat := figure.Heatmap{Title: "empirical NTK / sqrt(diag x diag) on the training points", XLabel: "point", Rows: n, Cols: n}
	if r.Classes > 0 {
		heat.Title += ",\nsorted by class"
	}
	if r.Full {
		heat.XLabel = "point x output"
	}
	heat.YLabel = heat.XLabel
	heat.At = func(i, j int) float64 {
		if d := math.Sqrt(k.At(i, i) * k.At(j, j)); d > 0 {
			return k.At(i, j) / d
		}
		return 0
	}
	return heat.Save(dir, "kernel")
}

// WriteKernelCSV writes a kernel matrix (StudyResult.EmpiricalKernel, say)
// as CSV, one row per line, each number in the shortest form that reads
// back as the same float64.
func WriteKernelCSV(w io.Writer, k mat.Matrix) error {
	if err := nonNilMatrix("WriteKernelCSV", "k", k); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	r, c := k.Dims()
	var buf []byte
	for i := 0; i < r; i++ {
		buf = buf[:0]
		for j := 0; j < c; j++ {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = strconv.AppendFloat(buf, k.At(i, j), 'g', -1, 64)
		}
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}
