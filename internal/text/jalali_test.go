package text

import (
	"strings"
	"testing"
	"time"
)

// Known Gregorian/Jalali pairs. Sources: the Iranian official calendar
// (Nowruz dates, Yalda), well-known historical dates (22 Bahman 1357 is
// the day of the 1979 revolution, 1979-02-11), and the Unix epoch, which
// every Jalali library documents as 1348-10-11.
var jalaliPairs = []struct {
	g, j [3]int
}{
	{[3]int{2025, 3, 21}, [3]int{1404, 1, 1}},
	{[3]int{2025, 3, 20}, [3]int{1403, 12, 30}}, // 1403 is leap
	{[3]int{2024, 3, 20}, [3]int{1403, 1, 1}},
	{[3]int{2024, 3, 19}, [3]int{1402, 12, 29}}, // 1402 is not leap
	{[3]int{2021, 3, 20}, [3]int{1399, 12, 30}}, // 1399 is leap
	{[3]int{2021, 3, 21}, [3]int{1400, 1, 1}},
	{[3]int{2020, 3, 20}, [3]int{1399, 1, 1}},
	{[3]int{2023, 3, 21}, [3]int{1402, 1, 1}},
	{[3]int{2026, 3, 21}, [3]int{1405, 1, 1}},
	{[3]int{2016, 3, 20}, [3]int{1395, 1, 1}},
	{[3]int{2017, 3, 21}, [3]int{1396, 1, 1}},
	{[3]int{2024, 12, 20}, [3]int{1403, 9, 30}}, // Yalda 1403
	{[3]int{2023, 12, 21}, [3]int{1402, 9, 30}}, // Yalda 1402
	{[3]int{1979, 2, 11}, [3]int{1357, 11, 22}},
	{[3]int{2000, 1, 1}, [3]int{1378, 10, 11}},
	{[3]int{1970, 1, 1}, [3]int{1348, 10, 11}},
	{[3]int{2024, 9, 22}, [3]int{1403, 7, 1}}, // first day of the 30-day months
	{[3]int{2024, 9, 21}, [3]int{1403, 6, 31}},
}

func TestJalaliKnownPairs(t *testing.T) {
	for _, p := range jalaliPairs {
		jy, jm, jd := GregorianToJalali(p.g[0], p.g[1], p.g[2])
		if [3]int{jy, jm, jd} != p.j {
			t.Errorf("GregorianToJalali%v = %d-%d-%d, want %v", p.g, jy, jm, jd, p.j)
		}
		gy, gm, gd := JalaliToGregorian(p.j[0], p.j[1], p.j[2])
		if [3]int{gy, gm, gd} != p.g {
			t.Errorf("JalaliToGregorian%v = %d-%d-%d, want %v", p.j, gy, gm, gd, p.g)
		}
	}
	// Independent check of the weekday: Nowruz 1404 was a Friday and the
	// Unix epoch a Thursday.
	if wd := mustFromJalali(t, 1404, 1, 1).Weekday(); wd != time.Friday {
		t.Errorf("1404-01-01 is a %v, want Friday", wd)
	}
	if wd := mustFromJalali(t, 1348, 10, 11).Weekday(); wd != time.Thursday {
		t.Errorf("1348-10-11 is a %v, want Thursday", wd)
	}
}

func TestJalaliLeapYears(t *testing.T) {
	// Leap years of the current 33-year cycles as published in the Iranian
	// calendar: note the five-year gap 1403 → 1408.
	leaps := map[int]bool{
		1370: true, 1375: true, 1379: true, 1383: true, 1387: true, 1391: true,
		1395: true, 1399: true, 1403: true, 1408: true, 1412: true, 1416: true,
		1420: true, 1424: true, 1428: true, 1432: true, 1436: true,
	}
	for jy := 1370; jy <= 1439; jy++ {
		if got := IsJalaliLeap(jy); got != leaps[jy] {
			t.Errorf("IsJalaliLeap(%d) = %v, want %v", jy, got, leaps[jy])
		}
	}
	// Every year's length agrees with IsJalaliLeap, and a 33-year span
	// holds 8 leap years away from the cycle break points.
	for jy := minJalaliYear; jy < maxJalaliYear; jy++ {
		n := jalaliToDays(jy+1, 1, 1) - jalaliToDays(jy, 1, 1)
		want := 365
		if IsJalaliLeap(jy) {
			want = 366
		}
		if n != want {
			t.Fatalf("Jalali year %d has %d days, IsJalaliLeap says %d", jy, n, want)
		}
	}
	count := 0
	for jy := 1343; jy < 1376; jy++ {
		if IsJalaliLeap(jy) {
			count++
		}
	}
	if count != 8 {
		t.Errorf("1343..1375 has %d leap years, want 8", count)
	}
	for _, jy := range []int{0, -5, maxJalaliYear + 1} {
		if IsJalaliLeap(jy) {
			t.Errorf("IsJalaliLeap(%d) = true for an unsupported year", jy)
		}
	}
}

