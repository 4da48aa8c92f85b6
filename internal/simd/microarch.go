package simd

import (
	"fmt"
	"slices"
	"strings"

	"github.com/klauspost/cpuid/v2"
)

// CPU identifies a processor for the microarchitecture table: the cpuid
// vendor and the display family and model (base plus extended fields, as
// Linux's /proc/cpuinfo prints them in decimal).
type CPU struct {
	Vendor string // "AMD", "Intel", or cpuid's name of another vendor; "" when unknown
	Family int
	Model  int
	Brand  string // brand string, for reports only
}

// String returns the vendor, family and model as train info prints them.
func (c CPU) String() string {
	if c.Vendor == "" && c.Family == 0 && c.Model == 0 {
		return "unknown CPU"
	}
	return fmt.Sprintf("%s family %d (%#x) model %d (%#x)", c.Vendor, c.Family, c.Family, c.Model, c.Model)
}

// hostCPU reads the identity of the CPU this process runs on.
func hostCPU() CPU {
	c := CPU{Family: cpuid.CPU.Family, Model: cpuid.CPU.Model, Brand: strings.TrimSpace(cpuid.CPU.BrandName)}
	switch cpuid.CPU.VendorID {
	case cpuid.AMD:
		c.Vendor = "AMD"
	case cpuid.Intel:
		c.Vendor = "Intel"
	case cpuid.VendorUnknown:
	default:
		c.Vendor = cpuid.CPU.VendorID.String()
	}
	return c
}

// archEntry is one row of the microarchitecture table: CPUs of a vendor,
// family and model range run Tier (when the CPU and build support it), with
// the cache blocking Block32 / Block64 for that tier's kernels (zero fields
// are derived from the cache sizes as for any CPU). Reason states the
// measurement behind the entry.
type archEntry struct {
	Vendor           string
	Family           int
	ModelLo, ModelHi int // inclusive
	Name             string
	Tier             string
	Block32, Block64 Blocking
	Reason           string
}

func (e *archEntry) matches(c CPU) bool {
	return e.Vendor == c.Vendor && e.Family == c.Family && c.Model >= e.ModelLo && c.Model <= e.ModelHi
}

// archTable chooses the tier per microarchitecture where the feature-based
// default (the widest vectors the CPU has) is not the fastest, and records
// the measurements that confirmed it where it is. The first matching entry
// wins; a CPU no entry matches gets the feature-based default. Every number
// is one thread, medians or ranges of >= 3 rounds measured in one run, with
// the measurement's section in bench/RESULTS.md.
//
// Zen 4 (family 0x19) executes each 512-bit instruction as two 256-bit
// halves, so the AVX-512 kernels' wider tile buys nothing and their larger
// packed panels cost cache; Zen 3, the other family-0x19 cores, has no
// AVX-512 and gets avx2 from its features anyway. Zen 5 (family 0x1A) has
// full-width 512-bit FMA units.
var archTable = []archEntry{
	{
		Vendor: "AMD", Family: 0x19, ModelLo: 0x00, ModelHi: 0xff,
		Name: "Zen 4 (and Zen 3, which lacks AVX-512)", Tier: TierAVX2,
		Reason: "EPYC family 25 model 17 (Genoa), one thread, issue 21: sgemm 1024^3 avx2 85.3-93.6 vs avx512 76.6-82.3 GFLOPS; " +
			"dgemm avx2 37.0-40.7 vs avx512 37.5-39.1; MLP 784-512-512-10 b128 samples/s f32 avx2 23,300-23,800 vs avx512 21,300-24,000, " +
			"f64 avx2 11,700-12,900 vs avx512 11,200-12,100",
	},
	{
		Vendor: "AMD", Family: 0x1a, ModelLo: 0x00, ModelHi: 0xff,
		Name: "Zen 5", Tier: TierAVX512,
		Reason: "EPYC Turin-like VM, one thread (bench/RESULTS.md, GEMM): sgemm 1024^3 avx512 189.9 vs avx2 100.0 GFLOPS; " +
			"dgemm 87.0 vs 49.9",
	},
	{
		Vendor: "Intel", Family: 6, ModelLo: 0xcf, ModelHi: 0xcf,
		Name: "Emerald Rapids", Tier: TierAVX512,
		Reason: emeraldRapidsReason,
	},
}

