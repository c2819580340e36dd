package text

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestDigitConversions(t *testing.T) {
	tests := []struct {
		in, ascii, persian, arabic string
	}{
		{"", "", "", ""},
		{"abc", "abc", "abc", "abc"},
		{"0123456789", "0123456789", "۰۱۲۳۴۵۶۷۸۹", "٠١٢٣٤٥٦٧٨٩"},
		{"۰۱۲۳۴۵۶۷۸۹", "0123456789", "۰۱۲۳۴۵۶۷۸۹", "٠١٢٣٤٥٦٧٨٩"},
		{"٠١٢٣٤٥٦٧٨٩", "0123456789", "۰۱۲۳۴۵۶۷۸۹", "٠١٢٣٤٥٦٧٨٩"},
		{"تلفن: ۰۹۱۲-٣٤٥", "تلفن: 0912-345", "تلفن: ۰۹۱۲-۳۴۵", "تلفن: ٠٩١٢-٣٤٥"},
		// ٫ becomes "." in ToASCIIDigits only; ٬ is never touched.
		{"۱٬۲۳۴٫۵", "1٬234.5", "۱٬۲۳۴٫۵", "١٬٢٣٤٫٥"},
		{"1.5", "1.5", "۱.۵", "١.٥"},
	}
	for _, tt := range tests {
		if got := ToASCIIDigits(tt.in); got != tt.ascii {
			t.Errorf("ToASCIIDigits(%q) = %q, want %q", tt.in, got, tt.ascii)
		}
		if got := ToPersianDigits(tt.in); got != tt.persian {
			t.Errorf("ToPersianDigits(%q) = %q, want %q", tt.in, got, tt.persian)
		}
		if got := ToArabicDigits(tt.in); got != tt.arabic {
			t.Errorf("ToArabicDigits(%q) = %q, want %q", tt.in, got, tt.arabic)
		}
	}
}

func TestParseInt(t *testing.T) {
	ok := []struct {
		in   string
		want int64
	}{
		{"0", 0},
		{"42", 42},
		{"۴۲", 42},
		{"٤٢", 42},
		{"4۲", 42},
		{"  42\t", 42},
		{"\u200f۴۲\u200e", 42},
		{"+42", 42},
		{"-42", -42},
		{"−42", -42},
		{"-٤٢", -42},
		{"007", 7},
		{"1,234", 1234},
		{"12,345,678", 12345678},
		{"۱٬۲۳۴٬۵۶۷", 1234567},
		{"١٬٢٣٤", 1234},
		{"1,234٬567", 1234567},
		{"9223372036854775807", 9223372036854775807},
		{"-9223372036854775808", -9223372036854775808},
		{"9,223,372,036,854,775,807", 9223372036854775807},
	}
	for _, tt := range ok {
		got, err := ParseInt(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseInt(%q) = %d, %v; want %d, nil", tt.in, got, err, tt.want)
		}
	}

	bad := []struct {
		in      string
		errPart string
		range_  bool
	}{
		{"", "empty input", false},
		{"   ", "empty input", false},
		{"+", "sign without digits", false},
		{"-", "sign without digits", false},
		{"12x", "invalid character 'x' at position 3", false},
		{"۱۲x۴", "invalid character 'x' at position 3", false},
		{"1.5", "invalid character '.' at position 2", false},
		{"۱٫۵", "invalid character '٫' at position 2", false},
		{"1 000", "invalid character ' ' at position 2", false},
		{"--1", "misplaced sign '-' at position 2", false},
		{"1-", "misplaced sign '-' at position 2", false},
		{"- 1", "invalid character ' ' at position 2", false},
		{",123", "at position 1 is not preceded by a digit", false},
		{"1,", "at position 2 is not followed by a digit", false},
		{"1,,234", "at position 3 is not preceded by a digit", false},
		{"12,34", "at position 3 is followed by 2 digits, want 3", false},
		{"1,2345", "at position 2 is followed by 4 digits, want 3", false},
		{"1234,567", "at position 5 follows 4 digits, want 1 to 3", false},
		{"1,23,456", "at position 5 follows a group of 2 digits, want 3", false},
		{"a\xff", "invalid UTF-8 at position 2", false},
		{"9223372036854775808", "does not fit in 64 bits", true},
		{"-9223372036854775809", "does not fit in 64 bits", true},
	}
	for _, tt := range bad {
		got, err := ParseInt(tt.in)
		if err == nil {
			t.Errorf("ParseInt(%q) = %d, nil; want error containing %q", tt.in, got, tt.errPart)
			continue
		}
		if got != 0 {
			t.Errorf("ParseInt(%q) returned %d with an error; want 0", tt.in, got)
		}
		if !strings.Contains(err.Error(), tt.errPart) {
			t.Errorf("ParseInt(%q) error = %q; want it to contain %q", tt.in, err, tt.errPart)
		}
		wantErr := strconv.ErrSyntax
		if tt.range_ {
			wantErr = strconv.ErrRange
		}
		if !errors.Is(err, wantErr) {
			t.Errorf("ParseInt(%q) error = %v; want it to wrap %v", tt.in, err, wantErr)
		}
	}
}

func FuzzParseInt(f *testing.F) {
	for _, s := range []string{"0", "-42", "۱٬۲۳۴", "1,234,567", "12,34", "+", "−٩", " 7 ", "9223372036854775808", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseInt(s)
		if err != nil {
			if n != 0 {
				t.Fatalf("ParseInt(%q) = %d with error %v", s, n, err)
			}
			// Anything strconv accepts (without base prefixes or
			// underscores) must be accepted too.
			if v, serr := strconv.ParseInt(strings.TrimSpace(s), 10, 64); serr == nil {
				t.Fatalf("ParseInt(%q) failed (%v) but strconv gives %d", s, err, v)
			}
			return
		}
		ascii := strconv.FormatInt(n, 10)
		for _, form := range []string{ascii, ToPersianDigits(ascii), ToArabicDigits(ascii)} {
			if m, err := ParseInt(form); err != nil || m != n {
				t.Fatalf("ParseInt(%q) = %d but ParseInt(%q) = %d, %v", s, n, form, m, err)
			}
		}
	})
}
