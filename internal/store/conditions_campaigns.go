package store

import (
	"context"
	"strconv"

	"github.com/pivand/pivand/internal/crm"
)

// Campaign engagement in the condition language (docs/marketing.md,
// "Fields"): the campaigns module's deliveries, registered here as the
// comment at the top of conditions.go describes.
//
//	campaigns.received / .opened / .clicked                     date: the last time, over every campaign
//	campaigns.received_campaign / .opened_campaign / .clicked_campaign   ref: a given campaign
//
// "Opened a campaign in the last 30 days" is campaigns.opened in_last 30
// day; "never clicked" is campaigns.clicked is_not_set; "received
// campaign 12 but did not open it" is received_campaign in [12] and
// opened_campaign not_in [12].
func init() {
	type kind struct{ name, col string }
	for _, k := range []kind{{"received", "d.sent_at"}, {"opened", "d.opened_at"}, {"clicked", "d.clicked_at"}} {
		RegisterConditionField(crm.ConditionField{Name: "campaigns." + k.name, Type: crm.CondDate, Group: "campaigns"},
			func(b *CondBuilder, r *crm.Rule) (string, error) {
				return b.AggregateDate("campaign_deliveries d", k.col+" IS NOT NULL", "d.contact_id", "MAX("+k.col+")", r)
			})
		name := "campaigns." + k.name + "_campaign"
		RegisterConditionField(crm.ConditionField{Name: name, Type: crm.CondRef, Group: "campaigns"},
			func(b *CondBuilder, r *crm.Rule) (string, error) {
				return b.Set(r, "campaign_deliveries d", "d.contact_id", "d.campaign_id", k.col+" IS NOT NULL")
			})
		RegisterConditionOptions(name, campaignOptions)
	}
}

// campaignOptions lists the campaigns that were started, newest first.
func campaignOptions(ctx context.Context, tx *Tx) ([]crm.Option, error) {
	rows, err := tx.Query(ctx, `SELECT id, name FROM campaigns WHERE status <> 'draft' ORDER BY id DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []crm.Option
	for rows.Next() {
		var (
			id   int64
			name string
		)
		if err := rows.Scan(&id, &name); err != nil {
			return nil, tx.db.wrap("campaign options", err)
		}
		out = append(out, crm.Option{Value: strconv.FormatInt(id, 10), Label: name})
	}
	return out, tx.db.wrap("campaign options", rows.Err())
}
