// Package activity is the customer timeline: interactions on every
// channel, notes with @mentions, tasks with reminders, and the
// notifications they send to users.
//
// The timeline is the events table. Every change here writes its row and
// an event in one transaction; an event with ContactID (CompanyID) set
// shows on that person's (company's) timeline, and its payload is the
// snapshot the timeline shows. Other modules appear on the timeline the
// same way: see docs/timeline.md.
//
// Every method checks permissions with crm.Authorize against the user in
// the context; a context without a user is the system and may do anything.
package activity

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Timeline owners.
const (
	EntityContact = "contact"
	EntityCompany = "company"
)

// Event types this package writes besides the crm ones (crm.EventInteraction,
// crm.EventNoteAdded, crm.EventTaskCreated, crm.EventTaskCompleted). The
// timeline shows crm.EventTaskCompleted and EventTaskReopened; updates and
// deletions carry no ContactID or CompanyID (they change the item's card
// instead) and name the person and company in the payload.
const (
	EventNoteUpdated  = "note.updated"
	EventNoteDeleted  = "note.deleted"
	EventTaskUpdated  = "task.updated"
	EventTaskReopened = "task.reopened"
	EventTaskDeleted  = "task.deleted"
)

// Notification kinds. A notification's Title is data (a task title, a note
// excerpt), never a sentence: the UI frames it per kind in the user's
// language ("Sara mentioned you: …").
const (
	NotifyMention      = "mention"
	NotifyTaskAssigned = "task_assigned"
	NotifyTaskReminder = "task_reminder"
)

// Limits on input, in characters (runes).
const (
	MaxSubjectLen         = 300
	MaxInteractionBodyLen = 100_000
	MaxNoteLen            = 20_000
	MaxTaskTitleLen       = 300
	MaxTaskNotesLen       = 20_000

	// ExcerptLen bounds the body text an interaction's timeline event
	// carries.
	ExcerptLen = 500
	// MaxFuture is how far ahead of now an interaction may be dated.
	MaxFuture = 24 * time.Hour
	// MaxDuration bounds an interaction's duration.
	MaxDuration = 7 * 24 * time.Hour
	// MaxUnreadCount is where UnreadCount stops counting (a badge shows
	// "99+").
	MaxUnreadCount = 100

	titleLen = 140 // notification titles made from note text
)

// Service is the activity timeline on top of the store.
type Service struct {
	db *store.DB
}

// New returns the service.
func New(db *store.DB) *Service {
	return &Service{db: db}
}

// Actor is the user who caused a timeline item.
type Actor struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Item is one entry of a timeline: the event, its type (Kind, the key a
// renderer is registered under), and the acting user (nil for the system
// or a user since deleted). Renderers decode the payload they know with
// Decode.
type Item struct {
	Event crm.Event `json:"event"`
	Kind  string    `json:"kind"`
	Actor *Actor    `json:"actor"`
}

// Decode unmarshals the event's payload into v (one of the *Payload types
// of this package, or another module's).
func (it Item) Decode(v any) error {
	if len(it.Event.Payload) == 0 {
		return nil
	}
	if err := json.Unmarshal(it.Event.Payload, v); err != nil {
		return fmt.Errorf("activity: decode %s payload of event %d: %w", it.Kind, it.Event.ID, err)
	}
	return nil
}

// InteractionPayload is what an interaction.logged event carries.
type InteractionPayload struct {
	InteractionID   int64     `json:"interaction_id"`
	Channel         string    `json:"channel"`
	Direction       string    `json:"direction"`
	Subject         string    `json:"subject,omitempty"`
	Excerpt         string    `json:"excerpt,omitempty"`   // the body, at most ExcerptLen characters
	Truncated       bool      `json:"truncated,omitempty"` // the body is longer than Excerpt
	OccurredAt      time.Time `json:"occurred_at"`
	DurationSeconds int       `json:"duration_seconds,omitempty"`
	UserID          int64     `json:"user_id,omitempty"` // who had the interaction
	UserName        string    `json:"user_name,omitempty"`
}

// Mentioned is a user named in a note.
type Mentioned struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// NotePayload is what a note.added event carries. It is the note's
// timeline card: edits rewrite it (EditedAt set).
type NotePayload struct {
	NoteID   int64       `json:"note_id"`
	Body     string      `json:"body"`
	AuthorID int64       `json:"author_id,omitempty"`
	Mentions []Mentioned `json:"mentions"`
	EditedAt *time.Time  `json:"edited_at,omitempty"`
}

// TaskPayload is what a task.created event carries. It is the task's
// timeline card: updates, completion and reopening rewrite it.
type TaskPayload struct {
	TaskID       int64      `json:"task_id"`
	Kind         string     `json:"kind,omitempty"`    // call, meeting; "" or task for a to-do
	DealID       int64      `json:"deal_id,omitempty"` // the deal it is about
	Title        string     `json:"title"`
	DueAt        *time.Time `json:"due_at,omitempty"`
	RemindAt     *time.Time `json:"remind_at,omitempty"`
	AssigneeID   int64      `json:"assignee_id,omitempty"`
	AssigneeName string     `json:"assignee_name,omitempty"`
	DoneAt       *time.Time `json:"done_at,omitempty"`
}

// TaskStatePayload is what task.completed and task.reopened carry.
type TaskStatePayload struct {
	TaskID int64      `json:"task_id"`
	Title  string     `json:"title"`
	DoneAt *time.Time `json:"done_at,omitempty"`
}

// ChangePayload is what the off-timeline events (note.updated,
// note.deleted, task.updated, task.deleted) carry: which item, whose, and
// which fields changed.
type ChangePayload struct {
	NoteID    int64    `json:"note_id,omitempty"`
	TaskID    int64    `json:"task_id,omitempty"`
	ContactID int64    `json:"contact_id,omitempty"`
	CompanyID int64    `json:"company_id,omitempty"`
	Changed   []string `json:"changed,omitempty"`
	Mentions  []int64  `json:"mentions,omitempty"`
}

// emit writes one event with its payload.
func emit(ctx context.Context, tx *store.Tx, typ, subjectType string, subjectID, contactID, companyID int64, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("activity: %s payload: %w", typ, err)
	}
	return tx.Emit(ctx, &crm.Event{Type: typ, SubjectType: subjectType, SubjectID: subjectID,
		ContactID: contactID, CompanyID: companyID, Payload: b})
}

