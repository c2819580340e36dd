package email

import (
	"bytes"
	"encoding/base64"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

func crlf(s string) string { return strings.ReplaceAll(strings.TrimPrefix(s, "\n"), "\n", "\r\n") }

func TestParsePersianMultipart(t *testing.T) {
	subject := "خرابی چاپگر — سفارش ۱۲۳"
	pdf := []byte("%PDF-1.4 fake")
	raw := crlf(`
From: =?UTF-8?B?` + base64.StdEncoding.EncodeToString([]byte("سارا رضایی")) + `?= <Sara@Example.COM>
To: support@shop.example
Subject: ` + mime.BEncoding.Encode("utf-8", subject) + `
Date: Sat, 07 Mar 2026 10:00:00 +0330
Message-ID: <abc123@mail.example.com>
In-Reply-To: <pivand.t7.aa@shop.example>
References: <first@x.example>
 <pivand.t7.aa@shop.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

=D8=B3=D9=84=D8=A7=D9=85=D8=8C chapgar kharab ast.

--inner
Content-Type: text/html; charset=utf-8

<p>HTML version</p>
--inner--

--outer
Content-Type: application/pdf; name="invoice.pdf"
Content-Disposition: attachment; filename*=utf-8''%D9%81%D8%A7%DA%A9%D8%AA%D9%88%D8%B1.pdf
Content-Transfer-Encoding: base64

` + base64.StdEncoding.EncodeToString(pdf) + `
--outer--
`)
	m, err := Parse(strings.NewReader(raw), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != subject {
		t.Errorf("subject %q, want %q", m.Subject, subject)
	}
	if m.From.Address != "sara@example.com" || m.From.Name != "سارا رضایی" {
		t.Errorf("from %+v", m.From)
	}
	if m.MessageID != "abc123@mail.example.com" || len(m.InReplyTo) != 1 || m.InReplyTo[0] != "pivand.t7.aa@shop.example" {
		t.Errorf("ids %q %q", m.MessageID, m.InReplyTo)
	}
	if len(m.References) != 2 || m.References[0] != "first@x.example" {
		t.Errorf("references %q", m.References)
	}
	if m.Text != "سلام، chapgar kharab ast." || m.HTML {
		t.Errorf("text %q (html %v)", m.Text, m.HTML)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].Filename != "فاکتور.pdf" || !bytes.Equal(m.Attachments[0].Data, pdf) {
		t.Errorf("attachments %+v", m.Attachments)
	}
	if want := time.Date(2026, 3, 7, 6, 30, 0, 0, time.UTC); !m.Date.Equal(want) {
		t.Errorf("date %s", m.Date)
	}
	if auto, why := m.Automatic("sara@example.com"); auto {
		t.Errorf("a customer's mail is automatic: %s", why)
	}
}

func TestParseLegacyCharsetAndHTML(t *testing.T) {
	const word = "سلام دنيا" // Arabic yeh: windows-1256 has no Persian one
	body, err := charmap.Windows1256.NewEncoder().String(word)
	if err != nil {
		t.Fatal(err)
	}
	raw := "From: a@b.example\r\nSubject: =?windows-1256?Q?" + qEncode(body) + "?=\r\nContent-Type: text/plain; charset=windows-1256\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n\r\n" + body + "\r\n"
	m, err := Parse(strings.NewReader(raw), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != word || m.Text != word {
		t.Errorf("subject %q text %q", m.Subject, m.Text)
	}
	raw = crlf(`
From: a@b.example
Subject: html only
Content-Type: text/html; charset=utf-8

<html><head><title>x</title><style>p{}</style></head><body><p>Hello &amp; welcome</p><script>alert(1)</script><div>Second<br>line</div></body></html>
`)
	m, err = Parse(strings.NewReader(raw), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != "Hello & welcome\nSecond\nline" || !m.HTML {
		t.Errorf("html text %q", m.Text)
	}
}

func qEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteString("=")
		b.WriteString(strings.ToUpper(hexByte(s[i])))
	}
	return b.String()
}

func hexByte(c byte) string {
	const h = "0123456789abcdef"
	return string([]byte{h[c>>4], h[c&15]})
}

func TestParseLimits(t *testing.T) {
	big := strings.Repeat("A", 3000)
	raw := crlf(`
From: a@b.example
Subject: big
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain

hi
--b
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="../../etc/passwd"

` + big + `
--b
Content-Type: image/png
Content-Disposition: attachment; filename="small.png"

tiny
--b--
`)
	m, err := Parse(strings.NewReader(raw), Limits{MaxAttachment: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Dropped) != 1 || m.Dropped[0].Filename != "passwd" {
		t.Errorf("dropped %+v", m.Dropped)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].Filename != "small.png" {
		t.Errorf("attachments %+v", m.Attachments)
	}
}

func TestAutomatic(t *testing.T) {
	for _, tc := range []struct {
		name, header, env string
		auto, bulk        bool
	}{
		{"plain", "", "c@x.example", false, false},
		{"auto-submitted", "Auto-Submitted: auto-replied\r\n", "c@x.example", true, false},
		{"auto-submitted no", "Auto-Submitted: no\r\n", "c@x.example", false, false},
		{"x-autoreply", "X-Autoreply: yes\r\n", "c@x.example", true, false},
		{"precedence auto_reply", "Precedence: auto_reply\r\n", "c@x.example", true, false},
		{"precedence bulk", "Precedence: bulk\r\n", "c@x.example", false, true},
		{"list", "List-Id: <news.x.example>\r\n", "c@x.example", false, true},
		{"null sender", "", "", true, false},
		{"mailer-daemon", "", "MAILER-DAEMON@mx.example", true, false},
		{"return-path null", "Return-Path: <>\r\n", "c@x.example", true, false},
		{"bounce report", "Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n", "c@x.example", true, false},
	} {
		raw := "From: c@x.example\r\nSubject: s\r\n" + tc.header + "\r\n--r\r\nContent-Type: text/plain\r\n\r\nx\r\n--r--\r\n"
		m, err := Parse(strings.NewReader(raw), Limits{})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if auto, why := m.Automatic(tc.env); auto != tc.auto {
			t.Errorf("%s: automatic %v (%s), want %v", tc.name, auto, why, tc.auto)
		}
		if m.Bulk() != tc.bulk {
			t.Errorf("%s: bulk %v", tc.name, m.Bulk())
		}
	}
}

func TestComposeRoundTrip(t *testing.T) {
	id := NewMessageID(42, "shop.example")
	if !IsOwnMessageID(id, "shop.example") || IsOwnMessageID("abc@shop.example", "shop.example") || IsOwnMessageID(id, "other.example") {
		t.Fatalf("own message id %q", id)
	}
	out := Compose(Outgoing{
		From: mail.Address{Name: "پشتیبانی فروشگاه", Address: "support@shop.example"}, To: []mail.Address{{Name: "سارا", Address: "sara@example.com"}},
		Subject: "Re: خرابی چاپگر [#42-K7Q2M]", Text: "سلام سارا،\nچاپگر فردا می‌رسد.\n" + strings.Repeat("خط بلند ", 30),
		MessageID: id, InReplyTo: "abc@mail.example.com", References: []string{"first@x.example", "abc@mail.example.com"},
		AutoSubmitted: "auto-replied", Headers: map[string]string{"X-Pivand-Ticket": "42"},
	})
	for _, l := range strings.Split(string(out), "\r\n") {
		if len(l) > 998 {
			t.Fatalf("line of %d bytes", len(l))
		}
	}
	m, err := Parse(bytes.NewReader(out), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Re: خرابی چاپگر [#42-K7Q2M]" || m.MessageID != id || len(m.InReplyTo) != 1 || len(m.References) != 2 {
		t.Errorf("round trip: %q %q %q %q", m.Subject, m.MessageID, m.InReplyTo, m.References)
	}
	if !strings.HasPrefix(m.Text, "سلام سارا،\nچاپگر فردا می‌رسد.") || m.From.Name != "پشتیبانی فروشگاه" {
		t.Errorf("text %q from %+v", m.Text, m.From)
	}
	if auto, _ := m.Automatic("support@shop.example"); !auto {
		t.Error("our acknowledgement is not recognised as automatic")
	}
}

// FuzzParse feeds arbitrary bytes to the parser: it must not panic or
// hang, and what it returns must be valid UTF-8 within the limits.
func FuzzParse(f *testing.F) {
	f.Add([]byte("From: a@b.example\r\nSubject: =?utf-8?B?2LPZhNin2YU=?=\r\n\r\nhello"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: multipart/alternative; boundary=y\r\n\r\n--y\r\n\r\nt\r\n--y--\r\n--x--"))
	f.Add([]byte("Content-Type: text/plain; charset=windows-1256\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=D3=E1=C7=E3=\r\n"))
	f.Add([]byte("Content-Type: application/pdf\r\nContent-Disposition: attachment; filename*=utf-8''%D9%81.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n"))
	f.Add([]byte("From: \"x\" <<<@@>>>\r\nReferences: <a@b> <c@d> junk\r\nIn-Reply-To: bare@id\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(bytes.NewReader(data), Limits{MaxAttachment: 4096, MaxParts: 20})
		if err != nil {
			return
		}
		for _, s := range []string{m.Subject, m.Text, m.From.Name, m.MessageID} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 %q", s)
			}
		}
		if strings.ContainsAny(m.Subject, "\r\n") {
			t.Fatalf("subject with a line break %q", m.Subject)
		}
		for _, a := range m.Attachments {
			if int64(len(a.Data)) > 4096 || strings.ContainsAny(a.Filename, `/\`) || a.Filename == "" {
				t.Fatalf("attachment %q of %d bytes", a.Filename, len(a.Data))
			}
		}
		if len(m.References) > maxRefs {
			t.Fatalf("%d references", len(m.References))
		}
		m.Automatic("")
		m.Bulk()
	})
}
