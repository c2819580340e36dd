package crm

import (
	"strconv"
	"strings"
	"time"
)

// Labeled is one email address or phone number with its label ("work",
// "home", "mobile", …).
type Labeled struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

// Address is a postal address.
type Address struct {
	Label      string `json:"label"`
	Street     string `json:"street"`
	City       string `json:"city"`
	Region     string `json:"region"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"` // ISO 3166-1 alpha-2 when known
}

// Membership links a person to a company with a role ("buyer at").
type Membership struct {
	CompanyID int64  `json:"company_id"`
	Role      string `json:"role"`
}

// Contact is a person the business deals with: a customer, a lead, a
// supplier's buyer.
type Contact struct {
	ID          int64          `json:"id"`
	Prefix      string         `json:"prefix"`
	FirstName   string         `json:"first_name"`
	MiddleName  string         `json:"middle_name"`
	LastName    string         `json:"last_name"`
	Suffix      string         `json:"suffix"`
	Emails      []Labeled      `json:"emails"`
	Phones      []Labeled      `json:"phones"` // E.164 values
	Addresses   []Address      `json:"addresses"`
	Birthday    string         `json:"birthday,omitempty"` // YYYY-MM-DD (Gregorian), or --MM-DD without a year
	Language    string         `json:"language,omitempty"`
	Source      string         `json:"source,omitempty"` // where the contact came from: import, web form, in store…
	OwnerID     *int64         `json:"owner_id"`
	Tags        []string       `json:"tags"`
	Notes       string         `json:"notes,omitempty"`
	Memberships []Membership   `json:"memberships"`
	CompanyIDs  []int64        `json:"company_ids"`
	Custom      map[string]any `json:"custom"`
	Consents    []Consent      `json:"consents,omitempty"` // filled on single-record reads
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
}

// DisplayName is the name to show: first and last name, else an email
// or phone, else "#ID".
func (c *Contact) DisplayName() string {
	parts := make([]string, 0, 3)
	for _, p := range []string{c.FirstName, c.MiddleName, c.LastName} {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) > 0 {
		return strings.Join(parts, " ")
	}
	if len(c.Emails) > 0 {
		return c.Emails[0].Value
	}
	if len(c.Phones) > 0 {
		return c.Phones[0].Value
	}
	return "#" + strconv.FormatInt(c.ID, 10)
}

// Company is an organisation: a customer business, a supplier, a partner.
type Company struct {
	ID        int64          `json:"id"`
	Name      string         `json:"name"`
	Domain    string         `json:"domain,omitempty"`
	Industry  string         `json:"industry,omitempty"`
	Size      string         `json:"size,omitempty"` // a band: 1-10, 11-50, 51-200, 201-1000, 1000+
	Phones    []Labeled      `json:"phones"`
	Emails    []Labeled      `json:"emails"`
	Addresses []Address      `json:"addresses"`
	OwnerID   *int64         `json:"owner_id"`
	Tags      []string       `json:"tags"`
	Notes     string         `json:"notes,omitempty"`
	Custom    map[string]any `json:"custom"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}
