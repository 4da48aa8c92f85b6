package progress

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Reporter writes progress to w. Its methods may be called from several
// goroutines.
type Reporter struct {
	// Delay is how long work runs before Busy shows it (default 2 s);
	// Every is how often Busy repeats its line when w is not a terminal
	// (default 10 s).
	Delay, Every time.Duration

	w        io.Writer
	tty      bool
	mu       sync.Mutex
	start    time.Time // of the Reporter
	drawn    bool      // a status line is on the terminal
	lastDraw time.Time // of the status line
	lastLine time.Time // of the last line that stays
	partial  []byte    // an unfinished line given to Write
}

// New returns a Reporter writing to w; it redraws a status line only when
// w is a terminal.
func New(w io.Writer) *Reporter {
	r := &Reporter{w: w, Delay: 2 * time.Second, Every: 10 * time.Second, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			r.tty = true
		}
	}
	return r
}

// Due reports whether a status line may be drawn now: w is a terminal and
// the last one is at least a tenth of a second old. Callers check it
// before formatting what Bar shows.
func (r *Reporter) Due() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tty && time.Since(r.lastDraw) >= 100*time.Millisecond
}

// LogDue reports whether work that counts steps should print a line that
// stays now, when w is not a terminal (where Bar draws nothing): Delay
// after the Reporter was made, then Every after the last line.
func (r *Reporter) LogDue() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tty {
		return false
	}
	if r.lastLine.IsZero() {
		return time.Since(r.start) >= r.Delay
	}
	return time.Since(r.lastLine) >= r.Every
}

// Bar draws the status line "[=====     ]  50%  done/total  detail" on a
// terminal; elsewhere it does nothing.
func (r *Reporter) Bar(done, total int, detail string) {
	const width = 30
	frac := float64(done) / float64(max(total, 1))
	n := min(max(int(frac*width), 0), width)
	r.status(fmt.Sprintf("[%s%s] %3.0f%%  %d/%d  %s", strings.Repeat("=", n), strings.Repeat(" ", width-n), 100*frac, done, total, detail))
}

// status draws line as the status line on a terminal.
func (r *Reporter) status(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.tty {
		return
	}
	fmt.Fprintf(r.w, "\r%s\033[K", line)
	r.drawn, r.lastDraw = true, time.Now()
}

// Println writes line (without its newline) so that it stays: above the
// status line, which the next redraw puts back.
func (r *Reporter) Println(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clear()
	fmt.Fprintln(r.w, line)
	r.lastLine = time.Now()
}

// Write writes every complete line of p as Println does, keeping an
// unfinished last line for the next call: a Reporter is the progress
// writer of library calls that take one (sweep.Run).
func (r *Reporter) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.partial = append(r.partial, p...)
	var lines []string
	for {
		i := bytes.IndexByte(r.partial, '\n')
		if i < 0 {
			break
		}
		lines = append(lines, string(r.partial[:i]))
		r.partial = r.partial[i+1:]
	}
	r.mu.Unlock()
	for _, l := range lines {
		r.Println(l)
	}
	return len(p), nil
}

// Clear erases the status line.
func (r *Reporter) Clear() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clear()
}

func (r *Reporter) clear() {
	if r.drawn {
		fmt.Fprint(r.w, "\r\033[K")
		r.drawn = false
	}
}

// Busy shows that the work described by what (such as "ntk: computing the
// kernels of 256 points") is running, if it takes longer than Delay: on a
// terminal a status line with the elapsed time, redrawn every second;
// elsewhere a line after Delay and one every Every. stop ends it (and
// erases the status line); call it once the work is done.
func (r *Reporter) Busy(what string) (stop func()) {
	start := time.Now()
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		wait := r.Delay
		for {
			select {
			case <-quit:
				return
			case <-time.After(wait):
			}
			elapsed := time.Since(start).Round(time.Second)
			if r.tty {
				r.status(fmt.Sprintf("%s ... %s", what, elapsed))
				wait = time.Second
			} else {
				r.Println(fmt.Sprintf("%s ... (running for %s)", what, elapsed))
				wait = r.Every
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			<-done
			r.Clear()
		})
	}
}
