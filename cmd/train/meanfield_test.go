package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gradflow/gradflow/meanfield"
)

// TestMeanfield runs the three regimes on widths 64..1024 and checks the
// outputs: the table and its JSON form, the traces, the particle clouds
// and the figure; the output scale alpha(m) of each regime; and the two
// scaling laws the command exists to show, with the tolerance 0.15
// on the slope: mean per-neuron displacement ~ m^0 under mean field and
// ~ m^-1/2 under NTK scaling (measured -0.04 and -0.49; the run is seeded,
// so the values are reproducible bit for bit).
func TestMeanfield(t *testing.T) {
	dir := t.TempDir()
	widths := []int{64, 256, 1024}
	code, out, errs := runCLI(t, "meanfield", "-regime", "all", "-widths", "64,256,1024", "-steps", "50", "-every", "10", "-alpha", "4", "-out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"displacement", "kernel drift", "output@init", "final loss", "log-log slope", "lazy"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "summary.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := jsonLines(t, string(b))
	if len(lines) != 3*len(widths)+3 {
		t.Fatalf("summary.jsonl: %d lines, want %d rows and 3 slope lines", len(lines), 3*len(widths))
	}
	scale := map[string]func(m float64) float64{
		"meanfield": func(m float64) float64 { return 1 / m },
		"ntk":       func(m float64) float64 { return 1 / math.Sqrt(m) },
		"lazy":      func(m float64) float64 { return 4 / m },
	}
	for _, r := range lines[:3*len(widths)] {
		m := r["width"].(float64)
		want := scale[r["regime"].(string)](m)
		if got := r["alpha"].(float64); math.Abs(got-want) > 1e-12*want {
			t.Errorf("%s width %v: alpha(m) = %v, want %v", r["regime"], m, got, want)
		}
		if !(r["displacement"].(float64) > 0) || !(r["final_loss"].(float64) >= 0) {
			t.Errorf("row %v: no displacement or loss", r)
		}
	}
	slope := map[string]float64{}
	for _, s := range lines[3*len(widths):] {
		slope[s["regime"].(string)] = s["slopes"].(map[string]any)["displacement"].(float64)
	}
	for reg, want := range map[string]float64{"meanfield": 0, "ntk": -0.5} {
		if math.Abs(slope[reg]-want) > 0.15 {
			t.Errorf("%s: displacement slope %.3f, want %.1f +- 0.15", reg, slope[reg], want)
		}
	}
	checkMeanfieldFiles(t, dir, widths)
}

// checkMeanfieldFiles checks the raw outputs in dir of TestMeanfield's
// study: the traces, the particle clouds and the figure.
func checkMeanfieldFiles(t *testing.T, dir string, widths []int) {
	t.Helper()
	// meanfield.jsonl: per run a config line and records at steps 0, 10, ..., 50.
	b, err := os.ReadFile(filepath.Join(dir, "meanfield.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var configs, records int
	for _, l := range jsonLines(t, string(b)) {
		if _, ok := l["config"]; ok {
			configs++
		} else if _, ok := l["displacement"]; ok {
			records++
		}
	}
	if configs != 9 || records != 9*6 {
		t.Errorf("meanfield.jsonl: %d runs and %d records, want 9 and 54", configs, records)
	}

	for _, reg := range []string{"meanfield", "ntk", "lazy"} {
		for _, m := range widths {
			var clouds [2]meanfield.Particles
			for i, which := range []string{"init", "final"} {
				f, err := os.Open(filepath.Join(dir, "particles", reg+"_m"+itoa(m)+"_"+which+".csv"))
				if err != nil {
					t.Fatal(err)
				}
				clouds[i], err = meanfield.ReadParticlesCSV(f)
				f.Close()
				if err != nil || clouds[i].Len() != m {
					t.Fatalf("%s m=%d %s: %d particles, err %v", reg, m, which, clouds[i].Len(), err)
				}
			}
			if d, err := meanfield.MeanDisplacement(clouds[0], clouds[1]); err != nil || !(d > 0) {
				t.Errorf("%s m=%d: particle files show no motion (%v, %v)", reg, m, d, err)
			}
		}
	}
	for _, f := range []string{"displacement.png", "displacement.svg"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("output %s missing or empty (%v)", f, err)
		}
	}
}

// TestMeanfieldJSON: with -json, stdout holds exactly the summary lines.
func TestMeanfieldJSON(t *testing.T) {
	code, out, errs := runCLI(t, "meanfield", "-regime", "mf", "-widths", "32,64", "-steps", "5", "-json", "-no-figures", "-out", t.TempDir())
	if n := len(jsonLines(t, out)); code != 0 || n != 3 {
		t.Errorf("-json: exit %d (%s), %d lines, want 3", code, errs, n)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestMeanfieldUsageErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"meanfield", "-regime", "chaotic"}, `unknown regime "chaotic"`},
		{[]string{"meanfield", "-widths", "0,64"}, `"0" is not a positive integer`},
		{[]string{"meanfield", "-widths", ""}, "-widths"},
		{[]string{"meanfield", "-regime", "lazy", "-alpha", "0"}, "-alpha 0"},
		{[]string{"meanfield", "-symmetric", "-widths", "63,64"}, "width 63 is odd"},
		{[]string{"meanfield", "-steps", "0"}, "-steps 0"},
		{[]string{"meanfield", "-lr", "-1"}, "-lr -1"},
		{[]string{"meanfield", "-act", "swish2"}, "swish2"},
		{[]string{"meanfield", "-steps", "x"}, "steps"},
		{[]string{"meanfield", "-chaos", "-chaos-widths", "8,x"}, "chaos-widths"},
		{[]string{"meanfield", "-chaos", "-chaos-ratio", "1"}, "-chaos-ratio 1"},
		{[]string{"meanfield", "-chaos", "-chaos-seeds", "0"}, "-chaos-seeds 0"},
	}
	for _, c := range cases {
		code, _, errs := runCLI(t, append(c.args, "-out", dir)...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", c.args, code, errs)
			continue
		}
		lines := strings.Split(strings.TrimSpace(errs), "\n")
		if len(lines) != 1 || !strings.Contains(errs, c.want) || strings.Contains(errs, "goroutine") {
			t.Errorf("%v: stderr %q, want one line mentioning %q", c.args, errs, c.want)
		}
	}
}

