package app

import (
	"context"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/web"
)

// campaignAudiences lists the segments and static lists a campaign may be
// sent to, for the campaign editor (segment.Members gives their people to
// the campaign service: campaign.Options.Audience).
func (a *App) campaignAudiences(ctx context.Context) ([]web.Choice, error) {
	var out []web.Choice
	after := ""
	for {
		list, next, err := a.Segments.List(ctx, "", crm.Page{Limit: crm.MaxLimit, After: after})
		if err != nil {
			return nil, err
		}
		for _, s := range list {
			out = append(out, web.Choice{ID: s.ID, Name: s.Name})
		}
		if next == "" || len(out) >= 1000 {
			return out, nil
		}
		after = next
	}
}
