package desk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk/email"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
)

// ReplyInput is an agent's answer on a ticket: a public reply the
// customer sees (sent by email on email and web-form tickets), or an
// internal note. Status, when set, moves the ticket on in the same step
// (reply and set pending, reply and solve …).
type ReplyInput struct {
	Body        string
	Note        bool
	Status      string
	Attachments []FileInput
	Version     int64 // when not 0, the ticket's version the agent saw
}

// Reply adds an agent's reply or note to a ticket. The first public
// reply meets the first-response target; a public reply on a new ticket
// opens it. Needs service:write.
func (s *Service) Reply(ctx context.Context, id int64, in ReplyInput) (*crm.TicketMessage, error) {
	if err := crm.Authorize(ctx, crm.PermServiceWrite, true); err != nil {
		return nil, err
	}
	var v crm.Validation
	in.Body = strings.TrimSpace(in.Body)
	switch {
	case in.Body == "":
		v.Add("body", "Write the reply.")
	case utf8.RuneCountInString(in.Body) > MaxBody:
		v.Add("body", "Use at most %d characters.", MaxBody)
	}
	if in.Status != "" && !slices.Contains(crm.TicketStatuses, in.Status) {
		v.Add("status", "Use one of %s.", strings.Join(crm.TicketStatuses, ", "))
	}
	checkFiles(&v, in.Attachments)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *crm.TicketMessage
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		t, err := s.lockTicket(ctx, tx, id, in.Version)
		if err != nil {
			return err
		}
		if t.Status == crm.TicketClosed {
			return &crm.Error{Code: crm.ECONFLICT, Key: "service.error.closed",
				Message: fmt.Sprintf("Ticket %d is closed; closed tickets are final. Open a new ticket for the customer instead.", id)}
		}
		st, err := s.settings(ctx, tx)
		if err != nil {
			return err
		}
		now := tx.Now()
		m := &crm.TicketMessage{TicketID: id, Kind: crm.MessagePublic, Direction: crm.DirectionOut, AuthorID: actor(ctx),
			ContactID: t.ContactID, Body: in.Body}
		if in.Note {
			m.Kind = crm.MessageNote
		}
		var to string
		if !in.Note {
			to, err = s.prepareEmail(ctx, tx, st, t, m)
			if err != nil {
				return err
			}
		}
		if _, err := tx.InsertTicketMessage(ctx, m); err != nil {
			return err
		}
		if err := s.storeFiles(ctx, tx, m, in.Attachments); err != nil {
			return err
		}
		next := in.Status
		if !in.Note {
			if t.FirstRespondedAt == nil {
				t.FirstRespondedAt = &now
			}
			t.LastAgentAt = &now
			if next == "" && t.Status == crm.TicketNew {
				next = crm.TicketOpen
			}
		}
		if next != "" && next != t.Status {
			if err := s.transition(ctx, tx, st, t, next); err != nil {
				return err
			}
		}
		if err := s.save(ctx, tx, t, true); err != nil {
			return err
		}
		action := "ticket.reply"
		if in.Note {
			action = "ticket.note"
		}
		if err := tx.Audit(ctx, action, "ticket", id, nil, map[string]any{"message_id": m.ID, "to": to, "attachments": len(in.Attachments)}); err != nil {
			return err
		}
		if !in.Note {
			if err := s.emitMessage(ctx, tx, t, m); err != nil {
				return err
			}
			if m.Delivery == crm.DeliveryQueued {
				if _, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobSend, Payload: sendJob{MessageID: m.ID}, MaxAttempts: sendAttempts,
					UniqueKey: fmt.Sprintf("desk.send:%d", m.ID)}); err != nil {
					return err
				}
			}
		}
		out, err = tx.FindTicketMessage(ctx, m.ID)
		if err == nil {
			out.Attachments, err = messageFiles(ctx, tx, id, m.ID)
		}
		return err
	})
	return out, err
}

// prepareEmail decides whether a public reply goes out by email (email
// and web-form tickets of a customer with an address) and fills in its
// addresses and threading headers; it returns the address.
func (s *Service) prepareEmail(ctx context.Context, tx *store.Tx, st Settings, t *crm.Ticket, m *crm.TicketMessage) (string, error) {
	if t.Channel != crm.ChannelEmail && t.Channel != crm.ChannelWebForm {
		return "", nil
	}
	to, err := s.customerAddress(ctx, tx, t)
	if err != nil {
		return "", err
	}
	if to == "" {
		m.Delivery = crm.DeliveryNoEmail
		return "", nil
	}
	m.ToAddress, m.FromAddress = to, st.SupportAddress
	m.MessageID = email.NewMessageID(t.ID, mailDomain(st))
	m.InReplyTo, m.References, err = thread(ctx, tx, t.ID)
	if err != nil {
		return "", err
	}
	m.Delivery = crm.DeliveryQueued
	return to, nil
}

