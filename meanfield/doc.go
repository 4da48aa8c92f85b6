// Package meanfield studies two-layer networks as systems of interacting
// particles, side by side with their lazy (neural tangent kernel) regime.
//
// # The network and its scale
//
// A Net computes
//
//	f(x) = alpha(m) sum_{i=1..m} a_i act(c w_i . x + b_i),   theta_i = (a_i, w_i, b_i),
//
// with O(1) i.i.d. Gaussian initial a_i, w_i, b_i and c = 1/sqrt(d) by default.
// The output scale alpha(m) selects the regime (Chizat, Oyallon and Bach 2019):
//
//	MeanField  alpha = 1/m        (Mei, Montanari and Nguyen 2018; Chizat and Bach 2018;
//	                               Rotskoff and Vanden-Eijnden 2018)
//	NTK        alpha = 1/sqrt(m)  (Jacot et al. 2018; Lee et al. 2019)
//	Lazy       alpha = Alpha/m    (Chizat-Oyallon-Bach's lazy scale on top of mean field:
//	                               Alpha = 1 is mean field, Alpha = sqrt(m) the NTK scale)
//
// Net is its own nn.Module (parameters "0.weight" = the w_i as rows, "0.bias",
// "2.weight" = the a_i as columns, as an nn.MLP's state dict) rather than an
// nn.MLP with the MeanField parameterization, because (1) the formula has no
// output bias, and an MLP's output bias would add a width-independent 1 to the
// tangent kernel that swamps the O(1/m) kernel of mean-field parameters;
// (2) alpha must be free (the lazy scale), and the symmetric initialization
// with f = 0 at start (pairs (a, w, b), (-a, w, b)) must be available, neither
// of which MLPConfig expresses; (3) the particle view (rows of a point cloud)
// and a closed-form kernel are natural on two explicit layers. For alpha = 1/m
// it computes exactly nn's mean-field MLP [d, m, k] (tested), and deeper
// networks use nn's parameterization switch: nn.MLPConfig{Parameterization:
// nn.MuP} (or nn.MeanField), whose coordinate check is sweep.CoordCheck.
//
// # Learning rate: why eta/(m alpha^2)
//
// Every parameter gets the SGD multiplier LRScale = 1/(m alpha^2). With
// phi(theta; x) = a act(c w.x + b), gradient descent on a loss L(f) moves each
// particle by
//
//	Delta theta_i = -eta LRScale alpha grad_theta phi(theta_i; x) L'(f) = -(eta/(m alpha)) grad phi L',
//
// and to first order the outputs by
//
//	Delta f(x) = alpha sum_i grad phi(theta_i; x) . Delta theta_i = -eta [ (1/m) sum_i grad phi(theta_i; x) . grad phi(theta_i; x') ] L'.
//
// The bracket is an average over particles, so it has a width-independent
// limit whatever alpha is: the function-space dynamics (and a fixed number of
// steps at a fixed eta) mean the same thing at every width. Under mean field
// (alpha = 1/m) the rate is eta*m per neuron, each particle moves O(eta), and
// as m -> infinity the empirical measure mu_m = (1/m) sum_i delta_theta_i follows
// the Wasserstein gradient flow
//
//	d theta/dt = -E_x[ L'(f_mu(x)) grad_theta phi(theta; x) ],   f_mu(x) = int phi(theta; x) dmu(theta)
//
// (Mei-Montanari-Nguyen 2018, Chizat-Bach 2018, Rotskoff-Vanden-Eijnden 2018):
// features are learned, the tangent kernel changes by O(1), the output at
// initialization is a fluctuation of size m^-1/2. Under NTK scaling
// (alpha = 1/sqrt(m)) the same rule gives the per-parameter rate eta (the usual
// NTK-parameterization SGD); particles move O(m^-1/2), relative weight change
// is O(m^-1/2), and the network stays close to its linearization (lazy
// training). Under the lazy scale alpha = Alpha/m the rate is eta m/Alpha^2,
// which is Chizat-Oyallon-Bach's objective R(Alpha h)/Alpha^2 trained at rate
// eta m; weights move O(1/Alpha). (A rate of eta*sqrt(m) under 1/sqrt(m)
// scaling, sometimes suggested, would make the bracket O(sqrt(m)): unstable.)
//
// For Adam-like optimizers, whose steps have size ~eta whatever the gradient
// scale, the same argument gives LRScale = 1/(m alpha) (Config.AdaptiveLR):
// particles move eta/(m alpha), i.e. O(1) under mean field, and Delta f = alpha
// m eta LRScale O(1) = O(eta).
//
// # Energy, first variation and dissipation
//
// Let R(f) = (1/(2nk)) sum_{s<n} |f(x_s) - y_s|^2 be the risk of Run (train.MSE
// with Half: 0.5 mean over the n points and k outputs; no regularization,
// SGD without weight decay), r_s = dR/df(x_s) = (f(x_s) - y_s)/(nk), and
//
//	Psi(theta; rho) = sum_s r_s . phi(theta; x_s),   phi(theta; x) = a act(c w.x + b).
//
// In mean field f = f_rho = int phi drho, rho = rho_m the particle measure, and
// Psi is the first variation dE/drho of the energy E(rho) = R(f_rho): its
// gradient in theta = (a, w, b),
//
//	grad_a Psi = sum_s r_s act(z_s),  grad_w Psi = sum_s (r_s . a) act'(z_s) c x_s,
//	grad_b Psi = sum_s (r_s . a) act'(z_s),      z_s = c w.x_s + b
//
// (the c = 1/sqrt(d) of the input scale stays in grad_w: the particles are the
// raw parameters the optimizer moves), is the velocity field of the Wasserstein
// gradient flow d theta/dt = -grad_theta Psi(theta; rho_t) (Mei-Montanari-Nguyen
// 2018; Chizat-Bach 2018). Because the loss L of the network depends on
// theta_i only through alpha phi(theta_i), dL/dtheta_i = alpha grad Psi(theta_i),
// and SGD at the rate eta LRScale = eta/(m alpha^2) moves
//
//	theta_i <- theta_i - eta grad Psi(theta_i) / (m alpha):
//
// in time t = k eta, the explicit Euler scheme of d theta_i/dt = -grad Psi(theta_i),
// exactly the particle flow in mean field (m alpha = 1). Along the flow
// dp/dt = -LRScale_p dL/dp the energy decreases at the rate
//
//	D = -dE/dt = sum_p LRScale_p |dL/dp|^2 = (1/m) sum_i |grad_theta Psi(theta_i)|^2 = int |grad Psi|^2 drho_m,
//
// the particle form following from LRScale alpha^2 = 1/m. Record.Dissipation (with
// Record.Time = k eta) and Net.Energy compute it from the gradient the step
// already has. The same formula holds in every regime: with A = alpha m (A = 1
// mean field, sqrt(m) NTK, Alpha lazy) the particles follow the Wasserstein
// gradient flow of Chizat-Oyallon-Bach's E_A(rho) = R(A f_rho)/A^2, velocity
// -grad Psi/A, whose dissipation is D/A^2 = -dE_A/dt, and L = A^2 E_A decreases at
// the rate D. Under the scaled flow of NTK or lazy training D is thus the
// dissipation of the loss itself, in time t = k eta. With an adaptive optimizer
// the steps are not this flow and D is only the formula. The discrete steps
// decrease E by eta D + O(eta^2 lambda D), lambda the top eigenvalue of the
// LRScale-weighted Hessian (whose Gauss-Newton part is the scaled tangent
// kernel LRScale Theta/n): at eta lambda well below 1 the energy is
// non-increasing and its decrease over a step is the trapezoid of D to a
// relative error of order eta lambda / 2.
//
// # Propagation of chaos
//
// The m particles of a mean-field network started i.i.d. from rho_0 stay, for
// a fixed time T, close to i.i.d. samples of the limit rho_T: coupling particle
// i of width m with the particle theta-bar_i that starts at the same point and
// moves in the field of the limit measure,
//
//	E |theta_i(t) - theta-bar_i(t)|^2 <= C(T) / m,   t <= T,
//
// for smooth bounded interactions (Sznitman 1991; Mei-Montanari-Nguyen 2018
// Theorem 3 and Mei-Misiakiewicz-Montanari 2019 give it for these networks, with
// log m and step-size terms; the constant grows like e^{KT}). W2(rho_m(t), rho_t)
// is at most this coupled distance plus the W2 distance of m i.i.d. samples of
// rho_t to rho_t, which decays like m^-1/D in D = k+d+1 dimensions but like
// m^-1/2 along every one-dimensional projection: hence the sliced distance. Chaos
// measures it against a wider network standing in for the limit: for each seed,
// one i.i.d. draw of Ratio*max(m) particles, of which the width-m network takes
// the first m and its reference (width Ratio*m, default 16m) the first Ratio*m,
// so the two share their first m initial particles (New does not nest its
// draws across widths: it draws every w_i, then every b_i, then every a_i, so
// the width-m network from the same seed shares its w_i but not its a_i; RunFrom
// starts a run from given particles). After the same steps at the same rate (the
// time discretization is common to both) it reports
//
//   - the coupled distance sqrt((1/m) sum_{i<m} |theta_i^m(T) - theta_i^ref(T)|^2)
//     (CoupledDistance), an upper bound of W2 between rho_m(T) and the reference's
//     first m particles, 0 at T = 0 and O(m^-1/2) by the coupling argument (the
//     reference's own O((16m)^-1/2) error changes the constant, not the rate);
//   - the sliced W2 between rho_m(T) and the reference's measure, and the same
//     at T = 0: O(m^-1/2) from sampling (a one-dimensional empirical measure is at
//     W2 distance about m^-1/2 from its law, with a sqrt(log log m) factor for
//     Gaussian tails: Bobkov and Ledoux 2019) plus the dynamics' share;
//
// with log-log slopes against m whose theory is -1/2 for all three.
//
// # Measurements
//
//   - Kernel: the empirical NTK Theta = J J^T in closed form (Net.Kernel), traced over
//     outputs as ntk.Empirical and neural-tangents, in O(n^2 m):
//     Theta(x,x') = alpha^2 sum_i [h_i h_i' + |a_i|^2/k act'(z_i) act'(z_i') (c^2 x.x' + 1)].
//     act and act' are tensor.Activation.Eval, the scalar reference of the
//     activation vocabulary shared with nn (PyTorch's conventions).
//     KernelDrift is ||Theta_t - Theta_0||_F / ||Theta_0||_F.
//   - Particles: Net.Particles / SetParticles export and import the cloud; CSV
//     (WriteCSV, ReadParticlesCSV) and JSON (struct tags) forms.
//   - Displacement ||theta_i(t) - theta_i(0)|| per neuron, MeanDisplacement its average:
//     Theta(1) in mean field, Theta(m^-1/2) under NTK scaling.
//   - W2: the exact 2-Wasserstein distance between empirical measures on the line,
//     W2^2 = int_0^1 |F^-1(u) - G^-1(u)|^2 du over the merged quantile breakpoints (any
//     sample sizes). SlicedW2: sqrt(E_u W2^2(u#mu, u#nu)) over seeded random directions
//     u (Rabin et al. 2011; Bonneel et al. 2015), to compare the particle measures of
//     two runs or two widths.
//   - Run trains by full-batch steps on 0.5 mean (f - y)^2 and records loss, output RMS,
//     relative weight change, mean displacement, kernel drift, time and dissipation.
//
// # The regime study
//
// Study runs the experiment of "train meanfield": for every regime of a
// StudyConfig and every width m, one Run on a common task (n points uniform on
// the sphere of radius sqrt(d), labelled by a tanh teacher with 8 hidden
// units), and a StudyRow of the last step: mean displacement, relative weight
// change, kernel drift, output RMS at initialization, final loss and its
// dissipation, and the sliced W2 distance of the final particle measure to the widest network's
// (which goes to 0 as m grows in mean field). Per regime, StudySlopes holds
// the least-squares slope of log(column) against log(m), the exponent to
// compare with the predictions above: 0 for displacement, weight change and
// kernel drift in mean field, -1/2 (and -1 for the drift) under NTK scaling,
// -1/2 for the output at initialization in mean field. StudyResult writes
// itself as JSON lines (WriteJSONL), a table with the predictions (WriteTable)
// and a log-log figure (WriteFigures); with StudyConfig.Dir, the traces and
// particle clouds of the finished runs are written as the study goes, so an
// interrupted study keeps them. ParseRegimes reads regimes as a command line
// names them (mf, ntk, lazy, all).
//
// # What the tests establish (tanh, d = 8, 32 teacher points, T = 100 steps at eta = 1)
//
//   - NTK scaling: relative weight change and mean displacement slopes -0.5 +- 0.15
//     against m over 64..4096 (measured -0.48).
//   - NTK scaling: kernel drift slope -1 +- 0.15 (measured -0.93). Not the -1/2 of
//     Lee et al.'s upper bound: with a smooth activation and zero-mean a_i, the
//     first-order change of each neuron's kernel term is odd in a_i and cancels on
//     average over neurons, leaving O(1/m) (Dyer and Gur-Ari 2020; Roberts, Yaida and
//     Hanin 2022). ReLU's pattern flips add a slower term (about -0.8 over 64..4096).
//   - Mean field: displacement and kernel drift slopes 0 +- 0.15 with drift > 0.5;
//     output at init slope -0.5 +- 0.15; loss curves of widths m and 4m get closer.
//   - Lazy scale: weight change against Alpha over 4..256 has slope -1 +- 0.15.
//   - Dissipation: D = sum_p LRScale_p |dL/dp|^2 equals (1/m) sum_i |grad Psi|^2 from
//     the particle formulas (1e-12) and -dE/dt along the flow (central difference,
//     1e-6) in every regime; along a mean-field run at eta = 0.1 (m = 256, T = 20)
//     the energy never increases and E(0) - E(T) is the trapezoid integral of D to
//     0.66% (1.4% at the worst step; the bound eta lambda/2 is 2.3%).
//   - Propagation of chaos (m = 16..256 against 16m, 4 seeds, T = 100): slopes of
//     sliced W2 at T -0.46, at initialization -0.43, coupled distance -0.47
//     (-0.5 +- 0.15 wanted).
//
// # References
//
//   - S. Mei, A. Montanari and P.-M. Nguyen, A mean field view of the landscape of
//     two-layer neural networks, PNAS 115 (2018).
//   - L. Chizat and F. Bach, On the global convergence of gradient descent for
//     over-parameterized models using optimal transport, NeurIPS 2018.
//   - L. Chizat, E. Oyallon and F. Bach, On lazy training in differentiable
//     programming, NeurIPS 2019.
//   - G. M. Rotskoff and E. Vanden-Eijnden, Trainability and accuracy of neural
//     networks: an interacting particle system approach, arXiv:1805.00915 (2018; CPAM 2022).
//   - A. Jacot, F. Gabriel and C. Hongler, Neural tangent kernel, NeurIPS 2018.
//   - J. Lee et al., Wide neural networks of any depth evolve as linear models under
//     gradient descent, NeurIPS 2019.
//   - G. Yang and E. J. Hu, Tensor Programs IV: feature learning in infinite-width
//     neural networks, ICML 2021.
//   - G. Yang et al., Tensor Programs V: tuning large neural networks via zero-shot
//     hyperparameter transfer, arXiv:2203.03466 (2022).
//   - E. Dyer and G. Gur-Ari, Asymptotics of wide networks from Feynman diagrams, ICLR 2020.
//   - D. A. Roberts, S. Yaida and B. Hanin, The principles of deep learning theory (2022).
//   - S. Mei, T. Misiakiewicz and A. Montanari, Mean-field theory of two-layers neural
//     networks: dimension-free bounds and kernel limit, COLT 2019.
//   - A.-S. Sznitman, Topics in propagation of chaos, École d'Été de Probabilités de
//     Saint-Flour XIX (1991), LNM 1464.
//   - S. Bobkov and M. Ledoux, One-dimensional empirical measures, order statistics,
//     and Kantorovich transport distances, Memoirs of the AMS 261 (2019).
//   - J. Rabin, G. Peyré, J. Delon and M. Bernot, Wasserstein barycenter and its
//     application to texture mixing, SSVM 2011; N. Bonneel, J. Rabin, G. Peyré and
//     H. Pfister, Sliced and Radon Wasserstein barycenters of measures, JMIV 51 (2015).
package meanfield
