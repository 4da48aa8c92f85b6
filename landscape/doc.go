// Package landscape measures the geometry of a training objective along a
// run: the Polyak-Lojasiewicz constant, the Lojasiewicz exponent, the
// sharpness (top Hessian eigenvalues) and smoothness, the Hessian trace,
// and the gradient noise scale. These are the quantities in which the
// convergence theory of gradient methods is stated; the package lets a
// user check them on the run at hand instead of assuming them.
//
// # Objectives
//
// The estimators work on an Objective: f(x), grad f(x) and Hessian-vector
// products H(x) v on flat float64 vectors. Quadratic, LeastSquares and
// Separable (Quartic: sum x_i^4) are closed-form objectives with known
// spectra and constants. ModelObjective is the loss of an nn.Module under a
// train.Loss on a fixed batch (the full training set or a fixed subset),
// with the gradient by one backward pass and H v by double backward
// (autograd's Tape.HVP; Pearlmutter 1994), so the Hessian is never formed;
// its PerExampleGrads gives the rows g_i of the per-example gradients
// (nn.PerExampleGrads for MLPs).
//
// # PL and PL*
//
// f satisfies the Polyak-Lojasiewicz inequality with constant mu if
//
//	0.5 |grad f(x)|^2 >= mu (f(x) - f*)
//
// (Polyak 1963); with L-smoothness, GD with step 1/L then converges
// linearly, f_k - f* <= (1 - mu/L)^k (f_0 - f*), without convexity (Karimi,
// Nutini and Schmidt 2016). PLRatio is |grad f|^2 / (2 (f - f*)) at one
// point; along a run (Trajectory) its minimum over a window (WindowMin,
// EmpiricalPL) is the empirical mu. For 0.5 |Ax - b|^2 with a wide A, f* =
// 0 and mu = lambda_min^+(A^T A) = lambda_min(A A^T). For a square loss L =
// (s/2)|F(w) - y|^2 of a model with Jacobian J, |grad L|^2 >= 2 s
// lambda_min(J J^T) L: the PL* condition of Liu, Zhu and Belkin (2022) with
// mu = s lambda_min(K), K = J J^T the empirical NTK Gram matrix (PLStar,
// PLStarMLP; s = 2/(n k) for nn.MSE, 1/(n k) for nn.HalfMSE, see
// MSEScale).
//
// # Lojasiewicz exponent
//
// The Lojasiewicz gradient inequality |grad f(x)| >= c |f(x) - f*|^theta
// near a critical point (Lojasiewicz 1963) holds for analytic f with some
// theta in [1/2, 1); theta = 1/2 is PL, and larger theta means flatter
// minima and sublinear rates (for f = x^4, theta = 3/4). FitLojasiewicz
// fits theta to a trajectory as the linear quantile regression (a lower
// envelope) of log |grad f| on log(f - f*), with a percentile bootstrap
// interval from a seeded generator.
//
// # Sharpness and smoothness
//
// The sharpness is lambda_max of the Hessian (Keskar et al. 2017 relate
// sharp minima to worse generalization; Cohen et al. 2021 to the step
// size). PowerIteration finds the eigenvalue of largest magnitude;
// Lanczos (Lanczos 1950; Golub and Van Loan, Matrix Computations, ch. 10)
// with full reorthogonalization finds the top K and the bottom of the
// spectrum in far fewer products, with residual bounds beta_m |s_{m,i}|.
// EigenResult.Smoothness is the largest |eigenvalue|, the local smoothness
// L. Full-batch GD with step eta is unstable along curvature above 2/eta;
// Cohen, Kaur, Li, Kolter and Talwalkar (2021) found that on neural
// networks the sharpness rises during training (progressive sharpening)
// until it reaches 2/eta and then hovers there (the edge of stability).
// StabilityRatio = lambda_max eta / 2 is the sharpness in those units;
// the test TestEdgeOfStability documents a setup that shows it. The
// comparison is for plain GD with LRScale 1 (for other optimizers the
// relevant matrix is the preconditioned Hessian).
//
// # Hessian trace
//
// HutchinsonTrace estimates tr H by the mean of z^T H z over Rademacher
// probes z (Hutchinson 1989), whose variance per probe is 2 sum_{i != j}
// H_ij^2, and reports the standard error s/sqrt(m).
//
// # Gradient noise
//
// With per-example gradients g_i, mean G and sample covariance Sigma,
// GradientNoise gives tr(Sigma) and the simple noise scale
//
//	B_simple = tr(Sigma) / |G|^2
//
// of McCandlish, Kaplan, Amodei et al. (2018), their estimate of the
// critical batch size. The expected squared error of a minibatch gradient
// of size B is tr(Sigma)/B for i.i.d. sampling; drawing from N examples
// without replacement multiplies the population version by the finite
// population correction (N - B)/(N - 1) (NoiseStats.MinibatchVariance
// gives both exactly; MeasureMinibatchVariance checks them by Monte
// Carlo).
//
// # Probes
//
// Probe is a train.Callback that takes these measurements every Every
// steps on a fixed subset of the training data and writes each as one JSON
// line (Measurement) to an io.Writer. The cost is bounded by the subset
// size, the Lanczos iterations (warm-started from the previous top
// eigenvector, so a few products per measurement once the run is smooth),
// the number of Hutchinson probes, and Every. All randomness comes from
// ProbeConfig.Seed: the same seed gives the same output bytes.
//
// # Studies
//
// A Study is a whole run with a probe attached, the analysis behind the
// "train landscape" command as a library call. NewStudy takes the model,
// loss, optimizer and data (StudyConfig) and builds a train.Trainer with
// the probe as its first callback; Run measures once before the first
// step (where progressive sharpening starts from), trains, and returns a
// StudyResult: the sharpness against 2/eta (the first crossing, the first
// measurement back below and the band of the stability ratio from then
// on: the edge of stability), the Hessian trace and the noise scale at the
// start and the end, the empirical PL constant, the Lojasiewicz exponent
// fitted to the whole run (FitLojasiewicz with a 95% interval), the PL*
// constant at the start and the end on a few examples, and the loss and
// accuracy on the training and held-out sets. A run that diverges or is
// cancelled still returns what was measured, with the error. The result
// marshals to the command's landscape.json; WriteText writes its report
// and WriteFigures its figures (sharpness with the dashed threshold 2/eta,
// trace with error bars, noise scale on a log axis).
package landscape
