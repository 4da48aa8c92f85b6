package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/gradflow/gradflow/data"
	"github.com/gradflow/gradflow/internal/outfile"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
	"github.com/gradflow/gradflow/tensor"
)

// checkpointMagic starts every checkpoint file (version 1).
const checkpointMagic = "GRADFLOW-CKPT-1\n"

// checkpointHeader is the JSON part of a checkpoint.
type checkpointHeader struct {
	DType   string           `json:"dtype"`
	Step    int              `json:"step"`
	Epoch   int              `json:"epoch"`
	Elapsed float64          `json:"elapsed_seconds"`
	Loader  data.LoaderState `json:"loader"`
	Best    *float64         `json:"early_stop_best,omitempty"`
	Bad     int              `json:"early_stop_bad"`
	// Running sums since the last record, so the first record after a
	// resume averages the same steps as in an uninterrupted run.
	SumLoss    float64 `json:"sum_loss"`
	SumCorrect int     `json:"sum_correct"`
	SumN       int     `json:"sum_n"`
	SinceRec   int     `json:"steps_since_record"`
	GradNorm   float64 `json:"grad_norm"`
	LR         float64 `json:"lr"`
	ModelBytes int64   `json:"model_bytes"`
	OptimBytes int64   `json:"optim_bytes"`
}

func dtypeName[T tensor.Float]() string {
	var z T
	if _, ok := any(z).(float32); ok {
		return "float32"
	}
	return "float64"
}

// SaveCheckpoint writes the trainer's complete state to path atomically:
// to a temporary file in the same directory, fsynced, then renamed.
func (tr *Trainer[T]) SaveCheckpoint(path string) error {
	var model bytes.Buffer
	// Buffers (a BatchNorm's running statistics) are state a resumed run
	// needs as much as the parameters.
	if err := nn.WriteStateDict(&model, tr.params, nn.Buffers(tr.cfg.Model), nil); err != nil {
		return fmt.Errorf("train: checkpoint %s: model: %w", path, err)
	}
	opt, err := tr.cfg.Optimizer.State().MarshalBinary()
	if err != nil {
		return fmt.Errorf("train: checkpoint %s: optimizer: %w", path, err)
	}
	h := checkpointHeader{
		DType: dtypeName[T](), Step: tr.st.count, Epoch: tr.epoch,
		Elapsed: tr.elapsedNow(), Loader: tr.cfg.Train.State(), Bad: tr.bad,
		ModelBytes: int64(model.Len()), OptimBytes: int64(len(opt)),
		SumLoss: tr.sumLoss, SumCorrect: tr.sumCorrect, SumN: tr.sumN, SinceRec: tr.stepsSinceRecord,
		GradNorm: tr.lastGradNorm, LR: tr.lr,
	}
	if !math.IsNaN(tr.best) {
		b := tr.best
		h.Best = &b
	}
	hj, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	var buf bytes.Buffer
	buf.WriteString(checkpointMagic)
	_ = binary.Write(&buf, binary.LittleEndian, uint64(len(hj)))
	buf.Write(hj)
	buf.Write(model.Bytes())
	buf.Write(opt)
	sum := sha256.Sum256(buf.Bytes())
	buf.Write(sum[:])
	if err := outfile.WriteBytes(path, buf.Bytes()); err != nil {
		return fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	return nil
}

func (tr *Trainer[T]) elapsedNow() float64 {
	if tr.start.IsZero() {
		return tr.elapsed
	}
	return tr.elapsed + time.Since(tr.start).Seconds()
}

// ErrCorruptCheckpoint is wrapped by the errors Resume returns for a file
// that is not a complete, intact checkpoint.
var ErrCorruptCheckpoint = errors.New("corrupt checkpoint")

// Resume restores a checkpoint written by SaveCheckpoint into tr, which must
// have been built with the same configuration (same model architecture,
// optimizer kind and groups, dataset and loader settings). The next Run
// continues exactly where the saved run was.
func (tr *Trainer[T]) Resume(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("train: resume: %w", err)
	}
	return tr.resume(path, b)
}

