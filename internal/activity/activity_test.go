package activity_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// clock is a settable db.Now, safe for the runner.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is one database with users and the service.
type env struct {
	db   *store.DB
	svc  *activity.Service
	clk  *clock
	sys  context.Context
	mina *crm.User // manager: may delete others' notes
	sara *crm.User // sales; her name is stored with Arabic letters
	ali  *crm.User // sales
	gone *crm.User // deactivated
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)}
	db.Now = clk.Now
	e := &env{db: db, svc: activity.New(db), clk: clk, sys: context.Background()}
	accounts := auth.New(db, auth.Options{})
	mk := func(email, name string, role crm.Role) *crm.User {
		u, err := accounts.CreateUser(e.sys, crm.UserCreate{Email: email, Name: name, Password: "correct horse battery", Role: role})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	e.mina = mk("mina@example.com", "Mina Tehrani", crm.RoleManager)
	e.sara = mk("sara@example.com", "سارا رضائي", crm.RoleSales)
	e.ali = mk("ali@example.com", "Ali Karimi", crm.RoleSales)
	e.gone = mk("gone@example.com", "Gone User", crm.RoleSales)
	off := false
	if _, err := accounts.UpdateUser(e.sys, e.gone.ID, crm.UserUpdate{Active: &off}); err != nil {
		t.Fatal(err)
	}
	e.gone.Active = false
	return e
}

func (e *env) as(u *crm.User) context.Context { return crm.NewContextWithUser(e.sys, u) }

// person and company insert minimal rows; the contact service is not
// needed here.
func (e *env) person(t *testing.T, name string) int64 {
	t.Helper()
	return e.insert(t, func(tx *store.Tx) (int64, error) {
		return tx.InsertID(e.sys, `INSERT INTO contacts (first_name, last_name, sort_name, created_at, updated_at)
			VALUES (?, '', ?, ?, ?) RETURNING id`, name, name, tx.Now(), tx.Now())
	})
}

func (e *env) company(t *testing.T, name string) int64 {
	t.Helper()
	return e.insert(t, func(tx *store.Tx) (int64, error) {
		return tx.InsertID(e.sys, `INSERT INTO companies (name, created_at, updated_at) VALUES (?, ?, ?) RETURNING id`,
			name, tx.Now(), tx.Now())
	})
}

