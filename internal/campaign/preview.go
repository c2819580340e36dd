package campaign

import (
	"context"
	"net/mail"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Preview is a campaign's message as one recipient would get it.
type Preview struct {
	Language  string   `json:"language"`
	ContactID int64    `json:"contact_id"` // 0: sample data
	Subject   string   `json:"subject,omitempty"`
	HTML      string   `json:"html,omitempty"`
	Text      string   `json:"text,omitempty"`
	SMS       string   `json:"sms,omitempty"`
	SMSCount  SMSCount `json:"sms_count"`
	// Reason is why this person would not get the campaign now (the
	// checks at sending time); "" when they would.
	Reason string `json:"reason,omitempty"`
}

// Preview renders a campaign for a person (contactID 0: sample data) in
// lang ("" for the person's language, else the default).
func (s *Service) Preview(ctx context.Context, id, contactID int64, lang string) (*Preview, error) {
	return s.PreviewVariant(ctx, id, contactID, lang, 0)
}

// PreviewVariant is Preview of an A/B test's variant v (0 = A).
func (s *Service) PreviewVariant(ctx context.Context, id, contactID int64, lang string, variant int) (*Preview, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingRead, false); err != nil {
		return nil, err
	}
	var p *Preview
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		c, err := tx.FindCampaign(ctx, id, false)
		if err != nil {
			return err
		}
		st, err := s.settings(ctx, tx)
		if err != nil {
			return err
		}
		var data Data
		p = &Preview{ContactID: contactID}
		var rd *crm.RecipientData
		if contactID > 0 {
			if rd, err = tx.RecipientData(ctx, contactID); err != nil {
				return err
			}
			if lang == "" {
				lang = rd.Language
			}
		}
		if _, ok := c.Content[lang]; !ok {
			lang = c.DefaultLanguage
		}
		p.Language = lang
		if rd == nil {
			data = SampleIn(lang)
		} else {
			data = DataFor(rd, lang, "COUPON-PREVIEW", s.opts.BaseURL+"/c/u/preview")
			r := &sender{s: s, c: c, st: st}
			kind, addr := address(c.Channel, rd)
			if addr == "" {
				p.Reason = "no_address"
			} else if p.Reason, err = r.mayContact(ctx, tx, rd, kind, addr, nil); err != nil {
				return err
			}
		}
		var v crm.Validation
		if variant < 0 || variant > 0 && (c.AB == nil || variant > len(c.AB.Variants)) {
			return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"variant": "No such variant."}}
		}
		comp := Compile(c.Channel, lang, VariantContent(c, variant, lang), &v)
		if err := v.Err(); err != nil {
			return err
		}
		m, err := comp.Render(data)
		if err != nil {
			return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"content." + lang: err.Error()}}
		}
		p.Subject, p.HTML, p.Text, p.SMS = m.Subject, m.HTML, m.Text, m.SMS
		p.SMSCount = CountSMS(m.SMS)
		return nil
	})
	return p, err
}

// TestSend sends a campaign's message rendered with sample data (or a
// person's, contactID > 0) to one address or phone number, now, without
// consent checks, quiet hours or a delivery record. Links in it are not
// tracked.
func (s *Service) TestSend(ctx context.Context, id, contactID int64, lang, to string) error {
	if err := crm.Authorize(ctx, crm.PermMarketingWrite, true); err != nil {
		return err
	}
	p, err := s.Preview(ctx, id, contactID, lang)
	if err != nil {
		return err
	}
	var (
		c  *crm.Campaign
		st Settings
	)
	err = s.db.Read(ctx, func(tx *store.Tx) error {
		if c, err = tx.FindCampaign(ctx, id, false); err != nil {
			return err
		}
		st, err = s.settings(ctx, tx)
		return err
	})
	if err != nil {
		return err
	}
	to = strings.TrimSpace(to)
	bad := func(msg string) error {
		return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"to": msg}}
	}
	switch c.Channel {
	case ChannelEmail:
		if a, err := mail.ParseAddress(to); err != nil || a.Address != to {
			return bad("Not an email address.")
		}
		from, fromName := c.FromAddress, c.FromName
		if from == "" {
			from, fromName = st.FromAddress, st.FromName
		}
		if from == "" {
			return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"from_address": "Set a sender here or in Settings → Campaigns."}}
		}
		e := &Email{FromName: fromName, FromAddress: from, To: to, Subject: "[TEST] " + p.Subject, HTML: p.HTML, Text: p.Text,
			Language: p.Language, MessageID: "test-" + newToken() + "@" + domainOf(from)}
		m := NewMailer(st.SMTP)
		defer m.Close()
		if err := m.Send(ctx, from, to, e.Build()); err != nil {
			return crm.Errorf(crm.EUNAVAILABLE, "The test message was not sent: %v", err)
		}
	case ChannelSMS:
		if !strings.HasPrefix(to, "+") || len(to) < 8 {
			return bad("Use an international number: +98912…")
		}
		if st.SMS.URL == "" {
			return crm.Errorf(crm.EUNAVAILABLE, "No SMS provider is configured (Settings → Campaigns).")
		}
		prov, err := NewHTTPProvider(st.SMS.URL, st.SMS.AuthHeader, st.SMS.AuthValue, st.SMS.ContentType, st.SMS.Body)
		if err != nil {
			return err
		}
		if err := prov.SendSMS(ctx, st.SMS.From, to, p.SMS); err != nil {
			return crm.Errorf(crm.EUNAVAILABLE, "The test message was not sent: %v", err)
		}
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		return tx.Audit(ctx, "campaign.test_send", "campaign", id, nil, map[string]string{"to": to, "language": p.Language})
	})
}

