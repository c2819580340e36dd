package desk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk/email"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/store"
)

// Email in and out. Mail to the support address becomes a ticket, or a
// message on the ticket it answers: found by In-Reply-To and References
// against the Message-IDs of every stored message (ours and the
// customer's), and failing that by the ticket token in the subject
// ([#42-K7Q2M]: the number and its code, so knowing a number is not
// enough to write into someone's ticket). Replies leave through the
// smarthost as jobs, each with a fresh Message-ID, In-Reply-To the
// customer's latest mail and References the conversation, so every mail
// client threads them. Automatic mail (auto-replies, bounces, mail from
// ourselves) never opens a ticket, never reopens one and is never
// answered: that is what stops mail loops.

// Envelope is what the SMTP conversation said of a message.
type Envelope struct {
	From string   // MAIL FROM; "" for the null sender <>
	To   []string // RCPT TO
}

// Received says what an inbound email became.
type Received struct {
	TicketID  int64
	MessageID int64
	Created   bool   // a new ticket
	Duplicate bool   // this Message-ID was stored before: nothing changed
	Ignored   string // why an automatic message changed nothing ("" otherwise)
}

var tokenRE = regexp.MustCompile(`\[#(\d{1,18})-([0-9A-Z]{5})\]`)

// ReceiveEmail stores an inbound email (the SMTP receiver calls it; so
// may an import). It runs as the system.
func (s *Service) ReceiveEmail(ctx context.Context, env Envelope, raw []byte) (Received, error) {
	var out Received
	m, err := email.Parse(bytes.NewReader(raw), email.Limits{MaxAttachment: MaxAttachmentBytes})
	if err != nil {
		return out, crm.Errorf(crm.EINVALID, "The message cannot be read: %v", err)
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		out = Received{}
		st, err := s.settings(ctx, tx)
		if err != nil {
			return err
		}
		if st.SupportAddress == "" {
			return crm.Errorf(crm.EUNAVAILABLE, "No support address is set (Settings → Service desk).")
		}
		if m.MessageID != "" {
			dup, err := tx.MessageIDStored(ctx, m.MessageID)
			if err != nil {
				return err
			}
			if dup {
				out.Duplicate = true
				return nil
			}
		}
		auto, why := m.Automatic(env.From)
		switch {
		case email.IsOwnMessageID(m.MessageID, mailDomain(st)):
			auto, why = true, "our own message came back"
		case strings.EqualFold(m.From.Address, st.SupportAddress):
			auto, why = true, "sent from the support address itself"
		}
		t, err := s.threadOf(ctx, tx, m)
		if err != nil {
			return err
		}
		body := m.Text
		for _, d := range m.Dropped {
			body += fmt.Sprintf("\n\n[%s: over %d MB, not kept]", d.Filename, MaxAttachmentBytes>>20)
		}
		files := make([]FileInput, 0, len(m.Attachments))
		for _, a := range m.Attachments {
			files = append(files, FileInput{Filename: a.Filename, ContentType: a.ContentType, Data: a.Data})
		}
		if len(files) > MaxAttachments {
			files = files[:MaxAttachments]
		}
		msg := &crm.TicketMessage{Body: body, FromAddress: m.From.Address, ToAddress: strings.Join(env.To, ", "), MessageID: m.MessageID,
			References: m.References, Auto: auto}
		if len(m.InReplyTo) > 0 {
			msg.InReplyTo = m.InReplyTo[0]
		}
		if auto {
			out.Ignored = why
			if t == nil {
				s.log.Info("desk: automatic mail dropped", "from", m.From.Address, "reason", why, "message_id", m.MessageID)
				return nil
			}
			if _, err := s.customerMessageTx(ctx, tx, st, t, msg, files); err != nil {
				return err
			}
			out.TicketID, out.MessageID = t.ID, msg.ID
			return nil
		}
		if t != nil {
			if stripped := stripQuoted(msg.Body); stripped != "" {
				msg.Body = stripped
			}
			nt, err := s.customerMessageTx(ctx, tx, st, t, msg, files)
			if err != nil {
				return err
			}
			out.TicketID, out.MessageID, out.Created = nt.ID, msg.ID, nt.ID != t.ID
			return nil
		}
		first, last := splitName(m.From.Name)
		contactID, err := s.resolve(ctx, tx, crm.CustomerRef{Email: m.From.Address, FirstName: first, LastName: last})
		if err != nil {
			return err
		}
		subject := m.Subject
		if subject == "" {
			subject = "(no subject)"
		}
		if r := []rune(subject); len(r) > MaxSubject {
			subject = string(r[:MaxSubject])
		}
		if r := []rune(body); len(r) > MaxBody {
			body = string(r[:MaxBody])
		}
		in := newTicket{TicketInput: TicketInput{Subject: subject, Body: body, Channel: crm.ChannelEmail, Priority: crm.PriorityNormal,
			Tier: crm.Tier1, TeamID: st.DefaultTeamID, Tags: []string{}, Custom: map[string]any{}, Attachments: files},
			ContactID: contactID, FromAddress: m.From.Address, MessageID: m.MessageID, InReplyTo: msg.InReplyTo, References: m.References}
		nt, err := s.createTx(ctx, tx, st, in)
		if err != nil {
			return err
		}
		out.TicketID, out.Created = nt.ID, true
		msgs, err := tx.TicketMessages(ctx, nt.ID, false)
		if err != nil {
			return err
		}
		if len(msgs) > 0 {
			out.MessageID = msgs[0].ID
		}
		if st.Acknowledge && !m.Bulk() && m.From.Address != "" {
			return s.acknowledge(ctx, tx, st, nt, m)
		}
		return nil
	})
	return out, err
}

