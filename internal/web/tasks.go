package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
)

const taskPageSize = 50

// taskRef names what a task is about, with a link.
type taskRef struct {
	Name string
	URL  string
}

type tasksPage struct {
	base
	Tasks     []*crm.Task
	Reminders []*crm.Task
	About     map[int64]taskRef // task ID → its person or company
	Next      string
	First     string
	Form      form
	Users     []*crm.User
	DateHint  string
	Back      string
}

// taskTargets names the people and companies of tasks, in two queries.
func (s *server) taskTargets(ctx context.Context, tasks ...[]*crm.Task) (map[int64]taskRef, error) {
	var people, companies []int64
	for _, list := range tasks {
		for _, t := range list {
			if t.ContactID != 0 {
				people = append(people, t.ContactID)
			} else if t.CompanyID != 0 {
				companies = append(companies, t.CompanyID)
			}
		}
	}
	names := map[int64]string{}
	if len(people) > 0 {
		cs, _, err := s.contacts.ListContacts(ctx, crm.ContactFilter{IDs: people, Limit: crm.MaxLimit})
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			names[c.ID] = c.DisplayName()
		}
	}
	cnames, err := s.companyNames(ctx, companies)
	if err != nil {
		return nil, err
	}
	out := map[int64]taskRef{}
	for _, list := range tasks {
		for _, t := range list {
			switch {
			case t.ContactID != 0:
				out[t.ID] = taskRef{Name: names[t.ContactID], URL: "/contacts/" + strconv.FormatInt(t.ContactID, 10) + "#task-" + strconv.FormatInt(t.ID, 10)}
			case t.CompanyID != 0:
				out[t.ID] = taskRef{Name: cnames[t.CompanyID], URL: "/companies/" + strconv.FormatInt(t.CompanyID, 10) + "#task-" + strconv.FormatInt(t.ID, 10)}
			}
		}
	}
	return out, nil
}

func (s *server) handleTaskIndex(w http.ResponseWriter, r *http.Request) {
	s.renderTasks(w, r, http.StatusOK, form{Values: map[string]string{}})
}

