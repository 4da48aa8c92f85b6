package simd

import (
	"slices"
	"strings"
	"testing"
)

func TestArchTableChoice(t *testing.T) {
	x86 := []string{TierAVX512, TierAVX2, TierGeneric}
	cases := []struct {
		name   string
		cpu    CPU
		avail  []string
		env    string
		tier   string
		source string
	}{
		{"Zen 4 Genoa", CPU{Vendor: "AMD", Family: 25, Model: 17}, x86, "", TierAVX2, "table"},
		{"Zen 4 Raphael", CPU{Vendor: "AMD", Family: 25, Model: 0x61}, x86, "", TierAVX2, "table"},
		{"Zen 3 Milan", CPU{Vendor: "AMD", Family: 25, Model: 1}, []string{TierAVX2, TierGeneric}, "", TierAVX2, "table"},
		{"Zen 5 Turin", CPU{Vendor: "AMD", Family: 26, Model: 2}, x86, "", TierAVX512, "table"},
		{"Emerald Rapids", CPU{Vendor: "Intel", Family: 6, Model: 207}, x86, "", TierAVX512, "table"},
		{"Sapphire Rapids (no entry)", CPU{Vendor: "Intel", Family: 6, Model: 0x8f}, x86, "", TierAVX512, "features"},
		{"Zen 2 (no entry)", CPU{Vendor: "AMD", Family: 23, Model: 0x31}, []string{TierAVX2, TierGeneric}, "", TierAVX2, "features"},
		{"unknown vendor", CPU{}, x86, "", TierAVX512, "features"},
		{"arm64", CPU{}, []string{TierNEON, TierGeneric}, "", TierNEON, "features"},
		{"purego on Zen 4", CPU{Vendor: "AMD", Family: 25, Model: 17}, []string{TierGeneric}, "", TierGeneric, "features"},
		{"Zen 5 without AVX-512 (e.g. a VM hiding it)", CPU{Vendor: "AMD", Family: 26, Model: 2}, []string{TierAVX2, TierGeneric}, "", TierAVX2, "features"},
		{"override on Zen 4", CPU{Vendor: "AMD", Family: 25, Model: 17}, x86, TierAVX512, TierAVX512, "GRADFLOW_SIMD"},
		{"override on Emerald Rapids", CPU{Vendor: "Intel", Family: 6, Model: 207}, x86, TierGeneric, TierGeneric, "GRADFLOW_SIMD"},
		{"bad override keeps the table", CPU{Vendor: "AMD", Family: 25, Model: 17}, x86, TierNEON, TierAVX2, "table"},
	}
	for _, c := range cases {
		ch, entry, errMsg := choose(archTable, c.cpu, c.avail, c.env)
		if ch.Tier != c.tier || ch.Source != c.source {
			t.Errorf("%s: got %s by %s (%s), want %s by %s", c.name, ch.Tier, ch.Source, ch.Reason, c.tier, c.source)
		}
		if ch.Reason == "" {
			t.Errorf("%s: empty reason", c.name)
		}
		if (errMsg != "") != (c.env != "" && c.source != "GRADFLOW_SIMD") {
			t.Errorf("%s: override error %q", c.name, errMsg)
		}
		if entry != nil && entry.Tier != ch.Tier {
			t.Errorf("%s: entry %s (tier %s) kept for tier %s", c.name, entry.Name, entry.Tier, ch.Tier)
		}
		if !slices.Contains(c.avail, ch.Tier) {
			t.Errorf("%s: chose %s, not among %v", c.name, ch.Tier, c.avail)
		}
	}
}

// TestArchTableNeverUnsupported runs every entry of the table against every
// subset of tiers a CPU and build can have: the choice is always one of them.
func TestArchTableNeverUnsupported(t *testing.T) {
	sets := [][]string{
		{TierAVX512, TierAVX2, TierGeneric},
		{TierAVX2, TierGeneric},
		{TierNEON, TierGeneric},
		{TierGeneric},
	}
	for _, e := range archTable {
		if e.Reason == "" || strings.Contains(e.Reason, "TODO") {
			t.Errorf("entry %s has no measurement in its reason", e.Name)
		}
		for _, m := range []int{e.ModelLo, e.ModelHi} {
			c := CPU{Vendor: e.Vendor, Family: e.Family, Model: m}
			for _, avail := range sets {
				ch, _, _ := choose(archTable, c, avail, "")
				if !slices.Contains(avail, ch.Tier) {
					t.Errorf("%v with %v: chose unsupported %s", c, avail, ch.Tier)
				}
			}
		}
	}
}

// TestArchBlocking checks that an entry's blocking applies to its own tier's
// kernels only, and that GRADFLOW_KC-style overrides still win.
func TestArchBlocking(t *testing.T) {
	e := &archEntry{Name: "test", Tier: cur.name, Block32: Blocking{KC: 96, MC: 100}, Block64: Blocking{NC: 1000}}
	prev := choiceEntry
	choiceEntry = e
	defer func() { choiceEntry = prev }()
	b := blockingFor(4, 4, 8)
	if b.KC != 96 || b.MC != 100 {
		t.Errorf("f32 blocking %+v, want KC 96, MC 100", b)
	}
	if b := blockingFor(8, 4, 8); b.NC != 1000 {
		t.Errorf("f64 blocking %+v, want NC 1000", b)
	}
	restore := SetBlocking(Blocking{KC: 64})
	if b := blockingFor(4, 4, 8); b.KC != 64 || b.MC != 100 {
		t.Errorf("with override: %+v, want KC 64, MC 100", b)
	}
	restore()
	e.Tier = "other"
	if b := blockingFor(4, 4, 8); b.KC == 96 {
		t.Errorf("entry of another tier applied: %+v", b)
	}
}

func TestStartupChoiceConsistent(t *testing.T) {
	ch := StartupChoice()
	if !slices.Contains(Tiers(), ch.Tier) {
		t.Fatalf("start-up tier %s not among %v", ch.Tier, Tiers())
	}
	want, _, _ := choose(archTable, hostCPU(), Tiers(), "")
	if ch.Source != "GRADFLOW_SIMD" && ch.Tier != want.Tier {
		t.Errorf("start-up %v, recomputed %v", ch, want)
	}
	t.Logf("%v", ch)
}
