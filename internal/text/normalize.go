package text

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalize returns the matching/search form of s. The result is meant for
// comparing and indexing, never for display: it loses information on
// purpose.
//
// Steps, in order:
//
//  1. Invalid UTF-8 bytes become U+FFFD, so the output is always valid UTF-8.
//  2. Unicode NFKC. This folds compatibility forms, including the Arabic
//     presentation forms (U+FB50–U+FDFF, U+FE70–U+FEFF) that some old
//     software and PDFs produce, full-width Latin letters and digits, and the
//     no-break and other fixed-width spaces.
//  3. Invisible characters are removed: tatweel (U+0640); Arabic harakat and
//     other combining marks (U+064B–U+065F, superscript alef U+0670, and the
//     Quranic annotation marks U+06D6–U+06ED); zero-width and bidi controls
//     (U+200B–U+200F, U+202A–U+202E, U+2066–U+2069, U+FEFF, plus the Arabic
//     letter mark U+061C, word joiner U+2060 and soft hyphen U+00AD).
//     Removing ZWNJ (U+200C) means "می‌خواهم" matches "میخواهم": Persian
//     writers are inconsistent about the half-space, and writing it as a
//     space instead would split one word into two tokens. Removing the
//     hamza marks (U+0654, U+0655) also turns ه followed by a combining
//     hamza into plain ه, matching step 4's handling of ۀ.
//  4. Letter variants are unified: Arabic yeh ي (U+064A) and alef maksura ى
//     (U+0649) become Persian yeh ی (U+06CC); Arabic kaf ك (U+0643) becomes
//     Persian keheh ک (U+06A9). Hamza carried on a letter is dropped,
//     leaving the carrier: أ إ آ ٱ become bare alef ا, ؤ becomes و, ئ
//     becomes ی, and heh with yeh above ۀ (U+06C0) becomes ه. Persian
//     spelling varies exactly here ("رضائی"/"رضایی", "مؤسسه"/"موسسه",
//     "خانهٔ"/"خانه"), and for matching the variants must meet. The
//     stand-alone hamza ء is kept. Teh marbuta ة is deliberately kept: it
//     is a distinct letter in Arabic names, and folding it into ه would
//     merge unrelated words.
//  5. Persian (U+06F0–U+06F9) and Arabic-Indic (U+0660–U+0669) digits
//     become ASCII 0–9, and the Arabic decimal separator ٫ becomes ".", as
//     in ToASCIIDigits.
//  6. Letters are lower-cased rune by rune (the same mapping as
//     strings.ToLower); this is the Latin case fold and also applies to
//     Greek, Cyrillic and other cased scripts.
//  7. Runs of white space collapse to a single ASCII space, and leading and
//     trailing space is trimmed.
//
// Normalize is idempotent: Normalize(Normalize(s)) == Normalize(s).
func Normalize(s string) string {
	if s == "" {
		return ""
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = norm.NFKC.String(s)

	var b strings.Builder
	b.Grow(len(s))
	pendingSpace := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			pendingSpace = b.Len() > 0
			continue
		}
		r, keep := matchRune(r)
		if !keep {
			continue
		}
		if pendingSpace {
			b.WriteByte(' ')
			pendingSpace = false
		}
		b.WriteRune(r)
	}
	out := b.String()
	// Removing an invisible character can leave a base letter directly
	// before a combining mark it used to be separated from (for example
	// "e", ZWNJ, U+0301); compose again so the result is stable.
	if !norm.NFKC.IsNormalString(out) {
		out = norm.NFKC.String(out)
	}
	return out
}

// NormalizeTokens normalises s and splits it into word tokens for search
// indexing. A token is a maximal run of letters, numbers and combining marks;
// everything else (punctuation such as @ . - + _ ' and spaces) separates
// tokens, so "ali.rezaei@example.com" gives [ali rezaei example com] and
// "+98 912-345" gives [98 912 345]. Tokens keep their order and duplicates
// are not removed. It returns nil when there are no tokens.
func NormalizeTokens(s string) []string {
	n := Normalize(s)
	if n == "" {
		return nil
	}
	fields := strings.FieldsFunc(n, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r))
	})
	if len(fields) == 0 {
		return nil
	}
	return fields
}

// matchRune maps one NFKC-normalised rune to its matching form. keep is
// false when the rune is to be dropped.
func matchRune(r rune) (out rune, keep bool) {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r, true
	}
	if isInvisible(r) {
		return 0, false
	}
	switch r {
	case 'ي', 'ى': // U+064A, U+0649
		return 'ی', true // U+06CC
	case 'ك': // U+0643
		return 'ک', true // U+06A9
	case 'ئ': // U+0626
		return 'ی', true
	case 'ۀ': // U+06C0
		return 'ه', true // U+0647
	case 'ؤ': // U+0624
		return 'و', true // U+0648
	case 'أ', 'إ', 'آ', 'ٱ': // U+0623, U+0625, U+0622, U+0671
		return 'ا', true // U+0627
	}
	if d, ok := asciiDigit(r); ok {
		return d, true
	}
	if r == arabicDecimalSeparator {
		return '.', true
	}
	return unicode.ToLower(r), true
}

// isInvisible reports whether r is removed by Normalize: tatweel, Arabic
// diacritics and annotation marks, and zero-width or bidi control characters.
func isInvisible(r rune) bool {
	switch {
	case r == 0x0640: // tatweel
		return true
	case 0x064B <= r && r <= 0x065F: // harakat, shadda, sukun, hamza marks, ...
		return true
	case r == 0x0670: // superscript alef
		return true
	case 0x06D6 <= r && r <= 0x06DC, 0x06DF <= r && r <= 0x06E4,
		r == 0x06E7, r == 0x06E8, 0x06EA <= r && r <= 0x06ED: // Quranic marks
		return true
	}
	return isFormatControl(r)
}

// isFormatControl reports whether r is a zero-width or bidi control
// character: invisible, and often added by copy-paste from right-to-left
// text.
func isFormatControl(r rune) bool {
	switch {
	case 0x200B <= r && r <= 0x200F: // ZWSP, ZWNJ, ZWJ, LRM, RLM
		return true
	case 0x202A <= r && r <= 0x202E: // LRE, RLE, PDF, LRO, RLO
		return true
	case 0x2066 <= r && r <= 0x2069: // LRI, RLI, FSI, PDI
		return true
	case r == 0xFEFF, r == 0x061C, r == 0x2060, r == 0x00AD: // BOM, ALM, WJ, SHY
		return true
	}
	return false
}
