package data

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// uciDir is where the shared UCI copies live, relative to this package.
const uciDir = "../../shared/datasets/uci"

func readString(t *testing.T, text string, opt CSVOptions) (*Dataset[float64], error) {
	t.Helper()
	return ReadCSV[float64](strings.NewReader(text), opt)
}

func TestReadCSVNamesHeader(t *testing.T) {
	text := "a, b ,species,c\n1,2,cat,3\n4,5,dog,6\n7,8,cat,9\n"
	ds, err := readString(t, text, CSVOptions{LabelName: "species"})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 3 || ds.Dim() != 3 {
		t.Fatalf("shape %d x %d, want 3 x 3", ds.Len(), ds.Dim())
	}
	if want := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(ds.X.Data(), want) {
		t.Errorf("X = %v, want %v", ds.X.Data(), want)
	}
	if !slices.Equal(ds.FeatureNames, []string{"a", "b", "c"}) {
		t.Errorf("feature names %q", ds.FeatureNames)
	}
	if !slices.Equal(ds.Classes, []string{"cat", "dog"}) || !slices.Equal(ds.Labels, []int32{0, 1, 0}) || ds.NumClasses != 2 {
		t.Errorf("classes %q labels %v (%d)", ds.Classes, ds.Labels, ds.NumClasses)
	}

	// The same column by position: 3rd from the start, 2nd from the end.
	for _, col := range []int{3, -2} {
		by, err := readString(t, text, CSVOptions{LabelColumn: col})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(by.Labels, ds.Labels) || !slices.Equal(by.X.Data(), ds.X.Data()) {
			t.Errorf("LabelColumn %d gives labels %v X %v", col, by.Labels, by.X.Data())
		}
	}
}

