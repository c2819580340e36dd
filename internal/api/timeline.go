package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/crm"
)

// The customer timeline and what goes on it: interactions, notes, tasks,
// and the notifications they send.

// timelineItem is one entry of a person's or company's timeline: an event
// of any module. type says how to read payload (see docs/timeline.md).
type timelineItem struct {
	ID          int64           `json:"id"`
	Type        string          `json:"type"`
	Time        time.Time       `json:"time"`
	Actor       *activity.Actor `json:"actor"` // null for the system or a deleted user
	SubjectType string          `json:"subject_type"`
	SubjectID   int64           `json:"subject_id"`
	ContactID   int64           `json:"contact_id,omitempty"`
	CompanyID   int64           `json:"company_id,omitempty"`
	Payload     crm.RawJSON     `json:"payload"`
}

// interactionCreate is the body of POST /interactions.
type interactionCreate struct {
	ContactID       int64      `json:"contact_id,omitempty"`
	CompanyID       int64      `json:"company_id,omitempty"`
	Channel         string     `json:"channel"`
	Direction       string     `json:"direction"`
	Subject         string     `json:"subject,omitempty"`
	Body            string     `json:"body,omitempty"`
	UserID          int64      `json:"user_id,omitempty"`     // who had it; you when absent
	OccurredAt      *time.Time `json:"occurred_at,omitempty"` // now when absent
	DurationSeconds int        `json:"duration_seconds,omitempty"`
}

// noteCreate is the body of POST /notes.
type noteCreate struct {
	ContactID int64  `json:"contact_id,omitempty"`
	CompanyID int64  `json:"company_id,omitempty"`
	Body      string `json:"body"`
}

// notePatch is the body of PATCH /notes/{id}.
type notePatch struct {
	Body string `json:"body"`
}

// taskCreate is the body of POST /tasks.
type taskCreate struct {
	Kind       string     `json:"kind,omitempty"` // task (when absent), call or meeting
	Title      string     `json:"title"`
	Notes      string     `json:"notes,omitempty"`
	ContactID  int64      `json:"contact_id,omitempty"`
	CompanyID  int64      `json:"company_id,omitempty"`
	DealID     int64      `json:"deal_id,omitempty"`
	AssigneeID int64      `json:"assignee_id,omitempty"` // you when absent
	DueAt      *time.Time `json:"due_at,omitempty"`
	RemindAt   *time.Time `json:"remind_at,omitempty"`
}

// taskPatch is the body of PATCH /tasks/{id}: members present are
// changed; due_at or remind_at null clears that time.
type taskPatch struct {
	Kind       *string    `json:"kind,omitempty"`
	Title      *string    `json:"title,omitempty"`
	Notes      *string    `json:"notes,omitempty"`
	DueAt      *time.Time `json:"due_at"`
	RemindAt   *time.Time `json:"remind_at"`
	AssigneeID *int64     `json:"assignee_id,omitempty"`
}

// notificationsRead is the body of POST /notifications/read.
type notificationsRead struct {
	IDs []int64 `json:"ids,omitempty"`
	All bool    `json:"all,omitempty"`
}

var taskParams = []param{
	{Name: "assignee_id", Type: "integer", Description: "Only tasks assigned to this user."},
	{Name: "contact_id", Type: "integer", Description: "Only tasks about this person."},
	{Name: "company_id", Type: "integer", Description: "Only tasks about this company."},
	{Name: "deal_id", Type: "integer", Description: "Only activities about this deal."},
	{Name: "kind", Enum: crm.ActivityKinds, Description: "Only activities of this kind: task, call or meeting."},
	{Name: "open", Type: "boolean", Description: "true: only tasks not done; false: only done ones."},
	{Name: "due_before", Description: "Only tasks due before: RFC 3339, or a date (YYYY-MM-DD), which includes that whole day."},
}

var notificationParams = []param{
	{Name: "unread", Type: "boolean", Description: "true: only unread notifications."},
}

func (a *API) handleContactTimeline(w http.ResponseWriter, r *http.Request) {
	a.timeline(w, r, activity.EntityContact)
}

func (a *API) handleCompanyTimeline(w http.ResponseWriter, r *http.Request) {
	a.timeline(w, r, activity.EntityCompany)
}

func (a *API) timeline(w http.ResponseWriter, r *http.Request, entity string) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	page, err := parsePage(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	items, next, err := a.activity.Timeline(r.Context(), entity, id, page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := make([]timelineItem, len(items))
	for i, it := range items {
		ev := it.Event
		out[i] = timelineItem{ID: ev.ID, Type: it.Kind, Time: ev.CreatedAt, Actor: it.Actor, SubjectType: ev.SubjectType,
			SubjectID: ev.SubjectID, ContactID: ev.ContactID, CompanyID: ev.CompanyID, Payload: crm.RawJSON(ev.Payload)}
	}
	writeList(a, w, r, out, next)
}

func (a *API) handleInteractionCreate(w http.ResponseWriter, r *http.Request) {
	var in interactionCreate
	if _, err := decodeObject(r, &in, "occurred_at"); err != nil {
		a.writeError(w, r, err)
		return
	}
	it := crm.Interaction{ContactID: in.ContactID, CompanyID: in.CompanyID, Channel: in.Channel, Direction: in.Direction,
		Subject: in.Subject, Body: in.Body, UserID: in.UserID, DurationSeconds: in.DurationSeconds}
	if in.OccurredAt != nil {
		it.OccurredAt = *in.OccurredAt
	}
	out, err := a.activity.LogInteraction(r.Context(), it)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusCreated, out)
}

