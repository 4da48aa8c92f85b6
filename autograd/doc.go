// Package autograd implements reverse-mode automatic differentiation of
// tensor programs, define by run: operations on Vars execute immediately
// and are recorded on a Tape; Backward walks the record in reverse.
//
// # Reverse mode
//
// For a program y = f_K(... f_1(x)) the tape stores, for every
// operation, its inputs and whatever its backward rule needs (usually the
// inputs and the output). Given the adjoint g = dL/dy of an output, an
// operation's rule returns the vector-Jacobian products g^T (dy/dx_i) for
// each input x_i; adjoints of a Var used several times are summed. Because
// the tape is in recording order, which is a topological order, one
// reverse sweep visits every Var after all its consumers. The cost of a
// gradient is a small multiple of the cost of the forward pass, whatever
// the number of inputs (Baydin et al., "Automatic differentiation in
// machine learning: a survey", JMLR 2018).
//
// Broadcasting operations (Add, Sub, Mul, Div, Maximum, Minimum) follow
// NumPy's rules; their rules sum the adjoint over the broadcast dimensions
// (tensor.SumTo), the adjoint of broadcasting.
//
// # Higher derivatives
//
// Every backward rule is written with the differentiable operations of
// this package, never with raw kernels. Normally the backward pass runs
// with recording off, so those operations cost what kernels cost. With
// GradOptions.CreateGraph the backward pass is recorded like any program,
// the gradients it returns are Vars with history, and differentiating them
// again gives second derivatives: Tape.HVP computes the Hessian-vector
// product H v = d/dx <grad L(x), v> by this double backward (Pearlmutter
// 1994), at the cost of about two gradients and without forming H. Rules
// whose derivative is piecewise constant (ReLU, Abs, Maximum, Clamp, the
// argmax routing of MaxAxis) use constant masks, which is exact almost
// everywhere. Kinks follow PyTorch: derivative 0 at 0 for ReLU and Abs,
// ties split evenly for Maximum and Minimum.
//
// # Gradients without side effects
//
// Backward(loss) adds dL/dp into the grad tensor each leaf was bound to
// (Tape.Leaf), which is how parameters receive their gradients.
// Grad(y, xs, opts) returns u^T dy/dx for chosen inputs and a seed u
// without touching bound gradients; it first marks the Vars that lie on a
// path from some x to y and differentiates only those.
//
// # Memory
//
// A Tape is an arena: Vars and their buffers are indexed by their position
// in the step and reused after Reset when the shapes agree, and views
// (Reshape, Rows) are cached the same way. A training step that repeats
// itself therefore allocates nothing once warm (the tests assert 0
// allocations with testing.AllocsPerRun). Vars and values are valid until
// the next Reset.
//
// # Fused operations
//
// Linear computes act(alpha x W^T + b) as one GEMM that accumulates onto
// the broadcast bias (beta = 1) followed by one vector ReLU pass, and reads
// the ReLU mask from its output in the backward pass, so the
// pre-activation is never stored. Only the activations the GEMM epilogue
// can fuse (tensor.Activation.Fusable: identity and ReLU) are fused; any
// other is recorded after the product by Activate, the one mapping from
// the activation vocabulary of package tensor to the ops of this package. When Backward is not recorded, its
// backward rule masks g and sums the bias gradient's columns in one pass
// and lets the weight-gradient GEMM add into the parameter's gradient
// tensor (beta = 1) instead of producing a new tensor to be added.
// BackwardFresh goes one step further, as PyTorch's
// zero_grad(set_to_none=True) does: for the gradient tensors it is given,
// the first contribution of the pass overwrites (beta = 0, a copy) instead
// of adding to zeros, so the step needs no zeroing pass and the GEMM never
// reads the old gradient; train.Stepper runs every training step this way
// (3-5% of a 784-512-512-10 step on one core).
// CrossEntropy is softmax cross-entropy as one op whose backward pass is
// (softmax - onehot) g/n. LogSoftmax and CrossEntropy subtract the row
// maximum before exponentiating and are exact for large logits.
//
// # Checking
//
// GradCheck compares a function's analytic gradient with central finite
// differences in float64, (f(x + eps e_i) - f(x - eps e_i)) / (2 eps), whose
// error is O(eps^2) truncation plus O(u/eps) rounding; at eps = 1e-6 about
// 1e-10. Every op has a test that runs it at first order and, by checking a
// function that itself calls Grad with CreateGraph, at second order.
//
// # Normalization
//
// LayerNorm (over the trailing axes, Ba, Kiros and Hinton 2016) and
// BatchNorm (per channel over the batch and the image, Ioffe and Szegedy
// 2015) compute xhat = (x - mean) / sqrt(var + eps) with the biased
// variance, then w xhat + b, following torch.nn.functional.layer_norm and
// batch_norm (training-mode BatchNorm also updates the running statistics
// with the unbiased variance; evaluation mode is an affine map of x). The
// forward pass is one fused op that keeps each group's mean and 1/std; its
// backward pass, with g' = w g and means over a group,
//
//	dx = (g' - mean(g') - xhat mean(g' xhat)) / sqrt(var + eps),
//	dw = sum g xhat,  db = sum g,
//
// runs as fused loops when Backward is not recorded and as differentiable
// ops, recomputing xhat from x, when it is, so that second derivatives are
// exact. Dropout multiplies by a constant mask of 0 and 1/(1-p) drawn from
// the caller's rng, so its derivatives of every order are exact too.
//
// # Convolution and pooling
//
// Conv2D, MaxPool2D, AvgPool2D and GlobalAvgPool work on NCHW tensors with
// PyTorch's semantics (conv2d is a cross-correlation; pooling uses
// ceil_mode=False; testdata/conv_ref.py writes the PyTorch fixture the
// tests compare with). Conv2D is lowered to the packed GEMM
// (tensor.Conv2DInto): the images of the batch are taken in chunks, each
// chunk's im2col matrices side by side so that one product per chunk and
// group has enough columns; a same-size stride-1 convolution builds each
// kernel tap's im2col row as one shifted copy, a valid stride-1 one does
// too in a "wide" layout (output position (oh, ow) stored at oh W + ow, the
// W - Wo extra columns dropped afterwards: about 1.4x the product's work
// for LeNet's 5x5 on 14x14, against one 10-element copy per output row
// without it; tensor.ConvGeom.SavesCol), and a 1x1 stride-1 one uses the
// image itself. The bias enters the output before the product and ReLU
// is fused into the product; the chunks are divided among cores, and the
// weight gradient sums a fixed number of parts in order, so results do not
// depend on GOMAXPROCS.
//
// Its backward rule is built from two more linear ops, conv2DInputGrad
// (the transposed convolution, for dx) and conv2DWeightGrad (for dw), each
// of whose backward rules is expressed through Conv2D and the other, so
// double backward works. When Backward is not recorded, the rule masks g
// and sums the bias gradient in the same pass, adds the weight gradient
// straight into the parameter's gradient tensor, reuses the forward
// pass's im2col matrices when they are small (at most 8 MB), and computes
// no dx at all for an input that needs none (a network's first layer).
// MaxPool2D keeps the position of each window's first maximum; its
// backward rule is a scatter to those positions, whose own backward rule
// is the gather from them. AvgPool2D is linear and its backward rule is
// its adjoint, whose backward rule is AvgPool2D. GlobalAvgPool is a mean
// over a reshaped view.
package autograd
