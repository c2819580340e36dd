package qr

// symbol is a symbol under construction: the module colours and which
// modules belong to function patterns (finder, separator, timing, alignment,
// format and version information), which masking leaves alone.
type symbol struct {
	size int
	dark []bool
	fn   []bool
}

func (s *symbol) set(x, y int, dark bool) {
	s.dark[y*s.size+x] = dark
	s.fn[y*s.size+x] = true
}

// newCode builds the symbol for the interleaved codewords. mask is 0–7, or
// -1 to choose the mask with the lowest penalty (ties go to the lower
// number).
func newCode(version int, level Level, codewords []byte, mask int) *Code {
	size := 17 + 4*version
	s := &symbol{size: size, dark: make([]bool, size*size), fn: make([]bool, size*size)}
	s.drawFunctionPatterns(version)
	s.placeCodewords(codewords)

	if mask < 0 {
		trial := make([]bool, len(s.dark))
		line := make([]bool, size)
		best := -1
		for m := 0; m < 8; m++ {
			copy(trial, s.dark)
			t := &symbol{size: size, dark: trial, fn: s.fn}
			t.applyMask(m)
			t.drawFormat(level, m)
			if p := penalty(trial, size, line); best < 0 || p < best {
				best, mask = p, m
			}
		}
	}
	s.applyMask(mask)
	s.drawFormat(level, mask)
	return &Code{version: version, level: level, mask: mask, size: size, dark: s.dark}
}

func (s *symbol) drawFunctionPatterns(version int) {
	n := s.size
	// Timing patterns: row 6 and column 6 alternate, dark on even indexes.
	for i := 0; i < n; i++ {
		s.set(6, i, i%2 == 0)
		s.set(i, 6, i%2 == 0)
	}
	// Finder patterns (7×7 rings around a 3×3 core) with their light
	// separators, centred 3 modules in from three corners.
	for _, c := range [3][2]int{{3, 3}, {n - 4, 3}, {3, n - 4}} {
		for dy := -4; dy <= 4; dy++ {
			for dx := -4; dx <= 4; dx++ {
				x, y := c[0]+dx, c[1]+dy
				if x < 0 || y < 0 || x >= n || y >= n {
					continue
				}
				d := max(abs(dx), abs(dy))
				s.set(x, y, d != 2 && d != 4)
			}
		}
	}
	// Alignment patterns: 5×5, dark ring, light ring, dark centre.
	pos := alignmentCenters[version]
	last := len(pos) - 1
	for i, cx := range pos {
		for j, cy := range pos {
			if (i == 0 && j == 0) || (i == 0 && j == last) || (i == last && j == 0) {
				continue // the finder patterns are there
			}
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					s.set(cx+dx, cy+dy, max(abs(dx), abs(dy)) != 1)
				}
			}
		}
	}
	// Reserve the format areas (drawn for real once the mask is known) and
	// the dark module.
	s.drawFormat(L, 0)
	if version >= 7 {
		bits := versionInfo(version)
		for i := 0; i < 18; i++ {
			dark := bits>>uint(i)&1 != 0
			a, b := n-11+i%3, i/3
			s.set(a, b, dark) // top right, 6 rows × 3 columns
			s.set(b, a, dark) // bottom left, 3 rows × 6 columns
		}
	}
}

// drawFormat writes both copies of the format information (clause 7.9.1)
// and the dark module. Bit 0 is the least significant of the 15.
func (s *symbol) drawFormat(level Level, mask int) {
	n := s.size
	bits := formatInfo(level, mask)
	bit := func(i int) bool { return bits>>uint(i)&1 != 0 }
	// Around the top-left finder: down column 8, then left along row 8.
	for i := 0; i <= 5; i++ {
		s.set(8, i, bit(i))
	}
	s.set(8, 7, bit(6))
	s.set(8, 8, bit(7))
	s.set(7, 8, bit(8))
	for i := 9; i < 15; i++ {
		s.set(14-i, 8, bit(i))
	}
	// Second copy: row 8 under the top-right finder, then column 8 beside
	// the bottom-left finder.
	for i := 0; i < 8; i++ {
		s.set(n-1-i, 8, bit(i))
	}
	for i := 8; i < 15; i++ {
		s.set(8, n-15+i, bit(i))
	}
	s.set(8, n-8, true) // the dark module
}

// formatInfo returns the 15-bit format information: the level indicator and
// mask number, a BCH(15,5) code with generator 0x537, XORed with 0x5412 so
// that it is never all light (Annex C).
func formatInfo(level Level, mask int) int {
	data := level.formatBits()<<3 | mask
	rem := data
	for i := 0; i < 10; i++ {
		rem = rem<<1 ^ (rem>>9)*0x537
	}
	return (data<<10 | rem) ^ 0x5412
}

