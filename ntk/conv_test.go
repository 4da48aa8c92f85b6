package ntk

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/gradflow/gradflow/nn"
)

// jsonLayer is a layer of the numpy fixture (ntk/testdata/conv_kernels.py).
type jsonLayer struct {
	Op       string      `json:"op"`
	Size     []int       `json:"size"`
	Stride   []int       `json:"stride"`
	Padding  string      `json:"padding"`
	WStd     float64     `json:"w_std"`
	BStd     float64     `json:"b_std"`
	Act      string      `json:"act"`
	Spatial  bool        `json:"spatial"`
	Eps      float64     `json:"eps"`
	Branch   []jsonLayer `json:"branch"`
	Shortcut []jsonLayer `json:"shortcut"`
}

func convLayersOf(t *testing.T, ls []jsonLayer) []ConvLayer {
	var out []ConvLayer
	for _, l := range ls {
		var c ConvLayer
		switch l.Op {
		case "conv":
			c = ConvLayer{Op: OpConv, Size: [2]int{l.Size[0], l.Size[1]}, Padding: Padding(l.Padding), WStd: l.WStd, BStd: l.BStd}
		case "dense":
			c = Dense(l.WStd, l.BStd)
		case "act":
			c = Act(nn.Activation(l.Act))
		case "avgpool":
			c = ConvLayer{Op: OpAvgPool, Size: [2]int{l.Size[0], l.Size[1]}, Stride: [2]int{l.Stride[0], l.Stride[1]}, Padding: Padding(l.Padding)}
		case "gap":
			c = GlobalAvgPool()
		case "flatten":
			c = Flatten()
		case "layernorm":
			c = LayerNorm(l.Spatial)
			c.Eps = l.Eps
		case "residual":
			c = Residual(convLayersOf(t, l.Branch), convLayersOf(t, l.Shortcut))
		default:
			t.Fatalf("fixture layer %q unknown", l.Op)
		}
		out = append(out, c)
	}
	return out
}

// TestConvMatchesNumpy compares Kernels and Gram with an independent numpy
// implementation of the recursions over full pixel-pair tensors, for
// Flatten and GlobalAvgPool readouts, ReLU, leaky ReLU, erf and identity,
// SAME and VALID padding, with and without bias, pooling, residual blocks
// and layer norms. The Flatten cases without pooling run here on
// same-pixel covariances only, so they check that shortcut too.
func TestConvMatchesNumpy(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "conv_kernels.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fix struct {
		Cases []struct {
			Name      string
			Shape     []int
			Layers    []jsonLayer
			X1, X2    []float64
			NNGP, NTK []float64
			GramNNGP  []float64 `json:"gram_nngp"`
			GramNTK   []float64 `json:"gram_ntk"`
		}
	}
	if err := json.Unmarshal(raw, &fix); err != nil {
		t.Fatal(err)
	}
	if len(fix.Cases) < 10 {
		t.Fatalf("fixture has %d cases, want 10", len(fix.Cases))
	}
	for _, c := range fix.Cases {
		t.Run(c.Name, func(t *testing.T) {
			shape := [3]int{c.Shape[0], c.Shape[1], c.Shape[2]}
			d := shape[0] * shape[1] * shape[2]
			x1 := mat.NewDense(len(c.X1)/d, d, c.X1)
			x2 := mat.NewDense(len(c.X2)/d, d, c.X2)
			arch := ConvArch{Layers: convLayersOf(t, c.Layers)}
			k, err := arch.Kernels(x1, x2, shape)
			if err != nil {
				t.Fatal(err)
			}
			g, err := arch.Gram(x1, shape)
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, got mat.Matrix, want []float64) {
				r, cc := got.Dims()
				for i := 0; i < r; i++ {
					for j := 0; j < cc; j++ {
						if w := want[i*cc+j]; !relClose(got.At(i, j), w, 1e-10) {
							t.Errorf("%s(%d, %d) = %.15g, numpy %.15g", what, i, j, got.At(i, j), w)
						}
					}
				}
			}
			check("NNGP", k.NNGP, c.NNGP)
			check("NTK", k.NTK, c.NTK)
			check("Gram NNGP", g.NNGP, c.GramNNGP)
			check("Gram NTK", g.NTK, c.GramNTK)
		})
	}
}

// randImages returns n images of shape c x h x w with rows of varied
// scales.
func randImages(rng *rand.Rand, n int, shape [3]int) *mat.Dense {
	return randInputs(rng, n, shape[0]*shape[1]*shape[2])
}