// threadOf finds the ticket an email answers: by its In-Reply-To and
// References, else by the token in its subject; nil for none.
func (s *Service) threadOf(ctx context.Context, tx *store.Tx, m *email.Message) (*crm.Ticket, error) {
	ids := append(append([]string{}, m.InReplyTo...), m.References...)
	id, err := tx.TicketByMessageIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	if id == 0 {
		if mt := tokenRE.FindStringSubmatch(m.Subject); mt != nil {
			n, _ := strconv.ParseInt(mt[1], 10, 64)
			t, err := tx.FindTicket(ctx, n, true)
			if err == nil && t.Ref == mt[2] {
				return t, nil
			}
			if err != nil && crm.ErrorCode(err) != crm.ENOTFOUND {
				return nil, err
			}
		}
		return nil, nil
	}
	return tx.FindTicket(ctx, id, true)
}

// splitName splits a display name into first and last name.
func splitName(name string) (string, string) {
	f := strings.Fields(name)
	switch len(f) {
	case 0:
		return "", ""
	case 1:
		return f[0], ""
	}
	return f[0], strings.Join(f[1:], " ")
}

var (
	attributionRE = regexp.MustCompile(`(?i)^\s*(on|le|am|el|در|في)\b.{0,300}(wrote|a écrit|schrieb|escribió|نوشت|كتب)\s*:?\s*$`)
	separatorRE   = regexp.MustCompile(`^\s*(-{2,}\s*(original message|پیام اصلی|الرسالة الأصلية)\s*-{2,}|_{20,})\s*$`)
)

// stripQuoted drops the quoted tail of a reply: from an attribution line
// ("On … wrote:") or an Outlook separator, or a final block of "> "
// lines. It keeps everything when that would leave nothing.
func stripQuoted(s string) string {
	lines := strings.Split(s, "\n")
	cut := len(lines)
	for i, l := range lines {
		if attributionRE.MatchString(l) || separatorRE.MatchString(strings.ToLower(l)) {
			cut = i
			break
		}
	}
	for cut > 0 {
		l := strings.TrimSpace(lines[cut-1])
		if l == "" || strings.HasPrefix(l, ">") {
			cut--
			continue
		}
		break
	}
	return strings.TrimSpace(strings.Join(lines[:cut], "\n"))
}

