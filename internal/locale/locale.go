// Package locale holds Pivand's user-interface text in English, Persian
// and Arabic, and formats dates and numbers the way each user asked for:
// language, calendar (Gregorian or Jalali), digits (Latin, Persian or
// Arabic-Indic) and time zone.
//
// # Catalogs
//
// The message catalogs are flat JSON objects embedded in the binary,
// catalogs/en.json, fa.json and ar.json, mapping a key to a text, plus one
// file per language for a module that keeps its text apart
// (catalogs/orders.en.json, orders.fa.json, orders.ar.json); a key may be
// in only one file per language:
//
//	"dashboard.greeting": "Hello, {name}."
//
// Keys are lower-case dotted names grouped by a prefix that says where the
// text is used: app.*, nav.*, signin.*, setup.*, dashboard.*, settings.*,
// users.*, teams.*, tokens.*, audit.*, error.*, field.*, role.*, month.*,
// weekday.* and so on. A module adds its own prefix (contacts.*, deals.*)
// to all three files. Every key must exist in all three catalogs with the
// same placeholders; TestCatalogsComplete enforces it.
//
// Placeholders are named, in braces: {name}, {count}. Names are lower-case
// letters, digits and underscores. Translations may reorder or repeat them
// freely. Callers pass values as name/value pairs:
//
//	p.T("dashboard.greeting", "name", user.Name)
//
// Integer values are formatted with Number (user's digits and grouping),
// time.Time values with Date; everything else with fmt.Sprint. There is no
// escape syntax: a brace not followed by a valid name and "}" is literal.
//
// A key missing from the user's language falls back to English and is
// logged once; a key missing from English too renders as ⟦key⟧ so that it
// is visible on the page and in tests (see MissingMark).
package locale

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
)

//go:embed catalogs/*.json
var catalogFS embed.FS

// MissingMark starts (and ⟧ ends) the text shown for a key that no catalog
// holds.
const MissingMark = "⟦"

// Language is one supported user-interface language.
type Language struct {
	Code string // "en", "fa", "ar"
	Name string // the language's own name for itself: English, فارسی, العربية
	Dir  string // "ltr" or "rtl"
}

// Languages lists the supported languages in the order a language switcher
// shows them.
var Languages = []Language{
	{Code: "en", Name: "English", Dir: "ltr"},
	{Code: "fa", Name: "فارسی", Dir: "rtl"},
	{Code: "ar", Name: "العربية", Dir: "rtl"},
}

// DefaultLanguage is used when nothing else is known.
const DefaultLanguage = "en"

var catalogs = mustLoadCatalogs()

func mustLoadCatalogs() map[string]map[string]string {
	cats, err := loadCatalogs()
	if err != nil {
		// The catalogs are embedded at build time; a broken file is a
		// programming error that TestCatalogsComplete reports first.
		panic(err)
	}
	return cats
}

func loadCatalogs() (map[string]map[string]string, error) {
	cats := map[string]map[string]string{}
	files, err := fs.Glob(catalogFS, "catalogs/*.json")
	if err != nil {
		return nil, fmt.Errorf("locale: %w", err)
	}
	for _, l := range Languages {
		cats[l.Code] = map[string]string{}
	}
	seen := map[string]string{} // lang + key -> the file that set it
	for _, name := range files {
		// catalogs/en.json, or catalogs/<module>.en.json for a module's own keys.
		base := strings.TrimSuffix(path.Base(name), ".json")
		lang := base[strings.LastIndex(base, ".")+1:]
		cat, ok := cats[lang]
		if !ok {
			return nil, fmt.Errorf("locale: %s: %q is not a supported language", name, lang)
		}
		b, err := catalogFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("locale: %w", err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("locale: %s: %w", name, err)
		}
		for k, v := range m {
			if prev, dup := seen[lang+" "+k]; dup {
				return nil, fmt.Errorf("locale: key %q is in both %s and %s", k, prev, name)
			}
			seen[lang+" "+k] = name
			cat[k] = v
		}
	}
	for _, l := range Languages {
		if len(cats[l.Code]) == 0 {
			return nil, fmt.Errorf("locale: no catalog for %s", l.Code)
		}
	}
	return cats, nil
}

// Supported reports whether code is a supported language code.
func Supported(code string) bool {
	return slices.ContainsFunc(Languages, func(l Language) bool { return l.Code == code })
}

// Keys returns the sorted keys of a language's catalog.
func Keys(lang string) []string {
	keys := make([]string, 0, len(catalogs[lang]))
	for k := range catalogs[lang] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// HasKey reports whether the English catalog holds key. English is the
// reference catalog; the other two are kept complete by a test.
func HasKey(key string) bool {
	_, ok := catalogs[DefaultLanguage][key]
	return ok
}

// Message returns the raw catalog text for key in lang, without
// substituting placeholders.
func Message(lang, key string) (string, bool) {
	s, ok := catalogs[lang][key]
	return s, ok
}

var placeholderRE = regexp.MustCompile(`\{([a-z][a-z0-9_]*)\}`)

// Placeholders returns the sorted, de-duplicated placeholder names in msg.
func Placeholders(msg string) []string {
	var names []string
	for _, m := range placeholderRE.FindAllStringSubmatch(msg, -1) {
		if !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	sort.Strings(names)
	return names
}

var reported sync.Map // lang + "\x00" + key → struct{}

func reportMissing(lang, key string, fallback bool) {
	if _, dup := reported.LoadOrStore(lang+"\x00"+key, struct{}{}); dup {
		return
	}
	if fallback {
		slog.Warn("locale: missing translation, using English", "lang", lang, "key", key)
	} else {
		slog.Error("locale: unknown message key", "key", key)
	}
}
