package sweep

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
)

// Config is a sweep: the grid Widths x Parameterizations x Seeds x LRs x
// Optimizers of MLPs with Depth hidden layers of equal width, each trained for
// Steps steps on Dataset. It is what a JSON config file holds (field names
// as in the json tags).
type Config struct {
	Name    string  `json:"name,omitempty"`
	Dataset Dataset `json:"dataset"`
	// Widths are the hidden widths n (every hidden layer has width n).
	Widths []int `json:"widths"`
	// Net, if not empty, replaces the MLP by the net this spec template
	// describes (nn.Net's grammar with width placeholders {w} and {Kw},
	// nn.NetSpecWidth), e.g. "conv{w}k3p1-relu-maxpool2-flatten-fc10" on
	// digits ([1 8 8] images): the width axis scales the channels. The
	// parameterizations are nn.NewNetWith's (mean field only for two
	// weight layers); Depth and Activation do not apply.
	Net string `json:"net,omitempty"`
	// Depth is the number of hidden layers (default 1: a two-layer net).
	Depth      int           `json:"depth,omitempty"`
	Activation nn.Activation `json:"activation,omitempty"` // default tanh
	// Parameterizations among "standard", "ntk", "meanfield", "mup".
	Parameterizations []nn.Parameterization `json:"parameterizations"`
	Seeds             []uint64              `json:"seeds"`
	// LRs are base learning rates; each parameter's rate is lr times its
	// LRScale (set by the parameterization).
	LRs []float64 `json:"lrs"`
	// Optimizers among "sgd" and "adam" (default ["sgd"]); "adam" builds
	// the model with the adaptive learning-rate scales.
	Optimizers []string `json:"optimizers,omitempty"`
	Steps      int      `json:"steps"`
	// BatchSize is the minibatch size (0: full batch, the dataset in order).
	BatchSize int `json:"batch_size,omitempty"`
	// BatchSizes, if not empty, makes the minibatch size a grid axis (the
	// innermost, after Optimizers): every run trains with shuffled
	// batches of its RunSpec.BatchSize, each in [1, dataset.n]. It
	// excludes BatchSize.
	BatchSizes []int `json:"batch_sizes,omitempty"`
	// LogEvery is the number of steps between records (default 1); step 0
	// and the last step are always recorded.
	LogEvery int `json:"log_every,omitempty"`
	// KernelEvery is the number of steps between kernel-drift
	// measurements (0: only at step 0 and the last step; -1: never).
	KernelEvery int `json:"kernel_every,omitempty"`
	// KernelPoints is the number of training inputs (the first ones) the
	// empirical NTK is measured on (default 16).
	KernelPoints int `json:"kernel_points,omitempty"`
	// WStd and BStd are nn.MLPConfig's weight and bias scales.
	WStd float64 `json:"wstd,omitempty"`
	BStd float64 `json:"bstd,omitempty"`
	// Geometry, if not nil, has every run measure the geometry of its
	// training objective and record it with its last record
	// (Record.Geometry), for the correlations of Report.Correlations.
	Geometry *GeometryConfig `json:"geometry,omitempty"`
}

// ExampleConfig is a small sweep as a JSON configuration file (what
// "train sweep init" writes and "train sweep" runs without -config): NTK,
// mean-field and muP scaling of a two-layer tanh net on a teacher on the
// sphere, small enough to finish in seconds on a laptop and wide enough (6
// widths over a factor 32, 4 seeds) for the slopes to mean something:
// weight change ~ n^-1/2 under NTK, displacement ~ n^0 under mean field and
// muP.
const ExampleConfig = `{
  "name": "example: NTK vs mean-field vs muP scaling of a two-layer tanh net",
  "dataset": {"kind": "teacher-sphere", "n": 32, "dim": 8, "seed": 1},
  "widths": [64, 128, 256, 512, 1024, 2048],
  "depth": 1,
  "activation": "tanh",
  "parameterizations": ["ntk", "meanfield", "mup"],
  "seeds": [1, 2, 3, 4],
  "lrs": [0.5],
  "optimizers": ["sgd"],
  "steps": 100,
  "batch_size": 0,
  "log_every": 10,
  "kernel_every": 0,
  "kernel_points": 16
}
`

