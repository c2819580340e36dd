// Package leadform is Pivand's lead capture and lead scoring: web forms
// built in the UI and served at a public address (/f/{public_id}),
// whose submissions create or update a person and a lead, with consent
// in the form's exact wording and optional double opt-in by email; and
// scoring rules whose points make a score on each person, usable in
// segments as lead.score. See docs/marketing.md, "Lead capture forms"
// and "Lead scoring".
//
// The package imports no domain: people, leads, mail and the checking
// of conditions come through Options, composed in internal/app.
package leadform

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Lead is the lead a submission makes (the sales module stores it).
type Lead struct {
	FirstName, LastName, Email, Phone string
	CompanyName, JobTitle, Notes      string
	Source                            string
	OwnerID                           int64
}

// Options connect the service to the other modules.
type Options struct {
	// Person finds or creates the person a submission names, in tx
	// (contact.PersonForForm). Required to accept submissions.
	Person func(ctx context.Context, tx *store.Tx, p crm.FormPerson) (id int64, created bool, err error)
	// Lead stores the lead a submission makes, in tx, and returns its
	// id (sales.LeadForForm). Nil: no lead is made.
	Lead func(ctx context.Context, tx *store.Tx, l Lead) (int64, error)
	// Mail sends one plain-text message now (campaign.SendMail): the
	// double opt-in confirmations. Nil: double opt-in cannot be switched on.
	Mail func(ctx context.Context, to, subject, body, lang string) error
	// Validate checks and normalises a condition tree of the segment
	// language against the fields tx knows (segment.Validate). Nil:
	// attribute rules cannot be saved.
	Validate func(ctx context.Context, tx *store.Tx, root crm.Rule) (crm.Rule, error)
	// BaseURL is the public address of the confirmation links.
	BaseURL string
	// Region is the default region of phone numbers typed without a
	// country code (contact.Service.Region).
	Region string
	Logger *slog.Logger
	// PerIP and PerForm bound the submissions accepted per minute from
	// one address and to one form (10 and 120 when 0).
	PerIP, PerForm int
}

// Service is the lead capture and scoring service.
type Service struct {
	db      *store.DB
	opts    Options
	log     *slog.Logger
	limiter *limiter
}

// New returns the service.
func New(db *store.DB, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	if opts.BaseURL == "" {
		opts.BaseURL = "http://localhost:8080"
	}
	if opts.PerIP <= 0 {
		opts.PerIP = 10
	}
	if opts.PerForm <= 0 {
		opts.PerForm = 120
	}
	return &Service{db: db, opts: opts, log: opts.Logger, limiter: newLimiter(time.Minute)}
}

// CanDoubleOptIn reports whether confirmation mail can be sent.
func (s *Service) CanDoubleOptIn() bool { return s.opts.Mail != nil }

// Languages a form may be in.
var Languages = []string{"en", "fa", "ar"}

// Limits.
const (
	MaxName        = 200
	MaxConsentText = 2000
	MaxThanksText  = 2000
	MaxSource      = 100
)

// FormInput is what a user sets on a form.
type FormInput struct {
	Name           string          `json:"name"`
	Language       string          `json:"language"`
	Fields         []crm.FormField `json:"fields"`
	ConsentChannel string          `json:"consent_channel"`
	ConsentText    string          `json:"consent_text"`
	DoubleOptIn    bool            `json:"double_opt_in"`
	LeadSource     string          `json:"lead_source"`
	OwnerID        int64           `json:"owner_id"`
	ThanksText     string          `json:"thanks_text"`
	Active         *bool           `json:"active,omitempty"` // nil: true on create, unchanged on update
}

// InputOf is a form's input (for editing it).
func InputOf(f *crm.LeadForm) FormInput {
	active := f.Active
	return FormInput{Name: f.Name, Language: f.Language, Fields: slices.Clone(f.Fields), ConsentChannel: f.ConsentChannel,
		ConsentText: f.ConsentText, DoubleOptIn: f.DoubleOptIn, LeadSource: f.LeadSource, OwnerID: f.OwnerID, ThanksText: f.ThanksText,
		Active: &active}
}

