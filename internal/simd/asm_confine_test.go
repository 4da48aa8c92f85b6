package simd

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestAVX512Confinement fails if AVX-512 code (zmm or mask registers, the
// EVEX-only registers X16-X31/Y16-Y31, EVEX suffixes such as .BCST or .Z, or
// an EVEX-only instruction) appears in an amd64 assembly file whose name
// does not contain "avx512". The dispatcher selects AVX-512 functions only
// on CPUs that have it; keeping them in their own files is what guarantees
// that the AVX2 tier (and anything else) runs on AVX2-only CPUs, where one
// stray EVEX instruction would be a SIGILL.
func TestAVX512Confinement(t *testing.T) {
	root := moduleRoot(t)
	var files, avx512Files int
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			// The go command ignores these directories too; _gen holds
			// generators with their own modules.
			n := d.Name()
			if path != root && (strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_") || n == "testdata" || n == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), "_amd64.s") {
			return nil
		}
		files++
		hits, err := scanAVX512(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if strings.Contains(d.Name(), "avx512") {
			if len(hits) > 0 {
				avx512Files++
			}
			return nil
		}
		for _, h := range hits {
			t.Errorf("%s:%d: AVX-512 in %s outside an *avx512*.s file: %s", rel, h.line, h.fn, h.text)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatalf("no *_amd64.s files under %s: the scan is looking in the wrong place", root)
	}
	// The AVX-512 kernels must be found by the scanner, or it has gone blind.
	if avx512Files == 0 {
		t.Errorf("scanned %d *_amd64.s files but found AVX-512 code in no *avx512*.s file: the detector is broken", files)
	}
}

// TestAVX512Detector pins the classification of single lines.
func TestAVX512Detector(t *testing.T) {
	for _, tc := range []struct {
		line string
		want bool
	}{
		{"VFMADD231PS Y12, Y14, Y0", false},
		{"VBROADCASTSS 4(SI), Y15", false},
		{"VMOVUPS Y0, 32(DX)", false},
		{"VXORPS X0, X0, X0", false},
		{"VPXOR Y1, Y1, Y1", false},
		{"VPCMPEQD Y1, Y2, Y3", false},
		{"MOVQ AX, X14 // Z0 in a comment", false},
		{"ADDQ $64, SI /* VPXORD Z1 */", false},
		{"ADDQ $64, SI /* a */ VPXORD Z1, Z1, Z1", true},
		{"JZ zeroes", false},
		{"VFMADD231PS Z16, Z18, Z0", true},
		{"VFMADD231PS.BCST (SI), Y1, Y2", true},
		{"VADDPS Y1, Y2, K1, Y3", true},
		{"VMOVUPS.Z (SI), K1, Y0", true},
		{"VXORPS X16, X16, X16", true},
		{"VADDPD Y17, Y1, Y1", true},
		{"VPXORD Y1, Y1, Y1", true},
		{"VPTERNLOGD $0x96, Y1, Y2, Y3", true},
		{"KMOVW AX, K1", true},
		{"VPBROADCASTD AX, Y0", true},
		{"VMOVDQU32 (SI), Y0", true},
		{"VRNDSCALEPS $0, Y1, Y2", true},
		{"VSCALEFPS Y1, Y2, Y3", true},
		{"VPMOVDB Y1, X2", true},
		{"VCVTPS2UDQ Y1, Y2", true},
		{"VGATHERDPS (AX)(Z1*4), K1, Z2", true},
	} {
		inBlock := false
		if got := isAVX512(uncomment(tc.line, &inBlock)); got != tc.want {
			t.Errorf("isAVX512(%q) = %v, want %v", tc.line, got, tc.want)
		}
	}
}

// TestAVX512Scan checks that the file scanner attributes hits to the right
// function or macro and skips comments spanning lines.
func TestAVX512Scan(t *testing.T) {
	src := `#include "textflag.h"

/* VPXORD Z0, Z0, Z0
   VPXORD Z1, Z1, Z1 */
#define ZERO(r) \
	VXORPS r, r, r \
	VPXORD Z2, Z2, Z2

// func f()
TEXT ·f(SB), NOSPLIT, $0
	VXORPS Y0, Y0, Y0
	RET

// func g()
TEXT ·g(SB), NOSPLIT, $0
	VADDPS Z1, Z2, Z3
	RET
`
	path := filepath.Join(t.TempDir(), "x_amd64.s")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	hits, err := scanAVX512(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []avx512Hit{
		{7, "macro ZERO", "VPXORD Z2, Z2, Z2"},
		{16, "·g", "VADDPS Z1, Z2, Z3"},
	}
	if len(hits) != len(want) {
		t.Fatalf("scanAVX512 found %v, want %v", hits, want)
	}
	for i := range want {
		if hits[i] != want[i] {
			t.Errorf("hit %d = %v, want %v", i, hits[i], want[i])
		}
	}
}

type avx512Hit struct {
	line int
	fn   string
	text string
}

// scanAVX512 lists the lines of an assembly file that use AVX-512, each with
// the function (TEXT symbol) it belongs to. Macro bodies are scanned too: a
// macro can only be expanded inside the file, so its contents count as code
// of that file.
func scanAVX512(path string) ([]avx512Hit, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var hits []avx512Hit
	fn := "(no function)"
	macro := "" // name of the macro whose body is being read
	inBlock := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		code := uncomment(sc.Text(), &inBlock)
		if m := textRE.FindStringSubmatch(code); m != nil {
			fn = m[1]
		}
		where := fn
		if m := defineRE.FindStringSubmatch(code); m != nil {
			macro = "macro " + m[1]
		}
		if macro != "" {
			where = macro
			if !strings.HasSuffix(strings.TrimSpace(code), `\`) {
				macro = "" // last line of the macro body
			}
		}
		if isAVX512(code) {
			hits = append(hits, avx512Hit{n, where, strings.TrimSpace(code)})
		}
	}
	return hits, sc.Err()
}

var (
	textRE   = regexp.MustCompile(`^\s*TEXT\s+([^\s(,]+)`)
	defineRE = regexp.MustCompile(`^\s*#define\s+(\w+)`)

	// Operands only AVX-512 can name: zmm and mask registers (K0-K7, also
	// as {k} write masks in Go syntax) and the upper 16 xmm/ymm registers.
	avx512RegRE = regexp.MustCompile(`\b(Z([0-9]|[12][0-9]|3[01])|K[0-7]|[XY](1[6-9]|2[0-9]|3[01]))\b`)

	// EVEX-only opcode suffixes: embedded broadcast, zeroing masks,
	// rounding and exception suppression.
	avx512SuffixRE = regexp.MustCompile(`^\s*(\w+:\s*)?V\w+\.(BCST|Z|SAE|RN_SAE|RD_SAE|RU_SAE|RZ_SAE)\b`)

	// Mnemonics (Go spelling) that exist only with an EVEX encoding, whatever
	// their operands: mask-register instructions, the D/Q-suffixed logic
	// ops, sized moves and broadcasts, and the AVX-512 families without a
	// VEX ancestor.
	avx512OpRE = regexp.MustCompile(`^\s*(\w+:\s*)?(` + strings.Join([]string{
		`K(ADD|AND|ANDN|MOV|NOT|OR|ORTEST|SHIFTL|SHIFTR|TEST|UNPCK|XNOR|XOR)[BWDQ]+`,
		`VP(AND|ANDN|OR|XOR)[DQ]`,
		`VPTERNLOG[DQ]`,
		`VMOVDQ[AU](8|16|32|64)`,
		`VPBROADCAST[BWDQ]`, // the GPR-source forms; the VEX forms take a register or memory operand, checked below
		`VBROADCAST[FI](32X2|32X4|32X8|64X2|64X4)`,
		`V(EXTRACT|INSERT)[FI](32X4|32X8|64X2|64X4)`,
		`VSHUF[FI](32X4|64X2)`,
		`VALIGN[DQ]`,
		`VPERM[IT]2\w+`,
		`VPERM[BW]`,
		`VPBLENDM[BWDQ]`,
		`VBLENDMP[SD]`,
		`VPCMPU?[BWDQ]`,
		`VPTESTN?M[BWDQ]`,
		`VPMOV[BWDQ]2M`,
		`VPMOVM2[BWDQ]`,
		`VPMOVU?S?(DB|DW|QB|QW|QD|WB)`,
		`VRNDSCALE[PS][SD]`,
		`VGETEXP[PS][SD]`,
		`VGETMANT[PS][SD]`,
		`VSCALEF[PS][SD]`,
		`VRCP14[PS][SD]`,
		`VRSQRT14[PS][SD]`,
		`VRCP28\w+`,
		`VRSQRT28\w+`,
		`VEXP2P[SD]`,
		`VFIXUPIMM[PS][SD]`,
		`VRANGE[PS][SD]`,
		`VREDUCE[PS][SD]`,
		`VFPCLASS[PS][SD]\w*`,
		`VP?EXPAND\w*`,
		`VP?COMPRESS\w*`,
		`VPCONFLICT[DQ]`,
		`VPLZCNT[DQ]`,
		`VPRO[LR]V?[DQ]`,
		`VPSRAV?Q`,
		`VPABSQ`,
		`VP(MAX|MIN)[SU]Q`,
		`VPMULLQ`,
		`VPMULTISHIFTQB`,
		`VPMADD52[LH]UQ`,
		`VPSH[LR]DV?[WDQ]`,
		`VPOPCNT[BWDQ]`,
		`VPSHUFBITQMB`,
		`VPDPBUSDS?`,
		`VPDPWSSDS?`,
		`VDBPSADBW`,
		`VPSLLVW`, `VPSRLVW`, `VPSRAVW`,
		`VCVT\w*(UDQ|UQQ|QQ|UW|USI)\w*`,
		`VCVTNE2PS2BF16`, `VCVTNEPS2BF16`, `VDPBF16PS`,
		`VP2INTERSECT[DQ]`,
		`V4F\w+`, `VP4D\w+`,
	}, "|") + `)\b`)
)

// isAVX512 reports whether one line of assembly, comments removed, needs
// AVX-512.
func isAVX512(code string) bool {
	if strings.TrimSpace(code) == "" {
		return false
	}
	if avx512RegRE.MatchString(code) || avx512SuffixRE.MatchString(code) {
		return true
	}
	if m := avx512OpRE.FindStringSubmatch(code); m != nil {
		op := m[2]
		// VPBROADCASTB/W/D/Q have VEX forms (AVX2) from an xmm register or
		// memory; only the general-purpose-register source is EVEX.
		if strings.HasPrefix(op, "VPBROADCAST") {
			return gprFirstOperand(code, op)
		}
		return true
	}
	return false
}

var gprRE = regexp.MustCompile(`^(AX|BX|CX|DX|SI|DI|BP|SP|R([89]|1[0-5]))$`)

// gprFirstOperand reports whether the first operand after op is a
// general-purpose register.
func gprFirstOperand(code, op string) bool {
	rest := code[strings.Index(code, op)+len(op):]
	first, _, _ := strings.Cut(rest, ",")
	return gprRE.MatchString(strings.TrimSpace(first))
}

// uncomment removes the comments from one line of assembly. *inBlock
// carries an unterminated /* comment over to the next line.
func uncomment(line string, inBlock *bool) string {
	var b strings.Builder
	for line != "" {
		if *inBlock {
			i := strings.Index(line, "*/")
			if i < 0 {
				return b.String()
			}
			line, *inBlock = line[i+2:], false
			continue
		}
		i := strings.Index(line, "/*")
		j := strings.Index(line, "//")
		if j >= 0 && (i < 0 || j < i) {
			b.WriteString(line[:j])
			return b.String()
		}
		if i < 0 {
			b.WriteString(line)
			return b.String()
		}
		b.WriteString(line[:i])
		line, *inBlock = line[i+2:], true
	}
	return b.String()
}

// moduleRoot walks up from the package directory to the directory holding
// go.mod.
func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the package directory")
		}
		dir = parent
	}
}
