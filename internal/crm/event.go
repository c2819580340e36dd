package crm

import (
	"encoding/json"
	"time"
)

// Event is something that happened, written in the same transaction as the
// change it describes (a transactional outbox). The timeline, automation,
// webhooks and analytics read events; nothing fires on a rolled-back change.
type Event struct {
	ID          int64           `json:"id"`
	Type        string          `json:"type"`         // e.g. "user.created", "contact.updated"
	SubjectType string          `json:"subject_type"` // e.g. "user", "contact"
	SubjectID   int64           `json:"subject_id"`
	ActorID     int64           `json:"actor_id"`
	ContactID   int64           `json:"contact_id,omitempty"` // the person whose timeline shows it (0: none)
	CompanyID   int64           `json:"company_id,omitempty"` // the company whose timeline shows it (0: none)
	Payload     json.RawMessage `json:"payload,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`

	// Decoded is the payload as a subscriber's prepare function decoded
	// it before the handler's transaction (event.Prepare); nil otherwise.
	// Never stored nor sent.
	Decoded any `json:"-"`
}

// Platform event types.
const (
	EventUserCreated   = "user.created"
	EventUserUpdated   = "user.updated"
	EventUserSignedIn  = "user.signed_in"
	EventTokenCreated  = "token.created"
	EventTokenRevoked  = "token.revoked"
	EventTeamChanged   = "team.changed"
	EventInviteCreated = "invite.created"
	EventPrefsUpdated  = "user.preferences_updated"
)

// RawJSON is JSON text kept as a string (so templates print it as text)
// that encodes as the JSON value itself, not as a quoted string.
type RawJSON string

// MarshalJSON writes the JSON value, or null when empty.
func (r RawJSON) MarshalJSON() ([]byte, error) {
	if r == "" {
		return []byte("null"), nil
	}
	if !json.Valid([]byte(r)) {
		return json.Marshal(string(r))
	}
	return []byte(r), nil
}

// UnmarshalJSON keeps the raw JSON text.
func (r *RawJSON) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*r = ""
		return nil
	}
	*r = RawJSON(b)
	return nil
}
