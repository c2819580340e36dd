package text

import (
	"reflect"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"only spaces", " \t\n\u00a0 ", ""},
		{"ascii case fold", "  Ali   REZAEI ", "ali rezaei"},
		{"arabic yeh", "علي", "علی"},
		{"alef maksura", "موسى", "موسی"},
		{"arabic kaf", "ك", "ک"},
		{"kaf in word", "كتاب", "کتاب"},
		{"teh marbuta kept", "فاطمة", "فاطمة"},
		{"heh with yeh above", "خانۀ", "خانه"},
		{"heh plus combining hamza", "خانه\u0654", "خانه"},
		{"alef hamza above", "أحمد", "احمد"},
		{"alef hamza below", "إبراهيم", "ابراهیم"},
		{"alef madda", "آرش", "ارش"},
		{"decomposed alef madda", "\u0627\u0653رش", "ارش"},
		{"yeh with hamza", "رضائی", "رضایی"},
		{"waw with hamza", "مؤسسه", "موسسه"},
		{"standalone hamza kept", "جزء", "جزء"},
		{"tatweel", "مـحـمـد", "محمد"},
		{"harakat", "مُحَمَّد", "محمد"},
		{"superscript alef", "هٰذا", "هذا"},
		{"zwnj removed", "می\u200cخواهم", "میخواهم"},
		{"zwj and bidi marks", "\u200fعلی\u200d\u202b\u202c\u2067\u2069\ufeff", "علی"},
		{"zwnj between spaces", "a \u200c b", "a b"},
		{"persian digits", "۰۱۲۳۴۵۶۷۸۹", "0123456789"},
		{"arabic-indic digits", "٠١٢٣٤٥٦٧٨٩", "0123456789"},
		{"arabic decimal separator", "۳٫۱۴", "3.14"},
		{"fullwidth", "ＡＢＣ１２３", "abc123"},
		{"presentation forms", "ﻙﺘﺎﺏ", "کتاب"},
		{"lam-alef ligature", "ﻻ", "لا"},
		{"nbsp and friends", "a\u00a0\u2009\u3000b", "a b"},
		{"newlines and tabs", "a\n\n\tb\r\nc", "a b c"},
		{"latin accents kept", "José", "josé"},
		{"decomposed accent composed", "Jose\u0301", "josé"},
		{"accent separated by zwnj", "e\u200c\u0301", "é"},
		{"dotted capital I", "İstanbul", "istanbul"},
		{"greek", "ΑΘΗΝΑ", "αθηνα"},
		{"ligature fi", "ﬁle", "file"},
		{"invalid utf8", "a\xffb", "a\ufffdb"},
		{"mixed", "  علي‌رضا   Ahmadi  ۰۹۱۲ ", "علیرضا ahmadi 0912"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Normalize(tt.in)
			if got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if again := Normalize(got); again != got {
				t.Errorf("not idempotent: Normalize(%q) = %q", got, again)
			}
		})
	}
}

func TestNormalizeEquivalences(t *testing.T) {
	pairs := [][2]string{
		{"علي رضائي", "علی رضایی"},
		{"ك", "ک"},
		{"كريم", "کریم"},
		{"می‌خواهم", "میخواهم"},
		{"مُحَمَّد", "محمد"},
		{"ALI@Example.COM", "ali@example.com"},
		{"۰۹۱۲۳۴۵۶۷۸۹", "09123456789"},
		{"٠٩١٢٣٤٥٦٧٨٩", "۰۹۱۲۳۴۵۶۷۸۹"},
		{"خانۀ ما", "خانه ما"},
		{"إيران", "ایران"},
	}
	for _, p := range pairs {
		a, b := Normalize(p[0]), Normalize(p[1])
		if a != b {
			t.Errorf("Normalize(%q) = %q, Normalize(%q) = %q; want equal", p[0], a, p[1], b)
		}
	}
	// Things that must stay distinct.
	distinct := [][2]string{
		{"فاطمة", "فاطمه"}, // teh marbuta is not folded
		{"ali", "ali reza"},
		{"1", "2"},
	}
	for _, p := range distinct {
		if Normalize(p[0]) == Normalize(p[1]) {
			t.Errorf("Normalize(%q) == Normalize(%q); want different", p[0], p[1])
		}
	}
}

func TestNormalizeTokens(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  ", nil},
		{"@.-+", nil},
		{"Ali Rezaei", []string{"ali", "rezaei"}},
		{"ali.rezaei@Example.com", []string{"ali", "rezaei", "example", "com"}},
		{"+98 (912) 345-6789", []string{"98", "912", "345", "6789"}},
		{"علي‌رضا، رضائي!", []string{"علیرضا", "رضایی"}},
		{"۱۲۳-٤٥٦", []string{"123", "456"}},
		{"o'brien_smith", []string{"o", "brien", "smith"}},
		{"a a", []string{"a", "a"}},
		{"हिन्दी", []string{"हिन्दी"}}, // combining vowel signs stay inside the word
	}
	for _, tt := range tests {
		got := NormalizeTokens(tt.in)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("NormalizeTokens(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"", "علي رضائي", "می\u200cخواهم", "ﻙﺘﺎﺏ", "Jose\u0301", "e\u200c\u0301",
		"a\xffb", "İ", "ẞ", "ǅ", "\u0627\u200c\u0653", "ᄀ\u200c\u1161", " \u0301", "Ω K Å",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if !utf8.ValidString(n) {
			t.Fatalf("Normalize(%q) = %q: invalid UTF-8", s, n)
		}
		if n2 := Normalize(n); n2 != n {
			t.Fatalf("not idempotent: Normalize(%q) = %q, Normalize of that = %q", s, n, n2)
		}
		if len(n) > 0 && (n[0] == ' ' || n[len(n)-1] == ' ') {
			t.Fatalf("Normalize(%q) = %q: not trimmed", s, n)
		}
		for _, tok := range NormalizeTokens(s) {
			if tok == "" || Normalize(tok) != tok {
				t.Fatalf("NormalizeTokens(%q): token %q is empty or not normalised", s, tok)
			}
		}
	})
}

// TestNormalizeIdempotentRanges checks idempotence for every rune of the
// scripts this package cares most about, alone and in the combinations that
// stress the second composition step (an invisible character between a base
// letter and a combining mark).
func TestNormalizeIdempotentRanges(t *testing.T) {
	ranges := [][2]rune{
		{0x0000, 0x07FF}, // Latin, Greek, Cyrillic, Hebrew, Arabic, ...
		{0x1E00, 0x2BFF}, // Latin/Greek extended, punctuation, symbols
		{0xFB00, 0xFFFF}, // ligatures, Arabic presentation forms, full-width
	}
	for _, rg := range ranges {
		for r := rg[0]; r <= rg[1]; r++ {
			if !utf8.ValidRune(r) {
				continue
			}
			for _, s := range []string{
				string(r),
				string(r) + "\u200c\u0301",
				"\u0627\u200c" + string(r),
			} {
				n := Normalize(s)
				if n2 := Normalize(n); n2 != n {
					t.Errorf("not idempotent: %q -> %q -> %q", s, n, n2)
				}
			}
		}
	}
}