// setCard rewrites the payload of a note's or task's creation event (its
// timeline card). A card that is gone (erased, or written before this
// package existed) is not an error.
func setCard(ctx context.Context, tx *store.Tx, typ, subjectType string, subjectID int64, payload any) error {
	ev, err := tx.FindSubjectEvent(ctx, typ, subjectType, subjectID)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("activity: %s card: %w", typ, err)
	}
	return tx.SetEventPayload(ctx, ev.ID, b)
}

// checkTargets validates the person and company an item belongs to: at
// least one when required, and each given one must exist.
func checkTargets(ctx context.Context, tx *store.Tx, v *crm.Validation, contactID, companyID int64, required bool) error {
	if required && contactID == 0 && companyID == 0 {
		v.Add("contact_id", "Choose a person or a company.")
		return nil
	}
	for _, t := range []struct {
		entity, field, msg string
		id                 int64
	}{
		{EntityContact, "contact_id", "This person does not exist.", contactID},
		{EntityCompany, "company_id", "This company does not exist.", companyID},
	} {
		if t.id == 0 {
			continue
		}
		ok := false
		if t.id > 0 {
			var err error
			if ok, err = tx.TimelineEntityExists(ctx, t.entity, t.id); err != nil {
				return err
			}
		}
		if !ok {
			v.Add(t.field, "%s", t.msg)
		}
	}
	return nil
}

// ownerOrDeleter allows a change to an item owned (authored, created) by
// ownerID: the owner needs contacts:write, anyone else contacts:delete.
func ownerOrDeleter(ctx context.Context, ownerID int64, what string) error {
	u := crm.UserFromContext(ctx)
	if u != nil && ownerID != 0 && u.ID == ownerID {
		return crm.Authorize(ctx, crm.PermContactsWrite, true)
	}
	err := crm.Authorize(ctx, crm.PermContactsDelete, true)
	if crm.ErrorCode(err) == crm.EFORBIDDEN {
		return crm.Errorf(crm.EFORBIDDEN, "Only its author or a user who may delete contacts may change this %s.", what)
	}
	return err
}

// itemLink is where a notification about an item points: the item on its
// person's or company's page, or the task page for a task of no one.
func itemLink(kind string, id, contactID, companyID int64) string {
	anchor := "#" + kind + "-" + strconv.FormatInt(id, 10)
	switch {
	case contactID != 0:
		return "/contacts/" + strconv.FormatInt(contactID, 10) + anchor
	case companyID != 0:
		return "/companies/" + strconv.FormatInt(companyID, 10) + anchor
	}
	return "/tasks/" + strconv.FormatInt(id, 10)
}

// excerpt cuts s to at most n characters, ending with "…" when cut.
func excerpt(s string, n int) (string, bool) {
	if utf8.RuneCountInString(s) <= n {
		return s, false
	}
	i, count := 0, 0
	for j := range s {
		if count == n-1 {
			i = j
			break
		}
		count++
	}
	return strings.TrimRight(s[:i], " \t\r\n") + "…", true
}

// oneLine collapses white space so text fits a notification title.
func oneLine(s string, n int) string {
	out, _ := excerpt(strings.Join(strings.Fields(s), " "), n)
	return out
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// notify writes notifications of kind to users from actorID (0: the
// system), skipping the actor, the users in skip and repeats.
func notify(ctx context.Context, tx *store.Tx, actorID int64, userIDs []int64, kind, title, link string, skip ...int64) error {
	var done []int64
	for _, id := range userIDs {
		if id == 0 || id == actorID || slices.Contains(skip, id) || slices.Contains(done, id) {
			continue
		}
		done = append(done, id)
		if err := tx.InsertNotification(ctx, &crm.Notification{UserID: id, Kind: kind, Title: title, Link: link, ActorID: actorID}); err != nil {
			return err
		}
	}
	return nil
}
