// Package qr encodes text as a QR Code symbol (ISO/IEC 18004, Model 2) and
// renders it as SVG or PNG. It has no dependencies beyond the standard
// library.
//
// Encode picks the densest single mode that holds the whole text (numeric,
// then alphanumeric, then byte mode carrying the UTF-8 bytes as they are),
// the smallest version 1–40 that fits at the requested error-correction
// level, and the best of the eight data masks by the standard's penalty
// rules. No ECI header is written: readers treat byte-mode data as UTF-8 in
// practice, and ASCII (the usual card code) is the same in every encoding.
//
// Everything here is safe for concurrent use; a *Code is immutable.
//
// See docs/qr.md for the design and docs/decisions/0007-qr.md for why Pivand
// has its own encoder.
package qr

import (
	"errors"
	"fmt"
)

// Level is the error-correction level: the share of the symbol that can be
// damaged and still read back.
type Level int

// The four error-correction levels, from the most data to the most
// redundancy.
const (
	L Level = iota // about 7% of codewords can be restored
	M              // about 15%
	Q              // about 25%
	H              // about 30%
)

func (l Level) String() string {
	switch l {
	case L:
		return "L"
	case M:
		return "M"
	case Q:
		return "Q"
	case H:
		return "H"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// formatBits is the level's two-bit indicator in the format information
// (Table 12): L=01, M=00, Q=11, H=10.
func (l Level) formatBits() int { return [4]int{1, 0, 3, 2}[l] }

// ErrTooLong is wrapped by the error Encode returns when the text does not
// fit in a version-40 symbol at the requested level.
var ErrTooLong = errors.New("qr: text too long")

// DefaultQuietZone is the light margin, in modules, that the standard
// requires around a symbol.
const DefaultQuietZone = 4

// Code is an encoded QR Code symbol: a square of dark and light modules.
type Code struct {
	version int
	level   Level
	mask    int
	size    int
	dark    []bool // row-major, size*size
}

// Size is the width (and height) of the symbol in modules, without the quiet
// zone: 21 for version 1, up to 177 for version 40.
func (c *Code) Size() int { return c.size }

// Black reports whether the module in column x, row y is dark. (0, 0) is the
// top-left corner. Coordinates outside the symbol are light, as the quiet
// zone is.
func (c *Code) Black(x, y int) bool {
	if x < 0 || y < 0 || x >= c.size || y >= c.size {
		return false
	}
	return c.dark[y*c.size+x]
}

// Version is the symbol version, 1–40.
func (c *Code) Version() int { return c.version }

// Level is the error-correction level the symbol was encoded with.
func (c *Code) Level() Level { return c.level }

// Encode encodes text at the given error-correction level in the smallest
// symbol that holds it. The error wraps ErrTooLong when even version 40 is
// too small.
func Encode(text string, level Level) (*Code, error) {
	if level < L || level > H {
		return nil, fmt.Errorf("qr: unknown error-correction level %d", int(level))
	}
	m := chooseMode(text)
	n := len(text) // characters in numeric and alphanumeric mode, bytes in byte mode
	version := 0
	for v := 1; v <= 40; v++ {
		if fits(m, n, v, level) {
			version = v
			break
		}
	}
	if version == 0 {
		return nil, fmt.Errorf("%w: %d %s at level %s; a version-40 symbol holds at most %d",
			ErrTooLong, n, m.unit(), level, capacity(m, 40, level))
	}
	data := encodeData(text, m, version, level)
	codewords := addErrorCorrection(data, version, level)
	return newCode(version, level, codewords, -1), nil
}

// mode is a data mode indicator (Table 2).
type mode int

const (
	modeNumeric mode = 1
	modeAlnum   mode = 2
	modeByte    mode = 4
)

func (m mode) unit() string {
	switch m {
	case modeNumeric:
		return "digits"
	case modeAlnum:
		return "alphanumeric characters"
	}
	return "bytes"
}

// alnumValue maps a byte to its alphanumeric-mode value (Table 5), or -1.
func alnumValue(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'Z':
		return int(c-'A') + 10
	}
	switch c {
	case ' ':
		return 36
	case '$':
		return 37
	case '%':
		return 38
	case '*':
		return 39
	case '+':
		return 40
	case '-':
		return 41
	case '.':
		return 42
	case '/':
		return 43
	case ':':
		return 44
	}
	return -1
}

// chooseMode returns the densest mode that can hold every character of
// text. The empty text goes in byte mode.
func chooseMode(text string) mode {
	if text == "" {
		return modeByte
	}
	numeric, alnum := true, true
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c < '0' || c > '9' {
			numeric = false
			if alnumValue(c) < 0 {
				alnum = false
				break
			}
		}
	}
	switch {
	case numeric:
		return modeNumeric
	case alnum:
		return modeAlnum
	}
	return modeByte
}

