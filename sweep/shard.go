package sweep

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Shard selects the part of a sweep one machine runs: run i (in the grid's
// canonical order, RunSpec.Index) belongs to shard i mod Count. Round robin
// over an order with widths outermost spreads the expensive wide runs evenly,
// and the assignment depends only on the configuration. The zero value is
// the whole sweep.
type Shard struct {
	Index, Count int
}

// All is the shard holding every run.
var All = Shard{0, 1}

func (s Shard) norm() Shard {
	if s.Count == 0 {
		return All
	}
	return s
}

// Owns reports whether the run with grid index i belongs to s.
func (s Shard) Owns(i int) bool {
	s = s.norm()
	return i%s.Count == s.Index
}

// Runs returns the runs of c that belong to s, in canonical order.
func (s Shard) Runs(c Config) []RunSpec {
	var out []RunSpec
	for _, r := range c.Runs() {
		if s.Owns(r.Index) {
			out = append(out, r)
		}
	}
	return out
}

// String returns "i/n".
func (s Shard) String() string {
	s = s.norm()
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

func (s Shard) validate() error {
	if s.Count < 0 || s.Count > 0 && (s.Index < 0 || s.Index >= s.Count) {
		return fmt.Errorf("sweep: shard %d/%d: index must be in [0, %d)", s.Index, s.Count, s.Count)
	}
	return nil
}

// ParseShard parses "i/n" (0 <= i < n), as given to --shard.
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("sweep: shard %q: want i/n, e.g. 0/4", s)
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || n <= 0 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("sweep: shard %q: want i/n with 0 <= i < n", s)
	}
	return Shard{i, n}, nil
}

// ShardFromEnv returns the shard of this process from the environment of a
// job array:
//
//   - Slurm: SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN when set) of
//     SLURM_ARRAY_TASK_COUNT tasks;
//   - Kubernetes Indexed Job: JOB_COMPLETION_INDEX of count completions
//     (count must be the Job's .spec.completions, which the pod does not
//     see);
//   - neither: the whole sweep (All).
//
// Errors name the variable at fault.
func ShardFromEnv(count int) (Shard, error) {
	if id, ok := os.LookupEnv("SLURM_ARRAY_TASK_ID"); ok {
		i, err := envInt("SLURM_ARRAY_TASK_ID", id)
		if err != nil {
			return Shard{}, err
		}
		if lo, ok := os.LookupEnv("SLURM_ARRAY_TASK_MIN"); ok {
			m, err := envInt("SLURM_ARRAY_TASK_MIN", lo)
			if err != nil {
				return Shard{}, err
			}
			i -= m
		}
		cs, ok := os.LookupEnv("SLURM_ARRAY_TASK_COUNT")
		if !ok {
			return Shard{}, fmt.Errorf("sweep: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not")
		}
		n, err := envInt("SLURM_ARRAY_TASK_COUNT", cs)
		if err != nil {
			return Shard{}, err
		}
		s := Shard{i, n}
		if n <= 0 || s.validate() != nil {
			return Shard{}, fmt.Errorf("sweep: SLURM_ARRAY_TASK_ID %d (after subtracting SLURM_ARRAY_TASK_MIN) is outside [0, SLURM_ARRAY_TASK_COUNT = %d); use a contiguous array such as --array=0-%d", i, n, max(n-1, 0))
		}
		return s, nil
	}
	if v, ok := os.LookupEnv("JOB_COMPLETION_INDEX"); ok {
		i, err := envInt("JOB_COMPLETION_INDEX", v)
		if err != nil {
			return Shard{}, err
		}
		if count <= 0 {
			return Shard{}, fmt.Errorf("sweep: JOB_COMPLETION_INDEX is set: give the number of completions (the shard count)")
		}
		s := Shard{i, count}
		if err := s.validate(); err != nil {
			return Shard{}, fmt.Errorf("sweep: JOB_COMPLETION_INDEX %d is outside [0, %d)", i, count)
		}
		return s, nil
	}
	return All, nil
}

// ErrNoJobArray is the error of ShardFromJobArray outside a job array.
var ErrNoJobArray = errors.New("sweep: neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set")

// ShardFromJobArray is ShardFromEnv for a process that must be a task of a
// job array of count tasks (count > 0). Unlike ShardFromEnv, it refuses to
// run outside a job array, which would silently repeat the work of every
// other shard, and a Slurm array whose SLURM_ARRAY_TASK_COUNT is not count.
func ShardFromJobArray(count int) (Shard, error) {
	if count <= 0 {
		return Shard{}, fmt.Errorf("sweep: shard count %d: want a positive count", count)
	}
	_, slurm := os.LookupEnv("SLURM_ARRAY_TASK_ID")
	_, k8s := os.LookupEnv("JOB_COMPLETION_INDEX")
	if !slurm && !k8s {
		return Shard{}, ErrNoJobArray
	}
	s, err := ShardFromEnv(count)
	if err != nil {
		return s, err
	}
	if s.Count != count {
		return s, fmt.Errorf("sweep: shard count %d, but the job array has %d tasks (SLURM_ARRAY_TASK_COUNT)", count, s.Count)
	}
	return s, nil
}

func envInt(name, v string) (int, error) {
	i, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("sweep: %s=%q is not an integer", name, v)
	}
	return i, nil
}
