package desk

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/store"
)

// Satisfaction surveys. When a ticket is solved the customer is offered
// one survey for that resolution (a reopen and a new solve make another):
// a link to rate the help 1–5 with an optional comment, emailed when we
// have their address. The link's token is an HMAC of the survey's id
// under a secret of the installation (settings key desk.secret), so it
// can be shown again on the ticket for other channels without being
// stored; only its hash is, for lookup. Staff cannot answer: the agent
// who solved the ticket (or anyone signed in) is refused.

const secretKey = "desk.secret"

// secret returns the installation's survey secret, made on first use.
func (s *Service) secret(ctx context.Context, tx *store.Tx) ([]byte, error) {
	v, ok, err := tx.DeskSetting(ctx, secretKey)
	if err != nil {
		return nil, err
	}
	if !ok {
		b := make([]byte, 32)
		rand.Read(b)
		v = hex.EncodeToString(b)
		if err := tx.SaveDeskSetting(ctx, secretKey, v); err != nil {
			return nil, err
		}
	}
	return hex.DecodeString(v)
}

// surveyToken is the token of survey id: "<id>-<mac>".
func surveyToken(secret []byte, id int64) string {
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "survey:%d", id)
	return strconv.FormatInt(id, 10) + "-" + base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// SurveyURL is the link of a survey.
func (s *Service) SurveyURL(token string) string { return s.opts.BaseURL + "/survey/" + token }

// offerSurvey makes the survey of this resolution of t (when surveys are
// on and t has a customer) and, for customers we can email, a job that
// sends it.
func (s *Service) offerSurvey(ctx context.Context, tx *store.Tx, st Settings, t *crm.Ticket) error {
	if !st.Surveys || t.ContactID == 0 {
		return nil
	}
	hist, err := tx.TicketHistory(ctx, t.ID, "status")
	if err != nil {
		return err
	}
	resolution := 0
	for _, h := range hist {
		if h.New == crm.TicketSolved {
			resolution++
		}
	}
	if resolution == 0 {
		resolution = 1
	}
	secret, err := s.secret(ctx, tx)
	if err != nil {
		return err
	}
	sv := &crm.Survey{TicketID: t.ID, ContactID: t.ContactID, AgentID: t.AssigneeID, Resolution: resolution,
		ExpiresAt: tx.Now().Add(time.Duration(st.SurveyDays) * 24 * time.Hour)}
	if sv.AgentID == 0 {
		sv.AgentID = actor(ctx)
	}
	// The token depends on the id, which the insert gives: insert with a
	// placeholder hash, then set the real one.
	placeholder := make([]byte, 16)
	rand.Read(placeholder)
	inserted, err := tx.InsertSurvey(ctx, sv, "pending-"+hex.EncodeToString(placeholder))
	if err != nil || !inserted {
		return err
	}
	if err := tx.SetSurveyToken(ctx, sv.ID, tokenHash(surveyToken(secret, sv.ID))); err != nil {
		return err
	}
	if t.Channel != crm.ChannelEmail && t.Channel != crm.ChannelWebForm || st.SupportAddress == "" {
		return nil
	}
	_, err = jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobSurvey, Payload: map[string]int64{"survey_id": sv.ID}, MaxAttempts: sendAttempts,
		UniqueKey: fmt.Sprintf("desk.survey:%d", sv.ID)})
	return err
}

// SurveyLink returns the link of a survey, for agents to pass on over
// another channel. Needs service:write.
func (s *Service) SurveyLink(ctx context.Context, surveyID int64) (string, error) {
	if err := crm.Authorize(ctx, crm.PermServiceWrite, false); err != nil {
		return "", err
	}
	var out string
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.FindSurvey(ctx, surveyID); err != nil {
			return err
		}
		secret, err := s.secret(ctx, tx)
		if err != nil {
			return err
		}
		out = s.SurveyURL(surveyToken(secret, surveyID))
		return nil
	})
	return out, err
}

// PublicSurvey is what the survey page shows a customer.
type PublicSurvey struct {
	Survey  *crm.Survey
	Subject string
	Ticket  int64
	Expired bool
	// Language is the customer's (en, fa or ar): their own when the
	// contact has one, else the language their first message is in. The
	// page speaks it unless the visitor chose another.
	Language string
}

// SurveyByToken returns the survey of a link; an unknown or forged token
// is ENOTFOUND. Anyone with the link may read it.
func (s *Service) SurveyByToken(ctx context.Context, token string) (*PublicSurvey, error) {
	var out *PublicSurvey
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		sv, t, err := s.surveyOf(ctx, tx, token, false)
		if err != nil {
			return err
		}
		out = &PublicSurvey{Survey: sv, Subject: t.Subject, Ticket: t.ID, Expired: !tx.Now().Before(sv.ExpiresAt)}
		out.Language, err = customerLanguage(ctx, tx, t)
		return err
	})
	return out, err
}

