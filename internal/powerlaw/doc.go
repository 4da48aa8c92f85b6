// Package powerlaw fits the exponent b of a power law y ~ x^b by least
// squares on log-log axes:
//
//	b = sum_i (u_i - mean u)(v_i - mean v) / sum_i (u_i - mean u)^2,   u_i = log x_i, v_i = log y_i,
//
// over the points where both logarithms exist. It is the one slope fit
// behind every width exponent gradflow reports (package sweep's tables and
// fits, package meanfield's regime study), so that two reports of the same
// data agree to the last bit. TInterval is the 95% Student-t interval of
// exponents fitted once per seed, and SortedQuantile the interpolated
// quantile that ends every percentile bootstrap interval.
package powerlaw
