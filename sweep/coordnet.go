package sweep

// CNNCoordSpec is the CNN of the default coordinate check of a net (train
// coordcheck -arch cnn), for 8x8 digits: two 3x3 convolutions of {w}
// channels with ReLU, a 2x2 max pool and a linear readout from w*4*4
// features, the layout of the mup library's CNN examples at a size whose
// widths 8..128 train in seconds. Under muP its coordinates stay O(1) as
// {w} grows; under SP with Adam the change of the hidden and output
// coordinates after a step grows with the width.
const CNNCoordSpec = "conv{w}k3p1-relu-conv{w}k3p1-relu-maxpool2-flatten-fc10"