// versionInfo returns the 18-bit version information: six bits of version
// and a BCH(18,6) code with generator 0x1F25 (Annex D).
func versionInfo(version int) int {
	rem := version
	for i := 0; i < 12; i++ {
		rem = rem<<1 ^ (rem>>11)*0x1F25
	}
	return version<<12 | rem
}

// placeCodewords writes the codeword bits, most significant first, into the
// non-function modules (clause 7.7.3): two-module-wide columns from the
// right edge, alternately upwards and downwards, skipping the vertical
// timing column. Modules left over (the 0–7 remainder bits) stay light.
func (s *symbol) placeCodewords(codewords []byte) {
	n := s.size
	i, total := 0, 8*len(codewords)
	for right := n - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5
		}
		upward := (right+1)&2 == 0
		for v := 0; v < n; v++ {
			y := v
			if upward {
				y = n - 1 - v
			}
			for dx := 0; dx < 2; dx++ {
				x := right - dx
				k := y*n + x
				if s.fn[k] {
					continue
				}
				if i < total {
					s.dark[k] = codewords[i/8]>>uint(7-i%8)&1 != 0
				}
				i++
			}
		}
	}
}

// maskBit reports whether data mask m inverts the module at column x, row y
// (Table 10, with i the row and j the column).
func maskBit(m, x, y int) bool {
	switch m {
	case 0:
		return (y+x)%2 == 0
	case 1:
		return y%2 == 0
	case 2:
		return x%3 == 0
	case 3:
		return (y+x)%3 == 0
	case 4:
		return (y/2+x/3)%2 == 0
	case 5:
		return y*x%2+y*x%3 == 0
	case 6:
		return (y*x%2+y*x%3)%2 == 0
	case 7:
		return ((y+x)%2+y*x%3)%2 == 0
	}
	panic("qr: mask out of range")
}

func (s *symbol) applyMask(m int) {
	n := s.size
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			k := y*n + x
			if !s.fn[k] && maskBit(m, x, y) {
				s.dark[k] = !s.dark[k]
			}
		}
	}
}

// Penalty weights (clause 7.8.3.1, Table 11).
const (
	penaltyN1 = 3
	penaltyN2 = 3
	penaltyN3 = 40
	penaltyN4 = 10
)

// penalty scores a masked symbol; lower is better. line is scratch space of
// at least size.
//   - N1 + (k-5) for each run of k ≥ 5 same-coloured modules in a row or column;
//   - N2 for each 2×2 block of one colour;
//   - N3 for each 1:1:3:1:1 dark-light-dark-light-dark pattern in a row or
//     column with 4 light modules before or after it (beyond the edge counts
//     as light: it is the quiet zone);
//   - N4 for each full 5% by which the dark share differs from 50%.
func penalty(dark []bool, size int, line []bool) int {
	p := 0
	for y := 0; y < size; y++ {
		p += linePenalty(dark[y*size : (y+1)*size])
	}
	for x := 0; x < size; x++ {
		for y := 0; y < size; y++ {
			line[y] = dark[y*size+x]
		}
		p += linePenalty(line[:size])
	}
	for y := 0; y < size-1; y++ {
		row, next := dark[y*size:], dark[(y+1)*size:]
		for x := 0; x < size-1; x++ {
			c := row[x]
			if row[x+1] == c && next[x] == c && next[x+1] == c {
				p += penaltyN2
			}
		}
	}
	black := 0
	for _, d := range dark {
		if d {
			black++
		}
	}
	total := size * size
	k := abs(2*black-total) * 10 / total
	return p + k*penaltyN4
}

// linePenalty scores rules 1 and 3 along one row or column.
func linePenalty(line []bool) int {
	n := len(line)
	p := 0
	run := 1
	for i := 1; i <= n; i++ {
		if i < n && line[i] == line[i-1] {
			run++
			continue
		}
		if run >= 5 {
			p += penaltyN1 + run - 5
		}
		run = 1
	}
	for i := 0; i+7 <= n; i++ {
		if line[i] && !line[i+1] && line[i+2] && line[i+3] && line[i+4] && !line[i+5] && line[i+6] &&
			(lightSpan(line, i-4, i) || lightSpan(line, i+7, i+11)) {
			p += penaltyN3
		}
	}
	return p
}

// lightSpan reports whether line[from:to] (clipped to the line) is all light.
func lightSpan(line []bool, from, to int) bool {
	for i := max(from, 0); i < min(to, len(line)); i++ {
		if line[i] {
			return false
		}
	}
	return true
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
