// Package email reads and writes the emails of the service desk with the
// standard library only: net/mail for headers, mime and mime/multipart
// for the body tree, mime/quotedprintable and encoding/base64 for
// transfer encodings, RFC 2047 encoded words and RFC 2231 parameters for
// Persian and Arabic subjects and file names, and golang.org/x/text for
// legacy charsets (windows-1256 …). It does no I/O beyond its reader and
// knows nothing of tickets: internal/desk decides what a message means.
package email

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/htmlindex"
)

// Limits bound what Parse reads.
type Limits struct {
	// MaxAttachment is the largest attachment kept; larger ones are
	// listed in Dropped (10 MB when 0).
	MaxAttachment int64
	// MaxParts is the most body parts read (100 when 0).
	MaxParts int
}

const (
	defaultMaxAttachment = 10 << 20
	defaultMaxParts      = 100
	maxDepth             = 8
	maxText              = 1 << 20 // the text of a message is cut at 1 MB
	maxRefs              = 50
	maxIDLength          = 250
)

// Message is an email as the desk reads it.
type Message struct {
	MessageID  string   // without angle brackets; "" when absent
	InReplyTo  []string // Message-IDs, without brackets
	References []string // oldest first
	From       mail.Address
	To         []mail.Address
	Cc         []mail.Address
	ReplyTo    []mail.Address
	Subject    string
	Date       time.Time // zero when absent or unreadable
	Text       string    // the plain text body (from HTML when there is no plain part)
	HTML       bool      // Text was made from an HTML part
	Header     mail.Header
	// Attachments are the files kept; Dropped names those over the size
	// limit (with their size).
	Attachments []Attachment
	Dropped     []Attachment
	// Report is true for a delivery or disposition report (a bounce):
	// Content-Type multipart/report.
	Report bool
}

// Attachment is a file of a message. ContentType is what the sender said;
// the desk sniffs the bytes itself before storing them.
type Attachment struct {
	Filename    string
	ContentType string
	Size        int64
	Data        []byte // nil in Dropped
}

var decoder = &mime.WordDecoder{CharsetReader: charsetReader}

// charsetReader decodes text of a legacy charset into UTF-8.
func charsetReader(charset string, r io.Reader) (io.Reader, error) {
	cs := strings.ToLower(strings.TrimSpace(charset))
	if cs == "" || cs == "utf-8" || cs == "utf8" || cs == "us-ascii" || cs == "ascii" {
		return r, nil
	}
	enc, err := htmlindex.Get(cs)
	if err != nil {
		return nil, fmt.Errorf("email: unknown charset %q", charset)
	}
	return enc.NewDecoder().Reader(r), nil
}

