package campaign

import (
	"context"
	"net/mail"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// SendMail sends one transactional plain-text message now (a lead form's
// double opt-in confirmation) through the campaign SMTP server and
// default sender of Settings → Campaigns, without a delivery record,
// tracking, consent checks or an unsubscribe header: it goes to someone
// who just asked for it. It is for the system: no permission is checked.
// EUNAVAILABLE when no server or sender is configured or the server
// refuses.
func (s *Service) SendMail(ctx context.Context, to, subject, body, lang string) error {
	var st Settings
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		st, err = s.settings(ctx, tx)
		return err
	})
	if err != nil {
		return err
	}
	to = strings.TrimSpace(to)
	if a, err := mail.ParseAddress(to); err != nil || a.Address != to {
		return crm.Errorf(crm.EINVALID, "%q is not an email address.", to)
	}
	if st.SMTP.Host == "" || st.FromAddress == "" {
		return crm.Errorf(crm.EUNAVAILABLE, "No SMTP server or default sender is set in Settings → Campaigns.")
	}
	e := &Email{FromName: st.FromName, FromAddress: st.FromAddress, To: to, Subject: subject, Text: body, Language: lang,
		MessageID: "mail-" + newToken() + "@" + domainOf(st.FromAddress)}
	m := NewMailer(st.SMTP)
	defer m.Close()
	if err := m.Send(ctx, st.FromAddress, to, e.Build()); err != nil {
		return crm.Errorf(crm.EUNAVAILABLE, "The message was not sent: %v", err)
	}
	return nil
}
