package optim

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
)

// State is the serializable state of an optimizer: what a checkpoint needs
// to continue a run exactly where it stopped. It mirrors torch.optim's
// state_dict: the hyperparameters of every group and, for every parameter,
// its step count and named buffers ("momentum_buffer", "exp_avg",
// "exp_avg_sq", ... with torch's names). Buffers are stored as float64,
// which holds float32 values exactly.
//
// State encodes to JSON with encoding/json (readable, but not for NaN or
// Inf values) and to a compact binary form with MarshalBinary, which keeps
// every bit and carries a checksum.
type State struct {
	// Kind names the optimizer ("sgd", "adam", ...); LoadState refuses
	// the state of another kind.
	Kind string `json:"kind"`
	// Steps is the number of calls to Step.
	Steps int64 `json:"steps"`
	// Extra holds optimizer-level scalars (FISTA's momentum sequence, the
	// Polyak level, ...).
	Extra map[string]float64 `json:"extra,omitempty"`
	// Groups has one entry per parameter group, in order.
	Groups []GroupState `json:"groups"`
	// Average is the iterate average of an Averaged optimizer, nil for
	// an optimizer without averaging. Only Averaged loads it; the other
	// optimizers refuse a state that carries one, rather than drop it.
	Average *AverageState `json:"average,omitempty"`
}

// GroupState is the state of one parameter group.
type GroupState struct {
	// Hyper is the group's config struct (SGDConfig, AdamConfig, ...) as JSON.
	Hyper json.RawMessage `json:"hyper"`
	// Params has one entry per parameter of the group, in order.
	Params []ParamState `json:"params"`
}

// ParamState is the state of one parameter.
type ParamState struct {
	// Name and Len identify the parameter; loading checks both.
	Name string `json:"name"`
	Len  int    `json:"len"`
	// Step is the number of updates applied to this parameter (torch's
	// per-parameter "step").
	Step int64 `json:"step"`
	// Buffers are the named per-parameter tensors, flattened row-major.
	Buffers []Buffer `json:"buffers,omitempty"`
}

// Buffer is one named per-parameter tensor of optimizer state.
type Buffer struct {
	Name string    `json:"name"`
	Data []float64 `json:"data"`
}

// binaryMagic starts every binary-encoded State; the byte after the name is
// the format version: 1, or 2 for a state with an Average (whose data
// follows the buffers', so that a reader of version 1 refuses it instead of
// misreading it).
var binaryMagic = []byte("gradflow-optim\x00\x01")

const binaryVersionAverage = 2

// MarshalBinary encodes s as: magic and version, the length and JSON text of
// s without buffer data, every buffer's float64 values in little-endian
// order, then those of the average's buffers, and a CRC-32 (IEEE) of all
// preceding bytes.
func (s *State) MarshalBinary() ([]byte, error) {
	hdr := *s
	hdr.Groups = make([]GroupState, len(s.Groups))
	n := 0
	// lengthsOnly returns the header form of bufs: each entry records its
	// length in Data's place, a one-element slice holding it.
	lengthsOnly := func(bufs []Buffer) []Buffer {
		h := make([]Buffer, len(bufs))
		for bi, b := range bufs {
			h[bi] = Buffer{Name: b.Name, Data: []float64{float64(len(b.Data))}}
			n += len(b.Data)
		}
		return h
	}
	for gi, g := range s.Groups {
		hg := GroupState{Hyper: g.Hyper, Params: make([]ParamState, len(g.Params))}
		for pi, p := range g.Params {
			hp := p
			hp.Buffers = lengthsOnly(p.Buffers)
			hg.Params[pi] = hp
		}
		hdr.Groups[gi] = hg
	}
	if s.Average != nil {
		ha := *s.Average
		ha.Params = lengthsOnly(s.Average.Params)
		hdr.Average = &ha
	}
	for k, v := range s.Extra {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("optim: State.MarshalBinary: extra %q = %v is not finite", k, v)
		}
	}
	js, err := json.Marshal(&hdr)
	if err != nil {
		return nil, fmt.Errorf("optim: State.MarshalBinary: %v", err)
	}
	out := make([]byte, 0, len(binaryMagic)+8+len(js)+8*n+4)
	out = append(out, binaryMagic...)
	if s.Average != nil {
		out[len(out)-1] = binaryVersionAverage
	}
	out = binary.LittleEndian.AppendUint64(out, uint64(len(js)))
	out = append(out, js...)
	appendData := func(bufs []Buffer) {
		for _, b := range bufs {
			for _, v := range b.Data {
				out = binary.LittleEndian.AppendUint64(out, math.Float64bits(v))
			}
		}
	}
	for _, g := range s.Groups {
		for _, p := range g.Params {
			appendData(p.Buffers)
		}
	}
	if s.Average != nil {
		appendData(s.Average.Params)
	}
	return binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(out)), nil
}

