package desk

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// TicketInput is a new ticket: who asks (Customer), what about, and
// their words (Body), as typed by an agent taking a call or sent through
// the API or a web form.
type TicketInput struct {
	Subject     string
	Body        string
	Customer    crm.CustomerRef
	Channel     string // one of crm.TicketChannels; phone unless set
	Category    string
	Priority    string // normal unless set
	Tier        string // tier1 unless set
	TeamID      int64  // the default team of the settings unless set
	AssigneeID  int64  // assigned at once (within capacity); else by the team's mode
	Tags        []string
	Custom      map[string]any
	Attachments []FileInput
}

// FileInput is an uploaded file.
type FileInput struct {
	Filename    string
	ContentType string // what the uploader claimed; the bytes are sniffed anyway
	Data        []byte
}

// newTicket is what createTx stores, from the API, the web or an email.
type newTicket struct {
	TicketInput
	ContactID   int64
	FollowUpOf  int64
	FromAddress string // the customer's email, for email tickets
	MessageID   string // the email's
	InReplyTo   string
	References  []string
}

// validateTicket checks the fields of a new ticket.
func validateTicket(in *TicketInput, st Settings) error {
	var v crm.Validation
	in.Subject = checkText(&v, "subject", in.Subject, MaxSubject)
	if in.Subject == "" {
		v.Add("subject", "A ticket needs a subject.")
	}
	in.Body = strings.TrimSpace(in.Body)
	if len([]rune(in.Body)) > MaxBody {
		v.Add("body", "Use at most %d characters.", MaxBody)
	}
	if in.Channel == "" {
		in.Channel = crm.ChannelPhone
	}
	if !slices.Contains(crm.TicketChannels, in.Channel) {
		v.Add("channel", "Use one of %s.", strings.Join(crm.TicketChannels, ", "))
	}
	if in.Priority == "" {
		in.Priority = crm.PriorityNormal
	}
	if !slices.Contains(crm.TicketPriorities, in.Priority) {
		v.Add("priority", "Use one of %s.", strings.Join(crm.TicketPriorities, ", "))
	}
	if in.Tier == "" {
		in.Tier = crm.Tier1
	}
	if !slices.Contains(crm.TicketTiers, in.Tier) {
		v.Add("tier", "Use one of %s.", strings.Join(crm.TicketTiers, ", "))
	}
	in.Category = checkText(&v, "category", in.Category, MaxShort)
	in.Tags = cleanList(&v, "tags", in.Tags, MaxTags, MaxTag)
	if in.Custom == nil {
		in.Custom = map[string]any{}
	}
	if len(in.Custom) > MaxCustom {
		v.Add("custom", "Use at most %d custom fields.", MaxCustom)
	}
	if in.TeamID < 0 {
		v.Add("team_id", "Name a team by its id.")
	}
	if in.AssigneeID < 0 {
		v.Add("assignee_id", "Name a user by their id.")
	}
	checkFiles(&v, in.Attachments)
	if in.Customer.IsZero() && in.Customer.FirstName == "" && in.Customer.LastName == "" {
		v.Add("customer", "Say who asks: a contact id, an email or a phone.")
	}
	if in.TeamID == 0 {
		in.TeamID = st.DefaultTeamID
	}
	return v.Err()
}

func checkFiles(v *crm.Validation, files []FileInput) {
	if len(files) > MaxAttachments {
		v.Add("attachments", "Attach at most %d files.", MaxAttachments)
	}
	for i, f := range files {
		if int64(len(f.Data)) > MaxAttachmentBytes {
			v.Add(fmt.Sprintf("attachments[%d]", i), "%s is larger than %d MB.", f.Filename, MaxAttachmentBytes>>20)
		}
	}
}

// Create opens a ticket for a customer found or created by
// in.Customer, with their words as its first message. Needs
// service:write.
func (s *Service) Create(ctx context.Context, in TicketInput) (*crm.Ticket, error) {
	if err := crm.Authorize(ctx, crm.PermServiceWrite, true); err != nil {
		return nil, err
	}
	var out *crm.Ticket
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		st, err := s.settings(ctx, tx)
		if err != nil {
			return err
		}
		if err := validateTicket(&in, st); err != nil {
			return err
		}
		contactID, err := s.resolve(ctx, tx, in.Customer)
		if err != nil {
			return err
		}
		out, err = s.createTx(ctx, tx, st, newTicket{TicketInput: in, ContactID: contactID})
		return err
	})
	return out, err
}

