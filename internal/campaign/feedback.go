package campaign

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"regexp"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Bounces and complaints that arrive after a message was accepted: a
// delivery status notification (RFC 3464, multipart/report with
// report-type=delivery-status) or an abuse report from a mailbox
// provider's feedback loop (ARF, RFC 5965, report-type=feedback-report).
// They reach Pivand as the raw message, posted by the mail system that
// receives them (POST /api/v1/campaign-feedback). The delivery is found
// by the signed unsubscribe token of the List-Unsubscribe header that
// such reports quote from the original message; the address comes from
// the report's recipient fields (or the delivery).

// Feedback kinds.
const (
	FeedbackBounce    = "bounce"    // permanent failure (Action: failed, Status 5.x.x)
	FeedbackDelay     = "delay"     // temporary (delayed, or 4.x.x): nothing to do
	FeedbackComplaint = "complaint" // an abuse report (ARF)
)

// MaxFeedbackBytes bounds a report read by ParseFeedback.
const MaxFeedbackBytes = 1 << 20

// Feedback is what a report says.
type Feedback struct {
	Kind       string `json:"kind"`
	Recipient  string `json:"recipient"` // lower-cased; "" when the report names none
	Status     string `json:"status"`    // the enhanced status code, e.g. 5.1.1
	Diagnostic string `json:"diagnostic,omitempty"`
	Token      string `json:"-"` // the unsubscribe token quoted from the original message
}

var unsubToken = regexp.MustCompile(`/c/u/([0-9a-z]{1,20}\.[A-Za-z0-9_-]{10,64})`)

// ParseFeedback reads a delivery status notification or an ARF report.
// A message that is neither is an error.
func ParseFeedback(raw []byte) (*Feedback, error) {
	if len(raw) > MaxFeedbackBytes {
		return nil, errors.New("the report is larger than 1 MiB")
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, errors.New("not a mail message: " + err.Error())
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || params["boundary"] == "" {
		return nil, errors.New("not a report: the Content-Type is not multipart/report")
	}
	report := strings.ToLower(params["report-type"])
	f := &Feedback{}
	mr := multipart.NewReader(io.LimitReader(m.Body, MaxFeedbackBytes), params["boundary"])
	found := false
	for i := 0; i < 20; i++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errors.New("a broken part: " + err.Error())
		}
		body, err := io.ReadAll(io.LimitReader(p, MaxFeedbackBytes))
		if err != nil {
			return nil, errors.New("a broken part: " + err.Error())
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch pt {
		case "message/delivery-status", "message/global-delivery-status":
			if report == "delivery-status" || report == "global-delivery-status" {
				found = readDSN(body, f) || found
			}
		case "message/feedback-report":
			if report == "feedback-report" {
				found = readARF(body, f) || found
			}
		case "message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers":
			if x := unsubToken.FindSubmatch(unfold(body)); x != nil && f.Token == "" {
				f.Token = string(x[1])
			}
		}
	}
	if !found {
		return nil, errors.New("the report has no delivery status or feedback part")
	}
	return f, nil
}

// unfold joins folded header lines so a token split over two lines is
// found (quoted-printable soft breaks are joined too).
func unfold(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("=\r\n"), nil)
	b = bytes.ReplaceAll(b, []byte("=\n"), nil)
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	b = bytes.ReplaceAll(b, []byte("\n "), []byte(" "))
	return bytes.ReplaceAll(b, []byte("\n\t"), []byte(" "))
}

// fieldBlocks reads the header-like blocks of a report part (separated
// by blank lines).
func fieldBlocks(body []byte) []textproto.MIMEHeader {
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(body)))
	var out []textproto.MIMEHeader
	for len(out) < 50 {
		h, err := r.ReadMIMEHeader()
		if len(h) > 0 {
			out = append(out, h)
		}
		if err != nil {
			break
		}
	}
	return out
}

// addrField reads "rfc822; someone@example.com".
func addrField(v string) string {
	if _, a, ok := strings.Cut(v, ";"); ok {
		v = a
	}
	v = strings.Trim(strings.TrimSpace(v), "<>")
	if a, err := mail.ParseAddress(v); err == nil {
		return strings.ToLower(a.Address)
	}
	return ""
}

