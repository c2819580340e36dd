package text

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	arabicDecimalSeparator   = '٫' // U+066B
	arabicThousandsSeparator = '٬' // U+066C
)

// asciiDigit maps a Persian (U+06F0–U+06F9) or Arabic-Indic (U+0660–U+0669)
// digit to its ASCII digit. ASCII digits map to themselves.
func asciiDigit(r rune) (rune, bool) {
	switch {
	case '0' <= r && r <= '9':
		return r, true
	case '۰' <= r && r <= '۹':
		return '0' + (r - '۰'), true
	case '٠' <= r && r <= '٩':
		return '0' + (r - '٠'), true
	}
	return r, false
}

// ToASCIIDigits replaces Persian (۰–۹) and Arabic-Indic (٠–٩) digits with
// ASCII 0–9 and the Arabic decimal separator ٫ (U+066B) with ".". Everything
// else, including the Arabic thousands separator ٬ (U+066C), is left
// unchanged: dropping separators is a parsing decision (see ParseInt), and
// keeping them means the function never changes the number of characters
// other than digits.
func ToASCIIDigits(s string) string {
	if isASCII(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if d, ok := asciiDigit(r); ok {
			return d
		}
		if r == arabicDecimalSeparator {
			return '.'
		}
		return r
	}, s)
}

// ToPersianDigits replaces ASCII 0–9 and Arabic-Indic ٠–٩ digits with
// Persian digits ۰–۹ (U+06F0–U+06F9). Punctuation, including ".", is left
// unchanged.
func ToPersianDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if d, ok := asciiDigit(r); ok {
			return '۰' + (d - '0')
		}
		return r
	}, s)
}

// ToArabicDigits replaces ASCII 0–9 and Persian ۰–۹ digits with Arabic-Indic
// digits ٠–٩ (U+0660–U+0669). Punctuation, including ".", is left unchanged.
func ToArabicDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if d, ok := asciiDigit(r); ok {
			return '٠' + (d - '0')
		}
		return r
	}, s)
}

// ParseInt parses a base-10 integer written with ASCII, Persian or
// Arabic-Indic digits (they may be mixed). It accepts:
//
//   - surrounding white space and invisible bidi/zero-width marks, which
//     copy-paste from right-to-left text often adds;
//   - one leading sign: "+", "-" or the Unicode minus sign "−" (U+2212);
//   - thousands separators "," or "٬" (U+066C) between digits, in groups of
//     three ("1,234,567"; "12,34" is rejected so that a decimal comma is not
//     silently read as a thousands separator).
//
// On error it returns 0 and an error wrapping strconv.ErrSyntax or
// strconv.ErrRange; syntax errors name the 1-based character (not byte)
// position of the offending character in s.
func ParseInt(s string) (int64, error) {
	fail := func(format string, args ...any) (int64, error) {
		return 0, fmt.Errorf("parse integer %q: %s: %w", s, fmt.Sprintf(format, args...), strconv.ErrSyntax)
	}

	if !utf8.ValidString(s) {
		// Report the first invalid byte as a character position.
		pos := 0
		for i, r := range s {
			pos++
			if r == utf8.RuneError {
				if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
					break
				}
			}
		}
		return fail("invalid UTF-8 at position %d", pos)
	}

	runes := []rune(s)
	start, end := 0, len(runes)
	for start < end && isTrimmable(runes[start]) {
		start++
	}
	for end > start && isTrimmable(runes[end-1]) {
		end--
	}
	if start == end {
		return fail("empty input")
	}

	var digits strings.Builder
	digits.Grow(end - start + 1)
	i := start
	switch runes[i] {
	case '+':
		i++
	case '-', '−':
		digits.WriteByte('-')
		i++
	}
	if i == end {
		return fail("sign without digits")
	}

	group := 0    // digits since the last separator (or the start)
	lastSep := -1 // 1-based position of the last separator, -1 if none
	nDigits := 0  // digits seen so far
	for ; i < end; i++ {
		r := runes[i]
		pos := i + 1
		if d, ok := asciiDigit(r); ok {
			digits.WriteRune(d)
			group++
			nDigits++
			continue
		}
		if r == ',' || r == arabicThousandsSeparator {
			switch {
			case group == 0:
				return fail("thousands separator %q at position %d is not preceded by a digit", r, pos)
			case lastSep < 0 && group > 3:
				return fail("thousands separator %q at position %d follows %d digits, want 1 to 3", r, pos, group)
			case lastSep >= 0 && group != 3:
				return fail("thousands separator %q at position %d follows a group of %d digits, want 3", r, pos, group)
			}
			lastSep = pos
			group = 0
			continue
		}
		if r == '+' || r == '-' || r == '−' {
			return fail("misplaced sign %q at position %d", r, pos)
		}
		return fail("invalid character %q at position %d", r, pos)
	}
	if nDigits == 0 {
		return fail("no digits")
	}
	if lastSep >= 0 && group != 3 {
		if group == 0 {
			return fail("thousands separator at position %d is not followed by a digit", lastSep)
		}
		return fail("thousands separator at position %d is followed by %d digits, want 3", lastSep, group)
	}

	n, err := strconv.ParseInt(digits.String(), 10, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("parse integer %q: does not fit in 64 bits: %w", s, strconv.ErrRange)
		}
		return 0, fmt.Errorf("parse integer %q: %w", s, err)
	}
	return n, nil
}

// isTrimmable reports whether r may surround a number, date or phone number:
// white space and zero-width or bidi control characters.
func isTrimmable(r rune) bool {
	return unicode.IsSpace(r) || isFormatControl(r)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
