package campaign_test

import (
	"fmt"
	"testing"

	"github.com/pivand/pivand/internal/campaign"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestAudienceOverOnePage sends to everyone when everyone is more than
// one page of the audience's reading (1,000 people) and more than one
// sending batch: each person gets exactly one message, on both engines.
// On PostgreSQL the audience was once read with its rows open while
// deliveries were written in the same transaction, which a connection
// does not allow: every campaign to 1,000 people or more failed there.
func TestAudienceOverOnePage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, campaign.Options{})
		const n = 1_030
		err := db.Write(sys, func(tx *store.Tx) error {
			for i := range n {
				id, err := tx.InsertID(sys, `INSERT INTO contacts (first_name, emails, language, created_at, updated_at)
					VALUES (?, ?, 'en', ?, ?) RETURNING id`, fmt.Sprintf("P%d", i), fmt.Sprintf(`[{"value":"p%d@example.com","label":""}]`, i), tx.Now(), tx.Now())
				if err != nil {
					return err
				}
				if err := tx.SetConsent(sys, id, &crm.Consent{Channel: "email", Status: crm.ConsentGranted, Source: "import"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		c := f.emailCampaign("Everyone", welcome)
		if _, err := f.svc.Start(sys, c.ID); err != nil {
			t.Fatal(err)
		}
		f.drain(200)
		got, err := f.svc.Get(sys, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		ds := f.deliveries(c.ID)
		sent := 0
		for _, d := range ds {
			if d.Status == crm.MessageSent {
				sent++
			}
		}
		if got.Status != crm.CampaignDone || len(ds) != n || sent != n || f.sink.total() != n {
			t.Fatalf("status %s, %d deliveries, %d sent, the server got %d; want done and %d each", got.Status, len(ds), sent, f.sink.total(), n)
		}
	})
}
