package qr

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

var levels = []Level{L, M, Q, H}

const alnumChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// randomText returns n characters of mode m. Byte-mode text mixes Persian,
// ASCII lower case and punctuation, is valid UTF-8 of exactly n bytes and
// always holds a byte outside the alphanumeric set.
func randomText(r *rand.Rand, m mode, n int) string {
	var b strings.Builder
	switch m {
	case modeNumeric:
		for range n {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
	case modeAlnum:
		for range n {
			b.WriteByte(alnumChars[r.IntN(len(alnumChars))])
		}
	default:
		persian := []rune("باشگاهمشتریانپیوند۱۲۳۴کارتعضویت")
		for b.Len() < n {
			switch left := n - b.Len(); {
			case left >= 2 && r.IntN(3) == 0:
				b.WriteRune(persian[r.IntN(len(persian))])
			default:
				b.WriteByte("abcxyz!?#&=_~"[r.IntN(13)])
			}
		}
	}
	return b.String()
}

// roundTrip encodes text, reads it back with the reference reader and
// checks the mode, the level and that the version is the smallest that fits.
func roundTrip(t testing.TB, text string, level Level) *Code {
	t.Helper()
	c, err := Encode(text, level)
	if err != nil {
		t.Fatalf("Encode(%d bytes, %s): %v", len(text), level, err)
	}
	d, err := refDecode(codeGrid(c))
	if err != nil {
		t.Fatalf("read back %d bytes at %s (version %d): %v", len(text), level, c.Version(), err)
	}
	if d.text != text {
		t.Fatalf("read back %q, want %q", d.text, text)
	}
	if d.level != level || d.version != c.Version() || d.mask != c.mask {
		t.Fatalf("read level %s version %d mask %d; encoded %s %d %d", d.level, d.version, d.mask, level, c.Version(), c.mask)
	}
	wantMode := 4
	if text != "" && strings.Trim(text, "0123456789") == "" {
		wantMode = 1
	} else if text != "" && strings.Trim(text, alnumChars) == "" {
		wantMode = 2
	}
	if d.mode != wantMode {
		t.Fatalf("%q: mode %d, want %d", text, d.mode, wantMode)
	}
	n := len(text)
	if !refFits(wantMode, n, d.version, level) || (d.version > 1 && refFits(wantMode, n, d.version-1, level)) {
		t.Fatalf("%d characters of mode %d at %s: version %d is not the smallest that fits", n, wantMode, level, d.version)
	}
	return c
}

// TestEveryVersion fills every version at every level in every mode to its
// exact capacity, and then one character more, and reads each symbol back.
func TestEveryVersion(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, level := range levels {
		for _, m := range []mode{modeNumeric, modeAlnum, modeByte} {
			for v := 1; v <= 40; v++ {
				if testing.Short() && v%5 != 0 && v != 1 && v != 7 {
					continue
				}
				n := refCapacity(int(m), v, level)
				c := roundTrip(t, randomText(r, m, n), level)
				if c.Version() != v {
					t.Fatalf("%d characters of mode %d at %s: version %d, want %d", n, m, level, c.Version(), v)
				}
				if v < 40 && (v%8 == 0 || v == 39) {
					c = roundTrip(t, randomText(r, m, n+1), level)
					if c.Version() != v+1 {
						t.Fatalf("%d characters of mode %d at %s: version %d, want %d", n+1, m, level, c.Version(), v+1)
					}
				}
			}
		}
	}
}

func TestRandomRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	count := 300
	if testing.Short() {
		count = 50
	}
	for i := range count {
		level := levels[r.IntN(4)]
		m := []mode{modeNumeric, modeAlnum, modeByte}[r.IntN(3)]
		n := r.IntN(1 + capacity(m, 1+r.IntN(40), level))
		text := randomText(r, m, n)
		t.Run(strconv.Itoa(i), func(t *testing.T) { roundTrip(t, text, level) })
	}
}

func TestSmallInputs(t *testing.T) {
	for _, text := range []string{"", "0", "7", "A", "a", " ", "00", "000", "0000", "HELLO WORLD",
		"hello world", "PV-0001-2345", "https://pivand.example/club/m/8f3a2c", "باشگاه مشتریان",
		"\x00\xff\xfe", "9" + strings.Repeat("0", 99)} {
		for _, level := range levels {
			roundTrip(t, text, level)
		}
	}
}

// TestCardCode: the club's card code is 16 digits (internal/club), which is
// numeric mode and fits the smallest symbol even at level H.
func TestCardCode(t *testing.T) {
	for _, level := range levels {
		if c := roundTrip(t, "9123456789012345", level); c.Version() != 1 {
			t.Errorf("level %s: version %d, want 1", level, c.Version())
		}
	}
}

