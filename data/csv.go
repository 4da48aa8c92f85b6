package data

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gradflow/gradflow/tensor"
)

// HeaderMode says how ReadCSV treats the first line.
type HeaderMode int

const (
	// HeaderAuto detects the header: a UCI/scikit-learn line (see
	// HeaderUCI) when the first line looks like one, else a line of
	// column names when a feature field of the first line is not a number
	// (or LabelName is set), else no header.
	HeaderAuto HeaderMode = iota
	// HeaderNone: the first line is data.
	HeaderNone
	// HeaderNames: the first line holds column names.
	HeaderNames
	// HeaderUCI: the first line is "n,d,name_0,...,name_{k-1}" as in the
	// UCI copies distributed with scikit-learn: n rows follow, each with
	// d features then an integer label in [0, k) naming class name_label.
	// The label is the last column; n and d are checked against the data.
	HeaderUCI
)

// TargetKind says what ReadCSV makes of the label column.
type TargetKind int

const (
	// TargetClass reads class labels, any strings, mapped to indices
	// 0..k-1 (Dataset.Labels) with the mapping kept in Dataset.Classes.
	TargetClass TargetKind = iota
	// TargetReal reads a real-valued target into Dataset.Y, shape [n, 1].
	TargetReal
	// TargetNone reads features only: every column goes into X.
	TargetNone
)

// NonFinitePolicy says what ReadCSV does with NaN, ±Inf and values that
// overflow the element type.
type NonFinitePolicy int

const (
	// RefuseNonFinite returns an error naming the line and column.
	RefuseNonFinite NonFinitePolicy = iota
	// KeepNonFinite stores the value (an overflow becomes ±Inf) and
	// passes its position to CSVOptions.Report, if set.
	KeepNonFinite
)

// CSVOptions configures ReadCSV. The zero value reads comma-separated data
// with an auto-detected header, class labels in the last column, and
// refuses non-finite values.
type CSVOptions struct {
	Header HeaderMode
	// LabelName selects the label column by its header name; it implies a
	// header. It takes precedence over LabelColumn.
	LabelName string
	// LabelColumn selects the label column by its 1-based position, like
	// the column numbers in error messages: 1 is the first column, not the
	// second. 0 (the zero value) means the last column and negative values
	// count from the end (-1 is the last, -2 the one before it).
	LabelColumn int
	// Target says how to read the label column.
	Target TargetKind
	// Classes, if not nil, declares the class names (at least 2,
	// distinct, not empty): every label must be one of them, and class i
	// is Classes[i] whether it occurs or not. It is how labels that look
	// like numbers but are not class indices (-1 and 1, grades 0.5 apart)
	// are read as classes. It needs TargetClass and a file without a UCI
	// header (whose class names it would contradict).
	Classes []string
	// NonFinite says whether NaN and ±Inf are refused or kept.
	NonFinite NonFinitePolicy
	// Report, if not nil, is called with the position of every value kept
	// under KeepNonFinite, so callers can log or count them.
	Report func(*CSVError)
	// Comma is the field separator; 0 means ','.
	Comma rune
	// Comment, if not 0, starts lines to ignore.
	Comment rune
}

// ReadCSVFile reads a CSV file (gzip-compressed or not, detected by magic
// bytes) into a Dataset; see ReadCSV. Errors name the file.
func ReadCSVFile[T tensor.Float](path string, opt CSVOptions) (*Dataset[T], error) {
	return readCSVFile[T](path, opt, false)
}

// readCSVFile is ReadCSVFile; with spec, the remedies that label errors
// suggest are written as the options of a csv:FILE spec (LoadTask)
// instead of CSVOptions fields.
func readCSVFile[T tensor.Float](path string, opt CSVOptions, spec bool) (*Dataset[T], error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	return readCSV[T](f, path, opt, spec)
}

