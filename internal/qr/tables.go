package qr

// Tables from ISO/IEC 18004:2015. Index 0 of the per-version tables is
// unused so that a version number indexes its own entry. The tests check
// these against an independent transcription of the standard's Table 9 (the
// full block structure), against the published capacities, and against the
// module count of the drawn function patterns.

// eccPerBlock[level][version] is the number of error-correction codewords in
// each Reed–Solomon block (Table 9). Every block of a symbol has the same.
var eccPerBlock = [4][41]int{
	L: {0, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
	M: {0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28},
	Q: {0, 13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30, 28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
	H: {0, 17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28, 30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
}

// blockCount[level][version] is the number of Reed–Solomon blocks (Table 9).
// When the codewords do not divide evenly, the first blocks are one data
// codeword shorter than the rest.
var blockCount = [4][41]int{
	L: {0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25},
	M: {0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49},
	Q: {0, 1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20, 23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68},
	H: {0, 1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25, 25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81},
}

// alignmentCenters[version] lists the row/column coordinates of alignment
// pattern centres (Annex E, Table E.1). Patterns sit at every pair of these
// coordinates except the three that would overlap a finder pattern.
var alignmentCenters = [41][]int{
	1:  nil,
	2:  {6, 18},
	3:  {6, 22},
	4:  {6, 26},
	5:  {6, 30},
	6:  {6, 34},
	7:  {6, 22, 38},
	8:  {6, 24, 42},
	9:  {6, 26, 46},
	10: {6, 28, 50},
	11: {6, 30, 54},
	12: {6, 32, 58},
	13: {6, 34, 62},
	14: {6, 26, 46, 66},
	15: {6, 26, 48, 70},
	16: {6, 26, 50, 74},
	17: {6, 30, 54, 78},
	18: {6, 30, 56, 82},
	19: {6, 30, 58, 86},
	20: {6, 34, 62, 90},
	21: {6, 28, 50, 72, 94},
	22: {6, 26, 50, 74, 98},
	23: {6, 30, 54, 78, 102},
	24: {6, 28, 54, 80, 106},
	25: {6, 32, 58, 84, 110},
	26: {6, 30, 58, 86, 114},
	27: {6, 34, 62, 90, 118},
	28: {6, 26, 50, 74, 98, 122},
	29: {6, 30, 54, 78, 102, 126},
	30: {6, 26, 52, 78, 104, 130},
	31: {6, 30, 56, 82, 108, 134},
	32: {6, 34, 60, 86, 112, 138},
	33: {6, 30, 58, 86, 114, 142},
	34: {6, 34, 62, 90, 118, 146},
	35: {6, 30, 54, 78, 102, 126, 150},
	36: {6, 24, 50, 76, 102, 128, 154},
	37: {6, 28, 54, 80, 106, 132, 158},
	38: {6, 32, 58, 84, 110, 136, 162},
	39: {6, 26, 54, 82, 110, 138, 166},
	40: {6, 30, 58, 86, 114, 142, 170},
}

// rawDataModules returns how many modules of a version carry codeword bits
// (data, error correction and the 0–7 remainder bits): the whole symbol minus
// the finder patterns with their separators and format areas, the timing
// patterns, the alignment patterns and the version information.
func rawDataModules(version int) int {
	size := 17 + 4*version
	n := size * size
	n -= 3 * 8 * 8       // three finder patterns with separators
	n -= 2*15 + 1        // two copies of the format information and the dark module
	n -= 2 * (size - 16) // timing patterns between the separators
	if k := len(alignmentCenters[version]); k > 0 {
		patterns := k*k - 3
		n -= 25 * patterns
		// Alignment patterns in row 6 and column 6 overlap the timing
		// patterns on 5 modules each, already subtracted above.
		n += 2 * (k - 2) * 5
	}
	if version >= 7 {
		n -= 2 * 18 // two copies of the version information
	}
	return n
}

// totalCodewords is the number of 8-bit codewords a version holds.
func totalCodewords(version int) int { return rawDataModules(version) / 8 }

// dataCodewords is the number of data codewords a version holds at level.
func dataCodewords(version int, level Level) int {
	return totalCodewords(version) - blockCount[level][version]*eccPerBlock[level][version]
}
