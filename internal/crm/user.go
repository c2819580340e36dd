package crm

import (
	"net/mail"
	"slices"
	"strings"
	"time"
)

// Role is a user's job in the CRM. Permissions follow from it.
type Role string

const (
	RoleAdmin     Role = "admin"
	RoleManager   Role = "manager"
	RoleSales     Role = "sales"
	RoleSupport   Role = "support"
	RoleMarketing Role = "marketing"
)

// Roles lists every role in display order.
var Roles = []Role{RoleAdmin, RoleManager, RoleSales, RoleSupport, RoleMarketing}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Permission names an action; services check them.
type Permission string

const (
	PermUsersManage    Permission = "users:manage"    // invite, deactivate, change roles, teams
	PermAuditRead      Permission = "audit:read"      // read the audit log
	PermSettingsManage Permission = "settings:manage" // system settings, custom fields
	PermTokensOwn      Permission = "tokens:own"      // create and revoke one's own API tokens
	PermContactsRead   Permission = "contacts:read"
	PermContactsWrite  Permission = "contacts:write"
	PermContactsDelete Permission = "contacts:delete"
	PermContactsExport Permission = "contacts:export"
	PermSalesRead      Permission = "sales:read"
	PermSalesWrite     Permission = "sales:write"
	PermSalesManage    Permission = "sales:manage" // the products catalogue
	PermServiceRead    Permission = "service:read"
	PermServiceWrite   Permission = "service:write"
	PermMarketingRead  Permission = "marketing:read"
	PermMarketingWrite Permission = "marketing:write"
	PermOrdersRead     Permission = "orders:read"
	PermOrdersWrite    Permission = "orders:write"
	PermClubRead       Permission = "club:read"
	PermClubWrite      Permission = "club:write"
	PermAutomation     Permission = "automation:manage"
	PermReportsRead    Permission = "reports:read"
)

var rolePerms = map[Role][]Permission{
	RoleAdmin: nil, // every permission
	RoleManager: {PermAuditRead, PermTokensOwn,
		PermContactsRead, PermContactsWrite, PermContactsDelete, PermContactsExport,
		PermSalesRead, PermSalesWrite, PermSalesManage, PermServiceRead, PermServiceWrite,
		PermMarketingRead, PermMarketingWrite, PermOrdersRead, PermOrdersWrite, PermClubRead, PermClubWrite,
		PermAutomation, PermReportsRead},
	RoleSales: {PermTokensOwn, PermContactsRead, PermContactsWrite,
		PermSalesRead, PermSalesWrite, PermServiceRead, PermOrdersRead, PermOrdersWrite, PermClubRead, PermClubWrite, PermReportsRead},
	RoleSupport: {PermTokensOwn, PermContactsRead, PermContactsWrite,
		PermServiceRead, PermServiceWrite, PermOrdersRead, PermClubRead, PermClubWrite, PermSalesRead},
	RoleMarketing: {PermTokensOwn, PermContactsRead, PermContactsWrite, PermContactsExport,
		PermMarketingRead, PermMarketingWrite, PermOrdersRead, PermClubRead, PermReportsRead},
}

// Can reports whether role r grants permission p.
func (r Role) Can(p Permission) bool {
	if r == RoleAdmin {
		return true
	}
	return slices.Contains(rolePerms[r], p)
}

// User is a person who signs in to Pivand (not a customer).
type User struct {
	ID          int64       `json:"id"`
	Email       string      `json:"email"`
	Name        string      `json:"name"`
	Role        Role        `json:"role"`
	Active      bool        `json:"active"`
	Preferences Preferences `json:"preferences"`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
	LastLoginAt *time.Time  `json:"last_login_at,omitempty"`
}

// Can reports whether the user may do p. Inactive users may do nothing.
func (u *User) Can(p Permission) bool { return u != nil && u.Active && u.Role.Can(p) }

// Preferences are a user's personal display settings.
type Preferences struct {
	Language string `json:"language"` // en, fa, ar
	Calendar string `json:"calendar"` // gregorian, jalali
	Digits   string `json:"digits"`   // latin, persian (arabic-indic for ar)
	TimeZone string `json:"time_zone"`
}

// Languages, calendars and digit styles Pivand supports.
var (
	Languages   = []string{"en", "fa", "ar"}
	Calendars   = []string{"gregorian", "jalali"}
	DigitStyles = []string{"latin", "persian", "arabic"}
)

// DefaultPreferences returns sensible preferences for a language:
// Persian users get the Jalali calendar and Persian digits.
func DefaultPreferences(lang string) Preferences {
	switch lang {
	case "fa":
		return Preferences{Language: "fa", Calendar: "jalali", Digits: "persian", TimeZone: "Asia/Tehran"}
	case "ar":
		return Preferences{Language: "ar", Calendar: "gregorian", Digits: "arabic", TimeZone: "Asia/Dubai"}
	default:
		return Preferences{Language: "en", Calendar: "gregorian", Digits: "latin", TimeZone: "UTC"}
	}
}

