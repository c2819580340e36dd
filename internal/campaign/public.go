package campaign

import (
	"context"
	"net/mail"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// The public ends of a message: the open pixel, click links and the
// unsubscribe page. They need no account; the signed token is the
// authority, and it names one delivery.

// Open records that a delivery's open pixel was fetched. A bad token is
// ignored (the pixel is served anyway).
func (s *Service) Open(ctx context.Context, token string) error {
	sg, err := s.key(ctx)
	if err != nil {
		return err
	}
	id, ok := sg.Check("o", token)
	if !ok {
		return crm.Errorf(crm.ENOTFOUND, "Unknown link.")
	}
	return s.track(ctx, id, "opened", "")
}

// Click checks a click link and records it; it returns the URL to
// redirect to. A link whose token or URL was changed is ENOTFOUND.
func (s *Service) Click(ctx context.Context, token, target, sig string) (string, error) {
	sg, err := s.key(ctx)
	if err != nil {
		return "", err
	}
	id, ok := sg.CheckClick(token, target, sig)
	if !ok {
		return "", crm.Errorf(crm.ENOTFOUND, "This link is not valid.")
	}
	if err := s.track(ctx, id, "clicked", target); err != nil && crm.ErrorCode(err) != crm.ENOTFOUND {
		return "", err
	}
	return target, nil
}

func (s *Service) track(ctx context.Context, deliveryID int64, kind, url string) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		d, err := tx.FindDelivery(ctx, deliveryID)
		if err != nil {
			return err
		}
		first, err := tx.RecordCampaignEvent(ctx, d, kind, truncate(url, 2000))
		if err != nil || !first {
			return err
		}
		c, err := tx.FindCampaign(ctx, d.CampaignID, false)
		if err != nil {
			return err
		}
		return tx.Emit(ctx, &crm.Event{Type: "campaign." + kind, SubjectType: "campaign", SubjectID: c.ID, ContactID: d.ContactID,
			Payload: mustJSON(TimelinePayload{CampaignID: c.ID, Name: c.Name, Channel: c.Channel, DeliveryID: d.ID, URL: truncate(url, 500)})})
	})
}

// UnsubscribePage is what the unsubscribe page shows.
type UnsubscribePage struct {
	Language     string
	Channel      string
	Campaign     string // "" for a message sent alone (a workflow's)
	Sender       string // the sender's name, for a message sent alone
	Address      string // masked: s***@example.com
	Unsubscribed bool
}

// Unsubscription returns what the unsubscribe page of a token shows.
func (s *Service) Unsubscription(ctx context.Context, token string) (*UnsubscribePage, error) {
	sg, err := s.key(ctx)
	if err != nil {
		return nil, err
	}
	id, ok := sg.Check("u", token)
	if !ok {
		if cid, ok := sg.Check(purposeUnsubscribeOne, token); ok {
			return s.unsubscribeOne(ctx, cid, false)
		}
		return nil, crm.Errorf(crm.ENOTFOUND, "This link is not valid.")
	}
	var p *UnsubscribePage
	err = s.db.Read(ctx, func(tx *store.Tx) error {
		d, err := tx.FindDelivery(ctx, id)
		if err != nil {
			return err
		}
		c, err := tx.FindCampaign(ctx, d.CampaignID, false)
		if err != nil {
			return err
		}
		p = &UnsubscribePage{Language: d.Language, Channel: c.Channel, Campaign: c.Name, Address: mask(d.Address), Unsubscribed: d.UnsubscribedAt != nil}
		return nil
	})
	return p, err
}