// renderTasks shows the user's open tasks, by due date (so overdue ones
// come first), with the new-task form f.
func (s *server) renderTasks(w http.ResponseWriter, r *http.Request, status int, f form) {
	ctx := r.Context()
	st := state(r)
	open := true
	after := ""
	if r.Method == http.MethodGet {
		after = r.URL.Query().Get("after")
	}
	d := &tasksPage{base: s.page(r, "tasks.title"), Form: f, DateHint: st.p.DateInput(nowFunc()), Back: "/tasks"}
	if r.Method != http.MethodGet {
		d.Path = "/tasks"
	}
	tasks, next, err := s.activity.ListTasks(ctx, crm.TaskFilter{AssigneeID: st.user.ID, Open: &open, Limit: taskPageSize, After: after})
	if crm.ErrorCode(err) == crm.EINVALID && after != "" {
		after = ""
		tasks, next, err = s.activity.ListTasks(ctx, crm.TaskFilter{AssigneeID: st.user.ID, Open: &open, Limit: taskPageSize})
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Tasks = tasks
	if next != "" {
		d.Next = "/tasks?after=" + next
	}
	if after != "" {
		d.First = "/tasks"
		d.Back = "/tasks?after=" + after
	}
	if d.Reminders, err = s.activity.MyReminders(ctx, 0, 10); err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.About, err = s.taskTargets(ctx, d.Tasks, d.Reminders); err != nil {
		s.renderError(w, r, err)
		return
	}
	users, err := s.users(ctx)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Users = users.Active
	if d.Form.V("assignee_id") == "" {
		if d.Form.Values == nil {
			d.Form.Values = map[string]string{}
		}
		d.Form.Values["assignee_id"] = strconv.FormatInt(st.user.ID, 10)
	}
	s.render(w, r, status, "tasks", d)
}

// handleTaskShow sends a task's link to where the task is shown: its
// person's or company's timeline, else the task list.
func (s *server) handleTaskShow(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	t, err := s.activity.FindTask(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	anchor := "task-" + strconv.FormatInt(t.ID, 10)
	switch {
	case t.ContactID != 0:
		redirectTo(w, r, "/contacts/"+strconv.FormatInt(t.ContactID, 10), "", anchor)
	case t.CompanyID != 0:
		redirectTo(w, r, "/companies/"+strconv.FormatInt(t.CompanyID, 10), "", anchor)
	case t.DealID != 0 && s.sales != nil:
		redirectTo(w, r, "/sales/deals/"+strconv.FormatInt(t.DealID, 10), "", anchor)
	default:
		redirectTo(w, r, "/tasks", "", anchor)
	}
}

func (s *server) handleTaskComplete(w http.ResponseWriter, r *http.Request) {
	s.setTaskDone(w, r, true)
}

func (s *server) handleTaskReopen(w http.ResponseWriter, r *http.Request) {
	s.setTaskDone(w, r, false)
}

func (s *server) setTaskDone(w http.ResponseWriter, r *http.Request, done bool) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	var err error
	if done {
		_, err = s.activity.CompleteTask(r.Context(), id)
	} else {
		_, err = s.activity.ReopenTask(r.Context(), id)
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	notice := "task_done"
	if !done {
		notice = "task_reopened"
	}
	redirect(w, r, localPath(r.PostFormValue("next")), notice)
}

// --- Notifications ---

// notificationView is a notification framed in the user's language.
type notificationView struct {
	ID   int64
	Text string
	Link string
	When time.Time
}

// frameNotification says what a notification is about: its title is
// data (a task title, a note's first words), the sentence comes from the
// catalog by kind.
func frameNotification(p *locale.Printer, n *crm.Notification, users *userDirectory) notificationView {
	actor := users.Names[n.ActorID]
	if actor == "" {
		actor = p.T("audit.system")
	}
	key := "notifications.kind." + n.Kind
	if !p.Has(key) {
		key = "notifications.kind.other"
	}
	link := n.Link
	if link == "" {
		link = "/"
	}
	return notificationView{ID: n.ID, Text: p.T(key, "actor", actor, "title", n.Title), Link: localPath(link), When: n.CreatedAt}
}

// handleNotificationOpen marks a notification read and follows its link.
func (s *server) handleNotificationOpen(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if _, err := s.activity.MarkRead(r.Context(), state(r).user.ID, []int64{id}); err != nil {
		s.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
}

// handleNotificationsRead marks notifications read: those ticked (id), or
// all of them.
func (s *server) handleNotificationsRead(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	me := state(r).user.ID
	var err error
	if r.PostFormValue("all") == "1" {
		_, err = s.activity.MarkAllRead(r.Context(), me)
	} else {
		var ids []int64
		for _, v := range r.PostForm["id"] {
			if id, e := strconv.ParseInt(v, 10, 64); e == nil && id > 0 {
				ids = append(ids, id)
			}
		}
		_, err = s.activity.MarkRead(r.Context(), me, ids)
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, localPath(r.PostFormValue("next")), "notifications_read")
}

// --- The dashboard's cards ---

// workSummary is the dashboard's "My tasks" and notifications cards.
type workSummary struct {
	Tasks         []*crm.Task
	Reminders     []*crm.Task
	About         map[int64]taskRef
	Notifications []notificationView
	Unread        int
	MoreUnread    bool
}

const dashboardTasks = 8

func (s *server) workSummary(r *http.Request) (*workSummary, error) {
	ctx := r.Context()
	st := state(r)
	if s.activity == nil || !st.user.Can(crm.PermContactsRead) {
		return nil, nil
	}
	d := &workSummary{}
	var err error
	if d.Tasks, err = s.activity.MyOpenTasks(ctx, 0, dashboardTasks); err != nil {
		return nil, err
	}
	if d.Reminders, err = s.activity.MyReminders(ctx, 0, 5); err != nil {
		return nil, err
	}
	if d.About, err = s.taskTargets(ctx, d.Tasks, d.Reminders); err != nil {
		return nil, err
	}
	ns, _, err := s.activity.ListNotifications(ctx, st.user.ID, true, crm.Page{Limit: 10})
	if err != nil {
		return nil, err
	}
	if d.Unread, err = s.activity.UnreadCount(ctx, st.user.ID); err != nil {
		return nil, err
	}
	d.MoreUnread = d.Unread >= activity.MaxUnreadCount
	users, err := s.users(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range ns {
		d.Notifications = append(d.Notifications, frameNotification(st.p, n, users))
	}
	return d, nil
}
