package web

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk"
)

// One ticket: its facts and SLA timers, the conversation with its
// attachments, and the agent's forms (reply or note with files and
// canned replies, status, assignment, team, priority and category,
// escalation, a customer's message taken on another channel, return
// requests), its surveys and its history.

// serviceUploadBytes bounds a form post with files: the desk's limit of
// one email, plus the form around it.
const serviceUploadBytes = desk.MaxMessageBytes + 1<<20

// serviceUpload reports whether a path is a service form that carries
// files (load lets it through unread; its handler checks the CSRF token).
func serviceUpload(path string) bool {
	if path == "/service/tickets" {
		return true
	}
	rest, ok := strings.CutPrefix(path, "/service/tickets/")
	if !ok {
		return false
	}
	_, action, _ := strings.Cut(rest, "/")
	return action == "reply" || action == "customer-message"
}

// readServiceForm parses a service form post, with files when it is
// multipart (its CSRF token is checked here, as load let it through), and
// returns the files of field "files".
func (s *server) readServiceForm(r *http.Request) ([]desk.FileInput, error) {
	if !isMultipart(r) {
		return nil, r.ParseForm()
	}
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &crm.Error{Code: crm.ETOOLARGE, Key: "service.error.upload_size",
				Message: fmt.Sprintf("The files are larger than %d MB together.", desk.MaxMessageBytes>>20)}
		}
		return nil, crm.Errorf(crm.EINVALID, "The form could not be read: %v", err)
	}
	st := state(r)
	if st.csrf == "" || subtle.ConstantTimeCompare([]byte(r.FormValue(csrfField)), []byte(st.csrf)) != 1 {
		return nil, &crm.Error{Code: crm.EFORBIDDEN, Key: "error.csrf", Message: "This form has expired. Go back, reload the page and try again."}
	}
	var out []desk.FileInput
	for _, fh := range r.MultipartForm.File["files"] {
		if fh.Size == 0 && fh.Filename == "" {
			continue
		}
		if fh.Size > desk.MaxAttachmentBytes {
			return nil, &crm.Error{Code: crm.EINVALID, Message: fmt.Sprintf("%s is larger than %d MB.", fh.Filename, desk.MaxAttachmentBytes>>20),
				Fields: map[string]string{"files": fmt.Sprintf("%s is larger than %d MB.", fh.Filename, desk.MaxAttachmentBytes>>20)}}
		}
		f, err := fh.Open()
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(io.LimitReader(f, desk.MaxAttachmentBytes+1))
		f.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, desk.FileInput{Filename: fh.Filename, ContentType: fh.Header.Get("Content-Type"), Data: b})
	}
	return out, nil
}

// messageView is one entry of the conversation.
type messageView struct {
	*crm.TicketMessage
	Author string
}

// changeView is one row of the history, in words.
type changeView struct {
	Field    string
	Old, New string
	Actor    string
	At       time.Time
	// Escalation, when set, makes this entry an escalation rather than a
	// field change: the history reads in time order either way.
	Escalation *crm.Escalation
}

// surveyView is a survey with the link agents may pass on.
type surveyView struct {
	*crm.Survey
	Link string
}

type ticketPage struct {
	serviceBase
	T           *crm.Ticket
	Customer    string
	Assignee    string
	Team        string
	Messages    []messageView
	History     []changeView
	Escalations []crm.Escalation
	Surveys     []surveyView
	Returns     []*crm.ReturnRequest
	OrderLines  []desk.OrderLine
	Agents      []*crm.Agent
	Teams       []*crm.DeskTeam
	Canned      []*crm.CannedReply
	Next        []string // the statuses the ticket may go to
	Statuses    []string
	Prios       []string
	Tiers       []string
	Categories  []string
	Reasons     []string
	Resolutions []string
	Now         time.Time
	Reply       form
	Change      form // status, assignment, team, fields, escalation
	Return      form
	Customer2   form // a customer's message on another channel
	CannedNote  string
	Email       bool // public replies on this ticket are emailed
}

// Due says when a timer is (or was) due, relative to now.
func (d *ticketPage) Due(t crm.SLATimer) string {
	if t.DueAt == nil {
		return ""
	}
	left := t.DueAt.Sub(d.Now)
	if left < 0 {
		return d.L.T("service.sla.overdue_by", "duration", serviceDuration(d.L, -left))
	}
	return d.L.T("service.sla.due_in", "duration", serviceDuration(d.L, left))
}

