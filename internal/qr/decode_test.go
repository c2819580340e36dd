package qr

// A reference QR Code reader for the tests, written apart from the encoder
// so the two can check each other: its tables are a separate transcription
// of ISO/IEC 18004 (Table 9 in the zxing layout: count and data length of
// each block group), its alignment positions come from the spacing rule
// rather than the table, its Galois-field multiply is shift-and-add rather
// than log tables, and it checks every fixed pattern, both copies of the
// format and version information, the Reed–Solomon syndromes of every block,
// and the terminator and pad codewords.

import (
	"errors"
	"fmt"
)

// refBlocks is one level of ISO/IEC 18004 Table 9: error-correction
// codewords per block, then n1 blocks of d1 data codewords and n2 blocks of
// d2 data codewords.
type refBlocks struct{ ec, n1, d1, n2, d2 int }

// refTable9[version-1] holds L, M, Q, H.
var refTable9 = [40][4]refBlocks{
	{{7, 1, 19, 0, 0}, {10, 1, 16, 0, 0}, {13, 1, 13, 0, 0}, {17, 1, 9, 0, 0}},
	{{10, 1, 34, 0, 0}, {16, 1, 28, 0, 0}, {22, 1, 22, 0, 0}, {28, 1, 16, 0, 0}},
	{{15, 1, 55, 0, 0}, {26, 1, 44, 0, 0}, {18, 2, 17, 0, 0}, {22, 2, 13, 0, 0}},
	{{20, 1, 80, 0, 0}, {18, 2, 32, 0, 0}, {26, 2, 24, 0, 0}, {16, 4, 9, 0, 0}},
	{{26, 1, 108, 0, 0}, {24, 2, 43, 0, 0}, {18, 2, 15, 2, 16}, {22, 2, 11, 2, 12}},
	{{18, 2, 68, 0, 0}, {16, 4, 27, 0, 0}, {24, 4, 19, 0, 0}, {28, 4, 15, 0, 0}},
	{{20, 2, 78, 0, 0}, {18, 4, 31, 0, 0}, {18, 2, 14, 4, 15}, {26, 4, 13, 1, 14}},
	{{24, 2, 97, 0, 0}, {22, 2, 38, 2, 39}, {22, 4, 18, 2, 19}, {26, 4, 14, 2, 15}},
	{{30, 2, 116, 0, 0}, {22, 3, 36, 2, 37}, {20, 4, 16, 4, 17}, {24, 4, 12, 4, 13}},
	{{18, 2, 68, 2, 69}, {26, 4, 43, 1, 44}, {24, 6, 19, 2, 20}, {28, 6, 15, 2, 16}},
	{{20, 4, 81, 0, 0}, {30, 1, 50, 4, 51}, {28, 4, 22, 4, 23}, {24, 3, 12, 8, 13}},
	{{24, 2, 92, 2, 93}, {22, 6, 36, 2, 37}, {26, 4, 20, 6, 21}, {28, 7, 14, 4, 15}},
	{{26, 4, 107, 0, 0}, {22, 8, 37, 1, 38}, {24, 8, 20, 4, 21}, {22, 12, 11, 4, 12}},
	{{30, 3, 115, 1, 116}, {24, 4, 40, 5, 41}, {20, 11, 16, 5, 17}, {24, 11, 12, 5, 13}},
	{{22, 5, 87, 1, 88}, {24, 5, 41, 5, 42}, {30, 5, 24, 7, 25}, {24, 11, 12, 7, 13}},
	{{24, 5, 98, 1, 99}, {28, 7, 45, 3, 46}, {24, 15, 19, 2, 20}, {30, 3, 15, 13, 16}},
	{{28, 1, 107, 5, 108}, {28, 10, 46, 1, 47}, {28, 1, 22, 15, 23}, {28, 2, 14, 17, 15}},
	{{30, 5, 120, 1, 121}, {26, 9, 43, 4, 44}, {28, 17, 22, 1, 23}, {28, 2, 14, 19, 15}},
	{{28, 3, 113, 4, 114}, {26, 3, 44, 11, 45}, {26, 17, 21, 4, 22}, {26, 9, 13, 16, 14}},
	{{28, 3, 107, 5, 108}, {26, 3, 41, 13, 42}, {30, 15, 24, 5, 25}, {28, 15, 15, 10, 16}},
	{{28, 4, 116, 4, 117}, {26, 17, 42, 0, 0}, {28, 17, 22, 6, 23}, {30, 19, 16, 6, 17}},
	{{28, 2, 111, 7, 112}, {28, 17, 46, 0, 0}, {30, 7, 24, 16, 25}, {24, 34, 13, 0, 0}},
	{{30, 4, 121, 5, 122}, {28, 4, 47, 14, 48}, {30, 11, 24, 14, 25}, {30, 16, 15, 14, 16}},
	{{30, 6, 117, 4, 118}, {28, 6, 45, 14, 46}, {30, 11, 24, 16, 25}, {30, 30, 16, 2, 17}},
	{{26, 8, 106, 4, 107}, {28, 8, 47, 13, 48}, {30, 7, 24, 22, 25}, {30, 22, 15, 13, 16}},
	{{28, 10, 114, 2, 115}, {28, 19, 46, 4, 47}, {28, 28, 22, 6, 23}, {30, 33, 16, 4, 17}},
	{{30, 8, 122, 4, 123}, {28, 22, 45, 3, 46}, {30, 8, 23, 26, 24}, {30, 12, 15, 28, 16}},
	{{30, 3, 117, 10, 118}, {28, 3, 45, 23, 46}, {30, 4, 24, 31, 25}, {30, 11, 15, 31, 16}},
	{{30, 7, 116, 7, 117}, {28, 21, 45, 7, 46}, {30, 1, 23, 37, 24}, {30, 19, 15, 26, 16}},
	{{30, 5, 115, 10, 116}, {28, 19, 47, 10, 48}, {30, 15, 24, 25, 25}, {30, 23, 15, 25, 16}},
	{{30, 13, 115, 3, 116}, {28, 2, 46, 29, 47}, {30, 42, 24, 1, 25}, {30, 23, 15, 28, 16}},
	{{30, 17, 115, 0, 0}, {28, 10, 46, 23, 47}, {30, 10, 24, 35, 25}, {30, 19, 15, 35, 16}},
	{{30, 17, 115, 1, 116}, {28, 14, 46, 21, 47}, {30, 29, 24, 19, 25}, {30, 11, 15, 46, 16}},
	{{30, 13, 115, 6, 116}, {28, 14, 46, 23, 47}, {30, 44, 24, 7, 25}, {30, 59, 16, 1, 17}},
	{{30, 12, 121, 7, 122}, {28, 12, 47, 26, 48}, {30, 39, 24, 14, 25}, {30, 22, 15, 41, 16}},
	{{30, 6, 121, 14, 122}, {28, 6, 47, 34, 48}, {30, 46, 24, 10, 25}, {30, 2, 15, 64, 16}},
	{{30, 17, 122, 4, 123}, {28, 29, 46, 14, 47}, {30, 49, 24, 10, 25}, {30, 24, 15, 46, 16}},
	{{30, 4, 122, 18, 123}, {28, 13, 46, 32, 47}, {30, 48, 24, 14, 25}, {30, 42, 15, 32, 16}},
	{{30, 20, 117, 4, 118}, {28, 40, 47, 7, 48}, {30, 43, 24, 22, 25}, {30, 10, 15, 67, 16}},
	{{30, 19, 118, 6, 119}, {28, 18, 47, 31, 48}, {30, 34, 24, 34, 25}, {30, 20, 15, 61, 16}},
}

