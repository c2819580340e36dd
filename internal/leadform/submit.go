package leadform

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/customfield"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/text"
)

// PublicForm is what the public page of a form needs.
type PublicForm struct {
	Form   *crm.LeadForm
	Custom map[string]*crm.CustomField // the custom fields the form asks for, by key
}

// Public returns the form behind a public address with the custom fields
// it uses. No permission: the page is public. An unknown id is ENOTFOUND.
func (s *Service) Public(ctx context.Context, publicID string) (*PublicForm, error) {
	var p *PublicForm
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		p, err = s.public(ctx, tx, publicID)
		return err
	})
	return p, err
}

func (s *Service) public(ctx context.Context, tx *store.Tx, publicID string) (*PublicForm, error) {
	if publicID == "" || len(publicID) > 40 {
		return nil, crm.Errorf(crm.ENOTFOUND, "There is no such form.")
	}
	f, err := tx.FindLeadFormByPublicID(ctx, publicID)
	if err != nil {
		return nil, err
	}
	p := &PublicForm{Form: f, Custom: map[string]*crm.CustomField{}}
	custom, err := tx.ListCustomFields(ctx, "contact")
	if err != nil {
		return nil, err
	}
	for _, c := range custom {
		p.Custom[c.Key] = c
	}
	return p, nil
}

// SubmitInput is one filled-in public form.
type SubmitInput struct {
	PublicID string
	Values   map[string]string // by field key
	Consent  bool              // the consent box was ticked
	Honeypot string            // the hidden field people never see; bots fill it
	IP       string            // the client's address (rate limits, spam review)
}

// SubmitResult is what a submission did.
type SubmitResult struct {
	Form       *crm.LeadForm
	Submission *crm.FormSubmission // nil for spam, which is dropped silently
	Pending    bool                // a confirmation link was sent; consent waits for it
}

// Problem codes of a submission's fields.
const (
	ProblemRequired = "required"
	ProblemEmail    = "email"
	ProblemPhone    = "phone"
	ProblemTooLong  = "too_long"
	ProblemInvalid  = "invalid"
	ProblemContact  = "contact" // neither an email nor a phone
)

var problemText = map[string]string{
	ProblemRequired: "Fill this in.",
	ProblemEmail:    "Not an email address.",
	ProblemPhone:    "Not a phone number.",
	ProblemTooLong:  "Too long.",
	ProblemInvalid:  "Not a valid value.",
	ProblemContact:  "Give an email or a phone number.",
}

// FieldErrors is a submission refused for its fields: Codes are the
// problems by field key (ProblemRequired …), for a page in the form's
// language; it unwraps to an EINVALID *crm.Error in English for the API.
type FieldErrors struct {
	Codes map[string]string
	err   *crm.Error
}

func (e *FieldErrors) Error() string { return e.err.Error() }
func (e *FieldErrors) Unwrap() error { return e.err }

func fieldErrors(codes map[string]string, detail map[string]string) *FieldErrors {
	fields := map[string]string{}
	for k, c := range codes {
		fields[k] = problemText[c]
		if d := detail[k]; d != "" {
			fields[k] = d
		}
	}
	return &FieldErrors{Codes: codes, err: &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: fields}}
}

// ProblemCodes returns the field problems of a refused submission.
func ProblemCodes(err error) map[string]string {
	var fe *FieldErrors
	if errors.As(err, &fe) {
		return fe.Codes
	}
	return nil
}

// checkValues checks what was typed against the form: normalised values
// by key, and the problems.
func (s *Service) checkValues(p *PublicForm, in map[string]string) (map[string]string, map[string]any, map[string]string) {
	values := map[string]string{}
	custom := map[string]any{}
	codes := map[string]string{}
	region := s.opts.Region
	for _, f := range p.Form.Fields {
		v := strings.TrimSpace(in[f.Key])
		if !utf8.ValidString(v) {
			codes[f.Key] = ProblemInvalid
			continue
		}
		limit := MaxValue
		if f.Key == "message" {
			limit = MaxMessage
		}
		if utf8.RuneCountInString(v) > limit {
			codes[f.Key] = ProblemTooLong
			continue
		}
		if v == "" {
			if f.Required {
				codes[f.Key] = ProblemRequired
			}
			continue
		}
		switch {
		case f.Key == "email":
			e := crm.NormalizeEmail(text.ToASCIIDigits(v))
			if a, err := mail.ParseAddress(e); err != nil || a.Address != e || !crm.ValidEmail(e) {
				codes[f.Key] = ProblemEmail
				continue
			}
			v = e
		case f.Key == "phone":
			e164, err := text.NormalizePhone(v, region)
			if err != nil {
				codes[f.Key] = ProblemPhone
				continue
			}
			v = e164
		case strings.HasPrefix(f.Key, "custom."):
			def := p.Custom[strings.TrimPrefix(f.Key, "custom.")]
			if def == nil {
				continue // the custom field was deleted since the form was made: its input is not shown
			}
			val, err := customfield.Value(def, v, region)
			if err != nil {
				codes[f.Key] = ProblemInvalid
				continue
			}
			custom[def.Key] = val
		}
		values[f.Key] = v
	}
	if values["email"] == "" && values["phone"] == "" && codes["email"] == "" && codes["phone"] == "" {
		k := "email"
		if !hasField(p.Form, "email") {
			k = "phone"
		}
		codes[k] = ProblemContact
	}
	return values, custom, codes
}