// Parse reads a message. It fails only when the header cannot be read;
// a broken body part is skipped.
func Parse(r io.Reader, lim Limits) (*Message, error) {
	if lim.MaxAttachment <= 0 {
		lim.MaxAttachment = defaultMaxAttachment
	}
	if lim.MaxParts <= 0 {
		lim.MaxParts = defaultMaxParts
	}
	raw, err := mail.ReadMessage(r)
	if err != nil {
		return nil, fmt.Errorf("email: header: %w", err)
	}
	h := raw.Header
	m := &Message{Header: h}
	m.MessageID = firstID(h.Get("Message-Id"))
	m.InReplyTo = messageIDs(h.Get("In-Reply-To"))
	m.References = messageIDs(strings.Join(h["References"], " "))
	m.Subject = cleanLine(decodeHeader(h.Get("Subject")))
	m.From = firstAddress(h.Get("From"))
	m.To = addresses(h.Get("To"))
	m.Cc = addresses(h.Get("Cc"))
	m.ReplyTo = addresses(h.Get("Reply-To"))
	if d, err := mail.ParseDate(h.Get("Date")); err == nil {
		m.Date = d.UTC()
	}
	p := &parser{m: m, lim: lim}
	var plain, htm strings.Builder
	p.plain, p.html = &plain, &htm
	p.part(h, raw.Body, 0)
	text := plain.String()
	if strings.TrimSpace(text) == "" && htm.Len() > 0 {
		text, m.HTML = HTMLToText(htm.String()), true
	}
	m.Text = cutText(strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n")))
	return m, nil
}

// header is the little of a part's header the walk needs.
type header interface{ Get(string) string }

type parser struct {
	m           *Message
	lim         Limits
	parts       int
	plain, html *strings.Builder
}

// part reads one body part; it recurses into multiparts.
func (p *parser) part(h header, body io.Reader, depth int) {
	p.parts++
	if p.parts > p.lim.MaxParts || depth > maxDepth {
		return
	}
	ct := h.Get("Content-Type")
	mediatype, params, err := mime.ParseMediaType(ct)
	if err != nil || mediatype == "" {
		mediatype, params = "text/plain", map[string]string{}
	}
	disp, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	filename := decodeHeader(dparams["filename"])
	if filename == "" {
		filename = decodeHeader(params["name"])
	}
	if strings.HasPrefix(mediatype, "multipart/") {
		if mediatype == "multipart/report" && depth == 0 {
			p.m.Report = true
		}
		boundary := params["boundary"]
		if boundary == "" {
			return
		}
		mr := multipart.NewReader(body, boundary)
		var alt []altPart
		for {
			part, err := mr.NextRawPart()
			if err != nil {
				break
			}
			if mediatype == "multipart/alternative" {
				b, _ := io.ReadAll(io.LimitReader(part, p.lim.MaxAttachment+1))
				alt = append(alt, altPart{h: part.Header, b: b})
				continue
			}
			p.part(part.Header, part, depth+1)
			if p.parts > p.lim.MaxParts {
				break
			}
		}
		if len(alt) > 0 {
			p.alternative(alt, depth)
		}
		return
	}
	data, truncated := p.decode(h, body)
	attachment := disp == "attachment" || filename != "" && disp != "inline" ||
		mediatype != "text/plain" && mediatype != "text/html"
	if !attachment {
		s := textOf(data, params["charset"])
		if mediatype == "text/html" {
			p.html.WriteString(s)
		} else {
			if p.plain.Len() > 0 {
				p.plain.WriteString("\n\n")
			}
			p.plain.WriteString(s)
		}
		return
	}
	if filename == "" {
		filename = "attachment" + extensionOf(mediatype)
	}
	a := Attachment{Filename: cleanFilename(filename), ContentType: mediatype, Size: int64(len(data))}
	if truncated {
		a.Size = -1 // over the limit: its size is not known exactly
		p.m.Dropped = append(p.m.Dropped, a)
		return
	}
	a.Data = data
	p.m.Attachments = append(p.m.Attachments, a)
}

type altPart struct {
	h header
	b []byte
}

// alternative keeps the best version of a multipart/alternative: plain
// text, else HTML, else the last part.
func (p *parser) alternative(parts []altPart, depth int) {
	pick := -1
	for i, a := range parts {
		mt, _, _ := mime.ParseMediaType(a.h.Get("Content-Type"))
		if mt == "text/plain" || mt == "" {
			pick = i
			break
		}
	}
	if pick < 0 {
		for i, a := range parts {
			mt, _, _ := mime.ParseMediaType(a.h.Get("Content-Type"))
			if mt == "text/html" || strings.HasPrefix(mt, "multipart/") {
				pick = i
			}
		}
	}
	if pick < 0 {
		pick = len(parts) - 1
	}
	a := parts[pick]
	p.part(a.h, bytes.NewReader(a.b), depth+1)
}

// decode reads a part's body and undoes its transfer encoding; truncated
// is true when it is larger than the attachment limit.
func (p *parser) decode(h header, body io.Reader) (data []byte, truncated bool) {
	var r io.Reader = body
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &base64Cleaner{r: body})
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	}
	// A read error keeps what was read: a broken tail (bad base64, a
	// missing closing boundary) should not lose the whole part.
	data, _ = io.ReadAll(io.LimitReader(r, p.lim.MaxAttachment+1))
	if int64(len(data)) > p.lim.MaxAttachment {
		return nil, true
	}
	return data, false
}

// base64Cleaner drops everything but the base64 alphabet, so line
// breaks, spaces and a missing padding tail do not stop the decoder.
type base64Cleaner struct {
	r   io.Reader
	buf [4096]byte
}

