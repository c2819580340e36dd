package email

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"sort"
	"strings"
	"time"
)

// Outgoing is an email the desk sends: a reply, an acknowledgement or a
// survey.
type Outgoing struct {
	From       mail.Address
	To         []mail.Address
	Subject    string
	Text       string
	MessageID  string   // without brackets (NewMessageID)
	InReplyTo  string   // the message answered, without brackets
	References []string // the thread, oldest first, without brackets
	Date       time.Time
	// AutoSubmitted is RFC 3834's header: "auto-replied" for an
	// acknowledgement, "auto-generated" for a survey; "" for an agent's
	// reply.
	AutoSubmitted string
	Headers       map[string]string // more headers (X-Pivand-Ticket …)
}

// Compose writes o as an RFC 5322 message: UTF-8 text, quoted-printable,
// encoded words for non-ASCII headers, CRLF line ends.
func Compose(o Outgoing) []byte {
	var b bytes.Buffer
	w := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	w("From", o.From.String())
	to := make([]string, len(o.To))
	for i, a := range o.To {
		to[i] = a.String()
	}
	w("To", strings.Join(to, ", "))
	w("Subject", encodeWord(cleanLine(o.Subject)))
	if o.Date.IsZero() {
		o.Date = time.Now()
	}
	w("Date", o.Date.Format(time.RFC1123Z))
	w("Message-ID", bracket(o.MessageID))
	w("In-Reply-To", bracket(o.InReplyTo))
	if len(o.References) > 0 {
		refs := make([]string, 0, len(o.References))
		for _, r := range o.References {
			refs = append(refs, bracket(r))
		}
		w("References", strings.Join(refs, "\r\n "))
	}
	w("Auto-Submitted", o.AutoSubmitted)
	keys := make([]string, 0, len(o.Headers))
	for k := range o.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w(k, encodeWord(cleanLine(o.Headers[k])))
	}
	w("MIME-Version", "1.0")
	w("Content-Type", "text/plain; charset=utf-8")
	w("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	text := strings.ReplaceAll(strings.ReplaceAll(o.Text, "\r\n", "\n"), "\n", "\r\n")
	qp.Write([]byte(text))
	qp.Close()
	b.WriteString("\r\n")
	return b.Bytes()
}

func bracket(id string) string {
	if id == "" {
		return ""
	}
	return "<" + strings.Trim(id, "<>") + ">"
}

// encodeWord encodes a header value with RFC 2047 B words when it is not
// plain ASCII.
func encodeWord(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return mime.BEncoding.Encode("utf-8", s)
		}
	}
	return s
}

// NewMessageID returns a fresh Message-ID for mail of ticket ticketID:
// pivand.t42.<random>@domain. IsOwnMessageID recognises it when it comes
// back.
func NewMessageID(ticketID int64, domain string) string {
	var r [9]byte
	rand.Read(r[:])
	return fmt.Sprintf("pivand.t%d.%s@%s", ticketID, hex.EncodeToString(r[:]), domain)
}

// IsOwnMessageID reports whether id was made by NewMessageID for domain.
func IsOwnMessageID(id, domain string) bool {
	local, d, ok := strings.Cut(id, "@")
	return ok && strings.EqualFold(d, domain) && strings.HasPrefix(local, "pivand.t")
}

// Automatic reports whether the message was sent by a machine, and why:
// an auto-reply (RFC 3834 Auto-Submitted, X-Autoreply, Precedence
// auto_reply), a bounce or delivery report (multipart/report, a null
// envelope sender, MAILER-DAEMON or postmaster). Such mail is never
// answered, never opens a ticket and never reopens one. envelopeFrom is
// the SMTP MAIL FROM ("" for the null sender <>).
func (m *Message) Automatic(envelopeFrom string) (bool, string) {
	h := m.Header
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && v != "no" {
		return true, "Auto-Submitted: " + v
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "X-Auto-Reply", "X-Autoresponse"} {
		if h.Get(k) != "" {
			return true, k
		}
	}
	if p := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); p == "auto_reply" {
		return true, "Precedence: " + p
	}
	if m.Report {
		return true, "delivery report"
	}
	env := strings.Trim(strings.TrimSpace(envelopeFrom), "<>")
	if env == "" {
		return true, "null sender"
	}
	for _, a := range []string{env, m.From.Address, strings.Trim(strings.TrimSpace(h.Get("Return-Path")), "<>")} {
		local, _, _ := strings.Cut(strings.ToLower(a), "@")
		if local == "mailer-daemon" || local == "postmaster" {
			return true, "sent by " + local
		}
	}
	if rp := strings.TrimSpace(h.Get("Return-Path")); rp == "<>" {
		return true, "null sender"
	}
	return false, ""
}

// Bulk reports whether the message is list or bulk mail (Precedence
// bulk, list or junk; List-Id; X-Auto-Response-Suppress): it may open a
// ticket but gets no acknowledgement.
func (m *Message) Bulk() bool {
	h := m.Header
	switch strings.ToLower(strings.TrimSpace(h.Get("Precedence"))) {
	case "bulk", "list", "junk":
		return true
	}
	return h.Get("List-Id") != "" || h.Get("List-Unsubscribe") != "" || h.Get("X-Auto-Response-Suppress") != ""
}
