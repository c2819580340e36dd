package segment_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestCampaignFields checks the campaign engagement fields (registered by
// the store's campaign file) against hand-built deliveries, on both
// engines. The clock is now = 2026-06-15 12:00 UTC.
//
//	ali:   Spring sent 06-01, opened and clicked 06-02; Summer sent 06-14, not opened
//	sara:  Spring sent 06-01, opened 06-10
//	reza:  Spring skipped (never sent)
//	bobby: Summer sent 03-01, opened 03-02 (an earlier test send of it)
//	nina:  nothing
func TestCampaignFields(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		f.exec(`INSERT INTO campaigns (id, name, channel, status, audience_kind, created_at, updated_at) VALUES
			(1, 'Spring', 'email', 'done', 'all', ?, ?), (2, 'Summer', 'email', 'sending', 'all', ?, ?), (3, 'Draft', 'email', 'draft', 'all', ?, ?)`,
			now, now, now, now, now, now)
		at := func(s string) any {
			if s == "" {
				return nil
			}
			return day(s)
		}
		deliver := func(campaign, contact int64, status, sent, opened, clicked string) {
			f.exec(`INSERT INTO campaign_deliveries (campaign_id, contact_id, status, next_at, created_at, updated_at, sent_at, opened_at, clicked_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, campaign, contact, status, now, now, now, at(sent), at(opened), at(clicked))
		}
		deliver(1, ali, "sent", "2026-06-01", "2026-06-02", "2026-06-02")
		deliver(2, ali, "sent", "2026-06-14", "", "")
		deliver(1, sara, "sent", "2026-06-01", "2026-06-10", "")
		deliver(1, reza, "skipped", "", "", "")
		deliver(2, bobby, "sent", "2026-03-01", "2026-03-02", "")

		cases := []matchCase{
			{"campaigns.received", "in_last", rel(7, "day"), []int64{ali}},
			{"campaigns.received", "in_last", rel(30, "day"), []int64{ali, sara}},
			{"campaigns.received", "not_in_last", rel(30, "day"), []int64{bobby}},
			{"campaigns.received", "is_not_set", nil, []int64{reza, nina}},
			{"campaigns.received", "on", "2026-06-14", []int64{ali}},
			{"campaigns.opened", "in_last", rel(7, "day"), []int64{sara}},
			{"campaigns.opened", "is_set", nil, []int64{ali, sara, bobby}},
			{"campaigns.opened", "before", "2026-06-05", []int64{ali, bobby}},
			{"campaigns.opened", "between", []string{"2026-06-01", "2026-06-30"}, []int64{ali, sara}},
			{"campaigns.clicked", "in_last", rel(30, "day"), []int64{ali}},
			{"campaigns.clicked", "is_not_set", nil, []int64{sara, reza, bobby, nina}},
			{"campaigns.received_campaign", "in", []int64{1}, []int64{ali, sara}},
			{"campaigns.received_campaign", "in", []int64{2}, []int64{ali, bobby}},
			{"campaigns.received_campaign", "in", []int64{1, 2}, []int64{ali, sara, bobby}},
			{"campaigns.received_campaign", "not_in", []int64{1}, []int64{reza, bobby, nina}},
			{"campaigns.opened_campaign", "in", []int64{1}, []int64{ali, sara}},
			{"campaigns.opened_campaign", "not_in", []int64{2}, []int64{ali, sara, reza, nina}},
			{"campaigns.clicked_campaign", "in", []int64{1}, []int64{ali}},
			{"campaigns.clicked_campaign", "is_set", nil, []int64{ali}},
			{"campaigns.clicked_campaign", "is_not_set", nil, []int64{sara, reza, bobby, nina}},
		}
		tested := map[string]bool{}
		for _, c := range cases {
			tested[c.field] = true
			got, err := f.match(one(c.field, c.op, c.value))
			if err != nil {
				t.Errorf("%s %s %v: %v", c.field, c.op, c.value, err)
				continue
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("%s %s %v: got %v, want %v", c.field, c.op, c.value, got, c.want)
			}
		}
		for _, n := range store.ConditionFieldNames() {
			if strings.HasPrefix(n, "campaigns.") && !tested[n] {
				t.Errorf("field %s has no test case", n)
			}
		}

		// Received Summer but did not open it: Ali.
		tree, _ := json.Marshal(map[string]any{"match": "all", "conditions": []any{
			map[string]any{"field": "campaigns.received_campaign", "op": "in", "value": []int64{2}},
			map[string]any{"field": "campaigns.opened_campaign", "op": "not_in", "value": []int64{2}},
		}})
		if got, err := f.match(string(tree)); err != nil || !slices.Equal(got, []int64{ali}) {
			t.Errorf("received but not opened Summer: %v %v", got, err)
		}

		// A campaign that does not exist, or a draft, is named.
		for _, id := range []int64{99, 3} {
			_, err := f.match(one("campaigns.received_campaign", "in", []int64{id}))
			if err == nil || !strings.Contains(err.Error(), "campaigns.received_campaign") {
				t.Errorf("campaign %d: %v", id, err)
			}
		}

		// The options are the started campaigns, newest first.
		err := db.Read(sys, func(tx *store.Tx) error {
			fs, err := tx.ConditionFields(sys)
			if err != nil {
				return err
			}
			for _, fd := range fs {
				if fd.Name == "campaigns.opened_campaign" {
					if len(fd.Options) != 2 || fd.Options[0].Label != "Summer" || fd.Options[1].Value != "1" {
						t.Errorf("options %+v", fd.Options)
					}
					if fd.Group != "campaigns" {
						t.Errorf("group %q", fd.Group)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	_ = time.Second
}