func (c *base64Cleaner) Read(p []byte) (int, error) {
	for {
		n := min(len(p), len(c.buf))
		k, err := c.r.Read(c.buf[:n])
		j := 0
		for _, b := range c.buf[:k] {
			if b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '+' || b == '/' || b == '=' {
				p[j] = b
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// textOf decodes text of a charset into valid UTF-8.
func textOf(b []byte, charset string) string {
	r, err := charsetReader(charset, bytes.NewReader(b))
	if err == nil {
		if d, err := io.ReadAll(r); err == nil {
			b = d
		}
	}
	if !utf8.Valid(b) {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(b)
}

// decodeHeader decodes RFC 2047 encoded words; text that does not decode
// is kept as it is (made valid UTF-8).
func decodeHeader(s string) string {
	if s == "" {
		return ""
	}
	if d, err := decoder.DecodeHeader(s); err == nil {
		s = d
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// cleanLine makes a header value one line without control characters.
func cleanLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == '\t' {
			return ' '
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// cleanFilename keeps the base name of a file name without path
// separators or control characters, at most 200 bytes.
func cleanFilename(s string) string {
	s = cleanLine(s)
	if i := strings.LastIndexAny(s, `/\`); i >= 0 {
		s = s[i+1:]
	}
	s = strings.TrimLeft(strings.TrimSpace(s), ".")
	for len(s) > 200 {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	if s == "" {
		s = "attachment"
	}
	return s
}

func extensionOf(mediatype string) string {
	switch mediatype {
	case "message/rfc822":
		return ".eml"
	case "text/plain":
		return ".txt"
	case "text/html":
		return ".html"
	}
	if exts, err := mime.ExtensionsByType(mediatype); err == nil && len(exts) > 0 {
		return exts[0]
	}
	return ""
}

func cutText(s string) string {
	if len(s) <= maxText {
		return s
	}
	s = s[:maxText]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

var idRE = regexp.MustCompile(`<([^<>\s]+)>`)

// messageIDs reads a list of Message-IDs: <a@b> <c@d>, or bare ids.
func messageIDs(s string) []string {
	var out []string
	add := func(id string) {
		id = strings.TrimSpace(id)
		if id == "" || len(id) > maxIDLength || !strings.Contains(id, "@") || len(out) >= maxRefs {
			return
		}
		for _, o := range out {
			if o == id {
				return
			}
		}
		out = append(out, id)
	}
	ms := idRE.FindAllStringSubmatch(s, -1)
	if len(ms) == 0 {
		for _, f := range strings.Fields(s) {
			add(strings.Trim(f, "<>,"))
		}
		return out
	}
	for _, m := range ms {
		add(m[1])
	}
	return out
}

func firstID(s string) string {
	if ids := messageIDs(s); len(ids) > 0 {
		return ids[0]
	}
	return ""
}

var addressParser = &mail.AddressParser{WordDecoder: decoder}

// addresses reads an address list, skipping what does not parse.
func addresses(s string) []mail.Address {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	if list, err := addressParser.ParseList(s); err == nil {
		out := make([]mail.Address, 0, len(list))
		for _, a := range list {
			out = append(out, mail.Address{Name: cleanLine(a.Name), Address: strings.ToLower(a.Address)})
		}
		return out
	}
	var out []mail.Address
	for _, part := range strings.Split(s, ",") {
		if a := firstAddress(part); a.Address != "" {
			out = append(out, a)
		}
	}
	return out
}

var angleRE = regexp.MustCompile(`<([^<>\s@]+@[^<>\s@]+)>`)

// firstAddress reads one address, leniently: "Name <a@b>", a@b, or
// whatever in angle brackets looks like an address.
func firstAddress(s string) mail.Address {
	if a, err := addressParser.Parse(s); err == nil {
		return mail.Address{Name: cleanLine(a.Name), Address: strings.ToLower(a.Address)}
	}
	if m := angleRE.FindStringSubmatch(s); m != nil {
		name := strings.Trim(strings.TrimSpace(s[:strings.Index(s, "<")]), `"`)
		return mail.Address{Name: cleanLine(decodeHeader(name)), Address: strings.ToLower(m[1])}
	}
	for _, f := range strings.Fields(s) {
		if f = strings.Trim(f, "<>,;\"'"); strings.Count(f, "@") == 1 && !strings.HasPrefix(f, "@") && !strings.HasSuffix(f, "@") {
			return mail.Address{Address: strings.ToLower(f)}
		}
	}
	return mail.Address{}
}

var (
	dropRE  = regexp.MustCompile(`(?is)<(script|style|head|title)\b.*?</(script|style|head|title)\s*>`)
	breakRE = regexp.MustCompile(`(?i)<br\s*/?>|</(p|div|li|tr|h[1-6]|blockquote|pre|table)\s*>`)
	tagRE   = regexp.MustCompile(`(?s)<[^>]*>`)
	blankRE = regexp.MustCompile(`\n[ \t]*\n([ \t]*\n)+`)
)

// HTMLToText turns an HTML body into readable plain text: no scripts,
// styles or tags, entities decoded, paragraphs as blank lines.
func HTMLToText(s string) string {
	s = dropRE.ReplaceAllString(s, "")
	s = breakRE.ReplaceAllString(s, "\n")
	s = tagRE.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(strings.Join(strings.Fields(l), " "), " ")
	}
	s = strings.Join(lines, "\n")
	return strings.TrimSpace(blankRE.ReplaceAllString(s, "\n\n"))
}