// GeometryExampleConfig is a sweep of the geometry of training against
// generalization (what "train sweep init -geometry" writes): two-layer
// ReLU nets in the standard parameterization trained by SGD on 256 UCI
// digits for 500 steps, held out on 512 others, over 3 widths x 3
// learning rates x 3 batch sizes x 2 seeds (54 runs). Every run measures
// its geometry on a fixed probe subset of 64 training examples
// (GeometryConfig), and "train sweep analyze" ranks each measure against
// the generalization gap (Report.Correlations). It runs in seconds.
const GeometryExampleConfig = `{
  "name": "geometry vs generalization on digits: widths x learning rates x batch sizes",
  "dataset": {"kind": "digits", "n": 256, "test_n": 512},
  "widths": [8, 32, 128],
  "depth": 1,
  "activation": "relu",
  "parameterizations": ["standard"],
  "seeds": [1, 2],
  "lrs": [0.03, 0.1, 0.3],
  "optimizers": ["sgd"],
  "steps": 500,
  "batch_sizes": [8, 32, 128],
  "log_every": 50,
  "kernel_every": -1,
  "geometry": {"probe": 64, "seed": 1, "every": 10, "lanczos_iters": 20, "trace_probes": 10}
}
`

// Dataset selects the training data of a sweep, generated from its own seed
// so that every run of a sweep sees the same data.
type Dataset struct {
	// Kind is "teacher" (regression on a random tanh teacher with 8 hidden
	// units, Gaussian inputs), "teacher-sphere" (the same with inputs on
	// the unit sphere scaled by sqrt(d)), "teacher-class" (classification
	// by the argmax of a teacher with Classes outputs) or "digits" (the
	// embedded UCI digits, first N rows, pixels scaled to [0, 1]).
	Kind    string  `json:"kind"`
	N       int     `json:"n"`                 // number of training points
	Dim     int     `json:"dim,omitempty"`     // input dimension (teacher kinds)
	Classes int     `json:"classes,omitempty"` // teacher-class (default 2)
	Noise   float64 `json:"noise,omitempty"`   // target noise (teacher)
	Seed    uint64  `json:"seed,omitempty"`
	// TestN is the number of held-out points (default 0: none), drawn
	// from the same distribution as the training points: for the teacher
	// kinds, further draws of the same generator labelled by the same
	// teacher (disjoint from the training draws); for digits, the TestN
	// rows after the first N (so N + TestN <= 1797). When positive, every
	// Record also carries the held-out loss (and accuracy).
	TestN int `json:"test_n,omitempty"`
}

// metricLayers returns the number of layers (Depth + 1).
func (c Config) layers() int { return c.Depth + 1 }

