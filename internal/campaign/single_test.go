package campaign_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/campaign"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// SendOne (a workflow's email step): the person's language, the template
// data, and the campaign checks at sending time.
func TestSendOne(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, campaign.Options{})
		content := map[string]crm.CampaignContent{
			"en": {Subject: "Thanks {{.FirstName}}", Text: "Dear {{.FirstName}}, thank you."},
			"fa": {Subject: "سپاس {{.FirstName}}", Text: "{{.FirstName}} عزیز، سپاس."},
		}
		sara := f.person("سارا", "sara@example.com", "", "fa", nil, "email")
		to, err := f.svc.SendOne(sys, "email", sara, content, "wf:1:0")
		if err != nil || to != "sara@example.com" {
			t.Fatalf("send: %q %v", to, err)
		}
		if msg := f.sink.message("sara@example.com"); !strings.Contains(msg, "wf.1.0.") {
			t.Fatalf("message id not from the key:\n%s", msg)
		}
		for _, c := range []struct {
			first, email string
			tags         []string
			consents     []string
			reason       string
		}{
			{"NoConsent", "a@example.com", nil, nil, "no_consent"},
			{"Withdrawn", "b@example.com", nil, []string{"-email"}, "consent_withdrawn"},
			{"Dnc", "c@example.com", []string{"do-not-contact"}, []string{"email"}, "do_not_contact"},
			{"NoAddress", "", nil, []string{"email"}, "no_address"},
		} {
			id := f.person(c.first, c.email, "", "en", c.tags, c.consents...)
			_, err := f.svc.SendOne(sys, "email", id, content, "wf:1:1")
			if !errors.Is(err, campaign.ErrNotSent) || !strings.HasSuffix(err.Error(), c.reason) {
				t.Errorf("%s: %v, want %s", c.first, err, c.reason)
			}
		}
		if f.sink.total() != 1 {
			t.Fatalf("%d messages sent", f.sink.total())
		}
		if _, err := f.svc.SendOne(sys, "email", sara, map[string]crm.CampaignContent{"en": {Subject: "{{.Nope}}", Text: "x"}}, "k"); crm.ErrorCode(err) != crm.EINVALID {
			t.Fatalf("bad template: %v", err)
		}

		// Quiet hours (21:00-08:00 Tehran by default): nothing is sent, and
		// the error says when they end; someone who may not get it at all
		// is told that first.
		f.advance(11 * time.Hour) // 23:00 in Tehran
		n := f.sink.total()
		_, err = f.svc.SendOne(sys, "email", sara, content, "wf:4:0")
		var q *campaign.QuietHoursError
		if !errors.As(err, &q) || !q.Until.Equal(time.Date(2026, 3, 3, 4, 30, 0, 0, time.UTC)) || f.sink.total() != n {
			t.Fatalf("in quiet hours: %v", err)
		}
		if _, err := f.svc.SendOne(sys, "email", f.person("Late", "late@example.com", "", "en", nil), content, "wf:4:1"); !errors.Is(err, campaign.ErrNotSent) {
			t.Errorf("no consent in quiet hours: %v", err)
		}
		f.advance(10 * time.Hour) // 09:00 the next day

		// The one-click unsubscribe of a message sent alone: the header and
		// the template's link, a page without a campaign, consent withdrawn
		// once, and the next message skipped. A changed token is refused.
		withLink := map[string]crm.CampaignContent{"fa": {Subject: "سپاس", Text: "لغو: {{.UnsubscribeURL}}"}}
		if _, err := f.svc.SendOne(sys, "email", sara, withLink, "wf:2:0"); err != nil {
			t.Fatal(err)
		}
		msg := strings.NewReplacer("=\r\n", "", "=3D", "=").Replace(f.sink.message("sara@example.com"))
		m := regexp.MustCompile(`List-Unsubscribe: <https://crm\.example\.com/c/u/([^>]+)>`).FindStringSubmatch(msg)
		if m == nil || !strings.Contains(msg, "List-Unsubscribe-Post: List-Unsubscribe=One-Click") || !strings.Contains(msg, "/c/u/"+m[1]) {
			t.Fatalf("no unsubscribe link:\n%s", msg)
		}
		token := m[1]
		if _, err := f.svc.Unsubscription(sys, token+"x"); crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Errorf("changed token: %v", err)
		}
		pg, err := f.svc.Unsubscription(sys, token)
		if err != nil || pg.Campaign != "" || pg.Sender != "Shop" || pg.Language != "fa" || pg.Address != "s***@example.com" || pg.Unsubscribed {
			t.Fatalf("page: %+v %v", pg, err)
		}
		for range 2 {
			if pg, err = f.svc.Unsubscribe(sys, token); err != nil || !pg.Unsubscribed {
				t.Fatalf("unsubscribe: %+v %v", pg, err)
			}
		}
		c, err := f.contacts.FindContactByID(sys, sara)
		if err != nil || len(c.Consents) != 1 || c.Consents[0].Status != crm.ConsentWithdrawn {
			t.Fatalf("consents: %+v %v", c.Consents, err)
		}
		if _, err := f.svc.SendOne(sys, "email", sara, content, "wf:3:0"); !errors.Is(err, campaign.ErrNotSent) {
			t.Errorf("after unsubscribing: %v", err)
		}
	})
}