// On 1x1 images a 1x1 convolution is a Dense layer on the channels, so a
// ConvArch of such layers has the kernels of the MLP Arch, bit for bit up
// to the rounding of the input kernel.
func TestConvOneByOneIsMLP(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const d = 7
	x1, x2 := randInputs(rng, 4, d), randInputs(rng, 3, d)
	for _, act := range []nn.Activation{nn.ReLU, nn.Erf, nn.LeakyReLU, nn.Identity} {
		for _, readout := range []ConvLayer{Flatten(), GlobalAvgPool()} {
			for depth := 0; depth <= 3; depth++ {
				mlp := Arch{Depth: depth, Act: act, WStd: 1.3, BStd: 0.2}
				var layers []ConvLayer
				for l := 0; l < depth; l++ {
					layers = append(layers, Conv(1, Same, 1.3, 0.2), Act(act))
				}
				layers = append(layers, readout, Dense(1.3, 0.2))
				conv := ConvArch{Layers: layers}
				for _, x2 := range []*mat.Dense{nil, x2} {
					want, err := mlp.Kernels(x1, x2)
					if err != nil {
						t.Fatal(err)
					}
					got, err := conv.Kernels(x1, x2, [3]int{d, 1, 1})
					if err != nil {
						t.Fatal(err)
					}
					if !mat.EqualApprox(got.NNGP, want.NNGP, 1e-13) || !mat.EqualApprox(got.NTK, want.NTK, 1e-13) {
						t.Errorf("%s depth %d %v: conv 1x1 kernels\n%v\n%v\ndiffer from the MLP's\n%v\n%v", act, depth, readout.Op,
							mat.Formatted(got.NNGP), mat.Formatted(got.NTK), mat.Formatted(want.NNGP), mat.Formatted(want.NTK))
					}
				}
			}
		}
	}
}

// A VALID convolution whose filter covers the image has one output pixel
// and fan-in C*H*W: it is a Dense layer on the flattened image, so
// Conv(full) -> act -> Flatten -> Dense is the MLP of one hidden layer.
func TestConvFullFilterIsDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	shape := [3]int{2, 4, 3}
	x1, x2 := randImages(rng, 4, shape), randImages(rng, 3, shape)
	for _, act := range []nn.Activation{nn.ReLU, nn.Erf} {
		conv := ConvArch{Layers: []ConvLayer{
			{Op: OpConv, Size: [2]int{4, 3}, Padding: Valid, WStd: 1.4, BStd: 0.3},
			Act(act), Flatten(), Dense(1.4, 0.3),
		}}
		mlp := Arch{Depth: 1, Act: act, WStd: 1.4, BStd: 0.3}
		want, err := mlp.Kernels(x1, x2)
		if err != nil {
			t.Fatal(err)
		}
		got, err := conv.Kernels(x1, x2, shape)
		if err != nil {
			t.Fatal(err)
		}
		if !mat.EqualApprox(got.NNGP, want.NNGP, 1e-13) || !mat.EqualApprox(got.NTK, want.NTK, 1e-13) {
			t.Errorf("%s: full-filter conv kernels differ from Dense:\n%v\n%v", act, mat.Formatted(got.NNGP), mat.Formatted(want.NNGP))
		}
	}
}

// convTestArchs are a Flatten architecture (same-pixel states) and a
// GlobalAvgPool one with pooling and a residual block (all pixel pairs).
func convTestArchs() []ConvArch {
	return []ConvArch{
		{Layers: []ConvLayer{Conv(3, Same, 1.5, 0.1), Act(nn.ReLU), Conv(3, Same, 1.5, 0.1), Act(nn.ReLU), Flatten(), Dense(1, 0)}},
		{Layers: []ConvLayer{
			Conv(3, Same, 1.5, 0.1),
			Residual([]ConvLayer{Act(nn.Erf), Conv(3, Same, 1.2, 0)}, nil),
			AvgPool(2, 2, Valid), Act(nn.ReLU), Conv(2, Valid, 1.3, 0.1), Act(nn.ReLU), GlobalAvgPool(), Dense(1, 0),
		}},
	}
}

