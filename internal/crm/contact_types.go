package crm

import "time"

// Consent channels and states.
const (
	ChannelEmail    = "email"
	ChannelSMS      = "sms"
	ChannelPhone    = "phone"
	ChannelTelegram = "telegram"
	ChannelWhatsApp = "whatsapp"

	ConsentGranted   = "granted"
	ConsentWithdrawn = "withdrawn"
)

// ConsentChannels lists the channels consent is kept for.
var ConsentChannels = []string{ChannelEmail, ChannelSMS, ChannelPhone, ChannelTelegram, ChannelWhatsApp}

// Consent is a person's current permission to be contacted on a channel.
type Consent struct {
	Channel   string    `json:"channel"`
	Status    string    `json:"status"` // granted or withdrawn
	Source    string    `json:"source"` // form, import, manual, api
	Note      string    `json:"note,omitempty"`
	ChangedBy int64     `json:"changed_by,omitempty"`
	ChangedAt time.Time `json:"changed_at"`
}

// ContactUpdate changes a person; nil fields stay as they are. Slices and
// maps replace the whole value when not nil (Custom merges per key; a key
// set to nil removes that value).
type ContactUpdate struct {
	Prefix      *string        `json:"prefix,omitempty"`
	FirstName   *string        `json:"first_name,omitempty"`
	MiddleName  *string        `json:"middle_name,omitempty"`
	LastName    *string        `json:"last_name,omitempty"`
	Suffix      *string        `json:"suffix,omitempty"`
	Emails      *[]Labeled     `json:"emails,omitempty"`
	Phones      *[]Labeled     `json:"phones,omitempty"`
	Addresses   *[]Address     `json:"addresses,omitempty"`
	Birthday    *string        `json:"birthday,omitempty"`
	Language    *string        `json:"language,omitempty"`
	Source      *string        `json:"source,omitempty"`
	OwnerID     **int64        `json:"owner_id,omitempty"` // set to a nil *int64 to clear
	Tags        *[]string      `json:"tags,omitempty"`
	Notes       *string        `json:"notes,omitempty"`
	Memberships *[]Membership  `json:"memberships,omitempty"`
	Custom      map[string]any `json:"custom,omitempty"`
}

// CompanyUpdate changes a company; nil fields stay as they are.
type CompanyUpdate struct {
	Name      *string        `json:"name,omitempty"`
	Domain    *string        `json:"domain,omitempty"`
	Industry  *string        `json:"industry,omitempty"`
	Size      *string        `json:"size,omitempty"`
	Emails    *[]Labeled     `json:"emails,omitempty"`
	Phones    *[]Labeled     `json:"phones,omitempty"`
	Addresses *[]Address     `json:"addresses,omitempty"`
	OwnerID   **int64        `json:"owner_id,omitempty"`
	Tags      *[]string      `json:"tags,omitempty"`
	Notes     *string        `json:"notes,omitempty"`
	Custom    map[string]any `json:"custom,omitempty"`
}

// Sort orders for contact and company lists.
const (
	SortName        = "name"
	SortCreatedDesc = "-created"
	SortCreatedAsc  = "created"
	SortUpdatedDesc = "-updated"
)

// ContactFilter narrows a list of people. Zero values do not filter.
type ContactFilter struct {
	Q           string            // full-text: any part of a name, email, phone or company
	Tag         string            // has this tag
	OwnerID     *int64            // owned by (0: no owner)
	CompanyID   int64             // works at
	Custom      map[string]string // custom field key → value (exact; for multi select: contains)
	CreatedFrom *time.Time        // created at or after
	CreatedTo   *time.Time        // created before
	IDs         []int64           // only these (bulk actions, exports of a selection)
	Scores      *ScoreFilter      // customer analytics results (segment, churn band, CLV); nil: no filter
	Segment     *Rule             // the people a checked condition tree matches (a segment's, segment.MatchRules); nil: no filter
	Sort        string            // name, -created (default), created, -updated
	Limit       int
	After       string
}

// CompanyFilter narrows a list of companies.
type CompanyFilter struct {
	Q       string
	Tag     string
	OwnerID *int64
	Custom  map[string]string
	IDs     []int64
	Sort    string // name (default), -created
	Limit   int
	After   string
}

// DuplicateMatch is an existing person who looks like the one being saved.
type DuplicateMatch struct {
	ContactID int64    `json:"contact_id"`
	Name      string   `json:"name"`
	Reasons   []string `json:"reasons"` // "email", "phone", "name"
}

// DuplicatesError is returned (code conflict) when a save finds likely
// duplicates and the caller did not allow them.
type DuplicatesError struct {
	Matches []DuplicateMatch
}

func (e *DuplicatesError) Error() string {
	return "conflict: this person looks like one who already exists"
}

// Unwrap gives the crm.Error form (code conflict), so ErrorCode and the
// HTTP mapping treat it like any conflict.
func (e *DuplicatesError) Unwrap() error {
	return &Error{Code: ECONFLICT, Key: "contacts.duplicates", Message: "This person looks like one who already exists."}
}

// Bulk actions on a selection of people.
const (
	BulkAddTag    = "add_tag"
	BulkRemoveTag = "remove_tag"
	BulkSetOwner  = "set_owner"
	BulkDelete    = "delete"
)

// BulkAction is one action applied to many people.
type BulkAction struct {
	Action  string `json:"action"`
	Tag     string `json:"tag,omitempty"`
	OwnerID *int64 `json:"owner_id,omitempty"`
}

// MergeConflict is a field whose value differs between merged records.
type MergeConflict struct {
	Field  string        `json:"field"`
	Values map[int64]any `json:"values"` // contact ID → its value
	Chosen int64         `json:"chosen"` // the contact whose value wins
	Result any           `json:"result"`
}

