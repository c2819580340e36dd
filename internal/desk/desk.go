// Package desk is the customer service desk: tickets from every channel
// with an explicit status machine, SLA policies counted in business hours
// with durable warning and breach timers, escalation, assignment within
// agents' capacity, canned replies, email in and out (an SMTP receiver and
// a smarthost sender with correct threading), satisfaction surveys,
// return requests and the service reports. See docs/service.md.
//
// The package is named desk, not service: every domain package has a
// Service type, and desk.Service reads better than service.Service. The
// user interface calls it the service desk (routes /service, catalogs
// service.*.json).
//
// Every change is one transaction that writes its rows, the ticket's
// history, an audit entry and an event (ticket.created,
// ticket.status_changed, ticket.solved, ticket.sla_warning,
// ticket.sla_breached, survey.answered …) carrying the customer in
// ContactID, so it lands on their timeline. Work with external effects or
// a time to wait for (sending email, the SLA warning and breach, closing
// solved tickets) is a job in the same transaction (internal/jobs).
//
// The package imports crm, store, jobs and event, never another domain:
// people are found or created by email or phone through Options.Resolve,
// wired in internal/app to the contact service; order lines and club
// tiers are read through store methods.
package desk

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/store"
)

// Resolver finds the person a ticket names (by contact id, email or
// phone) or creates them, inside the ticket's transaction.
type Resolver func(ctx context.Context, tx *store.Tx, ref crm.CustomerRef) (contactID int64, err error)

// Options configure a Service.
type Options struct {
	// Resolve finds or creates customers; required for tickets that name
	// a customer by email or phone, and for email.
	Resolve Resolver
	// BaseURL is the public address of the web UI, for survey links
	// (http://localhost:8080 when empty).
	BaseURL string
	// Mail is how replies leave (the smarthost); without Relay, replies
	// are recorded but not sent, and say so.
	Mail MailConfig
	// Logger receives what the receiver and the jobs skip; slog.Default
	// when nil.
	Logger *slog.Logger
}

// Service is the service desk.
type Service struct {
	db        *store.DB
	opts      Options
	log       *slog.Logger
	calendars sync.Map // calendar id → compiledCalendar (timers.go)
}

// New returns the desk on db.
func New(db *store.DB, opts Options) *Service {
	if opts.BaseURL == "" {
		opts.BaseURL = "http://localhost:8080"
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	s := &Service{db: db, opts: opts, log: opts.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// Limits of the input, in characters (runes) unless said otherwise.
const (
	MaxSubject         = 300
	MaxBody            = 100_000
	MaxShort           = 100
	MaxTags            = 20
	MaxTag             = 50
	MaxCustom          = 50
	MaxAttachmentBytes = 10 << 20 // one file
	MaxMessageBytes    = 25 << 20 // one email, as the SMTP receiver takes it
	MaxAttachments     = 20       // files on one message
	MaxCategories      = 50
	MaxCapacity        = 1000
	DefaultCapacity    = 20
)

// Store types the desk's callers see, so the HTTP layers need not import
// the store.
type (
	// Change is one row of a ticket's history.
	Change = store.TicketChange
	// ReturnFilter selects return requests.
	ReturnFilter = store.ReturnRequestFilter
	// OrderLine is a line of a customer's order a return request may name.
	OrderLine = store.OrderLineRef
)

// --- Settings ---

// Settings are the desk's settings, kept by admins.
type Settings struct {
	// SupportAddress is where customers write (the SMTP receiver takes
	// mail to it and replies come from it); SupportName is shown with it.
	SupportAddress string `json:"support_address"`
	SupportName    string `json:"support_name"`
	// ReopenDays: a customer's reply within this many days of a ticket
	// being solved reopens it; solved tickets are closed after it, and
	// later replies open a new ticket that links to the old one.
	ReopenDays int `json:"reopen_days"`
	// Acknowledge sends an automatic acknowledgement, with the ticket
	// number, to a new ticket's email (never to automatic or bulk mail).
	Acknowledge bool `json:"acknowledge"`
	// Surveys sends a satisfaction survey when a ticket is solved;
	// SurveyDays is how long its link works.
	Surveys    bool `json:"surveys"`
	SurveyDays int  `json:"survey_days"`
	// DefaultTeamID receives new tickets (assigned by its mode); 0: none.
	DefaultTeamID int64 `json:"default_team_id"`
	// Categories are offered in the forms; tickets may carry others.
	Categories []string `json:"categories"`
}

// DefaultSettings are the settings before an admin saves any.
func DefaultSettings() Settings {
	return Settings{ReopenDays: 7, Acknowledge: true, Surveys: true, SurveyDays: 14,
		Categories: []string{"question", "order", "delivery", "product", "billing", "complaint", "return"}}
}

// settingsKey is the settings row of the desk.
const settingsKey = "desk"

func (s *Service) settings(ctx context.Context, tx *store.Tx) (Settings, error) {
	out := DefaultSettings()
	v, ok, err := tx.DeskSetting(ctx, settingsKey)
	if err != nil || !ok {
		return out, err
	}
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		return DefaultSettings(), fmt.Errorf("desk: settings: %w", err)
	}
	return out, nil
}

// Settings returns the desk's settings. Needs service:read.
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return Settings{}, err
	}
	var out Settings
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = s.settings(ctx, tx)
		return err
	})
	return out, err
}