// customerAddress is where replies to a ticket go: the address of the
// customer's latest email on it, else their first stored address.
func (s *Service) customerAddress(ctx context.Context, tx *store.Tx, t *crm.Ticket) (string, error) {
	msgs, err := tx.TicketMessages(ctx, t.ID, false)
	if err != nil {
		return "", err
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if m := msgs[i]; m.Direction == crm.DirectionIn && !m.Auto && m.FromAddress != "" {
			return m.FromAddress, nil
		}
	}
	if t.ContactID == 0 {
		return "", nil
	}
	c, ok, err := tx.FindDeskContact(ctx, t.ContactID)
	if err != nil || !ok || len(c.Emails) == 0 {
		return "", err
	}
	return c.Emails[0], nil
}

// thread returns the threading headers of a new outgoing email on a
// ticket: In-Reply-To the customer's latest email (else our latest), and
// References the Message-IDs of the conversation, oldest first (at most
// 20: the first and the latest 19).
func thread(ctx context.Context, tx *store.Tx, ticketID int64) (inReplyTo string, refs []string, err error) {
	msgs, err := tx.TicketMessages(ctx, ticketID, false)
	if err != nil {
		return "", nil, err
	}
	for _, m := range msgs {
		if m.MessageID == "" {
			continue
		}
		for _, r := range m.References {
			if !slices.Contains(refs, r) {
				refs = append(refs, r)
			}
		}
		if !slices.Contains(refs, m.MessageID) {
			refs = append(refs, m.MessageID)
		}
		if m.Direction == crm.DirectionIn || inReplyTo == "" {
			inReplyTo = m.MessageID
		}
	}
	if len(refs) > 20 {
		refs = append(refs[:1], refs[len(refs)-19:]...)
	}
	return inReplyTo, refs, nil
}

// emitMessage writes ticket.message for a customer's message or a public
// reply.
func (s *Service) emitMessage(ctx context.Context, tx *store.Tx, t *crm.Ticket, m *crm.TicketMessage) error {
	p, err := ticketPayload(ctx, tx, t)
	if err != nil {
		return err
	}
	mp := MessagePayload{TicketPayload: p, MessageID: m.ID, Direction: m.Direction}
	mp.Excerpt, mp.Truncated = excerpt(m.Body, 500)
	if m.AuthorID != 0 && m.Direction == crm.DirectionOut {
		names, err := tx.DeskUserNames(ctx, []int64{m.AuthorID})
		if err != nil {
			return err
		}
		mp.Author = names[m.AuthorID]
	}
	return emit(ctx, tx, crm.EventTicketMessage, t, mp)
}

// CustomerMessageInput is a customer's message that arrived on another
// channel than email (a chat, Telegram, a call): recorded on the ticket as
// theirs.
type CustomerMessageInput struct {
	Body        string
	Attachments []FileInput
}

// AddCustomerMessage records a customer's message on a ticket. On a
// pending or on-hold ticket it opens the ticket; on a solved one within
// the reopen window it reopens it; on a closed one (or a solved one past
// the window) it opens a new ticket that follows up the old one. It
// returns the message and the ticket it went to. Needs service:write.
func (s *Service) AddCustomerMessage(ctx context.Context, id int64, in CustomerMessageInput) (*crm.TicketMessage, *crm.Ticket, error) {
	if err := crm.Authorize(ctx, crm.PermServiceWrite, true); err != nil {
		return nil, nil, err
	}
	var v crm.Validation
	in.Body = strings.TrimSpace(in.Body)
	if in.Body == "" {
		v.Add("body", "Write the customer's message.")
	} else if utf8.RuneCountInString(in.Body) > MaxBody {
		v.Add("body", "Use at most %d characters.", MaxBody)
	}
	checkFiles(&v, in.Attachments)
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	var (
		m *crm.TicketMessage
		t *crm.Ticket
	)
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		old, err := tx.FindTicket(ctx, id, true)
		if err != nil {
			return err
		}
		st, err := s.settings(ctx, tx)
		if err != nil {
			return err
		}
		m = &crm.TicketMessage{Body: in.Body, AuthorID: actor(ctx)}
		t, err = s.customerMessageTx(ctx, tx, st, old, m, in.Attachments)
		return err
	})
	return m, t, err
}