// ReadCSV reads numeric features and a label column from CSV text (or its
// gzip compression) into a Dataset.
//
// The label column is the one named opt.LabelName in the header, else
// column number opt.LabelColumn, counted from 1 (negative numbers count
// from the end; 0, the default, is the last column). Column numbers in
// errors count from 1 too.
//
// Every non-label field must be a number as accepted by
// strconv.ParseFloat. Empty fields and the usual missing-value markers
// ("?", "NA", "N/A", "null", "none", in any case) are refused with their line and
// column, as are malformed numbers, lines with the wrong number of fields,
// and, unless opt.NonFinite is KeepNonFinite, NaN, ±Inf and values that
// overflow T. Errors are of type *CSVError.
//
// Class labels are mapped to indices in sorted order: numerically when
// every label is a number (so labels 0..k-1 map to themselves when all
// occur), otherwise lexically; Dataset.Classes keeps the original strings.
// With a UCI header, labels are already indices into its class names; with
// opt.Classes, labels must be among the declared names. A label that looks
// like a number (to strconv.ParseFloat, which includes "NaN" and "Inf")
// must be a class index, a non-negative integer, unless opt.Classes
// declares it: -1, 0.5 or 1e999 is far likelier a real-valued target than
// a class name. Fewer than 2 classes are refused too: no classifier can
// be trained on them. These label errors wrap ErrLabel.
func ReadCSV[T tensor.Float](r io.Reader, opt CSVOptions) (*Dataset[T], error) {
	return readCSV[T](r, "", opt, false)
}

// csvReader holds the state of one ReadCSV call.
type csvReader[T tensor.Float] struct {
	opt   CSVOptions
	file  string
	spec  bool // remedies in csv:FILE spec options (see readCSVFile)
	cr    *csv.Reader
	names []string // header names, nil without a header

	width    int // fields per line
	labelCol int // 0-based; -1 for TargetNone
	uci      bool
	uciRows  int
	classes  []string // class names from a UCI header

	xs       []T
	ys       []T
	labels   []int32
	labelIDs map[string]int32 // label string -> provisional id, in order of appearance
	declared map[string]int32 // opt.Classes name -> index
	rows     int
}

// missing reports whether a trimmed field is a missing-value marker.
func missing(s string) bool {
	if s == "" || s == "?" {
		return true
	}
	switch strings.ToLower(s) {
	case "na", "n/a", "null", "none":
		return true
	}
	return false
}

// numeric reports whether a trimmed field parses as a number, including
// NaN, Inf and overflowing values: header detection must not take a data
// line holding a NaN for a line of names.
func numeric(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil || errors.Is(err, strconv.ErrRange)
}

// count parses a non-negative decimal integer such as a UCI header's n or d.
func count(s string) (int, bool) {
	v, err := strconv.Atoi(s)
	return v, err == nil && v >= 0
}

func readCSV[T tensor.Float](r io.Reader, file string, opt CSVOptions, spec bool) (*Dataset[T], error) {
	p := &csvReader[T]{opt: opt, file: file, spec: spec}
	if err := p.declareClasses(); err != nil {
		return nil, err
	}
	if opt.Comma == '"' || opt.Comma == '\r' || opt.Comma == '\n' || opt.Comma == utf8.RuneError ||
		(opt.Comment != 0 && opt.Comment == opt.Comma) || (opt.Comma == 0 && opt.Comment == ',') {
		return nil, &CSVError{File: file, Err: fmt.Errorf("%w: invalid separator %q or comment %q", ErrFormat, opt.Comma, opt.Comment)}
	}
	src, err := openSource(r)
	if err != nil {
		return nil, &CSVError{File: file, Err: err}
	}
	cr := csv.NewReader(src)
	cr.FieldsPerRecord = -1 // field counts are checked here, with better messages
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	if opt.Comma != 0 {
		cr.Comma = opt.Comma
	}
	cr.Comment = opt.Comment
	p.cr = cr
	return p.read(src)
}

