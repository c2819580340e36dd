package app

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/campaign"
	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/segment"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/text"
	"github.com/pivand/pivand/internal/workflow"
)

// workflowActions does the workflow engine's steps with the other
// modules' services (workflow.Actions). Steps run as the system (no user
// in the context), so the services' permission checks let them through;
// what a workflow may do was decided by the person who published it.
type workflowActions struct{ a *App }

var _ workflow.Actions = workflowActions{}

// checkRules is the segment module's validation over the store's fields.
func (a *App) checkRules(ctx context.Context, root crm.Rule) (out crm.Rule, err error) {
	err = a.DB.Read(ctx, func(tx *store.Tx) error {
		out, err = segment.ValidateIn(ctx, tx, root)
		return err
	})
	return out, err
}

// fieldsOf turns a record into text values by its JSON names.
func fieldsOf(v any) map[string]string {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		switch y := x.(type) {
		case nil:
			out[k] = ""
		case string:
			out[k] = y
		case float64:
			out[k] = strconv.FormatFloat(y, 'f', -1, 64)
		case bool:
			out[k] = strconv.FormatBool(y)
		case []any:
			parts := make([]string, 0, len(y))
			for _, p := range y {
				if s, ok := p.(string); ok {
					parts = append(parts, s)
				}
			}
			out[k] = strings.Join(parts, ",")
		default:
			c, _ := json.Marshal(y)
			out[k] = string(c)
		}
	}
	return out
}

func (w workflowActions) Record(ctx context.Context, object string, id int64) (*workflow.Record, error) {
	a := w.a
	r := &workflow.Record{Object: object, ID: id}
	switch object {
	case workflow.ObjectContact:
		c, err := a.Contacts.FindContactByID(ctx, id)
		if err != nil {
			return nil, err
		}
		r.ContactID, r.Name, r.Fields = c.ID, c.DisplayName(), fieldsOf(c)
		if c.OwnerID != nil {
			r.OwnerID = *c.OwnerID
		}
	case workflow.ObjectCompany:
		c, err := a.Contacts.FindCompanyByID(ctx, id)
		if err != nil {
			return nil, err
		}
		r.Name, r.Fields = c.Name, fieldsOf(c)
		if c.OwnerID != nil {
			r.OwnerID = *c.OwnerID
		}
	case workflow.ObjectDeal:
		d, err := a.Sales.Deal(ctx, id)
		if err != nil {
			return nil, err
		}
		r.ContactID, r.OwnerID, r.Name, r.Fields = d.ContactID, d.OwnerID, d.Title, fieldsOf(d)
	case workflow.ObjectTicket:
		t, err := a.Desk.Ticket(ctx, id)
		if err != nil {
			return nil, err
		}
		r.ContactID, r.OwnerID, r.Name, r.Fields = t.ContactID, t.AssigneeID, t.Subject, fieldsOf(t)
	case workflow.ObjectOrder:
		o, err := a.Orders.Find(ctx, id)
		if err != nil {
			return nil, err
		}
		r.ContactID, r.Name, r.Fields = o.ContactID, "order "+strconv.FormatInt(o.ID, 10), fieldsOf(o)
	case workflow.ObjectMember:
		m, err := a.Club.Member(ctx, id)
		if err != nil {
			return nil, err
		}
		r.ContactID, r.Name, r.Fields = m.Member.ContactID, m.Name, fieldsOf(m.Member)
	default:
		return nil, crm.Errorf(crm.EINVALID, "Unknown record type %q.", object)
	}
	return r, nil
}

// taskMarker ends the notes of a task a workflow made: it says where the
// task came from and lets a repeated step find it instead of making a
// second one.
func taskMarker(key string) string { return "[" + key + "]" }

