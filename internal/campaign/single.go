package campaign

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// ErrNotSent is wrapped by SendOne's skip reasons: the person may not get
// the message (no address, no consent, erased, suppressed, do-not-contact,
// frequency cap). Check it with errors.Is.
var ErrNotSent = errors.New("not sent")

// QuietHoursError says a message was not sent because it is the
// person's quiet hours (Settings → Campaigns, in their time zone); Until
// is when they end.
type QuietHoursError struct{ Until time.Time }

func (e *QuietHoursError) Error() string {
	return "quiet hours until " + e.Until.UTC().Format(time.RFC3339)
}

// SendOne sends one message to one person now: the path of a workflow's
// send_email and send_sms steps. content holds the message per language
// (the campaign template language; no coupon); the person's language is
// used when written, else the first of en, fa, ar. The same checks as a
// campaign at sending time apply (do-not-contact, erased, suppressions,
// consent for the channel, the frequency cap); a person who may not get
// it gives an error wrapping ErrNotSent with the reason. An email carries
// a one-click unsubscribe link (List-Unsubscribe, and {{.UnsubscribeURL}}
// in its template) that withdraws the person's email consent; there is no
// tracking. In the person's quiet hours nothing is sent: the error is a
// *QuietHoursError saying when they end. key (a workflow's run + step) names the message: it is the
// email's Message-ID. It returns the address or number written to.
func (s *Service) SendOne(ctx context.Context, channel string, contactID int64, content map[string]crm.CampaignContent, key string) (string, error) {
	if channel != ChannelEmail && channel != ChannelSMS {
		return "", crm.Errorf(crm.EINVALID, "Unknown channel %q.", channel)
	}
	var (
		st     Settings
		rd     *crm.RecipientData
		reason string
		addr   string
		quiet  time.Time
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		if st, err = s.settings(ctx, tx); err != nil {
			return err
		}
		if rd, err = tx.RecipientData(ctx, contactID); err != nil {
			return err
		}
		var kind string
		kind, addr = address(channel, rd)
		if addr == "" {
			reason = "no_address"
			return nil
		}
		r := &sender{s: s, c: &crm.Campaign{Channel: channel}, st: st}
		if r.tz, err = time.LoadLocation(st.TimeZone); err != nil {
			r.tz = time.UTC
		}
		if reason, err = r.mayContact(ctx, tx, rd, kind, addr, nil); err != nil || reason != "" {
			return err
		}
		quiet = r.quietUntil(tx.Now(), rd.TimeZone)
		return nil
	})
	if err != nil {
		return "", err
	}
	if !quiet.IsZero() && reason == "" {
		return "", &QuietHoursError{Until: quiet}
	}
	if reason != "" {
		return "", fmt.Errorf("%w: %s", ErrNotSent, reason)
	}
	lang := rd.Language
	if _, ok := content[lang]; !ok {
		lang = ""
		for _, l := range []string{"en", "fa", "ar"} {
			if _, ok := content[l]; ok {
				lang = l
				break
			}
		}
		if lang == "" {
			return "", crm.Errorf(crm.EINVALID, "The message is written in no language.")
		}
	}
	var v crm.Validation
	comp := Compile(channel, lang, content[lang], &v)
	if err := v.Err(); err != nil {
		return "", err
	}
	unsub := ""
	if channel == ChannelEmail {
		sg, err := s.key(ctx)
		if err != nil {
			return "", err
		}
		unsub = s.opts.BaseURL + "/c/u/" + sg.Token(purposeUnsubscribeOne, contactID)
	}
	msg, err := comp.Render(DataFor(rd, lang, "", unsub))
	if err != nil {
		return "", crm.Errorf(crm.EINVALID, "The message template failed: %v", err)
	}
	switch channel {
	case ChannelEmail:
		from, fromName := st.FromAddress, st.FromName
		if from == "" {
			return "", crm.Errorf(crm.EINVALID, "No sender address is set (Settings → Campaigns).")
		}
		e := &Email{FromName: fromName, FromAddress: from, To: addr, Subject: msg.Subject, HTML: msg.HTML, Text: msg.Text, Language: lang, Unsubscribe: unsub,
			MessageID: strings.NewReplacer(":", ".").Replace(key) + "." + randomHex(4) + "@" + domainOf(from)}
		m := NewMailer(st.SMTP)
		defer m.Close()
		if err := m.Send(ctx, from, addr, e.Build()); err != nil {
			var se *SendError
			if errors.As(err, &se) && se.Permanent {
				return "", crm.Errorf(crm.EINVALID, "The mail server refused the message: %v", err)
			}
			return "", err
		}
	case ChannelSMS:
		if st.SMS.URL == "" {
			return "", crm.Errorf(crm.EINVALID, "No SMS provider is configured (Settings → Campaigns).")
		}
		prov, err := NewHTTPProvider(st.SMS.URL, st.SMS.AuthHeader, st.SMS.AuthValue, st.SMS.ContentType, st.SMS.Body)
		if err != nil {
			return "", err
		}
		if err := prov.SendSMS(ctx, st.SMS.From, addr, msg.SMS); err != nil {
			return "", err
		}
	}
	return addr, nil
}
