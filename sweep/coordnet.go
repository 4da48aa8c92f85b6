package sweep

// CNNCoordSpec is the CNN of the default coordinate check of a net (train
// coordcheck -arch cnn), for 8x8 digits: two 3x3 convolutions of {w}
// channels with ReLU, a 2x2 max pool and a linear readout from w*4*4
// features, the layout of the mup library's CNN examples at a size whose
// widths 8..128 train in seconds. Under muP its coordinates stay O(1) as
// {w} grows; under SP with Adam the change of the hidden and output
// coordinates after a step grows with the width.
const CNNCoordSpec = "conv{w}k3p1-relu-conv{w}k3p1-relu-maxpool2-flatten-fc10"

// CNNExampleConfig is a width sweep of a CNN (what "train sweep init -cnn"
// writes): CNNCoordSpec on 128 digits, channels w = 4..32, standard
// parameterization against muP at two base rates (the multipliers are
// absolute, n rather than n/n_base, so muP's best base rate is not SP's),
// weight scale 1.5 (the digits' pixels in [0, 1] give small
// activations), SGD for 40 full-batch steps, with the empirical NTK of the
// net on 8 digits at the start and the end. It runs in about half a minute
// on two cores.
const CNNExampleConfig = `{
  "name": "example: SP vs muP width scaling of a CNN on 8x8 digits",
  "dataset": {"kind": "digits", "n": 128},
  "widths": [4, 8, 16, 32],
  "net": "conv{w}k3p1-relu-conv{w}k3p1-relu-maxpool2-flatten-fc10",
  "parameterizations": ["standard", "mup"],
  "seeds": [1, 2],
  "lrs": [0.05, 0.5],
  "optimizers": ["sgd"],
  "steps": 40,
  "log_every": 10,
  "kernel_every": 0,
  "kernel_points": 8,
  "wstd": 1.5
}
`