func (w workflowActions) CreateTask(ctx context.Context, t workflow.TaskAction) (string, error) {
	a := w.a
	in := crm.Task{Kind: crm.ActivityTask, Title: t.Title, ContactID: t.ContactID, AssigneeID: t.UserID, DueAt: t.Due}
	switch t.Object {
	case workflow.ObjectDeal:
		in.DealID = t.RecordID
	case workflow.ObjectCompany:
		in.CompanyID = t.RecordID
	}
	marker := taskMarker(t.Key)
	in.Notes = strings.TrimSpace(t.Body + "\n\n" + marker)
	f := crm.TaskFilter{ContactID: in.ContactID, DealID: in.DealID, CompanyID: in.CompanyID, Limit: crm.MaxLimit}
	if f.ContactID != 0 || f.DealID != 0 || f.CompanyID != 0 {
		existing, _, err := a.Activity.ListTasks(ctx, f)
		if err != nil {
			return "", err
		}
		for _, x := range existing {
			if strings.HasSuffix(x.Notes, marker) {
				return workflow.Say("task_exists", "id", x.ID, "title", x.Title), nil
			}
		}
	}
	task, err := a.Activity.CreateTask(ctx, in)
	if err != nil {
		return "", err
	}
	if task.AssigneeID == 0 {
		return workflow.Say("task_unassigned", "id", task.ID, "title", task.Title), nil
	}
	return workflow.Say("task_made", "id", task.ID, "title", task.Title, "user", task.AssigneeID), nil
}

func (w workflowActions) Assign(ctx context.Context, t workflow.Target, userID int64) (string, error) {
	a := w.a
	uid := userID
	owner := &uid
	switch t.Object {
	case workflow.ObjectContact:
		if _, err := a.Contacts.UpdateContact(ctx, t.RecordID, crm.ContactUpdate{OwnerID: &owner}); err != nil {
			return "", err
		}
	case workflow.ObjectCompany:
		if _, err := a.Contacts.UpdateCompany(ctx, t.RecordID, crm.CompanyUpdate{OwnerID: &owner}); err != nil {
			return "", err
		}
	case workflow.ObjectDeal:
		if _, err := a.Sales.UpdateDeal(ctx, t.RecordID, sales.DealUpdate{OwnerID: &uid}); err != nil {
			return "", err
		}
	case workflow.ObjectTicket:
		if _, err := a.Desk.Assign(ctx, t.RecordID, userID, 0); err != nil {
			return "", err
		}
	default:
		return "", workflow.Skip(workflow.Say("skip_no_owner", "object", t.Object))
	}
	return workflow.Say("assigned", "object", t.Object, "id", userID), nil
}

func (w workflowActions) UpdateField(ctx context.Context, t workflow.Target, field, value string) (string, error) {
	a := w.a
	v := value
	var err error
	switch t.Object + "." + field {
	case "contact.language":
		_, err = a.Contacts.UpdateContact(ctx, t.RecordID, crm.ContactUpdate{Language: &v})
	case "contact.source":
		_, err = a.Contacts.UpdateContact(ctx, t.RecordID, crm.ContactUpdate{Source: &v})
	case "contact.birthday":
		_, err = a.Contacts.UpdateContact(ctx, t.RecordID, crm.ContactUpdate{Birthday: &v})
	case "company.industry":
		_, err = a.Contacts.UpdateCompany(ctx, t.RecordID, crm.CompanyUpdate{Industry: &v})
	case "company.domain":
		_, err = a.Contacts.UpdateCompany(ctx, t.RecordID, crm.CompanyUpdate{Domain: &v})
	case "deal.expected_close":
		_, err = a.Sales.UpdateDeal(ctx, t.RecordID, sales.DealUpdate{ExpectedClose: &v})
	case "deal.source":
		_, err = a.Sales.UpdateDeal(ctx, t.RecordID, sales.DealUpdate{Source: &v})
	case "ticket.priority":
		_, err = a.Desk.Update(ctx, t.RecordID, desk.TicketPatch{Priority: &v})
	case "ticket.category":
		_, err = a.Desk.Update(ctx, t.RecordID, desk.TicketPatch{Category: &v})
	default:
		return "", crm.Errorf(crm.EINVALID, "A workflow cannot set %s of a %s.", field, t.Object)
	}
	if err != nil {
		return "", err
	}
	return workflow.Say("field_set", "field", field, "value", value), nil
}

