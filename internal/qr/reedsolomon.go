package qr

// Reed–Solomon error correction over GF(2^8) with the QR Code field
// polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D) and generator roots
// α^0 … α^(n-1) (clause 7.5.2 and Annex A).

var (
	gfExp [510]byte // gfExp[i] = α^i, doubled so gfExp[log a + log b] needs no modulo
	gfLog [256]int  // gfLog[α^i] = i; gfLog[0] is unused
	// generators[n] is the monic generator polynomial of degree n,
	// coefficients from x^n down to x^0, for every n in the EC tables.
	generators [31][]byte
)

func init() {
	x := 1
	for i := 0; i < 255; i++ {
		gfExp[i] = byte(x)
		gfExp[i+255] = byte(x)
		gfLog[x] = i
		x <<= 1
		if x&0x100 != 0 {
			x ^= 0x11D
		}
	}
	for _, table := range eccPerBlock {
		for _, n := range table[1:] {
			if generators[n] == nil {
				generators[n] = rsGenerator(n)
			}
		}
	}
}

func gfMul(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return gfExp[gfLog[a]+gfLog[b]]
}

// rsGenerator returns (x - α^0)(x - α^1)…(x - α^(n-1)), highest power first.
func rsGenerator(n int) []byte {
	g := make([]byte, 1, n+1)
	g[0] = 1
	for i := 0; i < n; i++ {
		g = append(g, 0)
		for j := len(g) - 1; j > 0; j-- { // g = g·x + g·α^i
			g[j] ^= gfMul(g[j-1], gfExp[i])
		}
	}
	return g
}

// rsRemainder writes into ecc (len n) the remainder of data(x)·x^n divided
// by the degree-n generator gen: the error-correction codewords.
func rsRemainder(data, gen, ecc []byte) {
	clear(ecc)
	n := len(ecc)
	for _, d := range data {
		factor := d ^ ecc[0]
		copy(ecc, ecc[1:])
		ecc[n-1] = 0
		if factor == 0 {
			continue
		}
		lf := gfLog[factor]
		for j, g := range gen[1:] {
			if g != 0 {
				ecc[j] ^= gfExp[gfLog[g]+lf]
			}
		}
	}
}

// addErrorCorrection splits the data codewords into the version's blocks,
// computes each block's error-correction codewords and interleaves them
// (clause 7.6): the first data codeword of every block, then the second, …,
// then the error-correction codewords the same way. Shorter blocks come
// first and simply have no codeword in the last data round.
func addErrorCorrection(data []byte, version int, level Level) []byte {
	blocks := blockCount[level][version]
	ecLen := eccPerBlock[level][version]
	total := totalCodewords(version)
	short := blocks - total%blocks // blocks with one data codeword fewer
	shortData := total/blocks - ecLen
	gen := generators[ecLen]

	dataBlocks := make([][]byte, blocks)
	ecc := make([]byte, blocks*ecLen)
	off := 0
	for b := range dataBlocks {
		n := shortData
		if b >= short {
			n++
		}
		dataBlocks[b] = data[off : off+n]
		off += n
		rsRemainder(dataBlocks[b], gen, ecc[b*ecLen:(b+1)*ecLen])
	}

	out := make([]byte, 0, total)
	for i := 0; i <= shortData; i++ {
		for _, blk := range dataBlocks {
			if i < len(blk) {
				out = append(out, blk[i])
			}
		}
	}
	for i := 0; i < ecLen; i++ {
		for b := 0; b < blocks; b++ {
			out = append(out, ecc[b*ecLen+i])
		}
	}
	return out
}
