package campaign_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/campaign"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

func TestSignedURLTamper(t *testing.T) {
	s := campaign.NewSigner([]byte("0123456789abcdef0123456789abcdef"))
	link := s.ClickURL("https://crm.example.com", 42, "https://shop.example/a?b=1")
	u, _ := url.Parse(link)
	tok := strings.TrimPrefix(u.Path, "/c/c/")
	target, sig := u.Query().Get("u"), u.Query().Get("s")
	if id, ok := s.CheckClick(tok, target, sig); !ok || id != 42 {
		t.Fatalf("the genuine link fails: %d %v", id, ok)
	}
	other := campaign.NewSigner([]byte("another key, another installation"))
	for name, c := range map[string][3]string{
		"another target":      {tok, "https://evil.example/", sig},
		"target with a path":  {tok, "https://shop.example/a?b=2", sig},
		"another delivery":    {strings.Replace(tok, "16.", "17.", 1), target, sig},
		"no signature":        {tok, target, ""},
		"truncated signature": {tok, target, sig[:10]},
		"pixel token":         {s.Token("o", 42), target, sig},
		"javascript":          {tok, "javascript:alert(1)", sig},
	} {
		if _, ok := s.CheckClick(c[0], c[1], c[2]); ok {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, ok := other.CheckClick(tok, target, sig); ok {
		t.Error("another key accepted the link")
	}
	if _, ok := s.Check("u", s.Token("o", 42)); ok {
		t.Error("an open token works as an unsubscribe token")
	}
	// A signed javascript: URL is still refused (never an open redirect).
	js := s.ClickURL("https://crm.example.com", 42, "javascript:alert(1)")
	ju, _ := url.Parse(js)
	if _, ok := s.CheckClick(strings.TrimPrefix(ju.Path, "/c/c/"), ju.Query().Get("u"), ju.Query().Get("s")); ok {
		t.Error("a javascript: URL passed")
	}
}

func TestTracking(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, campaign.Options{})
		ana := f.person("Ana", "ana@example.com", "", "fa", nil, "email", "sms")
		c := f.emailCampaign("Track", welcome)
		f.svc.Start(sys, c.ID)
		f.drain(10)
		m := strings.NewReplacer("=\r\n", "", "=3D", "=", "&amp;", "&").Replace(f.sink.message("ana@example.com"))
		find := func(re string) string {
			x := regexp.MustCompile(re).FindString(m)
			if x == "" {
				t.Fatalf("no %s in\n%s", re, m)
			}
			return x
		}
		open := strings.TrimPrefix(find(`/c/o/[0-9a-z]+\.[A-Za-z0-9_-]+`), "/c/o/")
		if err := f.svc.Open(sys, open); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Open(sys, open+"x"); crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Fatalf("a changed pixel token: %v", err)
		}
		click, _ := url.Parse(find(`https://crm.example.com/c/c/[^\s"<]+`))
		tok := strings.TrimPrefix(click.Path, "/c/c/")
		target, err := f.svc.Click(sys, tok, click.Query().Get("u"), click.Query().Get("s"))
		if err != nil || target != "https://shop.example/spring?a=1&b=2" {
			t.Fatalf("click: %q %v", target, err)
		}
		if _, err := f.svc.Click(sys, tok, "https://evil.example/", click.Query().Get("s")); crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Fatalf("open redirect: %v", err)
		}
		unsub := strings.TrimPrefix(find(`/c/u/[0-9a-z]+\.[A-Za-z0-9_-]+`), "/c/u/")
		page, err := f.svc.Unsubscription(sys, unsub)
		if err != nil || page.Language != "fa" || page.Unsubscribed || page.Address != "a***@example.com" {
			t.Fatalf("page %+v %v", page, err)
		}
		for range 2 { // twice: the second changes nothing
			if _, err := f.svc.Unsubscribe(sys, unsub); err != nil {
				t.Fatal(err)
			}
		}
		p, _ := f.contacts.FindContactByID(sys, ana)
		for _, cs := range p.Consents {
			if cs.Channel == "email" && cs.Status != crm.ConsentWithdrawn || cs.Channel == "sms" && cs.Status != crm.ConsentGranted {
				t.Errorf("consent after unsubscribing: %+v", cs)
			}
		}
		r, _ := f.svc.Results(sys, c.ID)
		if r.Opened != 1 || r.Clicked != 1 || r.Unsubscribed != 1 {
			t.Errorf("results %+v", r)
		}
		var kinds []string
		db.Read(sys, func(tx *store.Tx) error {
			rows, err := tx.Query(sys, `SELECT type FROM events WHERE contact_id = ? AND type LIKE 'campaign.%' ORDER BY id`, ana)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var k string
				rows.Scan(&k)
				kinds = append(kinds, k)
			}
			return nil
		})
		if strings.Join(kinds, " ") != "campaign.sent campaign.opened campaign.clicked campaign.unsubscribed" {
			t.Errorf("timeline: %v", kinds)
		}
		series, err := f.svc.Series(sys, c.ID)
		if err != nil || len(series) != 1 || series[0].Sent != 1 || series[0].Opened != 1 || series[0].Clicked != 1 {
			t.Errorf("series %+v %v", series, err)
		}
		// The next campaign skips her.
		c2 := f.emailCampaign("After", welcome)
		f.svc.Start(sys, c2.ID)
		f.drain(10)
		if d := f.deliveries(c2.ID)[ana]; d.Reason != "consent_withdrawn" {
			t.Errorf("after unsubscribing: %+v", d)
		}
	})
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"Hello {{.FirstName}}", "{{if .Coupon}}Code {{.Coupon}}{{else}}none{{end}}", "{{default \"x\" .Name}}",
		"{{range .X}}{{end}}", "{{define \"a\"}}x{{end}}", "{{printf \"%999999d\" 1}}", "{{.FirstName.Len}}", "{{", "{{$x := .Email}}{{$x}}",
		"{{template \"x\"}}", "{{with .Points}}{{.}}{{end}}", "{{block \"b\" .}}{{end}}", "{{call .X}}", "{{len .Name}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		var v crm.Validation
		for _, ch := range []string{"email", "sms"} {
			c := campaign.Compile(ch, "en", crm.CampaignContent{Subject: src, Text: src, HTML: src, SMS: src}, &v)
			if v.Err() != nil {
				continue
			}
			// Allowed: a template may fail on data (eq of mismatched types).
			// It must not panic, loop or blow up: the output is bounded by
			// the source and the data.
			r, err := c.Render(campaign.Sample())
			if err == nil && len(r.Subject)+len(r.Text)+len(r.HTML)+len(r.SMS) > 4*(len(src)*64+1024) {
				t.Fatalf("%q renders %d bytes", src, len(r.Subject)+len(r.Text)+len(r.HTML)+len(r.SMS))
			}
		}
		err := campaign.ParseTemplate(src)
		for _, bad := range []string{"{{range", "{{define", "{{template", "{{block", "{{printf", "{{call"} {
			if err == nil && strings.Contains(src, bad) && !strings.Contains(src, "{{/*") {
				t.Fatalf("accepted %q", src)
			}
		}
	})
}