func TestJalaliMonthLength(t *testing.T) {
	tests := []struct{ jy, jm, want int }{
		{1404, 1, 31}, {1404, 6, 31}, {1404, 7, 30}, {1404, 11, 30},
		{1404, 12, 29}, {1403, 12, 30}, {1399, 12, 30}, {1400, 12, 29},
		{1404, 0, 0}, {1404, 13, 0}, {0, 1, 0}, {maxJalaliYear + 1, 1, 0},
	}
	for _, tt := range tests {
		if got := JalaliMonthLength(tt.jy, tt.jm); got != tt.want {
			t.Errorf("JalaliMonthLength(%d, %d) = %d, want %d", tt.jy, tt.jm, got, tt.want)
		}
	}
}

// TestJalaliEveryDay walks every day from 1900-01-01 to 2200-12-31 with the
// time package (independent of this package's Gregorian arithmetic), checks
// the round trip, and checks that consecutive days give consecutive Jalali
// dates.
func TestJalaliEveryDay(t *testing.T) {
	day := time.Date(1900, 1, 1, 12, 0, 0, 0, time.UTC)
	end := time.Date(2200, 12, 31, 12, 0, 0, 0, time.UTC)
	epoch := time.Date(1970, 1, 1, 12, 0, 0, 0, time.UTC)
	var prev [3]int
	for ; !day.After(end); day = day.AddDate(0, 0, 1) {
		y, m, d := day.Date()
		if got, want := daysFromCivil(y, int(m), d), int(day.Sub(epoch).Hours()/24); got != want {
			t.Fatalf("daysFromCivil(%d, %d, %d) = %d, want %d", y, m, d, got, want)
		}
		jy, jm, jd := GregorianToJalali(y, int(m), d)
		gy, gm, gd := JalaliToGregorian(jy, jm, jd)
		if gy != y || gm != int(m) || gd != d {
			t.Fatalf("%d-%02d-%02d → %d-%02d-%02d → %d-%02d-%02d", y, m, d, jy, jm, jd, gy, gm, gd)
		}
		if jd < 1 || jd > JalaliMonthLength(jy, jm) {
			t.Fatalf("%d-%02d-%02d → invalid Jalali date %d-%02d-%02d", y, m, d, jy, jm, jd)
		}
		cur := [3]int{jy, jm, jd}
		if prev != [3]int{} && cur != nextJalali(prev) {
			t.Fatalf("%d-%02d-%02d → %v, but the previous day was %v", y, m, d, cur, prev)
		}
		prev = cur
	}
}

func nextJalali(j [3]int) [3]int {
	switch {
	case j[2] < JalaliMonthLength(j[0], j[1]):
		return [3]int{j[0], j[1], j[2] + 1}
	case j[1] < 12:
		return [3]int{j[0], j[1] + 1, 1}
	default:
		return [3]int{j[0] + 1, 1, 1}
	}
}

func TestJalaliRangeEdges(t *testing.T) {
	if jy, jm, jd := GregorianToJalali(622, 3, 22); [3]int{jy, jm, jd} != [3]int{1, 1, 1} {
		t.Errorf("622-03-22 → %d-%d-%d, want 1-1-1", jy, jm, jd)
	}
	if jy, jm, jd := GregorianToJalali(622, 3, 21); jy != 0 || jm != 0 || jd != 0 {
		t.Errorf("622-03-21 → %d-%d-%d, want 0-0-0 (unsupported)", jy, jm, jd)
	}
	gy, gm, gd := JalaliToGregorian(maxJalaliYear, 12, JalaliMonthLength(maxJalaliYear, 12))
	if jy, jm, jd := GregorianToJalali(gy, gm, gd); jy != maxJalaliYear || jm != 12 {
		t.Errorf("last supported day %d-%d-%d → %d-%d-%d", gy, gm, gd, jy, jm, jd)
	}
	if jy, _, _ := GregorianToJalali(gy, gm, gd+1); jy != 0 {
		t.Errorf("day after the supported range gave year %d, want 0", jy)
	}
	// Absurd inputs must not panic or overflow into a plausible date.
	for _, v := range [][3]int{
		{1 << 62, 1, 1}, {-1 << 62, 1, 1}, {2024, 1 << 62, 1}, {2024, 1, -1 << 62},
		{-9223372036854775808, 1, 1},
	} {
		if jy, jm, jd := GregorianToJalali(v[0], v[1], v[2]); jy != 0 || jm != 0 || jd != 0 {
			t.Errorf("GregorianToJalali%v = %d-%d-%d, want zeros", v, jy, jm, jd)
		}
		if gy, gm, gd := JalaliToGregorian(v[0], v[1], v[2]); gy != 0 || gm != 0 || gd != 0 {
			t.Errorf("JalaliToGregorian%v = %d-%d-%d, want zeros", v, gy, gm, gd)
		}
	}
}

