package train

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/gradflow/gradflow/internal/testutil"
	"github.com/gradflow/gradflow/nn"
	"github.com/gradflow/gradflow/optim"
)

// Run a fuzzer with, for example,
//
//	go test ./train -run '^$' -fuzz '^FuzzResume$' -parallel 1 -fuzztime 1000000x
//	go test ./train -run '^$' -fuzz '^FuzzResumeBody$' -parallel 1 -fuzztime 1000000x
//
// Inputs it finds are saved under testdata/fuzz/<name>/ and replayed by
// every plain `go test` from then on, with the seeds added below.

// fuzzTrainer returns the trainer the checkpoint fuzzers resume into, at
// step 3 of a run, and the checkpoint of that state.
func fuzzTrainer(tb testing.TB) (*setup[float32], *Trainer[float32], []byte) {
	s := newSetup[float32](tb, 1, 8, 0.05)
	cfg := s.config()
	cfg.Steps = 3
	tr, b := checkpointAfter(tb, cfg)
	return s, tr, b
}

// checkpointAfter runs cfg (nothing when cfg.Steps is 0) and returns the
// trainer and its checkpoint.
func checkpointAfter(tb testing.TB, cfg Config[float32]) (*Trainer[float32], []byte) {
	run := cfg.Steps > 0
	if !run {
		cfg.Steps = 1
	}
	tr, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if run {
		if _, err := tr.Run(context.Background()); err != nil {
			tb.Fatal(err)
		}
	}
	p := filepath.Join(tb.TempDir(), "c.ckpt")
	if err := tr.SaveCheckpoint(p); err != nil {
		tb.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		tb.Fatal(err)
	}
	return tr, b
}

