package train

import (
	"fmt"

	"github.com/gradflow/gradflow/autograd"
	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/tensor"
)

// The checks below catch a model, loss and dataset that do not fit together
// (a regression dataset with the cross-entropy loss, an input or output
// width that differs from the data) before a run starts, as an error that
// names the dataset and the widths. Without them the first step or the
// first evaluation panics deep inside an op.

// checkData checks the model and loss of cfg against the first batch that
// cfg.Train will deliver and against every evaluation dataset.
func checkData[T tensor.Float](cfg *Config[T]) error {
	if err := checkLoader(cfg.Model, cfg.Loss, "Config.Train", cfg.Train); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	for i, e := range cfg.Evals {
		if e.Data == nil {
			return fmt.Errorf("train: Evals[%d] (%q) has no dataset", i, e.Name)
		}
		if err := checkDataset(cfg.Model, cfg.Loss, fmt.Sprintf("eval %q", e.Name), e.Data); err != nil {
			return fmt.Errorf("train: %w", err)
		}
	}
	return nil
}

// checkLoader checks the model and loss against the batch ld delivers next,
// then puts ld back where it was, so the run sees the same batches. The
// loader does not say how many classes its dataset has; labels of later
// batches are checked by trainStep.
func checkLoader[T tensor.Float](model nn.Module[T], loss Loss[T], what string, ld *data.Loader[T]) error {
	st := ld.State()
	// At the end of an epoch the first Next returns false and moves to the
	// next epoch, whose first batch the second call delivers.
	var err error
	if ld.Next() || ld.Next() {
		err = checkBatch(model, loss, what, ld.Batch(), 0)
	}
	if rerr := ld.Restore(st); rerr != nil && err == nil {
		err = fmt.Errorf("%s: restoring the loader after checking its first batch: %w", what, rerr)
	}
	return err
}

// checkDataset checks the model and loss against ds, as evaluate will feed
// it, including that the model has an output for each of ds's classes.
func checkDataset[T tensor.Float](model nn.Module[T], loss Loss[T], what string, ds *data.Dataset[T]) error {
	if ds == nil {
		return fmt.Errorf("%s is nil", what)
	}
	ld, err := evalLoader(loss, ds, 1)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !ld.Next() {
		return fmt.Errorf("%s: empty dataset", what)
	}
	return checkBatch(model, loss, what, ld.Batch(), ds.NumClasses)
}

// checkBatch runs the model and the loss on the first example of b (with
// gradients off) and checks the output's shape against b's targets. classes
// is the number of classes of b's dataset when known, else 0. The errors
// start with what, the name of the data.
func checkBatch[T tensor.Float](model nn.Module[T], loss Loss[T], what string, b *data.Batch[T], classes int) error {
	d := b.X.Dim(1)
	// The targets the built-in losses need.
	switch loss.(type) {
	case *CrossEntropy[T]:
		if b.Labels == nil {
			if b.Y != nil {
				return fmt.Errorf("%s has no class labels (its targets Y have width %d: a regression dataset); the %s loss needs them (use MSE for real targets)", what, b.Y.Dim(1), loss.Name())
			}
			return fmt.Errorf("%s has no class labels; the %s loss needs them", what, loss.Name())
		}
	case *MSE[T]:
		if b.Y == nil {
			if b.Labels != nil {
				return fmt.Errorf("%s has class labels but no real targets Y; the %s loss needs targets (build the loader with OneHot to train on one-hot labels)", what, loss.Name())
			}
			return fmt.Errorf("%s has no real targets Y; the %s loss needs them", what, loss.Name())
		}
	}
	if in, ok := nn.InputWidth(model); ok && in != d {
		return fmt.Errorf("%s has %d features per example, but the model takes %d inputs", what, d, in)
	}
	// One example, in views of the batch's buffers.
	one := &data.Batch[T]{X: tensor.FromSlice(b.X.Data()[:d], 1, d), Rows: b.Rows[:1]}
	if b.Labels != nil {
		one.Labels = b.Labels[:1]
	}
	if b.Y != nil {
		k := b.Y.Dim(1)
		one.Y = tensor.FromSlice(b.Y.Data()[:k], 1, k)
	}
	tp := autograd.NewTape[T]()
	tp.SetGradEnabled(false)
	// In evaluation mode, so the check leaves a BatchNorm's running
	// statistics alone (and a batch of one is valid for it).
	was := nn.SetTraining(model, false)
	defer nn.SetTraining(model, was)
	var out *autograd.Var[T]
	if err := catch(func() { out = model.Forward(tp, tp.Const(one.X)) }); err != nil {
		return fmt.Errorf("%s does not fit the model: its forward pass on one example (input shape %v) failed: %v", what, one.X.Shape(), err)
	}
	shape := out.Shape()
	if _, ok := loss.(*MSE[T]); ok {
		if k := one.Y.Dim(1); len(shape) != 2 || shape[0] != 1 || shape[1] != k {
			return fmt.Errorf("the model's output for one example has shape %v, but %s has targets Y of shape [n %d] (the %s loss compares them elementwise)", shape, what, k, loss.Name())
		}
	}
	if b.Labels != nil && loss.Classification() {
		if len(shape) != 2 || shape[0] != 1 {
			return fmt.Errorf("the model's output for one example of %s has shape %v, want [1 k] with a score for each class", what, shape)
		}
		k := shape[1]
		if classes > k {
			return fmt.Errorf("%s has %d classes, but the model has %d outputs (the %s loss needs one output per class)", what, classes, k, loss.Name())
		}
		if err := labelsFit(b, k, loss); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if err := catch(func() { loss.Eval(out, one) }); err != nil {
		return fmt.Errorf("the %s loss fails on %s: on one example (model output shape %v) it failed: %v", loss.Name(), what, shape, err)
	}
	return nil
}

// labelsFit reports a label of b that has no output among the k outputs of
// the model. It allocates nothing unless it fails.
func labelsFit[T tensor.Float](b *data.Batch[T], k int, loss Loss[T]) error {
	for i, y := range b.Labels {
		if y < 0 || int(y) >= k {
			return fmt.Errorf("batch row %d (dataset row %d) has class label %d, but the model has %d outputs (the %s loss needs one output per class)", i, b.Rows[i], y, k, loss.Name())
		}
	}
	return nil
}

// catch runs f and returns the value of a panic in f as an error.
func catch(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	f()
	return nil
}
