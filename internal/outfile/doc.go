// Package outfile writes output files atomically: Write fills a file from a
// function that writes to an io.Writer (the form every result type's
// WriteJSONL, WriteCSV and WriteTable methods have), and Stage commits the
// files a function writes into a directory (library calls such as
// StudyResult.Save and the figure helpers, which take a directory). Either
// way each file goes to a temporary name in its final directory, is synced
// and renamed over the old one, so a reader (or the next run after a crash
// or kill -9) sees the old file or the new complete one, never a part.
//
// The temporary names start with "." and contain ".tmp" (IsTemp), like the
// checkpoints' of package train, so that whoever holds an output directory
// (train.OpenRunDir) can remove what a killed process left behind.
package outfile