func withTag(tags []string, tag string, add bool) ([]string, bool) {
	out := make([]string, 0, len(tags)+1)
	found := false
	for _, t := range tags {
		if strings.EqualFold(t, tag) {
			found = true
			if !add {
				continue
			}
		}
		out = append(out, t)
	}
	if add && !found {
		out = append(out, tag)
	}
	return out, found != add
}

func (w workflowActions) Tag(ctx context.Context, t workflow.Target, tag string, add bool) (string, error) {
	a := w.a
	done := workflow.Say("tag_added", "tag", tag)
	if !add {
		done = workflow.Say("tag_removed", "tag", tag)
	}
	// retag writes a record's tags with tag added or removed, unless
	// they are already so.
	retag := func(tags []string, write func([]string) error) (string, error) {
		next, changed := withTag(tags, tag, add)
		if !changed {
			return "", workflow.Skip(workflow.Say("skip_tag_same"))
		}
		return done, write(next)
	}
	switch t.Object {
	case workflow.ObjectContact:
		action := crm.BulkAddTag
		if !add {
			action = crm.BulkRemoveTag
		}
		if _, err := a.Contacts.Bulk(ctx, []int64{t.RecordID}, crm.BulkAction{Action: action, Tag: tag}); err != nil {
			return "", err
		}
		return done, nil
	case workflow.ObjectCompany:
		c, err := a.Contacts.FindCompanyByID(ctx, t.RecordID)
		if err != nil {
			return "", err
		}
		return retag(c.Tags, func(tags []string) error {
			_, err := a.Contacts.UpdateCompany(ctx, t.RecordID, crm.CompanyUpdate{Tags: &tags})
			return err
		})
	case workflow.ObjectDeal:
		d, err := a.Sales.Deal(ctx, t.RecordID)
		if err != nil {
			return "", err
		}
		return retag(d.Tags, func(tags []string) error {
			_, err := a.Sales.UpdateDeal(ctx, t.RecordID, sales.DealUpdate{Tags: &tags})
			return err
		})
	case workflow.ObjectTicket:
		tk, err := a.Desk.Ticket(ctx, t.RecordID)
		if err != nil {
			return "", err
		}
		return retag(tk.Tags, func(tags []string) error {
			_, err := a.Desk.Update(ctx, t.RecordID, desk.TicketPatch{Tags: &tags})
			return err
		})
	}
	// Orders and members have no tags: tag their person.
	if t.ContactID == 0 {
		return "", workflow.Skip(workflow.Say("skip_no_person_tag"))
	}
	return w.Tag(ctx, workflow.Target{Object: workflow.ObjectContact, RecordID: t.ContactID, ContactID: t.ContactID}, tag, add)
}

func (w workflowActions) SendMessage(ctx context.Context, m workflow.Message) (string, error) {
	to, err := w.a.Campaigns.SendOne(ctx, m.Channel, m.ContactID, m.Content, m.Key)
	var quiet *campaign.QuietHoursError
	if errors.As(err, &quiet) {
		return "", workflow.Defer(quiet.Until)
	}
	if errors.Is(err, campaign.ErrNotSent) {
		return "", workflow.Skip(strings.TrimPrefix(err.Error(), campaign.ErrNotSent.Error()+": "))
	}
	if err != nil {
		return "", err
	}
	return workflow.Say("message_sent", "channel", m.Channel, "to", to), nil
}

func (w workflowActions) AddToList(ctx context.Context, listID, contactID int64) (string, error) {
	n, err := w.a.Segments.AddMembers(ctx, listID, []int64{contactID})
	if err != nil {
		return "", err
	}
	if n == 0 {
		return "", workflow.Skip(workflow.Say("skip_on_list"))
	}
	return workflow.Say("list_added", "id", listID), nil
}