func TestTooLong(t *testing.T) {
	cases := []struct {
		text  string
		level Level
		max   int
	}{
		{strings.Repeat("1", 7090), L, 7089},
		{strings.Repeat("A", 4297), L, 4296},
		{strings.Repeat("a", 2954), L, 2953},
		{strings.Repeat("a", 1274), H, 1273},
		{strings.Repeat("ی", 637), H, 1273}, // 1274 bytes of UTF-8
	}
	for _, c := range cases {
		_, err := Encode(c.text, c.level)
		if !errors.Is(err, ErrTooLong) {
			t.Fatalf("%d bytes at %s: err = %v, want ErrTooLong", len(c.text), c.level, err)
		}
		if msg := err.Error(); !strings.Contains(msg, strconv.Itoa(c.max)) || !strings.Contains(msg, "level "+c.level.String()) {
			t.Errorf("message %q should name the level and the limit %d", msg, c.max)
		}
		// One character fewer fits, in version 40.
		_, size := utf8.DecodeLastRuneInString(c.text)
		code, err := Encode(c.text[:len(c.text)-size], c.level)
		if err != nil || code.Version() != 40 {
			t.Errorf("%d bytes at %s: %v", len(c.text)-size, c.level, err)
		}
	}
	if _, err := Encode("x", Level(4)); err == nil || errors.Is(err, ErrTooLong) {
		t.Errorf("bad level: %v", err)
	}
	if _, err := Encode("x", Level(-1)); err == nil {
		t.Error("level -1 accepted")
	}
}

func TestCodeAccessors(t *testing.T) {
	c, err := Encode("PV-0001-2345", Q)
	if err != nil {
		t.Fatal(err)
	}
	if c.Size() != 17+4*c.Version() || c.Level() != Q || c.Level().String() != "Q" {
		t.Errorf("size %d version %d level %s", c.Size(), c.Version(), c.Level())
	}
	for _, p := range [][2]int{{-1, 0}, {0, -1}, {c.Size(), 0}, {0, c.Size()}} {
		if c.Black(p[0], p[1]) {
			t.Errorf("Black%v outside the symbol is dark", p)
		}
	}
	if !c.Black(0, 0) || c.Black(7, 7) {
		t.Error("finder corner wrong")
	}
	if Level(9).String() != "Level(9)" {
		t.Error(Level(9).String())
	}
}

// svgModules parses the SVG and paints its path back onto a grid.
func svgModules(t *testing.T, svg []byte) (side, width int, dark [][]bool) {
	t.Helper()
	var doc struct {
		XMLName xml.Name `xml:"svg"`
		ViewBox string   `xml:"viewBox,attr"`
		Width   string   `xml:"width,attr"`
		Height  string   `xml:"height,attr"`
		Rects   []struct {
			Width  string `xml:"width,attr"`
			Height string `xml:"height,attr"`
			Fill   string `xml:"fill,attr"`
		} `xml:"rect"`
		Paths []struct {
			D    string `xml:"d,attr"`
			Fill string `xml:"fill,attr"`
		} `xml:"path"`
		StyleEl []string `xml:"style"`
	}
	if err := xml.Unmarshal(svg, &doc); err != nil {
		t.Fatalf("SVG does not parse: %v\n%s", err, svg)
	}
	if bytes.Contains(svg, []byte("style")) || len(doc.StyleEl) > 0 {
		t.Fatalf("SVG has style: %s", svg)
	}
	if len(doc.Paths) != 1 || doc.Paths[0].Fill != "#000" {
		t.Fatalf("want one black path, got %d", len(doc.Paths))
	}
	if len(doc.Rects) != 1 || doc.Rects[0].Fill != "#fff" || doc.Rects[0].Width != strings.Fields(doc.ViewBox)[2] {
		t.Fatalf("want one white background, got %+v", doc.Rects)
	}
	var x0, y0 int
	if _, err := fmt.Sscanf(doc.ViewBox, "%d %d %d %d", &x0, &y0, &side, &side); err != nil || x0 != 0 || y0 != 0 {
		t.Fatalf("viewBox %q", doc.ViewBox)
	}
	width, _ = strconv.Atoi(doc.Width)
	if doc.Height != doc.Width {
		t.Fatalf("width %s height %s", doc.Width, doc.Height)
	}
	dark = make([][]bool, side)
	for i := range dark {
		dark[i] = make([]bool, side)
	}
	for _, sub := range strings.Split(strings.TrimSuffix(doc.Paths[0].D, "z"), "z") {
		var x, y, w, w2 int
		if _, err := fmt.Sscanf(sub, "M%d %dh%dv1h-%d", &x, &y, &w, &w2); err != nil || w != w2 || w < 1 {
			t.Fatalf("subpath %q: %v", sub, err)
		}
		for i := x; i < x+w; i++ {
			if dark[y][i] {
				t.Fatalf("module (%d,%d) painted twice", i, y)
			}
			dark[y][i] = true
		}
	}
	return side, width, dark
}

