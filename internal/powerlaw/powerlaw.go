package powerlaw

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

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

// TInterval returns the mean of x and its 95% Student-t confidence
// interval, mean -+ t_{0.975, n-1} s/sqrt(n): the interval of an exponent
// fitted once per seed, the seeds being independent repetitions. The
// bounds are NaN with fewer than two values.
func TInterval(x []float64) (mean, lo, hi float64) {
	for _, v := range x {
		mean += v
	}
	n := float64(len(x))
	mean /= n
	if len(x) < 2 {
		return mean, math.NaN(), math.NaN()
	}
	var ss float64
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	se := math.Sqrt(ss / (n - 1) / n)
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: n - 1}.Quantile(0.975)
	return mean, mean - t*se, mean + t*se
}

// SortedQuantile returns the p-quantile of the sorted values s,
// interpolated linearly between the order statistics around position p
// (len(s) - 1) (Hyndman and Fan's type 7, R's default): the ends of the
// percentile bootstrap intervals gradflow reports (the Lojasiewicz
// exponent of package landscape, the rank correlations of package sweep).
// s must not be empty.
func SortedQuantile(s []float64, p float64) float64 {
	h := p * float64(len(s)-1)
	i := int(math.Floor(h))
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[i] + (h-float64(i))*(s[i+1]-s[i])
}