func hasField(f *crm.LeadForm, key string) bool {
	for _, x := range f.Fields {
		if x.Key == key {
			return true
		}
	}
	return false
}

// Submit takes a submission of a public form: it checks the rate limits
// (per address and per form), drops spam that filled the honeypot (the
// sender sees the usual thanks), checks the values, and in one
// transaction finds or creates the person, records consent in the form's
// wording (or, with double opt-in, queues the confirmation mail instead),
// makes the lead, stores the submission and writes form.submitted on the
// person's timeline. No permission: the form is public.
func (s *Service) Submit(ctx context.Context, in SubmitInput) (*SubmitResult, error) {
	if s.opts.Person == nil {
		return nil, crm.Errorf(crm.EUNAVAILABLE, "Forms are not connected to the contacts in this installation.")
	}
	now := time.Now()
	if !s.limiter.allow(now, "ip:"+in.IP, s.opts.PerIP) || !s.limiter.allow(now, "form:"+in.PublicID, s.opts.PerForm) {
		return nil, &crm.Error{Code: crm.ETOOMANY, Key: "leadform.public.busy", Message: "Too many submissions; try again in a minute."}
	}
	p, err := s.Public(ctx, in.PublicID)
	if err != nil {
		return nil, err
	}
	res := &SubmitResult{Form: p.Form}
	if !p.Form.Active {
		return nil, &crm.Error{Code: crm.ECONFLICT, Key: "leadform.public.closed", Message: "This form is closed."}
	}
	if strings.TrimSpace(in.Honeypot) != "" {
		s.log.InfoContext(ctx, "leadform: honeypot filled; submission dropped", "form", p.Form.ID, "ip", in.IP)
		return res, nil
	}
	values, custom, codes := s.checkValues(p, in.Values)
	if len(codes) > 0 {
		return nil, fieldErrors(codes, nil)
	}
	f := p.Form
	consent := f.ConsentChannel != "" && in.Consent
	sub := &crm.FormSubmission{FormID: f.ID, Values: values, Language: f.Language, Status: crm.SubmissionReceived}
	if consent {
		sub.ConsentText = f.ConsentText
		if f.DoubleOptIn {
			sub.Status = crm.SubmissionPending
			res.Pending = true
		}
	}
	source := f.LeadSource
	if source == "" {
		source = "form"
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		id, _, err := s.opts.Person(ctx, tx, crm.FormPerson{FirstName: values["first_name"], LastName: values["last_name"], Email: values["email"],
			Phone: values["phone"], Language: f.Language, Source: source, Custom: custom})
		if err != nil {
			return personProblems(err)
		}
		sub.ContactID = id
		if consent && !f.DoubleOptIn {
			if err := grantConsent(ctx, tx, id, f.ConsentChannel, f.ConsentText); err != nil {
				return err
			}
		}
		if s.opts.Lead != nil {
			notes := values["message"]
			sub.LeadID, err = s.opts.Lead(ctx, tx, Lead{FirstName: values["first_name"], LastName: values["last_name"], Email: values["email"],
				Phone: values["phone"], CompanyName: values["company"], JobTitle: values["job_title"], Notes: notes, Source: source, OwnerID: f.OwnerID})
			if err != nil {
				return personProblems(err)
			}
		}
		if err := tx.InsertSubmission(ctx, sub, in.IP); err != nil {
			return err
		}
		if err := tx.Emit(ctx, &crm.Event{Type: crm.EventFormSubmitted, SubjectType: "lead_form", SubjectID: f.ID, ContactID: id,
			Payload: mustJSON(TimelinePayload{FormID: f.ID, Name: f.Name, SubmissionID: sub.ID, LeadID: sub.LeadID, Values: bounded(values),
				Consent: consent, Channel: f.ConsentChannel, Pending: res.Pending})}); err != nil {
			return err
		}
		if res.Pending {
			_, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobConfirm, Payload: confirmJob{SubmissionID: sub.ID}, MaxAttempts: 8})
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.Submission = sub
	return res, nil
}