func (s *Service) surveyOf(ctx context.Context, tx *store.Tx, token string, lock bool) (*crm.Survey, *crm.Ticket, error) {
	notFound := &crm.Error{Code: crm.ENOTFOUND, Key: "service.survey.not_found", Message: "This survey link is not valid."}
	if len(token) > 100 || !strings.Contains(token, "-") {
		return nil, nil, notFound
	}
	sv, err := tx.FindSurveyByToken(ctx, tokenHash(token), lock)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return nil, nil, notFound
	}
	if err != nil {
		return nil, nil, err
	}
	t, err := tx.FindTicket(ctx, sv.TicketID, lock)
	if err != nil {
		return nil, nil, err
	}
	return sv, t, nil
}

// AnswerSurvey records a customer's rating (1–5) and comment, once. The
// agent who solved the ticket cannot answer it, nor can anyone signed in
// to Pivand: satisfaction is the customer's word. The rating shows on
// the ticket and in the reports (survey.answered).
func (s *Service) AnswerSurvey(ctx context.Context, token string, rating int, comment string) (*crm.Survey, error) {
	var v crm.Validation
	if rating < 1 || rating > 5 {
		v.Add("rating", "Choose a rating from 1 to 5.")
	}
	comment = strings.TrimSpace(comment)
	if utf8.RuneCountInString(comment) > 2000 {
		v.Add("comment", "Use at most 2000 characters.")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *crm.Survey
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		sv, t, err := s.surveyOf(ctx, tx, token, true)
		if err != nil {
			return err
		}
		if u := crm.UserFromContext(ctx); u != nil {
			if u.ID == sv.AgentID {
				return &crm.Error{Code: crm.EFORBIDDEN, Key: "service.survey.own",
					Message: "You solved this ticket: its survey is for the customer to answer, not you."}
			}
			return &crm.Error{Code: crm.EFORBIDDEN, Key: "service.survey.staff",
				Message: "You are signed in to Pivand: surveys are for customers to answer. Sign out to test the page."}
		}
		if !tx.Now().Before(sv.ExpiresAt) {
			return &crm.Error{Code: crm.ECONFLICT, Key: "service.survey.expired", Message: "This survey has expired."}
		}
		ok, err := tx.AnswerSurvey(ctx, sv.ID, rating, comment)
		if err != nil {
			return err
		}
		if !ok {
			return &crm.Error{Code: crm.ECONFLICT, Key: "service.survey.answered", Message: "This survey was answered already; thank you."}
		}
		t.Rating = rating
		if err := s.save(ctx, tx, t, false); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "survey.answer", "ticket", t.ID, nil, map[string]any{"survey_id": sv.ID, "rating": rating}); err != nil {
			return err
		}
		p, err := ticketPayload(ctx, tx, t)
		if err != nil {
			return err
		}
		sp := SurveyPayload{TicketPayload: p, SurveyID: sv.ID, Rating: rating, AgentID: sv.AgentID}
		sp.Comment, _ = excerpt(comment, 500)
		if sv.AgentID != 0 {
			names, err := tx.DeskUserNames(ctx, []int64{sv.AgentID})
			if err != nil {
				return err
			}
			sp.Agent = names[sv.AgentID]
		}
		if err := tx.Emit(ctx, &crm.Event{Type: crm.EventSurveyAnswered, SubjectType: "survey", SubjectID: sv.ID, ContactID: t.ContactID,
			Payload: mustPayload(sp)}); err != nil {
			return err
		}
		out, err = tx.FindSurvey(ctx, sv.ID)
		return err
	})
	return out, err
}

// TicketSurveys returns a ticket's surveys, oldest first. Needs
// service:read.
func (s *Service) TicketSurveys(ctx context.Context, ticketID int64) ([]*crm.Survey, error) {
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return nil, err
	}
	var out []*crm.Survey
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.TicketSurveys(ctx, ticketID)
		return err
	})
	return out, err
}

// Surveys lists surveys newest first (only answered ones with
// answeredOnly). Needs service:read.
func (s *Service) Surveys(ctx context.Context, answeredOnly bool, page crm.Page) ([]*crm.Survey, string, error) {
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return nil, "", err
	}
	var (
		out  []*crm.Survey
		next string
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, next, err = tx.ListSurveys(ctx, answeredOnly, page)
		return err
	})
	return out, next, err
}

// customerLanguage is the language to write to a ticket's customer in:
// the contact's own when set, else the one their first message (and the
// subject) is written in.
func customerLanguage(ctx context.Context, tx *store.Tx, t *crm.Ticket) (string, error) {
	c, ok, err := tx.FindDeskContact(ctx, t.ContactID)
	if err != nil {
		return "", err
	}
	if ok && c.Language != "" && locale.Supported(c.Language) {
		return c.Language, nil
	}
	msgs, err := tx.TicketMessages(ctx, t.ID, false)
	if err != nil {
		return "", err
	}
	body := ""
	if len(msgs) > 0 {
		body = msgs[0].Body
	}
	return guessLanguage(t.Subject + " " + body), nil
}