// UnmarshalBinary decodes data written by MarshalBinary into s. It refuses
// data that is truncated, has trailing bytes, or fails the checksum.
func (s *State) UnmarshalBinary(data []byte) error {
	const what = "optim: State.UnmarshalBinary: "
	if len(data) < len(binaryMagic)+8+4 || !bytes.Equal(data[:len(binaryMagic)-1], binaryMagic[:len(binaryMagic)-1]) {
		return errors.New(what + "not an optimizer state (bad magic or too short)")
	}
	version := data[len(binaryMagic)-1]
	if version != binaryMagic[len(binaryMagic)-1] && version != binaryVersionAverage {
		return fmt.Errorf(what+"unsupported format version %d", version)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return errors.New(what + "checksum mismatch (corrupt or truncated data)")
	}
	rest := body[len(binaryMagic):]
	hl := binary.LittleEndian.Uint64(rest)
	rest = rest[8:]
	if hl > uint64(len(rest)) {
		return errors.New(what + "header length exceeds data")
	}
	var hdr State
	if err := json.Unmarshal(rest[:hl], &hdr); err != nil {
		return fmt.Errorf(what+"header: %v", err)
	}
	if (hdr.Average != nil) != (version == binaryVersionAverage) {
		return fmt.Errorf(what+"format version %d does not match the header (average present: %t)", version, hdr.Average != nil)
	}
	rest = rest[hl:]
	// readData replaces the lengths the header records in bufs by the data.
	readData := func(bufs []Buffer) error {
		for bi := range bufs {
			if len(bufs[bi].Data) != 1 {
				return fmt.Errorf(what+"buffer %q: malformed length", bufs[bi].Name)
			}
			n := bufs[bi].Data[0]
			if n < 0 || n != math.Trunc(n) || n*8 > float64(len(rest)) {
				return fmt.Errorf(what+"buffer %q: length %v exceeds the data", bufs[bi].Name, n)
			}
			d := make([]float64, int(n))
			for i := range d {
				d[i] = math.Float64frombits(binary.LittleEndian.Uint64(rest[8*i:]))
			}
			rest = rest[8*len(d):]
			bufs[bi].Data = d
		}
		return nil
	}
	for gi := range hdr.Groups {
		for pi := range hdr.Groups[gi].Params {
			if err := readData(hdr.Groups[gi].Params[pi].Buffers); err != nil {
				return err
			}
		}
	}
	if hdr.Average != nil {
		if err := readData(hdr.Average.Params); err != nil {
			return err
		}
	}
	if len(rest) != 0 {
		return fmt.Errorf(what+"%d trailing bytes", len(rest))
	}
	*s = hdr
	return nil
}

// refuseAverage returns an error if s carries an iterate average: only an
// Averaged optimizer can continue it, and dropping it silently would make
// a resumed run evaluate another average than an uninterrupted one.
func refuseAverage(kind string, s *State) error {
	if s.Average != nil {
		return fmt.Errorf("optim: %s.LoadState: the state carries an iterate average; build the optimizer with the same averaging (Spec.Average, NewAveraged)", kind)
	}
	return nil
}
