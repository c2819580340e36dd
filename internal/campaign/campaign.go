// Package campaign is Pivand's email and SMS campaigns: templated messages
// to an audience (a segment, a static list or everyone), sent by durable
// jobs through a pooled SMTP client or an HTTP SMS provider, with one
// delivery record per (campaign, person), consent and suppression checked
// at the moment of sending, signed tracking links, one-click unsubscribe
// and results. See docs/marketing.md, "Campaigns".
//
// The package imports no other domain: the audience of a segment comes
// through Options.Audience, composed in internal/app; people, consents,
// club points and coupons are read through the store.
package campaign

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/store"
)

// Channels.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
)

// Audience kinds.
const (
	AudienceAll     = "all"     // every person in the CRM (consent still decides)
	AudienceSegment = "segment" // a saved segment or static list (Options.Audience)
)

// Languages a campaign's content may have.
var Languages = []string{"en", "fa", "ar"}

// Options configure the service.
type Options struct {
	// Audience calls fn with every member of a segment or static list, in
	// tx. Nil: only AudienceAll campaigns can be sent.
	Audience func(ctx context.Context, tx *store.Tx, segmentID int64, fn func(contactID int64) error) error
	// BaseURL is the public address tracking and unsubscribe links use.
	BaseURL string
	Logger  *slog.Logger
	// BatchSize is how many recipients one transaction claims
	// (DefaultBatchSize when 0). The outcomes of a batch are committed
	// after its messages are sent: a crash leaves at most one batch whose
	// outcome is unknown (docs/marketing.md).
	BatchSize int
	// Lease is how long a sender holds a campaign without renewing (1m):
	// after a crash, another sender takes over after it.
	Lease time.Duration
}

// Service is the campaigns service.
type Service struct {
	db   *store.DB
	opts Options
	log  *slog.Logger

	mu     sync.Mutex
	signer *Signer
}

// New returns the service.
func New(db *store.DB, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Lease <= 0 {
		opts.Lease = time.Minute
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	if opts.BaseURL == "" {
		opts.BaseURL = "http://localhost:8080"
	}
	return &Service{db: db, opts: opts, log: opts.Logger}
}

// HasSegments reports whether segment audiences are available.
func (s *Service) HasSegments() bool { return s.opts.Audience != nil }

// Input is what a user sets on a campaign.
type Input struct {
	Name            string                         `json:"name"`
	Channel         string                         `json:"channel"`
	AudienceKind    string                         `json:"audience_kind"`
	AudienceID      int64                          `json:"audience_id"`
	FromName        string                         `json:"from_name"`
	FromAddress     string                         `json:"from_address"`
	DefaultLanguage string                         `json:"default_language"`
	Content         map[string]crm.CampaignContent `json:"content"`
	CouponBatchID   int64                          `json:"coupon_batch_id"`
	AttributionDays int                            `json:"attribution_days"`
	// AB makes the campaign an A/B test (nil: not one).
	AB *crm.ABTest `json:"ab_test"`
}

func (s *Service) validate(in *Input) error {
	var v crm.Validation
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "":
		v.Add("name", "Required.")
	case len([]rune(in.Name)) > 200:
		v.Add("name", "At most 200 characters.")
	}
	if in.Channel != ChannelEmail && in.Channel != ChannelSMS {
		v.Add("channel", "Use email or sms.")
	}
	if in.AudienceKind == "" {
		in.AudienceKind = AudienceAll
	}
	switch in.AudienceKind {
	case AudienceAll:
		in.AudienceID = 0
	case AudienceSegment:
		if in.AudienceID <= 0 {
			v.Add("audience_id", "Choose a segment or list.")
		}
		if s.opts.Audience == nil {
			v.Add("audience_kind", "Segments are not available in this installation; use all.")
		}
	default:
		v.Add("audience_kind", "Use all or segment.")
	}
	in.FromName = strings.TrimSpace(in.FromName)
	in.FromAddress = strings.TrimSpace(in.FromAddress)
	if in.Channel == ChannelEmail && in.FromAddress != "" {
		if a, err := mail.ParseAddress(in.FromAddress); err != nil || a.Address != in.FromAddress {
			v.Add("from_address", "Not an email address.")
		}
	}
	if strings.ContainsAny(in.FromName, "\r\n") || len([]rune(in.FromName)) > 100 {
		v.Add("from_name", "One line of at most 100 characters.")
	}
	if in.DefaultLanguage == "" {
		in.DefaultLanguage = "en"
	}
	if !slices.Contains(Languages, in.DefaultLanguage) {
		v.Add("default_language", "Use en, fa or ar.")
	}
	if in.Content == nil {
		in.Content = map[string]crm.CampaignContent{}
	}
	for lang := range in.Content {
		if !slices.Contains(Languages, lang) {
			v.Add("content."+lang, "Use en, fa or ar.")
		}
	}
	if in.Channel == ChannelEmail || in.Channel == ChannelSMS {
		if _, ok := in.Content[in.DefaultLanguage]; !ok && slices.Contains(Languages, in.DefaultLanguage) {
			v.Add("content."+in.DefaultLanguage, "The default language needs content.")
		}
		for lang, c := range in.Content {
			if slices.Contains(Languages, lang) {
				Compile(in.Channel, lang, c, &v)
			}
		}
	}
	if in.AttributionDays == 0 {
		in.AttributionDays = 7
	}
	if in.AttributionDays < 1 || in.AttributionDays > 90 {
		v.Add("attribution_days", "From 1 to 90 days.")
	}
	if in.CouponBatchID < 0 {
		v.Add("coupon_batch_id", "Must not be negative.")
	}
	validateAB(in, &v)
	return v.Err()
}

