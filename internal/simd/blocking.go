package simd

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/klauspost/cpuid/v2"
)

// Blocking holds the GEMM cache-blocking parameters (in elements):
// KC is the depth of a packed panel (A micro-panels of KC x MR and B
// micro-panels of KC x NR live in L1 while a tile is computed), MC the rows of
// A packed per block (kept in L2) and NC the columns of B packed per block
// (kept in L3).
type Blocking struct{ KC, MC, NC int }

// CacheSizes are the data cache sizes in bytes used to derive Blocking.
type CacheSizes struct{ L1D, L2, L3 int }

// Defaults when cpuid cannot tell: they are conservative for any x86-64 or
// arm64 core made in the last decade.
const (
	defaultL1D = 32 << 10
	defaultL2  = 512 << 10
	defaultL3  = 8 << 20
)

var (
	caches   CacheSizes
	override Blocking // zero fields mean "derive from caches"
)

func initBlocking() {
	caches = CacheSizes{L1D: cpuid.CPU.Cache.L1D, L2: cpuid.CPU.Cache.L2, L3: cpuid.CPU.Cache.L3}
	if caches.L1D <= 0 {
		caches.L1D = defaultL1D
	}
	if caches.L2 <= 0 {
		caches.L2 = defaultL2
	}
	if caches.L3 <= 0 {
		caches.L3 = defaultL3
	}
	// GRADFLOW_KC / _MC / _NC let a user tune blocking without rebuilding.
	override.KC = envInt("GRADFLOW_KC")
	override.MC = envInt("GRADFLOW_MC")
	override.NC = envInt("GRADFLOW_NC")
}

// envInt reads a positive integer setting; unset gives 0 (derive the
// value), and anything else is reported on stderr and ignored, so that a
// typo does not silently run with defaults the user meant to change.
func envInt(name string) int {
	s, ok := os.LookupEnv(name)
	if !ok || strings.TrimSpace(s) == "" {
		return 0
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || v <= 0 {
		fmt.Fprintf(os.Stderr, "gradflow: %s=%q is not a positive integer; ignoring it\n", name, s)
		return 0
	}
	return v
}

// SetBlocking overrides the derived blocking (fields <= 0 keep the derived
// value) and returns a function restoring the previous override. KC decides
// the order in which products are summed, so changing it changes results in
// the last bits; MC and NC never do.
func SetBlocking(b Blocking) (restore func()) {
	prev := override
	override = b
	return func() { override = prev }
}

// blockingFor derives KC, MC, NC for elements of size bytes and an mr x nr
// microkernel: unless the microarchitecture table sets them (archBlocking),
// a KC-deep pair of micro-panels fills about 65% of L1D, an
// MC x KC block of A half of L2, and a KC x NC block of B half of L3.
func blockingFor(size, mr, nr int) Blocking {
	kc := int(0.65*float64(caches.L1D)) / ((mr + nr) * size)
	kc = kc / 16 * 16
	kc = min(max(kc, 128), 512)
	arch := archBlocking(size) // the microarchitecture table's values, if any
	if arch.KC > 0 {
		kc = arch.KC
	}
	mc := caches.L2 / 2 / (kc * size)
	mc = max(mc/mr*mr, mr)
	nc := caches.L3 / 2 / (kc * size)
	nc = min(max(nc/nr*nr, nr), 1<<16/nr*nr)
	if arch.MC > 0 {
		mc = max(arch.MC/mr*mr, mr)
	}
	if arch.NC > 0 {
		nc = max(arch.NC/nr*nr, nr)
	}
	b := Blocking{KC: kc, MC: mc, NC: nc}
	if override.KC > 0 {
		b.KC = override.KC
	}
	if override.MC > 0 {
		b.MC = max(override.MC/mr*mr, mr)
	}
	if override.NC > 0 {
		b.NC = max(override.NC/nr*nr, nr)
	}
	return b
}