func (e *env) insert(t *testing.T, fn func(tx *store.Tx) (int64, error)) int64 {
	t.Helper()
	var id int64
	err := e.db.Write(e.sys, func(tx *store.Tx) error {
		var err error
		id, err = fn(tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (e *env) notifications(t *testing.T, u *crm.User, kind string) []*crm.Notification {
	t.Helper()
	ns, _, err := e.svc.ListNotifications(e.as(u), u.ID, false, crm.Page{Limit: crm.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(ns, func(n *crm.Notification) bool { return kind != "" && n.Kind != kind })
}

func (e *env) timeline(t *testing.T, entity string, id int64) []activity.Item {
	t.Helper()
	var all []activity.Item
	page := crm.Page{Limit: 2}
	for range 50 {
		items, next, err := e.svc.Timeline(e.as(e.ali), entity, id, page)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, items...)
		if next == "" {
			return all
		}
		page.After = next
	}
	t.Fatal("timeline paging does not end")
	return nil
}

func kinds(items []activity.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Kind)
	}
	return out
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if crm.ErrorCode(err) != code {
		t.Fatalf("error %v, want code %s", err, code)
	}
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	if crm.ErrorCode(err) != crm.EINVALID {
		t.Fatalf("error %v, want invalid %s", err, field)
	}
	if _, ok := crm.ErrorFields(err)[field]; !ok {
		t.Fatalf("error %v does not name %s", err, field)
	}
}

func TestActivity(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)

		t.Run("InteractionValidation", func(t *testing.T) {
			p := e.person(t, "Reza")
			ok := crm.Interaction{ContactID: p, Channel: "phone", Direction: "inbound"}
			cases := []struct {
				field string
				edit  func(in *crm.Interaction)
			}{
				{"channel", func(in *crm.Interaction) { in.Channel = "" }},
				{"channel", func(in *crm.Interaction) { in.Channel = "pigeon" }},
				{"direction", func(in *crm.Interaction) { in.Direction = "sideways" }},
				{"contact_id", func(in *crm.Interaction) { in.ContactID = 0 }},
				{"contact_id", func(in *crm.Interaction) { in.ContactID = 987654 }},
				{"company_id", func(in *crm.Interaction) { in.CompanyID = 987654 }},
				{"occurred_at", func(in *crm.Interaction) { in.OccurredAt = e.clk.Now().Add(25 * time.Hour) }},
				{"duration_seconds", func(in *crm.Interaction) { in.DurationSeconds = -1 }},
				{"duration_seconds", func(in *crm.Interaction) { in.DurationSeconds = 8 * 24 * 3600 }},
				{"subject", func(in *crm.Interaction) { in.Subject = strings.Repeat("x", activity.MaxSubjectLen+1) }},
				{"user_id", func(in *crm.Interaction) { in.UserID = 987654 }},
			}
			for _, c := range cases {
				in := ok
				c.edit(&in)
				_, err := e.svc.LogInteraction(e.as(e.sara), in)
				wantField(t, err, c.field)
			}

			// Defaults: now, the acting user; up to a day ahead is fine.
			in, err := e.svc.LogInteraction(e.as(e.sara), crm.Interaction{ContactID: p, Channel: " SMS ", Direction: "outbound"})
			if err != nil {
				t.Fatal(err)
			}
			if in.ID == 0 || in.Channel != "sms" || in.UserID != e.sara.ID || !in.OccurredAt.Equal(e.clk.Now()) {
				t.Fatalf("logged %+v", in)
			}
			soon := ok
			soon.OccurredAt = e.clk.Now().Add(23 * time.Hour)
			if _, err := e.svc.LogInteraction(e.as(e.sara), soon); err != nil {
				t.Fatal(err)
			}
			got, err := e.svc.FindInteraction(e.as(e.ali), in.ID)
			if err != nil || got.Channel != "sms" || got.ContactID != p {
				t.Fatalf("FindInteraction: %+v, %v", got, err)
			}
		})

		t.Run("Permissions", func(t *testing.T) {
			p := e.person(t, "Perm")
			in := crm.Interaction{ContactID: p, Channel: "phone", Direction: "inbound"}
			readOnly := crm.NewContextWithToken(e.as(e.ali), &crm.APIToken{UserID: e.ali.ID, Scopes: []string{crm.ScopeRead}})
			_, err := e.svc.LogInteraction(readOnly, in)
			wantCode(t, err, crm.EFORBIDDEN)
			_, err = e.svc.AddNote(readOnly, crm.Note{ContactID: p, Body: "x"})
			wantCode(t, err, crm.EFORBIDDEN)
			_, err = e.svc.CreateTask(readOnly, crm.Task{Title: "x"})
			wantCode(t, err, crm.EFORBIDDEN)
			_, err = e.svc.LogInteraction(e.as(e.gone), in)
			wantCode(t, err, crm.EUNAUTHORIZED)
			if _, _, err := e.svc.Timeline(readOnly, activity.EntityContact, p, crm.Page{}); err != nil {
				t.Fatalf("a read token reads the timeline: %v", err)
			}
			_, err = e.svc.MarkAllRead(readOnly, e.ali.ID)
			wantCode(t, err, crm.EFORBIDDEN)
			_, _, err = e.svc.ListNotifications(e.as(e.ali), e.sara.ID, false, crm.Page{})
			wantCode(t, err, crm.EFORBIDDEN)
			_, err = e.svc.UnreadCount(e.as(e.mina), e.sara.ID)
			wantCode(t, err, crm.EFORBIDDEN)
		})

		t.Run("Timeline", func(t *testing.T) {
			p := e.person(t, "Timeline")
			co := e.company(t, "Pivand Co")
			long := strings.Repeat("گ", 700)
			in, err := e.svc.LogInteraction(e.as(e.sara), crm.Interaction{
				ContactID: p, CompanyID: co, Channel: "phone", Direction: "inbound", Subject: "Order question",
				Body: long, DurationSeconds: 95,
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.AddNote(e.as(e.ali), crm.Note{ContactID: p, Body: "Prefers calls after 5pm."}); err != nil {
				t.Fatal(err)
			}
			task, err := e.svc.CreateTask(e.as(e.sara), crm.Task{ContactID: p, Title: "Send the quote"})
			if err != nil {
				t.Fatal(err)
			}
			// Another module's event about the person, written by the system.
			err = e.db.Write(e.sys, func(tx *store.Tx) error {
				return tx.Emit(e.sys, &crm.Event{Type: "deal.won", SubjectType: "deal", SubjectID: 9, ContactID: p, Payload: []byte(`{"amount":1200}`)})
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.CompleteTask(e.as(e.ali), task.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.CompleteTask(e.as(e.ali), task.ID); err != nil { // a no-op, no second entry
				t.Fatal(err)
			}

			items := e.timeline(t, activity.EntityContact, p)
			want := []string{crm.EventTaskCompleted, "deal.won", crm.EventTaskCreated, crm.EventNoteAdded, crm.EventInteraction}
			if got := kinds(items); !slices.Equal(got, want) {
				t.Fatalf("timeline %v, want %v", got, want)
			}
			for i := 1; i < len(items); i++ {
				if items[i].Event.ID >= items[i-1].Event.ID {
					t.Fatalf("timeline not newest first: %d then %d", items[i-1].Event.ID, items[i].Event.ID)
				}
			}
			actors := map[string]string{}
			for _, it := range items {
				if it.Actor != nil {
					actors[it.Kind] = it.Actor.Email
				}
			}
			if actors[crm.EventInteraction] != "sara@example.com" || actors[crm.EventNoteAdded] != "ali@example.com" ||
				actors[crm.EventTaskCompleted] != "ali@example.com" || items[1].Actor != nil {
				t.Fatalf("actors %v, deal actor %+v", actors, items[1].Actor)
			}

			var ip activity.InteractionPayload
			if err := items[4].Decode(&ip); err != nil {
				t.Fatal(err)
			}
			if ip.InteractionID != in.ID || ip.Channel != "phone" || ip.Subject != "Order question" || !ip.Truncated ||
				utf8.RuneCountInString(ip.Excerpt) != activity.ExcerptLen || ip.DurationSeconds != 95 ||
				ip.UserID != e.sara.ID || ip.UserName != e.sara.Name {
				t.Fatalf("interaction payload %+v", ip)
			}
			var card activity.TaskPayload
			if err := items[2].Decode(&card); err != nil {
				t.Fatal(err)
			}
			if card.Title != "Send the quote" || card.DoneAt == nil || card.AssigneeID != e.sara.ID || card.AssigneeName != e.sara.Name {
				t.Fatalf("task card %+v", card)
			}
			var deal struct{ Amount int }
			if err := items[1].Decode(&deal); err != nil || deal.Amount != 1200 {
				t.Fatalf("foreign payload %+v, %v", deal, err)
			}

			// The company's timeline shows what was logged with it.
			if got := kinds(e.timeline(t, activity.EntityCompany, co)); !slices.Equal(got, []string{crm.EventInteraction}) {
				t.Fatalf("company timeline %v", got)
			}
			_, _, err = e.svc.Timeline(e.as(e.ali), activity.EntityContact, 987654, crm.Page{})
			wantCode(t, err, crm.ENOTFOUND)
			_, _, err = e.svc.Timeline(e.as(e.ali), "deal", p, crm.Page{})
			wantCode(t, err, crm.EINVALID)
		})

		t.Run("Mentions", func(t *testing.T) {
			p := e.person(t, "Mentioned")
			note, err := e.svc.AddNote(e.as(e.mina), crm.Note{ContactID: p,
				Body: "Customer asked for a discount. @ali@example.com please check; @\"سارا رضایی\" knows the history. @Mina_Tehrani fyi"})
			if err != nil {
				t.Fatal(err)
			}
			if want := []int64{e.ali.ID, e.sara.ID, e.mina.ID}; !slices.Equal(note.Mentions, want) {
				t.Fatalf("mentions %v, want %v", note.Mentions, want)
			}
			link := "/contacts/" + strconv.FormatInt(p, 10) + "#note-" + strconv.FormatInt(note.ID, 10)
			for _, u := range []*crm.User{e.ali, e.sara} {
				ns := e.notifications(t, u, activity.NotifyMention)
				if len(ns) != 1 || ns[0].Link != link || ns[0].ActorID != e.mina.ID || !strings.HasPrefix(ns[0].Title, "Customer asked") {
					t.Fatalf("%s's mention notifications: %+v", u.Email, ns)
				}
			}
			if ns := e.notifications(t, e.mina, activity.NotifyMention); len(ns) != 0 {
				t.Fatalf("the author was notified: %+v", ns)
			}
			var card activity.NotePayload
			if err := e.timeline(t, activity.EntityContact, p)[0].Decode(&card); err != nil {
				t.Fatal(err)
			}
			if len(card.Mentions) != 3 || card.Mentions[1].Name != e.sara.Name || card.Body != note.Body {
				t.Fatalf("note card %+v", card)
			}

			// Only the author or someone who may delete contacts edits.
			_, err = e.svc.UpdateNote(e.as(e.ali), note.ID, "mine now")
			wantCode(t, err, crm.EFORBIDDEN)
			_, err = e.svc.UpdateNote(e.as(e.mina), note.ID, "  ")
			wantField(t, err, "body")
			e.clk.Advance(time.Minute)
			edited, err := e.svc.UpdateNote(e.as(e.mina), note.ID, "@ali@example.com @sara@example.com updated.")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(edited.Mentions, []int64{e.ali.ID, e.sara.ID}) {
				t.Fatalf("edited mentions %v", edited.Mentions)
			}
			if n := len(e.notifications(t, e.ali, activity.NotifyMention)); n != 1 {
				t.Fatalf("ali notified again on edit: %d notifications", n)
			}
			items := e.timeline(t, activity.EntityContact, p)
			if got := kinds(items); !slices.Equal(got, []string{crm.EventNoteAdded}) {
				t.Fatalf("timeline after edit %v (the edit is not an entry of its own)", got)
			}
			card = activity.NotePayload{}
			if err := items[0].Decode(&card); err != nil {
				t.Fatal(err)
			}
			if card.Body != edited.Body || card.EditedAt == nil || len(card.Mentions) != 2 {
				t.Fatalf("card after edit %+v", card)
			}
			found, err := e.svc.FindNote(e.as(e.ali), note.ID)
			if err != nil || found.Body != edited.Body || !slices.Equal(found.Mentions, edited.Mentions) {
				t.Fatalf("FindNote %+v, %v", found, err)
			}

			// Deleting removes the text everywhere and withdraws the mentions.
			err = e.svc.DeleteNote(e.as(e.ali), note.ID)
			wantCode(t, err, crm.EFORBIDDEN)
			if err := e.svc.DeleteNote(e.as(e.mina), note.ID); err != nil {
				t.Fatal(err)
			}
			if items := e.timeline(t, activity.EntityContact, p); len(items) != 0 {
				t.Fatalf("timeline after delete: %v", kinds(items))
			}
			if ns := e.notifications(t, e.sara, activity.NotifyMention); len(ns) != 0 {
				t.Fatalf("mention notifications after delete: %+v", ns)
			}
			_, err = e.svc.FindNote(e.as(e.ali), note.ID)
			wantCode(t, err, crm.ENOTFOUND)
			err = e.db.Read(e.sys, func(tx *store.Tx) error {
				evs, err := tx.EventsAfter(e.sys, 0, 10000)
				for _, ev := range evs {
					if strings.Contains(string(ev.Payload), "discount") || strings.Contains(string(ev.Payload), "updated.") {
						t.Errorf("event %d (%s) keeps the deleted note's text: %s", ev.ID, ev.Type, ev.Payload)
					}
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}

			// Notes need a body within the limit and a person or company.
			_, err = e.svc.AddNote(e.as(e.ali), crm.Note{ContactID: p, Body: strings.Repeat("x", activity.MaxNoteLen+1)})
			wantField(t, err, "body")
			_, err = e.svc.AddNote(e.as(e.ali), crm.Note{Body: "x"})
			wantField(t, err, "contact_id")
		})

		t.Run("Tasks", func(t *testing.T) {
			p := e.person(t, "Tasks")
			_, err := e.svc.CreateTask(e.as(e.sara), crm.Task{ContactID: p, Title: " "})
			wantField(t, err, "title")
			_, err = e.svc.CreateTask(e.as(e.sara), crm.Task{ContactID: p, Title: strings.Repeat("ت", activity.MaxTaskTitleLen+1)})
			wantField(t, err, "title")
			_, err = e.svc.CreateTask(e.as(e.sara), crm.Task{ContactID: p, Title: "x", AssigneeID: e.gone.ID})
			wantField(t, err, "assignee_id")
			_, err = e.svc.CreateTask(e.as(e.sara), crm.Task{ContactID: 987654, Title: "x"})
			wantField(t, err, "contact_id")

			// The creator is the default assignee and is not notified.
			own, err := e.svc.CreateTask(e.as(e.sara), crm.Task{Title: "Personal errand"})
			if err != nil {
				t.Fatal(err)
			}
			if own.AssigneeID != e.sara.ID || own.CreatedBy != e.sara.ID {
				t.Fatalf("own task %+v", own)
			}
			if ns := e.notifications(t, e.sara, activity.NotifyTaskAssigned); len(ns) != 0 {
				t.Fatalf("self-assignment notified: %+v", ns)
			}

			now := e.clk.Now()
			// A reminder before the due time (far ahead: Reminders below runs its own).
			due, remind := now.Add(200*time.Hour), now.Add(100*time.Hour)
			task, err := e.svc.CreateTask(e.as(e.sara), crm.Task{ContactID: p, Title: "Call back about the quote", AssigneeID: e.ali.ID, DueAt: &due, RemindAt: &remind})
			if err != nil {
				t.Fatal(err)
			}
			ns := e.notifications(t, e.ali, activity.NotifyTaskAssigned)
			if len(ns) != 1 || ns[0].Title != task.Title || ns[0].ActorID != e.sara.ID ||
				ns[0].Link != "/contacts/"+strconv.FormatInt(p, 10)+"#task-"+strconv.FormatInt(task.ID, 10) {
				t.Fatalf("assignment notifications %+v", ns)
			}

			// Update: reassign to sara (notified), clear the due date.
			var noDue *time.Time
			title := "Call back about the new quote"
			sara := e.sara.ID
			up, err := e.svc.UpdateTask(e.as(e.ali), task.ID, activity.TaskUpdate{Title: &title, DueAt: &noDue, AssigneeID: &sara})
			if err != nil {
				t.Fatal(err)
			}
			if up.Title != title || up.DueAt != nil || up.AssigneeID != e.sara.ID || up.RemindAt == nil {
				t.Fatalf("updated %+v", up)
			}
			if ns := e.notifications(t, e.sara, activity.NotifyTaskAssigned); len(ns) != 1 || ns[0].ActorID != e.ali.ID {
				t.Fatalf("reassignment notifications %+v", ns)
			}
			gone := e.gone.ID
			_, err = e.svc.UpdateTask(e.as(e.ali), task.ID, activity.TaskUpdate{AssigneeID: &gone})
			wantField(t, err, "assignee_id")
			items := e.timeline(t, activity.EntityContact, p)
			var card activity.TaskPayload
			if len(items) != 1 || items[0].Decode(&card) != nil || card.Title != title || card.DueAt != nil || card.AssigneeID != e.sara.ID {
				t.Fatalf("timeline after update %v, card %+v", kinds(items), card)
			}

			got, err := e.svc.FindTask(e.as(e.ali), task.ID)
			if err != nil || got.Title != title {
				t.Fatalf("FindTask %+v, %v", got, err)
			}
			open, err := e.svc.MyOpenTasks(e.as(e.sara), 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			var openIDs []int64
			for _, x := range open {
				openIDs = append(openIDs, x.ID)
			}
			if !slices.Equal(openIDs, []int64{own.ID, task.ID}) {
				t.Fatalf("sara's open tasks %v, want %v", openIDs, []int64{own.ID, task.ID})
			}

			// Reopen after completing; then delete: creator or contacts:delete.
			if _, err := e.svc.CompleteTask(e.as(e.sara), own.ID); err != nil {
				t.Fatal(err)
			}
			re, err := e.svc.ReopenTask(e.as(e.sara), own.ID)
			if err != nil || re.DoneAt != nil {
				t.Fatalf("reopened %+v, %v", re, err)
			}
			err = e.svc.DeleteTask(e.as(e.ali), task.ID)
			wantCode(t, err, crm.EFORBIDDEN)
			if err := e.svc.DeleteTask(e.as(e.sara), task.ID); err != nil {
				t.Fatal(err)
			}
			if items := e.timeline(t, activity.EntityContact, p); len(items) != 0 {
				t.Fatalf("timeline after delete %v", kinds(items))
			}
			if ns := e.notifications(t, e.sara, activity.NotifyTaskAssigned); len(ns) != 0 {
				t.Fatalf("notifications of a deleted task: %+v", ns)
			}
			_, err = e.svc.FindTask(e.as(e.ali), task.ID)
			wantCode(t, err, crm.ENOTFOUND)
			if err := e.svc.DeleteTask(e.as(e.mina), own.ID); err != nil { // a manager may delete anyone's
				t.Fatal(err)
			}
		})

		t.Run("Reminders", func(t *testing.T) {
			p := e.person(t, "Reminders")
			runner := jobs.NewRunner(db, quiet, jobs.Options{})
			e.svc.RegisterJobs(runner)
			run := func(want int) {
				t.Helper()
				n, err := runner.RunOnce(e.sys)
				if err != nil {
					t.Fatal(err)
				}
				if n != want {
					t.Fatalf("RunOnce worked %d jobs, want %d", n, want)
				}
			}
			run(0) // nothing queued yet (or left over)

			at := func(d time.Duration) *time.Time { x := e.clk.Now().Add(d); return &x }
			open, err := e.svc.CreateTask(e.as(e.ali), crm.Task{ContactID: p, Title: "Follow up", RemindAt: at(time.Hour), DueAt: at(3 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			done, err := e.svc.CreateTask(e.as(e.ali), crm.Task{ContactID: p, Title: "Already done", RemindAt: at(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.CompleteTask(e.as(e.ali), done.ID); err != nil {
				t.Fatal(err)
			}
			moved, err := e.svc.CreateTask(e.as(e.ali), crm.Task{ContactID: p, Title: "Moved reminder", RemindAt: at(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			later := at(3 * time.Hour)
			if _, err := e.svc.UpdateTask(e.as(e.ali), moved.ID, activity.TaskUpdate{RemindAt: &later}); err != nil {
				t.Fatal(err)
			}

			run(0) // not due yet
			if rs, err := e.svc.MyReminders(e.as(e.ali), 0, 10); err != nil || len(rs) != 0 {
				t.Fatalf("reminders before time: %v, %v", rs, err)
			}
			e.clk.Advance(time.Hour + time.Minute)
			run(3) // open, done and the old time of moved: one notification
			reminders := e.notifications(t, e.ali, activity.NotifyTaskReminder)
			if len(reminders) != 1 || reminders[0].Title != "Follow up" || !strings.HasSuffix(reminders[0].Link, "#task-"+strconv.FormatInt(open.ID, 10)) {
				t.Fatalf("reminders %+v", reminders)
			}
			rs, err := e.svc.MyReminders(e.as(e.ali), 0, 10)
			if err != nil || len(rs) != 1 || rs[0].ID != open.ID {
				t.Fatalf("MyReminders %+v, %v", rs, err)
			}

			// A second run of the same reminder (after a crash) notifies no one again.
			err = e.db.Write(e.sys, func(tx *store.Tx) error {
				_, err := jobs.Enqueue(e.sys, tx, jobs.Job{Kind: activity.JobTaskReminder,
					Payload: map[string]int64{"task_id": open.ID, "remind_at": open.RemindAt.Unix()}})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			run(1)
			run(0)
			if n := len(e.notifications(t, e.ali, activity.NotifyTaskReminder)); n != 1 {
				t.Fatalf("%d reminder notifications after a repeated job", n)
			}

			e.clk.Advance(2 * time.Hour)
			run(1) // moved's new time
			if n := len(e.notifications(t, e.ali, activity.NotifyTaskReminder)); n != 2 {
				t.Fatalf("%d reminder notifications after the moved reminder", n)
			}
		})

		t.Run("Notifications", func(t *testing.T) {
			ctx := e.as(e.ali)
			all := e.notifications(t, e.ali, "")
			n, err := e.svc.UnreadCount(ctx, e.ali.ID)
			if err != nil || n != len(all) || n == 0 {
				t.Fatalf("unread %d, %v; %d notifications", n, err, len(all))
			}
			if changed, err := e.svc.MarkRead(ctx, e.ali.ID, []int64{all[0].ID}); err != nil || changed != 1 {
				t.Fatalf("MarkRead: %d, %v", changed, err)
			}
			// Someone else's id is ignored.
			saras := e.notifications(t, e.sara, "")
			if len(saras) > 0 {
				if changed, err := e.svc.MarkRead(ctx, e.ali.ID, []int64{saras[0].ID}); err != nil || changed != 0 {
					t.Fatalf("marked another user's notification: %d, %v", changed, err)
				}
			}
			unread, _, err := e.svc.ListNotifications(ctx, e.ali.ID, true, crm.Page{})
			if err != nil || len(unread) != len(all)-1 {
				t.Fatalf("unread list %d, %v", len(unread), err)
			}
			if changed, err := e.svc.MarkAllRead(ctx, e.ali.ID); err != nil || changed != len(all)-1 {
				t.Fatalf("MarkAllRead: %d, %v", changed, err)
			}
			if n, err := e.svc.UnreadCount(ctx, e.ali.ID); err != nil || n != 0 {
				t.Fatalf("unread after all read: %d, %v", n, err)
			}
		})

		t.Run("EraseAndMerge", func(t *testing.T) {
			keep, dup, other := e.person(t, "Keep"), e.person(t, "Dup"), e.person(t, "Other")
			for _, id := range []int64{keep, dup, other} {
				if _, err := e.svc.LogInteraction(e.as(e.sara), crm.Interaction{ContactID: id, Channel: "email", Direction: "outbound", Body: "secret"}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := e.svc.AddNote(e.as(e.sara), crm.Note{ContactID: dup, Body: "@ali@example.com secret"}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.CreateTask(e.as(e.sara), crm.Task{ContactID: dup, Title: "secret", AssigneeID: e.ali.ID}); err != nil {
				t.Fatal(err)
			}

			var moved store.ActivityCounts
			err := e.db.Write(e.sys, func(tx *store.Tx) error {
				var err error
				moved, err = tx.MoveContactActivity(e.sys, []int64{dup}, keep)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if moved.Interactions != 1 || moved.Notes != 1 || moved.Tasks != 1 || moved.Events != 3 {
				t.Fatalf("moved %+v", moved)
			}
			if got := kinds(e.timeline(t, activity.EntityContact, keep)); len(got) != 4 {
				t.Fatalf("survivor's timeline %v", got)
			}
			for _, n := range e.notifications(t, e.ali, "") {
				if strings.HasPrefix(n.Link, "/contacts/"+strconv.FormatInt(dup, 10)+"#") {
					t.Fatalf("notification still links to the merged person: %s", n.Link)
				}
			}

			var export *store.ContactActivity
			err = e.db.Read(e.sys, func(tx *store.Tx) error {
				var err error
				export, err = tx.ContactActivityExport(e.sys, keep)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(export.Interactions) != 2 || len(export.Notes) != 1 || len(export.Tasks) != 1 || len(export.Timeline) != 4 {
				t.Fatalf("export %+v", export)
			}

			if err := e.db.Write(e.sys, func(tx *store.Tx) error { return tx.EraseContactActivity(e.sys, keep) }); err != nil {
				t.Fatal(err)
			}
			if items := e.timeline(t, activity.EntityContact, keep); len(items) != 0 {
				t.Fatalf("timeline after erase %v", kinds(items))
			}
			for _, n := range e.notifications(t, e.ali, "") {
				if strings.Contains(n.Title, "secret") {
					t.Fatalf("notification about the erased person kept: %+v", n)
				}
			}
			if got := kinds(e.timeline(t, activity.EntityContact, other)); len(got) != 1 {
				t.Fatalf("another person's timeline after erase %v", got)
			}
			open := true
			tasks, _, err := e.svc.ListTasks(e.as(e.ali), crm.TaskFilter{ContactID: keep, Open: &open})
			if err != nil || len(tasks) != 0 {
				t.Fatalf("tasks after erase %d, %v", len(tasks), err)
			}
		})
	})
}