func (a *API) handleInteractionGet(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	it, err := a.activity.FindInteraction(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, it)
}

func (a *API) handleNoteCreate(w http.ResponseWriter, r *http.Request) {
	var in noteCreate
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	n, err := a.activity.AddNote(r.Context(), crm.Note{ContactID: in.ContactID, CompanyID: in.CompanyID, Body: in.Body})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusCreated, n)
}

func (a *API) handleNoteGet(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	n, err := a.activity.FindNote(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, n)
}

func (a *API) handleNoteUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in notePatch
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	n, err := a.activity.UpdateNote(r.Context(), id, in.Body)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, n)
}

func (a *API) handleNoteDelete(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.activity.DeleteNote(r.Context(), id); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) handleTaskList(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	page := readPage(r, &v)
	f := crm.TaskFilter{
		AssigneeID: queryInt64(r, "assignee_id", &v),
		ContactID:  queryInt64(r, "contact_id", &v),
		CompanyID:  queryInt64(r, "company_id", &v),
		DealID:     queryInt64(r, "deal_id", &v),
		Kind:       r.URL.Query().Get("kind"),
		Open:       queryBool(r, "open", &v),
		DueBefore:  queryTime(r, "due_before", true, &v),
		Limit:      page.Limit,
		After:      page.After,
	}
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	tasks, next, err := a.activity.ListTasks(r.Context(), f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, tasks, next)
}

func (a *API) handleTaskCreate(w http.ResponseWriter, r *http.Request) {
	var in taskCreate
	if _, err := decodeObject(r, &in, "due_at", "remind_at"); err != nil {
		a.writeError(w, r, err)
		return
	}
	t, err := a.activity.CreateTask(r.Context(), crm.Task{Kind: in.Kind, Title: in.Title, Notes: in.Notes, ContactID: in.ContactID,
		CompanyID: in.CompanyID, DealID: in.DealID, AssigneeID: in.AssigneeID, DueAt: in.DueAt, RemindAt: in.RemindAt})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", apiBase+"/tasks/"+strconv.FormatInt(t.ID, 10))
	a.writeJSON(w, r, http.StatusCreated, t)
}

func (a *API) handleTaskGet(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	t, err := a.activity.FindTask(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, t)
}

func (a *API) handleTaskUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in taskPatch
	sent, err := decodeObject(r, &in, "due_at", "remind_at")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	t, err := a.activity.UpdateTask(r.Context(), id, in.update(sent))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, t)
}

func (in taskPatch) update(sent map[string]json.RawMessage) activity.TaskUpdate {
	up := activity.TaskUpdate{Kind: in.Kind, Title: in.Title, Notes: in.Notes, AssigneeID: in.AssigneeID}
	if _, ok := sent["due_at"]; ok {
		due := in.DueAt
		up.DueAt = &due
	}
	if _, ok := sent["remind_at"]; ok {
		remind := in.RemindAt
		up.RemindAt = &remind
	}
	return up
}

func (a *API) handleTaskComplete(w http.ResponseWriter, r *http.Request) {
	a.setTaskDone(w, r, true)
}

func (a *API) handleTaskReopen(w http.ResponseWriter, r *http.Request) {
	a.setTaskDone(w, r, false)
}

func (a *API) setTaskDone(w http.ResponseWriter, r *http.Request, done bool) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var t *crm.Task
	if done {
		t, err = a.activity.CompleteTask(r.Context(), id)
	} else {
		t, err = a.activity.ReopenTask(r.Context(), id)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, t)
}

func (a *API) handleTaskDelete(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.activity.DeleteTask(r.Context(), id); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) handleNotificationList(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	page := readPage(r, &v)
	unread := queryBool(r, "unread", &v)
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	ns, next, err := a.activity.ListNotifications(r.Context(), crm.UserIDFromContext(r.Context()), unread != nil && *unread, page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, ns, next)
}

func (a *API) handleNotificationsRead(w http.ResponseWriter, r *http.Request) {
	var in notificationsRead
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	ctx, me := r.Context(), crm.UserIDFromContext(r.Context())
	var (
		n   int
		err error
	)
	switch {
	case in.All && len(in.IDs) > 0:
		err = &crm.Error{Code: crm.EINVALID, Message: "Send ids or all, not both.", Fields: map[string]string{"ids": "Leave out ids with all: true."}}
	case in.All:
		n, err = a.activity.MarkAllRead(ctx, me)
	case len(in.IDs) == 0:
		err = &crm.Error{Code: crm.EINVALID, Message: "Say which notifications to mark as read.", Fields: map[string]string{"ids": "Give ids, or all: true."}}
	default:
		n, err = a.activity.MarkRead(ctx, me, in.IDs)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, changed{Changed: n})
}
