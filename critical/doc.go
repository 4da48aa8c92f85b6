// Package critical measures the critical batch size of SGD two ways and
// compares them (McCandlish, Kaplan, Amodei et al., "An empirical model of
// large-batch training", 2018).
//
// # The noise scale
//
// For a loss L = (1/n) sum_i l_i with per-example gradients g_i, mean
// gradient G, Hessian H and per-example covariance Sigma = (1/n) sum_i
// (g_i - G)(g_i - G)^T, a minibatch gradient of B examples has covariance
// Sigma/B, and on a quadratic model one SGD step of rate eta changes the
// expected loss by -eta |G|^2 + eta^2/2 (G^T H G + tr(H Sigma)/B). The best
// rate gives the improvement dL_max / (1 + B_noise/B), with
//
//	B_noise  = tr(H Sigma) / (G^T H G),   B_simple = tr(Sigma) / |G|^2
//
// (B_simple is B_noise with H replaced by a multiple of the identity).
// MeasureNoise computes tr(H Sigma) = (1/n) sum_i (g_i - G)^T H (g_i - G)
// exactly, one Hessian-vector product (double backward) per deviation from
// the per-example gradients of landscape.ModelObjective, or with H formed
// by P products when the model has P < n parameters; optionally over a
// uniform sample of the deviations (unbiased, with its standard error).
// It is not a Hutchinson estimate.
//
// # The trade-off
//
// If every step improves the loss by dL_max/(1 + B_noise/B), the steps S
// and examples E = B S to a target satisfy S = S_min (1 + B_noise/B) and E
// = E_min (1 + B/B_noise), that is
//
//	(S/S_min - 1)(E/E_min - 1) = 1,   B_crit = E_min / S_min  (= B_noise)
//
// RunTradeoff measures S(B) for a grid of batch sizes, each at the best
// rate of a geometric grid (fewest steps for the loss averaged over the
// seeds to reach the target), and FitHyperbola fits S = S_min + E_min/B by
// least squares in relative residuals (linear in S_min and E_min). Biases
// to know: B_noise changes along a run while the hyperbola assumes it
// constant, so B_crit is an average over the path to the target (a far
// target on an ill-conditioned problem gives B_crit below B_noise at the
// start); fixed rates on a grid are not the per-step optimal rate; and a
// single noisy loss curve crosses a level earlier than its expectation,
// which is why the target is read on the mean over seeds.
//
// # Linear regression: the closed form
//
// For per-example loss c (x.w - y)^2 with x ~ N(0, S), S = diag(lambda),
// y = x.w* + eps, eps ~ N(0, s^2), at w = w* + delta: the gradient is g =
// 2c x (x.delta - eps), so G = 2c S delta and H = 2c S. Isserlis' theorem
// for the fourth moments of a Gaussian gives E[x x^T (x.delta)^2] =
// (delta^T S delta) S + 2 S delta delta^T S, hence with a = delta^T S
// delta + s^2
//
//	Sigma    = (2c)^2 (a S + S delta delta^T S)
//	B_noise  = 1 + a tr(S^2) / (delta^T S^3 delta)
//	B_simple = 1 + a tr(S)   / (delta^T S^2 delta)
//
// (LinearNoiseExact). The default study (DefaultStudy("linear")) puts the
// same share of the loss in every direction (lambda_j delta_j^2 = 1), so
// B_noise = B_simple = d + 1 + s^2 at the start, trains on fresh samples
// (the population the closed form describes) and measures B_noise on
// 65536 of them (within 2% of the closed form for seeds 1-6); its fitted
// B_crit, for the target 25% of the way from the noise floor to the
// initial loss, lies between 0.92 and 1.2 times B_noise over seeds 1-6,
// dimensions 4-16 and kappa 30-300. With the target at 10% instead,
// B_crit falls to about 0.77 B_noise (the path-average bias above; the
// expected-loss recursion of this model gives the same drift).
//
// On the digits MLP (DefaultStudy("digits")) the gradient shrinks along
// the run while its noise does not, so B_noise grows, and B_crit for a
// target of 15% of the initial loss comes out several times B_noise at
// the initialization: the two are reported side by side, not expected to
// agree.
//
// References: S. McCandlish, J. Kaplan, D. Amodei and the OpenAI Dota
// team, "An empirical model of large-batch training", arXiv:1812.06162
// (2018); P. Goyal et al., "Accurate, large minibatch SGD: training
// ImageNet in 1 hour", arXiv:1706.02677 (2017), for the linear scaling
// rule with warmup.
package critical
