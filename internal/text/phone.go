package text

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// NormalizePhone parses a phone number as typed by a user and returns it in
// E.164 form ("+989123456789").
//
// Persian and Arabic-Indic digits are converted to ASCII first, and
// invisible bidi/zero-width marks are removed. Numbers without a country
// code are read in defaultRegion (an ISO 3166 code such as "IR",
// case-insensitive), so ("0912 345 6789", "IR") gives "+989123456789", and
// the region's international prefix works too: ("00971501234567", "IR")
// gives "+971501234567". With an empty defaultRegion the number must carry
// its country code, as "+..." or, as a convenience, "00...".
//
// The number must be valid for its country according to libphonenumber's
// metadata (github.com/nyaruka/phonenumbers), not merely of a plausible
// length. Extensions ("... ext. 12") are accepted and dropped, since E.164
// cannot express them. Errors start with "phone:" and say why: unknown
// region, not a number, missing or invalid country code, too short, too
// long, or not a valid number.
func NormalizePhone(raw, defaultRegion string) (string, error) {
	region := strings.ToUpper(strings.TrimSpace(defaultRegion))
	if region != "" && !phonenumbers.GetSupportedRegions()[region] {
		return "", fmt.Errorf("phone: unknown region %q", defaultRegion)
	}

	s := strings.TrimSpace(strings.Map(func(r rune) rune {
		if isFormatControl(r) {
			return -1
		}
		return r
	}, ToASCIIDigits(raw)))
	if s == "" {
		return "", errors.New("phone: empty number")
	}
	if !strings.ContainsAny(s, "0123456789") {
		return "", fmt.Errorf("phone: %q is not a number", raw)
	}
	if region == "" && strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	if e164, ok := fastPhone(s, region); ok {
		return e164, nil
	}
	return slowPhone(raw, s, region)
}

// slowPhone is the general parse through libphonenumber: extensions,
// letters, international prefixes, national prefix rules.
func slowPhone(raw, s, region string) (string, error) {
	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		switch {
		case errors.Is(err, phonenumbers.ErrNotANumber):
			return "", fmt.Errorf("phone: %q is not a number", raw)
		case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
			if region == "" && !strings.HasPrefix(s, "+") && !strings.HasPrefix(s, "＋") {
				return "", fmt.Errorf("phone: %q has no country code (write it as +<country code>... or give a default region)", raw)
			}
			return "", fmt.Errorf("phone: %q has an invalid country code", raw)
		case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
			return "", fmt.Errorf("phone: %q is too short", raw)
		case errors.Is(err, phonenumbers.ErrNumTooLong):
			return "", fmt.Errorf("phone: %q is too long", raw)
		default:
			return "", fmt.Errorf("phone: %q: %w", raw, err)
		}
	}

	switch phonenumbers.IsPossibleNumberWithReason(num) {
	case phonenumbers.IS_POSSIBLE:
	case phonenumbers.INVALID_COUNTRY_CODE:
		return "", fmt.Errorf("phone: %q has an invalid country code +%d", raw, num.GetCountryCode())
	case phonenumbers.TOO_SHORT, phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return "", fmt.Errorf("phone: %q is too short", raw)
	case phonenumbers.TOO_LONG:
		return "", fmt.Errorf("phone: %q is too long", raw)
	default: // INVALID_LENGTH
		return "", fmt.Errorf("phone: %q has an invalid length for country code +%d", raw, num.GetCountryCode())
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", fmt.Errorf("phone: %q is not a valid number for country code +%d", raw, num.GetCountryCode())
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// IsPhoneLike reports whether a search query looks like (part of) a phone
// number rather than a name: it contains at least three digits (any digit
// set) and nothing but digits, white space, invisible bidi marks and the
// punctuation people type in phone numbers: + - ( ) . /
// Search code can then match it against normalised phone numbers.
func IsPhoneLike(s string) bool {
	digits := 0
	for _, r := range s {
		if _, ok := asciiDigit(r); ok {
			digits++
			continue
		}
		switch {
		case unicode.IsSpace(r), isFormatControl(r):
		case strings.ContainsRune("+-()./", r):
		default:
			return false
		}
	}
	return digits >= 3
}

// PhoneSearchForms returns the digit strings a person may type to find an
// E.164 number: +989123456789 → 989123456789, 9123456789 and 09123456789
// (country code with the national number, the national significant number,
// and the usual trunk-prefixed national form). Invalid input gives the
// digits alone.
func PhoneSearchForms(e164 string) []string {
	if forms, ok := fastSearchForms(e164); ok {
		return forms
	}
	return slowSearchForms(e164)
}

func slowSearchForms(e164 string) []string {
	digits := strings.TrimPrefix(ToASCIIDigits(e164), "+")
	num, err := phonenumbers.Parse("+"+digits, "")
	if err != nil {
		return []string{digits}
	}
	nsn := phonenumbers.GetNationalSignificantNumber(num)
	if nsn == "" || nsn == digits {
		return []string{digits}
	}
	return []string{digits, nsn, "0" + nsn}
}

// fastSearchForms serves PhoneSearchForms for a number in the form
// NormalizePhone returns ("+" and ASCII digits) without parsing it again:
// the country code is the one prefix of one to three digits that the
// metadata knows (as libphonenumber finds it), and the national
// significant number is the rest. A test checks it against the parse.
func fastSearchForms(s string) ([]string, bool) {
	if len(s) < 4 || s[0] != '+' || s[1] == '0' {
		return nil, false
	}
	d := s[1:]
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return nil, false
		}
	}
	for i := 1; i <= 3 && i < len(d); i++ {
		cc, _ := strconv.Atoi(d[:i])
		if phonenumbers.GetRegionCodeForCountryCode(cc) == phonenumbers.UNKNOWN_REGION {
			continue
		}
		nsn := d[i:]
		if len(nsn) < 2 || len(nsn) > 17 {
			return nil, false
		}
		return []string{d, nsn, "0" + nsn}, true
	}
	return nil, false
}

