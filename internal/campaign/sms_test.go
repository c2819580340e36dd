package campaign_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"

	"github.com/pivand/pivand/internal/campaign"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

func TestCountSMS(t *testing.T) {
	for _, c := range []struct {
		text             string
		enc              string
		units, parts, pp int
	}{
		{"", "gsm7", 0, 0, 160},
		{strings.Repeat("a", 160), "gsm7", 160, 1, 160},
		{strings.Repeat("a", 161), "gsm7", 161, 2, 153},
		{strings.Repeat("a", 306), "gsm7", 306, 2, 153},
		{strings.Repeat("a", 307), "gsm7", 307, 3, 153},
		{strings.Repeat("€", 80), "gsm7", 160, 1, 160}, // extension characters take two septets
		{strings.Repeat("س", 70), "ucs2", 70, 1, 70},
		{strings.Repeat("س", 71), "ucs2", 71, 2, 67},
		{strings.Repeat("a", 134) + "ب", "ucs2", 135, 3, 67},
		{"سلام 😀", "ucs2", 7, 1, 70}, // an emoji is two UTF-16 units
	} {
		got := campaign.CountSMS(c.text)
		if got.Encoding != c.enc || got.Units != c.units || got.Parts != c.parts || got.PerPart != c.pp {
			t.Errorf("%q: %+v, want %s %d units %d parts of %d", c.text, got, c.enc, c.units, c.parts, c.pp)
		}
	}
}

func FuzzCountSMS(f *testing.F) {
	for _, s := range []string{"", "hello", "سلام", "€€[]", strings.Repeat("x", 400), "😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := campaign.CountSMS(s)
		if c.Units < 0 || c.Parts < 0 || c.Remaining < 0 {
			t.Fatalf("%q: %+v", s, c)
		}
		if c.Units > 0 && (c.Parts-1)*c.PerPart >= c.Units && c.Parts > 1 {
			t.Fatalf("%q: too many parts %+v", s, c)
		}
		if c.Units > c.Parts*c.PerPart {
			t.Fatalf("%q: the parts do not hold it %+v", s, c)
		}
		if c.Encoding == "ucs2" && c.Units != len(utf16.Encode([]rune(s))) {
			t.Fatalf("%q: ucs2 units %d", s, c.Units)
		}
	})
}

// smsEndpoint is an HTTP SMS provider in the test: it keeps each posted
// body and answers 401 without the right token, 400 for numbers ending
// in 0.
type smsEndpoint struct {
	mu   sync.Mutex
	got  []map[string]string
	auth []string
}

func (e *smsEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		http.Error(w, "bad json: "+err.Error(), 400)
		return
	}
	e.mu.Lock()
	e.auth = append(e.auth, r.Header.Get("X-Api-Key"))
	e.mu.Unlock()
	if r.Header.Get("X-Api-Key") != "secret" {
		http.Error(w, "no", 401)
		return
	}
	if strings.HasSuffix(m["to"], "0") {
		http.Error(w, "invalid number", 400)
		return
	}
	e.mu.Lock()
	e.got = append(e.got, m)
	e.mu.Unlock()
	w.WriteHeader(202)
}

