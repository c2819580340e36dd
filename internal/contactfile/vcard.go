package contactfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-vcard"
	"golang.org/x/text/encoding/charmap"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/text"
)

// VCardOptions control reading vCards.
type VCardOptions struct {
	// DefaultRegion reads phone numbers without a country code, as in
	// CSVOptions.
	DefaultRegion string `json:"default_region,omitempty"`
	// Calendar of birthdays, as in CSVOptions (vCards normally hold
	// Gregorian dates; a year before 1700 is read as Jalali).
	Calendar string `json:"calendar,omitempty"`
}

// Card is one vCard read as a contact.
type Card struct {
	Number       int    // 1-based position of the card in the file
	Line         int    // line of its BEGIN:VCARD
	Version      string // "2.1", "3.0", "4.0" as written in the card
	Contact      crm.Contact
	CompanyNames []string // from ORG
	CompanyRole  string   // from TITLE (or ROLE)
	// Errors lists the problems in this card, naming the property. A card
	// with errors carries every valid value but should not be imported as
	// is.
	Errors []FieldError
}

// Err returns the card's problems as one error, or nil.
func (c *Card) Err() error {
	if len(c.Errors) == 0 {
		return nil
	}
	return errors.New(errorList(fmt.Sprintf("card %d (line %d)", c.Number, c.Line), c.Errors))
}

// Limits that keep memory bounded whatever the input.
const (
	maxVCardLine  = 1 << 20 // one unfolded property
	maxVCardBytes = 1 << 20 // the properties kept from one card
)

// VCardReader reads vCards 2.1, 3.0 and 4.0 one card at a time.
//
// Lines are unfolded here (and vCard 2.1 quoted-printable soft line
// breaks joined, its values decoded from QUOTED-PRINTABLE and from
// CHARSET=windows-1256, iso-8859-6, windows-1252 or iso-8859-1, its bare
// "TEL;CELL:" types read as TYPE=CELL); github.com/emersion/go-vcard then
// parses the properties. PHOTO, LOGO, SOUND and KEY are skipped without
// being held in memory, and X- properties are ignored.
type VCardReader struct {
	br      *bufio.Reader
	opts    VCardOptions
	line    int
	peeked  *physLine
	cards   int
	content bool
	begin   int // line of a BEGIN:VCARD already read by the previous card
	err     error
}

type physLine struct {
	text    string
	no      int
	tooLong bool
	eof     bool
}

// NewVCardReader returns a reader of the vCards in r.
func NewVCardReader(r io.Reader, opts VCardOptions) *VCardReader {
	return &VCardReader{br: bufio.NewReaderSize(r, 64<<10), opts: opts}
}

// DecodeVCards iterates over the vCards in r. A non-nil error (reading r,
// or a file without any vCard) ends the sequence; problems in one card are
// in its Errors.
func DecodeVCards(r io.Reader, opts VCardOptions) iter.Seq2[Card, error] {
	return func(yield func(Card, error) bool) {
		vr := NewVCardReader(r, opts)
		for {
			c, err := vr.Next()
			if err == io.EOF {
				return
			}
			if !yield(c, err) || err != nil {
				return
			}
		}
	}
}

func (r *VCardReader) readPhysical() (physLine, error) {
	if r.peeked != nil {
		p := *r.peeked
		r.peeked = nil
		return p, nil
	}
	var buf []byte
	tooLong := false
	for {
		chunk, err := r.br.ReadSlice('\n')
		if len(buf)+len(chunk) <= maxVCardLine {
			buf = append(buf, chunk...)
		} else {
			tooLong = true
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			if len(buf) == 0 && !tooLong {
				return physLine{eof: true}, nil
			}
			break
		}
		if err != nil {
			return physLine{}, err
		}
		break
	}
	r.line++
	s := strings.TrimRight(string(buf), "\r\n")
	if r.line == 1 {
		s = strings.TrimPrefix(s, "\uFEFF")
	}
	return physLine{text: s, no: r.line, tooLong: tooLong}, nil
}

// skipProps are binary or irrelevant properties dropped while reading.
var skipProps = map[string]bool{"PHOTO": true, "LOGO": true, "SOUND": true, "KEY": true}

