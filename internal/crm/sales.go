package crm

import (
	"strconv"
	"strings"
	"time"
)

// The sales vocabulary: leads, pipelines with stages, deals with line
// items, products, quotes and lost reasons (internal/sales). Money is int64
// minor units of an ISO 4217 currency, as everywhere in Pivand.

// Deal statuses. A deal's status follows the kind of its stage: open in
// an open stage, won in the pipeline's won stage, lost in its lost stage.
const (
	DealOpen = "open"
	DealWon  = "won"
	DealLost = "lost"
)

// DealStatuses lists the deal statuses.
var DealStatuses = []string{DealOpen, DealWon, DealLost}

// Stage kinds: every pipeline has ordered open stages and exactly one won
// and one lost stage at its end.
const (
	StageOpen = "open"
	StageWon  = "won"
	StageLost = "lost"
)

// Lead statuses. A converted lead is read-only and links to the person,
// company and deal it became.
const (
	LeadNew         = "new"
	LeadContacted   = "contacted"
	LeadQualified   = "qualified"
	LeadUnqualified = "unqualified"
	LeadConverted   = "converted"
)

// LeadStatuses lists the lead statuses in their usual order.
var LeadStatuses = []string{LeadNew, LeadContacted, LeadQualified, LeadUnqualified, LeadConverted}

// Quote statuses: draft → sent → accepted or declined (a draft may be
// accepted or declined directly, as when the customer signs on the spot).
const (
	QuoteDraft    = "draft"
	QuoteSent     = "sent"
	QuoteAccepted = "accepted"
	QuoteDeclined = "declined"
)

// QuoteStatuses lists the quote statuses.
var QuoteStatuses = []string{QuoteDraft, QuoteSent, QuoteAccepted, QuoteDeclined}

// Activity kinds: a task is a to-do; a call and a meeting are planned
// contacts with the customer. All three are tasks (internal/activity) with
// due dates, reminders and assignees, linked to a person, a company and/or
// a deal.
const (
	ActivityTask    = "task"
	ActivityCall    = "call"
	ActivityMeeting = "meeting"
)

// ActivityKinds lists the activity kinds.
var ActivityKinds = []string{ActivityTask, ActivityCall, ActivityMeeting}

// Sales visibility settings: what users of the sales role see.
const (
	SalesSeeAll  = "all"  // every deal and lead
	SalesSeeTeam = "team" // those they own and those their teammates own
)

// Sales events. Deal events carry ContactID and CompanyID, so they land on
// the person's and the company's timeline; their payloads are
// sales.DealPayload and the types beside it.
const (
	EventDealCreated      = "deal.created"
	EventDealUpdated      = "deal.updated"
	EventDealStageChanged = "deal.stage_changed"
	EventDealWon          = "deal.won"
	EventDealLost         = "deal.lost"
	EventDealReopened     = "deal.reopened"
	EventDealDeleted      = "deal.deleted"
	EventLeadCreated      = "lead.created"
	EventLeadUpdated      = "lead.updated"
	EventLeadConverted    = "lead.converted"
	EventLeadDeleted      = "lead.deleted"
	EventQuoteCreated     = "quote.created"
	EventQuoteStatus      = "quote.status_changed"
)

// Pipeline is a sales process: ordered stages a deal goes through.
type Pipeline struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Currency  string    `json:"currency"` // the currency new deals start in
	Position  int       `json:"position"`
	Stages    []Stage   `json:"stages"` // in order: open stages, then won, then lost; removed ones left out
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// OpenStages returns the pipeline's open stages in order.
func (p *Pipeline) OpenStages() []Stage {
	var out []Stage
	for _, s := range p.Stages {
		if s.Kind == StageOpen {
			out = append(out, s)
		}
	}
	return out
}

// StageOfKind returns the pipeline's won or lost stage.
func (p *Pipeline) StageOfKind(kind string) (Stage, bool) {
	for _, s := range p.Stages {
		if s.Kind == kind {
			return s, true
		}
	}
	return Stage{}, false
}