// Summary returns a campaign's delivery counts without revenue and
// variants (the campaigns list: cheap for every row).
func (s *Service) Summary(ctx context.Context, id int64) (*crm.CampaignResults, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingRead, false); err != nil {
		return nil, err
	}
	var r *crm.CampaignResults
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		r, err = tx.CampaignResults(ctx, id)
		return err
	})
	return r, err
}

// Results returns a campaign's counts, its attributed revenue and, for an
// A/B test, each variant's figures.
func (s *Service) Results(ctx context.Context, id int64) (*crm.CampaignResults, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingRead, false); err != nil {
		return nil, err
	}
	var r *crm.CampaignResults
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		c, err := tx.FindCampaign(ctx, id, false)
		if err != nil {
			return err
		}
		if r, err = tx.CampaignResults(ctx, id); err != nil {
			return err
		}
		if !c.AudienceReady {
			r.Audience = 0
		}
		rev, err := tx.CampaignRevenue(ctx, id)
		if err != nil {
			return err
		}
		for _, x := range rev {
			r.Orders += x.Orders
			r.Revenue[x.Currency] += x.Amount
		}
		if c.AB != nil {
			if r.Variants, err = variantResults(ctx, tx, c); err != nil {
				return err
			}
			best := c.ABWinner
			if best < 0 {
				best = PickWinner(c.AB.Metric, r.Variants)
			}
			r.ABSignificance = Significance(c.AB.Metric, r.Variants, best)
		}
		return nil
	})
	return r, err
}

// Series returns sends, opens and clicks per bucket (an hour for a
// campaign's first two days, else a day) from its start, for the chart.
func (s *Service) Series(ctx context.Context, id int64) ([]crm.CampaignPoint, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingRead, false); err != nil {
		return nil, err
	}
	var out []crm.CampaignPoint
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		c, err := tx.FindCampaign(ctx, id, false)
		if err != nil {
			return err
		}
		if c.StartedAt == nil {
			return nil
		}
		const limit = 200_000
		series := map[string][]int64{}
		start := c.StartedAt.Truncate(time.Hour)
		end := tx.Now()
		if c.FinishedAt != nil && c.FinishedAt.After(start) {
			end = *c.FinishedAt
		}
		bucket := time.Hour
		if end.Sub(start) > 48*time.Hour {
			bucket = 24 * time.Hour
		}
		for _, kind := range []string{"sent", "opened", "clicked"} {
			ts, err := tx.CampaignTimes(ctx, id, kind, limit)
			if err != nil {
				return err
			}
			for _, t := range ts {
				i := int(t.Sub(start) / bucket)
				if i < 0 {
					i = 0
				}
				for len(series[kind]) <= i {
					series[kind] = append(series[kind], 0)
				}
				series[kind][i]++
			}
		}
		n := max(len(series["sent"]), len(series["opened"]), len(series["clicked"]))
		at := func(k string, i int) int64 {
			if i < len(series[k]) {
				return series[k][i]
			}
			return 0
		}
		for i := range n {
			out = append(out, crm.CampaignPoint{At: start.Add(time.Duration(i) * bucket), Sent: at("sent", i), Opened: at("opened", i), Clicked: at("clicked", i)})
		}
		return nil
	})
	return out, err
}