func (s *Service) check(ctx context.Context, tx *store.Tx, in *FormInput) error {
	var v crm.Validation
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "":
		v.Add("name", "Give the form a name.")
	case len([]rune(in.Name)) > MaxName:
		v.Add("name", "At most %d characters.", MaxName)
	}
	if in.Language == "" {
		in.Language = "en"
	}
	if !slices.Contains(Languages, in.Language) {
		v.Add("language", "Use en, fa or ar.")
	}
	custom, err := tx.ListCustomFields(ctx, "contact")
	if err != nil {
		return err
	}
	fields, errs := CheckFields(in.Fields, custom)
	in.Fields = fields
	for k, msg := range errs {
		v.Add(k, "%s", msg)
	}
	in.ConsentText = strings.TrimSpace(in.ConsentText)
	if in.ConsentChannel != "" {
		if !slices.Contains(crm.ConsentChannels, in.ConsentChannel) {
			v.Add("consent_channel", "Use one of %s, or none.", strings.Join(crm.ConsentChannels, ", "))
		}
		if in.ConsentText == "" {
			v.Add("consent_text", "Write what the person agrees to: it is stored with their consent.")
		}
	}
	if len([]rune(in.ConsentText)) > MaxConsentText {
		v.Add("consent_text", "At most %d characters.", MaxConsentText)
	}
	if in.DoubleOptIn {
		switch {
		case s.opts.Mail == nil:
			v.Add("double_opt_in", "Confirmation mail is not available in this installation.")
		case in.ConsentChannel == "":
			v.Add("double_opt_in", "Double opt-in confirms a consent: choose a consent channel.")
		case !slices.ContainsFunc(in.Fields, func(f crm.FormField) bool { return f.Key == "email" && f.Required }):
			v.Add("double_opt_in", "Double opt-in sends a link by email: add a required email field.")
		}
	}
	in.LeadSource = strings.TrimSpace(in.LeadSource)
	if len([]rune(in.LeadSource)) > MaxSource {
		v.Add("lead_source", "At most %d characters.", MaxSource)
	}
	in.ThanksText = strings.TrimSpace(in.ThanksText)
	if len([]rune(in.ThanksText)) > MaxThanksText {
		v.Add("thanks_text", "At most %d characters.", MaxThanksText)
	}
	if in.OwnerID != 0 {
		u, err := tx.FindUserByID(ctx, in.OwnerID)
		if crm.ErrorCode(err) == crm.ENOTFOUND || (err == nil && !u.Active) {
			v.Add("owner_id", "Choose an active user.")
		} else if err != nil {
			return err
		}
	}
	return v.Err()
}

func apply(f *crm.LeadForm, in FormInput) {
	f.Name, f.Language, f.Fields = in.Name, in.Language, in.Fields
	f.ConsentChannel, f.ConsentText, f.DoubleOptIn = in.ConsentChannel, in.ConsentText, in.DoubleOptIn
	f.LeadSource, f.OwnerID, f.ThanksText = in.LeadSource, in.OwnerID, in.ThanksText
	if in.Active != nil {
		f.Active = *in.Active
	}
}

