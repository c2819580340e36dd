package desk

import (
	"context"
	"fmt"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/text"
)

// Canned replies: prepared answers with a text per language (en, fa, ar)
// and placeholders filled in from the ticket when an agent uses one.

// Placeholders a canned reply may use.
var Placeholders = []string{"{customer_name}", "{ticket_number}", "{subject}", "{agent_name}"}

func validateCanned(c *crm.CannedReply) error {
	var v crm.Validation
	c.Name = checkText(&v, "name", c.Name, MaxShort)
	if c.Name == "" {
		v.Add("name", "A canned reply needs a name.")
	}
	bodies := map[string]string{}
	for lang, b := range c.Bodies {
		if lang != "en" && lang != "fa" && lang != "ar" {
			v.Add("bodies", "Write the texts in en, fa or ar (not %q).", lang)
			continue
		}
		b = strings.TrimSpace(b)
		if len([]rune(b)) > 20_000 {
			v.Add("bodies."+lang, "Use at most 20000 characters.")
		}
		if b != "" {
			bodies[lang] = b
		}
	}
	if len(bodies) == 0 {
		v.Add("bodies", "Write the reply in at least one language.")
	}
	c.Bodies = bodies
	return v.Err()
}

// CannedReplies returns every canned reply by name. Needs service:read.
func (s *Service) CannedReplies(ctx context.Context) ([]*crm.CannedReply, error) {
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return nil, err
	}
	var out []*crm.CannedReply
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ListCannedReplies(ctx)
		return err
	})
	return out, err
}

// CannedReply returns a canned reply. Needs service:read.
func (s *Service) CannedReply(ctx context.Context, id int64) (*crm.CannedReply, error) {
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return nil, err
	}
	var out *crm.CannedReply
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.FindCannedReply(ctx, id)
		return err
	})
	return out, err
}

// SaveCannedReply creates (ID 0) or replaces a canned reply. Needs
// service:write.
func (s *Service) SaveCannedReply(ctx context.Context, c crm.CannedReply) (*crm.CannedReply, error) {
	if err := crm.Authorize(ctx, crm.PermServiceWrite, true); err != nil {
		return nil, err
	}
	if err := validateCanned(&c); err != nil {
		return nil, err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if c.ID == 0 {
			c.CreatedBy = actor(ctx)
			if err := tx.InsertCannedReply(ctx, &c); err != nil {
				return err
			}
			return tx.Audit(ctx, "desk.canned.create", "canned_reply", c.ID, nil, c)
		}
		old, err := tx.FindCannedReply(ctx, c.ID)
		if err != nil {
			return err
		}
		c.CreatedBy, c.CreatedAt = old.CreatedBy, old.CreatedAt
		if err := tx.UpdateCannedReply(ctx, &c); err != nil {
			return err
		}
		return tx.Audit(ctx, "desk.canned.update", "canned_reply", c.ID, old, c)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// DeleteCannedReply removes a canned reply. Needs service:write.
func (s *Service) DeleteCannedReply(ctx context.Context, id int64) error {
	if err := crm.Authorize(ctx, crm.PermServiceWrite, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		old, err := tx.FindCannedReply(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteCannedReply(ctx, id); err != nil {
			return err
		}
		return tx.Audit(ctx, "desk.canned.delete", "canned_reply", id, old, nil)
	})
}

// RenderCanned returns a canned reply's text for a ticket, its
// placeholders filled in, in the customer's language when the reply has
// it, else lang (the agent's), else any it has. Needs service:read.
func (s *Service) RenderCanned(ctx context.Context, cannedID, ticketID int64, lang string) (string, string, error) {
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return "", "", err
	}
	var body, used string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		c, err := tx.FindCannedReply(ctx, cannedID)
		if err != nil {
			return err
		}
		t, err := tx.FindTicket(ctx, ticketID, false)
		if err != nil {
			return err
		}
		customer := ""
		if t.ContactID != 0 {
			dc, ok, err := tx.FindDeskContact(ctx, t.ContactID)
			if err != nil {
				return err
			}
			if ok {
				customer = dc.Name
				if _, has := c.Bodies[dc.Language]; has {
					lang = dc.Language
				}
			}
		}
		agent := ""
		if u := crm.UserFromContext(ctx); u != nil {
			agent = nameOr(u.Name, u.Email)
		}
		body, used = fillCanned(c, lang, customer, t, agent)
		return nil
	})
	return body, used, err
}

// fillCanned picks a text of c and fills in its placeholders; it returns
// the text and its language.
func fillCanned(c *crm.CannedReply, lang, customer string, t *crm.Ticket, agent string) (string, string) {
	body, ok := c.Bodies[lang]
	if !ok {
		for _, l := range []string{"en", "fa", "ar"} {
			if b, has := c.Bodies[l]; has {
				body, lang = b, l
				break
			}
		}
	}
	number := fmt.Sprintf("#%d", t.ID)
	switch lang {
	case "fa":
		number = text.ToPersianDigits(number)
	case "ar":
		number = text.ToArabicDigits(number)
	}
	r := strings.NewReplacer("{customer_name}", customer, "{ticket_number}", number, "{subject}", t.Subject, "{agent_name}", agent)
	return r.Replace(body), lang
}
