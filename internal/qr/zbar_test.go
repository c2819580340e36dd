package qr

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestZbarReads hands our PNGs to an independent, widely used reader,
// zbarimg (Debian package zbar-tools). It is skipped when zbarimg is not
// installed, and fails instead when PIVAND_TEST_ZBAR=require.
func TestZbarReads(t *testing.T) {
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("PIVAND_TEST_ZBAR") == "require" {
			t.Fatalf("PIVAND_TEST_ZBAR=require but zbarimg is missing: %v", err)
		}
		t.Skip("zbarimg not installed (apt-get install zbar-tools)")
	}
	r := rand.New(rand.NewPCG(5, 6))
	texts := []struct {
		text  string
		level Level
	}{
		{"PV-0001-2345-6789", M},
		{"6037991234567890", Q},
		{"https://pivand.example/club/m/8f3a2c", L},
		{"باشگاه مشتریان پیوند ۱۴۰۴", H}, // UTF-8 in byte mode, no ECI
		{strings.Repeat("HELLO WORLD ", 30), Q},
	}
	// One symbol per version band: versions 1–9, 10–26 and 27–40 use
	// different count widths, and 7 and up carry version information.
	for _, v := range []int{2, 7, 12, 27, 40} {
		for _, m := range []mode{modeNumeric, modeAlnum, modeByte} {
			level := levels[r.IntN(4)]
			texts = append(texts, struct {
				text  string
				level Level
			}{randomText(r, m, refCapacity(int(m), v, level)), level})
		}
	}
	dir := t.TempDir()
	for i, tc := range texts {
		c, err := Encode(tc.text, tc.level)
		if err != nil {
			t.Fatal(err)
		}
		img, err := c.PNG(3, DefaultQuietZone)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, "code.png")
		if err := os.WriteFile(file, img, 0o644); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(zbar, "--raw", "-q", "-Sbinary", file)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("case %d (version %d, %s): zbarimg: %v\n%s", i, c.Version(), tc.level, err, stderr.String())
		}
		if got := strings.TrimSuffix(stdout.String(), "\n"); got != tc.text {
			t.Errorf("case %d (version %d, %s): zbarimg read %q, want %q", i, c.Version(), tc.level, got, tc.text)
		}
	}
}
