package activity

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// TaskUpdate changes a task; nil fields stay as they are. DueAt and
// RemindAt set to a nil *time.Time clear the date; AssigneeID 0 leaves the
// task unassigned.
type TaskUpdate struct {
	Kind       *string     `json:"kind,omitempty"`
	Title      *string     `json:"title,omitempty"`
	Notes      *string     `json:"notes,omitempty"`
	DueAt      **time.Time `json:"due_at,omitempty"`
	RemindAt   **time.Time `json:"remind_at,omitempty"`
	AssigneeID *int64      `json:"assignee_id,omitempty"`
}

// CreateTask adds a task (a to-do, a call or a meeting: Kind, "task" when
// empty), usually about a person, a company or a deal (then it shows on
// their timeline; a task about a deal is also about the deal's person and
// company unless it names others). The title is required; due and
// reminder times are optional and independent (a reminder before the due
// time is the usual case). The assignee defaults to the creator and must
// be an active user; assigning someone else notifies them. A reminder
// time schedules a job that notifies the assignee then, if the task is
// still open.
func (s *Service) CreateTask(ctx context.Context, in crm.Task) (*crm.Task, error) {
	if err := crm.Authorize(ctx, crm.PermContactsWrite, true); err != nil {
		return nil, err
	}
	actor := crm.UserIDFromContext(ctx)
	t := &crm.Task{
		Kind:       strings.TrimSpace(in.Kind),
		Title:      strings.TrimSpace(in.Title),
		Notes:      strings.TrimSpace(in.Notes),
		ContactID:  in.ContactID,
		CompanyID:  in.CompanyID,
		DealID:     in.DealID,
		AssigneeID: in.AssigneeID,
		DueAt:      dateOrNil(in.DueAt),
		RemindAt:   dateOrNil(in.RemindAt),
		CreatedBy:  actor,
	}
	if t.AssigneeID == 0 {
		t.AssigneeID = actor
	}
	if t.Kind == "" {
		t.Kind = crm.ActivityTask
	}
	var v crm.Validation
	validateTask(&v, t)
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := checkTargets(ctx, tx, &v, t.ContactID, t.CompanyID, false); err != nil {
			return err
		}
		if err := dealTarget(ctx, tx, &v, t); err != nil {
			return err
		}
		assignee, err := checkAssignee(ctx, tx, &v, t.AssigneeID)
		if err != nil {
			return err
		}
		if err := v.Err(); err != nil {
			return err
		}
		if err := tx.InsertTask(ctx, t); err != nil {
			return err
		}
		if err := emit(ctx, tx, crm.EventTaskCreated, "task", t.ID, t.ContactID, t.CompanyID, taskCard(t, assignee)); err != nil {
			return err
		}
		if err := notify(ctx, tx, actor, []int64{t.AssigneeID}, NotifyTaskAssigned, t.Title, taskLink(t)); err != nil {
			return err
		}
		return scheduleReminder(ctx, tx, t)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// UpdateTask changes a task's title, notes, dates or assignee. The task's
// timeline card shows the change; a task.updated event (off the timeline)
// lists the changed fields. A new assignee other than the acting user is
// notified; a new reminder time is scheduled.
func (s *Service) UpdateTask(ctx context.Context, id int64, up TaskUpdate) (*crm.Task, error) {
	if err := crm.Authorize(ctx, crm.PermContactsWrite, true); err != nil {
		return nil, err
	}
	var t *crm.Task
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if t, err = tx.FindTask(ctx, id); err != nil {
			return err
		}
		before := *t
		var changed []string
		if up.Kind != nil {
			t.Kind = strings.TrimSpace(*up.Kind)
			if t.Kind != before.Kind {
				changed = append(changed, "kind")
			}
		}
		if up.Title != nil {
			t.Title = strings.TrimSpace(*up.Title)
			if t.Title != before.Title {
				changed = append(changed, "title")
			}
		}
		if up.Notes != nil {
			t.Notes = strings.TrimSpace(*up.Notes)
			if t.Notes != before.Notes {
				changed = append(changed, "notes")
			}
		}
		if up.DueAt != nil {
			t.DueAt = dateOrNil(*up.DueAt)
			if !sameTime(t.DueAt, before.DueAt) {
				changed = append(changed, "due_at")
			}
		}
		if up.RemindAt != nil {
			t.RemindAt = dateOrNil(*up.RemindAt)
			if !sameTime(t.RemindAt, before.RemindAt) {
				changed = append(changed, "remind_at")
			}
		}
		if up.AssigneeID != nil {
			t.AssigneeID = *up.AssigneeID
			if t.AssigneeID != before.AssigneeID {
				changed = append(changed, "assignee_id")
			}
		}
		var v crm.Validation
		validateTask(&v, t)
		// A deactivated assignee may stay on the task; a new one must be active.
		check := &v
		if t.AssigneeID == before.AssigneeID {
			check = &crm.Validation{}
		}
		assignee, err := checkAssignee(ctx, tx, check, t.AssigneeID)
		if err != nil {
			return err
		}
		if err := v.Err(); err != nil {
			return err
		}
		if len(changed) == 0 {
			return nil
		}
		if err := tx.UpdateTask(ctx, t); err != nil {
			return err
		}
		if err := setCard(ctx, tx, crm.EventTaskCreated, "task", t.ID, taskCard(t, assignee)); err != nil {
			return err
		}
		if err := emit(ctx, tx, EventTaskUpdated, "task", t.ID, 0, 0, ChangePayload{
			TaskID: t.ID, ContactID: t.ContactID, CompanyID: t.CompanyID, Changed: changed,
		}); err != nil {
			return err
		}
		if t.AssigneeID != before.AssigneeID && t.DoneAt == nil {
			if err := notify(ctx, tx, crm.UserIDFromContext(ctx), []int64{t.AssigneeID}, NotifyTaskAssigned, t.Title, taskLink(t)); err != nil {
				return err
			}
		}
		if !sameTime(t.RemindAt, before.RemindAt) {
			return scheduleReminder(ctx, tx, t)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// CompleteTask marks a task done (a no-op when it is done already) and
// puts a task.completed entry on the timeline.
func (s *Service) CompleteTask(ctx context.Context, id int64) (*crm.Task, error) {
	return s.setDone(ctx, id, true)
}

// ReopenTask marks a done task open again (a no-op when it is open) and
// puts a task.reopened entry on the timeline. A reminder still ahead
// fires as planned.
func (s *Service) ReopenTask(ctx context.Context, id int64) (*crm.Task, error) {
	return s.setDone(ctx, id, false)
}

func (s *Service) setDone(ctx context.Context, id int64, done bool) (*crm.Task, error) {
	if err := crm.Authorize(ctx, crm.PermContactsWrite, true); err != nil {
		return nil, err
	}
	var t *crm.Task
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if t, err = tx.FindTask(ctx, id); err != nil {
			return err
		}
		if (t.DoneAt != nil) == done {
			return nil
		}
		typ := EventTaskReopened
		t.DoneAt = nil
		if done {
			typ = crm.EventTaskCompleted
			now := tx.Now()
			t.DoneAt = &now
		}
		if err := tx.UpdateTask(ctx, t); err != nil {
			return err
		}
		users, err := tx.UserRefs(ctx, []int64{t.AssigneeID})
		if err != nil {
			return err
		}
		if err := setCard(ctx, tx, crm.EventTaskCreated, "task", t.ID, taskCard(t, users[t.AssigneeID])); err != nil {
			return err
		}
		if err := emit(ctx, tx, typ, "task", t.ID, t.ContactID, t.CompanyID, TaskStatePayload{TaskID: t.ID, Title: t.Title, DoneAt: t.DoneAt}); err != nil {
			return err
		}
		if !done && t.RemindAt != nil && t.RemindAt.After(tx.Now()) {
			return scheduleReminder(ctx, tx, t)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// DeleteTask removes a task: its creator, or a user who may delete
// contacts. It leaves the timeline, its notifications are withdrawn, and
// a task.deleted event (off the timeline) and an audit entry record it.
func (s *Service) DeleteTask(ctx context.Context, id int64) error {
	if err := crm.Authorize(ctx, crm.PermContactsWrite, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		t, err := tx.FindTask(ctx, id)
		if err != nil {
			return err
		}
		if err := ownerOrDeleter(ctx, t.CreatedBy, "task"); err != nil {
			return err
		}
		if err := tx.DeleteTask(ctx, id); err != nil {
			return err
		}
		gone, _ := json.Marshal(ChangePayload{TaskID: id})
		if _, err := tx.DetachSubjectEvents(ctx, "task", id, gone); err != nil {
			return err
		}
		if err := tx.DeleteNotificationsByLink(ctx, taskLink(t)); err != nil {
			return err
		}
		ref := ChangePayload{TaskID: id, ContactID: t.ContactID, CompanyID: t.CompanyID}
		if err := tx.Audit(ctx, "task.delete", "task", id, ref, nil); err != nil {
			return err
		}
		return emit(ctx, tx, EventTaskDeleted, "task", id, 0, 0, ref)
	})
}

// FindTask returns one task.
func (s *Service) FindTask(ctx context.Context, id int64) (*crm.Task, error) {
	if err := crm.Authorize(ctx, crm.PermContactsRead, false); err != nil {
		return nil, err
	}
	var t *crm.Task
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		t, err = tx.FindTask(ctx, id)
		return err
	})
	return t, err
}

// ListTasks returns tasks by due date (undated last), then id, with cursor
// paging: f.After is the next cursor of the previous page.
func (s *Service) ListTasks(ctx context.Context, f crm.TaskFilter) ([]*crm.Task, string, error) {
	if err := crm.Authorize(ctx, crm.PermContactsRead, false); err != nil {
		return nil, "", err
	}
	if f.Kind != "" && !slices.Contains(crm.ActivityKinds, f.Kind) {
		return nil, "", &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"kind": "Use task, call or meeting."}}
	}
	var (
		tasks []*crm.Task
		next  string
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		tasks, next, err = tx.ListTasks(ctx, f)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return tasks, next, nil
}

// MyOpenTasks returns up to limit open tasks assigned to a user (0: the
// acting user) for the dashboard: overdue first, then by due date, undated
// last.
func (s *Service) MyOpenTasks(ctx context.Context, userID int64, limit int) ([]*crm.Task, error) {
	if userID == 0 {
		userID = crm.UserIDFromContext(ctx)
	}
	if userID <= 0 {
		return nil, crm.Errorf(crm.EINVALID, "Whose tasks?")
	}
	open := true
	tasks, _, err := s.ListTasks(ctx, crm.TaskFilter{AssigneeID: userID, Open: &open, Limit: limit})
	return tasks, err
}

// MyReminders returns up to limit open tasks assigned to a user (0: the
// acting user) whose reminder time has come, oldest reminder first.
func (s *Service) MyReminders(ctx context.Context, userID int64, limit int) ([]*crm.Task, error) {
	if err := crm.Authorize(ctx, crm.PermContactsRead, false); err != nil {
		return nil, err
	}
	if userID == 0 {
		userID = crm.UserIDFromContext(ctx)
	}
	if userID <= 0 {
		return nil, crm.Errorf(crm.EINVALID, "Whose reminders?")
	}
	var tasks []*crm.Task
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		tasks, err = tx.DueReminders(ctx, userID, limit)
		return err
	})
	return tasks, err
}