// next reads a record, trimmed, or returns nil at the end of the input.
// With keep it copies the record, which ReuseRecord would recycle, and
// returns the line of each field, which the csv reader forgets once it
// reads on.
func (p *csvReader[T]) next(src *source, keep bool) (rec []string, lines []int, err error) {
	rec, err = p.cr.Read()
	if err == io.EOF {
		if gzErr := src.failure(); gzErr != nil {
			return nil, nil, &CSVError{File: p.file, Err: gzErr}
		}
		return nil, nil, nil
	}
	if err != nil {
		if gzErr := src.failure(); gzErr != nil {
			return nil, nil, &CSVError{File: p.file, Err: gzErr}
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, nil, &CSVError{File: p.file, Line: pe.Line,
				Err: fmt.Errorf("%w: %v (byte %d of the line)", ErrFormat, pe.Err, pe.Column)}
		}
		return nil, nil, &CSVError{File: p.file, Err: err}
	}
	for i, f := range rec {
		rec[i] = strings.TrimSpace(f)
	}
	if line, _ := p.cr.FieldPos(0); line == 1 {
		// A UTF-8 byte order mark, as spreadsheet exports write, would
		// otherwise stick to the first field.
		rec[0] = strings.TrimSpace(strings.TrimPrefix(rec[0], "\ufeff"))
	}
	if keep {
		rec = slices.Clone(rec)
		lines = make([]int, len(rec))
		for i := range rec {
			lines[i], _ = p.cr.FieldPos(i)
		}
	}
	return rec, lines, nil
}

// errAt returns a CSVError for field col (0-based; -1 for the whole line)
// of a record whose field lines are given, or, if lines is nil, of the
// record the csv reader has just returned.
func (p *csvReader[T]) errAt(lines []int, col int, err error) error {
	e := &CSVError{File: p.file, Err: err}
	line := max(col, 0)
	if lines != nil {
		e.Line = lines[min(line, len(lines)-1)]
	} else {
		e.Line, _ = p.cr.FieldPos(line)
	}
	if col >= 0 {
		e.Column = col + 1
		if col < len(p.names) {
			e.Name = p.names[col]
		}
	}
	return e
}

func (p *csvReader[T]) read(src *source) (*Dataset[T], error) {
	first, firstLines, err := p.next(src, true)
	if err != nil {
		return nil, err
	}
	if first == nil {
		return nil, &CSVError{File: p.file, Err: fmt.Errorf("%w: no data", ErrSize)}
	}
	second, secondLines, err := p.next(src, true)
	if err != nil {
		return nil, err
	}

	mode := p.opt.Header
	if mode == HeaderAuto {
		mode = p.detect(first, second)
	}
	switch mode {
	case HeaderUCI:
		if err := p.parseUCI(first, firstLines); err != nil {
			return nil, err
		}
	case HeaderNames:
		p.names = first
		p.width = len(first)
	case HeaderNone:
		p.width = len(first)
	default:
		return nil, &CSVError{File: p.file, Err: fmt.Errorf("unknown header mode %d", mode)}
	}
	if !p.uci {
		if err := p.resolveLabel(firstLines); err != nil {
			return nil, err
		}
	}
	if p.opt.Target == TargetClass && p.classes == nil && p.declared == nil {
		p.labelIDs = make(map[string]int32)
	}

	if mode == HeaderNone {
		if err := p.add(first, firstLines); err != nil {
			return nil, err
		}
	}
	if second == nil {
		return p.finish()
	}
	if err := p.add(second, secondLines); err != nil {
		return nil, err
	}
	for {
		rec, _, err := p.next(src, false)
		if err != nil {
			return nil, err
		}
		if rec == nil {
			return p.finish()
		}
		if err := p.add(rec, nil); err != nil {
			return nil, err
		}
	}
}

// detect decides HeaderAuto from the first two records.
func (p *csvReader[T]) detect(first, second []string) HeaderMode {
	if isUCIHeader(first, second) {
		return HeaderUCI
	}
	if p.opt.LabelName != "" {
		return HeaderNames
	}
	label := -1
	if p.opt.Target != TargetNone {
		// An unresolvable label column is reported later, by resolveLabel.
		label, _ = labelIndex(p.opt.LabelColumn, len(first))
	}
	for j, f := range first {
		if j != label && !missing(f) && !numeric(f) {
			return HeaderNames
		}
	}
	return HeaderNone
}

// isUCIHeader reports whether first is "n,d,name..." with at least one
// class name and no numeric name, and the next record has d+1 fields. The
// last two conditions keep a data line such as "5,3,setosa" from passing.
func isUCIHeader(first, second []string) bool {
	if len(first) < 3 || second == nil {
		return false
	}
	_, okN := count(first[0])
	d, okD := count(first[1])
	if !okN || !okD || d < 1 || len(second) != d+1 {
		return false
	}
	for _, name := range first[2:] {
		if name == "" || numeric(name) {
			return false
		}
	}
	return true
}

