package sweep

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/internal/outfile"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/ntk"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
	"github.com/gradflow/gradflow/train"
)

// Record is one line of a run's result file: the measurements at the
// parameters reached after Step updates (step 0 is the initialization),
// on the whole training set, and the loss and accuracy on the held-out set
// if the sweep has one (Dataset.TestN > 0).
type Record struct {
	Step     int      `json:"step"`
	Loss     float64  `json:"loss"`
	Accuracy *float64 `json:"accuracy,omitempty"` // classification only
	// TestLoss and TestAccuracy are the loss and (classification only)
	// accuracy on the Dataset.TestN held-out points, computed like Loss
	// and Accuracy with gradients off; absent without a held-out set.
	TestLoss     *float64 `json:"test_loss,omitempty"`
	TestAccuracy *float64 `json:"test_accuracy,omitempty"`
	// WeightChange is ||theta_t - theta_0|| / ||theta_0|| over all
	// parameters.
	WeightChange float64 `json:"weight_change"`
	// KernelDrift is ||Theta_t - Theta_0||_F / ||Theta_0||_F of the
	// learning-rate-weighted empirical NTK Theta = sum_p s_p J_p J_p^T
	// (ntk.Empirical with ntk.LRWeights: s_p the SGD learning-rate
	// multiplier of parameter tensor p under the run's parameterization)
	// on the first KernelPoints inputs, present at the steps where it was
	// measured. See the package documentation for why the weights.
	KernelDrift *float64 `json:"kernel_drift,omitempty"`
	// Displacement is the mean over the neurons of the first hidden layer
	// of the norm of the change of the neuron's incoming weights, bias and
	// outgoing weights: the particle displacement of mean-field theory.
	Displacement float64 `json:"displacement"`
	// Coord[l] is the mean |h_l| over the training set and units of the
	// output of layer l (after its activation; the last is the network's
	// output): the coordinate size of Yang and Hu's coordinate check.
	Coord []float64 `json:"coord"`
	// CoordDelta[l] is the mean |h_l(t) - h_l(0)|.
	CoordDelta []float64 `json:"coord_delta"`
	// Geometry is the geometry of the run's objective, on the last record
	// of a run that reached Config.Steps in a sweep with a Config.Geometry
	// block; absent otherwise.
	Geometry *Geometry `json:"geometry,omitempty"`
}

// header and trailer lines of a result file.
type runHeader struct {
	Run RunSpec `json:"run"`
}

type runTrailer struct {
	Done bool `json:"done"`
	// DivergedAt is the step at which the loss or an output became
	// non-finite (the records stop before it); 0 if the run finished.
	DivergedAt int `json:"diverged_at,omitempty"`
}

const (
	configFile = "config.json"
	runsDir    = "runs"
)

// RunFile returns the path of the result file of run spec in outDir.
func RunFile(outDir string, spec RunSpec) string {
	return filepath.Join(outDir, runsDir, spec.ID+".jsonl")
}