// Validate checks every preference, naming the bad field.
func (p Preferences) Validate() error {
	var v Validation
	if !slices.Contains(Languages, p.Language) {
		v.Add("language", "Choose one of en, fa, ar.")
	}
	if !slices.Contains(Calendars, p.Calendar) {
		v.Add("calendar", "Choose gregorian or jalali.")
	}
	if !slices.Contains(DigitStyles, p.Digits) {
		v.Add("digits", "Choose latin, persian or arabic.")
	}
	if p.TimeZone == "" {
		v.Add("time_zone", "Time zone is required.")
	} else if _, err := time.LoadLocation(p.TimeZone); err != nil {
		v.Add("time_zone", "Unknown time zone %q.", p.TimeZone)
	}
	return v.Err()
}

// UserCreate is the input for creating a user.
type UserCreate struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Password string `json:"password"`
	Role     Role   `json:"role"`
	Language string `json:"language"`
}

// MinPasswordLength is the shortest password Pivand accepts.
const MinPasswordLength = 10

// NormalizeEmail trims and lower-cases an email address for storage and lookup.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidEmail reports whether s is a plain address (no display name).
func ValidEmail(s string) bool {
	if s == "" || len(s) > 254 || strings.ContainsAny(s, " <>\"") {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s[strings.LastIndexByte(s, '@'):], ".")
}

// Validate checks a UserCreate. Password rules apply only when a password is
// given (invited users choose theirs later).
func (in *UserCreate) Validate(requirePassword bool) error {
	var v Validation
	in.Email = NormalizeEmail(in.Email)
	in.Name = strings.TrimSpace(in.Name)
	if in.Email == "" {
		v.Add("email", "Email is required.")
	} else if !ValidEmail(in.Email) {
		v.Add("email", "%q is not a valid email address.", in.Email)
	}
	if len(in.Name) > 200 {
		v.Add("name", "Name is longer than 200 characters.")
	}
	if !in.Role.Valid() {
		v.Add("role", "Role must be one of admin, manager, sales, support, marketing.")
	}
	if requirePassword || in.Password != "" {
		if err := ValidatePassword(in.Password); err != nil {
			v.Add("password", "%s", err.Error())
		}
	}
	if in.Language != "" && !slices.Contains(Languages, in.Language) {
		v.Add("language", "Choose one of en, fa, ar.")
	}
	return v.Err()
}

type passwordError string

func (e passwordError) Error() string { return string(e) }

// ValidatePassword checks the password policy: length only, as NIST SP
// 800-63B advises, with an upper bound to keep hashing cheap to refuse.
func ValidatePassword(pw string) error {
	n := len([]rune(pw))
	if n < MinPasswordLength {
		return passwordError("Password must be at least 10 characters.")
	}
	if len(pw) > 256 {
		return passwordError("Password must be at most 256 bytes.")
	}
	return nil
}

// UserUpdate changes a user; nil fields stay as they are.
type UserUpdate struct {
	Name   *string `json:"name,omitempty"`
	Role   *Role   `json:"role,omitempty"`
	Active *bool   `json:"active,omitempty"`
}

// Team groups users for assignment and reporting.
type Team struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	MemberIDs []int64   `json:"member_ids"`
	CreatedAt time.Time `json:"created_at"`
}

// Session is a signed-in browser. Token is only set when it is created.
type Session struct {
	ID        int64
	UserID    int64
	Token     string
	CSRF      string
	ExpiresAt time.Time
	CreatedAt time.Time
}

// Token scopes.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)

// APIToken is a bearer token for the REST API. The secret is shown once, at
// creation; only its hash is stored.
type APIToken struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"user_id"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// HasScope reports whether the token carries scope s. write implies read.
func (t *APIToken) HasScope(s string) bool {
	if slices.Contains(t.Scopes, s) {
		return true
	}
	return s == ScopeRead && slices.Contains(t.Scopes, ScopeWrite)
}

// Invite is a pending invitation to join as a user.
type Invite struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Role      Role      `json:"role"`
	Token     string    `json:"-"`
	InvitedBy int64     `json:"invited_by"`
	ExpiresAt time.Time `json:"expires_at"`
	CreatedAt time.Time `json:"created_at"`
}

// AuditEntry records who changed what and when, with before and after.
type AuditEntry struct {
	ID         int64     `json:"id"`
	ActorID    int64     `json:"actor_id"` // 0: the system or the command line
	ActorEmail string    `json:"actor_email,omitempty"`
	Action     string    `json:"action"` // e.g. "user.create", "token.revoke"
	EntityType string    `json:"entity_type"`
	EntityID   int64     `json:"entity_id"`
	Before     RawJSON   `json:"before,omitempty"` // the record before the change
	After      RawJSON   `json:"after,omitempty"`  // the record after the change
	IP         string    `json:"ip,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// AuditFilter narrows the audit log. Zero values do not filter.
type AuditFilter struct {
	EntityType string
	EntityID   int64
	ActorID    int64
	Action     string     // exact action, e.g. "user.update"
	From       *time.Time // created at or after
	To         *time.Time // created before
	Limit      int
	After      string // cursor from a previous page
}
