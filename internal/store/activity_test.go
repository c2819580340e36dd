package store_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// insertPerson adds a minimal contact row (the contact store is not needed
// for the activity tables).
func actPerson(ctx context.Context, tx *store.Tx, first string) (int64, error) {
	return tx.InsertID(ctx, `INSERT INTO contacts (first_name, last_name, sort_name, created_at, updated_at)
		VALUES (?, '', ?, ?, ?) RETURNING id`, first, first, tx.Now(), tx.Now())
}

func actWrite(t *testing.T, db *store.DB, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := db.Write(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func actRead(t *testing.T, db *store.DB, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := db.Read(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func TestActivityStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		user := &crm.User{Email: "u@example.com", Name: "U", Role: crm.RoleSales, Active: true, Preferences: crm.DefaultPreferences("en")}
		var a, b, c int64
		actWrite(t, db, func(tx *store.Tx) error {
			if err := tx.CreateUser(ctx, user, "x"); err != nil {
				return err
			}
			var err error
			if a, err = actPerson(ctx, tx, "A"); err != nil {
				return err
			}
			if b, err = actPerson(ctx, tx, "B"); err != nil {
				return err
			}
			c, err = actPerson(ctx, tx, "C")
			return err
		})

		t.Run("TasksByDueDate", func(t *testing.T) {
			base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
			at := func(h int) *time.Time { x := base.Add(time.Duration(h) * time.Hour); return &x }
			// due hours; -1: no due date. Equal dues order by id.
			dues := []int{5, -1, 2, 5, -1, 0, 5, 9}
			var ids []int64
			actWrite(t, db, func(tx *store.Tx) error {
				for i, h := range dues {
					task := &crm.Task{Title: "t", ContactID: c, AssigneeID: user.ID}
					if h >= 0 {
						task.DueAt = at(h)
					}
					if i == 3 {
						done := base
						task.DoneAt = &done
					}
					if err := tx.InsertTask(ctx, task); err != nil {
						return err
					}
					ids = append(ids, task.ID)
				}
				return nil
			})
			want := []int64{ids[5], ids[2], ids[0], ids[3], ids[6], ids[7], ids[1], ids[4]}
			list := func(f crm.TaskFilter) []int64 {
				var got []int64
				for pages := 0; ; pages++ {
					if pages > 10 {
						t.Fatal("paging does not end")
					}
					var tasks []*crm.Task
					var next string
					actRead(t, db, func(tx *store.Tx) error {
						var err error
						tasks, next, err = tx.ListTasks(ctx, f)
						return err
					})
					for _, task := range tasks {
						got = append(got, task.ID)
					}
					if next == "" {
						return got
					}
					f.After = next
				}
			}
			if got := list(crm.TaskFilter{ContactID: c, Limit: 2}); !slices.Equal(got, want) {
				t.Fatalf("by due date: %v, want %v", got, want)
			}
			open := true
			wantOpen := slices.DeleteFunc(slices.Clone(want), func(id int64) bool { return id == ids[3] })
			if got := list(crm.TaskFilter{ContactID: c, Open: &open, Limit: 3}); !slices.Equal(got, wantOpen) {
				t.Fatalf("open: %v, want %v", got, wantOpen)
			}
			if got := list(crm.TaskFilter{ContactID: c, DueBefore: at(5), Limit: 1}); !slices.Equal(got, want[:2]) {
				t.Fatalf("due before: %v, want %v", got, want[:2])
			}
			actRead(t, db, func(tx *store.Tx) error {
				_, _, err := tx.ListTasks(ctx, crm.TaskFilter{After: "nonsense"})
				if crm.ErrorCode(err) != crm.EINVALID {
					t.Errorf("bad cursor: %v", err)
				}
				return nil
			})
		})

		t.Run("Notifications", func(t *testing.T) {
			var ids []int64
			actWrite(t, db, func(tx *store.Tx) error {
				for range 5 {
					n := &crm.Notification{UserID: user.ID, Kind: "mention", Title: "x", Link: "/contacts/1"}
					if err := tx.InsertNotification(ctx, n); err != nil {
						return err
					}
					ids = append(ids, n.ID)
				}
				return nil
			})
			actWrite(t, db, func(tx *store.Tx) error {
				if n, err := tx.CountUnreadNotifications(ctx, user.ID, 3); err != nil || n != 3 {
					t.Errorf("capped unread count = %d, %v", n, err)
				}
				if n, err := tx.MarkNotificationsRead(ctx, user.ID, []int64{ids[1], ids[3], ids[3], 999999}); err != nil || n != 2 {
					t.Errorf("marked %d, %v", n, err)
				}
				if n, err := tx.MarkNotificationsRead(ctx, user.ID+1, nil); err != nil || n != 0 {
					t.Errorf("another user marked %d, %v", n, err)
				}
				if n, err := tx.CountUnreadNotifications(ctx, user.ID, 100); err != nil || n != 3 {
					t.Errorf("unread count = %d, %v", n, err)
				}
				return nil
			})
			var got []int64
			page := crm.Page{Limit: 2}
			for {
				var ns []*crm.Notification
				var next string
				actRead(t, db, func(tx *store.Tx) error {
					var err error
					ns, next, err = tx.ListNotifications(ctx, user.ID, true, page)
					return err
				})
				for _, n := range ns {
					got = append(got, n.ID)
				}
				if next == "" {
					break
				}
				page.After = next
			}
			if want := []int64{ids[4], ids[2], ids[0]}; !slices.Equal(got, want) {
				t.Fatalf("unread newest first: %v, want %v", got, want)
			}
			actWrite(t, db, func(tx *store.Tx) error {
				if n, err := tx.MarkNotificationsRead(ctx, user.ID, nil); err != nil || n != 3 {
					t.Errorf("mark all: %d, %v", n, err)
				}
				return nil
			})
		})

		t.Run("MoveAndErase", func(t *testing.T) {
			// Activity of a and b, and one event of c that must survive.
			var noteB, taskB int64
			var cEvent crm.Event
			actWrite(t, db, func(tx *store.Tx) error {
				for _, id := range []int64{a, b} {
					in := &crm.Interaction{ContactID: id, Channel: "phone", Direction: "inbound", OccurredAt: tx.Now()}
					if err := tx.InsertInteraction(ctx, in); err != nil {
						return err
					}
					n := &crm.Note{ContactID: id, Body: "secret", AuthorID: user.ID}
					if err := tx.InsertNote(ctx, n); err != nil {
						return err
					}
					task := &crm.Task{Title: "call back", ContactID: id}
					if err := tx.InsertTask(ctx, task); err != nil {
						return err
					}
					for _, ev := range []*crm.Event{
						{Type: crm.EventNoteAdded, SubjectType: "note", SubjectID: n.ID, ContactID: id},
						{Type: "note.updated", SubjectType: "note", SubjectID: n.ID}, // off the timeline, about the note
						{Type: "deal.won", SubjectType: "deal", SubjectID: 77, ContactID: id},
					} {
						if err := tx.Emit(ctx, ev); err != nil {
							return err
						}
					}
					if err := tx.InsertNotification(ctx, &crm.Notification{UserID: user.ID, Kind: "mention", Title: "secret",
						Link: "/contacts/" + actID(id) + "#note-" + actID(n.ID)}); err != nil {
						return err
					}
					if id == b {
						noteB, taskB = n.ID, task.ID
					}
				}
				cEvent = crm.Event{Type: "deal.won", SubjectType: "deal", SubjectID: 78, ContactID: c}
				return tx.Emit(ctx, &cEvent)
			})

			actWrite(t, db, func(tx *store.Tx) error {
				counts, err := tx.CountContactActivity(ctx, []int64{b})
				if err != nil {
					return err
				}
				want := store.ActivityCounts{Interactions: 1, Notes: 1, Tasks: 1, Events: 2}
				if counts != want {
					t.Errorf("count b: %+v, want %+v", counts, want)
				}
				moved, err := tx.MoveContactActivity(ctx, []int64{b, a}, a)
				if err != nil {
					return err
				}
				if moved != want {
					t.Errorf("moved %+v, want %+v", moved, want)
				}
				if m := moved.Moves(); m["timeline"] != 2 || m["tasks"] != 1 {
					t.Errorf("moves map %v", m)
				}
				return nil
			})

			var export *store.ContactActivity
			actRead(t, db, func(tx *store.Tx) error {
				task, err := tx.FindTask(ctx, taskB)
				if err != nil || task.ContactID != a {
					t.Errorf("moved task: %+v, %v", task, err)
				}
				note, err := tx.FindNote(ctx, noteB)
				if err != nil || note.ContactID != a {
					t.Errorf("moved note: %+v, %v", note, err)
				}
				ns, _, err := tx.ListNotifications(ctx, user.ID, true, crm.Page{})
				if err != nil {
					return err
				}
				var links []string
				for _, n := range ns {
					links = append(links, n.Link)
				}
				if want := "/contacts/" + actID(a) + "#note-" + actID(noteB); !slices.Contains(links, want) {
					t.Errorf("notification links %q, want %q among them", links, want)
				}
				for _, l := range links {
					if !strings.HasPrefix(l, "/contacts/"+actID(a)+"#") {
						t.Errorf("notification link %q not on %d", l, a)
					}
				}
				if export, err = tx.ContactActivityExport(ctx, a); err != nil {
					return err
				}
				evs, _, err := tx.FindTimeline(ctx, "contact", b, crm.Page{})
				if err != nil || len(evs) != 0 {
					t.Errorf("b's timeline after the move: %d events, %v", len(evs), err)
				}
				return nil
			})
			if len(export.Interactions) != 2 || len(export.Notes) != 2 || len(export.Tasks) != 2 || len(export.Timeline) != 4 {
				t.Fatalf("export: %d interactions, %d notes, %d tasks, %d events",
					len(export.Interactions), len(export.Notes), len(export.Tasks), len(export.Timeline))
			}

			actWrite(t, db, func(tx *store.Tx) error { return tx.EraseContactActivity(ctx, a) })
			actRead(t, db, func(tx *store.Tx) error {
				counts, err := tx.CountContactActivity(ctx, []int64{a, b})
				if err != nil {
					return err
				}
				if counts != (store.ActivityCounts{}) {
					t.Errorf("after erase: %+v", counts)
				}
				var n int
				if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM events WHERE subject_type = 'note'`).Scan(&n); err != nil {
					return err
				}
				if n != 0 {
					t.Errorf("%d note events left after erase", n)
				}
				if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM notifications WHERE title = 'secret'`).Scan(&n); err != nil {
					return err
				}
				if n != 0 {
					t.Errorf("%d notifications left after erase", n)
				}
				evs, _, err := tx.FindTimeline(ctx, "contact", c, crm.Page{})
				if err != nil || len(evs) != 1 || evs[0].ID != cEvent.ID {
					t.Errorf("another person's timeline changed: %+v, %v", evs, err)
				}
				return nil
			})
		})

		t.Run("Cards", func(t *testing.T) {
			var ev crm.Event
			actWrite(t, db, func(tx *store.Tx) error {
				ev = crm.Event{Type: crm.EventTaskCreated, SubjectType: "task", SubjectID: 4242, ContactID: c, Payload: []byte(`{"title":"old"}`)}
				if err := tx.Emit(ctx, &ev); err != nil {
					return err
				}
				found, err := tx.FindSubjectEvent(ctx, crm.EventTaskCreated, "task", 4242)
				if err != nil || found.ID != ev.ID {
					t.Errorf("FindSubjectEvent: %+v, %v", found, err)
				}
				if err := tx.SetEventPayload(ctx, ev.ID, []byte(`{"title":"new"}`)); err != nil {
					return err
				}
				if _, err := tx.FindSubjectEvent(ctx, crm.EventTaskCreated, "task", 4243); crm.ErrorCode(err) != crm.ENOTFOUND {
					t.Errorf("missing card: %v", err)
				}
				return nil
			})
			actWrite(t, db, func(tx *store.Tx) error {
				found, err := tx.FindSubjectEvent(ctx, crm.EventTaskCreated, "task", 4242)
				if err != nil {
					return err
				}
				if got := string(found.Payload); got != `{"title":"new"}` && got != `{"title": "new"}` {
					t.Errorf("payload %s", got)
				}
				n, err := tx.DetachSubjectEvents(ctx, "task", 4242, []byte(`{}`))
				if err != nil || n != 1 {
					t.Errorf("detach: %d, %v", n, err)
				}
				evs, _, err := tx.FindTimeline(ctx, "contact", c, crm.Page{})
				if err != nil {
					return err
				}
				for _, e := range evs {
					if e.ID == ev.ID {
						t.Error("detached event still on the timeline")
					}
				}
				return nil
			})
		})
	})
}

func actID(id int64) string { return strconv.FormatInt(id, 10) }