// countBits is the width of the character count indicator (Table 3).
func countBits(m mode, version int) int {
	i := 0
	switch {
	case version >= 27:
		i = 2
	case version >= 10:
		i = 1
	}
	switch m {
	case modeNumeric:
		return [3]int{10, 12, 14}[i]
	case modeAlnum:
		return [3]int{9, 11, 13}[i]
	}
	return [3]int{8, 16, 16}[i]
}

// payloadBits is the length of the encoded data of n characters in mode m,
// without mode indicator and count.
func payloadBits(m mode, n int) int {
	switch m {
	case modeNumeric:
		return 10*(n/3) + [3]int{0, 4, 7}[n%3]
	case modeAlnum:
		return 11*(n/2) + 6*(n%2)
	}
	return 8 * n
}

// fits reports whether n characters in mode m fit in version at level.
func fits(m mode, n, version int, level Level) bool {
	cb := countBits(m, version)
	if n >= 1<<cb {
		return false
	}
	return 4+cb+payloadBits(m, n) <= 8*dataCodewords(version, level)
}

// capacity is the largest number of characters in mode m that fit in
// version at level.
func capacity(m mode, version int, level Level) int {
	cb := countBits(m, version)
	bits := 8*dataCodewords(version, level) - 4 - cb
	var n int
	switch m {
	case modeNumeric:
		n = bits / 10 * 3
		switch r := bits % 10; {
		case r >= 7:
			n += 2
		case r >= 4:
			n++
		}
	case modeAlnum:
		n = bits / 11 * 2
		if bits%11 >= 6 {
			n++
		}
	default:
		n = bits / 8
	}
	return min(n, 1<<cb-1)
}

// bitWriter appends bits most significant first.
type bitWriter struct {
	buf []byte
	n   int // bits written
}

func (w *bitWriter) write(v uint32, bits int) {
	for i := bits - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.buf = append(w.buf, 0)
		}
		if v>>uint(i)&1 != 0 {
			w.buf[w.n/8] |= 0x80 >> uint(w.n%8)
		}
		w.n++
	}
}

// encodeData returns the data codewords for text in mode m, padded to the
// capacity of version at level: mode indicator, character count, data,
// terminator, zero bits to the byte boundary, then the pad codewords
// 11101100 and 00010001 in turn (clause 7.4.10).
func encodeData(text string, m mode, version int, level Level) []byte {
	capBytes := dataCodewords(version, level)
	w := bitWriter{buf: make([]byte, 0, capBytes)}
	w.write(uint32(m), 4)
	w.write(uint32(len(text)), countBits(m, version))
	switch m {
	case modeNumeric:
		for i := 0; i < len(text); i += 3 {
			j := min(i+3, len(text))
			v := uint32(0)
			for _, c := range []byte(text[i:j]) {
				v = v*10 + uint32(c-'0')
			}
			w.write(v, [4]int{0, 4, 7, 10}[j-i])
		}
	case modeAlnum:
		for i := 0; i < len(text); i += 2 {
			if i+1 < len(text) {
				w.write(uint32(alnumValue(text[i])*45+alnumValue(text[i+1])), 11)
			} else {
				w.write(uint32(alnumValue(text[i])), 6)
			}
		}
	default:
		for i := 0; i < len(text); i++ {
			w.write(uint32(text[i]), 8)
		}
	}
	w.write(0, min(4, 8*capBytes-w.n))
	if r := w.n % 8; r != 0 {
		w.write(0, 8-r)
	}
	for pad := byte(0xEC); len(w.buf) < capBytes; pad ^= 0xEC ^ 0x11 {
		w.buf = append(w.buf, pad)
	}
	w.n = 8 * len(w.buf)
	return w.buf
}