// FieldValue shows a history value in words.
func (d *ticketPage) FieldValue(field, v string) string {
	if v == "" {
		return "—"
	}
	switch field {
	case "status":
		return d.L.T("service.status." + v)
	case "priority":
		return d.L.T("service.priority." + v)
	case "tier":
		return d.L.T("service.tier." + v)
	case "assignee":
		id, _ := strconv.ParseInt(v, 10, 64)
		for _, a := range d.Agents {
			if a.UserID == id {
				return nameOr(a.Name, a.Email)
			}
		}
		return "#" + v
	case "team":
		id, _ := strconv.ParseInt(v, 10, 64)
		for _, t := range d.Teams {
			if t.TeamID == id {
				return t.Name
			}
		}
		return "#" + v
	}
	return v
}

// TeamName names a team by id.
func (d *ticketPage) TeamName(id int64) string {
	for _, t := range d.Teams {
		if t.TeamID == id {
			return t.Name
		}
	}
	return ""
}

func nameOr(name, email string) string {
	if name != "" {
		return name
	}
	return email
}

func (s *server) handleTicketShow(w http.ResponseWriter, r *http.Request) {
	f := form{Values: map[string]string{}}
	s.renderTicket(w, r, http.StatusOK, func(d *ticketPage) {
		d.Reply = f
		if c := r.URL.Query().Get("canned"); c != "" {
			id, _ := strconv.ParseInt(c, 10, 64)
			body, lang, err := s.desk.RenderCanned(r.Context(), id, d.T.ID, d.L.Lang())
			if err == nil {
				d.Reply.Values["body"] = body
				d.CannedNote = d.L.T("service.canned.inserted", "language", d.L.T("service.language."+lang))
			}
		}
	})
}