func TestReadCSVHeaderDetection(t *testing.T) {
	cases := []struct {
		name, text string
		opt        CSVOptions
		rows       int
		names      bool
	}{
		{"numeric", "1,2,0\n3,4,1\n", CSVOptions{}, 2, false},
		// String labels in the label column do not make a header.
		{"string labels", "5.1,3.5,setosa\n4.9,3.0,virginica\n", CSVOptions{}, 2, false},
		{"names", "x,y,label\n1,2,0\n3,4,1\n", CSVOptions{}, 2, true},
		// NaN parses as a number: the line is data (then refused as
		// non-finite unless kept).
		{"nan first", "NaN,2,0\n3,4,1\n", CSVOptions{NonFinite: KeepNonFinite}, 2, false},
		{"forced none", "x,y,label\n1,2,0\n", CSVOptions{Header: HeaderNone}, 0, false},
		{"forced names", "1,2,3\n4,5,6\n7,8,9\n", CSVOptions{Header: HeaderNames}, 2, true},
		{"features only", "x,y\n1,2\n", CSVOptions{Target: TargetNone}, 1, true},
	}
	for _, c := range cases {
		ds, err := readString(t, c.text, c.opt)
		if c.rows == 0 {
			if err == nil {
				t.Errorf("%s: no error", c.name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if ds.Len() != c.rows || (ds.FeatureNames != nil) != c.names {
			t.Errorf("%s: %d rows, names %q", c.name, ds.Len(), ds.FeatureNames)
		}
	}
}

func TestReadCSVTargets(t *testing.T) {
	ds, err := readString(t, "x1,x2,y\n1,2,0.5\n3,4,-1.5\n", CSVOptions{Target: TargetReal})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Labels != nil || ds.Y == nil || !slices.Equal(ds.Y.Data(), []float64{0.5, -1.5}) || ds.Y.Dim(1) != 1 {
		t.Errorf("regression targets: labels %v, Y %v", ds.Labels, ds.Y)
	}
	ds, err = readString(t, "1,2,3\n4,5,6\n", CSVOptions{Target: TargetNone})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Dim() != 3 || ds.Labels != nil || ds.Y != nil {
		t.Errorf("features only: dim %d", ds.Dim())
	}
}

func TestReadCSVClassOrder(t *testing.T) {
	// Numeric labels sort by value, so "10" comes after "2".
	ds, err := readString(t, "0,10\n0,2\n0,1\n0,2\n", CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds.Classes, []string{"1", "2", "10"}) || !slices.Equal(ds.Labels, []int32{2, 1, 0, 1}) {
		t.Errorf("classes %q labels %v", ds.Classes, ds.Labels)
	}
	// Labels 0..k-1 map to themselves whatever order they appear in.
	ds, err = readString(t, "0,2\n0,0\n0,1\n", CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds.Labels, []int32{2, 0, 1}) {
		t.Errorf("labels %v, want [2 0 1]", ds.Labels)
	}
}

// csvErr reads text and returns its *CSVError, failing if there is none.
func csvErr(t *testing.T, text string, opt CSVOptions) *CSVError {
	t.Helper()
	_, err := readString(t, text, opt)
	var ce *CSVError
	if !errors.As(err, &ce) {
		t.Fatalf("%q: got %v, want a *CSVError", text, err)
	}
	return ce
}

func TestReadCSVErrorsLocate(t *testing.T) {
	cases := []struct {
		name, text   string
		opt          CSVOptions
		sent         error
		line, column int
		col          string
	}{
		{"missing empty", "a,b,y\n1,2,0\n3,,1\n", CSVOptions{}, ErrMissingValue, 3, 2, "b"},
		{"missing marker", "1,2,0\n3,?,1\n", CSVOptions{}, ErrMissingValue, 2, 2, ""},
		{"missing NA", "1,2,0\n3,4,1\nNA,4,1\n", CSVOptions{}, ErrMissingValue, 3, 1, ""},
		{"missing label", "1,2,0\n3,4,\n", CSVOptions{}, ErrMissingValue, 2, 3, ""},
		// A missing value on the first line must not be taken for a header.
		{"missing first line", "1,,0\n3,4,1\n", CSVOptions{}, ErrMissingValue, 1, 2, ""},
		{"not a number", "1,2,0\n3,x4,1\n", CSVOptions{Header: HeaderNone}, ErrFormat, 2, 2, ""},
		{"nan", "a,b,y\n1,nan,0\n", CSVOptions{}, ErrNonFinite, 2, 2, "b"},
		{"inf", "1,2,0\n-Inf,2,0\n", CSVOptions{}, ErrNonFinite, 2, 1, ""},
		{"overflow", "1,1e999,0\n", CSVOptions{}, ErrNonFinite, 1, 2, ""},
		{"real target nan", "1,2\n3,NaN\n", CSVOptions{Target: TargetReal}, ErrNonFinite, 2, 2, ""},
		{"fields", "1,2,0\n3,4\n", CSVOptions{}, ErrSize, 2, 0, ""},
		{"fields after header", "a,b,y\n1,2,0\n3,4,5,6\n", CSVOptions{}, ErrSize, 3, 0, ""},
		{"bare quote", "1,2,0\n3,4\"x,1\n", CSVOptions{}, ErrFormat, 2, 0, ""},
		// The field starts on line 2 and its quoted value spans two
		// lines; the error names the line where the field starts.
		{"multiline field", "1,2,0\n\"3\nx\",4,1\n", CSVOptions{}, ErrFormat, 2, 1, ""},
		{"no label name", "a,b\n1,2\n", CSVOptions{LabelName: "y"}, ErrFormat, 1, 0, ""},
		{"label column", "1,2\n", CSVOptions{LabelColumn: 3}, ErrFormat, 1, 0, ""},
		{"only label", "1\n2\n", CSVOptions{}, ErrSize, 1, 0, ""},
		{"empty", "", CSVOptions{}, ErrSize, 0, 0, ""},
		{"header only", "a,b\n", CSVOptions{}, ErrSize, 0, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ce := csvErr(t, c.text, c.opt)
			if !errors.Is(ce, c.sent) || ce.Line != c.line || ce.Column != c.column || ce.Name != c.col {
				t.Errorf("got %v (line %d, column %d, name %q), want %v at line %d, column %d, name %q",
					ce, ce.Line, ce.Column, ce.Name, c.sent, c.line, c.column, c.col)
			}
		})
	}
}

func TestReadCSVNonFinitePolicy(t *testing.T) {
	var reported []*CSVError
	ds, err := ReadCSV[float32](strings.NewReader("x,y,label\n1,NaN,0\n+Inf,1e39,1\n"), CSVOptions{
		NonFinite: KeepNonFinite,
		Report:    func(e *CSVError) { reported = append(reported, e) },
	})
	if err != nil {
		t.Fatal(err)
	}
	x := ds.X.Data()
	if !math.IsNaN(float64(x[1])) || !math.IsInf(float64(x[2]), 1) || !math.IsInf(float64(x[3]), 1) {
		t.Errorf("kept values %v, want NaN, +Inf, +Inf (1e39 overflows float32)", x)
	}
	type pos struct{ line, col int }
	var got []pos
	for _, e := range reported {
		if !errors.Is(e, ErrNonFinite) {
			t.Errorf("report %v is not ErrNonFinite", e)
		}
		got = append(got, pos{e.Line, e.Column})
	}
	if want := []pos{{2, 2}, {3, 1}, {3, 2}}; !slices.Equal(got, want) {
		t.Errorf("reported positions %v, want %v", got, want)
	}
	// The same 1e39 is finite as a float64.
	if _, err := ReadCSV[float64](strings.NewReader("1e39,0\n1,1\n"), CSVOptions{}); err != nil {
		t.Errorf("float64 refused 1e39: %v", err)
	}
}

func TestReadCSVUCI(t *testing.T) {
	ds, err := readString(t, "3,2,no,yes\n1.5,2,1\n3,4,0\n5,6,1\n", CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 3 || ds.Dim() != 2 || !slices.Equal(ds.Classes, []string{"no", "yes"}) || !slices.Equal(ds.Labels, []int32{1, 0, 1}) {
		t.Errorf("got %d x %d, classes %q, labels %v", ds.Len(), ds.Dim(), ds.Classes, ds.Labels)
	}
	bad := []struct {
		name, text string
		opt        CSVOptions
		line       int
	}{
		{"too few rows", "3,2,no,yes\n1,2,1\n3,4,0\n", CSVOptions{}, 1},
		{"too many rows", "1,2,no,yes\n1,2,1\n3,4,0\n", CSVOptions{}, 3},
		{"label range", "2,2,no,yes\n1,2,1\n3,4,2\n", CSVOptions{}, 3},
		{"label fraction", "2,2,no,yes\n1,2,1\n3,4,0.5\n", CSVOptions{}, 3},
		{"label by name", "2,2,no,yes\n1,2,1\n3,4,0\n", CSVOptions{LabelName: "x"}, 1},
		{"real target", "2,2,no,yes\n1,2,1\n3,4,0\n", CSVOptions{Header: HeaderUCI, Target: TargetReal}, 1},
		{"forced bad n", "x,2,a\n1,2,0\n", CSVOptions{Header: HeaderUCI}, 1},
	}
	for _, c := range bad {
		ce := csvErr(t, c.text, c.opt)
		if ce.Line != c.line {
			t.Errorf("%s: %v at line %d, want line %d", c.name, ce, ce.Line, c.line)
		}
	}
	// "5,3,setosa" has the shape of a UCI header but the next line does
	// not have 3+1 fields, so it is data.
	ds, err = readString(t, "5,3,setosa\n4,3,virginica\n", CSVOptions{})
	if err != nil || ds.Len() != 2 || ds.NumClasses != 2 {
		t.Errorf("data line taken for a UCI header: %v", err)
	}
}

func TestReadCSVOptionsAndEncodings(t *testing.T) {
	// Semicolons, comments, a byte order mark, CRLF line ends and gzip.
	text := "\ufeffa;b;y\r\n# a comment\r\n1;2;u\r\n3;4;v\r\n"
	opt := CSVOptions{Comma: ';', Comment: '#'}
	for _, in := range []string{text, string(gzipBytes(t, []byte(text)))} {
		ds, err := readString(t, in, opt)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ds.FeatureNames, []string{"a", "b"}) || !slices.Equal(ds.X.Data(), []float64{1, 2, 3, 4}) {
			t.Errorf("names %q X %v", ds.FeatureNames, ds.X.Data())
		}
	}
	if _, err := readString(t, "1,2\n", CSVOptions{Comma: '"'}); err == nil {
		t.Error("quote as separator accepted")
	}
	gz := gzipBytes(t, []byte("1,2,0\n3,4,1\n"))
	if _, err := readString(t, string(gz[:len(gz)-4]), CSVOptions{}); !errors.Is(err, ErrCompression) {
		t.Errorf("truncated gzip: got %v, want ErrCompression", err)
	}
}

func TestReadCSVFileNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(path, []byte("1,2,0\n3,,1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ReadCSVFile[float64](path, CSVOptions{})
	if err == nil || !strings.Contains(err.Error(), path+":2: column 2") {
		t.Errorf("got %v, want an error naming %s:2: column 2", err, path)
	}
}

// TestUCIFiles loads the shared UCI copies and checks the shapes and class
// counts that the UCI repository documents.
func TestUCIFiles(t *testing.T) {
	if _, err := os.Stat(uciDir); err != nil {
		t.Skipf("UCI datasets not found at %s: %v", uciDir, err)
	}
	cases := []struct {
		file    string
		n, d    int
		classes []string
		counts  []int
	}{
		{"iris.csv", 150, 4, []string{"setosa", "versicolor", "virginica"}, []int{50, 50, 50}},
		{"wine_data.csv", 178, 13, []string{"class_0", "class_1", "class_2"}, []int{59, 71, 48}},
		{"breast_cancer.csv", 569, 30, []string{"malignant", "benign"}, []int{212, 357}},
		{"digits.csv.gz", 1797, 64, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
			[]int{178, 182, 177, 183, 181, 182, 181, 179, 174, 180}},
	}
	for _, c := range cases {
		ds, err := ReadCSVFile[float32](filepath.Join(uciDir, c.file), CSVOptions{})
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		if ds.Len() != c.n || ds.Dim() != c.d || !slices.Equal(ds.Classes, c.classes) || !slices.Equal(ds.ClassCounts(), c.counts) {
			t.Errorf("%s: %d x %d, classes %q, counts %v; want %d x %d, %q, %v",
				c.file, ds.Len(), ds.Dim(), ds.Classes, ds.ClassCounts(), c.n, c.d, c.classes, c.counts)
		}
	}
}

// TestReadCSVLabelRules: labels that look like numbers must be class
// indices unless declared, declared classes are enforced, and fewer than 2
// classes are refused; each error wraps ErrLabel (an ErrFormat) and names
// the line, column and value, or the label column.
func TestReadCSVLabelRules(t *testing.T) {
	cases := []struct {
		name, text   string
		opt          CSVOptions
		line, column int
		col          string
		says         []string
	}{
		{"negative", "x,y,species\n1,2,-1\n3,4,0.5\n5,6,7\n", CSVOptions{}, 2, 3, "species", []string{`"-1"`, "TargetReal", "CSVOptions.Classes"}},
		{"fraction", "x,y,grade\n1,2,1\n3,4,0.5\n", CSVOptions{}, 3, 3, "grade", []string{`"0.5"`}},
		{"nan", "1,2,0\n3,4,NaN\n", CSVOptions{}, 2, 3, "", []string{`"NaN"`}},
		{"overflow", "1,2,0\n3,4,1e999\n", CSVOptions{}, 2, 3, "", []string{`"1e999"`}},
		// A name among numbers is still a name; the number must be an index.
		{"mixed", "1,2,3,cat\n4,5,6,-2\n", CSVOptions{}, 2, 4, "", []string{`"-2"`}},
		{"not declared", "1,2,-1\n3,4,0\n", CSVOptions{Classes: []string{"-1", "1"}}, 2, 3, "", []string{`"0"`, `["-1" "1"]`}},
		{"one class", "x,y,label\n1,2,a\n3,4,a\n", CSVOptions{}, 0, 3, "label", []string{`one class ("a")`}},
		{"one numeric class", "1,2,5\n3,4,5\n", CSVOptions{}, 0, 3, "", []string{`one class ("5")`, "TargetReal"}},
		{"one UCI class", "2,2,only\n1,2,0\n3,4,0\n", CSVOptions{}, 0, 3, "", []string{`one class ("only")`}},
		{"declared one", "1,2,a\n", CSVOptions{Classes: []string{"a"}}, 0, 0, "", []string{"at least 2"}},
		{"declared twice", "1,2,a\n", CSVOptions{Classes: []string{"a", "b", "a"}}, 0, 0, "", []string{`"a" declared twice`}},
		{"declared empty", "1,2,a\n", CSVOptions{Classes: []string{"a", ""}}, 0, 0, "", []string{"empty"}},
		{"declared real", "1,2,a\n", CSVOptions{Classes: []string{"a", "b"}, Target: TargetReal}, 0, 0, "", []string{"class targets"}},
		{"declared UCI", "2,2,no,yes\n1,2,0\n3,4,1\n", CSVOptions{Classes: []string{"no", "yes"}}, 1, 0, "", []string{"UCI"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ce := csvErr(t, c.text, c.opt)
			if !errors.Is(ce, ErrLabel) || !errors.Is(ce, ErrFormat) || ce.Line != c.line || ce.Column != c.column || ce.Name != c.col {
				t.Errorf("got %v (line %d, column %d, name %q), want ErrLabel at line %d, column %d, name %q",
					ce, ce.Line, ce.Column, ce.Name, c.line, c.column, c.col)
			}
			for _, s := range c.says {
				if !strings.Contains(ce.Error(), s) {
					t.Errorf("%v does not say %s", ce, s)
				}
			}
		})
	}
	// Non-negative whole numbers are class indices, in any notation.
	ds, err := readString(t, "x,y,label\n1,2,7\n3,4,3\n5,6,1e1\n", CSVOptions{})
	if err != nil || !slices.Equal(ds.Classes, []string{"3", "7", "1e1"}) {
		t.Fatalf("integer labels: %v, classes %q", err, ds.Classes)
	}
	// Declared classes keep their order and count, seen or not.
	ds, err = readString(t, "1,2,1\n3,4,-1\n5,6,1\n", CSVOptions{Classes: []string{"-1", "1", "0"}})
	if err != nil || ds.NumClasses != 3 || !slices.Equal(ds.Labels, []int32{1, 0, 1}) || !slices.Equal(ds.Classes, []string{"-1", "1", "0"}) {
		t.Fatalf("declared classes: %v, %d classes %q, labels %v", err, ds.NumClasses, ds.Classes, ds.Labels)
	}
	// A file's errors name it.
	path := filepath.Join(t.TempDir(), "one.csv")
	if err := os.WriteFile(path, []byte("1,2,5\n3,4,5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCSVFile[float32](path, CSVOptions{}); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("one class in a file: %v, want the file named", err)
	}
}
