package critical

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gradflow/gradflow/landscape"
	"github.com/gradflow/gradflow/tensor"
)

// NoiseScale is the gradient noise of a loss L = (1/n) sum_i l_i at one
// point: the statistics behind McCandlish et al.'s two noise scales.
type NoiseScale struct {
	// N is the number of examples, Dim the number of parameters.
	N   int `json:"n"`
	Dim int `json:"dim"`
	// HVPs is the number of Hessian-vector products spent on tr(H Sigma):
	// N when it is exact for the N examples, fewer when sampled.
	HVPs int `json:"hvps"`
	// GradNormSq is |G|^2 and GHG is G^T H G, for the mean gradient G
	// and the Hessian H of L over the N examples.
	GradNormSq float64 `json:"grad_norm_sq"`
	GHG        float64 `json:"g_h_g"`
	// TraceSigma is tr(Sigma) and TraceHSigma tr(H Sigma), Sigma =
	// (1/N) sum_i (g_i - G)(g_i - G)^T the covariance of the N
	// per-example gradients; TraceHSigmaSE is the standard error of
	// TraceHSigma when it is sampled (0 when exact).
	TraceSigma    float64 `json:"trace_sigma"`
	TraceHSigma   float64 `json:"trace_h_sigma"`
	TraceHSigmaSE float64 `json:"trace_h_sigma_se"`
	// BNoise = tr(H Sigma) / (G^T H G) and BSimple = tr(Sigma) / |G|^2.
	BNoise  float64 `json:"b_noise"`
	BSimple float64 `json:"b_simple"`
}

// NoiseConfig sets how MeasureNoise spends its Hessian-vector products.
type NoiseConfig struct {
	// HVPs is the number of per-example deviations g_i - G whose
	// quadratic form with H is evaluated: 0 or >= N means all N (tr(H
	// Sigma) exact), fewer a uniform sample without replacement (an
	// unbiased estimate with its standard error).
	HVPs int `json:"hvps"`
	// Seed draws the sample when HVPs < N.
	Seed uint64 `json:"seed"`
}

