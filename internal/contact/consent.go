package contact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Consent sources.
var consentSources = []string{"form", "import", "manual", "api"}

// SetConsent records that a person granted or withdrew consent for a
// channel. The consent.changed event on their timeline is the history.
func (s *Service) SetConsent(ctx context.Context, contactID int64, channel, status, source, note string) (*crm.Consent, error) {
	if err := crm.Authorize(ctx, crm.PermContactsWrite, true); err != nil {
		return nil, err
	}
	var v crm.Validation
	if !slices.Contains(crm.ConsentChannels, channel) {
		v.Add("channel", "Use one of %s.", strings.Join(crm.ConsentChannels, ", "))
	}
	if status != crm.ConsentGranted && status != crm.ConsentWithdrawn {
		v.Add("status", "Use granted or withdrawn.")
	}
	if source == "" {
		source = sourceFromContext(ctx)
		if source == "" {
			source = "manual"
		}
	}
	if !slices.Contains(consentSources, source) {
		v.Add("source", "Use form, import, manual or api.")
	}
	note = clean(&v, "note", note, 500)
	if err := v.Err(); err != nil {
		return nil, err
	}
	c := &crm.Consent{Channel: channel, Status: status, Source: source, Note: note, ChangedBy: crm.UserIDFromContext(ctx)}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if ok, err := tx.ContactExists(ctx, contactID); err != nil {
			return err
		} else if !ok {
			return crm.Errorf(crm.ENOTFOUND, "Contact was not found.")
		}
		if err := tx.SetConsent(ctx, contactID, c); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "consent.set", "contact", contactID, nil, c); err != nil {
			return err
		}
		return tx.Emit(ctx, &crm.Event{Type: crm.EventConsentChanged, SubjectType: "contact", SubjectID: contactID, ContactID: contactID,
			Payload: mustJSON(c)})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// MayContact answers "may we contact this person on channel now?": only
// with consent granted and not withdrawn, an address for the channel, and
// no suppression. The reason says why not.
func (s *Service) MayContact(ctx context.Context, contactID int64, channel string) (bool, string, error) {
	if err := crm.Authorize(ctx, crm.PermContactsRead, false); err != nil {
		return false, "", err
	}
	ok, reason := false, ""
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		c, err := tx.FindContactByID(ctx, contactID)
		if err != nil {
			return err
		}
		var addrs []string
		kind := "phone"
		switch channel {
		case crm.ChannelEmail:
			kind = "email"
			for _, e := range c.Emails {
				addrs = append(addrs, e.Value)
			}
		case crm.ChannelSMS, crm.ChannelPhone, crm.ChannelTelegram, crm.ChannelWhatsApp:
			for _, p := range c.Phones {
				addrs = append(addrs, p.Value)
			}
		default:
			return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"channel": "Use one of " + strings.Join(crm.ConsentChannels, ", ") + "."}}
		}
		if len(addrs) == 0 {
			reason = "no address"
			return nil
		}
		for _, a := range addrs {
			sup, err := tx.IsSuppressed(ctx, suppressionHash(kind, a))
			if err != nil {
				return err
			}
			if sup {
				reason = "suppressed"
				return nil
			}
		}
		i := slices.IndexFunc(c.Consents, func(x crm.Consent) bool { return x.Channel == channel })
		switch {
		case i < 0:
			reason = "no consent"
		case c.Consents[i].Status == crm.ConsentWithdrawn:
			reason = "withdrawn"
		default:
			ok = true
		}
		return nil
	})
	return ok, reason, err
}

// suppressionHash is how an erased address is remembered: a SHA-256 of its
// kind and normalised value, never the address itself.
func suppressionHash(kind, value string) string {
	sum := sha256.Sum256([]byte(kind + ":" + value))
	return hex.EncodeToString(sum[:])
}

// IsSuppressed reports whether an email or phone belongs to an erased
// person who must never be contacted again. Values are normalised first.
func (s *Service) IsSuppressed(ctx context.Context, kind, value string) (bool, error) {
	switch kind {
	case "email":
		value = crm.NormalizeEmail(value)
	case "phone":
		p := preparePhones(&crm.Validation{}, "phone", []crm.Labeled{{Value: value}}, s.region)
		if len(p) == 0 {
			return false, nil
		}
		value = p[0].Value
	default:
		return false, &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"kind": "Use email or phone."}}
	}
	var sup bool
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		sup, err = tx.IsSuppressed(ctx, suppressionHash(kind, value))
		return err
	})
	return sup, err
}
