package text

import "strings"

var jalaliMonthsFa = [12]string{
	"فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور",
	"مهر", "آبان", "آذر", "دی", "بهمن", "اسفند",
}

var jalaliMonthsEn = [12]string{
	"Farvardin", "Ordibehesht", "Khordad", "Tir", "Mordad", "Shahrivar",
	"Mehr", "Aban", "Azar", "Dey", "Bahman", "Esfand",
}

// JalaliMonthName returns the name of Jalali month m (1–12) in language
// lang: "fa" gives the Persian names (فروردین … اسفند) and "en" the usual
// English transliterations (Farvardin … Esfand).
//
// "ar" also gives the Persian names. Arabic speakers who use the Jalali
// calendar (in Iran, and Arabic-speaking Iranians abroad) see the Persian
// names on Iranian calendars, official documents and software. There is no
// settled Arabic transliteration; CLDR's Arabic names are barely used and
// differ in spelling from what users would recognise.
//
// A region suffix is ignored ("fa-IR" is "fa"); any other language gets the
// English names. It returns "" if m is not 1–12.
func JalaliMonthName(m int, lang string) string {
	if m < 1 || m > 12 {
		return ""
	}
	base := strings.ToLower(strings.TrimSpace(lang))
	if i := strings.IndexAny(base, "-_"); i >= 0 {
		base = base[:i]
	}
	switch base {
	case "fa", "ar":
		return jalaliMonthsFa[m-1]
	default:
		return jalaliMonthsEn[m-1]
	}
}
