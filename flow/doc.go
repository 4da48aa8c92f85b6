// Package flow is the continuous-time view of training: gradient descent
// as a discretization of gradient flow, the modified equations that the
// discrete iterates follow more closely, and stochastic gradient descent
// as a diffusion.
//
// # Integrator
//
// DormandPrince is the embedded Runge-Kutta pair of Dormand and Prince
// (1980): seven stages, the fifth-order solution is propagated (local
// extrapolation) and the difference from the embedded fourth-order one is
// the local error estimate; the last stage is the first of the next step.
// A step is accepted when the root mean square of e_i / (ATol + RTol
// |y_i|) is at most 1; the next step follows Gustafsson's
// proportional-integral control (Hairer and Wanner's exponents 0.17 and
// 0.04, never growing right after a rejection). Values at requested times
// come from the fourth-order continuous extension (Hairer, Norsett and
// Wanner, Solving Ordinary Differential Equations I, 1993, II.6), so the
// steps need not land on them. Tests verify the orders (5 at the grid, >= 4
// in between) on a linear system with a known solution, that the global
// error follows the tolerance and stays below the summed local estimates
// (ODEStats.ErrorBound) on a contractive problem. No kept Go library offers
// an adaptive integrator with dense output (gonum's integrate is
// quadrature), hence this small one.
//
// # Gradient flow and the modified flows
//
// Gradient descent theta_{k+1} = theta_k - eta grad L(theta_k) is Euler's
// method for the gradient flow d theta/dt = -grad L(theta) at times
// t = k eta, so |theta_k - theta(k eta)| = O(eta) on a fixed horizon.
// Backward error analysis finds the flow the iterates follow to higher
// order (theta_t, theta_tt are time derivatives): expanding theta(t + eta) = theta + eta theta_t + eta^2/2 theta_tt +
// ... and matching gives, to first order (Barrett and Dherin 2021,
// "Implicit gradient regularization", ICLR),
//
//	d theta/dt = -grad Ltilde,   Ltilde = L + (eta/4) |grad L|^2,
//
// whose gradient grad L + (eta/2) H grad L takes one Hessian-vector
// product (double backward through the tape, landscape.ModelObjective).
// The iterates follow it to O(eta^2). Checked in closed form on
// L = x^2/2 (eta = 0.1, T = 1: GD 0.9^10 = 0.348678, flow e^-1,
// modified e^-1.05 = 0.349938, each to 1e-9) and on a tanh MLP on digits
// (fitted orders 0.99 and 1.96).
//
// Heavy ball (PyTorch's SGD momentum with dampening 0) is
// theta_{k+1} - theta_k = -eta grad L(theta_k) + beta (theta_k - theta_{k-1}),
// with theta_1 = theta_0 - eta grad L(theta_0). The same expansion, now
// with both differences, gives (1 - beta) theta_t + eta (1 + beta)/2 theta_tt
// = -grad L + O(eta^2); with theta_tt = H grad L / (1 - beta)^2 at leading
// order,
//
//	d theta/dt = -grad Ltilde / (1 - beta),   Ltilde = L + eta (1 + beta) / (4 (1 - beta)^2) |grad L|^2.
//
// Kovachki and Stuart (2021, "Continuous time analysis of momentum
// methods", JMLR) study modified equations of momentum methods in this
// way; the coefficient above is derived here as shown and checked against
// the exact decay rate of the recursion on a quadratic (the slow root r of
// r^2 - (1 + beta - eta lambda) r + beta = 0 has log r = -eta lambda/(1 - beta)
// - eta^2 lambda^2 (1 + beta)/(2 (1 - beta)^3) + O(eta^3), which is the
// modified flow's rate over one step). It reduces to Barrett and
// Dherin's at beta = 0. The discrete recursion also has a transient mode
// that decays like beta^k, and its first step is shorter than the steady
// velocity; on the quadratic L = lambda x^2/2 the slow mode's amplitude is
// x_0 (1 + eta lambda beta/(1 - beta)^2) + O(eta^2), so the modified flow
// must start from theta_0 + eta beta/(1 - beta)^2 grad L(theta_0)
// (Flow.InitialPoint) for the O(eta^2) agreement to show: from theta_0
// itself the error is O(eta) again. Checked on a quadratic with beta = 0.5:
// orders 0.98 against the flow and 2.12 against the modified flow.
//
// The flows are stiff where the loss is sharp: the Jacobian of the plain
// field is -H/(1 - beta), and the explicit method is stable only for
// h |lambda| <= 3.307 on the negative real axis. Flow therefore caps the
// step at 90% of that bound computed from the sharpness (the Hessian's
// largest eigenvalue magnitude, by warm-started power iteration on
// Hessian-vector products every SharpnessEvery accepted steps), so the
// error control is not left to discover instability by rejections.
//
// # Comparison
//
// Compare runs the discrete method through train.Stepper (the training
// step of every gradflow run) for T/eta steps at each eta, integrates the
// plain flow once and each eta's modified flow to T at a tolerance far
// below the distances measured, and fits the orders of
// |theta_GD(T) - theta_flow(T)| and |theta_GD(T) - theta_mod(T)| in eta by
// least squares on log-log axes. The cost of following the flow is
// reported in oracle calls per unit time beside GD's 1/eta gradients.
//
// # Stochastic modified equation
//
// SGD with learning rate eta and minibatch gradients of mean grad L and
// covariance Sigma(theta) is approximated, in the weak sense over times
// t = k eta, by the stochastic modified equation (SME)
//
//	d theta = -grad L(theta) dt + sqrt(eta Sigma(theta)) dW
//
// (Q. Li, C. Tai, W. E, "Stochastic modified equations and adaptive
// stochastic gradient algorithms", ICML 2017; "Stochastic modified
// equations and dynamics of stochastic gradient algorithms I:
// mathematical foundations", JMLR 20(40), 2019): for smooth test functions
// g, |E g(theta_k) - E g(Theta_{k eta})| <= C eta over a finite horizon.
// For n examples with per-example gradients g_i (rows of
// landscape.ModelObjective.PerExampleGrads) and batches of B drawn with
// replacement, Sigma = (1/B)(1/n) sum_i (g_i - gbar)(g_i - gbar)^T;
// MinibatchNoise samples it as Gc^T z / sqrt(n B), z ~ N(0, I_n), Gc the
// centred gradient matrix, without forming a P x P matrix.
//
// SME integrates the SME by Euler-Maruyama, X' = X - grad L(X) dt +
// sqrt(eta dt) xi with xi ~ N(0, Sigma(X)), of weak order 1, or by the
// stochastic Heun scheme, Y = X - grad L(X) dt + d, X' = X - (grad L(X) +
// grad L(Y)) dt/2 + d with d = sqrt(eta dt) xi: with additive noise
// (Sigma constant, as for NoisyQuadratic) it is the explicit order 2.0
// weak scheme of P. E. Kloeden and E. Platen, "Numerical Solution of
// Stochastic Differential Equations", Springer 1992, eq. (15.1.1), and has
// weak order 2; with state-dependent noise (MinibatchNoise) it is weak
// order 1. On the Ornstein-Uhlenbeck process dX = -lambda X dt + sqrt(eta)
// s dW (stationary variance eta s^2/(2 lambda)) a scheme X' = a X + c
// sqrt(eta dt) xi has stationary variance c^2 eta dt s^2/(1 - a^2):
// Euler-Maruyama (a = 1 - x, c = 1, x = lambda dt) is off by
// eta s^2 dt/4 + O(dt^2), Heun (a = 1 - x + x^2/2, c = 1 - x/2) by
// -eta s^2 lambda dt^2/8 + O(dt^3); the tests measure both slopes
// (1.05 and 2.04).
//
// # SVAG
//
// SVAG (Z. Li, S. Malladi, S. Arora, "On the validity of modeling SGD with
// stochastic differential equations (SDEs)", NeurIPS 2021) draws two
// independent minibatch gradients g1, g2 per step and uses
// c1 g1 + c2 g2, c1,2 = (1 +- sqrt(2l - 1))/2, of mean grad L and covariance
// l Sigma, with learning rate eta/l: l = 1 is SGD, and as l -> infinity
// the iterates converge weakly to the SME with error O(1/l), which makes
// SVAG a practical, model-agnostic check of whether the SDE describes a
// run. SVAG is a train.Loss wrapper (on a batch of 2B rows drawn with
// replacement, data.OrderReplacement), so it runs through train.Trainer and
// train.Stepper with the optimizer of SVAGSpec. On the noisy quadratic
// L = (lambda/2) x^2 with gradient noise of variance sigma^2 the stationary
// variances are exactly
//
//	SGD   eta sigma^2 / (2 lambda - eta lambda^2)
//	SVAG  eta sigma^2 / (2 lambda - eta lambda^2 / l)
//	SME   eta sigma^2 / (2 lambda),
//
// so SVAG's error against the SME is eta^2 sigma^2/(4 l) + O(l^-2): for
// lambda = sigma = 1, eta = 0.1 it is 0.052632 at l = 1 against 0.05, and
// SDEStudy ("train sde") measures the slope -1 of the error against l
// (-1.02), its errors resolved by a control variate: the exact
// Ornstein-Uhlenbeck step driven by the same noise.
//
// # Mean field as a Wasserstein gradient flow
//
// The particle view of two-layer networks (energy, its dissipation
// integral and propagation of chaos) lives in package meanfield: see
// meanfield.Net.Energy, the dissipation field of meanfield.Record and
// meanfield.Chaos.
package flow
