package contactfile

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/text"
)

// Multi-value cells. Google Contacts joins several values in one cell with
// " ::: "; other tools use ";" or ",".

func splitEmails(s string) []string {
	s = strings.ReplaceAll(s, ":::", ";")
	sep := func(r rune) bool { return r == ';' || r == ',' || r == '،' || unicode.IsSpace(r) }
	if strings.ContainsRune(s, '<') { // "Ali <ali@example.com>": keep the spaces
		sep = func(r rune) bool { return r == ';' || r == ',' || r == '،' || r == '\n' }
	}
	return trimAll(strings.FieldsFunc(s, sep))
}

func splitPhones(s string) []string {
	s = strings.ReplaceAll(s, ":::", ";")
	return trimAll(strings.FieldsFunc(s, func(r rune) bool {
		return r == ';' || r == ',' || r == '،' || r == '\n' || r == '|'
	}))
}

// splitLabels keeps empty entries so that labels stay in step with values
// ("work; ; home").
func splitLabels(s string) []string {
	parts := strings.Split(strings.ReplaceAll(s, ":::", ";"), ";")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// splitTags splits on , ; | and Google's :::, and the Arabic comma and
// semicolon. Google's system groups lose their "* " mark and
// "myContacts" (every contact is in it) is dropped.
func splitTags(s string) []string {
	s = strings.ReplaceAll(s, ":::", ";")
	parts := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ';' || r == '|' || r == '،' || r == '؛' || r == '\n'
	})
	out := parts[:0]
	for _, p := range parts {
		p = strings.Join(strings.Fields(strings.TrimPrefix(strings.TrimSpace(p), "* ")), " ")
		if p == "" || strings.EqualFold(p, "myContacts") {
			continue
		}
		out = append(out, p)
	}
	return out
}

func splitCompanies(s string) []string {
	return trimAll(strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' }))
}

func trimAll(parts []string) []string {
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// normEmail lower-cases an address and checks it; "mailto:" and a display
// name ("Ali <ali@example.com>") are removed.
func normEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 7 && strings.EqualFold(s[:7], "mailto:") {
		s = s[7:]
	}
	if strings.ContainsRune(s, '<') {
		if a, err := mail.ParseAddress(s); err == nil {
			s = a.Address
		}
	}
	s = crm.NormalizeEmail(s)
	return s, crm.ValidEmail(s)
}

// normPhone returns a phone number in E.164 form. Besides what
// text.NormalizePhone accepts, a number of digits only that is not valid
// in the default region is tried once more with a "+" in front, because
// spreadsheets drop the plus: "989123456789" becomes +989123456789.
func normPhone(s, region string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > 4 && strings.EqualFold(s[:4], "tel:") {
		s = s[4:]
	}
	num, err := text.NormalizePhone(s, region)
	if err == nil {
		return num, nil
	}
	a := strings.TrimSpace(text.ToASCIIDigits(s))
	if isScientific(a) {
		return "", fmt.Errorf("Phone %q was turned into a number by a spreadsheet (scientific notation) and its digits are lost; format the phone column as Text and export again.", s)
	}
	if d := digitsOnly(a); d != "" && len(d) >= 8 && !strings.HasPrefix(d, "0") {
		if num, err2 := text.NormalizePhone("+"+d, ""); err2 == nil {
			return num, nil
		}
	}
	msg := strings.TrimPrefix(err.Error(), "phone: ")
	if strings.HasPrefix(msg, `"`) {
		return "", errors.New("Phone " + msg + ".")
	}
	return "", fmt.Errorf("Phone %q: %s.", s, msg)
}

// digitsOnly returns s without spaces and dashes if nothing else but ASCII
// digits is left, else "".
func digitsOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.':
		default:
			return ""
		}
	}
	return b.String()
}

// isScientific recognises spreadsheet scientific notation: 9.12346E+11.
func isScientific(s string) bool {
	i := strings.IndexAny(s, "eE")
	if i <= 0 || i+2 > len(s) || s[i+1] != '+' {
		return false
	}
	mant, exp := s[:i], s[i+2:]
	if exp == "" || strings.Trim(exp, "0123456789") != "" {
		return false
	}
	return strings.Trim(mant, "0123456789.,") == "" && mant[0] >= '0' && mant[0] <= '9'
}

// splitFullName splits a name written in one cell. "Last, First" is
// honoured; otherwise the last word is the last name and the rest the
// first name, keeping name particles with the last name ("Ludwig van
// Beethoven" → "Ludwig" + "van Beethoven", "عبدالله بن زاید" → "عبدالله" +
// "بن زاید"). One word is a first name.
func splitFullName(s string) (first, last string) {
	if strings.Count(s, ",") == 1 {
		l, f, _ := strings.Cut(s, ",")
		if l, f = strings.TrimSpace(l), strings.TrimSpace(f); l != "" && f != "" {
			return f, l
		}
	}
	words := strings.Fields(s)
	switch len(words) {
	case 0:
		return "", ""
	case 1:
		return words[0], ""
	}
	i := len(words) - 1
	for i > 1 && nameParticles[strings.ToLower(words[i-1])] {
		i--
	}
	return strings.Join(words[:i], " "), strings.Join(words[i:], " ")
}

var nameParticles = map[string]bool{
	"van": true, "von": true, "de": true, "der": true, "den": true, "da": true, "di": true, "del": true,
	"della": true, "la": true, "le": true, "du": true, "dos": true, "das": true, "al": true, "el": true,
	"bin": true, "ibn": true, "bint": true, "abu": true, "ابن": true, "بن": true, "بنت": true,
	"ابو": true, "أبو": true, "آل": true,
}

