// Package optim implements the optimization methods gradflow trains and
// studies models with: the torch.optim optimizers (SGD with heavy-ball and
// Nesterov momentum, Adam, AdamW, Adagrad, RMSprop), Polyak's step size and
// Armijo line search, proximal operators and proximal / accelerated
// proximal gradient methods (ISTA, FISTA with restart), the variance-reduced
// methods SVRG and SAGA for finite sums, learning-rate schedules, and
// gradient clipping.
//
// # Parameters and groups
//
// Optimizers update Params (nn.Param: Value, Grad, LRScale) in place, with no
// heap allocation per step once their buffers exist. Parameters form
// groups with their own hyperparameters, as torch's param_groups; the
// constructor makes group 0 and AddGroup adds more, and AllParams (the
// ParamLister interface) lists the parameters of all groups. The learning rate of a
// parameter is its group's LR times its own LRScale, which is how the muP and
// mean-field parameterizations give each layer its learning rate. A Param
// whose Grad is nil is skipped and its per-parameter state does not advance.
// State and LoadState convert an optimizer's state (hyperparameters, step
// counts, buffers named as in torch's state_dict) to a serializable State,
// encoded as JSON or, exactly and with a checksum, by State.MarshalBinary.
//
// # Several cores
//
// The elementwise work of a step (SGD, Adam(W), Adagrad and RMSprop
// updates, ZeroGrad, GradNorm, ClipGradNorm) runs in row shares of each
// parameter over the cores, the same shares (tensor.ShareRows) in which
// autograd.Linear splits the products that read and write a weight matrix,
// so that each core updates the rows it computed the gradient of and
// reads in the next forward pass. Every element is updated by the same
// arithmetic whichever core runs it, and GradNorm adds fixed blocks in a
// fixed order, so results are bit-identical for any GOMAXPROCS.
//
// # Update rules
//
// With g the gradient, eta the learning rate and t the per-parameter step
// count (from 1), the torch.optim optimizers follow the rules of torch 1.13
// exactly (testdata/torchoptim holds trajectories of torch that the tests
// replay to 1e-12):
//
//	SGD      g += wd x;  b = g (t=1), b = mu b + (1-damp) g;  g = g + mu b (nesterov) or b;  x -= eta g
//	Adam     g += wd x;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
//	         x -= eta/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)      (v -> max(v) with amsgrad)
//	AdamW    x *= 1 - eta wd, then Adam without the g += wd x
//	Adagrad  g += wd x;  s += g^2;  x -= eta/(1+(t-1) lr_decay) * g/(sqrt(s)+eps)
//	RMSprop  g += wd x;  v = a v + (1-a) g^2;  d = sqrt(v - gbar^2)+eps (centered) or sqrt(v)+eps
//	         b = mu b + g/d, x -= eta b (momentum)  or  x -= eta g/d
//
// SGD's momentum is Polyak's heavy ball (Polyak 1964): after the first step,
// x_{t+1} = x_t - eta grad f(x_t) + mu (x_t - x_{t-1}). On a quadratic with
// eigenvalues in [mu, L] the choice eta = 4/(sqrt L + sqrt mu)^2,
// momentum ((sqrt L - sqrt mu)/(sqrt L + sqrt mu))^2 contracts like
// (sqrt kappa - 1)/(sqrt kappa + 1) per step, kappa = L/mu, against
// 1 - 1/kappa for gradient descent with eta = 1/L. Nesterov's method
// (Nesterov 1983) with eta = 1/L and momentum (sqrt kappa - 1)/(sqrt kappa + 1)
// contracts like 1 - 1/sqrt(kappa). Adagrad is Duchi, Hazan and Singer
// (2011); Adam is Kingma and Ba (2015); AdamW's decoupled decay is
// Loshchilov and Hutter (2019).
//
// # Rates the tests check
//
// For f L-smooth and satisfying the Polyak-Lojasiewicz inequality
// |grad f(x)|^2 / 2 >= mu (f(x) - f*), which holds for strongly convex f but
// also for 0.5|Ax - b|^2 with a wide A and for x^2 + 3 sin^2 x (Karimi,
// Nutini and Schmidt 2016), gradient descent with eta = 1/L satisfies
// f(x_k) - f* <= (1 - mu/L)^k (f(x_0) - f*).
//
// Stochastic gradient descent with a constant step on a problem with
// gradient noise settles at a loss floor proportional to eta; with steps
// eta_t = c/(t0 + t)^alpha satisfying the Robbins-Monro conditions
// (Robbins and Monro 1951) sum eta_t = inf and sum eta_t^2 < inf, i.e.
// 1/2 < alpha <= 1, it converges, and with alpha = 1 and c > 1/(2 mu) on a
// mu-strongly convex problem E f(x_t) - f* = O(1/t). When every example can
// be fit exactly (interpolation) constant-step SGD converges linearly.
//
// SVRG (Johnson and Zhang 2013) and SAGA (Defazio, Bach and Lacoste-Julien
// 2014) reduce the variance of the stochastic gradient of a finite sum
// (1/n) sum f_i to zero at the optimum and converge linearly with a constant
// step on strongly convex problems.
//
// For F = f + g with f L-smooth convex and g convex with a cheap proximal
// operator prox_{eta g}(x) = argmin_z g(z) + |z - x|^2/(2 eta), ISTA
// (proximal gradient, eta = 1/L) has F(x_k) - F* <= L |x_0 - x*|^2 / (2k)
// and FISTA (Beck and Teboulle 2009) F(x_k) - F* <= 2 L |x_0 - x*|^2/(k+1)^2;
// adaptive restart (O'Donoghue and Candès 2015) recovers linear convergence
// under strong convexity without knowing mu.
//
// Polyak's step eta_k = (f(x_k) - f*)/|g_k|^2 (Polyak 1987) guarantees
// |x_{k+1} - x*|^2 <= |x_k - x*|^2 - (f(x_k) - f*)^2/|g_k|^2 for any convex f.
// The Armijo line search (Armijo 1966) accepts the first step of a
// geometric sequence that decreases f by at least c eta |g|^2.
//
// # Schedules and batch size
//
// A Schedule gives a factor of the base learning rate per step: Constant,
// RobbinsMonro, StepDecay, Exponential, Cosine (Loshchilov and Hutter
// 2017), Warmup, or any ScheduleFunc; a Scheduler applies it to an
// optimizer's groups. LinearScaledLR is the linear scaling rule of Goyal et
// al. (2017): multiply the learning rate by k when the minibatch grows by k,
// with a warmup. ClipGradNorm and ClipGradValue match
// torch.nn.utils.clip_grad_norm_ and clip_grad_value_.
//
// # Stochastic approximation: step exponents, iterate averaging, sampling order
//
// Robbins-Monro steps eta_t = c/(t0 + t)^alpha (the RobbinsMonro schedule,
// "rm:C:T0:ALPHA") satisfy sum eta_t = inf and sum eta_t^2 < inf exactly
// for 1/2 < alpha <= 1, and then SGD converges almost surely on strongly
// convex problems (Robbins and Monro 1951). On a mu-strongly convex smooth
// f whose stochastic gradient has noise covariance S at x* (Bach and
// Moulines 2011 give the non-asymptotic versions):
//
//	1/2 < alpha < 1:  E|x_t - x*|^2 ~ eta_t tr V1,  H V1 + V1 H = S        (rate t^-alpha)
//	alpha = 1:        E|x_t - x*|^2 ~ tr V / t,  (cH - I/2)V + V(cH - I/2) = c^2 S   if 2 c mu > 1
//	                  E|x_t - x*|^2 ~ t^(-2 c mu)                                  if 2 c mu < 1
//
// so alpha = 1 is only fast with c > 1/(2 mu), a constant that needs mu.
// Polyak-Ruppert averaging removes that need (Ruppert 1988, Polyak and
// Juditsky 1992): with 1/2 < alpha < 1, the average xbar_t of the iterates
// satisfies sqrt(t)(xbar_t - x*) -> N(0, H^-1 S H^-1) in law, the smallest
// asymptotic covariance of any estimator of x* from t noisy gradients
// (the Cramer-Rao bound, the "sandwich" of M-estimation):
// E|xbar_t - x*|^2 = tr(H^-1 S H^-1)/t (1 + o(1)). Averaged wraps any
// optimizer with it (Spec.Average "polyak"); "from:S" averages the
// iterates after step S and "tail:Q:T" the last fraction Q of a T-step run
// (suffix averaging, which forgets the transient of the first iterates).
// The average is kept in float64, evaluated by SwapIn/SwapOut or
// WriteAverage (train records it as "<eval>@avg"), and saved with the
// optimizer state (State.Average; the binary encoding is version 2 when
// it is present, and states without it load into an Averaged optimizer,
// which then averages from the next step).
//
// With batch size 1 on a finite sum (1/n) sum f_i, the order of the
// examples matters (data.LoaderConfig.Order). With replacement every step
// adds zero-mean noise, so with the per-epoch step eta_k = gamma/k the
// error is E|x_K - x*|^2 = Theta(1/K) and with a constant step the floor
// is Theta(eta). Random reshuffling uses every example once per epoch, so
// an epoch moves exactly -n eta grad F plus a second-order term
// eta^2 sum_{j<l} H_pi(l) grad f_pi(j): with eta_k = gamma/k and
// n gamma mu > 1 the error is O(1/K^2) (Gurbuzbalaban, Ozdaglar and
// Parrilo 2019), and with a constant step the epoch-end floor is
// B eta^2 + A n eta^3, the first from the mean -(eta^2/2) sum_i H_i grad
// f_i(x*) of that term, the second from its fluctuation (Mishchenko,
// Khaled and Richtarik 2020 bound it by O(eta^3 L n sigma_*^2/mu) when
// every f_i is strongly convex). The eta^2 law holds for small steps
// whenever B > 0; when B = 0 (e.g. all H_i equal) the floor is O(eta^3).
//
// The tests measure all of this through the real code path (New,
// Scheduler, Step; data.Loader for the orders) on many independent chains:
// TestRobbinsMonroExponents, TestPolyakRuppertAveraging,
// TestRobbinsMonroAlmostSure, TestReshufflingDiminishingStep and
// TestReshufflingConstantStepFloor, whose comments state the problems,
// the derivations and the tolerances.
//
//   - D. Ruppert, Efficient estimations from a slowly convergent
//     Robbins-Monro process, Tech. Rep. 781, Cornell University (1988).
//   - B. T. Polyak and A. B. Juditsky, Acceleration of stochastic
//     approximation by averaging, SIAM J. Control Optim. 30 (1992).
//   - F. Bach and E. Moulines, Non-asymptotic analysis of stochastic
//     approximation algorithms for machine learning, NIPS 2011.
//   - M. Gurbuzbalaban, A. Ozdaglar and P. A. Parrilo, Why random
//     reshuffling beats stochastic gradient descent, Math. Program. 186
//     (2021; arXiv 2015, online 2019).
//   - K. Mishchenko, A. Khaled and P. Richtarik, Random reshuffling: simple
//     analysis with vast improvements, NeurIPS 2020.
//
// # References
//
//   - H. Robbins and S. Monro, A stochastic approximation method, Ann. Math.
//     Statist. 22 (1951).
//   - B. T. Polyak, Some methods of speeding up the convergence of iteration
//     methods, USSR Comput. Math. Math. Phys. 4 (1964); Introduction to
//     Optimization (1987).
//   - L. Armijo, Minimization of functions having Lipschitz continuous first
//     partial derivatives, Pacific J. Math. 16 (1966).
//   - Y. Nesterov, A method for solving the convex programming problem with
//     convergence rate O(1/k^2), Soviet Math. Dokl. 27 (1983).
//   - J. Duchi, E. Hazan and Y. Singer, Adaptive subgradient methods for
//     online learning and stochastic optimization, JMLR 12 (2011).
//   - D. P. Kingma and J. Ba, Adam: a method for stochastic optimization,
//     ICLR 2015.
//   - I. Loshchilov and F. Hutter, SGDR (ICLR 2017) and Decoupled weight
//     decay regularization (ICLR 2019).
//   - A. Beck and M. Teboulle, A fast iterative shrinkage-thresholding
//     algorithm for linear inverse problems, SIAM J. Imaging Sci. 2 (2009).
//   - B. O'Donoghue and E. Candès, Adaptive restart for accelerated gradient
//     schemes, Found. Comput. Math. 15 (2015).
//   - R. Johnson and T. Zhang, Accelerating stochastic gradient descent using
//     predictive variance reduction, NIPS 2013.
//   - L. Xiao and T. Zhang, A proximal stochastic gradient method with
//     progressive variance reduction, SIAM J. Optim. 24 (2014).
//   - A. Defazio, F. Bach and S. Lacoste-Julien, SAGA: a fast incremental
//     gradient method with support for non-strongly convex composite
//     objectives, NIPS 2014.
//   - P. Goyal et al., Accurate, large minibatch SGD: training ImageNet in
//     1 hour, arXiv:1706.02677 (2017).
//   - H. Karimi, J. Nutini and M. Schmidt, Linear convergence of gradient
//     and proximal-gradient methods under the Polyak-Lojasiewicz condition,
//     ECML-PKDD 2016.
//   - A. Nedić and D. Bertsekas, Incremental subgradient methods for
//     nondifferentiable optimization, SIAM J. Optim. 12 (2001).
//   - N. Loizou et al., Stochastic Polyak step-size for SGD, AISTATS 2021.
//
// # Incremental, weakly convex and nonconvex momentum methods
//
// IAG (Blatt, Hero and Gauchman 2007) and SAG (Schmidt, Le Roux and Bach
// 2017) keep, like SAGA, the last gradient of every term of a FiniteSum and
// step along their average, x <- prox_{eta g}(x - eta (1/n) sum_i table_i),
// refreshing the entries of a cyclic block (IAG) or a random batch (SAG)
// first. On a strongly convex finite sum both converge linearly with a
// constant step: SAG with eta = 1/(16 L_max) has E f(x_k) - f* <=
// (1 - min(mu/(16 L_max), 1/(8n)))^k C_0 (Schmidt et al., Thm. 1); IAG with
// eta n L_max small contracts like gradient descent with the same eta,
// 1 - eta mu (1 + O(eta n L_max)) per step.
//
// For a rho-weakly convex f (f + (rho/2)|x|^2 convex, e.g. robust phase
// retrieval (1/m) sum_i |<a_i, x>^2 - b_i|) the stationarity measure is the
// gradient of the Moreau envelope, |grad f_{1/rhobar}(x)| = rhobar |x -
// prox_{f/rhobar}(x)| for rhobar > rho; MoreauProx computes the prox of an
// AbsComposite (1/m) sum_i |c_i(x)| by a certified prox-linear
// majorization. ModelBased runs Davis and Drusvyatskiy's (2019) stochastic
// subgradient, prox-linear and proximal point methods; with T steps of
// eta = alpha/sqrt(T+1) and a uniformly drawn iterate x_{t*},
// E |grad f_{1/rhobar}(x_{t*})|^2 = O(T^(-1/2)).
//
// Heavy ball with alpha < 2(1 - beta)/L on an L-smooth nonconvex f has
// min_{t<k} |grad f(x_t)|^2 <= (1 + beta)^2 (f(x_0) - inf f)/(alpha^2 gamma k),
// gamma = (1 - beta)/alpha - L/2 (Ochs et al. 2014, iPiano with no
// nonsmooth term); the tests measure the exponent -1 where it is attained.
//
//   - D. Blatt, A. O. Hero and H. Gauchman, A convergent incremental gradient
//     method with a constant step size, SIAM J. Optim. 18 (2007).
//   - M. Schmidt, N. Le Roux and F. Bach, Minimizing finite sums with the
//     stochastic average gradient, Math. Program. 162 (2017).
//   - M. Gurbuzbalaban, A. Ozdaglar and P. Parrilo, On the convergence rate
//     of incremental aggregated gradient algorithms, SIAM J. Optim. 27 (2017).
//   - D. Davis and D. Drusvyatskiy, Stochastic model-based minimization of
//     weakly convex functions, SIAM J. Optim. 29 (2019).
//   - J. C. Duchi and F. Ruan, Solving (most) of a set of quadratic equalities:
//     composite optimization for robust phase retrieval, Inf. Inference 8 (2019).
//   - H. Asi and J. C. Duchi, Stochastic (approximate) proximal point methods:
//     convergence, optimality, and adaptivity, SIAM J. Optim. 29 (2019).
//   - P. Ochs, Y. Chen, T. Brox and T. Pock, iPiano: inertial proximal
//     algorithm for nonconvex optimization, SIAM J. Imaging Sci. 7 (2014).
//   - E. Ghadimi, H. R. Feyzmahdavian and M. Johansson, Global convergence of
//     the heavy-ball method for convex optimization, ECC 2015.
package optim
