// Package ntk computes neural tangent kernels and what they predict: the
// empirical NTK of a model, the analytic NNGP kernel and NTK of infinitely
// wide MLPs, the outputs of gradient-descent training on the mean squared
// error in the kernel regime, the linearized model, and the quantities that
// tell whether a run is in that (lazy) regime.
//
// Conventions are those of neural-tangents (Novak et al. 2020): NTK
// parameterization by default, traced kernels, and the loss 0.5*mean.
//
// # Empirical NTK
//
// For a model f(x; theta) with k outputs, the NTK between inputs x and x' is
// Theta(x, x') = J(x) J(x')^T with J = df/dtheta (Jacot et al. 2018), a k x k
// matrix per pair. Empirical returns either neural-tangents' trace (1/k)
// sum_a J_a(x) . J_a(x') (an n1 x n2 matrix) or the full n1 x n2 x k x k
// kernel. Two methods give the same numbers (Novak et al. 2022, "Fast
// finite width neural tangent kernel"):
//
//   - Contraction builds the per-example Jacobian J [n, k, P] with one
//     autograd backward pass per example and output (Jacobian) and
//     multiplies it out with GEMMs. It works for any nn.Module; it costs
//     O(n k) backward passes, O(n^2 k P) flops and O(n k P) memory.
//   - Structured uses the layers of an MLP. A Linear layer
//     z = Alpha h W^T + BiasMult b has dz_i/dW_ij = Alpha h_j, so with g_a = df_a/dz the
//     weight block of J_a(x) J_b(x')^T is Alpha^2 (h . h')(g_a . g'_b) and
//     the bias block BiasMult^2 (g_a . g'_b). Over a batch that is the
//     Hadamard product (Alpha^2 H1 H2^T + BiasMult^2) * (G1 G2^T): two GEMMs
//     per layer, where G stacks the backpropagated gradients of all k
//     outputs (one batched backward pass with n*k rows). Traced, sum_a
//     g_a . g'_a is a single GEMM over rows of length k*width. Memory is
//     O(n (d + k width)) instead of O(n k P).
//
// The forward multipliers of the NTK, mean-field and muP parameterizations
// (nn.Linear's Alpha, BiasMult) are part of the function and so of J. Both
// methods process the inputs in row chunks sized to Options.MemoryBudget;
// the GEMMs run in parallel (internal/simd), the per-example backward
// passes of Contraction run on one goroutine. On a 784-1024-1024-10 ReLU
// MLP (1.86M parameters) the structured traced NTK of 512 images is 20.4
// GFLOP (StructuredFlops counts the products) and takes about 0.45 s of one
// core, while Contraction needs about 17 s for 16 images (see
// BenchmarkEmpiricalMNIST, and `go run ./bench ntk` for GFLOPS and the
// functorch baseline).
//
// # The learning-rate-weighted kernel
//
// Options.ParamWeight weights each parameter tensor's block: Theta =
// sum_p w_p J_p J_p^T. With w_p the learning-rate multiplier s_p of the
// parameter (LRWeights: Param.LRScale, or for an MLP built for Adam the
// SGD multipliers of its parameterization) it is the kernel that drives
// the outputs when SGD updates theta_p with rate eta s_p: to first order
// Delta f = -eta Theta grad_f L (Yang and Hu 2021, Tensor Programs IV,
// where an abc-parameterization's per-layer rates n^-c_l enter the
// function-space kernel the same way). Under SP and NTK scaling all s_p
// are 1. Under mean field and muP the weights' blocks of J J^T are O(1/n)
// and the multipliers (n) bring them to O(1), while an output bias keeps
// its constant block 1 (multiplier 1): in J J^T that constant would
// dominate and its relative drift fall like 1/n whatever the features do.
// LazyProbe and package sweep report the drift of this kernel.
//
// NTKVP multiplies the kernel by a vector without forming it, Theta v =
// J(x1) (J(x2)^T v): a backward pass (VJP) and a forward-mode pass (JVP),
// written layer by layer for MLPs and by the double-backward trick J u =
// d/dw <J^T w, u> for other modules.
//
// # Infinite width
//
// As the widths of an MLP go to infinity in the NTK parameterization, the
// outputs at initialization become a Gaussian process with covariance
// Sigma (the NNGP kernel; Neal 1996, Lee et al. 2018, Matthews et al. 2018)
// and the NTK becomes deterministic and constant during training (Jacot et
// al. 2018). Arch.Kernels evaluates neural-tangents' recursion for
// serial(Dense, act, ..., Dense), with act named by the activation
// vocabulary of the networks (nn.Activation: relu, leaky_relu, erf,
// identity have closed forms, as has Sin; tanh, sigmoid, gelu, silu and
// softplus are integrated numerically, see below), and Arch.Gram the
// same kernels of one input set with itself as symmetric matrices:
//
//	K0(x, x')  = x . x' / d,                     Theta0 = 0
//	Dense:     Sigma = W_std^2 K + b_std^2,       Theta = Sigma + W_std^2 Theta
//	act:       K     = E[phi(u) phi(v)],          Theta = Theta * Kdot,  Kdot = E[phi'(u) phi'(v)]
//
// with (u, v) centred Gaussian with covariance [[Sigma(x,x), Sigma(x,x')],
// [Sigma(x,x'), Sigma(x',x')]]. In the standard parameterization the Dense
// rule for Theta is fanIn K + W_std^2 Theta (+1 with a bias) (Sohl-Dickstein
// et al. 2020), so it grows with the widths. The closed forms, with q1, q2
// the variances, c the covariance and theta = arccos(c / sqrt(q1 q2)):
//
//	ReLU (arc-cosine kernel of degree 1, Cho & Saul 2009):
//	    K = sqrt(q1 q2) (sin theta + (pi - theta) cos theta) / (2 pi),  Kdot = (pi - theta) / (2 pi)
//	a min(x,0) + b max(x,0) (neural-tangents' ABRelu; leaky ReLU: a = nn.LeakySlope, b = 1), with f = (a-b)^2 / (2 pi):
//	    Kdot = (a^2 + b^2)/2 - f theta,  K = f sqrt(q1 q2 - c^2) + Kdot c
//	erf (Williams 1997):
//	    K = (2/pi) arcsin(2c / sqrt((1 + 2 q1)(1 + 2 q2))),  Kdot = (4/pi) / sqrt((1 + 2 q1)(1 + 2 q2) - 4 c^2)
//	identity:  K = c, Kdot = 1
//	sin (E cos w = exp(-Var w / 2) for Gaussian w):
//	    K = exp(-(q1 + q2)/2) sinh(c),  Kdot = exp(-(q1 + q2)/2) cosh(c),  K(x, x) = (1 - exp(-2q))/2
//
// # Any activation by quadrature
//
// Every other activation phi of the vocabulary is integrated numerically,
// with its analytic derivative from tensor.Activation.Eval (neural-
// tangents' stax.ElementwiseNumerical does the same with a fixed
// Gauss-Hermite rule and an autodiff derivative; Lee et al. 2018 used a
// tabulated grid). Conditioning on u,
//
//	v | u ~ N(c u / q1, (q1 q2 - c^2) / q1),   K = E_u[phi(u) E[phi(v) | u]],   Kdot likewise with phi'
//
// so the two-dimensional integral is an iterated one, each level an
// adaptive Gauss-Kronrod (7, 15) quadrature of the normal density over
// 9 standard deviations either side of the mean. A fixed Gauss-Hermite
// rule would converge only algebraically on ReLU's kink and slowly for a
// sigmoidal phi whose variance is large (then phi is nearly a step on the
// scale of the Gaussian); the adaptive panels are split at the kink (v =
// 0 for the inner integral) and, for the outer, at |u| = (1, 3, 9) sd
// q1/|c|, the scale on which E[phi(v) | u] changes when the correlation
// is near +-1. A panel is accepted when QUADPACK's error estimate is below
// 1e-10 of the integral of |f| on it or of its share of the kernel's
// scale sqrt(K(x,x) K(x',x')). On a grid of variances 1e-6..1e4 (each
// side) and correlations -1, -1+1e-6, ..., 1, the quadrature reproduces
// the closed forms of ReLU and leaky ReLU to 6e-16 and of erf to 3e-12,
// relative to sqrt(K(x,x) K(x',x')) (TestQuadratureMatchesClosedForms),
// and sin's to 1e-12. The cost is 1e4 to 5e5 evaluations of phi per
// kernel entry and layer (the largest at large variances), about 10 ms:
// the 50 x 50 Gram kernel of a 2-hidden-layer tanh MLP took 22 s on the
// 2 shared cores of the test machine (Intel Xeon, family 6 model 207), so
// numeric kernels suit up to a few hundred inputs (Arch.Numeric tells a
// caller which kind it has). The tanh and GELU kernels of a 2-hidden-layer NTK-
// parameterized MLP agree with Monte Carlo averages over 48 networks of
// width 1024 within 2 standard errors (TestMonteCarloMatchesQuadrature).
//
// Sanity values: for ReLU with W_std^2 = 2, b_std = 0 and L hidden layers,
// Theta(x, x) = 2 (L+1) |x|^2 / d. For a two-layer ReLU net on unit inputs
// the first layer's share of the NTK, times d, is the Gram matrix H_inf_ij =
// x_i . x_j (pi - arccos(x_i . x_j)) / (2 pi) of Du et al. (2019), whose
// smallest eigenvalue sets the rate of convergence of gradient descent.
//
// # Training dynamics in the kernel regime
//
// For the loss 0.5 * mean over the N = n k training outputs, the
// linearized model evolves under gradient flow with learning rate eta as
// (Jacot et al. 2018; Lee et al. 2019)
//
//	f_train(t) = y + exp(-eta Theta t / N) (f_train(0) - y)
//	f_test(t)  = f_test(0) + Theta_test,train Theta^-1 (I - exp(-eta Theta t / N)) (y - f_train(0))
//
// and under discrete gradient descent exactly as f_s = y + (I - eta Theta /
// N)^s (f_0 - y). Predictor evaluates these in the eigenbasis of Theta
// (gonum's EigenSym, eigenvalues clamped at 0, expm1 and log1p so that
// small eta*lambda*t lose no digits); t = infinity is kernel regression,
// solved with a Cholesky factorization, optionally with a ridge
// DiagReg * trace(Theta)/n (Arora et al. 2019 use the same predictor with
// the convolutional NTK). Gradient descent is stable for eta < 2 N /
// lambda_max (MaxLearningRate).
//
// # Posterior inference
//
// NNGPPosterior is Bayesian inference with the NNGP prior and a Gaussian
// likelihood of variance reg (neural-tangents' predict.gp_inference; Lee
// et al. 2018; Rasmussen and Williams 2006, eq. 2.25-2.26):
//
//	mean = K_*X (K + reg I)^-1 y,   cov = K_** - K_*X (K + reg I)^-1 K_X*
//
// NTKGP is the distribution of an infinite ensemble of infinitely wide
// networks trained by gradient flow on 0.5 * mean squared error from their
// Gaussian initialization (Lee et al. 2019, eqs. 15-16; neural-tangents'
// predict.gradient_descent_mse_ensemble). With Theta the NTK, K the NNGP
// kernel, N = n k the number of training outputs and t = eta * time (the
// convention of Predictor, and neural-tangents' learning_rate * t with the
// normalization y_train.size),
//
//	T(t) = Theta_*X Theta^-1 (I - exp(-Theta t / N))
//	mean(t) = T(t) y
//	cov(t)  = K_** + T K T^T - T K_X* - K_*X T^T
//
// t = 0 is the prior (0, K_**), t = infinity has T = Theta_*X Theta^-1
// (kernel regression with the NTK). With A = K_*X K^-1, cov(inf) -
// cov_NNGP = (T - A) K (T - A)^T: the gradient-trained ensemble is never
// more certain than Bayesian inference with the same prior. Both take a
// regularizer DiagReg * trace/n, which NTKGP adds to Theta only, as
// neural-tangents does. The training kernel is factorized once (Cholesky
// for t = infinity, gonum's EigenSym for finite t); one that is not
// positive definite gives an error with its smallest eigenvalue and a
// DiagReg that lifts it to 1e-10 of the largest.
//
// PosteriorStudy scores both posterior means as classifiers on a labelled
// subset (centred one-hot targets, argmax). On MNIST with 1,000 training
// and 1,000 test images and a ReLU kernel of 2 hidden layers (W_std = 1.4,
// b_std = 0.1, DiagReg 1e-3, centred inputs) the NNGP reaches 93.2% and
// the NTK-GP 92.9%, against 92.79% in Table 1 of Lee et al. (2018) for the
// best NNGP on MNIST 1k.
//
// # Monte Carlo and empirical NNGP kernels
//
// MonteCarlo averages the empirical NTK and NNGP kernel of networks built
// by a user function of the seed (an MLP or any nn.Module) and returns,
// per entry, the mean and its standard error: the finite-width kernels of
// neural-tangents' monte_carlo_kernel_fn, and the check of analytic
// kernels against wide networks. The empirical NNGP of one MLP is the
// covariance of its output over the readout layer with the hidden layers
// fixed,
//
//	K_emp(x, x') = W_std^2 h(x) . h(x') / n_L + b_std^2
//
// with h the post-activation of the last hidden layer (EmpiricalNNGP); it
// converges to Arch's NNGP like n^-1/2 (measured per-seed slopes -0.49
// for erf and tanh over widths 64..1024). FeatureKernel computes Phi Phi^T
// / p for any feature map, OutputKernel the output second moment.
//
// # Kernel matrices
//
// The analysis (Predictor, Spectrum, MaxLearningRate, KernelAlignment,
// KernelDrift, Arch) works in float64 on gonum matrices, while Empirical
// computes in the model's precision into a tensor in neural-tangents'
// [n1, n2(, k, k)] layout. EmpiricalGram and EmpiricalCross return the
// empirical kernel in the analysis' form instead: the training kernel as a
// *mat.SymDense (which is what Arch.Gram returns too) and a test x train
// kernel as a *mat.Dense, so that a kernel flows into a prediction without
// conversion code:
//
//	kTrain, _ := ntk.EmpiricalGram(nil, model, xTrain, ntk.Options{})
//	kTest, _ := ntk.EmpiricalCross(nil, model, xTest, xTrain, ntk.Options{})
//	p, _ := ntk.NewPredictor(kTrain, yTrain, ntk.PredictOptions{DiagReg: 1e-4})
//	_, fTest, _ := p.Infinite(nil, nil, kTest)
//
// They copy only what must be copied. A traced float64 kernel is computed
// straight into the matrix's storage. A float32 kernel is converted to
// float64 once (float32 storage cannot be viewed as float64), and a full
// kernel is permuted once from [n1, n2, k, k] into the (point, output)
// order i*k+a of a matrix; the first argument, when not nil, receives the
// result, so that repeated measurements reuse one matrix. A float64
// tensor already at hand (Empirical's traced result, features, targets)
// is viewed without copying by tensor.ToDense, or mat.NewSymDense(n,
// t.Data()) for a symmetric one. Every symmetric kernel of this package
// stores both triangles, so a *mat.Dense on the same data is a valid view
// too.
//
// # The NTK study
//
// Study is the analysis the "train ntk" command prints: on a seeded subset
// of a labelled (or regression) dataset, the empirical NTK of an MLP and,
// when the architecture has one, its analytic infinite-width limit; for
// each, the spectrum, the largest stable learning rate, the kernel-target
// alignment and the test score of kernel regression; the test scores of
// the network and of its linearization trained to convergence; and the
// relative Frobenius distance between the two kernels:
//
//	res, _ := ntk.Study(ctx, model, train, test, ntk.StudyConfig{N: 256, NTest: 256, Seed: 1, DiagReg: 1e-4})
//	res.Empirical.LambdaMin, res.Empirical.MaxLR, *res.RelFrobenius, *res.Linearized.Accuracy // ...
//
// Its StudyResult marshals to the command's ntk.json, field for field (the
// names and their order are read by scripts); the fields that say where
// the data and the model came from (Data, SplitSeed, Model.Source) are the
// caller's to fill. WriteSummary, WriteFigures, WriteKernelCSV and Save
// write the command's other outputs.
//
// # Lazy training
//
// Linearize returns the model f_lin(theta) = f(theta0) + J(theta0)(theta -
// theta0) as an nn.Module that trains like any other; a wide NTK-
// parameterized network stays within O(width^-1/2) of it (Lee et al. 2019;
// Chizat, Oyallon and Bach 2019). The metrics for training callbacks are
// Snapshot.RelativeChange (||theta_t - theta_0|| / ||theta_0|| per
// parameter), KernelDrift (||Theta_t - Theta_0||_F / ||Theta_0||_F; in
// LazyProbe of the learning-rate-weighted kernel),
// LinearizationGap, KernelAlignment (Cristianini et al. 2002), Spectrum and
// LambdaMin. LazyProbe is the callback that records them along a
// train.Trainer run on a fixed probe set, as records and JSON lines.
//
// # Convergence certificates along a run
//
// Three training callbacks check, along an actual train.Trainer run, the
// statements by which overparameterized networks provably train to zero
// loss.
//
// DuCertificate follows Du, Zhai, Poczos and Singh (2019). Their network is
// DuNet, f(x) = m^-1/2 sum_r a_r relu(w_r . x) with a_r in {-1, +1} fixed
// (not a parameter, so an optimizer over Params trains W alone), inputs
// with |x_i| = 1, and the loss 0.5 |y - u|^2, u_i = f(x_i). With
//
//	H(t)_ij  = (1/m) x_i . x_j sum_r 1{w_r(t) . x_i >= 0, w_r(t) . x_j >= 0}   (DuNet.DuGram: J J^T in W)
//	H_inf_ij = E_{w ~ N(0,I)} [the same] = x_i . x_j (pi - arccos(x_i . x_j)) / (2 pi)   (DuHInf)
//
// and lambda0 = lambda_min(H_inf) > 0 (no two inputs parallel, their
// Theorem 3.1), their Theorem 4.1 reads: if m = Omega(n^6 / (lambda0^4
// delta^3)), w_r(0) ~ N(0, I), a_r uniform on {-1, +1}, and the step size is
// eta = O(lambda0 / n^2), then with probability at least 1 - delta over the
// initialization, for k = 0, 1, 2, ...
//
//	|y - u(k)|^2 <= (1 - eta lambda0 / 2)^k |y - u(0)|^2.
//
// The proof keeps every w_r within R = O(n / (sqrt(m) lambda0 sqrt(delta)))
// of its start, where H(k) stays within lambda0/4 of H(0) and so
// lambda_min(H(k)) >= lambda0 / 2 (Lemma 3.2). The callback checks the
// conclusion at every step, at whatever step size the run uses: eta is the
// trainer's learning rate times DuConfig.LossScale (train.MSE{Half: true}
// is 0.5 mean = (1/n) 0.5 |y - u|^2, so eta = lr / n), and with a varying
// eta the bound is prod_j (1 - eta_j lambda0 / 2) |y - u(0)|^2. It records
// lambda_min(H(k)) and |y - u(k)|^2 per step, the first violation if any,
// the minimum of lambda_min(H(k)) and whether it stayed >= lambda0 / 2, and
// EtaTheory = lambda0 / n^2 (the theorem's step size with its unspecified
// constant set to 1). H(0) - H_inf is a mean of m independent centred
// matrices, so |H(0) - H_inf|_F falls like m^-1/2 (Lemma 3.1 is the
// corresponding bound in probability). Measured (TestDuCertificate, m =
// 4096, n = 16, d = 12): lambda0 = 0.106, min lambda_min(H(k)) = 0.102 over
// 200 steps at eta = 1 / lambda_max(H_inf) = 0.78, where the residual fell
// from 8.9 to 9e-16 against a bound factor of 2e-4; the slope of |H(0) -
// H_inf|_F over m = 64..16384 is -0.506.
//
// PLStarProbe tracks the PL* constant of Liu, Zhu and Belkin (2022). For
// the square loss L(w) = (s/2) |F(w) - y|^2 over the n k training outputs,
// grad L = s DF^T (F - y), so 0.5 |grad L|^2 >= mu L with mu(w) = s
// lambda_min(K(w)), K = DF DF^T the (n k) x (n k) tangent kernel (what
// EmpiricalGram returns; landscape.PLStar is the same constant from a
// Jacobian). Their convergence theorem: if L is beta-smooth and satisfies
// PL* with mu on the ball of radius R = 2 sqrt(2 beta L(w_0)) / mu around
// w_0, gradient descent with step 1/beta stays in the ball and L(w_t) <=
// (1 - mu / beta)^t L(w_0). Wide networks satisfy PL* on such balls
// because their tangent kernel barely moves there; the probe records mu
// every k steps, its initial value and its minimum along the run. Measured
// (TestPLStarAlongTraining, one hidden ReLU layer, n = 16): the minimum
// along a run that fits the data to 1e-9 or better is 0.97..0.98 of the
// initial value at width 4096 and 0.78..0.97 at width 64.
//
// LinearityProbe and OutputHessianNorm measure "transition to linearity"
// (Liu, Zhu and Belkin 2020): for an NTK-parameterized network of width m
// the spectral norm of the Hessian of the output with respect to the
// parameters is O~(m^-1/2) on a ball of fixed radius around the
// initialization, while |grad_w f| = Theta(1), so the tangent kernel
// changes by O(m^-1/2) there and the model is nearly linear in w. The
// output is g(w) = sum_i sum_a c_ia f_a(x_i; w) (one input and c = 1: f(x)
// itself; with a random sign vector c, a batch at once); its Hessian-vector
// products are the double backward of g, not of a loss, and Lanczos
// (landscape.Lanczos) returns both ends of the indefinite spectrum. For
// one hidden ReLU layer the spectrum is exactly {+-|x| / sqrt(m d), 0}
// (only the cross blocks d^2 f / dv_r dW_r = m^-1/2 1{z_r > 0} x / sqrt(d)
// are non-zero); with two hidden layers the measured slope is -0.48 over
// m = 64..512. (With a smooth activation such as tanh the diagonal blocks
// m^-1/2 v_r phi_2(z_r) x x^T / d add a max over the m neurons, a
// sqrt(log m) factor that the O~ hides; phi_2 is phi's second derivative.)
//
// # References
//
//   - A. Jacot, F. Gabriel, C. Hongler. Neural tangent kernel: convergence
//     and generalization in neural networks. NeurIPS 2018.
//   - J. Lee, L. Xiao, S. Schoenholz, Y. Bahri, R. Novak, J. Sohl-Dickstein,
//     J. Pennington. Wide neural networks of any depth evolve as linear
//     models under gradient descent. NeurIPS 2019.
//   - S. Arora, S. Du, W. Hu, Z. Li, R. Salakhutdinov, R. Wang. On exact
//     computation with an infinitely wide neural net. NeurIPS 2019.
//   - R. Novak, J. Sohl-Dickstein, S. Schoenholz. Fast finite width neural
//     tangent kernel. ICML 2022.
//   - G. Yang, E. J. Hu. Tensor Programs IV: feature learning in
//     infinite-width neural networks. ICML 2021.
//   - R. Novak, L. Xiao, J. Hron, J. Lee, A. Alemi, J. Sohl-Dickstein,
//     S. Schoenholz. Neural Tangents: fast and easy infinite neural networks
//     in Python. ICLR 2020.
//   - Y. Cho, L. Saul. Kernel methods for deep learning. NeurIPS 2009.
//   - C. Williams. Computing with infinite networks. NeurIPS 1997.
//   - J. Lee, Y. Bahri, R. Novak, S. Schoenholz, J. Pennington,
//     J. Sohl-Dickstein. Deep neural networks as Gaussian processes. ICLR
//     2018.
//   - A. Matthews, M. Rowland, J. Hron, R. Turner, Z. Ghahramani. Gaussian
//     process behaviour in wide deep neural networks. ICLR 2018.
//   - R. Neal. Bayesian learning for neural networks. PhD thesis, 1996.
//   - C. Rasmussen, C. Williams. Gaussian processes for machine learning.
//     MIT Press, 2006.
//   - A. Kronrod. Nodes and weights of quadrature formulas. Consultants
//     Bureau, 1965; R. Piessens et al. QUADPACK. Springer, 1983.
//   - S. Du, X. Zhai, B. Poczos, A. Singh. Gradient descent provably
//     optimizes over-parameterized neural networks. ICLR 2019.
//   - C. Liu, L. Zhu, M. Belkin. On the linearity of large non-linear
//     models: when and why the tangent kernel is constant. NeurIPS 2020.
//   - C. Liu, L. Zhu, M. Belkin. Loss landscapes and optimization in
//     over-parameterized non-linear systems and neural networks. Applied
//     and Computational Harmonic Analysis 59, 2022.
//   - L. Chizat, E. Oyallon, F. Bach. On lazy training in differentiable
//     programming. NeurIPS 2019.
//   - N. Cristianini, J. Shawe-Taylor, A. Elisseeff, J. Kandola. On
//     kernel-target alignment. NeurIPS 2002.
//
// # Convolutional kernels
//
// ConvArch is the infinite-channel limit of a convolutional network of
// neural-tangents' stax layers: the CNN-GP of Novak et al. (2019) and the
// CNTK of Arora et al. (2019), in neural-tangents' conventions and NTK
// parameterization. ConvArch.Kernels and ConvArch.Gram take images as rows
// of length C*H*W in the project's NCHW order, with their shape {C, H, W},
// and return the same Kernel and Gram as Arch:
//
//	arch := ntk.ConvArch{Layers: []ntk.ConvLayer{
//		ntk.Conv(3, ntk.Same, math.Sqrt2, 0.1), ntk.Act(nn.ReLU),
//		ntk.Conv(3, ntk.Same, math.Sqrt2, 0.1), ntk.Act(nn.ReLU),
//		ntk.GlobalAvgPool(), ntk.Dense(1, 0),
//	}}
//	g, _ := arch.Gram(xTrain, [3]int{1, 8, 8})
//
// The state of an input pair (x, x') is the covariance K(p, p') of the
// pre-activations at pixels p of x and p' of x' (the same for every
// channel) and the NTK Theta(p, p'). The rules, layer by layer:
//
//	input:    K(p, p') = sum_c x_c(p) x'_c(p') / C,  Theta = 0
//	Conv:     Sigma(p, p') = W_std^2 (1/F) sum_d K(p+d, p'+d) + b_std^2
//	          Theta(p, p') = Sigma(p, p') + W_std^2 (1/F) sum_d Theta(p+d, p'+d)
//	Dense:    the same with F = 1 (on images, a 1x1 convolution over the channels)
//	Act:      K(p, p') = E[phi(u) phi(v)],  Theta(p, p') *= E[phi'(u) phi'(v)]
//	AvgPool:  K(P, P') = (1/F^2) sum_{d, d'} K(sP+d, sP'+d'), Theta the same
//	GlobalAvgPool:  K = mean over p, p' of K(p, p'), Theta the same
//	Flatten:  K = mean over p of K(p, p), Theta the same
//	LayerNorm:  K(p, p') / sqrt((eps + q(p)) (eps + q'(p'))), Theta the same
//	Residual: K = K_branch + K_shortcut, Theta the same
//
// Here d runs over the F = fh x fw offsets of the filter or window (the
// window of AvgPool anchored at stride s), pixels outside the image are
// zero padding, and (u, v) is centred Gaussian with variances q(p) =
// Sigma(x, x, p, p), q'(p') = Sigma(x', x', p', p') and covariance Sigma(x,
// x', p, p'), so the activation uses the closed forms of the MLP kernels
// above (any activation Arch takes). Where each normalization comes from:
//
//   - Input: neural-tangents averages the input covariance over the
//     channel axis, as Arch divides x.x' by d.
//   - Conv: the NTK parameterization multiplies N(0, 1) weights by W_std /
//     sqrt(fan_in) with fan_in = C_in x fh x fw (stax.Conv). The sum over
//     C_in channels of identically distributed terms gives C_in K, so the
//     layer averages K over the filter taps. The same tap d multiplies
//     both pixels because the filter is shared (independent taps make the
//     cross terms d != d' vanish). This is Novak et al.'s Sigma = C(A(K))
//     and Arora et al.'s CNTK recursion without their 1/q^2 factors.
//     Padding follows XLA: SAME pads (f-1)/2 before, the rest after;
//     padded taps still count in F, as in neural-tangents. Stride is 1.
//   - Act: Novak et al. eq. (7), Arora et al. eqs. (7)-(8) with the
//     diagonal variances of both inputs at their own pixels.
//   - AvgPool: stax.AvgPool with neural-tangents' defaults: stride 1 when
//     0, VALID padding when "", normalize_edges=False (windows over
//     padding divide by the full window). It averages each pixel of a pair
//     independently, so it needs all pixel pairs.
//   - GlobalAvgPool: the pooled readout of Novak et al. (CNN-GP with
//     pooling) and Arora et al. (CNTK-GAP); stax.GlobalAvgPool.
//   - Flatten: a Dense layer after it has fan_in C x H x W, so the kernel
//     is the mean of same-pixel covariances (stax.Flatten; Novak et al.'s
//     CNN-GP without pooling, Arora et al.'s CNTK-V). Cross-pixel
//     covariances never reach the output.
//   - LayerNorm: stax.LayerNorm over the channels of each pixel (axis -1
//     in NHWC), or with ConvLayer.Spatial over channels and pixels (q is
//     then the mean of q(p)); eps defaults to neural-tangents' 1e-12. The
//     closed form holds for centred Gaussian inputs (neural-tangents'
//     is_gaussian): right after Conv, Dense, pooling of those, or a
//     residual sum; elsewhere (after an activation or Flatten) the channel
//     mean is not zero in the limit, and Kernels returns an error.
//   - Residual: stax.serial(FanOut(2), parallel(Branch, Shortcut),
//     FanInSum()). The kernels of the two paths add when their outputs are
//     independent centred Gaussians: both paths must be Gaussian (as
//     neural-tangents requires) and at least one must have a Conv or Dense
//     of its own (two identity-like paths are perfectly correlated, and
//     their kernels would not add). There is no 1/2 or other rescaling.
//
// Only the NTK parameterization is implemented (the standard one needs
// the channel counts); strided or dilated convolutions, CIRCULAR padding,
// normalize_edges=True and max pooling (no closed form) are not.
//
// Which covariances are carried is chosen per architecture (ConvArch.Cost
// reports it). Below a pooling layer (AvgPool, GlobalAvgPool, or one in a
// residual block) the state holds all pixel pairs, [H*W, H*W] per input
// pair. From the last pooling layer to a Flatten readout it holds only
// same-pixel covariances, [H*W], since a stride-1 convolution maps K(p, p)
// to K(p, p) through K(p+d, p+d), and activations, layer norms and
// residual sums act pixel by pixel (neural-tangents' diagonal_spatial).
// The box filter of a convolution is separable, so its sums run over
// columns, then rows: a layer costs O(H^2 W^2 (fh + fw)) per input pair on
// all pixel pairs and O(H W (fh + fw)) on the diagonal; an activation
// costs H^2 W^2 or H W evaluations of its kernel map, the dominant cost.
// The variances q(p) of every image come from a first pass over the
// images alone; the pairs are then divided among GOMAXPROCS workers, each
// pair computed the same way whichever worker takes it, so the kernels do
// not depend on GOMAXPROCS (TestConvDeterministic compares 1, 2, 3 and 8
// bit for bit). Memory is a few states per worker plus the n1 x n2
// outputs.
//
// Checks: ntk/testdata/conv_kernels.py implements the recursions
// independently in numpy over full pixel-pair tensors with plain sums over
// filter offsets; its fixture (ten architectures on 4x4 and 5x5 images of
// 2-3 channels, 3 x 2 inputs: Flatten and GlobalAvgPool readouts, ReLU,
// leaky ReLU, erf and identity, SAME and VALID, with and without bias,
// strided SAME pooling, residual blocks with identity, 1x1-conv and
// pooling paths, layer norms) agrees with Kernels and Gram to 1e-10
// (TestConvMatchesNumpy). A ConvArch of 1x1 convolutions on 1x1 images
// equals Arch, and a VALID convolution with a full-image filter followed
// by Flatten equals a Dense layer, to 1e-13. A Monte Carlo estimate over
// 64 random networks of 256 channels (Conv, ReLU, AvgPool, Conv, erf,
// GlobalAvgPool, Dense, run forward in float64) agrees with the NNGP
// kernel within 3 standard errors (about 1%; TestConvMonteCarloNNGP).
//
// Measured (BenchmarkConvMNIST: Gram of the first n MNIST training images,
// Conv(3, SAME, W_std^2 = 2, b_std = 0.1), ReLU, the same again, readout,
// Dense; two vCPUs of an Intel Xeon, model 207, shared with other work at
// a load average of 12 to 20, so CPU seconds are the steadier number):
// 28x28 with Flatten (same-pixel states), n = 1000 (500,500 pairs), took
// 31.0 CPU s (62 us a pair) and 163 s at GOMAXPROCS=1, 33.4 CPU s and 108
// s at 2, with a peak resident memory of 47 MB. 8x8 (3x3 means of the
// central 24x24) with GlobalAvgPool (all pixel pairs, 4096 per image
// pair) took 0.50 ms of CPU a pair at n = 300 (22.4 CPU s, 224 s at 1
// thread; 20.7 CPU s, 119 s at 2), so n = 1000 needs about 250 CPU s; at
// the load of the measurement that is more than ten minutes even at two
// threads, and the run was stopped. 14x14 (2x2 means) with GlobalAvgPool
// took 2.4 ms of CPU a pair at n = 100 (12.3 CPU s), about 20 CPU minutes
// for n = 1000. About 60% of the time of the pooled kernels goes to the
// activation's kernel map (an atan2 per pixel pair for ReLU), most of the
// rest to the convolution sums.
//
// References for convolutional kernels (with Arora et al. 2019 above):
//
//   - R. Novak, L. Xiao, J. Lee, Y. Bahri, G. Yang, J. Hron, D. Abolafia,
//     J. Pennington, J. Sohl-Dickstein. Bayesian deep convolutional
//     networks with many channels are Gaussian processes. ICLR 2019.
//   - J. Ba, J. Kiros, G. Hinton. Layer normalization. arXiv:1607.06450,
//     2016.
package ntk
