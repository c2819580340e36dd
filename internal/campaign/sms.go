package campaign

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	ttemplate "text/template"
	"time"
	"unicode/utf16"

	"github.com/pivand/pivand/internal/jobs"
)

// SMS: the length counter and the provider.

// gsm7 is the GSM 03.38 default alphabet; gsm7ext the characters of its
// extension table, which take two septets (an escape and the character).
const (
	gsm7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7ext = "^{}\\[~]|€\f"
)

var gsm7Set, gsm7ExtSet = runeSet(gsm7), runeSet(gsm7ext)

func runeSet(s string) map[rune]bool {
	m := map[rune]bool{}
	for _, r := range s {
		m[r] = true
	}
	return m
}

// SMSCount says how a text travels as SMS.
type SMSCount struct {
	Encoding  string `json:"encoding"`  // gsm7 or ucs2
	Units     int    `json:"units"`     // septets (gsm7) or UTF-16 code units (ucs2)
	Parts     int    `json:"parts"`     // messages the operator bills
	PerPart   int    `json:"per_part"`  // units one part holds (160/153, 70/67)
	Remaining int    `json:"remaining"` // units left in the last part
}

// CountSMS counts the parts of an SMS: GSM-7 holds 160 septets in one
// part and 153 per part when split (an extension-table character takes
// two); anything outside GSM-7 (Persian, Arabic, emoji) makes the whole
// message UCS-2: 70 UTF-16 units in one part, 67 per part when split.
// Empty text is 0 parts.
func CountSMS(s string) SMSCount {
	c := SMSCount{Encoding: "gsm7"}
	septets := 0
	for _, r := range s {
		switch {
		case gsm7Set[r]:
			septets++
		case gsm7ExtSet[r]:
			septets += 2
		default:
			c.Encoding = "ucs2"
		}
	}
	single, multi := 160, 153
	c.Units = septets
	if c.Encoding == "ucs2" {
		single, multi = 70, 67
		c.Units = len(utf16.Encode([]rune(s)))
	}
	switch {
	case c.Units == 0:
		c.Parts, c.PerPart, c.Remaining = 0, single, single
	case c.Units <= single:
		c.Parts, c.PerPart, c.Remaining = 1, single, single-c.Units
	default:
		c.Parts = (c.Units + multi - 1) / multi
		c.PerPart, c.Remaining = multi, c.Parts*multi-c.Units
	}
	return c
}

// SMSProvider sends one text message. An error wrapped by
// jobs.Permanent is final (the provider refused this message); any other
// error is worth retrying.
type SMSProvider interface {
	SendSMS(ctx context.Context, from, to, text string) error
}

// HTTPProvider sends SMS through an HTTP API: a POST of a body built from
// a template ({{.To}}, {{.From}}, {{.Text}}; {{json .Text}} writes a
// JSON string) with an authorisation header. 2xx is sent; 4xx a
// permanent refusal; anything else is retried.
type HTTPProvider struct {
	URL         string
	AuthHeader  string // e.g. Authorization
	AuthValue   string // e.g. Bearer …
	ContentType string // application/json when empty
	body        *ttemplate.Template
	client      *http.Client
}

// DefaultSMSBody is the body template when none is set.
const DefaultSMSBody = `{"from": {{json .From}}, "to": {{json .To}}, "text": {{json .Text}}}`

// NewHTTPProvider checks the body template and returns the provider.
func NewHTTPProvider(url, authHeader, authValue, contentType, body string) (*HTTPProvider, error) {
	if body == "" {
		body = DefaultSMSBody
	}
	t, err := ttemplate.New("sms").Funcs(map[string]any{"json": func(s string) (string, error) {
		b, err := json.Marshal(s)
		return string(b), err
	}}).Option("missingkey=error").Parse(body)
	if err != nil {
		return nil, cleanErr(err)
	}
	if err := t.Execute(io.Discard, smsBody{From: "x", To: "+10000000000", Text: "x"}); err != nil {
		return nil, cleanErr(err)
	}
	if contentType == "" {
		contentType = "application/json"
	}
	return &HTTPProvider{URL: url, AuthHeader: authHeader, AuthValue: authValue, ContentType: contentType, body: t,
		client: &http.Client{Timeout: 30 * time.Second}}, nil
}

type smsBody struct{ From, To, Text string }

// SendSMS posts one message.
func (p *HTTPProvider) SendSMS(ctx context.Context, from, to, text string) error {
	var b bytes.Buffer
	if err := p.body.Execute(&b, smsBody{From: from, To: to, Text: text}); err != nil {
		return jobs.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, &b)
	if err != nil {
		return jobs.Permanent(err)
	}
	req.Header.Set("Content-Type", p.ContentType)
	if p.AuthHeader != "" {
		req.Header.Set(p.AuthHeader, p.AuthValue)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("sms provider: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusTooManyRequests:
		return jobs.Permanent(fmt.Errorf("sms provider refused (%d): %s", resp.StatusCode, strings.TrimSpace(string(msg))))
	}
	return fmt.Errorf("sms provider answered %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
}