// resume is Resume of the checkpoint b read from path.
func (tr *Trainer[T]) resume(path string, b []byte) error {
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("train: resume %s: %w: %s", path, ErrCorruptCheckpoint, fmt.Sprintf(format, args...))
	}
	if len(b) < len(checkpointMagic)+8+sha256.Size || string(b[:len(checkpointMagic)]) != checkpointMagic {
		return corrupt("not a gradflow checkpoint (bad magic or too short: %d bytes)", len(b))
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return corrupt("checksum mismatch (truncated or modified file)")
	}
	rest := body[len(checkpointMagic):]
	hl := binary.LittleEndian.Uint64(rest[:8])
	rest = rest[8:]
	if hl > uint64(len(rest)) {
		return corrupt("header length %d exceeds file", hl)
	}
	var h checkpointHeader
	if err := json.Unmarshal(rest[:hl], &h); err != nil {
		return corrupt("header: %v", err)
	}
	rest = rest[hl:]
	if h.ModelBytes < 0 || h.OptimBytes < 0 || uint64(h.ModelBytes)+uint64(h.OptimBytes) != uint64(len(rest)) {
		return corrupt("section sizes %d + %d do not match the %d bytes present", h.ModelBytes, h.OptimBytes, len(rest))
	}
	if want := dtypeName[T](); h.DType != want {
		return fmt.Errorf("train: resume %s: checkpoint holds %s parameters, the trainer uses %s", path, h.DType, want)
	}
	st, err := nn.ParseSafetensors(rest[:h.ModelBytes])
	if err != nil {
		return corrupt("model: %v", err)
	}
	// Check every parameter before changing any, so a mismatch leaves the
	// trainer untouched.
	vals := make([]*tensor.Tensor[T], len(tr.params))
	for i, p := range tr.params {
		v, err := nn.Tensor[T](st, p.Name)
		if err != nil {
			return fmt.Errorf("train: resume %s: %w", path, err)
		}
		if !tensor.SameShape(v, p.Value) {
			return fmt.Errorf("train: resume %s: parameter %q has shape %v in the checkpoint, %v in the model", path, p.Name, v.Shape(), p.Value.Shape())
		}
		vals[i] = v
	}
	bufs := nn.Buffers(tr.cfg.Model)
	bvals := make([]*tensor.Tensor[T], len(bufs))
	for i, b := range bufs {
		v, err := nn.Tensor[T](st, b.Name)
		if err != nil {
			return fmt.Errorf("train: resume %s: buffer: %w", path, err)
		}
		if !tensor.SameShape(v, b.Value) {
			return fmt.Errorf("train: resume %s: buffer %q has shape %v in the checkpoint, %v in the model", path, b.Name, v.Shape(), b.Value.Shape())
		}
		bvals[i] = v
	}
	if n := len(st.Names()); n != len(tr.params)+len(bufs) {
		return fmt.Errorf("train: resume %s: checkpoint has %d tensors, the model %d parameters and %d buffers", path, n, len(tr.params), len(bufs))
	}
	var ost optim.State
	if err := ost.UnmarshalBinary(rest[h.ModelBytes:]); err != nil {
		return corrupt("optimizer: %v", err)
	}
	prev := tr.cfg.Optimizer.State()
	if err := tr.cfg.Optimizer.LoadState(&ost); err != nil {
		return fmt.Errorf("train: resume %s: %w", path, err)
	}
	if err := tr.cfg.Train.Restore(h.Loader); err != nil {
		_ = tr.cfg.Optimizer.LoadState(prev) // leave the trainer as it was
		return fmt.Errorf("train: resume %s: %w", path, err)
	}
	for i, p := range tr.params {
		p.Value.CopyFrom(vals[i])
	}
	for i, b := range bufs {
		b.Value.CopyFrom(bvals[i])
	}
	tr.st.count, tr.epoch, tr.elapsed, tr.bad = h.Step, h.Epoch, h.Elapsed, h.Bad
	tr.best = math.NaN()
	if h.Best != nil {
		tr.best = *h.Best
	}
	tr.sumLoss, tr.sumCorrect, tr.sumN, tr.stepsSinceRecord = h.SumLoss, h.SumCorrect, h.SumN, h.SinceRec
	tr.lastGradNorm, tr.lr = h.GradNorm, h.LR
	return nil
}
