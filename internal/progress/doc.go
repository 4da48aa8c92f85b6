// Package progress tells the person at the terminal that a long command is
// alive, on stderr, the same way for every command of cmd/train: a status
// line redrawn in place (a bar for work that counts its steps, the elapsed
// time for work that does not) and, between redraws, lines that stay. When
// the writer is not a terminal (a log file, a pipe, a batch job), nothing
// is redrawn: only the lines that stay are written, and work that prints
// none of its own prints one after Delay and another every Every (Busy for
// work without a step count, LogDue for work that counts its steps).
package progress