// normLanguage accepts language codes ("fa", "en-US", "pt_BR") and the
// English, Persian and Arabic names of common languages, and returns a
// lower-case code.
func normLanguage(s string) (string, error) {
	if code, ok := languageNames[text.Normalize(s)]; ok {
		return code, nil
	}
	t := strings.ReplaceAll(strings.TrimSpace(s), "_", "-")
	parts := strings.Split(t, "-")
	ok := len(parts[0]) >= 2 && len(parts[0]) <= 3 && len(t) <= 35
	for i, p := range parts {
		if p == "" || len(p) > 8 {
			ok = false
		}
		for _, r := range p {
			if !(r < 0x80 && (unicode.IsLetter(r) || (i > 0 && unicode.IsDigit(r)))) {
				ok = false
			}
		}
	}
	if !ok {
		return "", fmt.Errorf("%q is not a language; write a code such as en, fa or ar.", s)
	}
	return strings.ToLower(t), nil
}

var languageNames = func() map[string]string {
	m := map[string]string{}
	add := func(code string, names ...string) {
		for _, n := range names {
			m[text.Normalize(n)] = code
		}
	}
	add("fa", "persian", "farsi", "فارسی", "پارسی", "الفارسية", "فارسي")
	add("en", "english", "انگلیسی", "الإنجليزية", "الانجليزية", "انجليزي")
	add("ar", "arabic", "عربی", "العربية", "عربي")
	add("tr", "turkish", "ترکی", "التركية")
	add("ku", "kurdish", "کردی", "الكردية")
	add("az", "azerbaijani", "azeri", "آذری", "ترکی آذربایجانی")
	add("ur", "urdu", "اردو")
	add("fr", "french", "فرانسوی", "الفرنسية")
	add("de", "german", "آلمانی", "الألمانية")
	add("es", "spanish", "اسپانیایی", "الإسبانية")
	add("ru", "russian", "روسی", "الروسية")
	add("zh", "chinese", "چینی", "الصينية")
	add("hi", "hindi", "هندی", "الهندية")
	return m
}()

// normCountry returns an ISO 3166-1 alpha-2 code for a two-letter code or
// a common country name (English, Persian, Arabic), else the name as
// written.
func normCountry(s string) string {
	if len(s) == 2 && isASCIILetters(s) {
		return strings.ToUpper(s)
	}
	if code, ok := countryNames[text.Normalize(s)]; ok {
		return code
	}
	return s
}

func isASCIILetters(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

var countryNames = func() map[string]string {
	m := map[string]string{}
	add := func(code string, names ...string) {
		for _, n := range names {
			m[text.Normalize(n)] = code
		}
	}
	add("IR", "iran", "islamic republic of iran", "iran, islamic republic of", "iran (islamic republic of)", "ایران", "إيران", "جمهوری اسلامی ایران")
	add("AE", "united arab emirates", "uae", "u.a.e.", "امارات", "امارات متحده عربی", "الإمارات", "الإمارات العربية المتحدة")
	add("SA", "saudi arabia", "ksa", "عربستان", "عربستان سعودی", "السعودية", "المملكة العربية السعودية")
	add("IQ", "iraq", "عراق", "العراق")
	add("AF", "afghanistan", "افغانستان")
	add("TR", "turkey", "türkiye", "turkiye", "ترکیه", "تركيا")
	add("QA", "qatar", "قطر")
	add("KW", "kuwait", "کویت", "الكويت")
	add("OM", "oman", "عمان", "سلطنة عمان")
	add("BH", "bahrain", "بحرین", "البحرين")
	add("EG", "egypt", "مصر")
	add("JO", "jordan", "اردن", "الأردن")
	add("LB", "lebanon", "لبنان")
	add("SY", "syria", "سوریه", "سوريا")
	add("AZ", "azerbaijan", "آذربایجان", "جمهوری آذربایجان", "أذربيجان")
	add("AM", "armenia", "ارمنستان", "أرمينيا")
	add("PK", "pakistan", "پاکستان", "باكستان")
	add("IN", "india", "هند", "الهند")
	add("US", "united states", "united states of america", "usa", "u.s.a.", "us", "آمریکا", "امریکا", "ایالات متحده", "الولايات المتحدة")
	add("GB", "united kingdom", "uk", "great britain", "england", "انگلستان", "انگلیس", "بریتانیا", "المملكة المتحدة")
	add("DE", "germany", "deutschland", "آلمان", "ألمانيا")
	add("FR", "france", "فرانسه", "فرنسا")
	add("CA", "canada", "کانادا", "كندا")
	add("NL", "netherlands", "the netherlands", "هلند", "هولندا")
	add("SE", "sweden", "سوئد", "السويد")
	add("AU", "australia", "استرالیا", "أستراليا")
	add("CN", "china", "چین", "الصين")
	add("RU", "russia", "russian federation", "روسیه", "روسيا")
	return m
}()

// parseOwner reads an owner cell: an email (also inside "Name <email>" or
// "Name (email)") gives the email; anything else is a user's name.
func parseOwner(s string) (email, name string) {
	if a, err := mail.ParseAddress(s); err == nil {
		if e, ok := normEmail(a.Address); ok {
			return e, ""
		}
	}
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune("()<>[],;", r)
	}) {
		if e, ok := normEmail(tok); ok {
			return e, ""
		}
	}
	return "", s
}

func checkCalendar(cal string) error {
	switch strings.ToLower(strings.TrimSpace(cal)) {
	case "", text.CalendarGregorian, text.CalendarJalali:
		return nil
	}
	return fmt.Errorf("contactfile: unknown calendar %q (want %q or %q)", cal, text.CalendarGregorian, text.CalendarJalali)
}