// keptX are the X- properties used; all others are ignored.
var keptX = map[string]bool{"X-ABLABEL": true, "X-ADDRESSBOOKSERVER-KIND": true, "X-ABSHOWAS": true}

// readLogical returns the next unfolded line.
func (r *VCardReader) readLogical() (physLine, error) {
	first, err := r.readPhysical()
	if err != nil || first.eof {
		return first, err
	}
	name := propName(first.text)
	skip := skipProps[name] || (strings.HasPrefix(name, "X-") && !keptX[name])
	qp := strings.Contains(strings.ToUpper(headOf(first.text)), "QUOTED-PRINTABLE")
	buf := []byte(first.text)
	tooLong := first.tooLong
	for {
		next, err := r.readPhysical()
		if err != nil {
			return physLine{}, err
		}
		if next.eof {
			r.peeked = &next
			break
		}
		folded := len(next.text) > 0 && (next.text[0] == ' ' || next.text[0] == '\t')
		soft := qp && len(buf) > 0 && buf[len(buf)-1] == '='
		if !folded && !soft {
			r.peeked = &next
			break
		}
		if skip {
			continue
		}
		if soft {
			buf = buf[:len(buf)-1] // a quoted-printable soft line break
		}
		more := next.text
		if folded && !soft { // after a soft line break the next line is data, spaces included
			more = more[1:]
		}
		if next.tooLong || len(buf)+len(more) > maxVCardLine {
			tooLong = true
			continue
		}
		buf = append(buf, more...)
	}
	if skip {
		buf, tooLong = nil, false
	}
	return physLine{text: string(buf), no: first.no, tooLong: tooLong}, nil
}

func isMarker(t, marker string) bool {
	t = strings.TrimSpace(t)
	return len(t) == len(marker) && strings.EqualFold(t, marker)
}

// Next returns the next card, or io.EOF after the last one. Reading
// errors, and a file with content but no BEGIN:VCARD line, end reading.
func (r *VCardReader) Next() (Card, error) {
	if r.err != nil {
		return Card{}, r.err
	}
	begin := r.begin
	r.begin = 0
	for begin == 0 {
		l, err := r.readLogical()
		if err != nil {
			r.err = err
			return Card{}, err
		}
		if l.eof {
			r.err = io.EOF
			if r.cards == 0 && r.content {
				r.err = &FormatError{Message: "The file has no vCard in it (no BEGIN:VCARD line)."}
			}
			return Card{}, r.err
		}
		if strings.TrimSpace(l.text) == "" {
			continue
		}
		r.content = true
		if isMarker(l.text, "BEGIN:VCARD") {
			begin = l.no
		}
	}
	r.cards++
	card := Card{Number: r.cards, Line: begin}
	addErr := func(field, format string, args ...any) {
		card.Errors = append(card.Errors, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}

	var body strings.Builder
	body.WriteString("BEGIN:VCARD\r\n")
	depth, last, tooBig := 0, "", false
	for {
		l, err := r.readLogical()
		if err != nil {
			r.err = err
			return Card{}, err
		}
		if l.eof {
			addErr("", "The card that starts on line %d has no END:VCARD line.", begin)
			break
		}
		t := l.text
		if strings.TrimSpace(t) == "" && !l.tooLong {
			continue
		}
		if isMarker(t, "BEGIN:VCARD") {
			if last == "AGENT" || depth > 0 { // a vCard 2.1 AGENT card inside this one
				depth++
				continue
			}
			r.begin = l.no
			addErr("", "The card that starts on line %d has no END:VCARD line before the next card on line %d.", begin, l.no)
			break
		}
		if isMarker(t, "END:VCARD") {
			if depth > 0 {
				depth--
				continue
			}
			break
		}
		if depth > 0 {
			continue
		}
		name := ""
		if indexUnquoted(t, ':') >= 0 {
			name = propName(t)
		}
		last = name
		if l.tooLong {
			addErr(name, "Line %d: the value is longer than %d bytes and was skipped.", l.no, maxVCardLine)
			continue
		}
		fixed, msg := fixLine(t)
		if msg != "" {
			addErr(name, "Line %d: %s", l.no, msg)
			continue
		}
		if body.Len()+len(fixed) > maxVCardBytes {
			if !tooBig {
				addErr("", "The card is larger than %d bytes; the rest of it was skipped.", maxVCardBytes)
				tooBig = true
			}
			continue
		}
		body.WriteString(fixed)
		body.WriteString("\r\n")
	}
	body.WriteString("END:VCARD\r\n")

	vc, err := vcard.NewDecoder(strings.NewReader(body.String())).Decode()
	if err != nil {
		addErr("", "The card cannot be read: %v.", err)
		return card, nil
	}
	r.convert(vc, &card)
	return card, nil
}

// propName returns a property line's name, upper-case, without its group.
func propName(t string) string {
	end := strings.IndexAny(t, ";:")
	if end < 0 {
		end = len(t)
	}
	name := t[:end]
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return strings.ToUpper(strings.TrimSpace(name))
}

// headOf returns the part of a property line before its value.
func headOf(t string) string {
	if i := indexUnquoted(t, ':'); i >= 0 {
		return t[:i]
	}
	return t
}

func indexUnquoted(s string, c byte) int {
	q := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			q = !q
		case c:
			if !q {
				return i
			}
		}
	}
	return -1
}