// The work is divided among workers by input pairs, each pair computed
// the same way whoever takes it: the kernels are identical bit for bit at
// any GOMAXPROCS.
func TestConvDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	shape := [3]int{2, 6, 6}
	x1, x2 := randImages(rng, 37, shape), randImages(rng, 19, shape)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for ai, arch := range convTestArchs() {
		var ref []*mat.Dense
		for _, procs := range []int{1, 2, 3, 8} {
			runtime.GOMAXPROCS(procs)
			k, err := arch.Kernels(x1, x2, shape)
			if err != nil {
				t.Fatal(err)
			}
			g, err := arch.Gram(x1, shape)
			if err != nil {
				t.Fatal(err)
			}
			got := []*mat.Dense{k.NNGP, k.NTK, mat.DenseCopyOf(g.NNGP), mat.DenseCopyOf(g.NTK)}
			if ref == nil {
				ref = got
				continue
			}
			for i := range got {
				if !slices.Equal(got[i].RawMatrix().Data, ref[i].RawMatrix().Data) {
					t.Errorf("arch %d: kernel %d at GOMAXPROCS=%d differs from GOMAXPROCS=1", ai, i, procs)
				}
			}
		}
		// Gram is Kernels(x, x) with the lower triangle mirrored.
		k, err := arch.Kernels(x1, x1, shape)
		if err != nil {
			t.Fatal(err)
		}
		if !mat.EqualApprox(k.NNGP, ref[2], 1e-12) || !mat.EqualApprox(k.NTK, ref[3], 1e-12) {
			t.Errorf("arch %d: Gram differs from Kernels(x, x)", ai)
		}
		if !mat.Equal(ref[2], ref[2].T()) {
			t.Errorf("arch %d: Gram is not symmetric", ai)
		}
	}
}

// The state form follows the readout: same-pixel covariances for Flatten
// without pooling, all pixel pairs below a pooling layer.
func TestConvCost(t *testing.T) {
	archs := convTestArchs()
	for i, want := range []bool{false, true} {
		c, err := archs[i].Cost([3]int{1, 28, 28})
		if err != nil {
			t.Fatal(err)
		}
		if c.FullPixelPairs != want {
			t.Errorf("arch %d: FullPixelPairs = %v, want %v", i, c.FullPixelPairs, want)
		}
		if wantLen := map[bool]int{false: 784, true: 784 * 784}[want]; c.StateFloats != wantLen {
			t.Errorf("arch %d: StateFloats = %d, want %d", i, c.StateFloats, wantLen)
		}
	}
}

func TestConvErrors(t *testing.T) {
	x := mat.NewDense(2, 2*4*4, nil)
	shape := [3]int{2, 4, 4}
	for _, c := range []struct {
		layers []ConvLayer
		shape  [3]int
		want   string
	}{
		{nil, shape, "no layers"},
		{[]ConvLayer{Conv(3, Same, 1, 0), Act(nn.ReLU)}, shape, "no readout"},
		{[]ConvLayer{Flatten(), GlobalAvgPool()}, shape, "second readout"},
		{[]ConvLayer{Flatten(), Conv(3, Same, 1, 0)}, shape, "follows the readout"},
		{[]ConvLayer{Conv(5, Valid, 1, 0), Flatten()}, shape, "exceeds the 4x4 image"},
		{[]ConvLayer{Conv(3, "FULL", 1, 0), Flatten()}, shape, "want SAME or VALID"},
		{[]ConvLayer{Conv(3, Same, -1, 0), Flatten()}, shape, "non-negative"},
		{[]ConvLayer{Act("softsign"), Flatten()}, shape, "no closed-form kernel"},
		{[]ConvLayer{Conv(3, Same, 1, 0), Act(nn.ReLU), LayerNorm(false), Flatten()}, shape, "centred Gaussian"},
		{[]ConvLayer{Conv(3, Same, 1, 0), Residual([]ConvLayer{Conv(3, Valid, 1, 0)}, nil), Flatten()}, shape, "make them agree"},
		{[]ConvLayer{Conv(3, Same, 1, 0), Residual([]ConvLayer{Act(nn.ReLU)}, nil), Flatten()}, shape, "centred Gaussian paths"},
		{[]ConvLayer{Conv(3, Same, 1, 0), Residual(nil, nil), Flatten()}, shape, "neither path"},
		{[]ConvLayer{Residual([]ConvLayer{Flatten()}, nil)}, shape, "inside a residual"},
		{[]ConvLayer{Conv(3, Same, 1, 0), Flatten()}, [3]int{3, 4, 4}, "need C*H*W = 48"},
		{[]ConvLayer{Conv(3, Same, 1, 0), Flatten()}, [3]int{0, 4, 4}, "must be positive"},
		{[]ConvLayer{{}, Flatten()}, shape, "unknown operation"},
		{[]ConvLayer{{Op: OpConv, Size: [2]int{3, 3}, Stride: [2]int{2, 2}}, Flatten()}, shape, "stride [2 2] is not implemented"},
		{[]ConvLayer{Conv(3, Same, 1, 0), AvgPool(5, 1, Valid), GlobalAvgPool()}, shape, "window 5x5 exceeds"},
	} {
		_, err := ConvArch{Layers: c.layers}.Kernels(x, nil, c.shape)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one containing %q", c.layers, err, c.want)
		}
	}
	if _, err := (ConvArch{Layers: []ConvLayer{Flatten()}}).Gram(nil, shape); err == nil {
		t.Error("Gram(nil) gave no error")
	}
	bad := mat.NewDense(1, 32, nil)
	bad.Set(0, 3, math.NaN())
	if _, err := (ConvArch{Layers: []ConvLayer{Flatten()}}).Kernels(bad, nil, shape); err == nil || !strings.Contains(err.Error(), "non-finite") {
		t.Errorf("NaN input: error %v", err)
	}
}

