package text

import (
	"strings"
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	tehran := time.FixedZone("IRST", 3*3600+1800)
	ok := []struct {
		in, cal string
		want    [3]int // Gregorian
	}{
		{"2025-03-21", "gregorian", [3]int{2025, 3, 21}},
		{"2025/03/21", "gregorian", [3]int{2025, 3, 21}},
		{"2025/3/1", "gregorian", [3]int{2025, 3, 1}},
		{"2024-02-29", "gregorian", [3]int{2024, 2, 29}},
		{"2025-03-21", "", [3]int{2025, 3, 21}},
		{"٢٠٢٥-٠٣-٢١", "Gregorian", [3]int{2025, 3, 21}},
		{"1404-01-01", "jalali", [3]int{2025, 3, 21}},
		{"1404/01/01", "jalali", [3]int{2025, 3, 21}},
		{"۱۴۰۴/۰۱/۰۱", "jalali", [3]int{2025, 3, 21}},
		{"١٤٠٤/١/١", "JALALI", [3]int{2025, 3, 21}},
		{"۱۴۰3-1-۱", "jalali", [3]int{2024, 3, 20}},
		{" \u200f۱۴۰۳/۱۲/۳۰\u200e ", "jalali", [3]int{2025, 3, 20}},
		{"۱۴۰۳\u200f/\u200f۱۲\u200f/\u200f۳۰", "jalali", [3]int{2025, 3, 20}},
		{"1357/11/22", "jalali", [3]int{1979, 2, 11}},
	}
	for _, tt := range ok {
		got, err := ParseDate(tt.in, tt.cal, tehran)
		if err != nil {
			t.Errorf("ParseDate(%q, %q) error: %v", tt.in, tt.cal, err)
			continue
		}
		want := time.Date(tt.want[0], time.Month(tt.want[1]), tt.want[2], 0, 0, 0, 0, tehran)
		if !got.Equal(want) || got.Location() != tehran {
			t.Errorf("ParseDate(%q, %q) = %v, want %v", tt.in, tt.cal, got, want)
		}
	}
	if got, err := ParseDate("2025-03-21", "gregorian", nil); err != nil || got.Location() != time.UTC {
		t.Errorf("nil location: got %v, %v; want UTC", got, err)
	}

	bad := []struct {
		in, cal, msg string
	}{
		{"2025-13-01", "gregorian", "date: month 13 out of range 1-12"},
		{"۱۴۰۴/۱۳/۰۱", "jalali", "date: month 13 out of range 1-12"},
		{"1404-00-10", "jalali", "date: month 0 out of range 1-12"},
		{"2025-02-29", "gregorian", "date: day 29 out of range 1-28 for February 2025"},
		{"2025-04-31", "gregorian", "date: day 31 out of range 1-30 for April 2025"},
		{"2025-01-00", "gregorian", "date: day 0 out of range 1-31 for January 2025"},
		{"0000-01-01", "gregorian", "date: year 0 out of range 1-9999"},
		{"1404-07-31", "jalali", "date: day 31 out of range 1-30 for jalali month 7"},
		{"1404-12-30", "jalali", "date: day 30 out of range 1-29 for Esfand 1404 (not a leap year)"},
		{"9999-01-01", "jalali", "date: jalali year 9999 out of supported range 1-3176"},
		{"2025-03-21", "hijri", `date: unknown calendar "hijri" (want "gregorian" or "jalali")`},
		{"", "gregorian", `date: "" is not in YYYY-MM-DD or YYYY/MM/DD form`},
		{"25-03-21", "gregorian", `date: "25-03-21" is not in YYYY-MM-DD or YYYY/MM/DD form`},
		{"2025-03/21", "gregorian", `date: "2025-03/21" is not in YYYY-MM-DD or YYYY/MM/DD form`},
		{"2025.03.21", "gregorian", `date: "2025.03.21" is not in YYYY-MM-DD or YYYY/MM/DD form`},
		{"2025-003-21", "gregorian", `date: "2025-003-21" is not in YYYY-MM-DD or YYYY/MM/DD form`},
		{"2025-03-211", "gregorian", `date: "2025-03-211" is not in YYYY-MM-DD or YYYY/MM/DD form`},
		{"2025-03-", "gregorian", `date: "2025-03-" is not in YYYY-MM-DD or YYYY/MM/DD form`},
		{"2025-03-21T10:00", "gregorian", `date: "2025-03-21T10:00" is not in YYYY-MM-DD or YYYY/MM/DD form`},
		{"20x5-03-21", "gregorian", `date: "20x5-03-21" is not in YYYY-MM-DD or YYYY/MM/DD form`},
		{"2025-+3-21", "gregorian", `date: "2025-+3-21" is not in YYYY-MM-DD or YYYY/MM/DD form`},
	}
	for _, tt := range bad {
		_, err := ParseDate(tt.in, tt.cal, time.UTC)
		if err == nil || err.Error() != tt.msg {
			t.Errorf("ParseDate(%q, %q) error = %v, want %q", tt.in, tt.cal, err, tt.msg)
		}
	}
}