func splitUnquoted(s string, c byte) []string {
	var parts []string
	for {
		i := indexUnquoted(s, c)
		if i < 0 {
			return append(parts, s)
		}
		parts = append(parts, s[:i])
		s = s[i+1:]
	}
}

// fixLine turns one unfolded property line into the form the vcard
// package parses: vCard 2.1 bare parameters become TYPE=…, and
// QUOTED-PRINTABLE and legacy charsets are decoded. It returns a
// user-facing problem instead when the line cannot be used.
func fixLine(t string) (string, string) {
	colon := indexUnquoted(t, ':')
	if colon < 0 {
		return "", "not a vCard property (no ':')."
	}
	head, value := t[:colon], t[colon+1:]
	parts := splitUnquoted(head, ';')
	if strings.TrimSpace(parts[0]) == "" {
		return "", "a property without a name."
	}
	out := []string{parts[0]}
	enc, charset := "", ""
	for _, p := range parts[1:] {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			switch up := strings.ToUpper(p); up {
			case "QUOTED-PRINTABLE", "BASE64", "B", "8BIT", "7BIT":
				enc = up
			default:
				out = append(out, "TYPE="+p)
			}
			continue
		}
		switch strings.ToUpper(strings.TrimSpace(k)) {
		case "ENCODING":
			enc = strings.ToUpper(strings.TrimSpace(v))
			continue
		case "CHARSET":
			charset = strings.TrimSpace(v)
			continue
		}
		if strings.Contains(v, `"`) {
			if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' || strings.Contains(v[1:len(v)-1], `"`) {
				return "", fmt.Sprintf("malformed parameter %q.", p)
			}
			v = strings.ReplaceAll(v, `\`, `\\`) // the vcard package reads \ as an escape in quotes
		}
		out = append(out, k+"="+v)
	}
	switch enc {
	case "", "8BIT", "7BIT":
	case "QUOTED-PRINTABLE":
		value = decodeQP(value)
	default:
		return "", fmt.Sprintf("%s-encoded values are not supported here.", enc)
	}
	if charset != "" {
		v, err := decodeCharset(value, charset)
		if err != nil {
			return "", err.Error()
		}
		value = v
	}
	if enc == "QUOTED-PRINTABLE" {
		value = strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\n`).Replace(value)
	}
	if !utf8.ValidString(head) || !utf8.ValidString(value) {
		return "", "the value is not UTF-8 text; save the file as UTF-8 (or give its CHARSET)."
	}
	return strings.Join(out, ";") + ":" + value, ""
}

func decodeQP(s string) string {
	if !strings.Contains(s, "=") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '=' && i+2 < len(s) {
			if h, ok := unhex(s[i+1], s[i+2]); ok {
				b = append(b, h)
				i += 2
				continue
			}
		}
		if s[i] == '=' && i == len(s)-1 {
			break // soft line break at the very end
		}
		b = append(b, s[i])
	}
	return string(b)
}

func unhex(a, b byte) (byte, bool) {
	x, err := strconv.ParseUint(string([]byte{a, b}), 16, 8)
	return byte(x), err == nil
}