// Stage is one step of a pipeline. Probability is the chance (percent) a
// deal in it is won: the forecast weighs deal values by it. A removed
// stage keeps its row (RemovedAt set) so deals' stage history still
// names it.
type Stage struct {
	ID          int64      `json:"id"`
	PipelineID  int64      `json:"pipeline_id"`
	Name        string     `json:"name"`
	Position    int        `json:"position"`
	Probability int        `json:"probability"` // 0–100
	Kind        string     `json:"kind"`        // open, won, lost
	RemovedAt   *time.Time `json:"removed_at,omitempty"`
}

// LostReason is one of the reasons a deal is lost, kept by admins.
type LostReason struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Position  int       `json:"position"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
}

// Deal is a sale in progress. Value is in minor units of Currency; with
// ValueFromLines it is the sum of the line items' amounts before tax,
// recomputed whenever they change. Version grows with every change: a
// move or update that names the version it saw is refused (409) when
// someone changed the deal since.
type Deal struct {
	ID             int64          `json:"id"`
	PipelineID     int64          `json:"pipeline_id"`
	StageID        int64          `json:"stage_id"`
	Status         string         `json:"status"` // open, won, lost
	Title          string         `json:"title"`
	Value          int64          `json:"value"`
	Currency       string         `json:"currency"`
	ValueFromLines bool           `json:"value_from_lines"`
	ContactID      int64          `json:"contact_id"`     // 0: none
	CompanyID      int64          `json:"company_id"`     // 0: none
	OwnerID        int64          `json:"owner_id"`       // 0: none
	ExpectedClose  string         `json:"expected_close"` // YYYY-MM-DD (Gregorian) or ""
	Source         string         `json:"source"`
	Tags           []string       `json:"tags"`
	Custom         map[string]any `json:"custom"`
	LostReasonID   int64          `json:"lost_reason_id"` // 0: none
	LostNote       string         `json:"lost_note"`
	LeadID         int64          `json:"lead_id"` // the lead it was converted from; 0: none
	Version        int64          `json:"version"`
	StageEnteredAt time.Time      `json:"stage_entered_at"`
	ClosedAt       *time.Time     `json:"closed_at"`
	CreatedBy      int64          `json:"created_by"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
	Lines          []DealLine     `json:"lines,omitempty"` // filled when one deal is read
}