// Choice is the tier dispatch chose at start-up and why.
type Choice struct {
	Tier   string // tier in use at start-up
	Source string // "GRADFLOW_SIMD", "table" or "features"
	Arch   string // name of the matching table entry, "" when none matched
	Reason string // why: the table entry's measurement, or what the features allowed
	CPU    CPU
}

// String returns the chosen tier, how it was chosen and why.
func (c Choice) String() string {
	return fmt.Sprintf("%s by %s on %s: %s", c.Tier, c.Source, c.CPU, c.Reason)
}

// choice is the start-up decision, set by init.
var (
	choice      Choice
	choiceEntry *archEntry // table entry whose tier is in use, nil if none
)

// StartupChoice reports the tier chosen at start-up, by which rule and why.
// It does not change under SetTier.
func StartupChoice() Choice { return choice }

// DefaultTier is the tier chosen at start-up (GRADFLOW_SIMD included).
func DefaultTier() string { return choice.Tier }

// lookupArch returns the first table entry matching c, or nil.
func lookupArch(table []archEntry, c CPU) *archEntry {
	for i := range table {
		if table[i].matches(c) {
			return &table[i]
		}
	}
	return nil
}

// choose decides the tier from the CPU identity, the tiers the CPU and
// build support (best first, as Tiers returns them) and the value of
// GRADFLOW_SIMD. It is a pure function of its arguments: no timing is
// involved, so the same machine always gets the same kernels. errMsg is
// non-empty when env names a tier that is not available.
func choose(table []archEntry, c CPU, avail []string, env string) (ch Choice, entry *archEntry, errMsg string) {
	ch = Choice{Tier: avail[0], Source: "features", CPU: c}
	if e := lookupArch(table, c); e != nil {
		ch.Arch = e.Name
		if slices.Contains(avail, e.Tier) {
			ch.Tier, ch.Source, entry = e.Tier, "table", e
			ch.Reason = e.Name + ": " + e.Reason
		} else {
			ch.Reason = fmt.Sprintf("the table's entry %s chooses %s, which this CPU/build lacks; best tier of the features: %s",
				e.Name, e.Tier, strings.Join(avail, ", "))
		}
	} else {
		ch.Reason = "no table entry for this CPU; best tier of the features: " + strings.Join(avail, ", ")
	}
	if env == "" {
		return ch, entry, ""
	}
	if !slices.Contains(avail, env) {
		errMsg = fmt.Sprintf("GRADFLOW_SIMD=%q is not available on this CPU/build (have %s); using %s",
			env, strings.Join(avail, ", "), ch.Tier)
		return ch, entry, errMsg
	}
	ch.Reason = fmt.Sprintf("GRADFLOW_SIMD=%s overrides %s (by %s)", env, ch.Tier, ch.Source)
	ch.Tier, ch.Source = env, "GRADFLOW_SIMD"
	if entry != nil && entry.Tier != env {
		entry = nil
	}
	return ch, entry, ""
}

// archBlocking returns the table's blocking for elements of size bytes when
// the tier in use is the one the matching table entry chose; zero fields
// (and every field when no entry applies) mean "derive from the caches".
func archBlocking(size int) Blocking {
	e := choiceEntry
	if e == nil || cur == nil || cur.name != e.Tier {
		return Blocking{}
	}
	if size == 4 {
		return e.Block32
	}
	return e.Block64
}

// emeraldRapidsReason is the measurement behind the Emerald Rapids entry
// (bench/RESULTS.md, "Kernel choice per microarchitecture").
const emeraldRapidsReason = "Xeon family 6 model 207 on a 2-vCPU KVM, one thread, bench tiers -measure " +
	"(9 interleaved rounds, quiet machine, prefetching kernels): avx2 over avx512, median per-round ratio, " +
	"gemm 1024^3 f32 0.55, f64 0.58; MLP 784-512-512-10 b128 f32 0.59, f64 0.59 " +
	"(earlier, loaded: 0.61-0.79)"