// withDefaults fills the defaults and validates c; errors name the field.
func (c Config) withDefaults() (Config, error) {
	if c.Net != "" && (c.Depth != 0 || c.Activation != "") {
		return c, configErrorf("sweep config: fields \"depth\" and \"activation\" apply to MLPs; a net (field \"net\") has the layers of its spec: leave them out")
	}
	if c.Depth == 0 && c.Net == "" {
		c.Depth = 1
	}
	if c.Activation == "" && c.Net == "" {
		c.Activation = nn.Tanh
	}
	if len(c.Optimizers) == 0 {
		c.Optimizers = []string{"sgd"}
	}
	if c.LogEvery == 0 {
		c.LogEvery = 1
	}
	if c.KernelPoints == 0 && c.KernelEvery != -1 {
		// 16 points, or all of a smaller dataset (an explicit value must
		// fit the dataset).
		c.KernelPoints = min(16, max(c.Dataset.N, 1))
	}
	if c.Dataset.Kind == "teacher-class" && c.Dataset.Classes == 0 {
		c.Dataset.Classes = 2
	}
	fail := func(field, format string, a ...any) (Config, error) {
		return c, configErrorf("sweep config: field %q: %s", field, fmt.Sprintf(format, a...))
	}
	switch c.Dataset.Kind {
	case "teacher", "teacher-sphere", "teacher-class":
		if c.Dataset.Dim <= 0 {
			return fail("dataset.dim", "%d must be positive", c.Dataset.Dim)
		}
		if c.Dataset.Kind == "teacher-class" && c.Dataset.Classes < 2 {
			return fail("dataset.classes", "%d must be at least 2", c.Dataset.Classes)
		}
		if c.Dataset.Kind != "teacher-class" && c.Dataset.Classes != 0 {
			return fail("dataset.classes", "applies to teacher-class only")
		}
	case "digits":
		if c.Dataset.Dim != 0 {
			return fail("dataset.dim", "is fixed to 64 for digits")
		}
		if c.Dataset.Classes != 0 && c.Dataset.Classes != 10 {
			return fail("dataset.classes", "is fixed to 10 for digits")
		}
	default:
		return fail("dataset.kind", "%q is unknown (want teacher, teacher-sphere, teacher-class or digits)", c.Dataset.Kind)
	}
	if c.Dataset.N <= 0 {
		return fail("dataset.n", "%d must be positive", c.Dataset.N)
	}
	if c.Dataset.TestN < 0 {
		return fail("dataset.test_n", "%d must be non-negative", c.Dataset.TestN)
	}
	if c.Dataset.Kind == "digits" && c.Dataset.TestN > 0 && c.Dataset.N <= data.DigitsRows && c.Dataset.N+c.Dataset.TestN > data.DigitsRows {
		return fail("dataset.test_n", "dataset.n + dataset.test_n = %d exceeds the %d digits", c.Dataset.N+c.Dataset.TestN, data.DigitsRows)
	}
	if len(c.Widths) == 0 {
		return fail("widths", "is empty")
	}
	for i, w := range c.Widths {
		if w <= 0 {
			return fail("widths", "entry %d is %d, must be positive", i, w)
		}
	}
	if c.Depth < 0 {
		return fail("depth", "%d must be positive", c.Depth)
	}
	if c.Net != "" {
		if err := checkNet(c); err != nil {
			return fail("net", "%v", err)
		}
	}
	if c.Net == "" && !c.Activation.Valid() {
		return fail("activation", "%q is unknown", c.Activation)
	}
	if len(c.Parameterizations) == 0 {
		return fail("parameterizations", "is empty")
	}
	for i, p := range c.Parameterizations {
		if !p.Valid() {
			return fail("parameterizations", "entry %d %q is unknown (want standard, ntk, meanfield or mup)", i, p)
		}
	}
	if len(c.Seeds) == 0 {
		return fail("seeds", "is empty")
	}
	if len(c.LRs) == 0 {
		return fail("lrs", "is empty")
	}
	for i, lr := range c.LRs {
		if !(lr > 0) || math.IsInf(lr, 0) {
			return fail("lrs", "entry %d is %v, must be positive and finite", i, lr)
		}
	}
	for i, o := range c.Optimizers {
		if o != "sgd" && o != "adam" {
			return fail("optimizers", "entry %d %q is unknown (want sgd or adam)", i, o)
		}
	}
	if c.Steps <= 0 {
		return fail("steps", "%d must be positive", c.Steps)
	}
	if c.BatchSize < 0 || c.BatchSize > c.Dataset.N {
		return fail("batch_size", "%d must be in [0, dataset.n = %d]", c.BatchSize, c.Dataset.N)
	}
	if len(c.BatchSizes) > 0 && c.BatchSize != 0 {
		return fail("batch_sizes", "give batch_size or batch_sizes, not both")
	}
	for i, b := range c.BatchSizes {
		if b < 1 || b > c.Dataset.N {
			return fail("batch_sizes", "entry %d is %d, must be in [1, dataset.n = %d]", i, b, c.Dataset.N)
		}
		if slices.Contains(c.BatchSizes[:i], b) {
			return fail("batch_sizes", "entry %d repeats %d", i, b)
		}
	}
	if c.LogEvery < 0 {
		return fail("log_every", "%d must be positive", c.LogEvery)
	}
	if c.KernelEvery < -1 {
		return fail("kernel_every", "%d must be >= -1", c.KernelEvery)
	}
	if c.KernelEvery != -1 && (c.KernelPoints < 1 || c.KernelPoints > c.Dataset.N) {
		return fail("kernel_points", "%d must be in [1, dataset.n = %d]", c.KernelPoints, c.Dataset.N)
	}
	if c.WStd < 0 || c.BStd < 0 {
		return fail("wstd", "wstd %v and bstd %v must be non-negative", c.WStd, c.BStd)
	}
	if c.Geometry != nil {
		g, field, err := c.Geometry.withDefaults(c)
		if err != nil {
			return fail(field, "%v", err)
		}
		c.Geometry = &g
	}
	return c, nil
}

// Validate reports whether c is a valid sweep, naming the field at fault.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