func refBlocksFor(version int, level Level) refBlocks { return refTable9[version-1][level] }

func (b refBlocks) dataCodewords() int { return b.n1*b.d1 + b.n2*b.d2 }
func (b refBlocks) totalCodewords() int {
	return b.n1*(b.d1+b.ec) + b.n2*(b.d2+b.ec)
}

// refFormatTable is ISO/IEC 18004 Table C.1: the masked 15-bit format
// information for each 5-bit value (level indicator << 3 | mask).
var refFormatTable = [32]int{
	0x5412, 0x5125, 0x5E7C, 0x5B4B, 0x45F9, 0x40CE, 0x4F97, 0x4AA0,
	0x77C4, 0x72F3, 0x7DAA, 0x789D, 0x662F, 0x6318, 0x6C41, 0x6976,
	0x1689, 0x13BE, 0x1CE7, 0x19D0, 0x0762, 0x0255, 0x0D0C, 0x083B,
	0x355F, 0x3068, 0x3F31, 0x3A06, 0x24B4, 0x2183, 0x2EDA, 0x2BED,
}

// refVersionTable is ISO/IEC 18004 Table D.1: the 18-bit version
// information for versions 7 to 40.
var refVersionTable = [34]int{
	0x07C94, 0x085BC, 0x09A99, 0x0A4D3, 0x0BBF6, 0x0C762, 0x0D847, 0x0E60D,
	0x0F928, 0x10B78, 0x1145D, 0x12A17, 0x13532, 0x149A6, 0x15683, 0x168C9,
	0x177EC, 0x18EC4, 0x191E1, 0x1AFAB, 0x1B08E, 0x1CC1A, 0x1D33F, 0x1ED75,
	0x1F250, 0x209D5, 0x216F0, 0x228BA, 0x2379F, 0x24B0B, 0x2542E, 0x26A64,
	0x27541, 0x28C69,
}