func TestJalaliNormalisesLikeTimeDate(t *testing.T) {
	tests := []struct{ in, want [3]int }{
		{[3]int{1404, 12, 30}, [3]int{2026, 3, 21}}, // = 1405-01-01
		{[3]int{1403, 13, 1}, [3]int{2025, 3, 21}},  // = 1404-01-01
		{[3]int{1404, 1, 0}, [3]int{2025, 3, 20}},   // = 1403-12-30
		{[3]int{1404, 0, 1}, [3]int{2025, 2, 19}},   // = 1403-12-01
	}
	for _, tt := range tests {
		gy, gm, gd := JalaliToGregorian(tt.in[0], tt.in[1], tt.in[2])
		if [3]int{gy, gm, gd} != tt.want {
			t.Errorf("JalaliToGregorian%v = %d-%d-%d, want %v", tt.in, gy, gm, gd, tt.want)
		}
	}
	if jy, jm, jd := GregorianToJalali(2025, 2, 29); [3]int{jy, jm, jd} != [3]int{1403, 12, 11} {
		t.Errorf("GregorianToJalali(2025, 2, 29) = %d-%d-%d, want 1403-12-11 (= 2025-03-01)", jy, jm, jd)
	}
}

func TestToJalaliUsesLocation(t *testing.T) {
	tehran := time.FixedZone("IRST", 3*3600+1800)
	// 2025-03-20 22:00 UTC is already 2025-03-21 01:30 in Tehran.
	utc := time.Date(2025, 3, 20, 22, 0, 0, 0, time.UTC)
	if got := ToJalali(utc); got != (JalaliDate{1403, 12, 30}) {
		t.Errorf("ToJalali(UTC) = %v, want 1403-12-30", got)
	}
	if got := ToJalali(utc.In(tehran)); got != (JalaliDate{1404, 1, 1}) {
		t.Errorf("ToJalali(Tehran) = %v, want 1404-01-01", got)
	}
	if got := ToJalali(time.Date(5000, 1, 1, 0, 0, 0, 0, time.UTC)); got != (JalaliDate{}) {
		t.Errorf("ToJalali(year 5000) = %v, want zero", got)
	}
	if s := (JalaliDate{1404, 1, 1}).String(); s != "1404-01-01" {
		t.Errorf("JalaliDate.String() = %q", s)
	}
}

func TestFromJalali(t *testing.T) {
	tehran := time.FixedZone("IRST", 3*3600+1800)
	got, err := FromJalali(1404, 1, 1, tehran)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2025, 3, 21, 0, 0, 0, 0, tehran); !got.Equal(want) || got.Location() != tehran {
		t.Errorf("FromJalali(1404, 1, 1, Tehran) = %v, want %v", got, want)
	}
	if got, err := FromJalali(1403, 12, 30, nil); err != nil || !got.Equal(time.Date(2025, 3, 20, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("FromJalali(1403, 12, 30, nil) = %v, %v", got, err)
	}
	bad := []struct {
		jy, jm, jd int
		msg        string
	}{
		{1404, 13, 1, "date: month 13 out of range 1-12"},
		{1404, 0, 1, "date: month 0 out of range 1-12"},
		{1404, 7, 31, "date: day 31 out of range 1-30 for jalali month 7"},
		{1404, 12, 30, "date: day 30 out of range 1-29 for Esfand 1404 (not a leap year)"},
		{1404, 1, 32, "date: day 32 out of range 1-31 for jalali month 1"},
		{1404, 1, 0, "date: day 0 out of range 1-31 for jalali month 1"},
		{0, 1, 1, "date: jalali year 0 out of supported range 1-3176"},
		{9999, 1, 1, "date: jalali year 9999 out of supported range 1-3176"},
	}
	for _, tt := range bad {
		_, err := FromJalali(tt.jy, tt.jm, tt.jd, time.UTC)
		if err == nil || err.Error() != tt.msg {
			t.Errorf("FromJalali(%d, %d, %d) error = %v, want %q", tt.jy, tt.jm, tt.jd, err, tt.msg)
		}
	}
}

func TestJalaliMonthName(t *testing.T) {
	tests := []struct {
		m          int
		lang, want string
	}{
		{1, "fa", "فروردین"},
		{2, "fa", "اردیبهشت"},
		{12, "fa", "اسفند"},
		{1, "en", "Farvardin"},
		{2, "en", "Ordibehesht"},
		{10, "en", "Dey"},
		{12, "en", "Esfand"},
		{1, "ar", "فروردین"},
		{1, "fa-IR", "فروردین"},
		{1, "EN_us", "Farvardin"},
		{1, "de", "Farvardin"},
		{0, "fa", ""},
		{13, "en", ""},
	}
	for _, tt := range tests {
		if got := JalaliMonthName(tt.m, tt.lang); got != tt.want {
			t.Errorf("JalaliMonthName(%d, %q) = %q, want %q", tt.m, tt.lang, got, tt.want)
		}
	}
	for m := 1; m <= 12; m++ {
		fa := JalaliMonthName(m, "fa")
		if Normalize(fa) == "" || strings.ContainsAny(fa, "يك") {
			t.Errorf("month %d: Persian name %q must use Persian letters", m, fa)
		}
	}
}

func mustFromJalali(t *testing.T, jy, jm, jd int) time.Time {
	t.Helper()
	tm, err := FromJalali(jy, jm, jd, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