// MergePlan is the preview of a merge: the survivor as it will be, the
// conflicting fields with the choice made for each, and what moves.
type MergePlan struct {
	SurvivorID int64           `json:"survivor_id"`
	MergedIDs  []int64         `json:"merged_ids"`
	Result     Contact         `json:"result"`
	Conflicts  []MergeConflict `json:"conflicts"`
	Moves      map[string]int  `json:"moves"` // e.g. "timeline": 12, "companies": 1, "tasks": 2
}

// Custom field types.
const (
	FieldText        = "text"
	FieldLongText    = "long_text"
	FieldNumber      = "number"
	FieldMoney       = "money"
	FieldDate        = "date"
	FieldBoolean     = "boolean"
	FieldSelect      = "select"
	FieldMultiSelect = "multi_select"
	FieldEmail       = "email"
	FieldPhone       = "phone"
	FieldURL         = "url"
)

// CustomFieldTypes lists every custom field type.
var CustomFieldTypes = []string{FieldText, FieldLongText, FieldNumber, FieldMoney, FieldDate, FieldBoolean,
	FieldSelect, FieldMultiSelect, FieldEmail, FieldPhone, FieldURL}

// CustomField is an admin-defined field on people or companies. Values
// live in the record's Custom map under Key.
type CustomField struct {
	ID         int64     `json:"id"`
	Entity     string    `json:"entity"` // contact or company
	Key        string    `json:"key"`
	Label      string    `json:"label"`
	Type       string    `json:"type"`
	Options    []string  `json:"options"`            // select and multi_select choices
	Currency   string    `json:"currency,omitempty"` // money: ISO 4217; values are integer minor units
	Required   bool      `json:"required"`
	ShowInList bool      `json:"show_in_list"`
	Position   int       `json:"position"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Interaction channels and directions.
var (
	InteractionChannels = []string{"phone", "email", "sms", "chat", "telegram", "whatsapp", "in_store", "web", "social", "other"}
	Directions          = []string{"inbound", "outbound"}
)

// Interaction is one contact with a customer on any channel.
type Interaction struct {
	ID              int64     `json:"id"`
	ContactID       int64     `json:"contact_id,omitempty"`
	CompanyID       int64     `json:"company_id,omitempty"`
	Channel         string    `json:"channel"`
	Direction       string    `json:"direction"`
	Subject         string    `json:"subject"`
	Body            string    `json:"body"`
	UserID          int64     `json:"user_id,omitempty"`
	OccurredAt      time.Time `json:"occurred_at"`
	DurationSeconds int       `json:"duration_seconds"`
	CreatedAt       time.Time `json:"created_at"`
}

// Note is free text on a person's or company's timeline; @mentions
// notify the users named.
type Note struct {
	ID        int64     `json:"id"`
	ContactID int64     `json:"contact_id,omitempty"`
	CompanyID int64     `json:"company_id,omitempty"`
	Body      string    `json:"body"`
	AuthorID  int64     `json:"author_id,omitempty"`
	Mentions  []int64   `json:"mentions"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Task is something to do, usually about a customer: a to-do, a call or
// a meeting (Kind, one of ActivityKinds), about a person, a company and/or
// a deal.
type Task struct {
	ID         int64      `json:"id"`
	Kind       string     `json:"kind"`
	Title      string     `json:"title"`
	Notes      string     `json:"notes,omitempty"`
	ContactID  int64      `json:"contact_id,omitempty"`
	CompanyID  int64      `json:"company_id,omitempty"`
	DealID     int64      `json:"deal_id,omitempty"`
	AssigneeID int64      `json:"assignee_id,omitempty"`
	DueAt      *time.Time `json:"due_at"`
	RemindAt   *time.Time `json:"remind_at"`
	DoneAt     *time.Time `json:"done_at"`
	CreatedBy  int64      `json:"created_by,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// TaskFilter narrows a task list.
type TaskFilter struct {
	AssigneeID int64
	ContactID  int64
	CompanyID  int64
	DealID     int64
	Kind       string // task, call, meeting; "" any
	Open       *bool  // true: not done; false: done
	DueBefore  *time.Time
	Limit      int
	After      string
}

// Notification tells a user something needs their attention.
type Notification struct {
	ID        int64      `json:"id"`
	UserID    int64      `json:"user_id"`
	Kind      string     `json:"kind"` // mention, task_assigned, task_reminder, import_done
	Title     string     `json:"title"`
	Link      string     `json:"link,omitempty"`
	ActorID   int64      `json:"actor_id,omitempty"`
	ReadAt    *time.Time `json:"read_at"`
	CreatedAt time.Time  `json:"created_at"`
}

// SearchHit is one result of the search box: a person or a company.
type SearchHit struct {
	Kind     string `json:"kind"` // contact or company
	ID       int64  `json:"id"`
	Title    string `json:"title"`
	Subtitle string `json:"subtitle,omitempty"` // email, phone or company
}

// Contact and timeline event types.
const (
	EventContactCreated = "contact.created"
	EventContactUpdated = "contact.updated"
	EventContactDeleted = "contact.deleted"
	EventContactsMerged = "contact.merged"
	EventContactErased  = "contact.erased"
	EventConsentChanged = "consent.changed"
	EventCompanyCreated = "company.created"
	EventCompanyUpdated = "company.updated"
	EventCompanyDeleted = "company.deleted"
	EventInteraction    = "interaction.logged"
	EventNoteAdded      = "note.added"
	EventTaskCreated    = "task.created"
	EventTaskCompleted  = "task.completed"
	EventImportFinished = "import.finished"
)
