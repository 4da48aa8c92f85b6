// Package outfile writes an output file from a function that writes to an
// io.Writer, the form every result type's WriteJSONL, WriteCSV and
// WriteTable methods have, so that commands and library calls that save
// results do not each repeat the buffering and the error handling of Flush
// and Close (where a full disk is reported).
package outfile
