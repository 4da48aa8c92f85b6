package autograd

// Identity returns a itself: the activation of a linear layer, provided so
// that activations can be chosen from a table of functions.
func Identity[T Float](a *Var[T]) *Var[T] { return a }
