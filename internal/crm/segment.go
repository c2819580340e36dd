package crm

import "time"

// Segment kinds.
const (
	SegmentDynamic = "dynamic" // members: the people its Rules match now
	SegmentStatic  = "static"  // members: the people put on the list
)

// Segment is a saved dynamic segment or a static list of people.
type Segment struct {
	ID          int64      `json:"id"`
	Kind        string     `json:"kind"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Rules       *Rule      `json:"rules,omitempty"`      // dynamic segments only
	LastCount   *int64     `json:"last_count"`           // members when last counted; a static list's is kept current
	CountedAt   *time.Time `json:"counted_at,omitempty"` // when
	CreatedBy   *int64     `json:"created_by"`
	Version     int        `json:"version"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// SegmentMember is a person in a segment's sample or members page.
type SegmentMember struct {
	ContactID int64  `json:"contact_id"`
	Name      string `json:"name"`
	Email     string `json:"email,omitempty"`
	Phone     string `json:"phone,omitempty"`
}
