package data

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors wrapped by IDXError and CSVError, so callers can branch
// with errors.Is without parsing messages.
var (
	// ErrTruncated reports input that ends before the data its header or
	// its structure promises.
	ErrTruncated = errors.New("truncated input")
	// ErrFormat reports input that is not in the expected format: a wrong
	// magic number, an unknown type code, a malformed header or field.
	ErrFormat = errors.New("malformed input")
	// ErrSize reports sizes that overflow, are zero where data is needed,
	// or disagree with each other or with the data.
	ErrSize = errors.New("inconsistent size")
	// ErrMissingValue reports an empty or "?"/"NA" CSV field.
	ErrMissingValue = errors.New("missing value")
	// ErrNonFinite reports a NaN or infinite CSV value, or one that
	// overflows the element type, when CSVOptions refuse them.
	ErrNonFinite = errors.New("non-finite value")
	// ErrCompression reports a corrupt or truncated gzip stream.
	ErrCompression = errors.New("bad gzip stream")
	// ErrLabel reports a class label column that cannot be read as
	// classes: a label that looks like a number but is not a class index,
	// a label outside the declared classes, or fewer than 2 classes. It
	// is a kind of ErrFormat: errors.Is(err, ErrFormat) holds for it too.
	ErrLabel error = labelError{}
)

// labelError is the type of ErrLabel.
type labelError struct{}

// Error implements error.
func (labelError) Error() string { return "bad class labels" }

// Is makes a label error also an ErrFormat, for callers that check only
// that a file is malformed.
func (labelError) Is(target error) bool { return target == ErrFormat }

// IDXError is the error returned for a malformed IDX stream. Offset counts
// bytes of the decompressed IDX stream (the header starts at 0), so it
// locates the fault in the format even when the file is gzipped.
type IDXError struct {
	File   string // path of the file, or "" when reading an io.Reader
	Offset int64  // byte offset in the (decompressed) IDX stream
	Field  string // the header field or region at fault, e.g. "magic", "dimension 2", "payload"
	Err    error  // wraps one of the sentinel errors of this package
}

// Error formats the error as "data: idx FILE: offset N (FIELD): MESSAGE".
func (e *IDXError) Error() string {
	var b strings.Builder
	b.WriteString("data: idx ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	b.WriteString("offset ")
	b.WriteString(strconv.FormatInt(e.Offset, 10))
	if e.Field != "" {
		b.WriteString(" (")
		b.WriteString(e.Field)
		b.WriteString(")")
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *IDXError) Unwrap() error { return e.Err }

// CSVError is the error returned for bad CSV input. Line and Column are
// 1-based; Column counts fields (not bytes), the way a spreadsheet numbers
// columns. Zero means the error is not about one line or one column.
type CSVError struct {
	File   string // path of the file, or "" when reading an io.Reader
	Line   int    // 1-based line number in the (decompressed) text, 0 if none
	Column int    // 1-based field number, 0 if none
	Name   string // the column's header name, if the file has one
	Err    error  // wraps one of the sentinel errors of this package
}

// Error formats the error as "data: csv FILE:LINE: column C (\"NAME\"): MESSAGE",
// leaving out the parts that are unknown.
func (e *CSVError) Error() string {
	var b strings.Builder
	b.WriteString("data: csv ")
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":")
			b.WriteString(strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	}
	if e.Column > 0 {
		b.WriteString("column ")
		b.WriteString(strconv.Itoa(e.Column))
		if e.Name != "" {
			b.WriteString(" (")
			b.WriteString(strconv.Quote(e.Name))
			b.WriteString(")")
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *CSVError) Unwrap() error { return e.Err }
