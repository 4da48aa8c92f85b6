package nn

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/gradflow/gradflow/tensor"
)

// The safetensors format (huggingface/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON mapping each tensor name
// to {"dtype", "shape", "data_offsets": [begin, end]} (offsets into the
// data that follows the header) plus an optional "__metadata__" object of
// string values, then the raw little-endian tensor data.

// maxHeader bounds the JSON header a reader accepts, so that a corrupt
// length cannot make it allocate gigabytes.
const maxHeader = 100 << 20

// MLPFormat is the value of the "format" metadata key of MLP files.
const MLPFormat = "gradflow.mlp/v1"

type tensorEntry struct {
	Dtype       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// ChecksumKey is the __metadata__ key under which the files gradflow
// writes record the SHA-256 of their tensor data (the bytes after the
// header), as 64 lowercase hexadecimal digits. ParseSafetensors verifies it
// when present; readers that do not know it (PyTorch's) ignore it, as they
// ignore all metadata.
const ChecksumKey = "gradflow.sha256"

// ErrChecksum is wrapped by the error of ParseSafetensors (and so of Load,
// LoadTorch and their File forms) for a file whose tensor data does not
// match the checksum in its metadata: a damaged or modified file.
var ErrChecksum = errors.New("safetensors: the tensor data does not match its checksum")

// WriteSafetensors writes params (name, value) and the metadata to w in
// the safetensors format, values in T's dtype (F32 or F64), in the order
// of params. The metadata written is meta plus ChecksumKey, the SHA-256 of
// the tensor data (a ChecksumKey entry in meta is replaced).
func WriteSafetensors[T Float](w io.Writer, params []*Param[T], meta map[string]string) error {
	return WriteStateDict(w, params, nil, meta)
}

// WriteStateDict is WriteSafetensors for a module with buffers: the
// parameters, then the buffers (see Buffer; an Int buffer is written as
// I64, its values rounded to integers), as torch's state_dict holds them.
// Names must be distinct.
func WriteStateDict[T Float](w io.Writer, params []*Param[T], buffers []*Buffer[T], meta map[string]string) error {
	type entry struct {
		name string
		t    *tensor.Tensor[T]
		i64  bool
	}
	entries := make([]entry, 0, len(params)+len(buffers))
	for _, p := range params {
		entries = append(entries, entry{p.Name, p.Value, false})
	}
	for _, b := range buffers {
		entries = append(entries, entry{b.Name, b.Value, b.Int})
	}
	dtype, size := dtypeOf[T]()
	header := make(map[string]any, len(entries)+1)
	var off int64
	sum := sha256.New()
	var scratch []byte
	appendData := func(b []byte, e entry, d []T) []byte {
		if e.i64 {
			for _, v := range d {
				b = binary.LittleEndian.AppendUint64(b, uint64(int64(math.Round(float64(v)))))
			}
			return b
		}
		return appendLE(b, d)
	}
	for _, e := range entries {
		if _, dup := header[e.name]; dup || e.name == "__metadata__" {
			return fmt.Errorf("nn: duplicate or reserved tensor name %q", e.name)
		}
		dt, sz := dtype, size
		if e.i64 {
			dt, sz = "I64", 8
		}
		n := int64(e.t.Len()) * int64(sz)
		header[e.name] = tensorEntry{Dtype: dt, Shape: append([]int{}, e.t.Shape()...), DataOffsets: [2]int64{off, off + n}}
		off += n
		// The data is hashed in pieces, so that the file is held in
		// memory once (below), not twice.
		d := e.t.Data()
		for len(d) > 0 {
			k := min(len(d), 4096/sz)
			scratch = appendData(scratch[:0], e, d[:k])
			sum.Write(scratch)
			d = d[k:]
		}
	}
	md := make(map[string]string, len(meta)+1)
	maps.Copy(md, meta)
	md[ChecksumKey] = hex.EncodeToString(sum.Sum(nil))
	header["__metadata__"] = md
	h, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("nn: encoding safetensors header: %w", err)
	}
	// Pad the header with spaces so the data starts 8-byte aligned, as the
	// reference implementation does.
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	buf := make([]byte, 8, 8+len(h)+int(off))
	binary.LittleEndian.PutUint64(buf, uint64(len(h)))
	buf = append(buf, h...)
	for _, e := range entries {
		buf = appendData(buf, e, e.t.Data())
	}
	_, err = w.Write(buf)
	return err
}

func dtypeOf[T Float]() (string, int) {
	var z T
	if _, ok := any(z).(float32); ok {
		return "F32", 4
	}
	return "F64", 8
}