// DealLine is one line item of a deal. Subtotal = Quantity × UnitPrice −
// Discount; Tax = Subtotal × TaxRate / 10000, rounded half up; Total =
// Subtotal + Tax. TaxRate is in hundredths of a percent (900 is 9%).
type DealLine struct {
	ID        int64  `json:"id"`
	ProductID int64  `json:"product_id"` // 0: a line typed in, not from the catalogue
	Name      string `json:"name"`
	SKU       string `json:"sku"`
	Quantity  int64  `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
	Discount  int64  `json:"discount"`
	TaxRate   int64  `json:"tax_rate"`
	Subtotal  int64  `json:"subtotal"`
	Tax       int64  `json:"tax"`
	Total     int64  `json:"total"`
}

// Product is an item of the catalogue. Price is in minor units of
// Currency; TaxRate in hundredths of a percent.
type Product struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	SKU         string    `json:"sku"`
	Description string    `json:"description"`
	Price       int64     `json:"price"`
	Currency    string    `json:"currency"`
	TaxRate     int64     `json:"tax_rate"`
	Active      bool      `json:"active"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Quote is a numbered offer to a customer: the deal's line items as they
// were when it was made (a snapshot: later changes to the deal do not
// change it; a draft can be refreshed from the deal).
type Quote struct {
	ID         int64      `json:"id"`
	DealID     int64      `json:"deal_id"`
	Number     int64      `json:"number"`
	Status     string     `json:"status"`
	Title      string     `json:"title"`
	ContactID  int64      `json:"contact_id"`
	CompanyID  int64      `json:"company_id"`
	Currency   string     `json:"currency"`
	Lines      []DealLine `json:"lines"`
	Subtotal   int64      `json:"subtotal"`
	Discount   int64      `json:"discount"` // the lines' discounts, for the page
	Tax        int64      `json:"tax"`
	Total      int64      `json:"total"`
	ValidUntil string     `json:"valid_until"` // YYYY-MM-DD or ""
	Notes      string     `json:"notes"`
	SentAt     *time.Time `json:"sent_at"`
	DecidedAt  *time.Time `json:"decided_at"`
	CreatedBy  int64      `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// Lead is a person or company not yet qualified. Converting it creates
// (or finds) the person and the company and opens a deal, in one step;
// the lead stays, converted, with links to them.
type Lead struct {
	ID          int64      `json:"id"`
	FirstName   string     `json:"first_name"`
	LastName    string     `json:"last_name"`
	Email       string     `json:"email"`
	Phone       string     `json:"phone"` // E.164 when it could be read as a phone number
	CompanyName string     `json:"company_name"`
	JobTitle    string     `json:"job_title"`
	Source      string     `json:"source"`
	Status      string     `json:"status"`
	OwnerID     int64      `json:"owner_id"`
	Value       int64      `json:"value"` // an estimate, minor units of Currency; 0: unknown
	Currency    string     `json:"currency"`
	Notes       string     `json:"notes"`
	ContactID   int64      `json:"contact_id"` // set when converted
	CompanyID   int64      `json:"company_id"`
	DealID      int64      `json:"deal_id"`
	ConvertedAt *time.Time `json:"converted_at"`
	CreatedBy   int64      `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// DisplayName is the lead's name, else its company, email or phone.
func (l *Lead) DisplayName() string {
	if n := strings.TrimSpace(strings.TrimSpace(l.FirstName) + " " + strings.TrimSpace(l.LastName)); n != "" {
		return n
	}
	for _, s := range []string{l.CompanyName, l.Email, l.Phone} {
		if s != "" {
			return s
		}
	}
	return "#" + strconv.FormatInt(l.ID, 10)
}

// StageVisit is one stay of a deal in a stage: the stage's name and kind
// as they were then, when it entered and when it left (nil: still there).
type StageVisit struct {
	ID         int64      `json:"id"`
	DealID     int64      `json:"deal_id"`
	PipelineID int64      `json:"pipeline_id"`
	StageID    int64      `json:"stage_id"`
	StageName  string     `json:"stage_name"`
	StageKind  string     `json:"stage_kind"`
	EnteredAt  time.Time  `json:"entered_at"`
	LeftAt     *time.Time `json:"left_at"`
	ActorID    int64      `json:"actor_id"`
}

// DealFilter narrows a list of deals (and the board). Zero values do not
// filter; CloseFrom and CloseTo bound the expected close date, both
// inclusive, as YYYY-MM-DD.
type DealFilter struct {
	PipelineID int64
	StageID    int64
	Status     string // open, won, lost; "" any
	OwnerID    *int64 // 0: deals without an owner
	Tag        string
	CloseFrom  string
	CloseTo    string
	ContactID  int64
	CompanyID  int64
	Q          string // part of the title
	// Custom filters on the deal custom fields: key → value as typed (a
	// multi select matches deals with that choice). The sales service
	// checks them against the definitions and fills Fields.
	Custom map[string]string
	Fields []FieldCond `json:"-"`
	Limit  int
	After  string
}

// FieldCond is a filter on one custom field: its key, its type and the
// value normalised for the type.
type FieldCond struct {
	Key   string
	Type  string
	Value any
}

// LeadFilter narrows a list of leads.
type LeadFilter struct {
	Status  string
	OwnerID *int64
	Source  string
	Q       string // part of the name, company, email or phone
	Limit   int
	After   string
}

// PersonRef is the person a lead becomes: looked up by phone, then email,
// among the people stored, and created (with Source "lead") when nobody
// matches. CompanyID links the person, new or found, to a company.
type PersonRef struct {
	// ID, when not 0, is a person already chosen: not looked up, only
	// linked to CompanyID (with JobTitle as role) unless already linked.
	ID        int64
	FirstName string
	LastName  string
	Email     string
	Phone     string // E.164
	JobTitle  string // their role at the company
	CompanyID int64
	OwnerID   int64
}

// CompanyRef is the company a lead becomes: looked up by name (compared as
// normalised text) and created when none matches.
type CompanyRef struct {
	Name    string
	OwnerID int64
}
