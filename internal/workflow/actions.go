package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Target is the record a step acts on.
type Target struct {
	Object    string
	RecordID  int64
	ContactID int64 // the record's person (0: none)
	OwnerID   int64 // the record's owner, when it has one
}

// Record is what the engine reads of a record: its person, owner and the
// values of the fields triggers watch, as text.
type Record struct {
	Object    string
	ID        int64
	ContactID int64
	OwnerID   int64
	Name      string            // for run logs
	Fields    map[string]string // ChangeFields values ("" when unset)
}

// TaskAction is a task to create.
type TaskAction struct {
	Title     string
	Body      string
	Due       *time.Time
	UserID    int64 // the assignee
	ContactID int64
	Object    string
	RecordID  int64
	Key       string // run + step: the same key never makes two tasks
}

// TicketAction is a ticket to open for the run's person.
type TicketAction struct {
	Subject   string
	Body      string
	Priority  string
	Category  string
	ContactID int64
	Key       string
}

// Message is an email or SMS to the run's person.
type Message struct {
	Channel   string // email, sms
	ContactID int64
	Content   map[string]crm.CampaignContent
	Key       string
}

// Actions is what the engine needs from the other modules; internal/app
// implements it with the services (domain packages do not import each
// other). Each method gets a key (run + step) and must be idempotent
// under it where the module can be: points through the club ledger's
// key, tasks and tickets looked up by it before being made. A method
// returns a sentence saying what it did (the run log's detail), Skip(why)
// when there was nothing to do, or an error: crm errors EINVALID,
// ENOTFOUND, EFORBIDDEN and ECONFLICT are permanent (the run fails at
// once), any other is retried with backoff.
type Actions interface {
	// Record reads a record (ENOTFOUND when it is gone).
	Record(ctx context.Context, object string, id int64) (*Record, error)
	CreateTask(ctx context.Context, t TaskAction) (string, error)
	// Assign makes userID the record's owner (contact, company, deal) or
	// assignee (ticket).
	Assign(ctx context.Context, t Target, userID int64) (string, error)
	UpdateField(ctx context.Context, t Target, field, value string) (string, error)
	Tag(ctx context.Context, t Target, tag string, add bool) (string, error)
	SendMessage(ctx context.Context, m Message) (string, error)
	AddToList(ctx context.Context, listID, contactID int64) (string, error)
	// Points adds (points > 0) or takes away (< 0) club points of the
	// person's membership, once per key.
	Points(ctx context.Context, contactID, points int64, reason, key string) (string, error)
	CreateTicket(ctx context.Context, t TicketAction) (string, error)
	// CallWebhook sends body to an outbound webhook subscription, signed,
	// with retries of its own; once per key.
	CallWebhook(ctx context.Context, subscriptionID int64, key string, body json.RawMessage) (string, error)
	// TeamMembers lists a team's active users; OpenTasks counts the open
	// tasks of each user (least busy assignment).
	TeamMembers(ctx context.Context, teamID int64) ([]int64, error)
	OpenTasks(ctx context.Context, userIDs []int64) (map[int64]int, error)
	// SegmentMembers calls fn for every person of a segment or static list.
	SegmentMembers(ctx context.Context, tx *store.Tx, segmentID int64, fn func(contactID int64) error) error
	// InboundContact finds the person a document posted to an inbound hook
	// is about ("contact_id", "email" or "phone"; 0 when none).
	InboundContact(ctx context.Context, tx *store.Tx, body json.RawMessage) (int64, error)
}

// SkipError says a step had nothing to do; the run goes on.
type SkipError struct{ Why string }

func (e *SkipError) Error() string { return "skipped: " + e.Why }

// Skip returns a SkipError.
func Skip(why string) error { return &SkipError{Why: why} }

// DeferError says a step cannot be done now but can at Until (a
// message in the person's quiet hours): the step runs again then, and the
// run waits at it.
type DeferError struct{ Until time.Time }

func (e *DeferError) Error() string { return "deferred until " + e.Until.Format(time.RFC3339) }

// Defer returns a DeferError.
func Defer(until time.Time) error { return &DeferError{Until: until} }

func isDefer(err error) (time.Time, bool) {
	var d *DeferError
	if errors.As(err, &d) {
		return d.Until, true
	}
	return time.Time{}, false
}

func isSkip(err error) (string, bool) {
	var s *SkipError
	if errors.As(err, &s) {
		return s.Why, true
	}
	return "", false
}

// permanent reports whether an action's error will not go away by trying
// again.
func permanent(err error) bool {
	switch crm.ErrorCode(err) {
	case crm.EINVALID, crm.ENOTFOUND, crm.EFORBIDDEN, crm.ECONFLICT:
		return true
	}
	return false
}
