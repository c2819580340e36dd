package campaign_test

import (
	"errors"
	"strings"
	"testing"

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
	})
}
