package activity

import (
	"context"
	"strconv"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
)

// JobTaskReminder is the job kind that sends a task's reminder.
const JobTaskReminder = "activity.task_reminder"

type reminderJob struct {
	TaskID   int64 `json:"task_id"`
	RemindAt int64 `json:"remind_at"` // Unix seconds, as planned
}

// RegisterJobs registers the reminder handler with the job runner.
func (s *Service) RegisterJobs(r *jobs.Runner) {
	r.Handle(JobTaskReminder, s.handleReminder)
}

// scheduleReminder enqueues the job for t's reminder time, if any, in
// tx. The unique key names the task and the time, so saving a task twice
// queues one job, and a changed time queues a new one; the old job finds
// the time changed and does nothing.
func scheduleReminder(ctx context.Context, tx *store.Tx, t *crm.Task) error {
	if t.RemindAt == nil || t.DoneAt != nil {
		return nil
	}
	at := t.RemindAt.Unix()
	_, err := jobs.Enqueue(ctx, tx, jobs.Job{
		Kind:      JobTaskReminder,
		Payload:   reminderJob{TaskID: t.ID, RemindAt: at},
		RunAt:     *t.RemindAt,
		UniqueKey: "task-reminder:" + strconv.FormatInt(t.ID, 10) + ":" + strconv.FormatInt(at, 10),
	})
	return err
}

// handleReminder notifies a task's assignee that its reminder time has
// come, once: not when the task is gone, done, unassigned or has another
// reminder time now, and not again when a run after a crash finds the
// notification already written.
func (s *Service) handleReminder(ctx context.Context, j *jobs.Claimed) error {
	var p reminderJob
	if err := j.Decode(&p); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		t, err := tx.FindTask(ctx, p.TaskID)
		if crm.ErrorCode(err) == crm.ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		if t.DoneAt != nil || t.AssigneeID == 0 || t.RemindAt == nil || t.RemindAt.Unix() != p.RemindAt {
			return nil
		}
		link := taskLink(t)
		sent, err := tx.NotificationExists(ctx, t.AssigneeID, NotifyTaskReminder, link, *t.RemindAt)
		if err != nil || sent {
			return err
		}
		return tx.InsertNotification(ctx, &crm.Notification{UserID: t.AssigneeID, Kind: NotifyTaskReminder, Title: t.Title, Link: link})
	})
}
