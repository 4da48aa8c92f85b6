package data

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/gradflow/gradflow/tensor"
)

// Task is a loaded dataset ready for training: a train and a test part,
// standardized with statistics of the train part.
type Task[T tensor.Float] struct {
	// Name says where the data came from ("digits", "csv:iris.csv", ...).
	Name        string
	Train, Test *Dataset[T]
	Classes     int // 0 for regression
	Outputs     int // width the model's output must have
}

// LoadTask loads the dataset a spec names (the -data flag of the command
// line) and splits it into a train and a test part (testFrac of the rows,
// stratified by class, from seed; MNIST has its own test set), both
// standardized with statistics of the train part:
//
//	digits                         the embedded UCI optical digits (8x8, 10 classes)
//	mnist:DIR                      the four MNIST IDX files in DIR
//	csv:FILE[,label=COL][,regression][,classes=NAME:NAME:...]
//	                               numeric CSV; COL is a header name or a 1-based column
//	                               number, negative counting from the end (default: last;
//	                               label=0 is refused); classes declares the class names
//	                               (see CSVOptions.Classes)
//	synthetic:NAME[,n=N][,d=D]     spirals, gaussians, teacher, sinusoid, linear
//
// Errors name the spec and say what it takes.
func LoadTask[T tensor.Float](spec string, testFrac float64, seed uint64) (*Task[T], error) {
	kind, rest, _ := strings.Cut(spec, ":")
	split := func(ds *Dataset[T], name string) (*Task[T], error) {
		tr, _, te, err := ds.Split(rand.New(rand.NewPCG(seed, 0x5eed)), SplitSpec{Test: testFrac, Stratify: ds.Labels != nil})
		if err != nil {
			return nil, fmt.Errorf("--data %s: %v", spec, err)
		}
		return finishStandardized(name, tr, te)
	}
	switch kind {
	case "digits":
		if rest != "" {
			return nil, fmt.Errorf("--data digits takes no argument (got %q)", spec)
		}
		ds, err := Digits[T]()
		if err != nil {
			return nil, err
		}
		return split(ds, "digits")
	case "mnist":
		if rest == "" {
			return nil, fmt.Errorf("--data mnist:DIR needs the directory of the four MNIST files")
		}
		tr, te, err := MNIST[T](rest)
		if err != nil {
			return nil, err
		}
		return finishScaled("mnist", tr, te, StandardizeGlobal)
	case "csv":
		opts, file, err := csvSpecOptions(rest)
		if err != nil {
			return nil, err
		}
		ds, err := readCSVFile[T](file, opts, true)
		if err != nil {
			return nil, err
		}
		return split(ds, "csv:"+file)
	case "synthetic":
		ds, err := syntheticSpec[T](rest, seed)
		if err != nil {
			return nil, err
		}
		return split(ds, "synthetic:"+rest)
	}
	return nil, fmt.Errorf("--data %q: want digits, mnist:DIR, csv:FILE[,label=COL] (COL a header name or a 1-based column number) or synthetic:NAME", spec)
}

func finishStandardized[T tensor.Float](name string, tr, te *Dataset[T]) (*Task[T], error) {
	return finishScaled(name, tr, te, Standardize)
}

// finishScaled standardizes with statistics of the train part: per
// feature for tabular data, one mean and std for images (per-pixel
// statistics would blow up the rare ink in nearly blank border pixels).
func finishScaled[T tensor.Float](name string, tr, te *Dataset[T], method ScaleMethod) (*Task[T], error) {
	if _, err := FitScaler(method, tr, te); err != nil {
		return nil, err
	}
	t := &Task[T]{Name: name, Train: tr, Test: te, Classes: tr.NumClasses}
	if tr.Labels != nil {
		t.Outputs = tr.NumClasses
	} else {
		t.Outputs = tr.Y.Dim(1)
	}
	return t, nil
}

func csvSpecOptions(rest string) (CSVOptions, string, error) {
	parts := strings.Split(rest, ",")
	var opts CSVOptions
	if parts[0] == "" {
		return opts, "", fmt.Errorf("--data csv:FILE needs a file name")
	}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "label":
			n, err := strconv.Atoi(v)
			switch {
			case v == "":
				return opts, "", fmt.Errorf("--data csv: label= needs a column: a header name or a 1-based column number")
			case err != nil:
				opts.LabelName = v
			case n == 0:
				// CSVOptions.LabelColumn takes 0 for "the last column",
				// which a user who counts from 0 would not expect.
				return opts, "", fmt.Errorf("--data csv: label=0: columns count from 1 (label=1 is the first column, label=-1 the last)")
			default:
				opts.LabelColumn = n
			}
		case "regression":
			opts.Target = TargetReal
		case "classes":
			opts.Classes = strings.Split(v, ":")
		default:
			return opts, "", fmt.Errorf("--data csv: unknown option %q (want label=COL, with COL a header name or a 1-based column number, regression, or classes=NAME:NAME:...)", p)
		}
	}
	if opts.Classes != nil && opts.Target != TargetClass {
		return opts, "", fmt.Errorf("--data csv: classes= declares class names; regression reads a real target instead: give one or the other")
	}
	return opts, parts[0], nil
}

func syntheticSpec[T tensor.Float](rest string, seed uint64) (*Dataset[T], error) {
	parts := strings.Split(rest, ",")
	name := parts[0]
	n, d := 2000, 10
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		x, err := strconv.Atoi(v)
		if err != nil || x <= 0 {
			return nil, fmt.Errorf("--data synthetic:%s: option %q needs a positive integer", name, p)
		}
		switch k {
		case "n":
			n = x
		case "d":
			d = x
		default:
			return nil, fmt.Errorf("--data synthetic:%s: unknown option %q (want n=N or d=D)", name, p)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0xda7a))
	var ds *Dataset[T]
	var err error
	switch name {
	case "spirals":
		ds, err = TwoSpirals[T](rng, n, 2, 0.05)
	case "gaussians":
		ds, _, err = GaussianMixture[T](rng, n, d, 4, 3, 1)
	case "teacher":
		ds, _, err = TeacherStudent[T](rng, n, TeacherConfig{Dims: []int{d, 32, 4}, Activation: tensor.Tanh, Classify: true})
	case "sinusoid":
		ds, err = Sinusoid[T](rng, n, 1, 0.05)
	case "linear":
		ds, _, err = LinearRegression[T](rng, n, d, 0.1)
	default:
		return nil, fmt.Errorf("--data synthetic:%q: unknown generator (want spirals, gaussians, teacher, sinusoid or linear)", name)
	}
	if err != nil {
		return nil, err
	}
	return ds, nil
}
