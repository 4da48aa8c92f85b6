// Package outfile writes output files atomically: the contents go to a
// temporary file beside the target (named "." + base + ".tmp*", so a
// directory listing shows what it is and a run can remove leftovers of a
// killed one with TempPattern), which is fsynced and renamed over the
// target, and the directory is fsynced to persist the rename. A reader,
// or a run resumed after a crash, sees the old file or the new one, never
// a torn one. Write takes the function that writes the contents, the form
// every result type's WriteJSONL, WriteCSV and WriteTable methods have, so
// that commands and library calls do not each repeat the buffering and the
// error handling of Flush, Sync and Close (where a full disk is reported).
package outfile
