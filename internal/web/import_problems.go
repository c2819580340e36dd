package web

import (
	"regexp"
	"strconv"

	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/locale"
)

// An import keeps each problem as the importer's English sentence (the
// command line, the API and the report all show it). The import page
// shows Persian and Arabic readers the same problem in their language:
// problemText recognises the sentences the importer writes and says them
// with the catalog. A sentence it does not recognise stays in English,
// marked as such, rather than being half translated.

// problemView is one row of the problems table.
type problemView struct {
	contact.ImportProblem
	Text    string
	English bool // Text is the importer's sentence, not a translation
}

// problemSentences are the importer's sentences (internal/contactfile and
// internal/contact), each with its catalog key and the names its
// submatches take in the translation. Values from the file are isolated
// so that an email or phone keeps its direction in a right-to-left
// sentence.
var problemSentences = []struct {
	re    *regexp.Regexp
	key   string
	names []string
}{
	{regexp.MustCompile(`^"(.*)" is not a valid email address\.$`), "contacts_import.problem.email", []string{"value"}},
	{regexp.MustCompile(`^Phone "(.*)" is not a number\.$`), "contacts_import.problem.phone_nan", []string{"value"}},
	{regexp.MustCompile(`^Phone "(.*)" has no country code \(.*\)\.$`), "contacts_import.problem.phone_no_code", []string{"value"}},
	{regexp.MustCompile(`^Phone "(.*)" has an invalid country code(?: \+\d+)?\.$`), "contacts_import.problem.phone_bad_code", []string{"value"}},
	{regexp.MustCompile(`^Phone "(.*)" is too short\.$`), "contacts_import.problem.phone_short", []string{"value"}},
	{regexp.MustCompile(`^Phone "(.*)" is too long\.$`), "contacts_import.problem.phone_long", []string{"value"}},
	{regexp.MustCompile(`^Phone "(.*)" (?:has an invalid length|is not a valid number) for country code \+(\d+)\.$`), "contacts_import.problem.phone_invalid", []string{"value", "code"}},
	{regexp.MustCompile(`^Phone "(.*)" was turned into a number by a spreadsheet`), "contacts_import.problem.phone_scientific", []string{"value"}},
	{regexp.MustCompile(`^The row has no name, email or phone\.$`), "contacts_import.problem.empty_row", nil},
	{regexp.MustCompile(`^The row has (\d+) values but the header has (\d+) columns`), "contacts_import.problem.columns", []string{"values", "columns"}},
	{regexp.MustCompile(`^"(.*)" is not a contact ID\.$`), "contacts_import.problem.id", []string{"value"}},
	{regexp.MustCompile(`^"(.*)" is not a language;`), "contacts_import.problem.language", []string{"value"}},
	{regexp.MustCompile(`^"(.*)" is not a Jalali date: year \d+ is Gregorian\.`), "contacts_import.problem.date_gregorian", []string{"value"}},
	{regexp.MustCompile(`^"(.*)" is not a Gregorian date: year \d+ looks Jalali\.`), "contacts_import.problem.date_jalali", []string{"value"}},
	{regexp.MustCompile(`^"(.*)" has no year: a Jalali birthday needs one`), "contacts_import.problem.date_no_year", []string{"value"}},
	{regexp.MustCompile(`^"(.*)" is not a date: day and month are ambiguous`), "contacts_import.problem.date_ambiguous", []string{"value"}},
	{regexp.MustCompile(`^"(.*)" is not a (?:plausible birthday|date|Jalali date)\b`), "contacts_import.problem.date", []string{"value"}},
}

// The duplicates' sentences: "Same <why> as line N (person P); <outcome>."
// or "Same <why> as person P; <outcome>."
var (
	sameAsLineRE   = regexp.MustCompile(`^Same (.+?) as line (\d+)(?: \(person \d+\))?; (.+)\.$`)
	sameAsPersonRE = regexp.MustCompile(`^Same (.+?) as person (\d+); (.+)\.$`)
	duplicateWhy   = map[string]string{
		"email": "email", "phone": "phone", "id": "id", "name (and no email or phone)": "name",
	}
	duplicateOutcome = map[string]string{
		"would be skipped": "would_skip", "skipped": "skipped", "would update that person": "would_update",
		"merged into that person": "merged", "updated that person": "updated",
	}
)

// problemText returns the problem in the reader's language, and whether
// it is the English sentence as the importer wrote it.
func problemText(p *locale.Printer, pr contact.ImportProblem) (string, bool) {
	if p.Lang() == locale.DefaultLanguage {
		return pr.Message, true
	}
	for _, s := range problemSentences {
		m := s.re.FindStringSubmatch(pr.Message)
		if m == nil {
			continue
		}
		args := make([]any, 0, 2*len(s.names))
		for i, name := range s.names {
			var v any = isolate(m[i+1])
			if n, err := strconv.Atoi(m[i+1]); err == nil && name != "value" {
				v = n
				if name == "code" { // a country calling code: "+98", left to right
					v = isolate("+" + p.Int(n))
				}
			}
			args = append(args, name, v)
		}
		return p.T(s.key, args...), false
	}
	for _, re := range []*regexp.Regexp{sameAsLineRE, sameAsPersonRE} {
		m := re.FindStringSubmatch(pr.Message)
		if m == nil {
			continue
		}
		why, ok1 := duplicateWhy[m[1]]
		outcome, ok2 := duplicateOutcome[m[3]]
		n, err := strconv.Atoi(m[2])
		if !ok1 || !ok2 || err != nil {
			break
		}
		key := "contacts_import.problem.same_line"
		if re == sameAsPersonRE {
			key = "contacts_import.problem.same_person"
		}
		return p.T(key, "why", p.T("contacts_import.why."+why), "n", n, "outcome", p.T("contacts_import.outcome."+outcome)), false
	}
	return pr.Message, true
}

// problemViews translates a page of problems.
func problemViews(p *locale.Printer, ps []contact.ImportProblem) []problemView {
	out := make([]problemView, len(ps))
	for i, pr := range ps {
		text, english := problemText(p, pr)
		out[i] = problemView{ImportProblem: pr, Text: text, English: english}
	}
	return out
}