func TestSVG(t *testing.T) {
	c, err := Encode("https://pivand.example/club/m/8f3a2c", M)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ scale, quiet, wantScale, wantQuiet int }{
		{8, 4, 8, 4}, {1, 0, 1, 0}, {0, -3, 1, 0}, {3, 10, 3, 10},
	} {
		side, width, dark := svgModules(t, c.SVG(tc.scale, tc.quiet))
		if side != c.Size()+2*tc.wantQuiet || width != side*tc.wantScale {
			t.Fatalf("scale %d quiet %d: side %d width %d", tc.scale, tc.quiet, side, width)
		}
		for y := 0; y < side; y++ {
			for x := 0; x < side; x++ {
				if dark[y][x] != c.Black(x-tc.wantQuiet, y-tc.wantQuiet) {
					t.Fatalf("scale %d quiet %d: module (%d,%d) differs", tc.scale, tc.quiet, x, y)
				}
			}
		}
		// The painted SVG reads back as the same symbol.
		q := tc.wantQuiet
		d, err := refDecode(grid{c.Size(), func(x, y int) bool { return dark[y+q][x+q] }})
		if err != nil || d.text != "https://pivand.example/club/m/8f3a2c" {
			t.Fatalf("SVG reads back %v, %v", d, err)
		}
	}
}

func TestPNG(t *testing.T) {
	c, err := Encode("PV-0001-2345", H)
	if err != nil {
		t.Fatal(err)
	}
	const scale, quiet = 5, 4
	data, err := c.PNG(scale, quiet)
	if err != nil {
		t.Fatal(err)
	}
	// IHDR: bit depth 1, colour type 3 (palette).
	if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) || string(data[12:16]) != "IHDR" || data[24] != 1 || data[25] != 3 {
		t.Fatalf("not a 1-bit paletted PNG: % x", data[:32])
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	pal, ok := img.(*image.Paletted)
	if !ok {
		t.Fatalf("decoded as %T", img)
	}
	side := (c.Size() + 2*quiet) * scale
	if pal.Bounds() != image.Rect(0, 0, side, side) {
		t.Fatalf("bounds %v, want %d square", pal.Bounds(), side)
	}
	for py := 0; py < side; py++ {
		for px := 0; px < side; px++ {
			r, _, _, _ := pal.At(px, py).RGBA()
			want := c.Black(px/scale-quiet, py/scale-quiet)
			if (r == 0) != want {
				t.Fatalf("pixel (%d,%d): red %d, module dark=%v", px, py, r, want)
			}
		}
	}
	if _, err := c.PNG(1000, 4); err == nil {
		t.Error("a 29000-pixel PNG was rendered")
	}
	if data, err := c.PNG(0, -1); err != nil {
		t.Error(err)
	} else if cfg, _ := png.DecodeConfig(bytes.NewReader(data)); cfg.Width != c.Size() {
		t.Errorf("scale 0, quiet -1: width %d, want %d", cfg.Width, c.Size())
	}
	big, _ := Encode(strings.Repeat("a", 2331), M)
	if _, err := big.PNG(22, DefaultQuietZone); err != nil {
		t.Errorf("version 40 at 22 px per module: %v", err)
	}
}

// FuzzEncode: Encode never panics, fails only with ErrTooLong when the text
// really does not fit, and every symbol reads back.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "0", "HELLO WORLD", "hello", "PV-0001-2345", "باشگاه", "\xff\x00", strings.Repeat("9", 200)} {
		f.Add(s, uint8(1))
	}
	f.Fuzz(func(t *testing.T, text string, lv uint8) {
		level := Level(lv % 4)
		c, err := Encode(text, level)
		if err != nil {
			if !errors.Is(err, ErrTooLong) {
				t.Fatalf("error %v", err)
			}
			m := int(chooseMode(text))
			if refFits(m, len(text), 40, level) {
				t.Fatalf("%d characters of mode %d refused at %s", len(text), m, level)
			}
			return
		}
		roundTrip(t, text, level)
		if c.Version() <= 5 {
			c.SVG(2, 4)
			if _, err := c.PNG(2, 4); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	cases := []struct {
		name  string
		text  string
		level Level
	}{
		{"card-alnum-M", "PV-0001-2345-6789", M},
		{"card-digits-Q", "6037991234567890", Q},
		{"url-byte-M", "https://pivand.example/club/members/8f3a2c91-4b7e-4d2a-9c1f-0e5d6a7b8c9d", M},
		{"v40-byte-M", strings.Repeat("a", 2331), M},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Encode(c.text, c.level); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRender(b *testing.B) {
	c, err := Encode("PV-0001-2345-6789", M)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("SVG", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.SVG(8, DefaultQuietZone)
		}
	})
	b.Run("PNG", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.PNG(8, DefaultQuietZone); err != nil {
				b.Fatal(err)
			}
		}
	})
}