// Run executes the runs of cfg that belong to shard, at most workers at a
// time (workers <= 0 means 1), writing outDir/config.json and one result file
// outDir/runs/<id>.jsonl per run: a header line {"run": RunSpec}, one Record
// per line, and a trailer {"done": true}. A result file is written to a
// temporary name and renamed when complete, so a run whose file exists and
// ends with the trailer is finished and is not redone: calling Run again
// after an interruption resumes the sweep. Each run depends only on its
// RunSpec (its seed) and the configuration, so results do not depend on the
// worker count, the shard or the machine's GOMAXPROCS. progress, if not nil,
// receives one line per run.
//
// outDir must be empty or hold the same configuration (config.json is
// compared byte for byte); shards of a sweep may share one directory.
func Run(ctx context.Context, cfg Config, outDir string, shard Shard, workers int, progress io.Writer) error {
	c, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	if err := shard.validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(outDir, runsDir), 0o755); err != nil {
		return err
	}
	if err := writeConfig(outDir, c); err != nil {
		return err
	}
	ds, test, err := makeDatasets(c)
	if err != nil {
		return err
	}
	var todo []RunSpec
	all := c.Runs()
	for _, r := range all {
		if shard.Owns(r.Index) && !complete(RunFile(outDir, r)) {
			todo = append(todo, r)
			removeTemp(RunFile(outDir, r))
		}
	}
	if workers <= 0 {
		workers = 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan RunSpec)
	var (
		mu       sync.Mutex
		firstErr error
		done     int
		wg       sync.WaitGroup
	)
	for range min(workers, max(len(todo), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for spec := range jobs {
				msg, err := runOne(ctx, c, ds, test, spec, outDir)
				mu.Lock()
				done++
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("sweep: run %s: %w", spec.ID, err)
					cancel()
				}
				if progress != nil && err == nil {
					fmt.Fprintf(progress, "[shard %s] %d/%d %s %s\n", shard, done, len(todo), spec.ID, msg)
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, r := range todo {
		select {
		case jobs <- r:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// writeConfig writes outDir/config.json, or checks that the one there is
// the same sweep.
func writeConfig(outDir string, c Config) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	path := filepath.Join(outDir, configFile)
	old, err := os.ReadFile(path)
	switch {
	case err == nil:
		if !bytes.Equal(old, b) {
			return configErrorf("sweep: %s holds another sweep's configuration; use a fresh output directory", path)
		}
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	return outfile.WriteBytes(path, b)
}

// removeTemp removes the temporary files that an interrupted write of the
// result file path left (its run is redone; no other shard owns it).
func removeTemp(path string) {
	dir, base := filepath.Split(path)
	for _, pattern := range []string{"." + base + ".tmp*", base + ".tmp*"} {
		old, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, f := range old {
			os.Remove(f)
		}
	}
}

// complete reports whether path is a finished result file (ends with the
// trailer line).
func complete(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	_, _, _, err = parseRunFile(b)
	return err == nil
}

// parseRunFile decodes a result file; it fails unless the file is complete.
func parseRunFile(b []byte) (RunSpec, []Record, runTrailer, error) {
	var h runHeader
	var recs []Record
	var tr runTrailer
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<26)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Bytes()
		switch {
		case line == 1:
			if err := json.Unmarshal(text, &h); err != nil || h.Run.ID == "" {
				return h.Run, nil, tr, fmt.Errorf("line 1: not a run header")
			}
		case bytes.HasPrefix(text, []byte(`{"done"`)):
			if err := json.Unmarshal(text, &tr); err != nil || !tr.Done {
				return h.Run, nil, tr, fmt.Errorf("line %d: bad trailer", line)
			}
			if sc.Scan() {
				return h.Run, nil, tr, fmt.Errorf("line %d: data after the trailer", line+1)
			}
			return h.Run, recs, tr, nil
		default:
			var r Record
			if err := json.Unmarshal(text, &r); err != nil {
				return h.Run, nil, tr, fmt.Errorf("line %d: %v", line, err)
			}
			recs = append(recs, r)
		}
	}
	return h.Run, nil, tr, fmt.Errorf("incomplete: no trailer line")
}

// makeDataset generates the training set of c.
func makeDataset(c Config) (*data.Dataset[float64], error) {
	ds, _, err := makeDatasets(c)
	return ds, err
}

// makeDatasets generates the training set of c and its held-out set (nil
// unless c.Dataset.TestN > 0). The training set does not depend on TestN:
// the held-out points are drawn after it (teacher kinds, from the same
// generator and teacher) or are the rows after it (digits).
func makeDatasets(c Config) (trainSet, testSet *data.Dataset[float64], err error) {
	d := c.Dataset
	rng := rand.New(rand.NewPCG(d.Seed, 0x5eed))
	switch d.Kind {
	case "digits":
		all, err := data.Digits[float64]()
		if err != nil {
			return nil, nil, err
		}
		if d.N > all.Len() {
			return nil, nil, configErrorf("sweep config: field \"dataset.n\": %d exceeds the %d digits", d.N, all.Len())
		}
		if d.TestN > 0 && d.N+d.TestN > all.Len() {
			return nil, nil, configErrorf("sweep config: field \"dataset.test_n\": dataset.n + dataset.test_n = %d exceeds the %d digits", d.N+d.TestN, all.Len())
		}
		digitRows := func(lo, hi int) *data.Dataset[float64] {
			rows := make([]int, hi-lo)
			for i := range rows {
				rows[i] = lo + i
			}
			ds := all.Subset(rows)
			x := ds.X.Data()
			for i := range x {
				x[i] /= 16
			}
			return ds
		}
		trainSet = digitRows(0, d.N)
		if d.TestN > 0 {
			testSet = digitRows(d.N, d.N+d.TestN)
		}
		return trainSet, testSet, nil
	case "teacher-class":
		tc := data.TeacherConfig{Dims: []int{d.Dim, 8, d.Classes}, Activation: tensor.Tanh, Classify: true}
		trainSet, teacher, err := data.TeacherStudent[float64](rng, d.N, tc)
		if err != nil || d.TestN == 0 {
			return trainSet, nil, err
		}
		testSet, err = heldOut(rng, teacher, d, tc)
		return trainSet, testSet, err
	}
	tc := data.TeacherConfig{Dims: []int{d.Dim, 8, 1}, Activation: tensor.Tanh, Noise: d.Noise}
	if d.Kind == "teacher-sphere" {
		tc.Inputs = data.SphereInputs
	}
	trainSet, teacher, err := data.TeacherStudent[float64](rng, d.N, tc)
	if err != nil {
		return nil, nil, err
	}
	if d.TestN > 0 {
		if testSet, err = heldOut(rng, teacher, d, tc); err != nil {
			return nil, nil, err
		}
	}
	if d.Kind == "teacher-sphere" {
		// Radius sqrt(d): coordinates O(1), as the parameterizations assume.
		s := math.Sqrt(float64(d.Dim))
		for _, ds := range []*data.Dataset[float64]{trainSet, testSet} {
			if ds == nil {
				continue
			}
			x := ds.X.Data()
			for i := range x {
				x[i] *= s
			}
		}
	}
	return trainSet, testSet, nil
}

// heldOut draws d.TestN further points from rng (in the state the training
// set left it) the way data.TeacherStudent draws its points for tc, and
// labels them with the training set's teacher: inputs from tc.Inputs, then
// for regression the teacher's outputs plus tc.Noise Gaussian noise, for
// classification the argmax of the teacher's outputs. The sphere scaling
// is left to the caller.
func heldOut(rng *rand.Rand, teacher *data.Teacher[float64], d Dataset, tc data.TeacherConfig) (*data.Dataset[float64], error) {
	var x *tensor.Tensor[float64]
	if tc.Inputs == data.SphereInputs {
		var err error
		if x, err = data.Sphere[float64](rng, d.TestN, d.Dim); err != nil {
			return nil, err
		}
	} else {
		v := make([]float64, d.TestN*d.Dim)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		x = tensor.FromSlice(v, d.TestN, d.Dim)
	}
	out := teacher.Forward(x)
	ds := &data.Dataset[float64]{X: x}
	if !tc.Classify {
		if tc.Noise > 0 {
			o := out.Data()
			for i := range o {
				o[i] += tc.Noise * rng.NormFloat64()
			}
		}
		ds.Y = out
		return ds, nil
	}
	k := out.Dim(1)
	labels := make([]int32, d.TestN)
	o := out.Data()
	for i := range labels {
		row := o[i*k : (i+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		labels[i] = int32(best)
	}
	ds.Labels, ds.NumClasses = labels, k
	return ds, nil
}

// outputs returns the output width of a model for ds.
func outputs(ds *data.Dataset[float64]) int {
	if ds.Labels != nil {
		return ds.NumClasses
	}
	return ds.Y.Dim(1)
}

// NewModel builds the MLP of run spec: dims [d, n x Depth, k], the run's
// parameterization, initialized from PCG(seed, width).
func NewModel(c Config, spec RunSpec, inputs, outputs int) (*nn.MLP[float64], error) {
	dims := []int{inputs}
	for range c.Depth {
		dims = append(dims, spec.Width)
	}
	dims = append(dims, outputs)
	cfg := nn.MLPConfig{Dims: dims, Activation: c.Activation, Parameterization: spec.Parameterization,
		WStd: c.WStd, BStd: c.BStd, AdaptiveLR: spec.Optimizer == "adam"}
	return nn.NewMLP[float64](cfg, rand.New(rand.NewPCG(spec.Seed, uint64(spec.Width))))
}

// newOptimizer builds the run's optimizer: PyTorch's defaults for
// spec.Optimizer with the run's learning rate.
func newOptimizer(spec RunSpec, params []*nn.Param[float64]) (optim.Optimizer[float64], error) {
	os, err := optim.DefaultSpec(spec.Optimizer)
	if err != nil {
		return nil, err
	}
	os.LR = spec.LR
	return optim.New(params, os)
}

// lossFor is the loss of a run on ds: cross-entropy for class labels, half
// the mean squared error (the NTK convention) for real targets.
func lossFor(ds *data.Dataset[float64]) train.Loss[float64] {
	if ds.Labels != nil {
		return &train.CrossEntropy[float64]{}
	}
	return &train.MSE[float64]{Half: true}
}

// lossValue is lossFor's loss of out on ds, on out's tape.
func lossValue(out *autograd.Var[float64], ds *data.Dataset[float64]) float64 {
	return lossFor(ds).Eval(out, &data.Batch[float64]{Y: ds.Y, Labels: ds.Labels}).Value().Item()
}

// runOne trains one run and writes its result file; it returns a short
// summary for the progress line.
func runOne(ctx context.Context, c Config, ds, test *data.Dataset[float64], spec RunSpec, outDir string) (string, error) {
	recs, diverged, err := runTrain(ctx, c, ds, test, spec)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if err := enc.Encode(runHeader{spec}); err != nil {
		return "", err
	}
	for i := range recs {
		if err := enc.Encode(&recs[i]); err != nil {
			return "", err
		}
	}
	if err := enc.Encode(runTrailer{Done: true, DivergedAt: diverged}); err != nil {
		return "", err
	}
	if err := outfile.WriteBytes(RunFile(outDir, spec), buf.Bytes()); err != nil {
		return "", err
	}
	last := recs[len(recs)-1]
	if diverged > 0 {
		return fmt.Sprintf("diverged at step %d", diverged), nil
	}
	return fmt.Sprintf("loss %.4g", last.Loss), nil
}

// Train runs one point of the grid in memory and returns its records and,
// if the loss became non-finite, the step at which it did (the records stop
// before it). It is what Run does for each run, without files. If
// c.Dataset.TestN > 0 the records also carry the held-out metrics, on the
// held-out set generated from c (ds is then expected to be c's training set).
func Train(ctx context.Context, c Config, ds *data.Dataset[float64], spec RunSpec) ([]Record, int, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, 0, err
	}
	var test *data.Dataset[float64]
	if c.Dataset.TestN > 0 {
		if _, test, err = makeDatasets(c); err != nil {
			return nil, 0, err
		}
	}
	return runTrain(ctx, c, ds, test, spec)
}

// runTrain is Train with the held-out set test (nil: none) given; c must
// be valid. The steps are train.Trainer's (full-batch when c.BatchSize is
// 0); the measurements ride along as a callback, at the parameters reached
// after every LogEvery-th step.
func runTrain(ctx context.Context, c Config, ds, test *data.Dataset[float64], spec RunSpec) ([]Record, int, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, 0, err
	}
	mc := &meterCallback{c: c}
	model, tr, err := newRunTrainer(c, spec, ds, mc)
	if err != nil {
		return nil, 0, err
	}
	mc.m = newMeter(c, model, ds, test)
	if c.Geometry != nil {
		if mc.geo, err = newGeometryMeter(c, model.Module, ds); err != nil {
			return nil, 0, err
		}
	}
	if !mc.measure(0) || c.Steps == 0 || mc.err != nil {
		return mc.result()
	}
	if mc.geo != nil {
		mc.geo.step(0, spec.LR)
	}
	_, err = tr.Run(ctx)
	var div *train.DivergenceError
	switch {
	case errors.As(err, &div):
		// A non-finite loss is the loss at the parameters of the step
		// before; a non-finite gradient makes the next parameters so.
		mc.diverged = div.Step
		if div.What == "loss" {
			mc.diverged = max(div.Step-1, 1)
		}
	case err != nil:
		return nil, 0, err
	}
	if last := len(mc.recs) - 1; mc.geo != nil && mc.diverged == 0 && mc.err == nil && mc.recs[last].Step == c.Steps {
		mc.recs[last].Geometry = mc.geo.finish(mc.m.theta0)
	}
	return mc.result()
}

// newRunTrainer builds the model of run spec and the train.Trainer that
// trains it on ds for c.Steps steps (at least 1): full-batch when the
// run's batch size (c.BatchSize, or spec.BatchSize on a grid of batch
// sizes) is 0, else shuffled batches without the short last one.
func newRunTrainer(c Config, spec RunSpec, ds *data.Dataset[float64], cb train.Callback[float64]) (*runModel, *train.Trainer[float64], error) {
	model, err := buildModel(c, spec, ds)
	if err != nil {
		return nil, nil, err
	}
	opt, err := newOptimizer(spec, model.Params())
	if err != nil {
		return nil, nil, err
	}
	lc := data.LoaderConfig{BatchSize: ds.Len()}
	if b := c.batchSize(spec); b > 0 {
		lc = data.LoaderConfig{BatchSize: b, Shuffle: true, Seed: spec.Seed, DropLast: true}
	}
	loader, err := data.NewLoader(ds, lc)
	if err != nil {
		return nil, nil, err
	}
	tr, err := train.New(train.Config[float64]{Model: model.Module, Loss: lossFor(ds), Optimizer: opt, Train: loader,
		Steps: max(c.Steps, 1), Callbacks: []train.Callback[float64]{cb}})
	return model, tr, err
}

// meterCallback takes a Record after step 0 and every LogEvery-th step
// (and the last), stopping the run when the outputs are no longer finite.
type meterCallback struct {
	m        *meter
	geo      *geometryMeter // nil without Config.Geometry
	c        Config
	recs     []Record
	diverged int
	err      error
}

// measure records step and reports whether the run goes on.
func (mc *meterCallback) measure(step int) bool {
	c := mc.c
	kernel := c.KernelEvery >= 0 && (step == 0 || step == c.Steps || c.KernelEvery > 0 && step%c.KernelEvery == 0)
	r, ok, err := mc.m.measure(step, kernel)
	switch {
	case err != nil:
		mc.err = err
		return false
	case !ok:
		mc.diverged = max(step, 1)
		return false
	}
	mc.recs = append(mc.recs, r)
	return true
}

func (mc *meterCallback) result() ([]Record, int, error) {
	if mc.err != nil {
		return nil, 0, mc.err
	}
	return mc.recs, mc.diverged, nil
}

// OnStep implements train.Callback.
func (mc *meterCallback) OnStep(s *train.Step[float64]) error {
	if s.Step == mc.c.Steps || s.Step%mc.c.LogEvery == 0 {
		if !mc.measure(s.Step) {
			if mc.err != nil {
				return mc.err
			}
			return train.ErrStop
		}
	}
	if mc.geo != nil {
		mc.geo.step(s.Step, s.LR)
	}
	return nil
}

// OnRecord implements train.Callback.
func (*meterCallback) OnRecord(*train.Record) error { return nil }

// meter takes the measurements of a Record.
type meter struct {
	model  *runModel
	ds     *data.Dataset[float64]
	probe  *tensor.Tensor[float64]
	theta0 [][]float64
	h0     [][]float64
	k0     *tensor.Tensor[float64]
	// weights are the learning-rate multipliers of the kernel whose
	// drift is recorded (ntk.LRWeights).
	weights func(string) float64
	tape    *autograd.Tape[float64]
	layers  []*autograd.Var[float64]
	// test is the held-out set (nil: none), evaluated on testTape with
	// gradients off.
	test     *data.Dataset[float64]
	testTape *autograd.Tape[float64]
}

func newMeter(c Config, model *runModel, ds *data.Dataset[float64], test *data.Dataset[float64]) *meter {
	m := &meter{model: model, ds: ds, tape: autograd.NewTape[float64](), weights: model.weights}
	if test != nil {
		m.test = test
		m.testTape = autograd.NewTape[float64]()
		m.testTape.SetGradEnabled(false)
	}
	m.probe = ds.X.Rows(0, c.KernelPoints)
	for _, p := range model.Params() {
		m.theta0 = append(m.theta0, append([]float64(nil), p.Value.Data()...))
	}
	return m
}

// measure returns the record of the current parameters, or ok = false if
// the outputs are not finite.
func (m *meter) measure(step int, kernel bool) (r Record, ok bool, err error) {
	m.tape.Reset()
	m.layers = m.model.forwardLayers(m.layers, m.tape, m.tape.Const(m.ds.X))
	out := m.layers[len(m.layers)-1]
	loss := lossValue(out, m.ds)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return r, false, nil
	}
	r = Record{Step: step, Loss: loss}
	if m.ds.Labels != nil {
		acc := nn.Accuracy(out.Value(), m.ds.Labels)
		r.Accuracy = &acc
	}
	if m.test != nil {
		m.testTape.Reset()
		out := m.model.Forward(m.testTape, m.testTape.Const(m.test.X))
		// A non-finite held-out loss (outputs finite on the training set
		// only) is left out rather than ending the run.
		if tl := lossValue(out, m.test); !math.IsNaN(tl) && !math.IsInf(tl, 0) {
			r.TestLoss = &tl
		}
		if m.test.Labels != nil {
			acc := nn.Accuracy(out.Value(), m.test.Labels)
			r.TestAccuracy = &acc
		}
	}
	if m.h0 == nil {
		for _, h := range m.layers {
			m.h0 = append(m.h0, append([]float64(nil), h.Value().Data()...))
		}
	}
	for l, h := range m.layers {
		var s, d float64
		for i, v := range h.Value().Data() {
			s += math.Abs(v)
			d += math.Abs(v - m.h0[l][i])
		}
		n := float64(h.Value().Len())
		r.Coord = append(r.Coord, s/n)
		r.CoordDelta = append(r.CoordDelta, d/n)
	}
	var num, den float64
	for i, p := range m.model.Params() {
		for j, v := range p.Value.Data() {
			d := v - m.theta0[i][j]
			num += d * d
			den += m.theta0[i][j] * m.theta0[i][j]
		}
	}
	r.WeightChange = math.Sqrt(num / den)
	r.Displacement = displacement(m.model.Params(), m.theta0)
	if kernel {
		k, err := ntk.Empirical(m.model.Module, m.probe, nil, ntk.Options{ParamWeight: m.weights})
		if err != nil {
			return r, false, err
		}
		if m.k0 == nil {
			m.k0 = k
		}
		drift, err := ntk.KernelDriftTensor(m.k0, k)
		if err != nil {
			return r, false, err
		}
		if math.IsNaN(drift) || math.IsInf(drift, 0) {
			return r, false, nil
		}
		r.KernelDrift = &drift
	}
	return r, true, nil
}