// guessLanguage picks en, fa or ar from the script of a text: Persian
// when it has letters only Persian uses, Arabic for other Arabic script,
// else English.
func guessLanguage(s string) string {
	arabic := false
	for _, r := range s {
		switch {
		case r == 'پ' || r == 'چ' || r == 'ژ' || r == 'گ' || r == 'ی' || r == 'ک':
			return "fa"
		case r >= 0x0600 && r <= 0x06FF:
			arabic = true
		}
	}
	if arabic {
		return "ar"
	}
	return "en"
}

// acknowledge stores and queues the automatic acknowledgement of a new
// email ticket, in the customer's language (or the language of their
// mail), with the ticket's number and token.
func (s *Service) acknowledge(ctx context.Context, tx *store.Tx, st Settings, t *crm.Ticket, m *email.Message) error {
	lang := guessLanguage(m.Subject + " " + m.Text)
	if c, ok, err := tx.FindDeskContact(ctx, t.ContactID); err != nil {
		return err
	} else if ok && locale.Supported(c.Language) && c.Language != "" {
		lang = c.Language
	}
	p := locale.ForLanguage(lang)
	body := p.T("service.mail.ack_body", "number", p.Digits(t.Number()), "subject", t.Subject, "team", nameOr(st.SupportName, st.SupportAddress))
	ack := &crm.TicketMessage{TicketID: t.ID, Kind: crm.MessagePublic, Direction: crm.DirectionOut, ContactID: t.ContactID, Body: body,
		FromAddress: st.SupportAddress, ToAddress: m.From.Address, MessageID: email.NewMessageID(t.ID, mailDomain(st)), Delivery: crm.DeliveryQueued}
	var err error
	if ack.InReplyTo, ack.References, err = thread(ctx, tx, t.ID); err != nil {
		return err
	}
	if _, err := tx.InsertTicketMessage(ctx, ack); err != nil {
		return err
	}
	_, err = jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobSend, Payload: sendJob{MessageID: ack.ID, Lang: lang}, MaxAttempts: sendAttempts,
		UniqueKey: fmt.Sprintf("desk.send:%d", ack.ID)})
	return err
}

// sendJob is the payload of a desk.send job.
type sendJob struct {
	MessageID int64  `json:"message_id"`
	Lang      string `json:"lang,omitempty"` // of an acknowledgement's subject
}

// sendAttempts bounds the tries of an outgoing email (with the runner's
// backoff, about an hour and a half of retries).
const sendAttempts = 8

// handleSend sends an outgoing message by the smarthost and records the
// outcome on it.
func (s *Service) handleSend(ctx context.Context, j *jobs.Claimed) error {
	var p sendJob
	if err := j.Decode(&p); err != nil {
		return err
	}
	var (
		m  *crm.TicketMessage
		t  *crm.Ticket
		st Settings
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		if m, err = tx.FindTicketMessage(ctx, p.MessageID); err != nil {
			return err
		}
		if t, err = tx.FindTicket(ctx, m.TicketID, false); err != nil {
			return err
		}
		st, err = s.settings(ctx, tx)
		return err
	})
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return jobs.Permanent(err)
	}
	if err != nil {
		return err
	}
	if m.Delivery == crm.DeliverySent {
		return nil
	}
	subject := replySubject(t)
	auto := ""
	if m.AuthorID == 0 {
		auto = "auto-replied"
		pr := locale.ForLanguage(p.Lang)
		subject = pr.T("service.mail.ack_subject", "subject", t.Subject) + " " + t.SubjectToken()
	}
	out := email.Outgoing{From: supportFrom(st), To: []mail.Address{{Address: m.ToAddress}}, Subject: subject, Text: m.Body,
		MessageID: m.MessageID, InReplyTo: m.InReplyTo, References: m.References, Date: m.CreatedAt, AutoSubmitted: auto,
		Headers: map[string]string{"X-Pivand-Ticket": strconv.FormatInt(t.ID, 10)}}
	return s.deliver(ctx, j, m.ID, st.SupportAddress, m.ToAddress, email.Compose(out))
}