func TestSendSMS(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, campaign.Options{})
		ep := &smsEndpoint{}
		srv := httptest.NewServer(ep)
		defer srv.Close()
		st, _ := f.svc.Settings(sys)
		st.SMS = campaign.SMSConfig{URL: srv.URL, AuthHeader: "X-Api-Key", AuthValue: "secret", From: "Shop",
			Body: `{"sender": {{json .From}}, "to": {{json .To}}, "message": {{json .Text}}}`}
		if _, err := f.svc.SaveSettings(sys, st); err != nil {
			t.Fatal(err)
		}
		// The auth value is kept when the form leaves it empty, and never read back.
		st.SMS.AuthValue = ""
		st.SMS.Body = `{"from": {{json .From}}, "to": {{json .To}}, "text": {{json .Text}}}`
		if saved, err := f.svc.SaveSettings(sys, st); err != nil || saved.SMS.AuthValue != "" {
			t.Fatal(saved, err)
		}
		bahar := f.person("بهار", "", "+989121111111", "fa", nil, "sms")
		ana := f.person("Ana", "", "+989122222222", "en", nil, "sms")
		badNumber := f.person("Bad", "", "+989123333330", "en", nil, "sms")
		noConsent := f.person("Cy", "", "+989124444444", "en", nil, "email")
		c, err := f.svc.Create(sys, campaign.Input{Name: "SMS", Channel: "sms", Content: map[string]crm.CampaignContent{
			"en": {SMS: "Hi {{.FirstName}}, {{.Points}} points. https://shop.example/s"},
			"fa": {SMS: "سلام {{.FirstName}}، {{.Points}} امتیاز"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		p, err := f.svc.Preview(sys, c.ID, bahar, "")
		if err != nil || p.Language != "fa" || p.SMSCount.Encoding != "ucs2" || p.SMS != "سلام بهار، ۰ امتیاز" {
			t.Fatalf("preview %+v %v", p, err)
		}
		f.svc.Start(sys, c.ID)
		f.drain(10)
		ds := f.deliveries(c.ID)
		if ds[bahar].Status != "sent" || ds[ana].Status != "sent" || ds[badNumber].Status != "failed" || ds[noConsent].Reason != "no_consent" {
			t.Fatalf("deliveries: %+v %+v %+v %+v", ds[bahar], ds[ana], ds[badNumber], ds[noConsent])
		}
		if !strings.Contains(ds[badNumber].Reason, "invalid number") {
			t.Errorf("the provider's refusal is the reason: %q", ds[badNumber].Reason)
		}
		if len(ep.got) != 2 {
			t.Fatalf("provider got %d messages", len(ep.got))
		}
		for _, m := range ep.got {
			if m["from"] != "Shop" {
				t.Errorf("body %v", m)
			}
			if m["to"] == "+989122222222" && !strings.Contains(m["text"], "https://crm.example.com/c/c/") {
				t.Errorf("the link in the SMS is not tracked: %q", m["text"])
			}
		}
		// A wrong token: every message fails, with the provider's answer.
		st.SMS.AuthValue = "wrong"
		f.svc.SaveSettings(sys, st)
		c2, _ := f.svc.Create(sys, campaign.Input{Name: "SMS 2", Channel: "sms", Content: map[string]crm.CampaignContent{"en": {SMS: "x"}}})
		if err := f.svc.TestSend(sys, c2.ID, 0, "", "+989125555555"); err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("test send with a wrong token: %v", err)
		}
	})
}

// TestPreviewSampleLanguage: a preview without a person (sample data)
// writes the sample's points in the digits of the preview's language and
// its name in that language's script, as a real recipient would see them
// (a Persian SMS preview read "Sara عزیز، 1250 امتیاز").
func TestPreviewSampleLanguage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, campaign.Options{})
		c, err := f.svc.Create(sys, campaign.Input{Name: "Sample", Channel: "sms", Content: map[string]crm.CampaignContent{
			"en": {SMS: "Hi {{.FirstName}}, {{.Points}} points"},
			"fa": {SMS: "سلام {{.FirstName}}، {{.Points}} امتیاز"},
			"ar": {SMS: "مرحبا {{.FirstName}}، {{.Points}} نقطة"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		for lang, want := range map[string]string{"en": "Hi Sara, 1250 points", "fa": "سلام سارا، ۱۲۵۰ امتیاز", "ar": "مرحبا سارة، ١٢٥٠ نقطة"} {
			p, err := f.svc.Preview(sys, c.ID, 0, lang)
			if err != nil || p.Language != lang || p.SMS != want {
				t.Errorf("%s: preview %q %v, want %q", lang, p.SMS, err, want)
			}
		}
	})
}

// TestRTLEmailBody: a Persian or Arabic HTML body that sets no direction
// is sent right to left (mail clients show a bare fragment left-aligned);
// one that sets its own, and other languages, are left as written.
func TestRTLEmailBody(t *testing.T) {
	for _, tc := range []struct{ lang, html, want string }{
		{"fa", `<p>سلام {{.FirstName}}</p>`, `<div dir="rtl" lang="fa"><p>سلام سارا</p></div>`},
		{"ar", `<HTML><body><p>{{.FirstName}}</p></body></HTML>`, `<HTML dir="rtl" lang="ar"><body><p>سارة</p></body></HTML>`},
		{"fa", `<body style="margin:0"><p>{{.FirstName}}</p></body>`, `<body dir="rtl" lang="fa" style="margin:0"><p>سارا</p></body>`},
		{"fa", `<div dir="ltr">{{.FirstName}}</div>`, `<div dir="ltr">سارا</div>`},
		{"en", `<p>Hi {{.FirstName}}</p>`, `<p>Hi Sara</p>`},
	} {
		var v crm.Validation
		c := campaign.Compile("email", tc.lang, crm.CampaignContent{Subject: "s", HTML: tc.html}, &v)
		if err := v.Err(); err != nil {
			t.Fatal(err)
		}
		r, err := c.Render(campaign.SampleIn(tc.lang))
		if err != nil || r.HTML != tc.want {
			t.Errorf("%s %s: %q %v, want %q", tc.lang, tc.html, r.HTML, err, tc.want)
		}
	}
}
