package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

func TestEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var contact7, all []int64
		err := db.Write(ctx, func(tx *store.Tx) error {
			if id, err := tx.MaxEventID(ctx); err != nil || id != 0 {
				t.Errorf("MaxEventID of no events = %d, %v", id, err)
			}
			for i := range 7 {
				subject := int64(7)
				if i%3 == 2 {
					subject = 8
				}
				ev := crm.Event{Type: "contact.updated", SubjectType: "contact", SubjectID: subject, Payload: []byte(`{"i":1}`)}
				if err := tx.Emit(ctx, &ev); err != nil {
					return err
				}
				all = append(all, ev.ID)
				if subject == 7 {
					contact7 = append(contact7, ev.ID)
				}
			}
			return tx.EmitJSON(ctx, "deal.created", "deal", 7, nil) // same id, other type
		})
		if err != nil {
			t.Fatal(err)
		}

		t.Run("EventsAfter", func(t *testing.T) {
			var evs []crm.Event
			err := db.Read(ctx, func(tx *store.Tx) error {
				var err error
				evs, err = tx.EventsAfter(ctx, all[1], 3)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, ev := range evs {
				ids = append(ids, ev.ID)
			}
			if !slices.Equal(ids, all[2:5]) {
				t.Fatalf("ids %v, want %v", ids, all[2:5])
			}
			if ev := evs[0]; ev.Type != "contact.updated" || ev.SubjectType != "contact" || ev.SubjectID != 8 ||
				ev.CreatedAt.IsZero() || ev.CreatedAt.Location().String() != "UTC" {
				t.Fatalf("event %+v", ev)
			}
		})

		t.Run("FindEventsBySubject", func(t *testing.T) {
			want := slices.Clone(contact7)
			slices.Reverse(want)
			var got []int64
			page := crm.Page{Limit: 2}
			for pages := 0; ; pages++ {
				if pages > 5 {
					t.Fatal("paging does not end")
				}
				var evs []crm.Event
				var next string
				err := db.Read(ctx, func(tx *store.Tx) error {
					var err error
					evs, next, err = tx.FindEventsBySubject(ctx, "contact", 7, page)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				for _, ev := range evs {
					got = append(got, ev.ID)
				}
				if next == "" {
					break
				}
				page.After = next
			}
			if !slices.Equal(got, want) {
				t.Fatalf("pages gave %v, want %v", got, want)
			}
			err := db.Read(ctx, func(tx *store.Tx) error {
				_, _, err := tx.FindEventsBySubject(ctx, "contact", 7, crm.Page{After: "garbage!"})
				return err
			})
			if crm.ErrorCode(err) != crm.EINVALID {
				t.Fatalf("bad cursor: %v", err)
			}
		})

		t.Run("Cursors", func(t *testing.T) {
			err := db.Write(ctx, func(tx *store.Tx) error {
				if _, err := tx.EventCursor(ctx, "s"); crm.ErrorCode(err) != crm.ENOTFOUND {
					t.Errorf("missing cursor: %v", err)
				}
				if c, err := tx.InitEventCursor(ctx, "s", 3); err != nil || c != 3 {
					t.Errorf("InitEventCursor = %d, %v", c, err)
				}
				if c, err := tx.InitEventCursor(ctx, "s", 0); err != nil || c != 3 {
					t.Errorf("InitEventCursor on an existing cursor = %d, %v; want 3 kept", c, err)
				}
				if ok, err := tx.AdvanceEventCursor(ctx, "s", 2, 5); err != nil || ok {
					t.Errorf("AdvanceEventCursor from a stale value = %v, %v", ok, err)
				}
				if ok, err := tx.AdvanceEventCursor(ctx, "s", 3, 5); err != nil || !ok {
					t.Errorf("AdvanceEventCursor = %v, %v", ok, err)
				}
				if err := tx.SetEventCursor(ctx, "s", 1); err != nil {
					return err
				}
				if err := tx.SetEventCursor(ctx, "t", 9); err != nil {
					return err
				}
				m, err := tx.EventCursors(ctx)
				if err != nil || m["s"] != 1 || m["t"] != 9 || len(m) != 2 {
					t.Errorf("EventCursors = %v, %v", m, err)
				}
				if id, err := tx.MaxEventID(ctx); err != nil || id != all[len(all)-1]+1 {
					t.Errorf("MaxEventID = %d, %v", id, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	})
}
