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
// MLP (1.86M parameters) the structured traced NTK of 512 images takes
// about 0.6 s on two cores, while Contraction needs about 17 s for 16
// images (see BenchmarkEmpiricalMNIST).
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
// identity have closed forms; any other is an error), and Arch.Gram the
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
//   - S. Du, X. Zhai, B. Poczos, A. Singh. Gradient descent provably
//     optimizes over-parameterized neural networks. ICLR 2019.
//   - L. Chizat, E. Oyallon, F. Bach. On lazy training in differentiable
//     programming. NeurIPS 2019.
//   - N. Cristianini, J. Shawe-Taylor, A. Elisseeff, J. Kandola. On
//     kernel-target alignment. NeurIPS 2002.
package ntk