// Unsubscribe withdraws the person's consent for the campaign's channel
// (the one-click POST of RFC 8058 and the page's button). Doing it twice
// changes nothing.
func (s *Service) Unsubscribe(ctx context.Context, token string) (*UnsubscribePage, error) {
	sg, err := s.key(ctx)
	if err != nil {
		return nil, err
	}
	id, ok := sg.Check("u", token)
	if !ok {
		if cid, ok := sg.Check(purposeUnsubscribeOne, token); ok {
			return s.unsubscribeOne(ctx, cid, true)
		}
		return nil, crm.Errorf(crm.ENOTFOUND, "This link is not valid.")
	}
	var p *UnsubscribePage
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		d, err := tx.FindDelivery(ctx, id)
		if err != nil {
			return err
		}
		c, err := tx.FindCampaign(ctx, d.CampaignID, false)
		if err != nil {
			return err
		}
		p = &UnsubscribePage{Language: d.Language, Channel: c.Channel, Campaign: c.Name, Address: mask(d.Address), Unsubscribed: true}
		first, err := tx.RecordCampaignEvent(ctx, d, "unsubscribed", "")
		if err != nil || !first {
			return err
		}
		if ok, err := tx.ContactExists(ctx, d.ContactID); err != nil || !ok {
			return err
		}
		consent := &crm.Consent{Channel: c.Channel, Status: crm.ConsentWithdrawn, Source: "form",
			Note: truncate("Unsubscribed from the campaign "+c.Name, 500)}
		if err := tx.SetConsent(ctx, d.ContactID, consent); err != nil {
			return err
		}
		if err := tx.Emit(ctx, &crm.Event{Type: crm.EventConsentChanged, SubjectType: "contact", SubjectID: d.ContactID, ContactID: d.ContactID,
			Payload: mustJSON(consent)}); err != nil {
			return err
		}
		return tx.Emit(ctx, &crm.Event{Type: "campaign.unsubscribed", SubjectType: "campaign", SubjectID: c.ID, ContactID: d.ContactID,
			Payload: mustJSON(TimelinePayload{CampaignID: c.ID, Name: c.Name, Channel: c.Channel, DeliveryID: d.ID})})
	})
	return p, err
}

// purposeUnsubscribeOne signs the unsubscribe links of messages sent
// alone (SendOne: a workflow's email), which have no delivery row: the
// token carries the person's id.
const purposeUnsubscribeOne = "uw"

// unsubscribeOne is the unsubscribe page of a message sent alone: the
// person's email address, and on do their email consent withdrawn (once;
// a person already unsubscribed is shown so).
func (s *Service) unsubscribeOne(ctx context.Context, contactID int64, do bool) (*UnsubscribePage, error) {
	var p *UnsubscribePage
	fn := func(tx *store.Tx) error {
		st, err := s.settings(ctx, tx)
		if err != nil {
			return err
		}
		rd, err := tx.RecipientData(ctx, contactID)
		if err != nil {
			return err
		}
		p = &UnsubscribePage{Language: rd.Language, Channel: ChannelEmail, Sender: st.FromName, Address: mask(rd.Email)}
		if p.Sender == "" {
			p.Sender = st.FromAddress
		}
		for _, c := range rd.Consents {
			if c.Channel == ChannelEmail && c.Status == crm.ConsentWithdrawn {
				p.Unsubscribed = true
			}
		}
		if !do || p.Unsubscribed {
			return nil
		}
		p.Unsubscribed = true
		consent := &crm.Consent{Channel: ChannelEmail, Status: crm.ConsentWithdrawn, Source: "form",
			Note: truncate("Unsubscribed from an automated email of "+p.Sender, 500)}
		if err := tx.SetConsent(ctx, contactID, consent); err != nil {
			return err
		}
		return tx.Emit(ctx, &crm.Event{Type: crm.EventConsentChanged, SubjectType: "contact", SubjectID: contactID, ContactID: contactID,
			Payload: mustJSON(consent)})
	}
	var err error
	if do {
		err = s.db.Write(ctx, fn)
	} else {
		err = s.db.Read(ctx, fn)
	}
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return nil, crm.Errorf(crm.ENOTFOUND, "This link is not valid.")
	}
	return p, err
}

// mask hides most of an address: s***@example.com, +98912***67.
func mask(addr string) string {
	if a, err := mail.ParseAddress(addr); err == nil {
		local, domain, _ := strings.Cut(a.Address, "@")
		r := []rune(local)
		return string(r[:1]) + "***@" + domain
	}
	r := []rune(addr)
	if len(r) > 7 {
		return string(r[:6]) + "***" + string(r[len(r)-2:])
	}
	return "***"
}

// ReportComplaint records a complaint (a feedback-loop report or a reply
// "stop" handled by staff) for a delivery: the address is suppressed.
func (s *Service) ReportComplaint(ctx context.Context, deliveryID int64, detail string) error {
	if err := crm.Authorize(ctx, crm.PermMarketingWrite, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		d, err := tx.FindDelivery(ctx, deliveryID)
		if err != nil {
			return err
		}
		c, err := tx.FindCampaign(ctx, d.CampaignID, false)
		if err != nil {
			return err
		}
		if d.Address == "" {
			return crm.Errorf(crm.ECONFLICT, "This delivery has no address.")
		}
		return tx.AddCampaignSuppression(ctx, c.Channel, d.Address, "complaint", truncate(detail, 300))
	})
}
