// Package stability measures algorithmic stability, the property that
// links how a training algorithm runs to how well its output generalizes,
// and puts the measurements beside the bounds they are compared with.
//
// # Coupled runs
//
// A learning algorithm A is uniformly stable with constant eps if
// replacing one example of the training set changes the loss of its
// output at any point by at most eps (Bousquet and Elisseeff 2002,
// "Stability and generalization", JMLR); the expected generalization gap
// is then at most eps. Coupled measures it the way the proofs reason:
// two runs of the same algorithm on S and on S^(i) (row i replaced by a
// fresh example z'_i) from the same initialization and with the same
// sequence of sampled row indices (both loaders draw from the same seed;
// only the content of row i differs), stepping in lockstep through
// train.Stepper, so that any optimizer, model and loss can be measured.
// Along the run it records delta_t = |theta_t - theta'_t|, the mean loss
// difference |l(theta_t; z) - l(theta'_t; z)| over a probe set and the
// test-train gap, averaged over several replaced indices and seeds with
// standard errors. With S = S^(i) the two runs are the same computation
// and delta is exactly 0 (tested, for SGD and Adam and every sampling
// order).
//
// # The convex bound (Hardt, Recht and Singer 2016)
//
// For a loss that is convex, L-Lipschitz and beta-smooth in the
// parameters for every example, SGD that samples one example per step
// uniformly with replacement, with steps eta_t <= 2/beta, satisfies
//
//	E delta_T <= (2 L / n) sum_{t<T} eta_t = 2 L eta T / n   (constant eta)
//
// ("Train faster, generalize better: stability of stochastic gradient
// descent", ICML 2016, Theorem 3.8 and the growth recursion in its proof):
// a gradient step is non-expansive for such losses, so the runs separate
// only at the steps that draw the differing example (probability 1/n), and
// then by at most 2 eta L. Logistic implements the setting on a real
// dataset: a linear model with bias and two logits under softmax
// cross-entropy (two classes of the dataset: even vs odd labels), inputs
// scaled to unit norm. With x~ = (x, 1) the per-example gradient is
// (p - e_y) x~^T, of norm sqrt(2) (1 - p_y) |x~| <= sqrt(2) |x~| = L, and
// the Hessian (diag p - p p^T) kron x~ x~^T has largest eigenvalue
// 2 p_0 p_1 |x~|^2 <= |x~|^2 / 2 = beta, both taken over the data. On the
// 1438 training digits with eta = 0.1 and T = 1000 (L = 2, beta = 1) the
// measured E delta_T is 0.109 of the bound: the bound is the worst case
// of every draw of the differing example pushing the runs apart in the
// same direction, and the loss contracts them between draws.
//
// # The strongly convex / PL bound
//
// For F_S(w) = (1/n) sum_k l(w; z_k) + r(w) mu-strongly convex (for a
// quadratic the strong convexity constant is the PL constant, the
// smallest Hessian eigenvalue) with minimizers w_S and w_S', the first-order
// conditions give grad F_S(w_S') = (grad l(w_S'; z_i) - grad l(w_S'; z'_i))/n,
// and strong convexity mu |w_S - w_S'|^2 <= <grad F_S(w_S') - grad F_S(w_S),
// w_S' - w_S> then yields
//
//	|w_S - w_S'| <= |grad l(w_S'; z_i) - grad l(w_S'; z'_i)| / (mu n) <= 2 G / (mu n),
//
// with G the larger per-example gradient norm of the two differing examples
// at w_S' (the argument of Bousquet and Elisseeff 2002, Theorem 22, for
// regularized losses; Charles and Papailiopoulos 2018, "Stability and
// generalization of learning algorithms that converge to global optima",
// ICML, extend bounds of this 1/(mu n) form to losses that satisfy PL and
// quadratic growth without convexity). Ridge measures it on ridge
// regression with Gaussian inputs, trained to convergence by gradient
// descent through the training step, with mu computed from the data (the
// smallest eigenvalue of X^T X/n + lambda): the bound holds for every pair
// and delta falls like 1/n (slope -1.02 over n = 100..1600).
//
// # Generalization
//
// Replace-one stability is the generalization gap in expectation:
// E[R(A(S)) - R_S(A(S))] = E[l(A(S^(i)); z_i) - l(A(S); z_i)] for a
// symmetric algorithm (Bousquet and Elisseeff 2002, Lemma 7; Shalev-Shwartz
// et al. 2010). Ridge reports both sides: the measured gap, with the
// population risk in closed form (|w - w*|^2 + noise^2)/2 and a control
// variate removing the training loss' own fluctuation, and its stability
// estimate; they agree within their standard errors at every n and both
// fall like 1/n (-1.02).
//
// The geometry of the loss along a run (PL ratios, Lojasiewicz exponents,
// sharpness) is put side by side with the generalization gap across the
// runs of a sweep by package sweep's correlation analysis.
package stability