// LoadConfig reads a sweep configuration from a JSON file. Unknown fields
// are refused; errors name the file, the line and column, and the field.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	c, err := ParseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes and validates a JSON sweep configuration.
func ParseConfig(b []byte) (Config, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return Config{}, decodeError(b, dec, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		line, col := lineCol(b, int(dec.InputOffset()))
		return Config{}, fmt.Errorf("line %d column %d: data after the configuration object", line, col)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// decodeError turns a json error into one naming the line, column and field.
func decodeError(b []byte, dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := lineCol(b, int(se.Offset))
		return fmt.Errorf("line %d column %d: %v", line, col, se)
	case errors.As(err, &te):
		line, col := lineCol(b, int(te.Offset))
		return fmt.Errorf("line %d column %d: field %q: cannot use a JSON %s as %v", line, col, te.Field, te.Value, te.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// The decoder reports no offset for unknown fields: locate the key.
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		off := int(dec.InputOffset())
		if i := bytes.Index(b, []byte(name)); i >= 0 {
			off = i
		}
		line, col := lineCol(b, off)
		return fmt.Errorf("line %d column %d: unknown field %s", line, col, name)
	}
	line, col := lineCol(b, int(dec.InputOffset()))
	return fmt.Errorf("line %d column %d: %v", line, col, err)
}

func lineCol(b []byte, off int) (line, col int) {
	off = min(max(off, 0), len(b))
	line = 1 + bytes.Count(b[:off], []byte{'\n'})
	col = off - bytes.LastIndexByte(b[:off], '\n')
	return line, col
}

// ParseParameterizations reads a comma-separated list of
// parameterizations as a command line takes it (nn.ParseParameterization:
// the names of nn.Parameterization and the short forms sp and mf), in the
// order given, each once.
func ParseParameterizations(s string) ([]nn.Parameterization, error) {
	var out []nn.Parameterization
	for _, name := range strings.Split(s, ",") {
		p, err := nn.ParseParameterization(strings.TrimSpace(name))
		if err != nil {
			return nil, fmt.Errorf("sweep: unknown parameterization %q (want mup, sp, ntk or mf)", strings.TrimSpace(name))
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// RunSpec is one point of the grid.
type RunSpec struct {
	// Index is the position in the grid's canonical order (widths
	// outermost, then parameterizations, seeds, learning rates,
	// optimizers, batch sizes), which decides the shard a run belongs to.
	Index            int                 `json:"index"`
	ID               string              `json:"id"`
	Width            int                 `json:"width"`
	Parameterization nn.Parameterization `json:"parameterization"`
	Seed             uint64              `json:"seed"`
	LR               float64             `json:"lr"`
	Optimizer        string              `json:"optimizer"`
	// BatchSize is the run's minibatch size when the grid has
	// Config.BatchSizes (0 otherwise: Config.BatchSize applies).
	BatchSize int `json:"batch_size,omitempty"`
}

// batchSize is the minibatch size run spec trains with (0: full batch).
func (c Config) batchSize(spec RunSpec) int {
	if spec.BatchSize > 0 {
		return spec.BatchSize
	}
	return c.BatchSize
}

// Runs expands the grid in canonical order. c must be valid.
func (c Config) Runs() []RunSpec {
	var out []RunSpec
	opts := c.Optimizers
	if len(opts) == 0 {
		opts = []string{"sgd"}
	}
	batches := c.BatchSizes
	if len(batches) == 0 {
		batches = []int{0} // Config.BatchSize, not part of the ID
	}
	for _, w := range c.Widths {
		for _, p := range c.Parameterizations {
			for _, s := range c.Seeds {
				for _, lr := range c.LRs {
					for _, o := range opts {
						for _, b := range batches {
							id := fmt.Sprintf("w%06d-%s-s%d-lr%s-%s", w, p, s, strconv.FormatFloat(lr, 'g', -1, 64), o)
							if b > 0 {
								id += fmt.Sprintf("-b%d", b)
							}
							out = append(out, RunSpec{Index: len(out), ID: id, Width: w, Parameterization: p, Seed: s, LR: lr, Optimizer: o, BatchSize: b})
						}
					}
				}
			}
		}
	}
	return out
}

// ConfigError reports a problem the user controls: an invalid sweep
// configuration, or an output directory that holds another sweep. A CLI
// maps it to a usage error.
type ConfigError struct{ msg string }

// Error implements error.
func (e *ConfigError) Error() string { return e.msg }

func configErrorf(format string, a ...any) error { return &ConfigError{fmt.Sprintf(format, a...)} }