// fastPhone handles the common shapes, "+<digits>" and a national number
// with at most a plain trunk prefix, without libphonenumber's parsing
// regular expressions (most of an import's time otherwise). It answers
// ok=false whenever the input needs the general rules, and where it answers
// it agrees with them: the final checks are libphonenumber's own. A test
// compares both paths.
func fastPhone(s, region string) (string, bool) {
	var b [24]byte
	n, plus := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n == len(b) {
				return "", false
			}
			b[n] = c
			n++
		case c == '+' && i == 0:
			plus = true
		case c == ' ' || c == '-' || c == '(' || c == ')' || c == '.':
		default:
			return "", false
		}
	}
	digits := string(b[:n])
	var cc int
	var nsn string
	if plus {
		if n == 0 || digits[0] == '0' {
			return "", false
		}
		for l := 1; l <= 3 && l < len(digits); l++ {
			c := 0
			for _, d := range digits[:l] {
				c = c*10 + int(d-'0')
			}
			if phonenumbers.GetRegionCodeForCountryCode(c) != "ZZ" {
				cc, nsn = c, digits[l:]
				break
			}
		}
		if cc == 0 {
			return "", false
		}
		if !fastRegions[phonenumbers.GetRegionCodeForCountryCode(cc)] {
			return "", false
		}
	} else {
		if region == "" {
			return "", false
		}
		if !fastRegions[region] || strings.HasPrefix(digits, "00") {
			return "", false
		}
		cc = phonenumbers.GetCountryCodeForRegion(region)
		nsn = digits
		if p := phonenumbers.GetNddPrefixForRegion(region, true); p != "" && strings.HasPrefix(nsn, p) {
			nsn = nsn[len(p):]
		}
	}
	if len(nsn) < 2 || len(nsn) > 17 || nsn[0] == '0' {
		return "", false
	}
	var nn uint64
	for _, d := range nsn {
		nn = nn*10 + uint64(d-'0')
	}
	num := &phonenumbers.PhoneNumber{}
	num.CountryCode = proto32(int32(cc))
	num.NationalNumber = &nn
	if phonenumbers.IsPossibleNumberWithReason(num) != phonenumbers.IS_POSSIBLE || !validNumber(cc, nsn) {
		return "", false // let the general path give the precise error
	}
	return "+" + strconv.Itoa(cc) + nsn, true
}