func (p *csvReader[T]) parseUCI(first []string, lines []int) error {
	if len(first) < 2 {
		return p.errAt(lines, -1, fmt.Errorf("%w: UCI header needs \"n,d[,class names]\", has %d fields", ErrFormat, len(first)))
	}
	n, ok := count(first[0])
	if !ok {
		return p.errAt(lines, 0, fmt.Errorf("%w: UCI header row count %q is not a non-negative integer", ErrFormat, first[0]))
	}
	d, ok := count(first[1])
	if !ok || d < 1 {
		return p.errAt(lines, 1, fmt.Errorf("%w: UCI header feature count %q is not a positive integer", ErrFormat, first[1]))
	}
	if d == math.MaxInt {
		return p.errAt(lines, 1, fmt.Errorf("%w: UCI header feature count %d overflows", ErrSize, d))
	}
	for j, name := range first[2:] {
		if name == "" {
			return p.errAt(lines, j+2, fmt.Errorf("%w: empty class name in UCI header", ErrFormat))
		}
	}
	switch {
	case p.opt.LabelName != "":
		return p.errAt(lines, -1, fmt.Errorf("%w: LabelName %q given but a UCI header names no columns", ErrFormat, p.opt.LabelName))
	case p.opt.LabelColumn != 0 && p.opt.LabelColumn != -1 && p.opt.LabelColumn != d+1:
		return p.errAt(lines, -1, fmt.Errorf("%w: LabelColumn %d given but a UCI header puts the label last (column %d)", ErrFormat, p.opt.LabelColumn, d+1))
	case p.opt.Target == TargetNone:
		return p.errAt(lines, -1, fmt.Errorf("%w: a UCI file has a label column; TargetNone cannot read it", ErrFormat))
	case len(first) > 2 && p.opt.Target != TargetClass:
		return p.errAt(lines, -1, fmt.Errorf("%w: the UCI header names classes; read it with TargetClass", ErrFormat))
	case p.opt.Classes != nil:
		return p.errAt(lines, -1, fmt.Errorf("%w: classes declared, but a UCI header numbers its classes itself", ErrLabel))
	}
	p.uci = true
	p.uciRows = n
	p.width = d + 1
	p.labelCol = d
	if len(first) > 2 {
		p.classes = first[2:]
	}
	return nil
}

// labelIndex converts a LabelColumn option to a 0-based index.
func labelIndex(col, width int) (int, bool) {
	switch {
	case col == 0:
		return width - 1, true
	case col > 0:
		return col - 1, col <= width
	default:
		return width + col, width+col >= 0
	}
}

func (p *csvReader[T]) resolveLabel(lines []int) error {
	if p.opt.Target == TargetNone {
		if p.opt.LabelName != "" {
			return p.errAt(lines, -1, fmt.Errorf("%w: LabelName %q given with TargetNone", ErrFormat, p.opt.LabelName))
		}
		p.labelCol = -1
		return nil
	}
	if p.opt.LabelName != "" {
		p.labelCol = slices.Index(p.names, p.opt.LabelName)
		if p.labelCol < 0 {
			return p.errAt(lines, -1, fmt.Errorf("%w: no column named %q in the header", ErrFormat, p.opt.LabelName))
		}
	} else {
		var ok bool
		if p.labelCol, ok = labelIndex(p.opt.LabelColumn, p.width); !ok {
			return p.errAt(lines, -1, fmt.Errorf("%w: label column %d outside the %d columns", ErrFormat, p.opt.LabelColumn, p.width))
		}
	}
	if p.width < 2 {
		return p.errAt(lines, -1, fmt.Errorf("%w: one column, the label, leaves no features", ErrSize))
	}
	return nil
}

