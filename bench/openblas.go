package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gradflow/gradflow/internal/simd"
)

// torchCore is the -torch-core flag: the OPENBLAS_CORETYPE of the PyTorch
// runs. "auto" leaves the kernel choice to OpenBLAS's own CPU detection.
// "best" (the default) measures a one-thread SGEMM under "auto" and under
// the core type this CPU's features call for (SkylakeX with AVX-512,
// Haswell with AVX2) and keeps the faster: Debian's OpenBLAS 0.3.21 does
// not know Intel family 6 model 207 (Emerald Rapids) and falls back to a
// generic SSE kernel there, 32 GFLOPS SGEMM against 156 with SkylakeX
// (bench/RESULTS.md), so "auto" would compare gradflow with a fifth of
// PyTorch's speed. Any other value is passed to OpenBLAS as given.
var torchCore = "best"

var openblasCore struct {
	once sync.Once
	core string // "" for auto
	err  error
}

// resolveTorchCore returns the OPENBLAS_CORETYPE value for the PyTorch
// runs ("" to leave it unset), measuring once per process for "best".
func resolveTorchCore() (string, error) {
	switch torchCore {
	case "auto":
		return "", nil
	case "best":
	default:
		return torchCore, nil
	}
	openblasCore.once.Do(func() {
		candidates := []string{""}
		tiers := simd.Tiers()
		if slices.Contains(tiers, "avx512") {
			candidates = append(candidates, "SkylakeX")
		}
		if slices.Contains(tiers, "avx2") {
			candidates = append(candidates, "Haswell")
		}
		var report []string
		best := -1.0
		for _, c := range candidates {
			g, err := probeOpenBLAS(c)
			if err != nil {
				openblasCore.err = err
				return
			}
			name := c
			if name == "" {
				name = "auto"
			}
			report = append(report, fmt.Sprintf("%s %.0f", name, g))
			if g > best*1.05 { // auto, the plain choice, unless clearly slower
				best, openblasCore.core = g, c
			}
		}
		chosen := openblasCore.core
		if chosen == "" {
			chosen = "auto (unset)"
		}
		fmt.Fprintf(os.Stderr, "bench: PyTorch runs with OPENBLAS_CORETYPE %s: one-thread SGEMM 768^3 GFLOPS %s (-torch-core to override)\n",
			chosen, strings.Join(report, ", "))
	})
	return openblasCore.core, openblasCore.err
}

// probeScript times a one-thread 768^3 SGEMM in PyTorch and prints GFLOPS.
const probeScript = `
import time, torch
torch.set_num_threads(1)
n = 768
a, b, c = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)
for _ in range(3):
    torch.mm(a, b, out=c)
best = 1e9
for _ in range(5):
    t = time.perf_counter()
    for _ in range(4):
        torch.mm(a, b, out=c)
    best = min(best, (time.perf_counter() - t) / 4)
print(2 * n**3 / best / 1e9)
`

// probeOpenBLAS measures probeScript with OPENBLAS_CORETYPE=core ("" for
// unset).
func probeOpenBLAS(core string) (float64, error) {
	env, err := torchBaseEnv(1)
	if err != nil {
		return 0, err
	}
	if core != "" {
		env = append(env, "OPENBLAS_CORETYPE="+core)
	}
	cmd := exec.Command(pythonPath, "-c", probeScript)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("probing OpenBLAS core %q: %v: %s", core, err, lastLine(out))
	}
	g, err := strconv.ParseFloat(lastLine(out), 64)
	if err != nil {
		return 0, fmt.Errorf("probing OpenBLAS core %q: unexpected output %q", core, lastLine(out))
	}
	return g, nil
}