// MeasureNoise measures the noise scales of obj at the point x (obj's
// parameters flattened; obj.Point gives the model's current one):
//
//	tr(H Sigma) = (1/N) sum_i (g_i - G)^T H (g_i - G)
//
// from the per-example gradients g_i (obj.PerExampleGrads) and one
// Hessian-vector product per deviation g_i - G, H the Hessian of the loss
// over obj's whole batch. With cfg.HVPs < N the sum runs over a uniform
// sample of the deviations and is scaled up, an unbiased estimate; its
// standard error carries the finite-population correction. G^T H G takes
// one more product. When the sum runs over all N deviations and the
// model has P < N parameters, H is formed by P products with the unit
// vectors instead (same value, fewer products); HVPs reports the count.
func MeasureNoise[T tensor.Float](obj *landscape.ModelObjective[T], x []float64, cfg NoiseConfig) (NoiseScale, error) {
	if obj == nil {
		return NoiseScale{}, errors.New("critical.MeasureNoise: objective is nil")
	}
	p := obj.Dim()
	if len(x) != p {
		return NoiseScale{}, fmt.Errorf("critical.MeasureNoise: point of length %d, want %d", len(x), p)
	}
	if cfg.HVPs < 0 {
		return NoiseScale{}, fmt.Errorf("critical.MeasureNoise: HVPs = %d, want >= 0", cfg.HVPs)
	}
	g := obj.PerExampleGrads(x)
	n, _ := g.Dims()
	if n < 2 {
		return NoiseScale{}, fmt.Errorf("critical.MeasureNoise: %d examples, want >= 2", n)
	}
	mean := make([]float64, p)
	for i := range n {
		for j, v := range g.RawRowView(i) {
			mean[j] += v / float64(n)
		}
	}
	s := NoiseScale{N: n, Dim: p}
	hv := make([]float64, p)
	obj.HVP(x, mean, hv)
	s.GradNormSq, s.GHG = dot(mean, mean), dot(mean, hv)
	dev := make([]float64, p)
	for i := range n {
		for j, v := range g.RawRowView(i) {
			d := v - mean[j]
			s.TraceSigma += d * d / float64(n)
		}
	}
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	m := n
	if cfg.HVPs > 0 && cfg.HVPs < n {
		m = cfg.HVPs
		rng := rand.New(rand.NewPCG(cfg.Seed, 0xc0ffee))
		for k := range m {
			r := k + rng.IntN(n-k)
			rows[k], rows[r] = rows[r], rows[k]
		}
	}
	// With fewer parameters than examples, P products with the unit
	// vectors give H itself, and the N quadratic forms are then cheap.
	var h [][]float64
	if m == n && p < n {
		h = make([][]float64, p)
		e := make([]float64, p)
		for k := range h {
			e[k] = 1
			h[k] = make([]float64, p)
			obj.HVP(x, e, h[k])
			e[k] = 0
		}
	}
	var q, q2 float64
	for _, i := range rows[:m] {
		for j, v := range g.RawRowView(i) {
			dev[j] = v - mean[j]
		}
		if h != nil {
			for k, col := range h {
				hv[k] = dot(col, dev) // H is symmetric: row k = column k
			}
		} else {
			obj.HVP(x, dev, hv)
		}
		v := dot(dev, hv)
		q += v
		q2 += v * v
	}
	s.HVPs = m
	if h != nil {
		s.HVPs = p
	}
	s.TraceHSigma = q / float64(m)
	if m < n && m > 1 {
		mu := q / float64(m)
		sv := (q2 - float64(m)*mu*mu) / float64(m-1)
		s.TraceHSigmaSE = math.Sqrt(math.Max(sv, 0) / float64(m) * float64(n-m) / float64(n-1))
	}
	s.BNoise = s.TraceHSigma / s.GHG
	s.BSimple = s.TraceSigma / s.GradNormSq
	return s, nil
}

// LinearNoise is the population noise of linear least squares with a
// Gaussian design: per-example loss l = c (x.w - y)^2 for any c > 0, x ~
// N(0, diag(lambda)), y = x.w* + eps, eps ~ N(0, noiseVar), at w = w* +
// delta. With S = diag(lambda), a = delta^T S delta + noiseVar,
//
//	G = 2c S delta,  H = 2c S,
//	Sigma = (2c)^2 (a S + S delta delta^T S)        (Isserlis: E[x x^T (x.delta)^2] = (delta^T S delta) S + 2 S delta delta^T S)
//	B_noise = tr(H Sigma) / (G^T H G) = 1 + a tr(S^2) / (delta^T S^3 delta)
//	B_simple = tr(Sigma) / |G|^2      = 1 + a tr(S) / (delta^T S^2 delta)
//
// (c cancels). Loss is the population loss over c: E(x.delta - eps)^2 = a.
type LinearNoise struct {
	BNoise  float64 `json:"b_noise"`
	BSimple float64 `json:"b_simple"`
	// Loss is a = E(x.w - y)^2, the population mean squared error.
	Loss float64 `json:"mse"`
}

// LinearNoiseExact evaluates LinearNoise; lambda and delta must have the
// same length.
func LinearNoiseExact(lambda, delta []float64, noiseVar float64) LinearNoise {
	if len(lambda) != len(delta) {
		panic(fmt.Sprintf("critical.LinearNoiseExact: %d eigenvalues, %d coordinates of delta", len(lambda), len(delta)))
	}
	var s1, s2, s3, t1, t2 float64
	for j, l := range lambda {
		d2 := delta[j] * delta[j]
		s1 += l * d2
		s2 += l * l * d2
		s3 += l * l * l * d2
		t1 += l
		t2 += l * l
	}
	a := s1 + noiseVar
	return LinearNoise{BNoise: 1 + a*t2/s3, BSimple: 1 + a*t1/s2, Loss: a}
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i, v := range a {
		s += v * b[i]
	}
	return s
}
