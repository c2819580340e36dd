// Package demo makes realistic synthetic data: people and companies in
// Persian, Arabic and English, with phone numbers written the way each
// country writes them (Iran, the UAE, Saudi Arabia, the US and the UK),
// emails, addresses, tags, birthdays, custom field values, and
// interactions and notes on some of them. It fills a database for
// `pivand demo` and writes CSV files for the import benchmarks.
//
// Everything is deterministic for a seed: person i of seed s is always the
// same, so a benchmark can regenerate its input and a test can predict it.
// Emails and phone numbers are unique across people of one seed (up to
// ten million people).
package demo

import (
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/text"
)

// Person is one synthetic person as a data-entry clerk would type it:
// phones in local notation (Persian digits for some Iranian numbers), not
// yet normalised.
type Person struct {
	Contact crm.Contact // without ID; Custom holds values for the demo custom fields
	Company int         // index of the person's company (Generator.Company), or -1
	Role    string      // job title at the company
	Locale  string      // fa, ar or en
}

// Company is one synthetic company.
type Company struct {
	Name     string
	Domain   string
	Industry string
	Size     string
	Locale   string
}

// Generator makes people and companies for one seed.
type Generator struct {
	seed      uint64
	companies int
}

// New returns a generator of people for seed, working at companies
// companies (0: people work nowhere).
func New(seed int64, companies int) *Generator {
	return &Generator{seed: uint64(seed), companies: companies}
}

// Companies is the number of companies people work at.
func (g *Generator) Companies() int { return g.companies }

func (g *Generator) rng(kind, i uint64) *rand.Rand {
	return rand.New(rand.NewPCG(g.seed^(kind<<56), i))
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// locale of company or person i: 45% Persian, 25% Arabic, 30% English.
func locale(r *rand.Rand) string {
	switch n := r.IntN(100); {
	case n < 45:
		return "fa"
	case n < 70:
		return "ar"
	}
	return "en"
}

var industries = []string{"Retail", "Wholesale", "Software", "Construction", "Food", "Health", "Logistics", "Tourism", "Real estate"}

// Company returns company j.
func (g *Generator) Company(j int) Company {
	r := g.rng(2, uint64(j))
	c := Company{Locale: locale(r), Industry: pick(r, industries), Size: pick(r, []string{"1-10", "11-50", "51-200", "201-1000", "1000+"})}
	stem, kind := "", ""
	switch c.Locale {
	case "fa":
		stem, kind = pick(r, persianCompanyStems), pick(r, persianCompanyKinds)
		c.Name = stem + " " + kind
	case "ar":
		stem, kind = pick(r, arabicCompanyStems), pick(r, arabicCompanyKinds)
		c.Name = stem + " " + kind
	default:
		stem, kind = pick(r, englishCompanyStems), pick(r, englishCompanyKinds)
		c.Name = stem + " " + kind
	}
	// Names repeat across thousands of companies; a branch number keeps
	// them apart the way real registries do.
	c.Name += " " + strconv.Itoa(j+1)
	c.Domain = fmt.Sprintf("company%d.example", j+1)
	return c
}

// Person returns person i.
func (g *Generator) Person(i int) Person {
	r := g.rng(1, uint64(i))
	loc := locale(r)
	p := Person{Locale: loc, Company: -1}
	c := &p.Contact
	female := r.IntN(2) == 0
	var first, last name
	var cities []city
	switch loc {
	case "fa":
		first, last, cities = pick(r, persianMale), pick(r, persianLast), iranCities
		if female {
			first = pick(r, persianFemale)
		}
	case "ar":
		first, last, cities = pick(r, arabicMale), pick(r, arabicLast), arabCities
		if female {
			first = pick(r, arabicFemale)
		}
	default:
		first, last, cities = pick(r, englishMale), pick(r, englishLast), englishCities
		if female {
			first = pick(r, englishFemale)
		}
	}
	c.FirstName, c.LastName, c.Language = first.native, last.native, loc
	if loc == "en" && r.IntN(10) == 0 {
		c.Prefix = pick(r, []string{"Dr", "Mr", "Ms", "Mrs"})
	}
	ct := pick(r, cities)

	// Email: unique by i, in one of a few common shapes.
	local := ""
	switch r.IntN(3) {
	case 0:
		local = first.latin + "." + last.latin
	case 1:
		local = first.latin[:1] + last.latin
	default:
		local = first.latin + "_" + last.latin
	}
	local += strconv.Itoa(i + 1)
	if r.IntN(10) < 9 {
		c.Emails = []crm.Labeled{{Value: local + "@" + pick(r, emailDomains[loc]), Label: pick(r, []string{"home", "work", ""})}}
	}
	c.Phones = []crm.Labeled{{Value: g.phone(i, ct.country, r), Label: "mobile"}}

	if r.IntN(10) < 7 {
		y := 1950 + r.IntN(56)
		d := time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(365))
		c.Birthday = d.Format("2006-01-02")
	}
	if r.IntN(10) < 6 {
		c.Addresses = []crm.Address{{Label: "work", Street: pick(r, ct.street) + " " + localDigits(loc, strconv.Itoa(1+r.IntN(200))),
			City: ct.name, Region: ct.region, Country: ct.country}}
	}
	var tags []string
	for range r.IntN(3) {
		t := ""
		switch loc {
		case "fa":
			t = pick(r, persianTags)
		case "ar":
			t = pick(r, arabicTags)
		default:
			t = pick(r, englishTags)
		}
		if !contains(tags, t) {
			tags = append(tags, t)
		}
	}
	c.Tags = tags
	if r.IntN(10) == 0 {
		c.Notes = pick(r, notesByLang[loc])
	}
	if g.companies > 0 && r.IntN(10) < 6 {
		p.Company = r.IntN(g.companies)
		switch g.Company(p.Company).Locale {
		case "fa":
			p.Role = pick(r, persianRoles)
		case "ar":
			p.Role = pick(r, arabicRoles)
		default:
			p.Role = pick(r, englishRoles)
		}
	}
	c.Custom = map[string]any{}
	if r.IntN(10) < 3 {
		c.Custom["vip_level"] = pick(r, vipLevels)
	}
	if r.IntN(2) == 0 {
		c.Custom["customer_since"] = time.Date(2015+r.IntN(10), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC).Format("2006-01-02")
	}
	if r.IntN(2) == 0 {
		c.Custom["newsletter"] = r.IntN(3) > 0
	}
	if r.IntN(10) < 4 {
		c.Custom["lifetime_value"] = float64(r.IntN(500)+1) * 100_000 // rials, as a JSON number
	}
	c.Source = pick(r, []string{"", "web form", "in store", "referral", "trade show"})
	return p
}

