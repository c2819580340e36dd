package activity

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// AddNote writes a note on a person's and/or company's timeline. Users
// @mentioned in it (see ParseMentions) are notified, except the author.
// The author is the acting user (the system may name one in AuthorID).
func (s *Service) AddNote(ctx context.Context, in crm.Note) (*crm.Note, error) {
	if err := crm.Authorize(ctx, crm.PermContactsWrite, true); err != nil {
		return nil, err
	}
	n := &crm.Note{ContactID: in.ContactID, CompanyID: in.CompanyID, Body: strings.TrimSpace(in.Body), AuthorID: in.AuthorID}
	if u := crm.UserFromContext(ctx); u != nil {
		n.AuthorID = u.ID
	}
	var v crm.Validation
	validateNoteBody(&v, n.Body)
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := checkTargets(ctx, tx, &v, n.ContactID, n.CompanyID, true); err != nil {
			return err
		}
		if n.AuthorID != 0 {
			users, err := tx.UserRefs(ctx, []int64{n.AuthorID})
			if err != nil {
				return err
			}
			if _, ok := users[n.AuthorID]; !ok {
				v.Add("author_id", "This user does not exist.")
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		if err := tx.InsertNote(ctx, n); err != nil {
			return err
		}
		mentioned, err := mentionedUsers(ctx, tx, n.Body)
		if err != nil {
			return err
		}
		p := NotePayload{NoteID: n.ID, Body: n.Body, AuthorID: n.AuthorID, Mentions: mentioned}
		n.Mentions = mentionIDs(mentioned)
		if err := emit(ctx, tx, crm.EventNoteAdded, "note", n.ID, n.ContactID, n.CompanyID, p); err != nil {
			return err
		}
		return notifyMentions(ctx, tx, n, n.Mentions)
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// FindNote returns one note with its mentions.
func (s *Service) FindNote(ctx context.Context, id int64) (*crm.Note, error) {
	if err := crm.Authorize(ctx, crm.PermContactsRead, false); err != nil {
		return nil, err
	}
	var n *crm.Note
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		if n, err = tx.FindNote(ctx, id); err != nil {
			return err
		}
		card, err := noteCard(ctx, tx, n)
		n.Mentions = mentionIDs(card.Mentions)
		return err
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// UpdateNote replaces a note's text. Only the author, or a user who may
// delete contacts, may edit it. Users newly mentioned are notified; the
// note's timeline card shows the new text, and a note.updated event (off
// the timeline) records the edit.
func (s *Service) UpdateNote(ctx context.Context, id int64, body string) (*crm.Note, error) {
	if err := crm.Authorize(ctx, crm.PermContactsWrite, true); err != nil {
		return nil, err
	}
	body = strings.TrimSpace(body)
	var v crm.Validation
	validateNoteBody(&v, body)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var n *crm.Note
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if n, err = tx.FindNote(ctx, id); err != nil {
			return err
		}
		if err := ownerOrDeleter(ctx, n.AuthorID, "note"); err != nil {
			return err
		}
		card, err := noteCard(ctx, tx, n)
		if err != nil {
			return err
		}
		before := mentionIDs(card.Mentions)
		if n.Body == body {
			n.Mentions = before
			return nil
		}
		n.Body = body
		if err := tx.UpdateNoteBody(ctx, n); err != nil {
			return err
		}
		mentioned, err := mentionedUsers(ctx, tx, body)
		if err != nil {
			return err
		}
		n.Mentions = mentionIDs(mentioned)
		edited := n.UpdatedAt
		card.Body, card.Mentions, card.EditedAt = body, mentioned, &edited
		if err := setCard(ctx, tx, crm.EventNoteAdded, "note", n.ID, card); err != nil {
			return err
		}
		if err := emit(ctx, tx, EventNoteUpdated, "note", n.ID, 0, 0, ChangePayload{
			NoteID: n.ID, ContactID: n.ContactID, CompanyID: n.CompanyID, Changed: []string{"body"}, Mentions: n.Mentions,
		}); err != nil {
			return err
		}
		var added []int64
		for _, m := range n.Mentions {
			if !slices.Contains(before, m) {
				added = append(added, m)
			}
		}
		return notifyMentions(ctx, tx, n, added)
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// DeleteNote removes a note: only the author, or a user who may delete
// contacts. Its text leaves the timeline and the events table, and its
// mention notifications are withdrawn; a note.deleted event (off the
// timeline) and an audit entry record the deletion.
func (s *Service) DeleteNote(ctx context.Context, id int64) error {
	if err := crm.Authorize(ctx, crm.PermContactsWrite, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		n, err := tx.FindNote(ctx, id)
		if err != nil {
			return err
		}
		if err := ownerOrDeleter(ctx, n.AuthorID, "note"); err != nil {
			return err
		}
		if err := tx.DeleteNote(ctx, id); err != nil {
			return err
		}
		gone, _ := json.Marshal(ChangePayload{NoteID: id})
		if _, err := tx.DetachSubjectEvents(ctx, "note", id, gone); err != nil {
			return err
		}
		if err := tx.DeleteNotificationsByLink(ctx, itemLink("note", id, n.ContactID, n.CompanyID)); err != nil {
			return err
		}
		ref := ChangePayload{NoteID: id, ContactID: n.ContactID, CompanyID: n.CompanyID}
		if err := tx.Audit(ctx, "note.delete", "note", id, ref, nil); err != nil {
			return err
		}
		return emit(ctx, tx, EventNoteDeleted, "note", id, 0, 0, ref)
	})
}

func validateNoteBody(v *crm.Validation, body string) {
	switch {
	case body == "":
		v.Add("body", "Write something.")
	case runeLen(body) > MaxNoteLen:
		v.Add("body", "A note is at most %d characters.", MaxNoteLen)
	}
}

// noteCard returns the payload of the note's timeline card; a note whose
// card is gone gets one made from the row.
func noteCard(ctx context.Context, tx *store.Tx, n *crm.Note) (NotePayload, error) {
	p := NotePayload{NoteID: n.ID, Body: n.Body, AuthorID: n.AuthorID, Mentions: []Mentioned{}}
	ev, err := tx.FindSubjectEvent(ctx, crm.EventNoteAdded, "note", n.ID)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(ev.Payload, &p); err != nil {
		// A card this package did not write: rebuild it.
		return NotePayload{NoteID: n.ID, Body: n.Body, AuthorID: n.AuthorID, Mentions: []Mentioned{}}, nil
	}
	if p.Mentions == nil {
		p.Mentions = []Mentioned{}
	}
	return p, nil
}

// mentionedUsers resolves the @mentions of body against the active users.
func mentionedUsers(ctx context.Context, tx *store.Tx, body string) ([]Mentioned, error) {
	out := []Mentioned{}
	tokens := ParseMentions(body)
	if len(tokens) == 0 {
		return out, nil
	}
	users, err := tx.ActiveUserRefs(ctx)
	if err != nil {
		return nil, err
	}
	for _, u := range resolveMentions(tokens, users) {
		out = append(out, Mentioned{ID: u.ID, Name: u.Name})
	}
	return out, nil
}

func notifyMentions(ctx context.Context, tx *store.Tx, n *crm.Note, userIDs []int64) error {
	if len(userIDs) == 0 {
		return nil
	}
	actor := crm.UserIDFromContext(ctx)
	if actor == 0 {
		actor = n.AuthorID
	}
	return notify(ctx, tx, actor, userIDs, NotifyMention, oneLine(n.Body, titleLen),
		itemLink("note", n.ID, n.ContactID, n.CompanyID), n.AuthorID)
}

func mentionIDs(ms []Mentioned) []int64 {
	out := make([]int64, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}