// Create stores a draft campaign.
func (s *Service) Create(ctx context.Context, in Input) (*crm.Campaign, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingWrite, true); err != nil {
		return nil, err
	}
	if err := s.validate(&in); err != nil {
		return nil, err
	}
	c := &crm.Campaign{Status: crm.CampaignDraft, CreatedBy: crm.UserIDFromContext(ctx)}
	apply(c, in)
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertCampaign(ctx, c); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "campaign.create", "campaign", c.ID, nil, c); err != nil {
			return err
		}
		return tx.Emit(ctx, &crm.Event{Type: "campaign.created", SubjectType: "campaign", SubjectID: c.ID,
			Payload: mustJSON(map[string]any{"id": c.ID, "name": c.Name, "channel": c.Channel})})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func apply(c *crm.Campaign, in Input) {
	c.Name, c.Channel, c.AudienceKind, c.AudienceID = in.Name, in.Channel, in.AudienceKind, in.AudienceID
	c.FromName, c.FromAddress, c.DefaultLanguage, c.Content = in.FromName, in.FromAddress, in.DefaultLanguage, in.Content
	c.CouponBatchID, c.AttributionDays, c.AB = in.CouponBatchID, in.AttributionDays, in.AB
}

// InputOf is a campaign's editable fields.
func InputOf(c *crm.Campaign) Input {
	return Input{Name: c.Name, Channel: c.Channel, AudienceKind: c.AudienceKind, AudienceID: c.AudienceID, FromName: c.FromName,
		FromAddress: c.FromAddress, DefaultLanguage: c.DefaultLanguage, Content: c.Content, CouponBatchID: c.CouponBatchID,
		AttributionDays: c.AttributionDays, AB: c.AB}
}

// Update changes a draft (or paused) campaign. version, when not 0, must
// be the campaign's current version (409 otherwise).
func (s *Service) Update(ctx context.Context, id, version int64, in Input) (*crm.Campaign, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingWrite, true); err != nil {
		return nil, err
	}
	if err := s.validate(&in); err != nil {
		return nil, err
	}
	var c *crm.Campaign
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if c, err = tx.FindCampaign(ctx, id, true); err != nil {
			return err
		}
		if version != 0 && version != c.Version {
			return crm.Errorf(crm.ECONFLICT, "The campaign was changed by someone else; reload it.")
		}
		if c.Status != crm.CampaignDraft && c.Status != crm.CampaignScheduled && c.Status != crm.CampaignPaused {
			return crm.Errorf(crm.ECONFLICT, "A %s campaign cannot be edited.", c.Status)
		}
		if c.Status == crm.CampaignPaused && (in.Channel != c.Channel || in.AudienceKind != c.AudienceKind || in.AudienceID != c.AudienceID) {
			return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.",
				Fields: map[string]string{"audience_id": "The channel and audience of a started campaign cannot change."}}
		}
		if c.Status == crm.CampaignPaused && !abEqual(in.AB, c.AB) {
			return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.",
				Fields: map[string]string{"ab_test": "The A/B test of a started campaign cannot change."}}
		}
		before := *c
		apply(c, in)
		if err := tx.UpdateCampaign(ctx, c); err != nil {
			return err
		}
		return tx.Audit(ctx, "campaign.update", "campaign", c.ID, &before, c)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// change runs fn in a write transaction on campaign id, read for update,