// replySubject is "Re: subject [#42-K7Q2M]".
func replySubject(t *crm.Ticket) string {
	subj := t.Subject
	if !strings.HasPrefix(strings.ToLower(subj), "re:") {
		subj = "Re: " + subj
	}
	if !strings.Contains(subj, t.SubjectToken()) {
		subj += " " + t.SubjectToken()
	}
	return subj
}

// deliver sends msg and records the outcome on message id (0: none): sent,
// or failed after the last attempt or a permanent refusal.
func (s *Service) deliver(ctx context.Context, j *jobs.Claimed, id int64, from, to string, msg []byte) error {
	err := s.opts.Mail.Send(ctx, from, []string{to}, msg)
	if err == nil {
		if id == 0 {
			return nil
		}
		return s.db.Write(ctx, func(tx *store.Tx) error { return tx.SetMessageDelivery(ctx, id, crm.DeliverySent, "") })
	}
	if jobs.IsPermanent(err) || j.LastAttempt() {
		if id != 0 {
			if werr := s.db.Write(ctx, func(tx *store.Tx) error {
				return tx.SetMessageDelivery(ctx, id, crm.DeliveryFailed, err.Error())
			}); werr != nil {
				return errors.Join(err, werr)
			}
		}
		return jobs.Permanent(err)
	}
	if id != 0 {
		_ = s.db.Write(ctx, func(tx *store.Tx) error { return tx.SetMessageDelivery(ctx, id, crm.DeliveryQueued, err.Error()) })
	}
	return err
}

// handleSurvey emails a satisfaction survey's link to the customer.
func (s *Service) handleSurvey(ctx context.Context, j *jobs.Claimed) error {
	var p struct {
		SurveyID int64 `json:"survey_id"`
	}
	if err := j.Decode(&p); err != nil {
		return err
	}
	var (
		msg      []byte
		from, to string
		done     bool
	)
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		sv, err := tx.FindSurvey(ctx, p.SurveyID)
		if err != nil {
			return err
		}
		if sv.SentAt != nil || sv.AnsweredAt != nil {
			done = true
			return nil
		}
		t, err := tx.FindTicket(ctx, sv.TicketID, false)
		if err != nil {
			return err
		}
		st, err := s.settings(ctx, tx)
		if err != nil {
			return err
		}
		if to, err = s.customerAddress(ctx, tx, t); err != nil {
			return err
		}
		if to == "" || st.SupportAddress == "" {
			done = true
			return nil
		}
		lang, err := customerLanguage(ctx, tx, t)
		if err != nil {
			return err
		}
		secret, err := s.secret(ctx, tx)
		if err != nil {
			return err
		}
		pr := locale.ForLanguage(lang)
		body := pr.T("service.mail.survey_body", "number", pr.Digits(t.Number()), "subject", t.Subject,
			"link", s.SurveyURL(surveyToken(secret, sv.ID)), "team", nameOr(st.SupportName, st.SupportAddress))
		inReplyTo, refs, err := thread(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		from = st.SupportAddress
		msg = email.Compose(email.Outgoing{From: supportFrom(st), To: []mail.Address{{Address: to}},
			Subject: pr.T("service.mail.survey_subject", "subject", t.Subject) + " " + t.SubjectToken(), Text: body,
			MessageID: email.NewMessageID(t.ID, mailDomain(st)), InReplyTo: inReplyTo, References: refs, Date: tx.Now(),
			AutoSubmitted: "auto-generated", Headers: map[string]string{"X-Pivand-Ticket": strconv.FormatInt(t.ID, 10)}})
		return nil
	})
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return jobs.Permanent(err)
	}
	if err != nil || done {
		return err
	}
	if err := s.deliver(ctx, j, 0, from, to, msg); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error { return tx.MarkSurveySent(ctx, p.SurveyID) })
}
