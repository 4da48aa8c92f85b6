package nn

import "github.com/gradflow/gradflow/tensor"

// Buffer is a tensor of a module's state that is saved with its
// parameters but not trained, as torch.nn.Module.register_buffer: a
// BatchNorm's running_mean, running_var and num_batches_tracked. Model
// files store a buffer under Name next to the parameters, in T's dtype, or
// as a 64-bit integer (safetensors dtype I64, PyTorch's torch.int64) when
// Int is set, so that a PyTorch state dict loads with load_state_dict
// unchanged.
type Buffer[T Float] struct {
	Name  string            // state-dict key, e.g. "1.running_mean"
	Value *tensor.Tensor[T] // updated in place by the module's forward pass
	Int   bool              // an integer count, stored as I64
}

// BufferLister is implemented by modules that have buffers, and by the
// containers that hold such modules (Sequential, Residual, Net).
type BufferLister[T Float] interface {
	// Buffers returns the buffers in a fixed order (the state-dict order);
	// the slice must not be modified.
	Buffers() []*Buffer[T]
}

// Buffers returns the buffers of m, or nil if it has none (it is not a
// BufferLister).
func Buffers[T Float](m Module[T]) []*Buffer[T] {
	if b, ok := m.(BufferLister[T]); ok {
		return b.Buffers()
	}
	return nil
}

// collectBuffers appends the buffers of every module in ms.
func collectBuffers[T Float](ms []Module[T]) []*Buffer[T] {
	var bs []*Buffer[T]
	for _, m := range ms {
		if m != nil {
			bs = append(bs, Buffers(m)...)
		}
	}
	return bs
}