func readDSN(body []byte, f *Feedback) bool {
	for _, h := range fieldBlocks(body) {
		action := strings.ToLower(strings.TrimSpace(h.Get("Action")))
		if action == "" {
			continue // the per-message block
		}
		rcpt := addrField(h.Get("Final-Recipient"))
		if rcpt == "" {
			rcpt = addrField(h.Get("Original-Recipient"))
		}
		status := strings.TrimSpace(h.Get("Status"))
		if i := strings.IndexAny(status, " \t("); i > 0 {
			status = status[:i]
		}
		kind := FeedbackDelay
		if action == "failed" && strings.HasPrefix(status, "5.") {
			kind = FeedbackBounce
		}
		// The first failed recipient wins (a report is about one message).
		if f.Kind == "" || f.Kind == FeedbackDelay && kind == FeedbackBounce {
			f.Kind, f.Recipient, f.Status = kind, rcpt, status
			f.Diagnostic = truncate(strings.TrimSpace(h.Get("Diagnostic-Code")), 300)
		}
	}
	return f.Kind != ""
}

func readARF(body []byte, f *Feedback) bool {
	for _, h := range fieldBlocks(body) {
		if h.Get("Feedback-Type") == "" {
			continue
		}
		f.Kind = FeedbackComplaint
		f.Status = truncate(strings.ToLower(strings.TrimSpace(h.Get("Feedback-Type"))), 40)
		f.Recipient = addrField(h.Get("Original-Rcpt-To"))
		if f.Recipient == "" {
			f.Recipient = addrField(h.Get("Removal-Recipient"))
		}
		return true
	}
	return false
}

// FeedbackResult is what HandleFeedback did.
type FeedbackResult struct {
	Feedback
	DeliveryID int64  `json:"delivery_id"` // 0 when the report names no delivery of this installation
	CampaignID int64  `json:"campaign_id"`
	Suppressed string `json:"suppressed"` // the address put on the suppression list, "" when none
}

// HandleFeedback applies a bounce or complaint report: a permanent
// bounce or a complaint puts the address on the campaign suppression
// list (hard_bounce, complaint) so no later campaign sends to it; a
// bounce is recorded on its delivery (bounced, with a campaign.bounced
// timeline entry). Delays change nothing. A report whose token is not
// this installation's, and that names no recipient, is refused.
func (s *Service) HandleFeedback(ctx context.Context, raw []byte) (*FeedbackResult, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingWrite, true); err != nil {
		return nil, err
	}
	fb, err := ParseFeedback(raw)
	if err != nil {
		return nil, &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"message": err.Error()}}
	}
	res := &FeedbackResult{Feedback: *fb}
	sg, err := s.key(ctx)
	if err != nil {
		return nil, err
	}
	var deliveryID int64
	if fb.Token != "" {
		if id, ok := sg.Check("u", fb.Token); ok {
			deliveryID = id
		}
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		var d *crm.CampaignDelivery
		var c *crm.Campaign
		if deliveryID > 0 {
			var err error
			if d, err = tx.FindDelivery(ctx, deliveryID); err == nil {
				c, err = tx.FindCampaign(ctx, d.CampaignID, false)
			}
			if err != nil && crm.ErrorCode(err) != crm.ENOTFOUND {
				return err
			}
			if c == nil {
				d = nil
			}
		}
		addr := fb.Recipient
		if d != nil {
			res.DeliveryID, res.CampaignID = d.ID, d.CampaignID
			if addr == "" || c.Channel == ChannelEmail && !strings.EqualFold(addr, d.Address) && d.Address != "" {
				// The report's recipient may be a forwarding address; the
				// delivery says where the campaign sent.
				addr = d.Address
			}
		}
		if addr == "" {
			return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.",
				Fields: map[string]string{"message": "The report names no recipient and no message of this installation."}}
		}
		reason := map[string]string{FeedbackBounce: "hard_bounce", FeedbackComplaint: "complaint"}[fb.Kind]
		if reason == "" {
			return nil
		}
		detail := strings.TrimSpace(fb.Status + " " + fb.Diagnostic)
		if err := tx.AddCampaignSuppression(ctx, ChannelEmail, strings.ToLower(addr), reason, truncate(detail, 300)); err != nil {
			return err
		}
		res.Suppressed = strings.ToLower(addr)
		if err := tx.Audit(ctx, "campaign.feedback", "campaign", res.CampaignID, nil, res); err != nil {
			return err
		}
		if d == nil || fb.Kind != FeedbackBounce {
			return nil
		}
		first, err := tx.RecordCampaignEvent(ctx, d, "bounced", "")
		if err != nil || !first {
			return err
		}
		return tx.Emit(ctx, &crm.Event{Type: "campaign.bounced", SubjectType: "campaign", SubjectID: c.ID, ContactID: d.ContactID,
			Payload: mustJSON(TimelinePayload{CampaignID: c.ID, Name: c.Name, Channel: c.Channel, DeliveryID: d.ID, Detail: truncate(detail, 300)})})
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