// TestMeanfieldChaos: -chaos adds the propagation-of-chaos section to the
// table, a {"chaos": ...} line after the summary lines with -json, and
// chaos.json and chaos.png/svg; the records of meanfield.jsonl carry the
// time and the dissipation, and the summary rows the last dissipation.
func TestMeanfieldChaos(t *testing.T) {
	dir := t.TempDir()
	args := []string{"meanfield", "-regime", "mf", "-widths", "32,64", "-steps", "20", "-every", "10", "-chaos", "-chaos-widths", "8,16,32", "-chaos-seeds", "2", "-out", dir}
	code, out, errs := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"dissipation", "propagation of chaos", "reference of width 16m", "coupled at T", "theory: -0.5"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var res meanfield.ChaosResult
	b, err := os.ReadFile(filepath.Join(dir, "chaos.json"))
	if err == nil {
		err = json.Unmarshal(b, &res)
	}
	if err != nil || len(res.Rows) != 3 || res.Rows[2].RefWidth != 512 || res.Config.Seeds != 2 || res.Config.Steps != 20 || res.CoupledSlope.Slope == nil {
		t.Errorf("chaos.json: %+v (err %v), want 3 rows up to 32 vs 512, 2 seeds, 20 steps and a slope", res, err)
	}
	for _, f := range []string{"chaos.png", "chaos.svg"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("output %s missing or empty (%v)", f, err)
		}
	}
	traces, err := os.ReadFile(filepath.Join(dir, "meanfield.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range jsonLines(t, string(traces)) {
		if _, ok := r["config"]; ok {
			continue
		}
		step, tm, d := r["step"].(float64), r["time"].(float64), r["dissipation"].(float64)
		if tm != step || !(d > 0) {
			t.Errorf("record %v: time %v (want the step at lr 1), dissipation %v (want > 0)", r, tm, d)
		}
	}

	code, out, errs = runCLI(t, append(args, "-json", "-overwrite", "-no-figures")...)
	lines := jsonLines(t, out)
	if code != 0 || len(lines) != 4 {
		t.Fatalf("-chaos -json: exit %d (%s), %d lines, want 2 rows, 1 slope line and 1 chaos line", code, errs, len(lines))
	}
	if _, ok := lines[0]["dissipation"].(float64); !ok {
		t.Errorf("summary row %v has no dissipation", lines[0])
	}
	if _, ok := lines[3]["chaos"].(map[string]any); !ok {
		t.Errorf("last line %v, want {\"chaos\": ...}", lines[3])
	}
}