// TimelinePayload is the payload of form.submitted and form.confirmed.
type TimelinePayload struct {
	FormID       int64             `json:"form_id"`
	Name         string            `json:"name"`
	SubmissionID int64             `json:"submission_id"`
	LeadID       int64             `json:"lead_id,omitempty"`
	Values       map[string]string `json:"values,omitempty"`
	Consent      bool              `json:"consent"`
	Channel      string            `json:"channel,omitempty"`
	Pending      bool              `json:"pending,omitempty"`
}

// bounded keeps the timeline's copy of the values short.
func bounded(v map[string]string) map[string]string {
	out := make(map[string]string, len(v))
	for k, s := range v {
		if r := []rune(s); len(r) > 200 {
			s = string(r[:200]) + "…"
		}
		out[k] = s
	}
	return out
}

// personProblems turns the contacts' or sales' field errors into the
// form's problems.
func personProblems(err error) error {
	fields := crm.ErrorFields(err)
	if len(fields) == 0 {
		return err
	}
	codes := map[string]string{}
	detail := map[string]string{}
	for k, msg := range fields {
		key := k
		switch k {
		case "email":
			codes[key] = ProblemEmail
		case "phone":
			codes[key] = ProblemPhone
		case "company_name":
			key = "company"
			codes[key] = ProblemInvalid
		default:
			codes[key] = ProblemInvalid
		}
		detail[key] = msg
	}
	return fieldErrors(codes, detail)
}

func grantConsent(ctx context.Context, tx *store.Tx, contactID int64, channel, wording string) error {
	c := &crm.Consent{Channel: channel, Status: crm.ConsentGranted, Source: "form", Note: wording}
	if err := tx.SetConsent(ctx, contactID, c); err != nil {
		return err
	}
	return tx.Emit(ctx, &crm.Event{Type: crm.EventConsentChanged, SubjectType: "contact", SubjectID: contactID, ContactID: contactID,
		Payload: mustJSON(c)})
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// --- Double opt-in ---

// JobConfirm sends a double opt-in confirmation.
const JobConfirm = "leadform.confirm"

type confirmJob struct {
	SubmissionID int64 `json:"submission_id"`
}

// RegisterJobs installs the confirmation mail and the score recompute.
func (s *Service) RegisterJobs(r *jobs.Runner) {
	r.Handle(JobConfirm, s.sendConfirmation)
	r.Handle(JobRecompute, s.recomputeJob)
}

func (s *Service) sendConfirmation(ctx context.Context, j *jobs.Claimed) error {
	var p confirmJob
	if err := j.Decode(&p); err != nil {
		return err
	}
	if s.opts.Mail == nil {
		return jobs.Permanent(errors.New("leadform: no mail sender"))
	}
	var (
		sub *crm.FormSubmission
		f   *crm.LeadForm
		sg  *signer
	)
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if sub, err = tx.FindSubmission(ctx, p.SubmissionID); err != nil {
			return err
		}
		if f, err = tx.FindLeadForm(ctx, sub.FormID); err != nil {
			return err
		}
		sg, err = s.key(ctx, tx)
		return err
	})
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return nil // the form or the submission was deleted: nothing to confirm
	}
	if err != nil {
		return err
	}
	if sub.Status != crm.SubmissionPending || sub.Values["email"] == "" {
		return nil
	}
	link := s.ConfirmURL(f.PublicID, sg.token(sub.ID))
	pr := locale.ForLanguage(f.Language)
	subject := pr.T("leadform.confirm.mail_subject", "form", f.Name)
	body := pr.T("leadform.confirm.mail_body", "form", f.Name, "link", link)
	err = s.opts.Mail(ctx, sub.Values["email"], subject, body, f.Language)
	if crm.ErrorCode(err) == crm.EINVALID {
		return jobs.Permanent(err)
	}
	return err
}

// ConfirmURL is the public address of a confirmation link.
func (s *Service) ConfirmURL(publicID, token string) string {
	return s.opts.BaseURL + "/f/" + publicID + "/confirm/" + token
}

// Confirmation is what the confirmation page shows.
type Confirmation struct {
	Form      *crm.LeadForm
	Address   string // masked
	Confirmed bool
}

// Confirmation checks a confirmation link and says whether it was used.
func (s *Service) Confirmation(ctx context.Context, publicID, token string) (*Confirmation, error) {
	var c *Confirmation
	err := s.db.Write(ctx, func(tx *store.Tx) error { // Write: the signing key may be made on first use
		sub, f, err := s.confirmTarget(ctx, tx, publicID, token)
		if err != nil {
			return err
		}
		c = &Confirmation{Form: f, Address: mask(sub.Values["email"]), Confirmed: sub.Status == crm.SubmissionConfirmed}
		return nil
	})
	return c, err
}