// renderTicket renders a ticket's page; fill sets the forms.
func (s *server) renderTicket(w http.ResponseWriter, r *http.Request, status int, fill func(*ticketPage)) {
	ctx := r.Context()
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	t, err := s.desk.Ticket(ctx, id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d := &ticketPage{serviceBase: s.servicePage(r, "service.ticket.title", ""), T: t, Statuses: crm.TicketStatuses, Prios: crm.TicketPriorities,
		Tiers: crm.TicketTiers, Reasons: crm.ReturnReasons, Resolutions: crm.ReturnResolutions, Now: nowFunc(),
		Reply: form{Values: map[string]string{}}, Change: form{Values: map[string]string{}}, Return: form{Values: map[string]string{"quantity": "1"}},
		Customer2: form{Values: map[string]string{}}, Email: t.Channel == crm.ChannelEmail || t.Channel == crm.ChannelWebForm}
	d.Title = d.L.T("service.ticket.title_of", "number", d.L.Digits(t.Number()), "subject", t.Subject)
	d.Next = crm.TicketTransitions[t.Status]
	names, err := s.desk.NamesFor(ctx, []*crm.Ticket{t})
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Customer, d.Assignee, d.Team = names.Contacts[t.ContactID], names.Users[t.AssigneeID], names.Teams[t.TeamID]
	msgs, err := s.desk.Messages(ctx, id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	var authors []*crm.Ticket // only for NamesFor's user lookup
	for _, m := range msgs {
		if m.AuthorID != 0 {
			authors = append(authors, &crm.Ticket{AssigneeID: m.AuthorID})
		}
	}
	an, err := s.desk.NamesFor(ctx, authors)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	for _, m := range msgs {
		d.Messages = append(d.Messages, messageView{TicketMessage: m, Author: an.Users[m.AuthorID]})
	}
	if d.Agents, err = s.desk.Agents(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.Teams, err = s.desk.Teams(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	changes, esc, err := s.desk.History(ctx, id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	var actors []*crm.Ticket
	for _, c := range changes {
		actors = append(actors, &crm.Ticket{AssigneeID: c.ActorID})
	}
	for _, e := range esc {
		actors = append(actors, &crm.Ticket{AssigneeID: e.ActorID})
	}
	cn, err := s.desk.NamesFor(ctx, actors)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	for _, c := range changes {
		d.History = append(d.History, changeView{Field: c.Field, Old: c.Old, New: c.New, Actor: cn.Users[c.ActorID], At: c.CreatedAt})
	}
	for i := range esc {
		d.History = append(d.History, changeView{Actor: cn.Users[esc[i].ActorID], At: esc[i].CreatedAt, Escalation: &esc[i]})
	}
	slices.SortStableFunc(d.History, func(a, b changeView) int { return a.At.Compare(b.At) })
	d.Escalations = esc
	svs, err := s.desk.TicketSurveys(ctx, id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	for _, sv := range svs {
		v := surveyView{Survey: sv}
		if d.CanWrite && sv.AnsweredAt == nil && !d.Email {
			v.Link, _ = s.desk.SurveyLink(ctx, sv.ID)
		}
		d.Surveys = append(d.Surveys, v)
	}
	if d.Returns, _, err = s.desk.Returns(ctx, desk.ReturnFilter{TicketID: id, Limit: 100}); err != nil {
		s.renderError(w, r, err)
		return
	}
	if t.ContactID != 0 {
		if d.OrderLines, err = s.desk.OrderLines(ctx, t.ContactID); err != nil {
			s.renderError(w, r, err)
			return
		}
	}
	if d.Canned, err = s.desk.CannedReplies(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	st, err := s.desk.Settings(ctx)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Categories = st.Categories
	if t.Category != "" && !slices.Contains(d.Categories, t.Category) {
		d.Categories = append(d.Categories, t.Category)
	}
	if fill != nil {
		fill(d)
	}
	s.render(w, r, status, "service_ticket", d)
}

// ticketPath is the page of ticket id, at an anchor.
func ticketPath(id int64, anchor string) string {
	p := "/service/tickets/" + strconv.FormatInt(id, 10)
	if anchor != "" {
		p += "#" + anchor
	}
	return p
}

// formVersion reads the version field of a ticket form.
func formVersion(r *http.Request) int64 {
	v, _ := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	return v
}

// failTicket shows the ticket again with err on one of its forms, or the
// error page for errors no form can explain.
func (s *server) failTicket(w http.ResponseWriter, r *http.Request, err error, which string, f form) {
	p := state(r).p
	code := crm.ErrorCode(err)
	if code != crm.EINVALID && code != crm.ECONFLICT && code != crm.ETOOLARGE {
		s.renderError(w, r, err)
		return
	}
	f.fail(p, err, ticketFieldKeys)
	if fields := crm.ErrorFields(err); code == crm.ECONFLICT && fields["status"] != "" && strings.Contains(fields["status"], " cannot go from ") {
		// A refused transition, in the reader's language, naming it.
		from, to := transitionOf(fields["status"])
		f.Error = &message{Text: p.T("service.error.transition", "from", p.T("service.status."+from), "to", p.T("service.status."+to))}
		f.Errors = nil
	}
	s.renderTicket(w, r, http.StatusUnprocessableEntity, func(d *ticketPage) {
		switch which {
		case "reply":
			d.Reply = f
		case "return":
			d.Return = f
		case "customer":
			d.Customer2 = f
		default:
			d.Change = f
		}
	})
}

// transitionOf reads the statuses out of crm.TicketTransitionError's
// message: "Ticket 7 cannot go from new to closed. …".
func transitionOf(msg string) (from, to string) {
	_, rest, _ := strings.Cut(msg, " cannot go from ")
	from, rest, _ = strings.Cut(rest, " to ")
	to, _, _ = strings.Cut(rest, ".")
	return from, to
}

func (s *server) handleTicketReply(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	files, err := s.readServiceForm(r)
	f := form{Values: map[string]string{"body": r.FormValue("body"), "kind": r.FormValue("kind"), "status": r.FormValue("status")}}
	if err != nil {
		s.failTicket(w, r, err, "reply", f)
		return
	}
	note := f.V("kind") == "note"
	_, err = s.desk.Reply(r.Context(), id, desk.ReplyInput{Body: f.V("body"), Note: note, Status: f.V("status"), Attachments: files,
		Version: formVersion(r)})
	if err != nil {
		s.failTicket(w, r, err, "reply", f)
		return
	}
	notice := "reply_sent"
	if note {
		notice = "note_added"
	}
	redirect(w, r, ticketPath(id, ""), notice)
}

func (s *server) handleTicketCustomerMessage(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	files, err := s.readServiceForm(r)
	f := form{Values: map[string]string{"body": r.FormValue("body")}}
	if err != nil {
		s.failTicket(w, r, err, "customer", f)
		return
	}
	_, t, err := s.desk.AddCustomerMessage(r.Context(), id, desk.CustomerMessageInput{Body: f.V("body"), Attachments: files})
	if err != nil {
		s.failTicket(w, r, err, "customer", f)
		return
	}
	redirect(w, r, ticketPath(t.ID, ""), "customer_message_added")
}

func (s *server) handleTicketStatus(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	f := newForm(r, "status")
	if _, err := s.desk.SetStatus(r.Context(), id, f.V("status"), formVersion(r)); err != nil {
		s.failTicket(w, r, err, "change", f)
		return
	}
	redirect(w, r, ticketPath(id, ""), "ticket_status")
}

func (s *server) handleTicketAssign(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	f := newForm(r, "assignee_id")
	ctx := r.Context()
	var err error
	switch v := f.V("assignee_id"); v {
	case "auto":
		var assigned bool
		if _, assigned, err = s.desk.AutoAssign(ctx, id); err == nil && !assigned {
			err = &crm.Error{Code: crm.ECONFLICT, Key: "service.error.nobody_free", Message: "Nobody in the ticket's team is free (or the team assigns by hand)."}
		}
	case "me":
		_, err = s.desk.Assign(ctx, id, state(r).user.ID, formVersion(r))
	default:
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil && v != "" {
			err = &crm.Error{Code: crm.EINVALID, Message: "Choose an agent.", Fields: map[string]string{"assignee_id": "Choose an agent."}}
			break
		}
		_, err = s.desk.Assign(ctx, id, n, formVersion(r))
	}
	if err != nil {
		s.failTicket(w, r, err, "change", f)
		return
	}
	redirect(w, r, ticketPath(id, ""), "ticket_assigned")
}

func (s *server) handleTicketTeam(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	f := newForm(r, "team_id")
	n, _ := strconv.ParseInt(f.V("team_id"), 10, 64)
	if _, err := s.desk.SetTeam(r.Context(), id, n, formVersion(r)); err != nil {
		s.failTicket(w, r, err, "change", f)
		return
	}
	redirect(w, r, ticketPath(id, ""), "ticket_updated")
}

func (s *server) handleTicketUpdate(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	f := newForm(r, "subject", "category", "priority", "tags")
	subject, category, priority, tags := f.V("subject"), f.V("category"), f.V("priority"), splitTags(f.V("tags"))
	if tags == nil {
		tags = []string{}
	}
	_, err := s.desk.Update(r.Context(), id, desk.TicketPatch{Subject: &subject, Category: &category, Priority: &priority, Tags: &tags,
		Version: formVersion(r)})
	if err != nil {
		s.failTicket(w, r, err, "change", f)
		return
	}
	redirect(w, r, ticketPath(id, ""), "ticket_updated")
}

func (s *server) handleTicketEscalate(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	f := newForm(r, "to_tier", "to_team_id", "reason")
	team, _ := strconv.ParseInt(f.V("to_team_id"), 10, 64)
	_, err := s.desk.Escalate(r.Context(), id, desk.EscalateInput{ToTier: f.V("to_tier"), ToTeamID: team, Reason: f.V("reason"), Version: formVersion(r)})
	if err != nil {
		s.failTicket(w, r, err, "change", f)
		return
	}
	redirect(w, r, ticketPath(id, ""), "ticket_escalated")
}

func (s *server) handleTicketReturn(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	p := state(r).p
	f := newForm(r, "order_line_id", "product", "quantity", "reason", "notes")
	in := desk.ReturnInput{Product: f.V("product"), Reason: f.V("reason"), Notes: f.V("notes")}
	in.OrderLineID, _ = strconv.ParseInt(f.V("order_line_id"), 10, 64)
	if v := f.V("quantity"); v != "" {
		n, err := p.ParseInt(v)
		if err != nil {
			f.invalid(p, "quantity", "service.error.quantity")
			s.failTicket(w, r, &crm.Error{Code: crm.EINVALID, Fields: map[string]string{"quantity": "Use a whole number."}}, "return", f)
			return
		}
		in.Quantity = n
	}
	if _, err := s.desk.CreateReturn(r.Context(), id, in); err != nil {
		s.failTicket(w, r, err, "return", f)
		return
	}
	redirect(w, r, ticketPath(id, "returns"), "return_requested")
}

// handleServiceAttachment serves an attachment: images, PDF and plain
// text may show in the browser, everything else (HTML above all) only
// downloads; nosniff and a sandbox CSP either way.
func (s *server) handleServiceAttachment(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	a, data, err := s.desk.Attachment(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	h := w.Header()
	disp := "attachment"
	ct := "application/octet-stream"
	if desk.InlineSafe(a.ContentType) && r.URL.Query().Get("download") == "" {
		disp, ct = "inline", a.ContentType
		if ct == "text/plain" {
			ct += "; charset=utf-8"
		}
	}
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": a.Filename}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'")
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(data)
	}
}
