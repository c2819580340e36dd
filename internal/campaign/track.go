package campaign

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Tracking links. Every link a message carries names its delivery and is
// signed with the installation's campaign key (HMAC-SHA256, truncated to
// 128 bits): /c/o/<token> (the open pixel), /c/u/<token> (unsubscribe)
// and /c/c/<token>?u=<url>&s=<signature of delivery and url> (a click).
// A click link redirects only to the URL its signature covers, so it is
// never an open redirect; a changed delivery id or URL fails the check.

// Signer signs and checks tracking links.
type Signer struct{ key []byte }

// NewSigner returns a signer with key (at least 32 bytes).
func NewSigner(key []byte) *Signer { return &Signer{key: key} }

func (s *Signer) mac(parts ...string) string {
	m := hmac.New(sha256.New, s.key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// Token returns the signed token of a delivery for a purpose (o, u, c).
func (s *Signer) Token(purpose string, deliveryID int64) string {
	id := strconv.FormatInt(deliveryID, 36)
	return id + "." + s.mac(purpose, id)
}

// Check returns the delivery a token names, or false when it was not
// signed by us for this purpose.
func (s *Signer) Check(purpose, token string) (int64, bool) {
	id, sig, ok := strings.Cut(token, ".")
	if !ok || id == "" || len(id) > 13 {
		return 0, false
	}
	if !hmac.Equal([]byte(sig), []byte(s.mac(purpose, id))) {
		return 0, false
	}
	n, err := strconv.ParseInt(id, 36, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// ClickURL is the tracked form of target for a delivery.
func (s *Signer) ClickURL(base string, deliveryID int64, target string) string {
	tok := s.Token("c", deliveryID)
	return base + "/c/c/" + tok + "?u=" + url.QueryEscape(target) + "&s=" + s.mac("url", tok, target)
}

// CheckClick returns the delivery and the target of a click link, or
// false when the token or the URL's signature is wrong or the URL is not
// http(s).
func (s *Signer) CheckClick(token, target, sig string) (int64, bool) {
	id, ok := s.Check("c", token)
	if !ok || !hmac.Equal([]byte(sig), []byte(s.mac("url", token, target))) {
		return 0, false
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return 0, false
	}
	return id, true
}

var (
	hrefRE = regexp.MustCompile(`href="(https?://[^"]+)"`)
	urlRE  = regexp.MustCompile(`https?://[^\s<>"]+`)
)

// TrackHTML rewrites the http(s) links of an HTML body into click links
// and adds the open pixel before </body> (or at the end).
func (s *Signer) TrackHTML(base string, deliveryID int64, html string) string {
	out := hrefRE.ReplaceAllStringFunc(html, func(m string) string {
		target := htmlUnescape(m[len(`href="`) : len(m)-1])
		if strings.HasPrefix(target, base+"/c/") {
			return m
		}
		return `href="` + htmlEscape(s.ClickURL(base, deliveryID, target)) + `"`
	})
	pixel := `<img src="` + base + "/c/o/" + s.Token("o", deliveryID) + `" width="1" height="1" alt="">`
	if i := strings.LastIndex(strings.ToLower(out), "</body>"); i >= 0 {
		return out[:i] + pixel + out[i:]
	}
	return out + pixel
}

// TrackText rewrites the http(s) links of a plain-text body (or an SMS)
// into click links.
func (s *Signer) TrackText(base string, deliveryID int64, text string) string {
	return urlRE.ReplaceAllStringFunc(text, func(target string) string {
		trail := strings.TrimRight(target, ".,;:!?)")
		rest := target[len(trail):]
		if strings.HasPrefix(trail, base+"/c/") {
			return target
		}
		return s.ClickURL(base, deliveryID, trail) + rest
	})
}

var (
	htmlUnescaper = strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#39;", "'", "&quot;", `"`, "&lt;", "<", "&gt;", ">")
	htmlEscaper   = strings.NewReplacer("&", "&amp;", `"`, "&quot;", "<", "&lt;", ">", "&gt;")
)

func htmlUnescape(s string) string { return htmlUnescaper.Replace(s) }
func htmlEscape(s string) string   { return htmlEscaper.Replace(s) }