// Create stores a new form with a new public id. Needs marketing:write.
func (s *Service) Create(ctx context.Context, in FormInput) (*crm.LeadForm, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingWrite, true); err != nil {
		return nil, err
	}
	f := &crm.LeadForm{PublicID: newPublicID(), Active: true, CreatedBy: crm.UserIDFromContext(ctx)}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := s.check(ctx, tx, &in); err != nil {
			return err
		}
		apply(f, in)
		if err := tx.InsertLeadForm(ctx, f); err != nil {
			return err
		}
		return tx.Audit(ctx, "leadform.create", "lead_form", f.ID, nil, f)
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Update changes a form. Needs marketing:write.
func (s *Service) Update(ctx context.Context, id int64, in FormInput) (*crm.LeadForm, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingWrite, true); err != nil {
		return nil, err
	}
	var f *crm.LeadForm
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		before, err := tx.FindLeadForm(ctx, id)
		if err != nil {
			return err
		}
		if err := s.check(ctx, tx, &in); err != nil {
			return err
		}
		after := *before
		apply(&after, in)
		if err := tx.UpdateLeadForm(ctx, &after); err != nil {
			return err
		}
		f = &after
		return tx.Audit(ctx, "leadform.update", "lead_form", id, before, f)
	})
	return f, err
}

// Delete removes a form and its submissions (the people and leads they
// made stay). Needs marketing:write.
func (s *Service) Delete(ctx context.Context, id int64) error {
	if err := crm.Authorize(ctx, crm.PermMarketingWrite, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		f, err := tx.FindLeadForm(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteLeadForm(ctx, id); err != nil {
			return err
		}
		return tx.Audit(ctx, "leadform.delete", "lead_form", id, f, nil)
	})
}

// Get returns a form. Needs marketing:read.
func (s *Service) Get(ctx context.Context, id int64) (*crm.LeadForm, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingRead, false); err != nil {
		return nil, err
	}
	var f *crm.LeadForm
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		f, err = tx.FindLeadForm(ctx, id)
		return err
	})
	return f, err
}

// List returns forms, newest first. Needs marketing:read.
func (s *Service) List(ctx context.Context, p crm.Page) ([]*crm.LeadForm, string, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingRead, false); err != nil {
		return nil, "", err
	}
	_, after, err := crm.DecodeCursor(p.After)
	if err != nil {
		return nil, "", err
	}
	var (
		out  []*crm.LeadForm
		next int64
	)
	err = s.db.Read(ctx, func(tx *store.Tx) error {
		out, next, err = tx.ListLeadForms(ctx, p.Limit, after)
		return err
	})
	if err != nil || next == 0 {
		return out, "", err
	}
	return out, crm.EncodeCursor("", next), nil
}

// Submissions returns a form's submissions, newest first. Needs marketing:read.
func (s *Service) Submissions(ctx context.Context, formID int64, p crm.Page) ([]*crm.FormSubmission, string, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingRead, false); err != nil {
		return nil, "", err
	}
	_, after, err := crm.DecodeCursor(p.After)
	if err != nil {
		return nil, "", err
	}
	var (
		out  []*crm.FormSubmission
		next int64
	)
	err = s.db.Read(ctx, func(tx *store.Tx) error {
		if _, err := tx.FindLeadForm(ctx, formID); err != nil {
			return err
		}
		out, next, err = tx.ListSubmissions(ctx, formID, p.Limit, after)
		return err
	})
	if err != nil || next == 0 {
		return out, "", err
	}
	return out, crm.EncodeCursor("", next), nil
}

// CustomFields lists the people's custom fields a form may use.
func (s *Service) CustomFields(ctx context.Context) ([]*crm.CustomField, error) {
	var out []*crm.CustomField
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ListCustomFields(ctx, "contact")
		return err
	})
	return out, err
}

// newPublicID is the random part of a form's public address: 16
// lower-case base32 characters (80 bits), so forms cannot be listed by
// guessing.
func newPublicID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// User is a user leads may be given to.
type User struct {
	ID   int64
	Name string
}

// Users lists the active users (the owners a form's leads may have).
func (s *Service) Users(ctx context.Context) ([]User, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingRead, false); err != nil {
		return nil, err
	}
	var out []User
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		us, err := tx.ListUsers(ctx)
		for _, u := range us {
			if !u.Active {
				continue
			}
			name := u.Name
			if name == "" {
				name = u.Email
			}
			out = append(out, User{ID: u.ID, Name: name})
		}
		return err
	})
	return out, err
}