// refLevelFromIndicator maps the two-bit level indicator to a Level.
var refLevelFromIndicator = [4]Level{0: M, 1: L, 2: H, 3: Q}

// refAlignment derives the alignment pattern centres from the spacing rule
// of Annex E: v/7+2 coordinates from 6 to size-7, evenly spaced by an even
// step, with any slack in the first gap (version 32 is the one exception).
func refAlignment(version int) []int {
	if version == 1 {
		return nil
	}
	n := version/7 + 2
	size := 17 + 4*version
	step := 26
	if version != 32 {
		step = (version*4 + n*2 + 1) / (n*2 - 2) * 2
	}
	pos := make([]int, n)
	pos[0] = 6
	for i := n - 1; i >= 1; i-- {
		pos[i] = size - 7 - (n-1-i)*step
	}
	return pos
}

// refMaskBit is Table 10 as printed, with i the row and j the column.
func refMaskBit(mask, i, j int) bool {
	switch mask {
	case 0:
		return (i+j)%2 == 0
	case 1:
		return i%2 == 0
	case 2:
		return j%3 == 0
	case 3:
		return (i+j)%3 == 0
	case 4:
		return (i/2+j/3)%2 == 0
	case 5:
		return (i*j)%2+(i*j)%3 == 0
	case 6:
		return ((i*j)%2+(i*j)%3)%2 == 0
	case 7:
		return ((i+j)%2+(i*j)%3)%2 == 0
	}
	panic("mask")
}

// refMul multiplies in GF(256) modulo x^8+x^4+x^3+x^2+1 by shift and add.
func refMul(a, b byte) byte {
	var p byte
	for b != 0 {
		if b&1 != 0 {
			p ^= a
		}
		carry := a & 0x80
		a <<= 1
		if carry != 0 {
			a ^= 0x1D
		}
		b >>= 1
	}
	return p
}

// refSyndromesZero reports whether the codeword polynomial (highest power
// first) vanishes at α^0 … α^(ec-1), as every Reed–Solomon codeword of the
// QR generator must.
func refSyndromesZero(block []byte, ec int) bool {
	alpha := byte(1)
	for k := 0; k < ec; k++ {
		var s byte
		for _, c := range block {
			s = refMul(s, alpha) ^ c
		}
		if s != 0 {
			return false
		}
		alpha = refMul(alpha, 2)
	}
	return true
}

// decoded is what the reference reader found in a symbol.
type decoded struct {
	version int
	level   Level
	mask    int
	mode    int
	text    string
}