func decodeCharset(s, name string) (string, error) {
	var cm *charmap.Charmap
	switch strings.ToLower(strings.Trim(name, `"`)) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return s, nil
	case "windows-1256", "cp1256":
		cm = charmap.Windows1256
	case "iso-8859-6":
		cm = charmap.ISO8859_6
	case "windows-1252", "cp1252":
		cm = charmap.Windows1252
	case "iso-8859-1", "latin1":
		cm = charmap.ISO8859_1
	default:
		return "", fmt.Errorf("charset %q is not supported; save the file as UTF-8.", name)
	}
	return cm.NewDecoder().String(s)
}

// splitComponents splits a structured value (N, ADR, ORG) on semicolons
// that are not escaped, and unescapes each component.
func splitComponents(v string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case ';':
			parts = append(parts, unescapeText(v[start:i]))
			start = i + 1
		}
	}
	return append(parts, unescapeText(v[start:]))
}

// unescapeText finishes what the vcard package leaves escaped: \; \: and
// the vCard 3.0 \N.
func unescapeText(s string) string {
	if strings.ContainsRune(s, '\r') { // a stray CR inside a line is a line break
		s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	}
	if !strings.Contains(s, `\`) {
		return strings.TrimSpace(s)
	}
	return strings.TrimSpace(textUnescaper.Replace(s))
}

var textUnescaper = strings.NewReplacer(`\;`, ";", `\:`, ":", `\N`, "\n", `\,`, ",", `\\`, `\`, `\n`, "\n")

func component(parts []string, i int) string {
	if i < len(parts) {
		return parts[i]
	}
	return ""
}

// convert fills card from a parsed vCard.
func (r *VCardReader) convert(vc vcard.Card, card *Card) {
	c := &card.Contact
	card.Version = vc.Value(vcard.FieldVersion)
	addErr := func(field, target, msg string) {
		card.Errors = append(card.Errors, FieldError{Field: field, Target: target, Message: msg})
	}
	kind := strings.ToLower(vc.Value(vcard.FieldKind))
	if kind == "" && strings.EqualFold(vc.Value("X-ADDRESSBOOKSERVER-KIND"), "group") {
		kind = "group"
	}
	if kind == "" && strings.EqualFold(vc.Value("X-ABSHOWAS"), "COMPANY") {
		kind = "org"
	}
	what := map[string]string{"group": "a group", "org": "an organisation", "organization": "an organisation", "location": "a place"}[kind]
	if what != "" {
		addErr("KIND", "", fmt.Sprintf("The card describes %s, not a person; only people are imported from vCards.", what))
		return
	}

	labels := map[string]string{} // Apple's item1.X-ABLabel per group
	for _, f := range vc["X-ABLABEL"] {
		if f.Group != "" {
			labels[strings.ToLower(f.Group)] = f.Value
		}
	}
	label := func(f *vcard.Field) string {
		return typesLabel(f.Params.Types(), labels[strings.ToLower(f.Group)])
	}

	if f := vc.Get(vcard.FieldName); f != nil {
		n := splitComponents(f.Value)
		c.LastName, c.FirstName, c.MiddleName = component(n, 0), component(n, 1), component(n, 2)
		c.Prefix, c.Suffix = component(n, 3), component(n, 4)
	}
	if c.FirstName == "" && c.LastName == "" && c.MiddleName == "" {
		// Many programs write the email or phone as FN of a nameless card.
		fn := unescapeText(vc.Value(vcard.FieldFormattedName))
		if _, isEmail := normEmail(fn); fn != "" && !isEmail && !text.IsPhoneLike(fn) {
			c.FirstName, c.LastName = splitFullName(fn)
		}
	}
	for _, f := range vc[vcard.FieldEmail] {
		v := unescapeText(f.Value)
		if v == "" {
			continue
		}
		addr, ok := normEmail(v)
		if !ok {
			addErr("EMAIL", FieldEmail, fmt.Sprintf("%q is not a valid email address.", v))
			continue
		}
		if !hasValue(c.Emails, addr) {
			c.Emails = append(c.Emails, crm.Labeled{Value: addr, Label: label(f)})
		}
	}
	for _, f := range vc[vcard.FieldTelephone] {
		v := unescapeText(f.Value)
		if len(v) > 4 && strings.EqualFold(v[:4], "tel:") {
			v, _, _ = strings.Cut(v[4:], ";") // drop URI parameters such as ;ext=
		}
		if v == "" {
			continue
		}
		num, err := normPhone(v, r.opts.DefaultRegion)
		if err != nil {
			addErr("TEL", FieldPhone, err.Error())
			continue
		}
		if !hasValue(c.Phones, num) {
			c.Phones = append(c.Phones, crm.Labeled{Value: num, Label: label(f)})
		}
	}
	for _, f := range vc[vcard.FieldAddress] {
		p := splitComponents(f.Value)
		a := crm.Address{
			Label:      label(f),
			Street:     joinFields(", ", component(p, 2), component(p, 1), component(p, 0)),
			City:       component(p, 3),
			Region:     component(p, 4),
			PostalCode: text.ToASCIIDigits(component(p, 5)),
			Country:    normCountry(component(p, 6)),
		}
		if a.Street != "" || a.City != "" || a.Region != "" || a.PostalCode != "" || a.Country != "" {
			c.Addresses = append(c.Addresses, a)
		}
	}
	if f := vc.Get(vcard.FieldBirthday); f != nil && strings.TrimSpace(f.Value) != "" {
		v := strings.TrimSpace(f.Value)
		if omit := f.Params.Get("X-APPLE-OMIT-YEAR"); omit != "" && strings.HasPrefix(v, omit+"-") {
			v = "--" + v[len(omit)+1:]
		}
		if bd, err := parseBirthday(v, r.opts.Calendar, ""); err != nil {
			addErr("BDAY", FieldBirthday, err.Error())
		} else {
			c.Birthday = bd
		}
	}
	for _, f := range vc[vcard.FieldOrganization] {
		if name := component(splitComponents(f.Value), 0); name != "" && !contains(card.CompanyNames, name) {
			card.CompanyNames = append(card.CompanyNames, name)
		}
	}
	card.CompanyRole = unescapeText(vc.Value(vcard.FieldTitle))
	if card.CompanyRole == "" {
		card.CompanyRole = unescapeText(vc.Value(vcard.FieldRole))
	}
	for _, f := range vc[vcard.FieldNote] {
		c.Notes = joinNonEmpty("\n", c.Notes, unescapeText(f.Value))
	}
	seen := map[string]bool{}
	for _, f := range vc[vcard.FieldCategories] {
		for _, t := range splitTags(f.Value) {
			t = unescapeText(t)
			if k := text.Normalize(t); k != "" && !seen[k] {
				seen[k] = true
				c.Tags = append(c.Tags, t)
			}
		}
	}
	if f := vc.Preferred(vcard.FieldLanguage); f != nil && strings.TrimSpace(f.Value) != "" {
		if lang, err := normLanguage(unescapeText(f.Value)); err != nil {
			addErr("LANG", FieldLanguage, err.Error())
		} else {
			c.Language = lang
		}
	}
	if c.FirstName == "" && c.LastName == "" && c.MiddleName == "" && len(c.Emails) == 0 && len(c.Phones) == 0 {
		addErr("", "", "The card has no name, email or phone.")
	}
}

// typesLabel turns vCard TYPE parameters (or Apple's X-ABLabel) into a
// Pivand label: "work", "home", "mobile", "work mobile", "fax", "work fax"…
// Types that say nothing to a user (pref, voice, internet…) are dropped.
func typesLabel(types []string, xLabel string) string {
	if xLabel != "" {
		return normLabel(strings.TrimSuffix(strings.TrimPrefix(xLabel, "_$!<"), ">!$_"))
	}
	var place, kind, other string
	for _, t := range types {
		t = strings.ToLower(strings.TrimSpace(t))
		switch t {
		case "work", "home", "main", "other":
			place = firstNonEmpty(place, t)
		case "cell", "mobile", "iphone":
			kind = firstNonEmpty(kind, "mobile")
		case "fax", "pager":
			kind = firstNonEmpty(kind, t)
		case "", "pref", "voice", "internet", "x400", "text", "msg", "video", "bbs", "modem", "isdn", "pcs",
			"textphone", "dom", "intl", "postal", "parcel", "car":
		default:
			other = firstNonEmpty(other, t)
		}
	}
	switch {
	case kind != "" && (place == "work" || place == "home"):
		return place + " " + kind
	case kind != "":
		return kind
	case place != "":
		return place
	}
	return normLabel(other)
}
