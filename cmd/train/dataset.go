package main

import (
	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/tensor"
)

// task is a loaded -data spec (data.LoadTask).
type task[T tensor.Float] = data.Task[T]

// loadTask loads the -data spec; every failure is the user's input, and
// so is a held-out split too small to hold an example.
func loadTask[T tensor.Float](spec string, testFrac float64, seed uint64) (*task[T], error) {
	tk, err := data.LoadTask[T](spec, testFrac, seed)
	if err != nil {
		return nil, usageError{err}
	}
	if tk.Test == nil || tk.Test.Len() == 0 {
		hint := ""
		if tk.Classes > 0 && 2*tk.Classes > tk.Train.Len() {
			hint = "; its label column has a class for nearly every example: if it is a real-valued target, add ,regression to -data"
		}
		return nil, usagef("-data %s: the held-out split is empty (%d examples, -test-frac %g): give more data or a larger -test-frac%s", spec, tk.Train.Len(), testFrac, hint)
	}
	return tk, nil
}