// grid is a square of modules; dark(x, y) with x the column.
type grid struct {
	size int
	dark func(x, y int) bool
}

func codeGrid(c *Code) grid { return grid{c.Size(), c.Black} }

// refDecode reads a symbol back, checking it against the standard on the way.
func refDecode(g grid) (*decoded, error) {
	n := g.size
	if n < 21 || n > 177 || (n-17)%4 != 0 {
		return nil, fmt.Errorf("size %d is not a QR Code size", n)
	}
	version := (n - 17) / 4
	fn, err := refCheckFunctionPatterns(g, version)
	if err != nil {
		return nil, err
	}

	// Format information, both copies, most significant bit first.
	type xy struct{ x, y int }
	copy1 := []xy{{0, 8}, {1, 8}, {2, 8}, {3, 8}, {4, 8}, {5, 8}, {7, 8}, {8, 8},
		{8, 7}, {8, 5}, {8, 4}, {8, 3}, {8, 2}, {8, 1}, {8, 0}}
	var copy2 []xy
	for y := n - 1; y >= n-7; y-- {
		copy2 = append(copy2, xy{8, y})
	}
	for x := n - 8; x < n; x++ {
		copy2 = append(copy2, xy{x, 8})
	}
	read := func(ps []xy) int {
		v := 0
		for _, p := range ps {
			v <<= 1
			if g.dark(p.x, p.y) {
				v |= 1
			}
		}
		return v
	}
	f1, f2 := read(copy1), read(copy2)
	if f1 != f2 {
		return nil, fmt.Errorf("format information copies differ: %015b and %015b", f1, f2)
	}
	info := -1
	for i, f := range refFormatTable {
		if f == f1 {
			info = i
		}
	}
	if info < 0 {
		return nil, fmt.Errorf("format information %015b is not a valid codeword", f1)
	}
	level, mask := refLevelFromIndicator[info>>3], info&7

	if version >= 7 {
		v1, v2 := 0, 0
		for i := 17; i >= 0; i-- {
			a, b := n-11+i%3, i/3
			v1 <<= 1
			v2 <<= 1
			if g.dark(a, b) {
				v1 |= 1
			}
			if g.dark(b, a) {
				v2 |= 1
			}
		}
		if v1 != refVersionTable[version-7] || v2 != v1 {
			return nil, fmt.Errorf("version information %018b / %018b, want %018b", v1, v2, refVersionTable[version-7])
		}
	}

	// Read the data modules in placement order, unmasking as we go.
	var bits []bool
	upward := true
	for right := n - 1; right > 0; right -= 2 {
		if right == 6 {
			right--
		}
		for k := 0; k < n; k++ {
			y := k
			if upward {
				y = n - 1 - k
			}
			for _, x := range []int{right, right - 1} {
				if fn[y*n+x] {
					continue
				}
				bits = append(bits, g.dark(x, y) != refMaskBit(mask, y, x))
			}
		}
		upward = !upward
	}
	blocks := refBlocksFor(version, level)
	total := blocks.totalCodewords()
	if rem := len(bits) - 8*total; rem < 0 || rem > 7 {
		return nil, fmt.Errorf("%d data modules for %d codewords", len(bits), total)
	}
	for _, b := range bits[8*total:] {
		if b {
			return nil, errors.New("remainder bit is not 0")
		}
	}
	stream := make([]byte, total)
	for i := range stream {
		for k := 0; k < 8; k++ {
			if bits[8*i+k] {
				stream[i] |= 0x80 >> k
			}
		}
	}

	// De-interleave: data codewords round-robin over the blocks (group 1
	// blocks are shorter and drop out of the last round), then EC codewords.
	nb := blocks.n1 + blocks.n2
	lens := make([]int, nb)
	for b := range lens {
		lens[b] = blocks.d1
		if b >= blocks.n1 {
			lens[b] = blocks.d2
		}
	}
	dataParts := make([][]byte, nb)
	ecParts := make([][]byte, nb)
	pos := 0
	for i := 0; i < max(blocks.d1, blocks.d2); i++ {
		for b := 0; b < nb; b++ {
			if i < lens[b] {
				dataParts[b] = append(dataParts[b], stream[pos])
				pos++
			}
		}
	}
	for i := 0; i < blocks.ec; i++ {
		for b := 0; b < nb; b++ {
			ecParts[b] = append(ecParts[b], stream[pos])
			pos++
		}
	}
	var data []byte
	for b := 0; b < nb; b++ {
		if !refSyndromesZero(append(append([]byte(nil), dataParts[b]...), ecParts[b]...), blocks.ec) {
			return nil, fmt.Errorf("block %d fails the Reed–Solomon check", b)
		}
		data = append(data, dataParts[b]...)
	}

	m, text, err := refParse(data, version)
	if err != nil {
		return nil, err
	}
	return &decoded{version: version, level: level, mask: mask, mode: m, text: text}, nil
}

