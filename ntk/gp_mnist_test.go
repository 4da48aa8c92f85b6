package ntk

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/gradflow/gradflow/data"
)

// mnistDir is the shared MNIST copy (see ../shared/datasets/README.md).
var mnistDir = filepath.Join("..", "..", "shared", "datasets", "mnist")

// lee2018MNIST1k is the NNGP test accuracy on MNIST with 1,000 training
// points in Table 1 of Lee et al. (2018), "Deep neural networks as
// Gaussian processes" (best fully connected NNGP over nonlinearities and
// hyperparameters). The number is quoted from the paper as remembered: the
// search corpus had the paper's abstract and its code
// (brain-research/nngp: 100 training images per class, scalar mean
// subtracted from images and labels, evaluation on the first test images)
// but not the table, so it is not verified there.
const lee2018MNIST1k = 0.9279

// PosteriorStudy on MNIST, 1,000 training and 1,000 test images (seed 1),
// with a ReLU MLP kernel of 2 hidden layers, W_std = 1.4 (W_std^2 = 1.96),
// b_std = 0.1, DiagReg 1e-3 (relative), inputs centred: the NNGP and
// NTK-GP accuracies must be within 2 points of Lee et al.'s NNGP number.
// Measured: NNGP 0.9320, NTK-GP 0.9290 (and 0.925 to 0.933 over depths 1
// to 10 and DiagReg 1e-6 to 1e-2). Skips when the shared datasets are
// absent.
func TestPosteriorStudyMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("MNIST posterior study (about 20 s) skipped in short mode")
	}
	if _, err := os.Stat(mnistDir); err != nil {
		t.Skipf("MNIST not found at %s (the shared datasets are absent): %v", mnistDir, err)
	}
	train, test, err := data.MNIST[float64](mnistDir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := PosteriorStudy(train, test, PosteriorConfig{
		N: 1000, NTest: 1000, Seed: 1, DiagReg: 1e-3, CenterInputs: true,
		Arch: Arch{Depth: 2, WStd: 1.4, BStd: 0.1},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	t.Logf("%s", b)
	for _, s := range []struct {
		name string
		acc  float64
	}{{"NNGP", *r.NNGP.Accuracy}, {"NTK-GP", *r.NTK.Accuracy}} {
		t.Logf("%s test accuracy %.4f; Lee et al. 2018 NNGP %.4f", s.name, s.acc, lee2018MNIST1k)
		if math.Abs(s.acc-lee2018MNIST1k) > 0.02 {
			t.Errorf("%s test accuracy %.4f, more than 2 points from Lee et al.'s %.4f", s.name, s.acc, lee2018MNIST1k)
		}
	}
	if r.N != 1000 || r.NTest != 1000 || r.NNGPMeanVar <= 0 || r.NTKMeanVar <= 0 || r.NNGPMeanVar > r.NTKMeanVar {
		t.Errorf("result %+v: want 1000/1000 points and 0 < NNGP variance <= NTK-GP variance", r)
	}
}