func validateTask(v *crm.Validation, t *crm.Task) {
	if !slices.Contains(crm.ActivityKinds, t.Kind) {
		v.Add("kind", "Use task, call or meeting.")
	}
	switch {
	case t.Title == "":
		v.Add("title", "A task needs a title.")
	case runeLen(t.Title) > MaxTaskTitleLen:
		v.Add("title", "A title is at most %d characters.", MaxTaskTitleLen)
	}
	if runeLen(t.Notes) > MaxTaskNotesLen {
		v.Add("notes", "Notes are at most %d characters.", MaxTaskNotesLen)
	}
	if t.AssigneeID < 0 {
		v.Add("assignee_id", "Choose an active user.")
	}
}

// checkAssignee validates a task's assignee (0: none) and returns it.
func checkAssignee(ctx context.Context, tx *store.Tx, v *crm.Validation, id int64) (store.UserRef, error) {
	if id <= 0 {
		return store.UserRef{}, nil
	}
	users, err := tx.UserRefs(ctx, []int64{id})
	if err != nil {
		return store.UserRef{}, err
	}
	u, ok := users[id]
	if !ok || !u.Active {
		v.Add("assignee_id", "Choose an active user.")
	}
	return u, nil
}

// dealTarget checks a task's deal (0: none) and, when the task names no
// person or company, makes it about the deal's.
func dealTarget(ctx context.Context, tx *store.Tx, v *crm.Validation, t *crm.Task) error {
	if t.DealID == 0 {
		return nil
	}
	contactID, companyID, ok, err := tx.DealParties(ctx, t.DealID)
	if err != nil {
		return err
	}
	if !ok || t.DealID < 0 {
		v.Add("deal_id", "This deal does not exist.")
		return nil
	}
	if t.ContactID == 0 && t.CompanyID == 0 {
		t.ContactID, t.CompanyID = contactID, companyID
	}
	return nil
}

func taskCard(t *crm.Task, assignee store.UserRef) TaskPayload {
	return TaskPayload{TaskID: t.ID, Kind: t.Kind, DealID: t.DealID, Title: t.Title, DueAt: t.DueAt, RemindAt: t.RemindAt,
		AssigneeID: t.AssigneeID, AssigneeName: assignee.Name, DoneAt: t.DoneAt}
}

func taskLink(t *crm.Task) string { return itemLink("task", t.ID, t.ContactID, t.CompanyID) }

// dateOrNil drops a zero time (an empty form field) and normalises to UTC.
func dateOrNil(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
