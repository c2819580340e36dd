package crm

import "context"

type ctxKey int

const (
	userKey ctxKey = iota
	tokenKey
	ipKey
)

// NewContextWithUser returns ctx carrying the acting user.
func NewContextWithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userKey, u)
}

// UserFromContext returns the acting user, or nil for the system.
func UserFromContext(ctx context.Context) *User {
	u, _ := ctx.Value(userKey).(*User)
	return u
}

// UserIDFromContext returns the acting user's ID, or 0 for the system.
func UserIDFromContext(ctx context.Context) int64 {
	if u := UserFromContext(ctx); u != nil {
		return u.ID
	}
	return 0
}

// NewContextWithToken returns ctx carrying the API token in use.
func NewContextWithToken(ctx context.Context, t *APIToken) context.Context {
	return context.WithValue(ctx, tokenKey, t)
}

// TokenFromContext returns the API token in use, or nil for sessions.
func TokenFromContext(ctx context.Context) *APIToken {
	t, _ := ctx.Value(tokenKey).(*APIToken)
	return t
}

// NewContextWithIP returns ctx carrying the client's address for the audit log.
func NewContextWithIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, ipKey, ip)
}

// IPFromContext returns the client's address, or "".
func IPFromContext(ctx context.Context) string {
	s, _ := ctx.Value(ipKey).(string)
	return s
}

// Authorize returns nil when the acting user may do p. A context with no
// user is the system itself (command line, jobs) and may do anything; an
// API token must also carry the write scope for anything but reads.
func Authorize(ctx context.Context, p Permission, write bool) error {
	u := UserFromContext(ctx)
	if u == nil {
		return nil
	}
	if !u.Active {
		return Errorf(EUNAUTHORIZED, "This account is deactivated.")
	}
	if !u.Can(p) {
		return Errorf(EFORBIDDEN, "Your role (%s) does not allow %s.", u.Role, p)
	}
	if t := TokenFromContext(ctx); t != nil {
		need := ScopeRead
		if write {
			need = ScopeWrite
		}
		if !t.HasScope(need) {
			return Errorf(EFORBIDDEN, "This API token lacks the %q scope.", need)
		}
	}
	return nil
}