func appendLE[T Float](b []byte, d []T) []byte {
	switch d := any(d).(type) {
	case []float32:
		for _, v := range d {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	case []float64:
		for _, v := range d {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	}
	return b
}

// Safetensors is the parsed content of a safetensors file.
type Safetensors struct {
	Metadata map[string]string
	entries  map[string]tensorEntry
	data     []byte
}

// Names returns the tensor names in the file, sorted.
func (s *Safetensors) Names() []string {
	names := make([]string, 0, len(s.entries))
	for n := range s.entries {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ParseSafetensors parses a whole safetensors file. It checks the header,
// that every tensor's data lies inside the file with the size its dtype
// and shape imply, and, when the metadata records one (ChecksumKey), the
// SHA-256 of the tensor data (an error wrapping ErrChecksum), and returns
// an error naming the first problem.
func ParseSafetensors(b []byte) (*Safetensors, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("safetensors: file of %d bytes is shorter than the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > maxHeader || n > uint64(len(b)-8) {
		return nil, fmt.Errorf("safetensors: header length %d exceeds the file (%d bytes) or the %d-byte limit (truncated or not a safetensors file)", n, len(b), maxHeader)
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b[8 : 8+n]))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("safetensors: header is not a JSON object: %v", err)
	}
	s := &Safetensors{entries: make(map[string]tensorEntry, len(raw)), data: b[8+n:]}
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &s.Metadata); err != nil {
				return nil, fmt.Errorf("safetensors: __metadata__ is not an object of strings: %v", err)
			}
			continue
		}
		var e tensorEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("safetensors: tensor %q: bad header entry: %v", name, err)
		}
		size := 0
		switch e.Dtype {
		case "F32":
			size = 4
		case "F64", "I64":
			// I64 holds integer buffers such as a BatchNorm's
			// num_batches_tracked (torch.int64).
			size = 8
		default:
			return nil, fmt.Errorf("safetensors: tensor %q: dtype %q not supported (want F32, F64, or I64 for integer buffers such as num_batches_tracked); convert the tensor to float32 or float64 before saving", name, e.Dtype)
		}
		if len(e.Shape) > tensor.MaxRank {
			return nil, fmt.Errorf("safetensors: tensor %q: rank %d exceeds %d", name, len(e.Shape), tensor.MaxRank)
		}
		elems := int64(1)
		for _, d := range e.Shape {
			if d < 0 || d > math.MaxInt32 || elems > math.MaxInt64/int64(math.MaxInt32+1) {
				return nil, fmt.Errorf("safetensors: tensor %q: invalid shape %v", name, e.Shape)
			}
			elems *= int64(d)
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if begin < 0 || end < begin || end > int64(len(s.data)) {
			return nil, fmt.Errorf("safetensors: tensor %q: data offsets [%d, %d] outside the %d data bytes (truncated file?)", name, begin, end, len(s.data))
		}
		if end-begin != elems*int64(size) {
			return nil, fmt.Errorf("safetensors: tensor %q: %d data bytes for %s shape %v (want %d)", name, end-begin, e.Dtype, e.Shape, elems*int64(size))
		}
		s.entries[name] = e
	}
	if want, ok := s.Metadata[ChecksumKey]; ok {
		if err := verifyChecksum(want, s.data); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// verifyChecksum checks data against want, the value of ChecksumKey.
func verifyChecksum(want string, data []byte) error {
	rec, err := hex.DecodeString(want)
	if err != nil || len(rec) != sha256.Size || strings.ToLower(want) != want {
		return fmt.Errorf("safetensors: __metadata__ %q = %q is not a SHA-256 (64 lowercase hexadecimal digits)", ChecksumKey, want)
	}
	if got := sha256.Sum256(data); !bytes.Equal(got[:], rec) {
		return fmt.Errorf("%w (SHA-256 %x, __metadata__ %q records %s): the file is damaged or was modified", ErrChecksum, got, ChecksumKey, want)
	}
	return nil
}

// Tensor returns the tensor called name converted to T (exact from F32 to
// F64; rounded to nearest from F64 to F32; I64 integers converted, exact
// up to 2^53 in float64 and 2^24 in float32), or an error if there is
// none.
func Tensor[T Float](s *Safetensors, name string) (*tensor.Tensor[T], error) {
	e, ok := s.entries[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: no tensor %q", name)
	}
	t := tensor.New[T](e.Shape...)
	b := s.data[e.DataOffsets[0]:e.DataOffsets[1]]
	d := t.Data()
	switch e.Dtype {
	case "F32":
		for i := range d {
			d[i] = T(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case "F64":
		for i := range d {
			d[i] = T(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
	case "I64":
		for i := range d {
			d[i] = T(int64(binary.LittleEndian.Uint64(b[8*i:])))
		}
	}
	return t, nil
}

// metadata returns the model-file metadata describing m's architecture.
func (m *MLP[T]) metadata() map[string]string {
	c := m.Config
	dims, _ := json.Marshal(c.Dims)
	meta := map[string]string{
		"format":           MLPFormat,
		"dims":             string(dims),
		"activation":       string(c.Activation),
		"parameterization": string(c.Parameterization),
		"w_std":            strconv.FormatFloat(c.WStd, 'g', -1, 64),
		"b_std":            strconv.FormatFloat(c.BStd, 'g', -1, 64),
		"bias":             strconv.FormatBool(c.HasBias()),
		"adaptive_lr":      strconv.FormatBool(c.AdaptiveLR),
	}
	if len(c.Activations) > 0 {
		a, _ := json.Marshal(c.Activations)
		meta["activations"] = string(a)
	}
	// Record the forward multipliers too: readers that are not gradflow
	// (a PyTorch script) need them to reproduce non-standard
	// parameterizations.
	alphas := make([]float64, len(m.Layers))
	betas := make([]float64, len(m.Layers))
	for i, l := range m.Layers {
		alphas[i], betas[i] = l.Alpha, l.BiasMult
	}
	a, _ := json.Marshal(alphas)
	b, _ := json.Marshal(betas)
	meta["weight_multipliers"], meta["bias_multipliers"] = string(a), string(b)
	return meta
}

// Save writes m to w as a safetensors file: the state dict of the
// equivalent torch.nn.Sequential ("0.weight" [out, in], "0.bias", "2.weight",
// ...) in T's dtype, and metadata recording the architecture (dims,
// activations, parameterization, scales) so that Load can rebuild it.
func (m *MLP[T]) Save(w io.Writer) error { return WriteSafetensors(w, m.params, m.metadata()) }

// SaveFile writes m to the named file (see Save).
func (m *MLP[T]) SaveFile(path string) error {
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// Load reads an MLP saved by Save (or written by another tool with the same
// keys and metadata) from r. Tensors stored as F32 or F64 are converted to
// T. The error names what is wrong: a missing or malformed metadata field,
// a missing, unexpected or misshapen tensor, truncated data.
//
// A file without gradflow's metadata, such as a PyTorch state dict saved
// with safetensors.torch.save_file, is an error that points to LoadTorch:
// such a file does not record its activations, and Load does not guess
// them, because a wrong guess would load without error and compute
// another function.
func Load[T Float](r io.Reader) (*MLP[T], error) {
	s, err := readSafetensors(r)
	if err != nil {
		return nil, err
	}
	return FromSafetensors[T](s)
}

// readSafetensors reads all of r and parses it.
func readSafetensors(r io.Reader) (*Safetensors, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return ParseSafetensors(b)
}

// LoadFile reads an MLP from the named safetensors file (see Load); errors
// start with the path.
func LoadFile[T Float](path string) (*MLP[T], error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := Load[T](f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// FromSafetensors rebuilds an MLP from parsed safetensors content with
// gradflow's metadata (see Load; FromTorch reads a plain state dict).
func FromSafetensors[T Float](s *Safetensors) (*MLP[T], error) {
	md := s.Metadata
	if md["format"] == "" {
		return nil, fmt.Errorf("nn.Load: no architecture in __metadata__: the file does not describe an MLP (%s)", useLoadTorch)
	}
	if f := md["format"]; f == NetFormat {
		return nil, fmt.Errorf("nn.Load: the file holds a net (spec %s), not an MLP: load it with nn.LoadNet or nn.LoadNetFile", md["spec"])
	} else if f != MLPFormat {
		return nil, fmt.Errorf("nn.Load: metadata format %q, want %q (%s)", f, MLPFormat, useLoadTorch)
	}
	var c MLPConfig
	if err := json.Unmarshal([]byte(md["dims"]), &c.Dims); err != nil {
		return nil, fmt.Errorf("nn.Load: metadata dims %q: %v", md["dims"], err)
	}
	c.Activation = Activation(md["activation"])
	if a := md["activations"]; a != "" {
		if err := json.Unmarshal([]byte(a), &c.Activations); err != nil {
			return nil, fmt.Errorf("nn.Load: metadata activations %q: %v", a, err)
		}
	}
	c.Parameterization = Parameterization(md["parameterization"])
	var err error
	if c.WStd, err = parseMetaFloat(md, "w_std"); err != nil {
		return nil, err
	}
	if c.BStd, err = parseMetaFloat(md, "b_std"); err != nil {
		return nil, err
	}
	bias, err := strconv.ParseBool(md["bias"])
	if err != nil {
		return nil, fmt.Errorf("nn.Load: metadata bias %q is not a boolean", md["bias"])
	}
	c.NoBias = !bias
	if v, ok := md["adaptive_lr"]; ok {
		if c.AdaptiveLR, err = strconv.ParseBool(v); err != nil {
			return nil, fmt.Errorf("nn.Load: metadata adaptive_lr %q is not a boolean", v)
		}
	}
	if c.Parameterization == "" || c.Activation == "" {
		return nil, fmt.Errorf("nn.Load: metadata lacks activation or parameterization")
	}
	c, err = c.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("nn.Load: metadata: %w", err)
	}
	if c.HasBias() != bias {
		return nil, fmt.Errorf("nn.Load: metadata bias = %v contradicts parameterization %s with b_std %v", bias, c.Parameterization, c.BStd)
	}
	// The tensors must fit in the file's data (4 bytes per element at
	// least): checking before allocating keeps a corrupt dims entry from
	// asking for gigabytes.
	budget := len(s.data) / 4
	total := 0
	for l := 0; l+1 < len(c.Dims); l++ {
		in, out := c.Dims[l], c.Dims[l+1]
		n := in * out
		if in > budget || out > budget || n > budget-total {
			return nil, fmt.Errorf("nn.Load: metadata dims %v describe more parameters than the file's %d data bytes hold", c.Dims, len(s.data))
		}
		if bias {
			n += out // biases exist only when the metadata says so
		}
		total += n
	}
	m := newMLPShell[T](c)
	seen := 0
	for _, p := range m.params {
		e, ok := s.entries[p.Name]
		if !ok {
			return nil, fmt.Errorf("nn.Load: tensor %q missing for dims %v", p.Name, c.Dims)
		}
		if !sameShape(e.Shape, p.Value.Shape()) {
			return nil, fmt.Errorf("nn.Load: tensor %q has shape %v, want %v for dims %v", p.Name, e.Shape, p.Value.Shape(), c.Dims)
		}
		v, _ := Tensor[T](s, p.Name)
		p.Value.CopyFrom(v)
		seen++
	}
	if seen != len(s.entries) {
		for _, n := range s.Names() {
			if !m.hasParam(n) {
				return nil, fmt.Errorf("nn.Load: unexpected tensor %q for dims %v", n, c.Dims)
			}
		}
	}
	return m, nil
}

// useLoadTorch is the hint Load gives for files without gradflow's
// metadata, which are most often state dicts saved by PyTorch.
const useLoadTorch = "a PyTorch state dict saved without gradflow's metadata loads with nn.LoadTorch, which takes the activations the file does not record"

func (m *MLP[T]) hasParam(name string) bool {
	for _, p := range m.params {
		if p.Name == name {
			return true
		}
	}
	return false
}

func parseMetaFloat(md map[string]string, key string) (float64, error) {
	v, err := strconv.ParseFloat(md[key], 64)
	if err != nil {
		return 0, fmt.Errorf("nn.Load: metadata %s %q is not a number", key, md[key])
	}
	return v, nil
}

// keyRule says how state-dict keys are numbered, for load errors.
const keyRule = "keys number every module of the Sequential, activations, pools, flatten and dropout too, one per spec token"

// loadState copies the tensors of s into params and buffers, strictly:
// every name must be present with the same shape, and s must hold no
// other tensor; nothing is changed unless all fit. what describes the
// model in errors.
func loadState[T Float](s *Safetensors, params []*Param[T], buffers []*Buffer[T], what string) error {
	type dst struct {
		name string
		t    *tensor.Tensor[T]
	}
	dsts := make([]dst, 0, len(params)+len(buffers))
	for _, p := range params {
		dsts = append(dsts, dst{p.Name, p.Value})
	}
	for _, b := range buffers {
		dsts = append(dsts, dst{b.Name, b.Value})
	}
	want := make(map[string]bool, len(dsts))
	for _, d := range dsts {
		want[d.name] = true
	}
	for _, d := range dsts {
		e, ok := s.entries[d.name]
		if !ok {
			// A key of the file the model lacks is the likely culprit
			// (a module missing from the spec shifts the indices).
			for _, name := range s.Names() {
				if !want[name] {
					return fmt.Errorf("tensor %q missing (want shape %v for %s); the file has %q instead: %s", d.name, d.t.Shape(), what, name, keyRule)
				}
			}
			return fmt.Errorf("tensor %q missing (want shape %v for %s)", d.name, d.t.Shape(), what)
		}
		if !sameShape(e.Shape, d.t.Shape()) {
			return fmt.Errorf("tensor %q has shape %v, want %v for %s", d.name, e.Shape, d.t.Shape(), what)
		}
	}
	for _, name := range s.Names() {
		if !want[name] {
			return fmt.Errorf("unexpected tensor %q: %s has no parameter or buffer of that name (%s)", name, what, keyRule)
		}
	}
	for _, d := range dsts {
		v, _ := Tensor[T](s, d.name)
		d.t.CopyFrom(v)
	}
	return nil
}
