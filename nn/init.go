package nn

import (
	"math"
	"math/rand/v2"

	"github.com/gradflow/gradflow/tensor"
)

// The initializers fill a weight tensor [out, in] (fan_in = in, fan_out =
// out, the layout of torch.nn.Linear) from an explicit random source, so a
// seed fixes the model bit for bit. A nil source is a programming error:
// they panic saying so.

// fans returns fan_in and fan_out of a weight [out, in, ...]: the
// receptive field (product of trailing dimensions) counts into both, as in
// PyTorch.
func fans[T Float](w *tensor.Tensor[T]) (in, out int) {
	s := w.Shape()
	switch len(s) {
	case 0:
		return 1, 1
	case 1:
		return s[0], s[0]
	}
	rf := 1
	for _, d := range s[2:] {
		rf *= d
	}
	return s[1] * rf, s[0] * rf
}

// Zeros sets w to zero.
func Zeros[T Float](w *tensor.Tensor[T]) { w.Zero() }

// Normal fills w with N(0, std^2) draws.
func Normal[T Float](w *tensor.Tensor[T], std float64, rng *rand.Rand) {
	tensor.FillRandN(w, rng, 0, T(std))
}

// Uniform fills w with draws from U(-bound, bound).
func Uniform[T Float](w *tensor.Tensor[T], bound float64, rng *rand.Rand) {
	if bound == 0 {
		w.Zero()
		return
	}
	tensor.FillRandU(w, rng, T(-bound), T(bound))
}

// LeCunNormal draws N(0, 1/fan_in): unit output variance for linear units.
func LeCunNormal[T Float](w *tensor.Tensor[T], rng *rand.Rand) {
	in, _ := fans(w)
	Normal(w, math.Sqrt(1/float64(in)), rng)
}

// LeCunUniform draws U(-sqrt(3/fan_in), sqrt(3/fan_in)), variance 1/fan_in.
func LeCunUniform[T Float](w *tensor.Tensor[T], rng *rand.Rand) {
	in, _ := fans(w)
	Uniform(w, math.Sqrt(3/float64(in)), rng)
}

// HeNormal draws N(0, 2/fan_in) (He et al. 2015): variance preserved
// through ReLU, which zeroes half of its input.
func HeNormal[T Float](w *tensor.Tensor[T], rng *rand.Rand) {
	in, _ := fans(w)
	Normal(w, math.Sqrt(2/float64(in)), rng)
}

// HeUniform draws U(-sqrt(6/fan_in), sqrt(6/fan_in)), variance 2/fan_in.
func HeUniform[T Float](w *tensor.Tensor[T], rng *rand.Rand) {
	in, _ := fans(w)
	Uniform(w, math.Sqrt(6/float64(in)), rng)
}

// GlorotNormal draws N(0, 2/(fan_in+fan_out)) (Glorot-Bengio 2010).
func GlorotNormal[T Float](w *tensor.Tensor[T], rng *rand.Rand) {
	in, out := fans(w)
	Normal(w, math.Sqrt(2/float64(in+out)), rng)
}

// GlorotUniform draws U(-sqrt(6/(fan_in+fan_out)), +sqrt(...)).
func GlorotUniform[T Float](w *tensor.Tensor[T], rng *rand.Rand) {
	in, out := fans(w)
	Uniform(w, math.Sqrt(6/float64(in+out)), rng)
}

// TorchLinearWeight draws U(-1/sqrt(fan_in), 1/sqrt(fan_in)): what
// torch.nn.Linear's default (kaiming_uniform with a = sqrt 5) amounts to.
func TorchLinearWeight[T Float](w *tensor.Tensor[T], rng *rand.Rand) {
	in, _ := fans(w)
	Uniform(w, 1/math.Sqrt(float64(in)), rng)
}

// TorchLinearBias draws the bias of a torch.nn.Linear with fanIn inputs
// from U(-1/sqrt(fanIn), 1/sqrt(fanIn)).
func TorchLinearBias[T Float](b *tensor.Tensor[T], fanIn int, rng *rand.Rand) {
	Uniform(b, 1/math.Sqrt(float64(fanIn)), rng)
}

// Orthogonal fills the 2-D w [out, in] with a (semi-)orthogonal matrix
// times gain: orthonormal rows if out <= in, orthonormal columns
// otherwise (Saxe et al. 2014). It orthonormalizes a Gaussian matrix by
// modified Gram-Schmidt in float64 and fixes the signs as a QR
// decomposition with positive diagonal would, so the result is Haar
// distributed.
func Orthogonal[T Float](w *tensor.Tensor[T], gain float64, rng *rand.Rand) {
	if w.NDim() != 2 {
		panic("nn.Orthogonal: need a 2-D tensor, got shape " + shapeStr(w.Shape()))
	}
	if rng == nil {
		panic("nn.Orthogonal: rng is nil")
	}
	r, c := w.Dim(0), w.Dim(1)
	// Work on the tall orientation: k vectors of length n, k <= n.
	k, n, transpose := r, c, false
	if r > c {
		k, n, transpose = c, r, true
	}
	q := make([]float64, k*n)
	for i := range q {
		q[i] = rng.NormFloat64()
	}
	for i := 0; i < k; i++ {
		vi := q[i*n : (i+1)*n]
		for j := 0; j < i; j++ {
			vj := q[j*n : (j+1)*n]
			var d float64
			for p := range vi {
				d += vi[p] * vj[p]
			}
			for p := range vi {
				vi[p] -= d * vj[p]
			}
		}
		var nrm float64
		for _, x := range vi {
			nrm += x * x
		}
		nrm = math.Sqrt(nrm)
		for p := range vi {
			vi[p] /= nrm
		}
	}
	d := w.Data()
	for i := 0; i < k; i++ {
		for p := 0; p < n; p++ {
			x := T(gain * q[i*n+p])
			if transpose {
				d[p*c+i] = x
			} else {
				d[i*c+p] = x
			}
		}
	}
}
