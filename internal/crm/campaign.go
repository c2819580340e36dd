package crm

import "time"

// Campaign channels and statuses.
const (
	CampaignDraft     = "draft"
	CampaignSending   = "sending"
	CampaignPaused    = "paused"
	CampaignDone      = "done"
	CampaignCancelled = "cancelled"
	// CampaignWaiting: an A/B test's variants are sent; the rest of the
	// audience waits for the winner.
	CampaignWaiting = "waiting"
	// CampaignScheduled: waiting for ScheduledAt, when it starts sending.
	CampaignScheduled = "scheduled"

	MessageQueued  = "queued"
	MessageSending = "sending"
	MessageSent    = "sent"
	MessageFailed  = "failed"
	MessageSkipped = "skipped"
	// MessageHeld: in the rest of an A/B test's audience, waiting for the
	// winner (then queued with its variant).
	MessageHeld = "held"
)

// A/B test metrics: what picks the winner.
const (
	ABOpenRate  = "open_rate"  // opened / sent
	ABClickRate = "click_rate" // clicked / sent
	ABRevenue   = "revenue"    // attributed revenue / sent
)

// ABTest is a campaign's A/B test: variant A is the campaign's own
// content, Variants are B, C, …; a share of the audience (TestPercent) is
// split evenly between them, the winner is picked by Metric WaitHours
// after the test messages are sent, and sent to the rest when AutoSend.
type ABTest struct {
	Variants    []ABVariant `json:"variants"`
	TestPercent int         `json:"test_percent"`
	Metric      string      `json:"metric"`
	WaitHours   int         `json:"wait_hours"`
	AutoSend    bool        `json:"auto_send"`
}

// ABVariant is one variant after A: per language, the fields it sets
// replace A's (a variant may change only the subject).
type ABVariant struct {
	Name    string                     `json:"name"`
	Content map[string]CampaignContent `json:"content"`
}

// VariantResults are one variant's figures over its test group (the rest
// of the audience is not counted here).
type VariantResults struct {
	Variant   int              `json:"variant"` // 0 = A
	Name      string           `json:"name"`
	Audience  int64            `json:"audience"`
	Sent      int64            `json:"sent"`
	Opened    int64            `json:"opened"`
	Clicked   int64            `json:"clicked"`
	Orders    int64            `json:"orders"`
	Revenue   map[string]int64 `json:"revenue"`
	Winner    bool             `json:"winner"`
	OpenRate  float64          `json:"open_rate"`  // of sent
	ClickRate float64          `json:"click_rate"` // of sent
}

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
	// AB is the A/B test, nil when the campaign is not one. ABWinner is
	// the chosen variant (-1 until chosen).
	AB          *ABTest    `json:"ab_test"`
	ABWinner    int        `json:"ab_winner"`
	ABDecideAt  *time.Time `json:"ab_decide_at"`
	ABDecidedAt *time.Time `json:"ab_decided_at"`
	// ScheduledAt is when a scheduled campaign starts (nil otherwise).
	ScheduledAt   *time.Time `json:"scheduled_at"`
	AudienceCount int64      `json:"audience_count"`
	AudienceReady bool       `json:"-"`
	StartedAt     *time.Time `json:"started_at"`
	FinishedAt    *time.Time `json:"finished_at"`
	CreatedBy     int64      `json:"created_by"`
	Version       int64      `json:"version"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
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
	Variant        int        `json:"variant"` // A/B variant (0 = A); -1 while held
	ABRest         bool       `json:"ab_rest"` // sent to the rest of an A/B test's audience
	SentAt         *time.Time `json:"sent_at"`
	OpenedAt       *time.Time `json:"opened_at"`
	ClickedAt      *time.Time `json:"clicked_at"`
	UnsubscribedAt *time.Time `json:"unsubscribed_at"`
	BouncedAt      *time.Time `json:"bounced_at"`
	// AttributionUntil ends the window in which the person's orders count
	// as the campaign's revenue.
	AttributionUntil *time.Time `json:"attribution_until"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

// CampaignResults are a campaign's counts. Audience = Sent + Failed +
// Skipped + Pending + Held.
type CampaignResults struct {
	Audience     int64 `json:"audience"`
	Pending      int64 `json:"pending"` // queued or being sent
	Held         int64 `json:"held"`    // the rest of an A/B test's audience, waiting for the winner
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
	// Variants are an A/B test's variants over their test groups (nil
	// when the campaign is not a test).
	Variants []VariantResults `json:"variants,omitempty"`
	// ABSignificance compares the leading variant (or the winner) with the
	// runner-up by an open or click rate test; nil for a revenue test, or
	// while either has nothing to compare.
	ABSignificance *ABSignificance `json:"ab_significance,omitempty"`
}

// ABSignificance is a two-proportion z-test of the best variant's rate
// against the runner-up's: Confidence is 1 − the two-sided p-value
// (0.97: a difference this large would arise by chance 3% of the time
// if the variants did equally well); Significant when it is at least
// 0.95.
type ABSignificance struct {
	Best        int     `json:"best"`
	RunnerUp    int     `json:"runner_up"`
	Z           float64 `json:"z"`
	Confidence  float64 `json:"confidence"`
	Significant bool    `json:"significant"`
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
