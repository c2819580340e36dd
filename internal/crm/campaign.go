package crm

import "time"

// Campaign channels and statuses.
const (
	CampaignDraft     = "draft"
	CampaignSending   = "sending"
	CampaignPaused    = "paused"
	CampaignDone      = "done"
	CampaignCancelled = "cancelled"

	MessageQueued  = "queued"
	MessageSending = "sending"
	MessageSent    = "sent"
	MessageFailed  = "failed"
	MessageSkipped = "skipped"
)

// CampaignContent is a campaign's message in one language. Email uses
// Subject, HTML and Text; SMS uses SMS. Each is a template (see
// internal/campaign).
type CampaignContent struct {
	Subject string `json:"subject,omitempty"`
	HTML    string `json:"html,omitempty"`
	Text    string `json:"text,omitempty"`
	SMS     string `json:"sms,omitempty"`
}

// Campaign is an email or SMS campaign to an audience.
type Campaign struct {
	ID              int64                      `json:"id"`
	Name            string                     `json:"name"`
	Channel         string                     `json:"channel"` // email, sms
	Status          string                     `json:"status"`
	AudienceKind    string                     `json:"audience_kind"` // all, segment, list
	AudienceID      int64                      `json:"audience_id"`
	FromName        string                     `json:"from_name"`
	FromAddress     string                     `json:"from_address"`
	DefaultLanguage string                     `json:"default_language"`
	Content         map[string]CampaignContent `json:"content"`
	CouponBatchID   int64                      `json:"coupon_batch_id"`
	AttributionDays int                        `json:"attribution_days"`
	AudienceCount   int64                      `json:"audience_count"`
	AudienceReady   bool                       `json:"-"`
	StartedAt       *time.Time                 `json:"started_at"`
	FinishedAt      *time.Time                 `json:"finished_at"`
	CreatedBy       int64                      `json:"created_by"`
	Version         int64                      `json:"version"`
	CreatedAt       time.Time                  `json:"created_at"`
	UpdatedAt       time.Time                  `json:"updated_at"`
}

// CampaignDelivery is the one record of a campaign's message to one person.
type CampaignDelivery struct {
	ID             int64      `json:"id"`
	CampaignID     int64      `json:"campaign_id"`
	ContactID      int64      `json:"contact_id"`
	Status         string     `json:"status"`
	Reason         string     `json:"reason"`
	Address        string     `json:"address"`
	Language       string     `json:"language"`
	CouponCode     string     `json:"coupon_code,omitempty"`
	CouponID       int64      `json:"-"`
	Attempts       int        `json:"attempts"`
	SentAt         *time.Time `json:"sent_at"`
	OpenedAt       *time.Time `json:"opened_at"`
	ClickedAt      *time.Time `json:"clicked_at"`
	UnsubscribedAt *time.Time `json:"unsubscribed_at"`
	BouncedAt      *time.Time `json:"bounced_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// CampaignResults are a campaign's counts. Audience = Sent + Failed +
// Skipped + Pending.
type CampaignResults struct {
	Audience     int64 `json:"audience"`
	Pending      int64 `json:"pending"` // queued or being sent
	Sent         int64 `json:"sent"`
	Failed       int64 `json:"failed"`
	Skipped      int64 `json:"skipped"`
	Opened       int64 `json:"opened"`
	Clicked      int64 `json:"clicked"`
	Unsubscribed int64 `json:"unsubscribed"`
	Bounced      int64 `json:"bounced"`
	// Revenue is the total of orders placed by recipients within the
	// campaign's attribution window after their message was sent, per
	// currency (minor units); Orders counts them.
	Revenue map[string]int64 `json:"revenue"`
	Orders  int64            `json:"orders"`
	// SkipReasons counts skipped deliveries by reason.
	SkipReasons map[string]int64 `json:"skip_reasons"`
}

// CampaignPoint is one bucket of a campaign's activity over time.
type CampaignPoint struct {
	At      time.Time `json:"at"`
	Sent    int64     `json:"sent"`
	Opened  int64     `json:"opened"`
	Clicked int64     `json:"clicked"`
}

// RecipientData is what a campaign template may use about one person.
type RecipientData struct {
	ContactID int64
	FirstName string
	LastName  string
	Email     string
	Phone     string
	Language  string
	Tags      []string
	TimeZone  string // from the custom field time_zone; "" when none
	Points    int64  // available club points (0 when not a member)
	Consents  []Consent
}