// resolve finds the customer of a ticket.
func (s *Service) resolve(ctx context.Context, tx *store.Tx, ref crm.CustomerRef) (int64, error) {
	if ref.ContactID != 0 && s.opts.Resolve == nil {
		_, ok, err := tx.FindDeskContact(ctx, ref.ContactID)
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, fieldErr(crm.EINVALID, "customer.contact_id", "Contact %d does not exist.", ref.ContactID)
		}
		return ref.ContactID, nil
	}
	if s.opts.Resolve == nil {
		return 0, fieldErr(crm.EINVALID, "customer", "Name the customer by contact id: the contacts module is not installed.")
	}
	return s.opts.Resolve(ctx, tx, ref)
}

// createTx stores a new ticket with its first message, chooses its SLA
// policy and sets its timers, runs the escalation rules for new tickets
// and assigns it.
func (s *Service) createTx(ctx context.Context, tx *store.Tx, st Settings, in newTicket) (*crm.Ticket, error) {
	if in.TeamID != 0 {
		if _, err := tx.FindTeamByID(ctx, in.TeamID); err != nil {
			if crm.ErrorCode(err) == crm.ENOTFOUND {
				return nil, fieldErr(crm.EINVALID, "team_id", "Team %d does not exist.", in.TeamID)
			}
			return nil, err
		}
	}
	now := tx.Now()
	t := &crm.Ticket{Ref: newRef(), Subject: in.Subject, ContactID: in.ContactID, Channel: in.Channel, Category: in.Category,
		Priority: in.Priority, Tier: in.Tier, Status: crm.TicketNew, TeamID: in.TeamID, Tags: in.Tags, Custom: in.Custom,
		FollowUpOf: in.FollowUpOf, CreatedBy: actor(ctx), LastCustomerAt: &now}
	if t.Tags == nil {
		t.Tags = []string{}
	}
	policy, err := s.choosePolicy(ctx, tx, t)
	if err != nil {
		return nil, err
	}
	if err := tx.InsertTicket(ctx, t); err != nil {
		return nil, err
	}
	if err := tx.InsertTicketChange(ctx, t.ID, "status", "", crm.TicketNew, actor(ctx)); err != nil {
		return nil, err
	}
	m := &crm.TicketMessage{TicketID: t.ID, Kind: crm.MessagePublic, Direction: crm.DirectionIn, AuthorID: actor(ctx), ContactID: t.ContactID,
		Body: in.Body, FromAddress: in.FromAddress, MessageID: in.MessageID, InReplyTo: in.InReplyTo, References: in.References}
	if _, err := tx.InsertTicketMessage(ctx, m); err != nil {
		return nil, err
	}
	if err := s.storeFiles(ctx, tx, m, in.Attachments); err != nil {
		return nil, err
	}
	if err := s.retime(ctx, tx, t, policy); err != nil {
		return nil, err
	}
	if err := tx.Audit(ctx, "ticket.create", "ticket", t.ID, nil, t); err != nil {
		return nil, err
	}
	p, err := ticketPayload(ctx, tx, t)
	if err != nil {
		return nil, err
	}
	if err := emit(ctx, tx, crm.EventTicketCreated, t, p); err != nil {
		return nil, err
	}
	if err := s.runRules(ctx, tx, t, crm.EscalateOnCreate, ""); err != nil {
		return nil, err
	}
	switch {
	case in.AssigneeID != 0:
		if err := s.assignTx(ctx, tx, t, in.AssigneeID, crm.AssignManual); err != nil {
			return nil, err
		}
	case t.TeamID != 0:
		if err := s.autoAssignTx(ctx, tx, t); err != nil {
			return nil, err
		}
	}
	return s.reload(ctx, tx, t.ID)
}

// reload reads a ticket again with its timers.
func (s *Service) reload(ctx context.Context, tx *store.Tx, id int64) (*crm.Ticket, error) {
	return tx.FindTicket(ctx, id, false)
}

// Ticket returns a ticket with its tags and SLA timers. Needs
// service:read.
func (s *Service) Ticket(ctx context.Context, id int64) (*crm.Ticket, error) {
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return nil, err
	}
	var out *crm.Ticket
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.FindTicket(ctx, id, false)
		return err
	})
	return out, err
}