// convForward is a finite-width forward pass of the network
// Conv(3, SAME) -> ReLU -> AvgPool(2, 1, VALID) -> Conv(2, VALID) -> erf
// -> GlobalAvgPool on one image x [c][h][w], in the NTK parameterization
// with N(0, 1) weights: it returns the pooled features g of the last
// layer's n channels.
type convNet struct {
	c, h, w, n int
	w1, b1     []float64 // [n][c][3][3], [n]
	w2, b2     []float64 // [n][n][2][2], [n]
	s1, s2     [2]float64
}

func newConvNet(rng *rand.Rand, c, h, w, n int, s1, s2 [2]float64) *convNet {
	g := func(k int) []float64 {
		v := make([]float64, k)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		return v
	}
	return &convNet{c: c, h: h, w: w, n: n, w1: g(n * c * 9), b1: g(n), w2: g(n * n * 4), b2: g(n), s1: s1, s2: s2}
}

func (m *convNet) forward(x []float64) []float64 {
	h, w, n := m.h, m.w, m.n
	// Layer 1: 3x3 SAME, fan-in c*9, then ReLU.
	a1 := make([]float64, n*h*w)
	norm1 := m.s1[0] / math.Sqrt(float64(m.c*9))
	for o := 0; o < n; o++ {
		for i := 0; i < h; i++ {
			for j := 0; j < w; j++ {
				var s float64
				for c := 0; c < m.c; c++ {
					for di := 0; di < 3; di++ {
						for dj := 0; dj < 3; dj++ {
							ii, jj := i+di-1, j+dj-1
							if ii >= 0 && ii < h && jj >= 0 && jj < w {
								s += m.w1[((o*m.c+c)*3+di)*3+dj] * x[(c*h+ii)*w+jj]
							}
						}
					}
				}
				a1[(o*h+i)*w+j] = math.Max(norm1*s+m.s1[1]*m.b1[o], 0)
			}
		}
	}
	// AvgPool 2x2, stride 1, VALID.
	ph, pw := h-1, w-1
	p1 := make([]float64, n*ph*pw)
	for o := 0; o < n; o++ {
		for i := 0; i < ph; i++ {
			for j := 0; j < pw; j++ {
				b := a1[o*h*w:]
				p1[(o*ph+i)*pw+j] = (b[i*w+j] + b[i*w+j+1] + b[(i+1)*w+j] + b[(i+1)*w+j+1]) / 4
			}
		}
	}
	// Layer 2: 2x2 VALID, fan-in n*4, then erf and the mean over pixels.
	oh, ow := ph-1, pw-1
	g := make([]float64, n)
	norm2 := m.s2[0] / math.Sqrt(float64(n*4))
	for o := 0; o < n; o++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				var s float64
				for c := 0; c < n; c++ {
					wt := m.w2[(o*n+c)*4:]
					b := p1[c*ph*pw:]
					s += wt[0]*b[i*pw+j] + wt[1]*b[i*pw+j+1] + wt[2]*b[(i+1)*pw+j] + wt[3]*b[(i+1)*pw+j+1]
				}
				g[o] += math.Erf(norm2*s + m.s2[1]*m.b2[o])
			}
		}
		g[o] /= float64(oh * ow)
	}
	return g
}

