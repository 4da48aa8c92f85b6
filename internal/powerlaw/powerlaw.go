package powerlaw

import "math"

// Slope is the least-squares slope of log y against log x over the points
// where x and y are positive and finite: the exponent b of y ~ x^b. Points
// a logarithm cannot take (zero, negative, infinite or NaN values) are
// skipped rather than poisoning the fit, because a width sweep often has a
// width where a quantity was not measured. It returns NaN with fewer than
// two such points.
func Slope(x, y []float64) float64 {
	var lx, ly []float64
	for i := range x {
		if x[i] > 0 && y[i] > 0 && !math.IsInf(x[i], 0) && !math.IsInf(y[i], 0) {
			lx = append(lx, math.Log(x[i]))
			ly = append(ly, math.Log(y[i]))
		}
	}
	if len(lx) < 2 {
		return math.NaN()
	}
	var mx, my float64
	for i := range lx {
		mx += lx[i]
		my += ly[i]
	}
	mx /= float64(len(lx))
	my /= float64(len(lx))
	var sxy, sxx float64
	for i := range lx {
		sxy += (lx[i] - mx) * (ly[i] - my)
		sxx += (lx[i] - mx) * (lx[i] - mx)
	}
	return sxy / sxx
}
