package campaign_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/campaign"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

var welcome = map[string]crm.CampaignContent{
	"en": {Subject: "Spring sale, {{default \"friend\" .FirstName}}", Text: "Hello {{.FirstName}}, you have {{.Points}} points.\nShop: https://shop.example/spring?a=1&b=2\nUnsubscribe: {{.UnsubscribeURL}}",
		HTML: `<html><body><p>Hello {{.FirstName}}, <a href="https://shop.example/spring?a=1&b=2">shop</a></p></body></html>`},
	"fa": {Subject: "حراج بهاره، {{.FirstName}}", Text: "سلام {{.FirstName}}، {{.Points}} امتیاز دارید.", HTML: `<p dir="rtl">سلام {{.FirstName}}، <a href="https://shop.example/spring?a=1&b=2">فروشگاه</a></p>`},
}

func TestSendEmail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, campaign.Options{})
		ana := f.person("Ana", "ana@example.com", "", "en", nil, "email")
		bahar := f.person("بهار", "bahar@example.com", "", "fa", nil, "email")
		withdrawn := f.person("Cyrus", "cyrus@example.com", "", "en", nil, "-email")
		noConsent := f.person("Dara", "dara@example.com", "", "en", nil)
		dnc := f.person("Elham", "elham@example.com", "", "en", []string{"Do-Not-Contact"}, "email")
		bounce := f.person("Farid", "bounce@example.com", "", "en", nil, "email")
		noAddr := f.person("Gita", "", "+989121234567", "en", nil, "email", "sms")
		erased := f.person("Hadi", "hadi@example.com", "", "en", nil, "email")
		if err := f.contacts.ErasePerson(sys, erased); err != nil {
			t.Fatal(err)
		}
		// Hadi comes back in a later import: his address is still suppressed.
		again := f.person("Hadi", "hadi@example.com", "", "en", nil, "email")

		c := f.emailCampaign("Spring", welcome)
		if _, err := f.svc.Start(sys, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Start(sys, c.ID); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Fatalf("second start: %v", err)
		}
		f.drain(20)
		ds := f.deliveries(c.ID)
		want := map[int64]string{ana: "sent", bahar: "sent", withdrawn: "skipped consent_withdrawn", noConsent: "skipped no_consent",
			dnc: "skipped do_not_contact", bounce: "failed", noAddr: "skipped no_address", again: "skipped erased"}
		for id, w := range want {
			d := ds[id]
			if d == nil {
				t.Fatalf("contact %d has no delivery", id)
			}
			got := d.Status
			if d.Status == "skipped" {
				got += " " + d.Reason
			}
			if got != w {
				t.Errorf("contact %d: %s (%s), want %s", id, got, d.Reason, w)
			}
		}
		if len(ds) != len(want) {
			t.Errorf("%d deliveries, want %d (the erased person's row is gone with them)", len(ds), len(want))
		}
		r, err := f.svc.Results(sys, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Sent+r.Failed+r.Skipped != r.Audience || r.Audience != int64(len(want)) || r.Sent != 2 || r.Bounced != 1 || r.Pending != 0 {
			t.Errorf("results %+v", r)
		}
		if got, _ := f.svc.Get(sys, c.ID); got.Status != crm.CampaignDone {
			t.Errorf("status %s", got.Status)
		}
		if f.sink.count("ana@example.com") != 1 || f.sink.count("bahar@example.com") != 1 || f.sink.total() != 2 {
			t.Fatalf("sink got %d messages", f.sink.total())
		}
		m := strings.NewReplacer("=\r\n", "", "=3D", "=").Replace(f.sink.message("ana@example.com"))
		for _, want := range []string{"Subject: Spring sale, Ana", "List-Unsubscribe: <https://crm.example.com/c/u/", "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
			"multipart/alternative", "https://crm.example.com/c/o/", "https://crm.example.com/c/c/"} {
			if !strings.Contains(m, want) {
				t.Errorf("message lacks %q:\n%s", want, m)
			}
		}
		if strings.Contains(m, "href=3D\"https://shop.example") {
			t.Errorf("a link was not tracked:\n%s", m)
		}
		if fa := f.sink.message("bahar@example.com"); !strings.Contains(fa, "Subject: =?utf-8?q?") || !strings.Contains(fa, "Content-Language: fa") {
			t.Errorf("Persian message:\n%s", fa)
		}
		// The hard bounce suppresses the address for the next campaign.
		c2 := f.emailCampaign("Summer", welcome)
		f.svc.Start(sys, c2.ID)
		f.drain(20)
		if d := f.deliveries(c2.ID)[bounce]; d.Status != "skipped" || d.Reason != "hard_bounce" {
			t.Errorf("bounced address in the next campaign: %+v", d)
		}
		// The timeline has the message.
		var n int
		db.Read(sys, func(tx *store.Tx) error {
			return tx.QueryRow(sys, `SELECT COUNT(*) FROM events WHERE contact_id = ? AND type = 'campaign.sent'`, ana).Scan(&n)
		})
		if n != 2 {
			t.Errorf("%d campaign.sent events on Ana's timeline, want 2", n)
		}
	})
}