// customerMessageTx records a customer's message m on ticket t (locked),
// or on a follow-up ticket, and returns the ticket it went to.
func (s *Service) customerMessageTx(ctx context.Context, tx *store.Tx, st Settings, t *crm.Ticket, m *crm.TicketMessage, files []FileInput) (*crm.Ticket, error) {
	now := tx.Now()
	window := time.Duration(st.ReopenDays) * 24 * time.Hour
	if m.Auto {
		// An auto-reply or a bounce is kept for the agents to see and
		// changes nothing: no reopen, no follow-up ticket, no answer.
		m.TicketID, m.Kind, m.Direction, m.ContactID = t.ID, crm.MessagePublic, crm.DirectionIn, t.ContactID
		if _, err := tx.InsertTicketMessage(ctx, m); err != nil {
			return nil, err
		}
		return t, s.storeFiles(ctx, tx, m, files)
	}
	if t.Status == crm.TicketClosed || t.Status == crm.TicketSolved && t.SolvedAt != nil && now.Sub(*t.SolvedAt) > window {
		subject := t.Subject
		in := newTicket{TicketInput: TicketInput{Subject: subject, Body: m.Body, Channel: t.Channel, Category: t.Category, Priority: t.Priority,
			Tier: crm.Tier1, TeamID: t.TeamID, Tags: t.Tags, Custom: map[string]any{}, Attachments: files},
			ContactID: t.ContactID, FollowUpOf: t.ID, FromAddress: m.FromAddress, MessageID: m.MessageID, InReplyTo: m.InReplyTo, References: m.References}
		nt, err := s.createTx(ctx, tx, st, in)
		if err != nil {
			return nil, err
		}
		msgs, err := tx.TicketMessages(ctx, nt.ID, false)
		if err != nil {
			return nil, err
		}
		if len(msgs) > 0 {
			*m = *msgs[0]
		}
		return nt, nil
	}
	m.TicketID, m.Kind, m.Direction, m.ContactID = t.ID, crm.MessagePublic, crm.DirectionIn, t.ContactID
	if _, err := tx.InsertTicketMessage(ctx, m); err != nil {
		return nil, err
	}
	if err := s.storeFiles(ctx, tx, m, files); err != nil {
		return nil, err
	}
	t.LastCustomerAt = &now
	if t.Status == crm.TicketPending || t.Status == crm.TicketOnHold || t.Status == crm.TicketSolved {
		if err := s.transition(ctx, tx, st, t, crm.TicketOpen); err != nil {
			return nil, err
		}
	}
	if err := s.save(ctx, tx, t, true); err != nil {
		return nil, err
	}
	if err := s.emitMessage(ctx, tx, t, m); err != nil {
		return nil, err
	}
	return s.reload(ctx, tx, t.ID)
}

// Messages returns a ticket's conversation, oldest first, internal notes
// included. Needs service:read.
func (s *Service) Messages(ctx context.Context, id int64) ([]*crm.TicketMessage, error) {
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return nil, err
	}
	var out []*crm.TicketMessage
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		if _, err := tx.FindTicket(ctx, id, false); err != nil {
			return err
		}
		var err error
		out, err = tx.TicketMessages(ctx, id, true)
		return err
	})
	return out, err
}

// Attachment returns an attachment's metadata and bytes. Needs
// service:read.
func (s *Service) Attachment(ctx context.Context, id int64) (crm.Attachment, []byte, error) {
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return crm.Attachment{}, nil, err
	}
	var (
		a    crm.Attachment
		data []byte
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		a, data, err = tx.FindAttachment(ctx, id)
		return err
	})
	return a, data, err
}

// storeFiles stores the attachments of message m: the bytes in the
// database, the type sniffed from them (never the sender's word), the
// name reduced to a base name.
func (s *Service) storeFiles(ctx context.Context, tx *store.Tx, m *crm.TicketMessage, files []FileInput) error {
	for _, f := range files {
		if int64(len(f.Data)) > MaxAttachmentBytes {
			continue // the receiver and the forms refuse them first
		}
		sum := sha256.Sum256(f.Data)
		a := &crm.Attachment{MessageID: m.ID, TicketID: m.TicketID, Filename: safeFilename(f.Filename), ContentType: SniffType(f.Data),
			Size: int64(len(f.Data)), SHA256: hex.EncodeToString(sum[:])}
		if err := tx.InsertAttachment(ctx, a, f.Data); err != nil {
			return err
		}
		m.Attachments = append(m.Attachments, *a)
	}
	return nil
}

func messageFiles(ctx context.Context, tx *store.Tx, ticketID, messageID int64) ([]crm.Attachment, error) {
	all, err := tx.TicketAttachments(ctx, ticketID)
	if err != nil {
		return nil, err
	}
	out := []crm.Attachment{}
	for _, a := range all {
		if a.MessageID == messageID {
			out = append(out, a)
		}
	}
	return out, nil
}

// SniffType returns the media type of data as a browser would sniff it
// (net/http.DetectContentType), without parameters.
func SniffType(data []byte) string {
	t := http.DetectContentType(data)
	if i := strings.IndexByte(t, ';'); i >= 0 {
		t = t[:i]
	}
	return strings.TrimSpace(t)
}

// InlineSafe reports whether an attachment of sniffed type ct may be
// shown in the browser (raster images, PDF, plain text); everything else
// is only downloaded, so no HTML or script from a customer ever runs in
// Pivand's origin.
func InlineSafe(ct string) bool {
	switch ct {
	case "image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain":
		return true
	}
	return false
}

// safeFilename keeps the base name of an uploaded file without control
// characters, at most 200 bytes.
func safeFilename(name string) string {
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\\' || r == '/' {
			return '_'
		}
		return r
	}, filepath.Base(strings.ReplaceAll(name, `\`, "/")))
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	for len(name) > 200 {
		_, n := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-n]
	}
	if name == "" || name == "_" {
		return "attachment"
	}
	return name
}