func (w workflowActions) Points(ctx context.Context, contactID, points int64, reason, key string) (string, error) {
	ms, err := w.a.Club.MembersOfContact(ctx, contactID)
	if err != nil {
		return "", err
	}
	var m *club.Member
	for _, x := range ms {
		if x.Status == "active" {
			m = x
			break
		}
	}
	if m == nil {
		return "", workflow.Skip(workflow.Say("skip_not_member"))
	}
	after, err := w.a.Club.Adjust(ctx, m.ID, club.Adjustment{Points: points, Reason: reason, Key: key})
	if err != nil {
		return "", err
	}
	if points < 0 {
		return workflow.Say("points_deducted", "n", -points, "member", m.Number, "available", after.Available), nil
	}
	return workflow.Say("points_awarded", "n", points, "member", m.Number, "available", after.Available), nil
}

func (w workflowActions) CreateTicket(ctx context.Context, t workflow.TicketAction) (string, error) {
	tk, err := w.a.Desk.Create(ctx, desk.TicketInput{Subject: t.Subject, Body: t.Body, Customer: crm.CustomerRef{ContactID: t.ContactID},
		Priority: t.Priority, Category: t.Category, Tags: []string{"workflow"}})
	if err != nil {
		return "", err
	}
	return workflow.Say("ticket_made", "id", tk.ID, "subject", tk.Subject), nil
}

func (w workflowActions) CallWebhook(ctx context.Context, subscriptionID int64, key string, body json.RawMessage) (string, error) {
	d, err := w.a.Webhooks.Send(ctx, subscriptionID, key, body)
	if err != nil {
		return "", err
	}
	return workflow.Say("webhook_queued", "id", d.ID, "webhook", subscriptionID), nil
}

func (w workflowActions) TeamMembers(ctx context.Context, teamID int64) ([]int64, error) {
	teams, err := w.a.Auth.ListTeams(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range teams {
		if t.ID == teamID {
			return t.MemberIDs, nil
		}
	}
	return nil, crm.Errorf(crm.ENOTFOUND, "Team %d was not found.", teamID)
}

func (w workflowActions) OpenTasks(ctx context.Context, userIDs []int64) (map[int64]int, error) {
	open := true
	out := make(map[int64]int, len(userIDs))
	for _, u := range userIDs {
		f := crm.TaskFilter{AssigneeID: u, Open: &open, Limit: crm.MaxLimit}
		for {
			ts, next, err := w.a.Activity.ListTasks(ctx, f)
			if err != nil {
				return nil, err
			}
			out[u] += len(ts)
			if next == "" || out[u] >= 1000 {
				break
			}
			f.After = next
		}
	}
	return out, nil
}

func (w workflowActions) SegmentMembers(ctx context.Context, tx *store.Tx, segmentID int64, fn func(contactID int64) error) error {
	return w.a.Segments.Members(ctx, tx, segmentID, fn)
}

func (w workflowActions) InboundContact(ctx context.Context, tx *store.Tx, body json.RawMessage) (int64, error) {
	var doc struct {
		ContactID json.Number `json:"contact_id"`
		Email     string      `json:"email"`
		Phone     string      `json:"phone"`
	}
	if len(body) == 0 || json.Unmarshal(body, &doc) != nil {
		return 0, nil
	}
	if id, err := doc.ContactID.Int64(); err == nil && id > 0 {
		ok, err := tx.ContactExists(ctx, id)
		if err != nil || !ok {
			return 0, err
		}
		return id, nil
	}
	try := func(kind, value string) (int64, error) {
		ids, err := tx.ContactsByKey(ctx, kind, value)
		if err != nil || len(ids) == 0 {
			return 0, err
		}
		return ids[0], nil
	}
	if e := strings.ToLower(strings.TrimSpace(doc.Email)); e != "" {
		if id, err := try("email", e); err != nil || id != 0 {
			return id, err
		}
	}
	if p := strings.TrimSpace(doc.Phone); p != "" {
		if e164, err := text.NormalizePhone(p, w.a.Contacts.Region()); err == nil {
			return try("phone", e164)
		}
	}
	return 0, nil
}

// businessLocation is the time zone schedules and date triggers use: the
// campaigns' setting (the business's), else UTC.
func (a *App) businessLocation(ctx context.Context) *time.Location {
	st, err := a.Campaigns.Settings(ctx)
	if err == nil && st.TimeZone != "" {
		if l, err := time.LoadLocation(st.TimeZone); err == nil {
			return l
		}
	}
	return time.UTC
}