// refParse reads one segment from the data codewords and checks the
// terminator and padding that follow it.
func refParse(data []byte, version int) (int, string, error) {
	pos := 0
	avail := 8 * len(data)
	take := func(n int) (int, error) {
		if pos+n > avail {
			return 0, fmt.Errorf("bit stream ends at %d, need %d more", pos, n)
		}
		v := 0
		for i := 0; i < n; i++ {
			v <<= 1
			if data[(pos+i)/8]&(0x80>>((pos+i)%8)) != 0 {
				v |= 1
			}
		}
		pos += n
		return v, nil
	}
	m, err := take(4)
	if err != nil {
		return 0, "", err
	}
	sizeClass := 0
	if version >= 10 {
		sizeClass = 1
	}
	if version >= 27 {
		sizeClass = 2
	}
	var countLen int
	switch m {
	case 1:
		countLen = []int{10, 12, 14}[sizeClass]
	case 2:
		countLen = []int{9, 11, 13}[sizeClass]
	case 4:
		countLen = []int{8, 16, 16}[sizeClass]
	default:
		return 0, "", fmt.Errorf("mode indicator %04b", m)
	}
	count, err := take(countLen)
	if err != nil {
		return 0, "", err
	}
	const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	var out []byte
	switch m {
	case 1:
		for left := count; left > 0; left -= 3 {
			digits := min(left, 3)
			v, err := take([]int{0, 4, 7, 10}[digits])
			if err != nil {
				return 0, "", err
			}
			s := fmt.Sprintf("%0*d", digits, v)
			if len(s) != digits {
				return 0, "", fmt.Errorf("numeric group %d has more than %d digits", v, digits)
			}
			out = append(out, s...)
		}
	case 2:
		for left := count; left > 0; left -= 2 {
			if left == 1 {
				v, err := take(6)
				if err != nil {
					return 0, "", err
				}
				if v >= 45 {
					return 0, "", fmt.Errorf("alphanumeric value %d", v)
				}
				out = append(out, alnum[v])
				break
			}
			v, err := take(11)
			if err != nil {
				return 0, "", err
			}
			if v >= 45*45 {
				return 0, "", fmt.Errorf("alphanumeric pair %d", v)
			}
			out = append(out, alnum[v/45], alnum[v%45])
		}
	case 4:
		for i := 0; i < count; i++ {
			v, err := take(8)
			if err != nil {
				return 0, "", err
			}
			out = append(out, byte(v))
		}
	}
	// Terminator: up to four 0 bits, then 0 bits to the byte boundary.
	term := min(4, avail-pos)
	if v, _ := take(term); v != 0 {
		return 0, "", errors.New("terminator is not zero")
	}
	if r := pos % 8; r != 0 {
		if v, _ := take(8 - r); v != 0 {
			return 0, "", errors.New("bits before the pad codewords are not zero")
		}
	}
	for i, want := 0, byte(0xEC); pos < avail; i, want = i+1, want^0xEC^0x11 {
		if data[pos/8] != want {
			return 0, "", fmt.Errorf("pad codeword %d is %#x, want %#x", i, data[pos/8], want)
		}
		pos += 8
	}
	return m, string(out), nil
}