// SaveSettings validates and stores the settings. Needs settings:manage.
func (s *Service) SaveSettings(ctx context.Context, in Settings) (Settings, error) {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return Settings{}, err
	}
	var v crm.Validation
	in.SupportAddress = crm.NormalizeEmail(in.SupportAddress)
	if in.SupportAddress != "" && !crm.ValidEmail(in.SupportAddress) {
		v.Add("support_address", "%q is not a valid email address.", in.SupportAddress)
	}
	in.SupportName = checkText(&v, "support_name", in.SupportName, MaxShort)
	if in.ReopenDays < 0 || in.ReopenDays > 365 {
		v.Add("reopen_days", "Use a number of days from 0 to 365.")
	}
	if in.SurveyDays < 1 || in.SurveyDays > 365 {
		v.Add("survey_days", "Use a number of days from 1 to 365.")
	}
	in.Categories = cleanList(&v, "categories", in.Categories, MaxCategories, MaxShort)
	if err := v.Err(); err != nil {
		return Settings{}, err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if in.DefaultTeamID != 0 {
			if _, err := tx.FindTeamByID(ctx, in.DefaultTeamID); err != nil {
				return fieldErr(crm.EINVALID, "default_team_id", "Team %d does not exist.", in.DefaultTeamID)
			}
		}
		old, err := s.settings(ctx, tx)
		if err != nil {
			return err
		}
		b, _ := json.Marshal(in)
		if err := tx.SaveDeskSetting(ctx, settingsKey, string(b)); err != nil {
			return err
		}
		return tx.Audit(ctx, "desk.settings", "settings", 0, old, in)
	})
	return in, err
}

// SupportAddress returns the address customers write to ("" when not
// set); the SMTP receiver accepts mail only for it.
func (s *Service) SupportAddress(ctx context.Context) (string, error) {
	var out string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		st, err := s.settings(ctx, tx)
		out = st.SupportAddress
		return err
	})
	return out, err
}

// supportFrom is the From of the desk's mail.
func supportFrom(st Settings) mail.Address {
	return mail.Address{Name: st.SupportName, Address: st.SupportAddress}
}

// mailDomain is the domain of the desk's Message-IDs: the support
// address's, or pivand.invalid without one.
func mailDomain(st Settings) string {
	if _, d, ok := strings.Cut(st.SupportAddress, "@"); ok && d != "" {
		return d
	}
	return "pivand.invalid"
}

// --- Following people ---

// SubscriberName is the durable event cursor of the desk's contact
// subscriber.
const SubscriberName = "desk.contacts"

// Subscribe follows the events of people: a merge moves the merged
// people's tickets to the survivor; a deleted person's tickets stay,
// detached; an erased person's words are removed from the desk.
func (s *Service) Subscribe(d *event.Dispatcher) {
	d.Subscribe(SubscriberName, []string{crm.EventContactsMerged, crm.EventContactDeleted, crm.EventContactErased},
		s.HandleEvent, event.SubscribeFromNow())
}

// HandleEvent is the handler Subscribe installs.
func (s *Service) HandleEvent(ctx context.Context, tx *store.Tx, ev crm.Event) error {
	switch ev.Type {
	case crm.EventContactsMerged:
		var p struct {
			MergedIDs []int64 `json:"merged_ids"`
		}
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			s.log.Error("desk: contact.merged payload does not decode; skipped", "event", ev.ID, "err", err)
			return nil
		}
		_, err := tx.MoveTickets(ctx, p.MergedIDs, ev.SubjectID)
		return err
	case crm.EventContactDeleted:
		_, err := tx.MoveTickets(ctx, []int64{ev.SubjectID}, 0)
		return err
	case crm.EventContactErased:
		if err := tx.EraseTicketsOf(ctx, ev.SubjectID); err != nil {
			return err
		}
		_, err := tx.MoveTickets(ctx, []int64{ev.SubjectID}, 0)
		return err
	}
	return nil
}

// --- Helpers ---

// checkText trims s and checks its length in characters.
func checkText(v *crm.Validation, field, s string, max int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > max {
		v.Add(field, "Use at most %d characters.", max)
	}
	return s
}

// cleanList trims a list of short texts, drops empty and repeated ones,
// and checks its length.
func cleanList(v *crm.Validation, field string, in []string, maxItems, maxLen int) []string {
	out := []string{}
	for i, x := range in {
		x = strings.TrimSpace(x)
		if x == "" || slices.Contains(out, x) {
			continue
		}
		if utf8.RuneCountInString(x) > maxLen {
			v.Add(fmt.Sprintf("%s[%d]", field, i), "Use at most %d characters.", maxLen)
			continue
		}
		out = append(out, x)
	}
	if len(out) > maxItems {
		v.Add(field, "Use at most %d.", maxItems)
	}
	return out
}

// checkChoices checks that every value of a list is one of choices.
func checkChoices(v *crm.Validation, field string, list, choices []string) []string {
	out := []string{}
	for i, x := range list {
		x = strings.TrimSpace(x)
		if x == "" || slices.Contains(out, x) {
			continue
		}
		if !slices.Contains(choices, x) {
			v.Add(fmt.Sprintf("%s[%d]", field, i), "Use one of %s.", strings.Join(choices, ", "))
			continue
		}
		out = append(out, x)
	}
	return out
}

// fieldErr is an error on one field.
func fieldErr(code, field, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return &crm.Error{Code: code, Message: msg, Fields: map[string]string{field: msg}}
}

// newRef returns the code of a ticket's subject token: five characters
// that are easy to read and type.
func newRef() string {
	const alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
	b := make([]byte, 5)
	rand.Read(b)
	for i, c := range b {
		b[i] = alphabet[int(c)%len(alphabet)]
	}
	return string(b)
}

// actor is the acting user's id (0 for the system and customers).
func actor(ctx context.Context) int64 { return crm.UserIDFromContext(ctx) }
