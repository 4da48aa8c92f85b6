package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the Busy goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNotTerminal: off a terminal nothing is redrawn (no carriage return,
// no escape sequence); lines given to Println and Write stay, and a Write
// split inside a line waits for its end.
func TestNotTerminal(t *testing.T) {
	var b syncBuffer
	r := New(&b)
	if r.Due() {
		t.Error("Due on a buffer, want false (not a terminal)")
	}
	r.Bar(5, 10, "loss 1")
	r.Println("epoch 1")
	r.Write([]byte("run 1 done\nrun 2"))
	r.Write([]byte(" done\n"))
	r.Clear()
	want := "epoch 1\nrun 1 done\nrun 2 done\n"
	if got := b.String(); got != want {
		t.Fatalf("wrote %q, want %q", got, want)
	}
}

// TestBusy: work longer than Delay is announced, and repeated every
// Every; work shorter than Delay prints nothing.
func TestBusy(t *testing.T) {
	var b syncBuffer
	r := New(&b)
	r.Delay, r.Every = 20*time.Millisecond, 30*time.Millisecond
	stop := r.Busy("ntk: computing")
	time.Sleep(100 * time.Millisecond)
	stop()
	stop() // a second call is harmless
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	// At 20, 50, 80 ms: 3 lines; a slow machine may fit fewer.
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "ntk: computing ... (running for") {
		t.Fatalf("Busy wrote %q, want a line after Delay and more every Every", b.String())
	}
	n := len(b.String())
	time.Sleep(60 * time.Millisecond)
	if len(b.String()) != n {
		t.Error("Busy kept writing after stop")
	}
	var quick syncBuffer
	q := New(&quick)
	q.Delay = time.Second
	q.Busy("fast")()
	if quick.String() != "" {
		t.Errorf("work shorter than Delay printed %q", quick.String())
	}
}

// TestTerminal: on a terminal the status line is redrawn in place and
// erased before a line that stays.
func TestTerminal(t *testing.T) {
	var b syncBuffer
	r := New(&b)
	r.tty = true
	if !r.Due() {
		t.Fatal("Due on a fresh terminal reporter, want true")
	}
	r.Bar(15, 30, "epoch 1")
	if r.Due() {
		t.Error("Due right after a redraw, want false (at most ten a second)")
	}
	r.Println("epoch 1 done")
	r.Clear()
	want := "\r[===============               ]  50%  15/30  epoch 1\033[K\r\033[Kepoch 1 done\n"
	if got := b.String(); got != want {
		t.Fatalf("wrote %q, want %q", got, want)
	}
}

// TestLogDue: off a terminal, a line is due Delay after the start and then
// Every after the last line; on a terminal never (the bar shows it).
func TestLogDue(t *testing.T) {
	var b syncBuffer
	r := New(&b)
	r.Delay, r.Every = 0, time.Hour
	if !r.LogDue() {
		t.Fatal("no line due after Delay 0")
	}
	r.Println("step 10/100")
	if r.LogDue() {
		t.Error("a line due right after one was printed (Every is an hour)")
	}
	r.Every = 0
	if !r.LogDue() {
		t.Error("no line due after Every 0")
	}
	r.tty = true
	if r.LogDue() {
		t.Error("a line due on a terminal")
	}
}