// List returns tickets newest first. Needs service:read.
func (s *Service) List(ctx context.Context, f crm.TicketFilter) ([]*crm.Ticket, string, error) {
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return nil, "", err
	}
	var v crm.Validation
	for i, st := range f.Statuses {
		if !slices.Contains(crm.TicketStatuses, st) {
			v.Add(fmt.Sprintf("status[%d]", i), "Use one of %s.", strings.Join(crm.TicketStatuses, ", "))
		}
	}
	if f.Priority != "" && !slices.Contains(crm.TicketPriorities, f.Priority) {
		v.Add("priority", "Use one of %s.", strings.Join(crm.TicketPriorities, ", "))
	}
	if f.Channel != "" && !slices.Contains(crm.TicketChannels, f.Channel) {
		v.Add("channel", "Use one of %s.", strings.Join(crm.TicketChannels, ", "))
	}
	if f.Tier != "" && !slices.Contains(crm.TicketTiers, f.Tier) {
		v.Add("tier", "Use one of %s.", strings.Join(crm.TicketTiers, ", "))
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	var (
		out  []*crm.Ticket
		next string
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, next, err = tx.FindTickets(ctx, f)
		return err
	})
	return out, next, err
}

// Queue names an agent's view of the tickets.
type Queue string

// The queues of the agents' views.
const (
	QueueMine       Queue = "mine"       // active tickets assigned to me
	QueueTeam       Queue = "team"       // active tickets of my teams
	QueueUnassigned Queue = "unassigned" // active tickets nobody has
	QueueBreaching  Queue = "breaching"  // active tickets with a target due within the hour, or past due
	QueueAll        Queue = "all"        // every active ticket
	QueueSolved     Queue = "solved"     // solved and closed tickets
)

// Queues lists the queues in the order the UI shows them.
var Queues = []Queue{QueueMine, QueueTeam, QueueUnassigned, QueueBreaching, QueueAll, QueueSolved}

// BreachingWindow is how far ahead the breaching-soon queue looks.
const BreachingWindow = time.Hour

// QueueFilter returns the filter of a queue for the acting user at now.
func QueueFilter(ctx context.Context, q Queue, now time.Time) (crm.TicketFilter, bool) {
	me := actor(ctx)
	switch q {
	case QueueMine:
		return crm.TicketFilter{Active: true, AssigneeID: &me}, true
	case QueueTeam:
		return crm.TicketFilter{Active: true, TeamOf: me}, true
	case QueueUnassigned:
		zero := int64(0)
		return crm.TicketFilter{Active: true, AssigneeID: &zero}, true
	case QueueBreaching:
		due := now.Add(BreachingWindow)
		return crm.TicketFilter{Statuses: []string{crm.TicketNew, crm.TicketOpen, crm.TicketOnHold}, DueBefore: &due}, true
	case QueueAll:
		return crm.TicketFilter{Active: true}, true
	case QueueSolved:
		return crm.TicketFilter{Statuses: []string{crm.TicketSolved, crm.TicketClosed}}, true
	}
	return crm.TicketFilter{}, false
}

// QueueCounts counts the tickets of every queue for the acting user (at
// most 1000 each). Needs service:read.
func (s *Service) QueueCounts(ctx context.Context) (map[Queue]int, error) {
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return nil, err
	}
	out := map[Queue]int{}
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		for _, q := range Queues {
			if q == QueueSolved {
				continue
			}
			f, _ := QueueFilter(ctx, q, tx.Now())
			n, err := tx.CountTickets(ctx, f, 1000)
			if err != nil {
				return err
			}
			out[q] = n
		}
		return nil
	})
	return out, err
}

// TicketPatch changes a ticket; nil fields stay as they are. Version,
// when not 0, must be the ticket's current version.
type TicketPatch struct {
	Subject  *string
	Category *string
	Priority *string
	Tags     *[]string
	Custom   map[string]any // merged per key; a nil value removes the key
	Version  int64
}