// Confirm follows a confirmation link: the submission is confirmed and
// the consent granted in the wording the person saw, with consent.changed
// and form.confirmed. Following it twice changes nothing.
func (s *Service) Confirm(ctx context.Context, publicID, token string) (*Confirmation, error) {
	var c *Confirmation
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		sub, f, err := s.confirmTarget(ctx, tx, publicID, token)
		if err != nil {
			return err
		}
		c = &Confirmation{Form: f, Address: mask(sub.Values["email"]), Confirmed: true}
		first, err := tx.ConfirmSubmission(ctx, sub.ID)
		if err != nil || !first || sub.ContactID == 0 {
			return err
		}
		if f.ConsentChannel != "" {
			if err := grantConsent(ctx, tx, sub.ContactID, f.ConsentChannel, sub.ConsentText); err != nil {
				return err
			}
		}
		return tx.Emit(ctx, &crm.Event{Type: crm.EventFormConfirmed, SubjectType: "lead_form", SubjectID: f.ID, ContactID: sub.ContactID,
			Payload: mustJSON(TimelinePayload{FormID: f.ID, Name: f.Name, SubmissionID: sub.ID, LeadID: sub.LeadID, Consent: true,
				Channel: f.ConsentChannel})})
	})
	return c, err
}

func (s *Service) confirmTarget(ctx context.Context, tx *store.Tx, publicID, token string) (*crm.FormSubmission, *crm.LeadForm, error) {
	invalid := &crm.Error{Code: crm.ENOTFOUND, Key: "leadform.confirm.invalid", Message: "This confirmation link is not valid."}
	sg, err := s.key(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	id, ok := sg.check(token)
	if !ok {
		return nil, nil, invalid
	}
	sub, err := tx.FindSubmission(ctx, id)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return nil, nil, invalid
	}
	if err != nil {
		return nil, nil, err
	}
	f, err := tx.FindLeadForm(ctx, sub.FormID)
	if err != nil || f.PublicID != publicID {
		return nil, nil, invalid
	}
	return sub, f, nil
}

// signer signs confirmation tokens with the installation's key
// (settings leadform.key, made on first use).
type signer struct{ key []byte }

func (s *Service) key(ctx context.Context, tx *store.Tx) (*signer, error) {
	v, err := tx.LeadFormSetting(ctx, "leadform.key")
	if err != nil {
		return nil, err
	}
	if v == "" {
		b := make([]byte, 32)
		rand.Read(b)
		v = base64.RawURLEncoding.EncodeToString(b)
		if err := tx.SaveLeadFormSetting(ctx, "leadform.key", v); err != nil {
			return nil, err
		}
	}
	k, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return nil, err
	}
	return &signer{key: k}, nil
}

func (g *signer) mac(id int64) string {
	m := hmac.New(sha256.New, g.key)
	m.Write([]byte("confirm:" + strconv.FormatInt(id, 10)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

func (g *signer) token(id int64) string { return strconv.FormatInt(id, 36) + "." + g.mac(id) }

func (g *signer) check(tok string) (int64, bool) {
	a, b, ok := strings.Cut(tok, ".")
	if !ok || len(a) > 13 {
		return 0, false
	}
	id, err := strconv.ParseInt(a, 36, 64)
	if err != nil || id <= 0 {
		return 0, false
	}
	return id, hmac.Equal([]byte(b), []byte(g.mac(id)))
}

// ConfirmToken returns the confirmation token of a submission (for tests
// and for resending by hand).
func (s *Service) ConfirmToken(ctx context.Context, submissionID int64) (string, error) {
	var tok string
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		g, err := s.key(ctx, tx)
		if err == nil {
			tok = g.token(submissionID)
		}
		return err
	})
	return tok, err
}

// mask hides most of an address: s***@example.com.
func mask(addr string) string {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok {
		return ""
	}
	r := []rune(local)
	if len(r) > 1 {
		local = string(r[:1]) + "***"
	}
	return local + "@" + domain
}

// --- Rate limits ---

// limiter counts attempts per key in fixed windows.
type limiter struct {
	mu     sync.Mutex
	window time.Duration
	start  time.Time
	counts map[string]int
}

func newLimiter(window time.Duration) *limiter {
	return &limiter{window: window, counts: map[string]int{}}
}

// allow counts an attempt for key and reports whether it is within max
// in the current window.
func (l *limiter) allow(now time.Time, key string, max int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= l.window {
		l.start = now
		clear(l.counts)
	}
	l.counts[key]++
	return l.counts[key] <= max
}