var vipLevels = []string{"bronze", "silver", "gold", "platinum"}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// localDigits writes ASCII digits in Persian or Arabic-Indic digits for
// those locales.
func localDigits(loc, s string) string {
	switch loc {
	case "fa":
		return text.ToPersianDigits(s)
	case "ar":
		return text.ToArabicDigits(s)
	}
	return s
}

// subscriber maps i one-to-one onto 0..10^7-1 (an affine permutation), so
// numbers look random yet never repeat for i < 10^7.
func (g *Generator) subscriber(i int) int {
	const m = 10_000_000
	a := 7_654_321 // coprime with 10^7
	b := int(g.seed % m)
	return (a*(i%m) + b) % m
}

// phone returns person i's mobile number, as people in country write it.
func (g *Generator) phone(i int, country string, r *rand.Rand) string {
	n := g.subscriber(i)
	d7 := fmt.Sprintf("%07d", n)
	switch country {
	case "IR":
		p := iranMobile[i%len(iranMobile)]
		switch r.IntN(4) {
		case 0:
			return text.ToPersianDigits("0" + p + d7)
		case 1:
			return "+98 " + p + " " + d7[:3] + " " + d7[3:]
		default:
			return "0" + p + " " + d7[:3] + " " + d7[3:]
		}
	case "AE":
		p := uaeMobile[i%len(uaeMobile)]
		return "+971 " + p + " " + d7[:3] + " " + d7[3:]
	case "SA":
		p := saudiMobile[i%len(saudiMobile)]
		if r.IntN(3) == 0 {
			return text.ToArabicDigits("+966" + p + d7)
		}
		return "+966 " + p + " " + d7[:3] + " " + d7[3:]
	case "US":
		ac := usAreaCodes[i%len(usAreaCodes)]
		// The exchange must not start with 0 or 1 (NANP); 200–999.
		ex := 200 + n%800
		return fmt.Sprintf("+1 (%s) %03d-%04d", ac, ex, (n/800)%10000)
	default: // GB mobile: 07xxx xxxxxx
		p := ukMobilePref[i%len(ukMobilePref)]
		d8 := fmt.Sprintf("%08d", n)
		return "+44 7" + p[1:] + d8[:2] + " " + d8[2:]
	}
}

// CSVHeader is the header WriteCSV writes: plain English names that the
// importer recognises without a mapping.
var CSVHeader = []string{"First Name", "Last Name", "Email", "Phone", "Company", "Job Title", "Tags",
	"Street", "City", "State", "Country", "Birthday", "Language", "Source", "Notes"}

// WriteCSV writes people 0..n-1 of g as CSV, one row each, with the
// companies by name. It streams: memory does not grow with n.
func (g *Generator) WriteCSV(w io.Writer, n int) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	rec := make([]string, len(CSVHeader))
	for i := range n {
		p := g.Person(i)
		c := &p.Contact
		for k := range rec {
			rec[k] = ""
		}
		rec[0], rec[1] = c.FirstName, c.LastName
		if len(c.Emails) > 0 {
			rec[2] = c.Emails[0].Value
		}
		if len(c.Phones) > 0 {
			rec[3] = c.Phones[0].Value
		}
		if p.Company >= 0 {
			rec[4], rec[5] = g.Company(p.Company).Name, p.Role
		}
		rec[6] = strings.Join(c.Tags, "; ")
		if len(c.Addresses) > 0 {
			a := c.Addresses[0]
			rec[7], rec[8], rec[9], rec[10] = a.Street, a.City, a.Region, a.Country
		}
		rec[11], rec[12], rec[13], rec[14] = c.Birthday, c.Language, c.Source, c.Notes
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
