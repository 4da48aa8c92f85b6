package main

import (
	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/tensor"
)

// task is a loaded -data spec (data.LoadTask).
type task[T tensor.Float] = data.Task[T]

// loadTask loads the -data spec; every failure is the user's input.
func loadTask[T tensor.Float](spec string, testFrac float64, seed uint64) (*task[T], error) {
	tk, err := data.LoadTask[T](spec, testFrac, seed)
	if err != nil {
		return nil, usageError{err}
	}
	return tk, nil
}
