package nn

// Moder is implemented by modules whose forward pass differs between
// training and evaluation, as torch.nn.Module.train() and eval() switch
// them: BatchNorm (batch statistics and running-stat updates, or the
// running statistics) and Dropout (a random mask, or the identity), and by
// the containers that hold such modules (Sequential, Residual, Net), which
// pass the switch on. Modules are built in training mode, as in PyTorch.
type Moder interface {
	// SetTraining switches the module (and its submodules) to training
	// mode when training is true and to evaluation mode otherwise. It
	// returns whether the module was in training mode before: for a
	// container, whether any submodule was.
	SetTraining(training bool) (was bool)
}

// SetTraining switches m to training (true) or evaluation (false) mode if
// it is a Moder, and returns whether it was in training mode; a module
// without modes is left alone and reports false. To run an evaluation and
// come back:
//
//	was := nn.SetTraining(m, false)
//	defer nn.SetTraining(m, was)
func SetTraining[T Float](m Module[T], training bool) (was bool) {
	if md, ok := m.(Moder); ok {
		return md.SetTraining(training)
	}
	return false
}

// setAll switches every Moder among ms and reports whether any was in
// training mode: the SetTraining of the containers.
func setAll[T Float](ms []Module[T], training bool) (was bool) {
	for _, m := range ms {
		if m == nil {
			continue
		}
		if SetTraining(m, training) {
			was = true
		}
	}
	return was
}
