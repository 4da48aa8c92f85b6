// Package nn builds neural networks on package autograd: parameters and
// modules, Linear layers and MLPs with four width parameterizations,
// losses, initializers, and model files in the safetensors format with
// PyTorch's key names.
//
// # Modules and parameters
//
// A Param holds a tensor, its gradient (filled by autograd's Backward) and
// LRScale, a learning-rate multiplier that optimizers apply. A Module
// lists its parameters in a fixed order and records its forward pass on a
// Tape. An MLP with dims [d, n_1, ..., n_{L-1}, k] is the composition of L
// Linear layers h_{l+1} = act(alpha_l h_l W_l^T + beta_l b_l) without an
// activation after the last; its parameters are named as the state dict
// of torch.nn.Sequential(Linear, act, Linear, act, ..., Linear): "0.weight"
// [n_1, d], "0.bias", "2.weight", ..., the indices counting the activation
// modules too.
//
// The activations are tensor.Activation values, re-exported here (an
// alias and constants, so nn.Tanh and tensor.Tanh are the same value):
// identity, relu, leaky_relu, tanh, sigmoid, gelu, silu, softplus and erf,
// the names model files and configurations store. Apply records one on a
// tape (autograd.Activate); a Linear layer fuses ReLU into its product.
//
// Predict is the inference call: a module's output on a batch [n, d], with
// gradients off on a pooled tape the caller never sees, and an error (not
// a panic) for a batch the module cannot take.
//
// # Model files
//
// Save writes a safetensors file: the state dict under PyTorch's keys, and
// __metadata__ recording the architecture (so Load rebuilds the model from
// the file alone) and, under ChecksumKey, the SHA-256 of the tensor data.
// Every reader here verifies that checksum when a file has one, so a
// damaged file is an error (wrapping ErrChecksum) instead of a model with
// a wrong weight; files without it, as PyTorch writes them, load as they
// are, and PyTorch ignores it as it ignores all metadata. LoadTorch reads
// a plain PyTorch state dict, given the activations it does not record.
//
// # Parameterizations
//
// How init, forward multipliers and learning rates scale with the width
// decides whether a wide network trains in the kernel (lazy) regime or
// learns features. Each Linear layer has a forward weight multiplier alpha
// and bias multiplier beta; each Param has an LRScale. With fan_in = n_l
// the layer's input width, sigma_w = WStd and sigma_b = BStd, MLP sets
// (input layer: l = 0, output layer: l = L-1, hidden: the others):
//
//	              | weight init        | alpha            | bias init / beta   | LRScale W (SGD)       | LRScale W (Adam)
//	standard (SP) | N(0, sw^2/fan_in)  | 1                | N(0, sb^2) / 1     | 1                     | 1
//	NTK           | N(0, 1)            | sw/sqrt(fan_in)  | N(0, 1) / sb       | 1                     | 1
//	muP input     | N(0, sw^2/fan_in)  | 1                | N(0, sb^2) / 1     | fan_out (= width n)   | 1
//	muP hidden    | N(0, sw^2/fan_in)  | 1                | N(0, sb^2) / 1     | 1                     | 1/fan_in
//	muP output    | N(0, sw^2)         | 1/fan_in         | N(0, sb^2) / 1     | fan_in                | 1
//	MF input      | N(0, sw^2)         | 1/sqrt(fan_in)   | N(0, sb^2) / 1     | fan_out               | 1
//	MF hidden     | N(0, sw^2)         | 1/sqrt(fan_in)   | N(0, sb^2) / 1     | fan_in                | 1/sqrt(fan_in)
//	MF output     | N(0, sw^2)         | 1/fan_in         | N(0, sb^2) / 1     | fan_in                | 1
//
// Biases of the input and hidden layers (vectors whose length is the
// width) get LRScale fan_out under SGD in muP and mean field, 1 otherwise;
// the output bias always 1. A one-layer MLP has no width: muP is SP there
// and mean field is NTK-like (alpha = 1/sqrt(fan_in)).
//
// Standard is neural-tangents' standard parameterization; its NTK grows
// with the width, so its largest stable learning rate shrinks like 1/n.
// NTK is neural-tangents' NTK parameterization (Jacot et al. 2018): with
// sb = 0 there is no bias, as in neural-tangents. muP follows Yang and Hu,
// Tensor Programs IV/V, in the MuReadout form of the mup library: init
// variances 1/d, 1/n and 1 with output multiplier 1/n; output Theta(n^-1/2)
// at init; per-layer learning rates eta*n / eta / eta*n under SGD and
// eta / eta/n / eta under Adam; MLPConfig.ZeroReadout starts the readout
// at zero, as the mup library's readout_zero_init. Mean field (MF) is the same dynamics
// written with O(1) weights everywhere (the abc-symmetry W -> n^theta W,
// multiplier -> n^-theta): for one hidden layer f(x) = (1/m) sum_i a_i
// act(w_i . x / sqrt(d)) with per-neuron SGD learning rate eta*m (Mei,
// Montanari and Nguyen 2018; Chizat and Bach 2018). The multipliers live
// in the forward pass, so a saved model reloads with the same function
// and no rescaling is ever applied twice; the LRScale values are
// recomputed from the configuration on load.
//
// # Parameterizations of convolutional nets
//
// NewNetWith applies the same table to the weight layers of a Net (see
// NetConfig), in parameter order: the first conv or fc layer is the input
// layer, the last the output layer (the readout), every other one hidden,
// including those inside residual blocks and their shortcuts. The fans of
// a convolution W [C_out, C_in/g, kh, kw] are those of the mup library
// and of neural-tangents' stax.Conv:
//
//	fan_in  = C_in/g * kh * kw    (what one output coordinate sums over)
//	fan_out = C_out               (the width a muP input layer's SGD rate scales with)
//
// so NTK reads a conv as W_std/sqrt(C_in/g kh kw) * conv(x, W) + b_std b
// with W, b ~ N(0, 1); muP's hidden convs take Adam rate eta/fan_in, its
// readout (usually an fc layer after flatten or gap, fan_in = C H W or C)
// the multiplier 1/fan_in and rate eta*fan_in under SGD, eta under Adam.
// The affine parameters of BatchNorm and LayerNorm (weight 1, bias 0 at
// init in every parameterization) are vector-like in the mup library's
// sense, one width-sized axis: LRScale = channels under SGD in muP and mean
// field (as a hidden bias), 1 otherwise and under Adam. For paramCNN of
// the tests, conv4k3p1-relu-conv6k3g2-bn-relu-flatten-fc10 on [3 6 6],
// muP gives:
//
//	layer            | fan_in | fan_out | alpha | LRScale W, b (SGD) | LRScale W, b (Adam)
//	0 conv4k3p1      | 27     | 4       | 1     | 4, 4               | 1, 1
//	2 conv6k3g2      | 18     | 6       | 1     | 1, 6               | 1/18, 1
//	3 bn (6 ch.)     |        |         |       | 6, 6               | 1, 1
//	6 fc10 (readout) | 96     | 10      | 1/96  | 96, 1              | 1, 1
//
// Mean field is defined for nets with two weight layers and no
// normalization or residual blocks, f(x) = (1/fan_in) sum_{c,p} a_{c,p}
// act(conv(x, w_c)_p / sqrt(fan_in)): a particle system with one particle
// (w_c, a_{c,.}) per channel; deeper nets are refused (use muP). Under NTK
// with b_std = 0 the biases of the spec stay in the state dict at 0 with
// multiplier 0 (no bias, as in neural-tangents). NetSpecWidth expands a
// spec template such as conv{w}k3p1-relu-conv{2w}k3p1-relu-gap-fc10 at a
// width, the channel multiplier of width sweeps and coordinate checks.
//
// # Losses
//
// MSE is mean((y - t)^2) (torch.nn.MSELoss); HalfMSE is 0.5 mean((y -
// t)^2), neural-tangents' convention. CrossEntropy takes logits and class
// indices, SoftCrossEntropy probability targets; both use a max-shifted
// log-softmax. BCEWithLogits is mean(softplus(z) - y z). Huber with
// threshold delta is 0.5 r^2 for |r| <= delta and delta(|r| - delta/2)
// beyond, as torch.nn.HuberLoss. All reduce by the mean.
//
// # Initializers
//
// LeCun (variance 1/fan_in), He (2/fan_in), Glorot (2/(fan_in+fan_out)),
// normal and uniform; orthogonal (Saxe et al. 2014); zeros; and PyTorch's
// default for Linear, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and
// bias. All draw from an explicit *rand.Rand: a seed fixes the model.
package nn