// add parses one data record.
func (p *csvReader[T]) add(rec []string, lines []int) error {
	if len(rec) != p.width {
		return p.errAt(lines, -1, fmt.Errorf("%w: %d fields, want %d", ErrSize, len(rec), p.width))
	}
	if p.uci && p.rows == p.uciRows {
		return p.errAt(lines, -1, fmt.Errorf("%w: more rows than the %d of the UCI header", ErrSize, p.uciRows))
	}
	for j, f := range rec {
		if j != p.labelCol {
			v, err := p.value(f, j, lines)
			if err != nil {
				return err
			}
			p.xs = append(p.xs, v)
			continue
		}
		switch {
		case p.opt.Target == TargetReal:
			v, err := p.value(f, j, lines)
			if err != nil {
				return err
			}
			p.ys = append(p.ys, v)
		case missing(f):
			return p.errAt(lines, j, fmt.Errorf("%w: label %q", ErrMissingValue, f))
		case p.classes != nil:
			c, err := strconv.ParseFloat(f, 64)
			if err != nil || c != math.Trunc(c) || c < 0 || c >= float64(len(p.classes)) {
				return p.errAt(lines, j, fmt.Errorf("%w: label %q is not a class index in [0, %d)", ErrLabel, f, len(p.classes)))
			}
			p.labels = append(p.labels, int32(c))
		case p.declared != nil:
			c, ok := p.declared[f]
			if !ok {
				return p.errAt(lines, j, fmt.Errorf("%w: label %q is not one of the declared classes %s", ErrLabel, f, quoteList(p.opt.Classes)))
			}
			p.labels = append(p.labels, c)
		default:
			id, ok := p.labelIDs[f]
			if !ok {
				if numeric(f) && !classIndex(f) {
					return p.errAt(lines, j, fmt.Errorf("%w: label %q looks like a number but is not a class index (0, 1, 2, ...): %s; %s",
						ErrLabel, f, p.realTarget(), p.declare()))
				}
				if len(p.labelIDs) == math.MaxInt32 {
					return p.errAt(lines, j, fmt.Errorf("%w: more than 2^31-1 classes", ErrSize))
				}
				id = int32(len(p.labelIDs))
				// Clone: f points into the record's line, which the
				// map would otherwise keep alive.
				p.labelIDs[strings.Clone(f)] = id
			}
			p.labels = append(p.labels, id)
		}
	}
	p.rows++
	return nil
}

// value parses a numeric field.
func (p *csvReader[T]) value(f string, col int, lines []int) (T, error) {
	if missing(f) {
		return 0, p.errAt(lines, col, fmt.Errorf("%w: %q", ErrMissingValue, f))
	}
	v, err := strconv.ParseFloat(f, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, p.errAt(lines, col, fmt.Errorf("%w: %q is not a number", ErrFormat, f))
	}
	t := T(v)
	if ft := float64(t); math.IsNaN(ft) || math.IsInf(ft, 0) {
		e := p.errAt(lines, col, fmt.Errorf("%w: %q as %T is %v", ErrNonFinite, f, t, ft))
		if p.opt.NonFinite != KeepNonFinite {
			return 0, e
		}
		if p.opt.Report != nil {
			p.opt.Report(e.(*CSVError))
		}
	}
	return t, nil
}

func (p *csvReader[T]) finish() (*Dataset[T], error) {
	if p.rows == 0 {
		return nil, &CSVError{File: p.file, Err: fmt.Errorf("%w: no data rows", ErrSize)}
	}
	if p.uci && p.rows != p.uciRows {
		return nil, &CSVError{File: p.file, Line: 1,
			Err: fmt.Errorf("%w: the UCI header promises %d rows, the file has %d", ErrSize, p.uciRows, p.rows)}
	}
	d := p.width
	if p.labelCol >= 0 {
		d--
	}
	ds := &Dataset[T]{X: tensor.FromSlice(p.xs, p.rows, d)}
	if p.names != nil {
		ds.FeatureNames = make([]string, 0, d)
		for j, name := range p.names {
			if j != p.labelCol {
				ds.FeatureNames = append(ds.FeatureNames, name)
			}
		}
	}
	switch {
	case p.opt.Target == TargetReal:
		ds.Y = tensor.FromSlice(p.ys, p.rows, 1)
	case p.opt.Target == TargetNone:
	case p.classes != nil:
		ds.Labels, ds.NumClasses, ds.Classes = p.labels, len(p.classes), p.classes
	case p.declared != nil:
		ds.Labels, ds.NumClasses, ds.Classes = p.labels, len(p.opt.Classes), slices.Clone(p.opt.Classes)
	default:
		ds.Classes = sortedClasses(p.labelIDs)
		rank := make([]int32, len(ds.Classes))
		for c, name := range ds.Classes {
			rank[p.labelIDs[name]] = int32(c)
		}
		for i, id := range p.labels {
			p.labels[i] = rank[id]
		}
		ds.Labels, ds.NumClasses = p.labels, len(ds.Classes)
	}
	if ds.Labels != nil && ds.NumClasses < 2 {
		return nil, p.oneClass(ds.Classes)
	}
	if err := ds.Validate(); err != nil {
		// Unreachable if the parser is right; kept as a cheap guard.
		return nil, &CSVError{File: p.file, Err: err}
	}
	return ds, nil
}