// Update changes a ticket's subject, category, priority, tags or custom
// fields; a change of priority or category may choose another SLA policy.
// Needs service:write.
func (s *Service) Update(ctx context.Context, id int64, in TicketPatch) (*crm.Ticket, error) {
	if err := crm.Authorize(ctx, crm.PermServiceWrite, true); err != nil {
		return nil, err
	}
	var v crm.Validation
	if in.Subject != nil {
		*in.Subject = checkText(&v, "subject", *in.Subject, MaxSubject)
		if *in.Subject == "" {
			v.Add("subject", "A ticket needs a subject.")
		}
	}
	if in.Category != nil {
		*in.Category = checkText(&v, "category", *in.Category, MaxShort)
	}
	if in.Priority != nil && !slices.Contains(crm.TicketPriorities, *in.Priority) {
		v.Add("priority", "Use one of %s.", strings.Join(crm.TicketPriorities, ", "))
	}
	if in.Tags != nil {
		*in.Tags = cleanList(&v, "tags", *in.Tags, MaxTags, MaxTag)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *crm.Ticket
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		t, err := s.lockTicket(ctx, tx, id, in.Version)
		if err != nil {
			return err
		}
		before := *t
		var changed []string
		if in.Subject != nil && *in.Subject != t.Subject {
			t.Subject = *in.Subject
			changed = append(changed, "subject")
		}
		if in.Category != nil && *in.Category != t.Category {
			if err := tx.InsertTicketChange(ctx, id, "category", t.Category, *in.Category, actor(ctx)); err != nil {
				return err
			}
			t.Category = *in.Category
			changed = append(changed, "category")
		}
		if in.Priority != nil && *in.Priority != t.Priority {
			if err := tx.InsertTicketChange(ctx, id, "priority", t.Priority, *in.Priority, actor(ctx)); err != nil {
				return err
			}
			t.Priority = *in.Priority
			changed = append(changed, "priority")
		}
		if in.Tags != nil && !slices.Equal(*in.Tags, t.Tags) {
			t.Tags = *in.Tags
			changed = append(changed, "tags")
		}
		if len(in.Custom) > 0 {
			if t.Custom == nil {
				t.Custom = map[string]any{}
			}
			for k, val := range in.Custom {
				if val == nil {
					delete(t.Custom, k)
				} else {
					t.Custom[k] = val
				}
			}
			if len(t.Custom) > MaxCustom {
				return fieldErr(crm.EINVALID, "custom", "Use at most %d custom fields.", MaxCustom)
			}
			changed = append(changed, "custom")
		}
		if len(changed) == 0 {
			out = t
			return nil
		}
		if err := s.save(ctx, tx, t, true); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "ticket.update", "ticket", id, before, t); err != nil {
			return err
		}
		p, err := ticketPayload(ctx, tx, t)
		if err != nil {
			return err
		}
		if err := emit(ctx, tx, crm.EventTicketUpdated, t, UpdatedPayload{TicketPayload: p, Changed: changed}); err != nil {
			return err
		}
		out, err = s.reload(ctx, tx, id)
		return err
	})
	return out, err
}

// lockTicket reads a ticket for a change, locked; version, when not 0,
// must still be the ticket's.
func (s *Service) lockTicket(ctx context.Context, tx *store.Tx, id, version int64) (*crm.Ticket, error) {
	t, err := tx.FindTicket(ctx, id, true)
	if err != nil {
		return nil, err
	}
	if version != 0 && version != t.Version {
		return nil, &crm.Error{Code: crm.ECONFLICT, Key: "service.error.stale",
			Message: fmt.Sprintf("Ticket %d was changed by someone else since you opened it (version %d, now %d); reload it and try again.", id, version, t.Version)}
	}
	return t, nil
}

// save writes a changed ticket; with retime the SLA policy is chosen
// again and the timers are recomputed.
func (s *Service) save(ctx context.Context, tx *store.Tx, t *crm.Ticket, retime bool) error {
	var policy *crm.SLAPolicy
	if retime {
		var err error
		if policy, err = s.choosePolicy(ctx, tx, t); err != nil {
			return err
		}
	}
	ok, err := tx.UpdateTicket(ctx, t)
	if err != nil {
		return err
	}
	if !ok {
		return crm.Errorf(crm.EUNAVAILABLE, "Ticket %d changed while it was saved; try again.", t.ID)
	}
	if retime {
		return s.retime(ctx, tx, t, policy)
	}
	return nil
}

