package text

import (
	"strings"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	ok := []struct {
		raw, region, want string
	}{
		{"0912 345 6789", "IR", "+989123456789"},
		{"۰۹۱۲۳۴۵۶۷۸۹", "IR", "+989123456789"},
		{"٠٩١٢٣٤٥٦٧٨٩", "IR", "+989123456789"},
		{"۰۹۱۲-۳۴۵-۶۷۸۹", "ir", "+989123456789"},
		{"\u200e+۹۸ ۹۱۲ ۳۴۵ ۶۷۸۹\u200f", "", "+989123456789"},
		{"9123456789", "IR", "+989123456789"},
		{"+98 912 345 6789", "US", "+989123456789"},
		{"021 8888 8888", "IR", "+982188888888"},
		{"+1 (650) 253-0000", "", "+16502530000"},
		{"(650) 253-0000", "US", "+16502530000"},
		{"00971501234567", "IR", "+971501234567"},
		{"00971501234567", "", "+971501234567"},
		{"+971 50 123 4567", "AE", "+971501234567"},
		{"+44 20 7946 0000", "", "+442079460000"},
		{"+98 912 345 6789 ext. 12", "", "+989123456789"},
	}
	for _, tt := range ok {
		got, err := NormalizePhone(tt.raw, tt.region)
		if err != nil || got != tt.want {
			t.Errorf("NormalizePhone(%q, %q) = %q, %v; want %q", tt.raw, tt.region, got, err, tt.want)
		}
	}

	bad := []struct {
		raw, region, errPart string
	}{
		{"", "IR", "empty"},
		{"  \u200f ", "IR", "empty"},
		{"hello", "IR", "not a number"},
		{"+", "IR", "not a number"},
		{"0912 345 6789", "XX", `unknown region "XX"`},
		{"0912 345 6789", "Iran", `unknown region "Iran"`},
		{"0912 345 6789", "", "no country code"},
		{"12", "IR", "too short"},
		{"0912", "IR", "not a valid number"},
		{"+98 912 345 6789 1234 5678", "", "too long"},
		{"+999 123 4567", "", "invalid country code"},
		{"+1 111 111 1111", "", "not a valid number"}, // area codes never start with 1
		{"(111) 111-1111", "US", "not a valid number"},
		{strings.Repeat("1", 300), "IR", "too long"},
	}
	for _, tt := range bad {
		got, err := NormalizePhone(tt.raw, tt.region)
		if err == nil {
			t.Errorf("NormalizePhone(%q, %q) = %q, nil; want error containing %q", tt.raw, tt.region, got, tt.errPart)
			continue
		}
		if got != "" || !strings.HasPrefix(err.Error(), "phone: ") || !strings.Contains(err.Error(), tt.errPart) {
			t.Errorf("NormalizePhone(%q, %q) = %q, %q; want error containing %q", tt.raw, tt.region, got, err, tt.errPart)
		}
	}
}

func TestIsPhoneLike(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"0912 345 6789", true},
		{"+98 (912) 345-6789", true},
		{"۰۹۱۲", true},
		{"٠٩١", true},
		{"\u200f۰۹۱۲\u200e", true},
		{"021.8888/8888", true},
		{"12", false},
		{"", false},
		{"+-()", false},
		{"ali 0912", false},
		{"0912x", false},
		{"علی", false},
	}
	for _, tt := range tests {
		if got := IsPhoneLike(tt.in); got != tt.want {
			t.Errorf("IsPhoneLike(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range [][2]string{
		{"0912 345 6789", "IR"}, {"۰۹۱۲۳۴۵۶۷۸۹", "IR"}, {"+1 (650) 253-0000", ""},
		{"00971501234567", "IR"}, {"1-800-FLOWERS", "US"}, {"+98 912 ext 1", ""},
		{"tel:+16502530000", ""}, {"++--", "ZZ"}, {"\xff", "IR"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		got, err := NormalizePhone(raw, region)
		if err != nil {
			if got != "" || !strings.HasPrefix(err.Error(), "phone: ") {
				t.Fatalf("NormalizePhone(%q, %q) = %q, %v", raw, region, got, err)
			}
			return
		}
		if len(got) < 3 || got[0] != '+' || strings.Trim(got[1:], "0123456789") != "" {
			t.Fatalf("NormalizePhone(%q, %q) = %q: not E.164", raw, region, got)
		}
		if again, err := NormalizePhone(got, ""); err != nil || again != got {
			t.Fatalf("NormalizePhone(%q, \"\") = %q, %v; want it unchanged", got, again, err)
		}
		_ = IsPhoneLike(raw)
	})
}