// TestConvMonteCarloNNGP samples finite conv nets of n channels and
// compares the mean of the output covariance with the NNGP kernel. Each
// net contributes E[f(x) f(x') | hidden layers] = W^2 g.g'/n + b^2 (the
// readout weights integrated out exactly); the estimate has a standard
// error O(1/sqrt(n M)) over M nets and a finite-width bias O(1/n), which
// at n = 256 and M = 64 is below the standard error, so the test asks for
// agreement within 3 standard errors.
func TestConvMonteCarloNNGP(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	shape := [3]int{2, 4, 4}
	x := randImages(rng, 3, shape)
	s1, s2, s3 := [2]float64{1.5, 0.2}, [2]float64{1.3, 0.1}, [2]float64{1.2, 0.1}
	arch := ConvArch{Layers: []ConvLayer{
		Conv(3, Same, s1[0], s1[1]), Act(nn.ReLU), AvgPool(2, 1, Valid),
		Conv(2, Valid, s2[0], s2[1]), Act(nn.Erf), GlobalAvgPool(), Dense(s3[0], s3[1]),
	}}
	g, err := arch.Gram(x, shape)
	if err != nil {
		t.Fatal(err)
	}
	const n, nets = 256, 64
	var sum, sumSq [3][3]float64
	for range nets {
		m := newConvNet(rng, shape[0], shape[1], shape[2], n, s1, s2)
		var feats [3][]float64
		for i := range feats {
			feats[i] = m.forward(x.RawRowView(i))
		}
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				var dot float64
				for c := 0; c < n; c++ {
					dot += feats[i][c] * feats[j][c]
				}
				v := s3[0]*s3[0]*dot/n + s3[1]*s3[1]
				sum[i][j] += v
				sumSq[i][j] += v * v
			}
		}
	}
	for i := 0; i < 3; i++ {
		for j := i; j < 3; j++ {
			mean := sum[i][j] / nets
			se := math.Sqrt((sumSq[i][j]/nets - mean*mean) / (nets - 1))
			want := g.NNGP.At(i, j)
			t.Logf("K(%d, %d): analytic %.5f, Monte Carlo %.5f +- %.5f (z = %+.2f)", i, j, want, mean, se, (mean-want)/se)
			if math.Abs(mean-want) > 3*se {
				t.Errorf("K(%d, %d): Monte Carlo %.5f +- %.5f is more than 3 standard errors from the analytic %.5f", i, j, mean, se, want)
			}
		}
	}
}

// A Flatten readout needs only same-pixel covariances; an identity
// AvgPool (1x1 window) before it makes Kernels carry all pixel pairs
// instead. The two must agree.
func TestConvDiagonalMatchesFull(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	shape := [3]int{3, 6, 5}
	x1, x2 := randImages(rng, 4, shape), randImages(rng, 3, shape)
	body := []ConvLayer{
		Conv(3, Same, 1.5, 0.1), Act(nn.Erf), {Op: OpConv, Size: [2]int{2, 3}, Padding: Valid, WStd: 1.2, BStd: 0.2},
		LayerNorm(false), Residual([]ConvLayer{Conv(3, Same, 1.1, 0)}, nil), Act(nn.ReLU),
	}
	diag := ConvArch{Layers: append(slices.Clone(body), Flatten(), Dense(1, 0.1))}
	full := ConvArch{Layers: append(slices.Clone(body), AvgPool(1, 1, Valid), Flatten(), Dense(1, 0.1))}
	for i, want := range []bool{false, true} {
		c, err := []ConvArch{diag, full}[i].Cost(shape)
		if err != nil {
			t.Fatal(err)
		}
		if c.FullPixelPairs != want {
			t.Fatalf("arch %d: FullPixelPairs = %v, want %v", i, c.FullPixelPairs, want)
		}
	}
	a, err := diag.Kernels(x1, x2, shape)
	if err != nil {
		t.Fatal(err)
	}
	b, err := full.Kernels(x1, x2, shape)
	if err != nil {
		t.Fatal(err)
	}
	if !mat.EqualApprox(a.NNGP, b.NNGP, 1e-14) || !mat.EqualApprox(a.NTK, b.NTK, 1e-14) {
		t.Errorf("same-pixel kernels\n%v\ndiffer from all-pixel-pair kernels\n%v", mat.Formatted(a.NTK), mat.Formatted(b.NTK))
	}
}
