package crm

import "time"

// Lead capture forms and lead scoring (internal/leadform).

// LeadForm is a web form that captures people and leads. Its public
// address is /f/{public_id}.
type LeadForm struct {
	ID             int64       `json:"id"`
	Name           string      `json:"name"`
	PublicID       string      `json:"public_id"`
	Language       string      `json:"language"` // en, fa or ar: the page's language and direction
	Fields         []FormField `json:"fields"`
	ConsentChannel string      `json:"consent_channel"` // "" (no consent box), or a consent channel: email, sms …
	ConsentText    string      `json:"consent_text"`    // the checkbox's wording, stored with each consent given
	DoubleOptIn    bool        `json:"double_opt_in"`   // consent only once the emailed link is followed
	LeadSource     string      `json:"lead_source"`     // the source of the leads and people made ("" : form)
	OwnerID        int64       `json:"owner_id"`        // owner of the leads made (0: nobody)
	ThanksText     string      `json:"thanks_text"`     // shown after a submission ("": a standard thank-you)
	Active         bool        `json:"active"`          // an inactive form's page says it is closed
	Submissions    int64       `json:"submissions"`     // how many were received
	CreatedBy      int64       `json:"created_by"`
	CreatedAt      time.Time   `json:"created_at"`
	UpdatedAt      time.Time   `json:"updated_at"`
}

// FormField is one input of a lead form, mapped to a person's field
// (first_name, last_name, email, phone, company, job_title, message) or a
// custom field (custom.<key>).
type FormField struct {
	Key      string            `json:"key"`
	Required bool              `json:"required"`
	Labels   map[string]string `json:"labels,omitempty"` // per language; missing: the standard label
}

// Submission statuses.
const (
	SubmissionReceived  = "received"  // stored; consent (if any) granted at once
	SubmissionPending   = "pending"   // double opt-in: waiting for the emailed link
	SubmissionConfirmed = "confirmed" // double opt-in: the link was followed
)

// FormSubmission is one filled-in form.
type FormSubmission struct {
	ID          int64             `json:"id"`
	FormID      int64             `json:"form_id"`
	ContactID   int64             `json:"contact_id"`
	LeadID      int64             `json:"lead_id"`
	Values      map[string]string `json:"values"`
	Language    string            `json:"language"`
	ConsentText string            `json:"consent_text"` // the wording agreed to ("" : the box was not ticked or there is none)
	Status      string            `json:"status"`
	CreatedAt   time.Time         `json:"created_at"`
	ConfirmedAt *time.Time        `json:"confirmed_at"`
}

// FormPerson is the person a form submission names (contact.PersonForForm).
type FormPerson struct {
	FirstName string
	LastName  string
	Email     string
	Phone     string
	Language  string
	Source    string
	Custom    map[string]any // by custom field key; values as typed
}

// Score rule kinds.
const (
	ScoreAttribute = "attribute" // points when a condition on the person holds
	ScoreBehaviour = "behaviour" // points per event of a type about the person
)

// ScoreRule gives points towards the lead score.
type ScoreRule struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	Kind       string    `json:"kind"`
	Condition  *Rule     `json:"condition,omitempty"`   // attribute: a condition tree of the segment language
	EventType  string    `json:"event_type,omitempty"`  // behaviour: campaign.opened, campaign.clicked, form.submitted, order.created …
	WithinDays int       `json:"within_days,omitempty"` // behaviour: only events of the last N days (0: all)
	Points     int       `json:"points"`                // may be negative
	MaxPoints  int       `json:"max_points,omitempty"`  // behaviour: a cap on the rule's points (0: none)
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Event types of lead forms.
const (
	EventFormSubmitted = "form.submitted"
	EventFormConfirmed = "form.confirmed"
)