func TestFormatDate(t *testing.T) {
	tehran := time.FixedZone("IRST", 3*3600+1800)
	tests := []struct {
		t         time.Time
		cal, want string
	}{
		{time.Date(2025, 3, 21, 15, 4, 5, 0, time.UTC), "gregorian", "2025-03-21"},
		{time.Date(2025, 3, 21, 15, 4, 5, 0, time.UTC), "jalali", "1404-01-01"},
		{time.Date(2025, 3, 21, 15, 4, 5, 0, time.UTC), "Jalali", "1404-01-01"},
		{time.Date(2025, 3, 21, 15, 4, 5, 0, time.UTC), "", "2025-03-21"},
		{time.Date(2025, 3, 21, 15, 4, 5, 0, time.UTC), "unknown", "2025-03-21"},
		{time.Date(2025, 3, 20, 22, 0, 0, 0, time.UTC), "jalali", "1403-12-30"},
		{time.Date(2025, 3, 20, 22, 0, 0, 0, time.UTC).In(tehran), "jalali", "1404-01-01"},
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), "jalali", "1348-10-11"},
		{time.Date(5000, 1, 1, 0, 0, 0, 0, time.UTC), "jalali", ""},
		{time.Date(5000, 1, 1, 0, 0, 0, 0, time.UTC), "gregorian", "5000-01-01"},
	}
	for _, tt := range tests {
		if got := FormatDate(tt.t, tt.cal); got != tt.want {
			t.Errorf("FormatDate(%v, %q) = %q, want %q", tt.t, tt.cal, got, tt.want)
		}
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{
		"1404-01-01", "۱۴۰۳/۱۲/۳۰", "1404/12/30", "2024-02-29", "٢٠٢٥-٠٣-٢١", "1404/13/01",
		" \u200f۱۴۰۳/۱/۱ ", "3176/12/29", "0001/01/01", "", "2025-03-", "99999-1-1",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, jalali bool) {
		cal := CalendarGregorian
		if jalali {
			cal = CalendarJalali
		}
		tm, err := ParseDate(s, cal, time.UTC)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "date: ") {
				t.Fatalf("ParseDate(%q, %q) error %q lacks the \"date: \" prefix", s, cal, err)
			}
			return
		}
		if tm.Hour() != 0 || tm.Minute() != 0 || tm.Second() != 0 || tm.Nanosecond() != 0 {
			t.Fatalf("ParseDate(%q, %q) = %v, not midnight", s, cal, tm)
		}
		formatted := FormatDate(tm, cal)
		back, err := ParseDate(formatted, cal, time.UTC)
		if err != nil || !back.Equal(tm) {
			t.Fatalf("ParseDate(%q, %q) = %v, formats as %q, which parses to %v, %v", s, cal, tm, formatted, back, err)
		}
		// The formatted date has the same numbers as the input.
		y, m, d, err := splitDate(s)
		if err != nil {
			t.Fatalf("splitDate(%q) failed after a successful parse: %v", s, err)
		}
		if want := (JalaliDate{y, m, d}).String(); formatted != want {
			t.Fatalf("ParseDate(%q, %q) formats as %q, want %q", s, cal, formatted, want)
		}
		if jalali {
			j := ToJalali(tm)
			if j != (JalaliDate{y, m, d}) {
				t.Fatalf("ToJalali(ParseDate(%q)) = %v", s, j)
			}
		}
	})
}
