package activity

import (
	"context"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Timeline returns one page of a person's (entity "contact") or company's
// ("company") timeline, newest first: every event with that ContactID or
// CompanyID, whatever module wrote it. next is the cursor of the following
// page, "" on the last. The actors of the page are read in one query.
func (s *Service) Timeline(ctx context.Context, entity string, id int64, page crm.Page) ([]Item, string, error) {
	if err := crm.Authorize(ctx, crm.PermContactsRead, false); err != nil {
		return nil, "", err
	}
	var (
		items []Item
		next  string
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		ok, err := tx.TimelineEntityExists(ctx, entity, id)
		if err != nil {
			return err
		}
		if !ok {
			if entity == EntityCompany {
				return crm.Errorf(crm.ENOTFOUND, "Company was not found.")
			}
			return crm.Errorf(crm.ENOTFOUND, "Contact was not found.")
		}
		evs, n, err := tx.FindTimeline(ctx, entity, id, page)
		if err != nil {
			return err
		}
		next = n
		ids := make([]int64, 0, len(evs))
		for _, ev := range evs {
			if ev.ActorID != 0 {
				ids = append(ids, ev.ActorID)
			}
		}
		users, err := tx.UserRefs(ctx, ids)
		if err != nil {
			return err
		}
		items = make([]Item, len(evs))
		for i, ev := range evs {
			items[i] = Item{Event: ev, Kind: ev.Type}
			if u, ok := users[ev.ActorID]; ok {
				items[i].Actor = &Actor{ID: u.ID, Name: u.Name, Email: u.Email}
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return items, next, nil
}