// validNumber is phonenumbers.IsValidNumber for the number fastPhone
// builds, country code cc and national significant number nsn (no
// leading zero): the same rules on the same metadata, read from the
// library's collection. The library builds each number type's pattern
// text twice and looks it up in a locked cache, for ten types, on every
// call, which was most of an import's phone parsing; here each pattern is
// compiled once, lengths are checked first, and the common types (fixed
// line, mobile) come first. A test compares the two on numbers of every
// length in every country.
func validNumber(cc int, nsn string) bool {
	regions := phonenumbers.GetRegionCodesForCountryCode(cc)
	meta := phoneMetadata()
	var md *phonenumbers.PhoneMetadata
	switch len(regions) {
	case 0:
		return false
	case 1:
		md = meta[regions[0]]
		if regions[0] == "001" { // non-geographical: by country code
			md = meta["+"+strconv.Itoa(cc)]
		}
	default:
		// The region is the first whose leading digits match or, for a
		// region without them, whose number types do.
		for _, r := range regions {
			m := meta[r]
			if m == nil {
				continue
			}
			if ld := m.GetLeadingDigits(); ld != "" {
				if phonePattern(m, func() string { return "^(?:" + ld + ")" }).MatchString(nsn) {
					md = m
					break
				}
			} else if hasNumberType(nsn, m) {
				md = m
				break
			}
		}
	}
	if md == nil || int(md.GetCountryCode()) != cc {
		return false
	}
	return hasNumberType(nsn, md)
}

// hasNumberType reports whether the library would give nsn a number type
// in md (getNumberTypeHelper's answer is not UNKNOWN): it matches the
// general description and one of the types, where mobile counts only
// when its pattern differs from fixed line's.
func hasNumberType(nsn string, md *phonenumbers.PhoneMetadata) bool {
	if !matchesDesc(nsn, md.GetGeneralDesc()) {
		return false
	}
	if matchesDesc(nsn, md.GetFixedLine()) {
		return true
	}
	if !md.GetSameMobileAndFixedLinePattern() && matchesDesc(nsn, md.GetMobile()) {
		return true
	}
	for _, d := range []*phonenumbers.PhoneNumberDesc{md.GetPremiumRate(), md.GetTollFree(), md.GetSharedCost(),
		md.GetVoip(), md.GetPersonalNumber(), md.GetPager(), md.GetUan(), md.GetVoicemail()} {
		if matchesDesc(nsn, d) {
			return true
		}
	}
	return false
}

// matchesDesc is the library's isNumberMatchingDesc: a possible length
// (when the description lists any) and the whole number matching its
// pattern.
func matchesDesc(nsn string, d *phonenumbers.PhoneNumberDesc) bool {
	if d == nil {
		return false
	}
	if len(d.PossibleLength) > 0 && !slices.Contains(d.PossibleLength, int32(len(nsn))) {
		return false
	}
	return phonePattern(d, func() string { return "^(?:" + d.GetNationalNumberPattern() + ")$" }).MatchString(nsn)
}

// phoneMetadata maps region codes, and "+" and the country code for
// non-geographical numbers (region 001), to the library's metadata.
var phoneMetadata = sync.OnceValue(func() map[string]*phonenumbers.PhoneMetadata {
	out := map[string]*phonenumbers.PhoneMetadata{}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return out
	}
	for _, m := range coll.GetMetadata() {
		switch id := m.GetId(); id {
		case "":
		case "001":
			out["+"+strconv.Itoa(int(m.GetCountryCode()))] = m
		default:
			out[id] = m
		}
	}
	return out
})

// phonePatterns holds compiled metadata patterns by what they belong to:
// a *PhoneNumberDesc (its national number pattern, whole) or a
// *PhoneMetadata (its leading digits, as a prefix).
var phonePatterns sync.Map

// phonePattern returns the pattern of owner, compiling src() the first
// time.
func phonePattern(owner any, src func() string) *regexp.Regexp {
	if re, ok := phonePatterns.Load(owner); ok {
		return re.(*regexp.Regexp)
	}
	re := regexp.MustCompile(src())
	phonePatterns.Store(owner, re)
	return re
}

func proto32(v int32) *int32 { return &v }

// fastRegions are the regions whose national numbers need no rule beyond
// dropping a plain trunk prefix (no carrier codes, no mobile tokens, no
// leading-zero numbers), so fastPhone may handle them. Others always take
// the general path.
var fastRegions = map[string]bool{
	"IR": true, "AE": true, "SA": true, "IQ": true, "AF": true, "KW": true, "QA": true, "BH": true, "OM": true,
	"JO": true, "TR": true, "EG": true, "GB": true, "US": true, "CA": true, "DE": true, "FR": true, "NL": true, "SE": true,
}
