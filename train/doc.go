// Package train owns the training step of gradflow and the loop around it.
//
// # The step
//
// Stepper.Step is the one training step of the project: Trainer runs it,
// and so do width sweeps, mean-field runs, coordinate checks, landscape
// studies and the benchmarks, so a change to the step (a guard, clipping,
// a schedule) reaches all of them. It is the data flow of ARCHITECTURE.md,
// with nothing allocated in steady state:
//
//	tape.Reset -> model.Forward -> loss
//	-> divergence guard on the loss -> tape.Backward writes Param.Grad
//	-> divergence guard on ||grad|| -> optional clipping -> lr_t = base * schedule(t)
//	-> optimizer.Step updates Param.Value in place
//
// NewStepper (and New) check that the optimizer updates every parameter of
// the model (optim.ParamLister): an optimizer built over another model's
// parameters is an error naming the first parameter it lacks, not a run in
// which nothing learns.
//
// # The loop and its callbacks
//
// Trainer feeds the step the loader's batches, counts epochs, writes
// records, evaluates, checkpoints and stops (budget, early stopping,
// cancellation, a callback). Measurements that ride along a run (the NTK's
// lazy-training probe, landscape probes, a sweep's displacement and kernel
// drift, a mean-field run's particle distances) are Callbacks: OnStep sees
// every step's loss, gradient norm, learning rate and output (computed
// before the update) while the model holds the updated parameters, and
// OnRecord every record. A full-batch run is a
// loader whose batch is the whole dataset (one step per epoch); it
// allocates nothing per step either.
//
// # Divergence guard
//
// A NaN or infinite loss or gradient stops the run with an error that names
// the step, before the optimizer touches the parameters, so they keep their
// last finite values.
//
// # Checkpoints and resume
//
// A checkpoint holds everything the rest of the run depends on: the
// parameters, the optimizer state (hyperparameters and buffers), the loader
// position (seed, epoch, offset: the permutation of an epoch is regenerated
// from them), the step and epoch counters and the early-stopping record. It
// is one file: a magic string, a JSON header, the parameters as safetensors,
// the optimizer state, and a SHA-256 of all of it (the parameters and the
// optimizer state carry their own checksums too), written to a temporary
// file, fsynced and renamed over the old one, so a crash never leaves a
// half-written checkpoint. Resume restores all of it into a Trainer built
// with the same configuration; the resumed run is then bit-identical to an
// uninterrupted one, because every source of change (data order, learning
// rate at step t, optimizer buffers) is a function of what was saved.
//
// # Run directories
//
// A command that writes a run's files into a directory opens it with
// OpenRunDir: it takes a lock file holding the process id (refusing a
// directory another live process holds, taking over the lock of one that
// died), refuses a directory that already holds a run unless told to
// resume or overwrite it, and removes the temporary files a killed writer
// left. Every file is then written atomically (temporary file, fsync,
// rename), except metrics.jsonl, which grows by appends and is cut back to
// the checkpoint's step on resume. A run that diverged keeps its last
// finite state, LastFiniteCheckpoint of the checkpoint and of the model;
// ResumeFromDir continues from it. Progress is a callback that shows a run
// on a terminal or in a log.
//
// # Metrics
//
// Every LogEvery steps (and at the end of each epoch) a Record with the
// training loss and accuracy averaged since the last record, the gradient
// norm, the learning rate, throughput and elapsed time, and the evaluation
// of every Eval set, is written as one JSON line to Config.Metrics and
// passed to the callbacks.
package train
