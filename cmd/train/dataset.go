package main

import (
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/tensor"
)

// task is a loaded dataset ready for training: a train and a test part,
// standardized with statistics of the train part.
type task[T tensor.Float] struct {
	name        string
	train, test *data.Dataset[T]
	classes     int // 0 for regression
	outputs     int // width the model's output must have
}

// loadTask reads the --data spec:
//
//	digits                         the embedded UCI optical digits (8x8, 10 classes)
//	mnist:DIR                      the four MNIST IDX files in DIR
//	csv:FILE[,label=COL][,regression]
//	                               numeric CSV; COL is a header name or a 1-based column
//	                               number, negative counting from the end (default: last)
//	synthetic:NAME[,n=N][,d=D]     spirals, gaussians, teacher, sinusoid, linear
func loadTask[T tensor.Float](spec string, testFrac float64, seed uint64) (*task[T], error) {
	kind, rest, _ := strings.Cut(spec, ":")
	split := func(ds *data.Dataset[T], name string) (*task[T], error) {
		tr, _, te, err := ds.Split(rand.New(rand.NewPCG(seed, 0x5eed)), data.SplitSpec{Test: testFrac, Stratify: ds.Labels != nil})
		if err != nil {
			return nil, usagef("--data %s: %v", spec, err)
		}
		return finishTask(name, tr, te)
	}
	switch kind {
	case "digits":
		if rest != "" {
			return nil, usagef("--data digits takes no argument (got %q)", spec)
		}
		ds, err := data.Digits[T]()
		if err != nil {
			return nil, err
		}
		return split(ds, "digits")
	case "mnist":
		if rest == "" {
			return nil, usagef("--data mnist:DIR needs the directory of the four MNIST files")
		}
		tr, te, err := data.MNIST[T](rest)
		if err != nil {
			return nil, usageError{err}
		}
		return finishTaskScaled("mnist", tr, te, data.StandardizeGlobal)
	case "csv":
		opts, file, err := csvOptions(rest)
		if err != nil {
			return nil, err
		}
		ds, err := data.ReadCSVFile[T](file, opts)
		if err != nil {
			return nil, usageError{err}
		}
		return split(ds, "csv:"+file)
	case "synthetic":
		ds, err := synthetic[T](rest, seed)
		if err != nil {
			return nil, err
		}
		return split(ds, "synthetic:"+rest)
	}
	return nil, usagef("--data %q: want digits, mnist:DIR, csv:FILE[,label=COL] (COL a header name or a 1-based column number) or synthetic:NAME", spec)
}

func finishTask[T tensor.Float](name string, tr, te *data.Dataset[T]) (*task[T], error) {
	return finishTaskScaled(name, tr, te, data.Standardize)
}

// finishTaskScaled standardizes with statistics of the train part: per
// feature for tabular data, one mean and std for images (per-pixel
// statistics would blow up the rare ink in nearly blank border pixels).
func finishTaskScaled[T tensor.Float](name string, tr, te *data.Dataset[T], method data.ScaleMethod) (*task[T], error) {
	if _, err := data.FitScaler(method, tr, te); err != nil {
		return nil, err
	}
	t := &task[T]{name: name, train: tr, test: te, classes: tr.NumClasses}
	if tr.Labels != nil {
		t.outputs = tr.NumClasses
	} else {
		t.outputs = tr.Y.Dim(1)
	}
	return t, nil
}

func csvOptions(rest string) (data.CSVOptions, string, error) {
	parts := strings.Split(rest, ",")
	var opts data.CSVOptions
	if parts[0] == "" {
		return opts, "", usagef("--data csv:FILE needs a file name")
	}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "label":
			if n, err := strconv.Atoi(v); err == nil {
				opts.LabelColumn = n
			} else {
				opts.LabelName = v
			}
		case "regression":
			opts.Target = data.TargetReal
		default:
			return opts, "", usagef("--data csv: unknown option %q (want label=COL, with COL a header name or a 1-based column number, or regression)", p)
		}
	}
	return opts, parts[0], nil
}

func synthetic[T tensor.Float](rest string, seed uint64) (*data.Dataset[T], error) {
	parts := strings.Split(rest, ",")
	name := parts[0]
	n, d := 2000, 10
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		x, err := strconv.Atoi(v)
		if err != nil || x <= 0 {
			return nil, usagef("--data synthetic:%s: option %q needs a positive integer", name, p)
		}
		switch k {
		case "n":
			n = x
		case "d":
			d = x
		default:
			return nil, usagef("--data synthetic:%s: unknown option %q (want n=N or d=D)", name, p)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0xda7a))
	var ds *data.Dataset[T]
	var err error
	switch name {
	case "spirals":
		ds, err = data.TwoSpirals[T](rng, n, 2, 0.05)
	case "gaussians":
		ds, _, err = data.GaussianMixture[T](rng, n, d, 4, 3, 1)
	case "teacher":
		ds, _, err = data.TeacherStudent[T](rng, n, data.TeacherConfig{Dims: []int{d, 32, 4}, Activation: tensor.Tanh, Classify: true})
	case "sinusoid":
		ds, err = data.Sinusoid[T](rng, n, 1, 0.05)
	case "linear":
		ds, _, err = data.LinearRegression[T](rng, n, d, 0.1)
	default:
		return nil, usagef("--data synthetic:%q: unknown generator (want spirals, gaussians, teacher, sinusoid or linear)", name)
	}
	if err != nil {
		return nil, usageError{err}
	}
	return ds, nil
}