// trainerState is what a refused checkpoint must leave unchanged: the
// parameters, the optimizer's state, the loader's position and the
// trainer's counters.
func trainerState(tr *Trainer[float32]) []byte {
	var b []byte
	for _, p := range tr.params {
		for _, v := range p.Value.Data() {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	}
	o, err := tr.cfg.Optimizer.State().MarshalBinary()
	if err != nil {
		panic(err)
	}
	b = append(b, o...)
	return fmt.Appendf(b, "%+v %d %d %v %v %d %v %d %d %d %v %v", tr.cfg.Train.State(), tr.st.count, tr.epoch, tr.elapsed,
		tr.best, tr.bad, tr.sumLoss, tr.sumCorrect, tr.sumN, tr.stepsSinceRecord, tr.lastGradNorm, tr.lr)
}

// resumeChecks runs resume on the checkpoint b: it must return an error or
// succeed, never panic, and a refused checkpoint must leave the trainer in
// the state want (that of good, where every input starts). An accepted one
// is undone by resuming good.
func resumeChecks(t *testing.T, tr *Trainer[float32], b, good, want []byte) {
	if err := tr.resume("fuzz.ckpt", b); err != nil {
		if !bytes.Equal(trainerState(tr), want) {
			t.Fatalf("a refused checkpoint changed the trainer: %v", err)
		}
		return
	}
	if err := tr.resume("good.ckpt", good); err != nil {
		t.Fatal(err)
	}
}

// FuzzResume feeds arbitrary bytes to Resume: it must return an error or
// succeed, never panic, and a refused file must leave the trainer as it
// was. Almost every mutation fails the checksum at the end of the file;
// FuzzResumeBody reaches the parsers behind it.
func FuzzResume(f *testing.F) {
	_, tr, good := fuzzTrainer(f)
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add([]byte(checkpointMagic))
	// The file path, once: Resume reads the file and resumes its bytes.
	p := filepath.Join(f.TempDir(), "c")
	if err := os.WriteFile(p, good, 0o644); err != nil {
		f.Fatal(err)
	}
	if err := tr.Resume(p); err != nil {
		f.Fatal(err)
	}
	want := trainerState(tr)
	f.Fuzz(func(t *testing.T, in []byte) {
		resumeChecks(t, tr, in, good, want)
	})
}

// FuzzResumeBody fuzzes the checkpoint parsers behind the checksum: the
// input is a checkpoint without its trailing SHA-256, which the harness
// computes and appends, so every mutation reaches the header, model and
// optimizer-state parsers. With reseal, the checksums inside the sections
// (the model's safetensors SHA-256 and the optimizer state's CRC-32) are
// also recomputed where the header locates them, so mutated tensor data
// and optimizer buffers get through too. The seeds are real checkpoints:
// of the trainer itself, of the same run at step 0 and of a run with Adam
// (refused: another optimizer) and early stopping.
func FuzzResumeBody(f *testing.F) {
	s, tr, good := fuzzTrainer(f)
	body := func(ckpt []byte) []byte { return ckpt[:len(ckpt)-sha256.Size] }
	for _, reseal := range []bool{false, true} {
		f.Add(body(good), reseal)
	}
	f.Add(body(good)[:len(good)/2], false)
	// The same run before its first step, and a run with Adam (refused:
	// another optimizer) and early stopping.
	cfg := s.config()
	_, b := checkpointAfter(f, cfg)
	f.Add(body(b), true)
	o, err := optim.NewAdam(s.model.Params(), optim.DefaultAdam())
	if err != nil {
		f.Fatal(err)
	}
	cfg.Optimizer, cfg.Steps, cfg.LogEvery = o, 2, 1
	cfg.EarlyStop = &EarlyStop{Metric: "test.loss", Patience: 3}
	_, b = checkpointAfter(f, cfg)
	f.Add(body(b), true)
	// Training with Adam moved the shared model: put it back.
	if err := tr.resume("good.ckpt", good); err != nil {
		f.Fatal(err)
	}
	want := trainerState(tr)
	f.Fuzz(func(t *testing.T, in []byte, reseal bool) {
		b := make([]byte, len(in), len(in)+sha256.Size)
		copy(b, in)
		if reseal {
			resealSections(b)
		}
		sum := sha256.Sum256(b)
		resumeChecks(t, tr, append(b, sum[:]...), good, want)
	})
}

// resealSections recomputes, in place, the checksums inside the sections
// of the checkpoint body b (magic, header length, header, model, optimizer
// state) where its header locates them: the model's safetensors SHA-256
// and the optimizer state's trailing CRC-32. A body whose header does not
// parse is left as it is.
func resealSections(b []byte) {
	if len(b) < len(checkpointMagic)+8 {
		return
	}
	rest := b[len(checkpointMagic):]
	hl := binary.LittleEndian.Uint64(rest)
	rest = rest[8:]
	if hl > uint64(len(rest)) {
		return
	}
	var h checkpointHeader
	if json.Unmarshal(rest[:hl], &h) != nil {
		return
	}
	rest = rest[hl:]
	if h.ModelBytes < 0 || h.ModelBytes > int64(len(rest)) {
		return
	}
	testutil.ResealSafetensors(rest[:h.ModelBytes], nn.ChecksumKey)
	if opt := rest[h.ModelBytes:]; len(opt) >= 4 {
		binary.LittleEndian.PutUint32(opt[len(opt)-4:], crc32.ChecksumIEEE(opt[:len(opt)-4]))
	}
}

// TestResealSectionsReachesParsers: after a change to a parameter's bytes
// and to an optimizer buffer's bytes, resealSections (with the outer
// checksum appended, as FuzzResumeBody does) gives a checkpoint that
// resumes and holds the changed values, so the fuzzer's mutations do get
// past all three checksums.
func TestResealSectionsReachesParsers(t *testing.T) {
	_, tr, ckpt := fuzzTrainer(t)
	b := ckpt[:len(ckpt)-sha256.Size]
	// The last bytes of the model section are the last parameter's last
	// value; the optimizer state ends with a buffer value and the CRC.
	hl := binary.LittleEndian.Uint64(b[len(checkpointMagic):])
	var h checkpointHeader
	hdrStart := len(checkpointMagic) + 8
	if err := json.Unmarshal(b[hdrStart:hdrStart+int(hl)], &h); err != nil {
		t.Fatal(err)
	}
	modelEnd := hdrStart + int(hl) + int(h.ModelBytes)
	b[modelEnd-1] ^= 0x80 // float32 little endian: the sign bit
	b[len(b)-5] ^= 0x01   // the last buffer value's top byte
	resealSections(b)
	sum := sha256.Sum256(b)
	last := tr.params[len(tr.params)-1].Value.Data()
	want := -last[len(last)-1]
	lastBuf := func() float64 {
		g := tr.cfg.Optimizer.State().Groups
		ps := g[len(g)-1].Params
		bufs := ps[len(ps)-1].Buffers
		d := bufs[len(bufs)-1].Data
		return d[len(d)-1]
	}
	buf := lastBuf()
	if err := tr.resume("resealed", append(b, sum[:]...)); err != nil {
		t.Fatalf("resealed checkpoint refused: %v", err)
	}
	if got := last[len(last)-1]; got != want {
		t.Errorf("last parameter value %v, want the changed %v", got, want)
	}
	if lastBuf() == buf {
		t.Errorf("the optimizer's last buffer value %v did not change", buf)
	}
}
