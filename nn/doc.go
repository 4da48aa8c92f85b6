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
