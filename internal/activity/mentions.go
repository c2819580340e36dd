package activity

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/text"
)

// Mention is an @token found in a note. Exactly one of Email and Name is
// set.
type Mention struct {
	Start, End int    // byte offsets of the token in the text, "@" included
	Email      string // @sara@example.com: the address, lower-cased
	Name       string // @Sara or @"Sara Rezaei": the name as written
	Quoted     bool   // the name was in quotes ("…", “…” or «…»)
	// More holds, for an unquoted name, up to maxMoreWords words that
	// follow it on the same line: "@Sara Rezaei" may name the user
	// "Sara Rezaei", and only the user list can tell.
	More []string
}

const (
	maxMentions     = 50  // tokens read from one note
	maxQuotedRunes  = 100 // longest quoted name
	maxNameRunes    = 64  // longest unquoted word or address
	maxMoreWords    = 3
	zeroWidthJoiner = '\u200d'
	zeroWidthNon    = '\u200c'
)

var closingQuote = map[rune]rune{'"': '"', '“': '”', '«': '»'}

// handleRune reports whether r may appear in an unquoted @token: letters,
// digits and marks of any script, the half-space (ZWNJ) Persian names
// use, and the punctuation of addresses and handles.
func handleRune(r rune) bool {
	switch r {
	case '_', '-', '.', '@', '+', zeroWidthNon, zeroWidthJoiner:
		return true
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// ParseMentions finds the @mentions in s: @address (an email address),
// @"Full Name" (also “…” and «…»), and @Name (one word, with the words
// after it kept in More). An @ inside a word (an email address in running
// text) starts no mention. At most maxMentions tokens are returned, in
// order.
func ParseMentions(s string) []Mention {
	var out []Mention
	prev := rune(-1) // the rune before i; -1 at the start
	for i := 0; i < len(s) && len(out) < maxMentions; {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r != '@' || (prev != -1 && handleRune(prev)) {
			prev = r
			i += size
			continue
		}
		m, ok := parseMention(s, i)
		if !ok {
			prev = r
			i += size
			continue
		}
		out = append(out, m)
		prev, _ = utf8.DecodeLastRuneInString(s[:m.End])
		i = m.End
	}
	return out
}

// parseMention reads the token whose "@" is at s[at].
func parseMention(s string, at int) (Mention, bool) {
	start := at + 1
	if start >= len(s) {
		return Mention{}, false
	}
	r, size := utf8.DecodeRuneInString(s[start:])
	if closer, ok := closingQuote[r]; ok {
		body := start + size
		runes := 0
		for j := body; j < len(s); {
			c, n := utf8.DecodeRuneInString(s[j:])
			if c == '\n' || c == '\r' || runes > maxQuotedRunes {
				return Mention{}, false
			}
			if c == closer {
				name := strings.Join(strings.Fields(s[body:j]), " ")
				if name == "" || !utf8.ValidString(name) {
					return Mention{}, false
				}
				return Mention{Start: at, End: j + n, Name: name, Quoted: true}, true
			}
			runes++
			j += n
		}
		return Mention{}, false
	}
	end := wordEnd(s, start)
	// Trailing punctuation ends a sentence, not a name: "ask @sara."
	for end > start {
		c, n := utf8.DecodeLastRuneInString(s[start:end])
		if c != '.' && c != '-' && c != '@' && c != '+' && c != '_' {
			break
		}
		end -= n
	}
	word := s[start:end]
	if word == "" {
		return Mention{}, false
	}
	if strings.Contains(word, "@") {
		if strings.Count(word, "@") == 1 && crm.ValidEmail(word) {
			return Mention{Start: at, End: end, Email: crm.NormalizeEmail(word)}, true
		}
		// Not an address: the name before the second @.
		word, _, _ = strings.Cut(word, "@")
		word = strings.TrimRight(word, ".-+_")
		end = start + len(word)
		if word == "" {
			return Mention{}, false
		}
	}
	if utf8.RuneCountInString(word) > maxNameRunes || !utf8.ValidString(word) {
		return Mention{}, false
	}
	m := Mention{Start: at, End: end, Name: word}
	// The words after the name, for names with spaces written unquoted.
	j := end
	for len(m.More) < maxMoreWords && j < len(s) {
		c, n := utf8.DecodeRuneInString(s[j:])
		if c != ' ' && c != '\u00a0' {
			break
		}
		k := wordEnd(s, j+n)
		w := strings.TrimRight(s[j+n:k], ".-+_@")
		if w == "" || strings.Contains(w, "@") || !utf8.ValidString(w) {
			break
		}
		m.More = append(m.More, w)
		j = k
	}
	return m, true
}

// wordEnd returns the end of the run of handle runes starting at s[i],
// at most maxNameRunes+1 runes long.
func wordEnd(s string, i int) int {
	n := 0
	for i < len(s) && n <= maxNameRunes {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 || !handleRune(r) {
			break
		}
		i += size
		n++
	}
	return i
}

// nameKeys returns the forms a written name is matched in: normalised,
// with "_" and then also "." read as spaces (@sara_rezaei, @sara.rezaei).
func nameKeys(name string) []string {
	a := text.Normalize(strings.ReplaceAll(name, "_", " "))
	b := text.Normalize(strings.NewReplacer("_", " ", ".", " ").Replace(name))
	if a == b {
		return []string{a}
	}
	return []string{a, b}
}

// resolveMentions matches tokens against users (the active ones): an
// address by exact (normalised) email, a name by its normalised form
// against each user's normalised name. For an unquoted name the longest
// run of following words that names a user wins. A name two users share
// names no one. The result is in order of first mention, without repeats.
func resolveMentions(tokens []Mention, users []store.UserRef) []store.UserRef {
	if len(tokens) == 0 || len(users) == 0 {
		return nil
	}
	byEmail := make(map[string]store.UserRef, len(users))
	byName := make(map[string][]store.UserRef, len(users))
	for _, u := range users {
		byEmail[crm.NormalizeEmail(u.Email)] = u
		if k := text.Normalize(u.Name); k != "" {
			byName[k] = append(byName[k], u)
		}
	}
	findName := func(name string) (store.UserRef, bool) {
		for _, k := range nameKeys(name) {
			if us := byName[k]; len(us) == 1 {
				return us[0], true
			}
		}
		return store.UserRef{}, false
	}
	var out []store.UserRef
	seen := map[int64]bool{}
	add := func(u store.UserRef) {
		if !seen[u.ID] {
			seen[u.ID] = true
			out = append(out, u)
		}
	}
	for _, m := range tokens {
		if m.Email != "" {
			if u, ok := byEmail[m.Email]; ok {
				add(u)
			}
			continue
		}
		for n := len(m.More); n >= 0; n-- {
			name := m.Name
			if n > 0 {
				name += " " + strings.Join(m.More[:n], " ")
			}
			if u, ok := findName(name); ok {
				add(u)
				break
			}
		}
	}
	return out
}