func TestPauseResumeCancel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, campaign.Options{BatchSize: 5})
		var ids []int64
		for i := range 30 {
			ids = append(ids, f.person("P", "p"+string(rune('a'+i%26))+strings.Repeat("x", i/26)+"@example.com", "", "en", nil, "email"))
		}
		c := f.emailCampaign("Pausing", welcome)
		f.svc.Start(sys, c.ID)
		f.sink.hook = func(n int) {
			if n == 7 {
				if _, err := f.svc.Pause(sys, c.ID); err != nil {
					t.Error(err)
				}
			}
		}
		f.drain(20)
		r, _ := f.svc.Results(sys, c.ID)
		if r.Sent != 10 || r.Pending != 20 {
			t.Fatalf("after pause in the second batch: %+v", r)
		}
		f.sink.hook = nil
		if _, err := f.svc.Resume(sys, c.ID); err != nil {
			t.Fatal(err)
		}
		f.sink.hook = func(n int) {
			if n == 17 {
				f.svc.Cancel(sys, c.ID)
			}
		}
		f.drain(20)
		r, _ = f.svc.Results(sys, c.ID)
		if r.Sent != 20 || r.Skipped != 10 || r.SkipReasons["cancelled"] != 10 || r.Sent+r.Failed+r.Skipped != int64(len(ids)) {
			t.Fatalf("after cancel: %+v", r)
		}
		for _, id := range ids {
			if n := f.sink.count(f.deliveries(c.ID)[id].Address); n > 1 {
				t.Fatalf("contact %d got %d messages", id, n)
			}
		}
		if _, err := f.svc.Resume(sys, c.ID); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Fatalf("resume a cancelled campaign: %v", err)
		}
	})
}

func TestQuietHoursAndFrequencyCap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, campaign.Options{})
		st, _ := f.svc.Settings(sys)
		st.FrequencyCap, st.FrequencyDays = 1, 7
		st.QuietStart, st.QuietEnd, st.TimeZone = 21, 8, "Asia/Tehran"
		if _, err := f.svc.SaveSettings(sys, st); err != nil {
			t.Fatal(err)
		}
		// 19:00 UTC is 22:30 in Tehran (quiet) and 14:00 in New York.
		f.now = time.Date(2026, 3, 2, 19, 0, 0, 0, time.UTC)
		tehran := f.person("Ana", "ana@example.com", "", "en", nil, "email")
		if _, err := f.contacts.CreateCustomField(sys, &crm.CustomField{Entity: "contact", Key: "time_zone", Label: "Time zone", Type: "text"}); err != nil {
			t.Fatal(err)
		}
		ny := f.person("Bob", "bob@example.com", "", "en", nil, "email")
		if _, err := f.contacts.UpdateContact(sys, ny, crm.ContactUpdate{Custom: map[string]any{"time_zone": "America/New_York"}}); err != nil {
			t.Fatal(err)
		}
		c := f.emailCampaign("Night", welcome)
		f.svc.Start(sys, c.ID)
		f.runner.RunOnce(sys)
		ds := f.deliveries(c.ID)
		if ds[ny].Status != "sent" || ds[tehran].Status != "queued" || ds[tehran].Reason != "quiet_hours" {
			t.Fatalf("at 22:30 in Tehran: ny %+v, tehran %+v", ds[ny], ds[tehran])
		}
		// 08:00 in Tehran is 04:30 UTC the next day.
		f.now = time.Date(2026, 3, 3, 4, 31, 0, 0, time.UTC)
		f.drain(5)
		if d := f.deliveries(c.ID)[tehran]; d.Status != "sent" {
			t.Fatalf("after quiet hours: %+v", d)
		}
		c2 := f.emailCampaign("Again", welcome)
		f.svc.Start(sys, c2.ID)
		f.drain(5)
		for id, d := range f.deliveries(c2.ID) {
			if d.Status != "skipped" || d.Reason != "frequency_cap" {
				t.Errorf("contact %d in the second campaign within a week: %+v", id, d)
			}
		}
	})
}

func TestQuietUntil(t *testing.T) {
	teh, _ := time.LoadLocation("Asia/Tehran")
	at := func(h, m int) time.Time { return time.Date(2026, 3, 2, h, m, 0, 0, teh) }
	for _, c := range []struct {
		now        time.Time
		start, end int
		want       time.Time
	}{
		{at(22, 0), 21, 8, time.Date(2026, 3, 3, 8, 0, 0, 0, teh)},
		{at(3, 0), 21, 8, at(8, 0)},
		{at(12, 0), 21, 8, time.Time{}},
		{at(21, 0), 21, 8, time.Date(2026, 3, 3, 8, 0, 0, 0, teh)},
		{at(8, 0), 21, 8, time.Time{}},
		{at(13, 0), 12, 14, at(14, 0)},
		{at(13, 0), 5, 5, time.Time{}},
	} {
		if got := campaign.QuietUntil(c.now, teh, c.start, c.end); !got.Equal(c.want) {
			t.Errorf("%v in %d–%d: %v, want %v", c.now, c.start, c.end, got, c.want)
		}
	}
}

func TestValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, campaign.Options{})
		_, err := f.svc.Create(sys, campaign.Input{Name: "", Channel: "fax", AudienceKind: "segment", DefaultLanguage: "de",
			Content: map[string]crm.CampaignContent{"en": {Subject: "{{.Nope}}", Text: "{{range .X}}{{end}}"}}})
		fields := crm.ErrorFields(err)
		for _, k := range []string{"name", "channel", "audience_id", "audience_kind", "default_language"} {
			if fields[k] == "" {
				t.Errorf("no error on %s: %v", k, fields)
			}
		}
		_, err = f.svc.Create(sys, campaign.Input{Name: "x", Channel: "email",
			Content: map[string]crm.CampaignContent{"en": {Subject: "{{.Nope}}", Text: "line one\n{{range .X}}{{end}}"}}})
		fields = crm.ErrorFields(err)
		if !strings.Contains(fields["content.en.subject"], "unknown field .Nope") || !strings.Contains(fields["content.en.text"], "line 2") {
			t.Errorf("template errors: %v", fields)
		}
	})
}