// refCheckFunctionPatterns checks the finder, separator, timing and
// alignment patterns and the dark module, and returns which modules are
// function modules (including the format and version areas).
func refCheckFunctionPatterns(g grid, version int) ([]bool, error) {
	n := g.size
	fn := make([]bool, n*n)
	want := func(x, y int, dark bool, what string) error {
		fn[y*n+x] = true
		if g.dark(x, y) != dark {
			return fmt.Errorf("%s module (%d,%d) should be dark=%v", what, x, y, dark)
		}
		return nil
	}
	// Finder patterns with separators, three corners.
	for _, corner := range [][2]int{{0, 0}, {n - 7, 0}, {0, n - 7}} {
		for dy := -1; dy <= 7; dy++ {
			for dx := -1; dx <= 7; dx++ {
				x, y := corner[0]+dx, corner[1]+dy
				if x < 0 || y < 0 || x >= n || y >= n {
					continue
				}
				ring := dx == -1 || dy == -1 || dx == 7 || dy == 7 // separator
				inner := dx >= 2 && dx <= 4 && dy >= 2 && dy <= 4
				outer := dx == 0 || dy == 0 || dx == 6 || dy == 6
				if err := want(x, y, !ring && (inner || outer), "finder"); err != nil {
					return nil, err
				}
			}
		}
	}
	// Timing patterns between the separators.
	for i := 8; i < n-8; i++ {
		if err := want(i, 6, i%2 == 0, "timing"); err != nil {
			return nil, err
		}
		if err := want(6, i, i%2 == 0, "timing"); err != nil {
			return nil, err
		}
	}
	// Alignment patterns, skipping the three finder corners.
	pos := refAlignment(version)
	for _, cy := range pos {
		for _, cx := range pos {
			if (cx < 9 && cy < 9) || (cx > n-10 && cy < 9) || (cx < 9 && cy > n-10) {
				continue
			}
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					ring1 := (dx == -1 || dx == 1) && dy >= -1 && dy <= 1 ||
						(dy == -1 || dy == 1) && dx >= -1 && dx <= 1
					if err := want(cx+dx, cy+dy, !ring1, "alignment"); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	if err := want(8, n-8, true, "dark"); err != nil {
		return nil, err
	}
	// Format areas (checked when read) and version areas.
	for i := 0; i <= 8; i++ {
		fn[8*n+i] = true
		fn[i*n+8] = true
	}
	for i := n - 8; i < n; i++ {
		fn[8*n+i] = true
		fn[i*n+8] = true
	}
	if version >= 7 {
		for i := 0; i < 6; i++ {
			for j := n - 11; j < n-8; j++ {
				fn[i*n+j] = true
				fn[j*n+i] = true
			}
		}
	}
	return fn, nil
}

// refPayloadBits is the number of bits after the mode indicator and count
// for n characters of mode m (clauses 7.4.3–7.4.5).
func refPayloadBits(m, n int) int {
	switch m {
	case 1:
		bits := n / 3 * 10
		if n%3 == 1 {
			bits += 4
		} else if n%3 == 2 {
			bits += 7
		}
		return bits
	case 2:
		return n/2*11 + n%2*6
	}
	return n * 8
}

func refCountBits(m, version int) int {
	class := 0
	if version >= 10 {
		class = 1
	}
	if version >= 27 {
		class = 2
	}
	switch m {
	case 1:
		return []int{10, 12, 14}[class]
	case 2:
		return []int{9, 11, 13}[class]
	}
	return []int{8, 16, 16}[class]
}

// refFits reports whether n characters of mode m fit in version at level.
func refFits(m, n, version int, level Level) bool {
	cb := refCountBits(m, version)
	return n < 1<<cb && 4+cb+refPayloadBits(m, n) <= 8*refBlocksFor(version, level).dataCodewords()
}

// refCapacity is the largest n that fits, found by search.
func refCapacity(m, version int, level Level) int {
	n := 0
	for refFits(m, n+1, version, level) {
		n++
	}
	return n
}