// sortedClasses returns the label strings in class-index order: by numeric
// value when all are finite numbers (ties, such as "1" and "1.0", by text),
// else by text.
func sortedClasses(ids map[string]int32) []string {
	names := make([]string, 0, len(ids))
	allNumeric := true
	for name := range ids {
		names = append(names, name)
		v, err := strconv.ParseFloat(name, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			allNumeric = false
		}
	}
	if !allNumeric {
		slices.Sort(names)
		return names
	}
	slices.SortFunc(names, func(a, b string) int {
		va, _ := strconv.ParseFloat(a, 64)
		vb, _ := strconv.ParseFloat(b, 64)
		if va != vb {
			if va < vb {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return names
}

// declareClasses checks opt.Classes and indexes them.
func (p *csvReader[T]) declareClasses() error {
	cls := p.opt.Classes
	if cls == nil {
		return nil
	}
	bad := func(format string, a ...any) error {
		return &CSVError{File: p.file, Err: fmt.Errorf("%w: declared classes %s: %s", ErrLabel, quoteList(cls), fmt.Sprintf(format, a...))}
	}
	if p.opt.Target != TargetClass {
		return bad("they need class targets, not a real target or none")
	}
	if len(cls) < 2 {
		return bad("a classifier needs at least 2")
	}
	p.declared = make(map[string]int32, len(cls))
	for i, c := range cls {
		if c == "" || strings.TrimSpace(c) != c {
			return bad("name %d is empty or has surrounding space, which a field never has", i+1)
		}
		if _, dup := p.declared[c]; dup {
			return bad("%q declared twice", c)
		}
		p.declared[c] = int32(i)
	}
	return nil
}

// classIndex reports whether a label reads as a class index: a finite,
// non-negative whole number.
func classIndex(f string) bool {
	v, err := strconv.ParseFloat(f, 64)
	return err == nil && v >= 0 && v == math.Trunc(v) && !math.IsInf(v, 0)
}

// realTarget says how to read a label column of numbers as a real
// target, and declare how to keep such labels as class names.
func (p *csvReader[T]) realTarget() string {
	if p.spec {
		return fmt.Sprintf("for a real-valued target add ,regression to the csv:%s spec", p.file)
	}
	return "for a real-valued target read the column with Target: TargetReal"
}

func (p *csvReader[T]) declare() string {
	if p.spec {
		return fmt.Sprintf("to keep the labels as class names, declare them: add ,classes=NAME:NAME:... to the csv:%s spec", p.file)
	}
	return "to keep the labels as class names, declare them in CSVOptions.Classes"
}

// oneClass is the error for a label column with fewer than 2 classes. It
// suggests a real target when the one class looks like a number.
func (p *csvReader[T]) oneClass(classes []string) error {
	what := "no class"
	if len(classes) == 1 {
		what = fmt.Sprintf("one class (%q)", classes[0])
	}
	hint := ""
	if len(classes) == 1 && numeric(classes[0]) {
		hint = "; " + p.realTarget()
	}
	e := &CSVError{File: p.file, Column: p.labelCol + 1,
		Err: fmt.Errorf("%w: %s in the label column: a classifier needs at least 2%s", ErrLabel, what, hint)}
	if p.labelCol < len(p.names) {
		e.Name = p.names[p.labelCol]
	}
	return e
}

// quoteList writes names as ["a" "b"].
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return "[" + strings.Join(q, " ") + "]"
}