// for a user who may change campaigns, and returns the campaign as the
// transaction left it.
func (s *Service) change(ctx context.Context, id int64, fn func(tx *store.Tx, c *crm.Campaign) error) (*crm.Campaign, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingWrite, true); err != nil {
		return nil, err
	}
	var c *crm.Campaign
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		cur, err := tx.FindCampaign(ctx, id, true)
		if err != nil {
			return err
		}
		if err := fn(tx, cur); err != nil {
			return err
		}
		c, err = tx.FindCampaign(ctx, id, false)
		return err
	})
	return c, err
}

// Get returns a campaign.
func (s *Service) Get(ctx context.Context, id int64) (*crm.Campaign, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingRead, false); err != nil {
		return nil, err
	}
	var c *crm.Campaign
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		c, err = tx.FindCampaign(ctx, id, false)
		return err
	})
	return c, err
}

// List lists campaigns, newest first.
func (s *Service) List(ctx context.Context, status string, p crm.Page) ([]*crm.Campaign, string, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingRead, false); err != nil {
		return nil, "", err
	}
	var (
		out  []*crm.Campaign
		next string
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, next, err = tx.ListCampaigns(ctx, status, p)
		return err
	})
	return out, next, err
}

// Delete removes a draft campaign (a sent one is a record: cancel it).
func (s *Service) Delete(ctx context.Context, id int64) error {
	if err := crm.Authorize(ctx, crm.PermMarketingWrite, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		c, err := tx.FindCampaign(ctx, id, true)
		if err != nil {
			return err
		}
		if c.Status != crm.CampaignDraft {
			return crm.Errorf(crm.ECONFLICT, "Only a draft can be deleted; this campaign is %s.", c.Status)
		}
		if err := tx.DeleteCampaign(ctx, id); err != nil {
			return err
		}
		return tx.Audit(ctx, "campaign.delete", "campaign", id, c, nil)
	})
}

// Deliveries lists a campaign's delivery records.
func (s *Service) Deliveries(ctx context.Context, id int64, status string, p crm.Page) ([]*crm.CampaignDelivery, string, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingRead, false); err != nil {
		return nil, "", err
	}
	switch status {
	case "", crm.MessageQueued, crm.MessageSending, crm.MessageSent, crm.MessageFailed, crm.MessageSkipped, crm.MessageHeld:
	default:
		return nil, "", &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.",
			Fields: map[string]string{"status": "Use queued, sending, sent, failed, skipped or held."}}
	}
	var (
		out  []*crm.CampaignDelivery
		next string
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		if _, err := tx.FindCampaign(ctx, id, false); err != nil {
			return err
		}
		var err error
		out, next, err = tx.ListDeliveries(ctx, id, status, p)
		return err
	})
	return out, next, err
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func newToken() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// SubscriberName is the campaign service's event subscriber.
const SubscriberName = "campaign"

// Subscribe follows merged and erased people: deliveries move to the
// survivor of a merge; an erased person's deliveries are deleted.
func (s *Service) Subscribe(d *event.Dispatcher) {
	d.Subscribe(SubscriberName, []string{crm.EventContactsMerged, crm.EventContactErased}, s.HandleEvent, event.SubscribeFromNow())
}

// HandleEvent is the handler Subscribe installs.
func (s *Service) HandleEvent(ctx context.Context, tx *store.Tx, ev crm.Event) error {
	switch ev.Type {
	case crm.EventContactsMerged:
		var p struct {
			MergedIDs []int64 `json:"merged_ids"`
		}
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			s.log.Error("campaign: contact.merged payload does not decode; skipped", "event", ev.ID, "err", err)
			return nil
		}
		return tx.MoveCampaignDeliveries(ctx, p.MergedIDs, ev.SubjectID)
	case crm.EventContactErased:
		return tx.EraseCampaignContact(ctx, ev.SubjectID)
	}
	return nil
}