// SetStatus moves a ticket to another status along the status machine;
// any other change is refused with a conflict naming the transition.
// Solving sends the satisfaction survey and schedules the close; a
// reopen starts the SLA clocks again. Needs service:write.
func (s *Service) SetStatus(ctx context.Context, id int64, status string, version int64) (*crm.Ticket, error) {
	if err := crm.Authorize(ctx, crm.PermServiceWrite, true); err != nil {
		return nil, err
	}
	if !slices.Contains(crm.TicketStatuses, status) {
		return nil, fieldErr(crm.EINVALID, "status", "Use one of %s.", strings.Join(crm.TicketStatuses, ", "))
	}
	var out *crm.Ticket
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		t, err := s.lockTicket(ctx, tx, id, version)
		if err != nil {
			return err
		}
		st, err := s.settings(ctx, tx)
		if err != nil {
			return err
		}
		if err := s.transition(ctx, tx, st, t, status); err != nil {
			return err
		}
		if err := s.save(ctx, tx, t, true); err != nil {
			return err
		}
		out, err = s.reload(ctx, tx, id)
		return err
	})
	return out, err
}

// transition changes t's status in memory and writes its history, audit
// entry, events and the jobs a status asks for; the caller saves t.
func (s *Service) transition(ctx context.Context, tx *store.Tx, st Settings, t *crm.Ticket, to string) error {
	from := t.Status
	if !crm.TicketTransitionAllowed(from, to) {
		return crm.TicketTransitionError(t.ID, from, to)
	}
	now := tx.Now()
	t.Status = to
	switch to {
	case crm.TicketSolved:
		t.SolvedAt = &now
	case crm.TicketClosed:
		t.ClosedAt = &now
	case crm.TicketOpen, crm.TicketPending, crm.TicketOnHold:
		if from == crm.TicketSolved {
			t.SolvedAt = nil // reopened
		}
	}
	if err := tx.InsertTicketChange(ctx, t.ID, "status", from, to, actor(ctx)); err != nil {
		return err
	}
	if err := tx.Audit(ctx, "ticket.status", "ticket", t.ID, map[string]string{"status": from}, map[string]string{"status": to}); err != nil {
		return err
	}
	p, err := ticketPayload(ctx, tx, t)
	if err != nil {
		return err
	}
	sp := StatusPayload{TicketPayload: p, From: from, To: to}
	if err := emit(ctx, tx, crm.EventTicketStatusChanged, t, sp); err != nil {
		return err
	}
	if to == crm.TicketSolved {
		if err := emit(ctx, tx, crm.EventTicketSolved, t, sp); err != nil {
			return err
		}
		if err := s.scheduleClose(ctx, tx, st, t); err != nil {
			return err
		}
		if err := s.offerSurvey(ctx, tx, st, t); err != nil {
			return err
		}
	}
	return nil
}

// History returns a ticket's changes and escalations, oldest first.
// Needs service:read.
func (s *Service) History(ctx context.Context, id int64) ([]store.TicketChange, []crm.Escalation, error) {
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return nil, nil, err
	}
	var (
		ch  []store.TicketChange
		esc []crm.Escalation
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		if _, err := tx.FindTicket(ctx, id, false); err != nil {
			return err
		}
		var err error
		if ch, err = tx.TicketHistory(ctx, id, ""); err != nil {
			return err
		}
		esc, err = tx.TicketEscalations(ctx, id)
		return err
	})
	return ch, esc, err
}

// Names are the display names a list of tickets shows.
type Names struct {
	Contacts map[int64]string
	Users    map[int64]string
	Teams    map[int64]string
}

// NamesFor returns the names of the customers, agents and teams of
// tickets, in a few queries. Needs service:read.
func (s *Service) NamesFor(ctx context.Context, ts []*crm.Ticket) (Names, error) {
	out := Names{Contacts: map[int64]string{}, Users: map[int64]string{}, Teams: map[int64]string{}}
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return out, err
	}
	var cids, uids []int64
	for _, t := range ts {
		cids = append(cids, t.ContactID)
		uids = append(uids, t.AssigneeID)
	}
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		if out.Contacts, err = tx.DeskContactNames(ctx, cids); err != nil {
			return err
		}
		if out.Users, err = tx.DeskUserNames(ctx, uids); err != nil {
			return err
		}
		teams, err := tx.ListTeams(ctx)
		for _, tm := range teams {
			out.Teams[tm.ID] = tm.Name
		}
		return err
	})
	return out, err
}
