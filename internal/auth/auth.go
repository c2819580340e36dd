// Package auth is Pivand's accounts service: users and roles, passwords,
// browser sessions, API tokens, invitations, teams and the audit log.
// Every method checks permissions with crm.Authorize against the user in
// the context; a context with no user is the system (command line, jobs).
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Options tune the service; zero values get defaults.
type Options struct {
	SessionTTL time.Duration // default 14 days
	InviteTTL  time.Duration // default 7 days
}

// Service implements accounts on top of the store.
type Service struct {
	db      *store.DB
	opts    Options
	byEmail *limiter
	byIP    *limiter
	tokens  tokenCache
}

// Sign-in limits: failures allowed per email and per client address within
// limitWindow before further attempts are refused.
const (
	maxFailuresPerEmail = 5
	maxFailuresPerIP    = 20
	limitWindow         = 15 * time.Minute
	tokenPrefix         = "pvd_"
)

// New returns the service.
func New(db *store.DB, opts Options) *Service {
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 14 * 24 * time.Hour
	}
	if opts.InviteTTL <= 0 {
		opts.InviteTTL = 7 * 24 * time.Hour
	}
	return &Service{db: db, opts: opts, byEmail: newLimiter(limitWindow), byIP: newLimiter(limitWindow)}
}

// randomToken returns n random bytes, base64url encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("auth: crypto/rand failed: " + err.Error()) // the OS RNG does not fail on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashSecret is how sessions, tokens and invites are stored: a SHA-256 of a
// 256-bit random secret needs no salt or slow hash.
func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// userSnapshot is what the audit log records of a user: never the hash.
type userSnapshot struct {
	Email  string   `json:"email"`
	Name   string   `json:"name"`
	Role   crm.Role `json:"role"`
	Active bool     `json:"active"`
}

func snapshot(u *crm.User) userSnapshot {
	return userSnapshot{Email: u.Email, Name: u.Name, Role: u.Role, Active: u.Active}
}

// UserCount returns how many users exist. It needs no permission: the
// first-run screen asks it before anyone can sign in.
func (s *Service) UserCount(ctx context.Context) (int, error) {
	var n int
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		n, err = tx.CountUsers(ctx, "", false)
		return err
	})
	return n, err
}

// SetupFirstAdmin creates the first user, an admin, while no user exists.
func (s *Service) SetupFirstAdmin(ctx context.Context, in crm.UserCreate) (*crm.User, error) {
	in.Role = crm.RoleAdmin
	return s.createUser(ctx, in, true)
}

// CreateUser creates an active user with a password.
func (s *Service) CreateUser(ctx context.Context, in crm.UserCreate) (*crm.User, error) {
	if err := crm.Authorize(ctx, crm.PermUsersManage, true); err != nil {
		return nil, err
	}
	return s.createUser(ctx, in, false)
}

func (s *Service) createUser(ctx context.Context, in crm.UserCreate, firstOnly bool) (*crm.User, error) {
	if err := in.Validate(true); err != nil {
		return nil, err
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	lang := in.Language
	if lang == "" {
		lang = "en"
	}
	u := &crm.User{Email: in.Email, Name: in.Name, Role: in.Role, Active: true, Preferences: crm.DefaultPreferences(lang)}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if firstOnly {
			n, err := tx.CountUsers(ctx, "", false)
			if err != nil {
				return err
			}
			if n > 0 {
				return crm.Errorf(crm.ECONFLICT, "Pivand is already set up; sign in instead.")
			}
		}
		if err := tx.CreateUser(ctx, u, hash); err != nil {
			return err
		}
		return s.recordUser(ctx, tx, "user.create", crm.EventUserCreated, nil, u)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// recordUser writes the audit entry and the event for a change to u.
func (s *Service) recordUser(ctx context.Context, tx *store.Tx, action, event string, before, after *crm.User) error {
	var b, a any
	if before != nil {
		b = snapshot(before)
	}
	if after != nil {
		a = snapshot(after)
	}
	if err := tx.Audit(ctx, action, "user", after.ID, b, a); err != nil {
		return err
	}
	return tx.EmitJSON(ctx, event, "user", after.ID, a)
}

// FindUserByID returns a user. Users may read themselves; reading others
// needs no special permission beyond being signed in (names appear on
// assignments everywhere).
func (s *Service) FindUserByID(ctx context.Context, id int64) (*crm.User, error) {
	var u *crm.User
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		u, err = tx.FindUserByID(ctx, id)
		return err
	})
	return u, err
}

// ListUsers returns every user, ordered by name and email.
func (s *Service) ListUsers(ctx context.Context) ([]*crm.User, error) {
	var out []*crm.User
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ListUsers(ctx)
		return err
	})
	return out, err
}

// UpdateUser changes a user's name, role or active flag. It refuses to
// leave Pivand without an active admin, and a deactivated user loses every
// session and API token at once.
func (s *Service) UpdateUser(ctx context.Context, id int64, up crm.UserUpdate) (*crm.User, error) {
	if err := crm.Authorize(ctx, crm.PermUsersManage, true); err != nil {
		return nil, err
	}
	var v crm.Validation
	if up.Name != nil {
		n := strings.TrimSpace(*up.Name)
		up.Name = &n
		if len(n) > 200 {
			v.Add("name", "Name is longer than 200 characters.")
		}
	}
	if up.Role != nil && !up.Role.Valid() {
		v.Add("role", "Role must be one of admin, manager, sales, support, marketing.")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var u *crm.User
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		before, err := tx.FindUserByID(ctx, id)
		if err != nil {
			return err
		}
		after := *before
		if up.Name != nil {
			after.Name = *up.Name
		}
		if up.Role != nil {
			after.Role = *up.Role
		}
		if up.Active != nil {
			after.Active = *up.Active
		}
		wasAdmin := before.Role == crm.RoleAdmin && before.Active
		isAdmin := after.Role == crm.RoleAdmin && after.Active
		if wasAdmin && !isAdmin {
			n, err := tx.CountUsers(ctx, crm.RoleAdmin, true)
			if err != nil {
				return err
			}
			if n <= 1 {
				return &crm.Error{Code: crm.ECONFLICT, Message: "Pivand needs at least one active admin.",
					Fields: map[string]string{"role": "This is the last active admin."}}
			}
		}
		if err := tx.UpdateUser(ctx, &after); err != nil {
			return err
		}
		tx.AfterCommit(s.tokens.clear)
		if before.Active && !after.Active {
			if err := tx.DeleteUserSessions(ctx, id); err != nil {
				return err
			}
			if err := tx.RevokeUserAPITokens(ctx, id); err != nil {
				return err
			}
		}
		u = &after
		return s.recordUser(ctx, tx, "user.update", crm.EventUserUpdated, before, &after)
	})
	return u, err
}

// UpdatePreferences stores a user's language, calendar, digits and zone.
// Users change their own; changing someone else's needs users:manage.
func (s *Service) UpdatePreferences(ctx context.Context, userID int64, p crm.Preferences) (*crm.User, error) {
	if err := s.selfOrManager(ctx, userID); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var u *crm.User
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		cur, err := tx.FindUserByID(ctx, userID)
		if err != nil {
			return err
		}
		before := cur.Preferences
		cur.Preferences = p
		if err := tx.UpdateUser(ctx, cur); err != nil {
			return err
		}
		tx.AfterCommit(s.tokens.clear)
		if err := tx.Audit(ctx, "user.preferences", "user", userID, before, p); err != nil {
			return err
		}
		u = cur
		return tx.EmitJSON(ctx, crm.EventPrefsUpdated, "user", userID, p)
	})
	return u, err
}

// ChangePassword replaces a password. Users must give their current one; a
// user manager (or the command line) may reset anyone's without it. Open
// sessions stay open; deactivating a user is how to end them all.
func (s *Service) ChangePassword(ctx context.Context, userID int64, current, next string) error {
	if err := s.selfOrManager(ctx, userID); err != nil {
		return err
	}
	if err := crm.ValidatePassword(next); err != nil {
		return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"new_password": err.Error()}}
	}
	hash, err := HashPassword(next)
	if err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		old, err := tx.PasswordHash(ctx, userID)
		if err != nil {
			return err
		}
		if crm.UserIDFromContext(ctx) == userID && !VerifyPassword(old, current) {
			return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.",
				Fields: map[string]string{"current_password": "The current password is wrong."}}
		}
		if err := tx.SetPasswordHash(ctx, userID, hash); err != nil {
			return err
		}
		return tx.Audit(ctx, "user.password", "user", userID, nil, nil)
	})
}

// selfOrManager allows the user themself, the system, or a user manager.
func (s *Service) selfOrManager(ctx context.Context, userID int64) error {
	u := crm.UserFromContext(ctx)
	if u == nil {
		return nil
	}
	if u.ID == userID {
		return crm.Authorize(ctx, crm.PermTokensOwn, true)
	}
	return crm.Authorize(ctx, crm.PermUsersManage, true)
}

// SignIn checks a password and opens a session. Failures are counted per
// email and per client address; past the limit the answer is ETOOMANY
// before any password is checked.
func (s *Service) SignIn(ctx context.Context, email, password, ip, userAgent string) (*crm.Session, *crm.User, error) {
	email = crm.NormalizeEmail(email)
	now := s.db.Now()
	emailKey, ipKey := "e:"+email, "i:"+ip
	if s.byEmail.count(emailKey, now) >= maxFailuresPerEmail || (ip != "" && s.byIP.count(ipKey, now) >= maxFailuresPerIP) {
		return nil, nil, &crm.Error{Code: crm.ETOOMANY, Key: "error.too_many_signins",
			Message: "Too many failed sign-ins. Wait 15 minutes and try again."}
	}
	var (
		u    *crm.User
		hash string
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		u, hash, err = tx.FindUserByEmail(ctx, email)
		return err
	})
	if err != nil && crm.ErrorCode(err) != crm.ENOTFOUND {
		return nil, nil, err
	}
	if u == nil {
		hash = dummyHash
	}
	if !VerifyPassword(hash, password) || u == nil || !u.Active {
		s.byEmail.fail(emailKey, now)
		if ip != "" {
			s.byIP.fail(ipKey, now)
		}
		return nil, nil, &crm.Error{Code: crm.EUNAUTHORIZED, Key: "error.bad_signin", Message: "Email or password is wrong."}
	}
	s.byEmail.reset(emailKey)
	sess := &crm.Session{UserID: u.ID, Token: randomToken(32), CSRF: randomToken(32)}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		sess.ExpiresAt = tx.Now().Add(s.opts.SessionTTL)
		if err := tx.CreateSession(ctx, sess, hashSecret(sess.Token), ip, truncate(userAgent, 300)); err != nil {
			return err
		}
		if err := tx.TouchLogin(ctx, u.ID); err != nil {
			return err
		}
		ctx := crm.NewContextWithUser(ctx, u)
		if err := tx.Audit(ctx, "user.signin", "user", u.ID, nil, nil); err != nil {
			return err
		}
		return tx.EmitJSON(ctx, crm.EventUserSignedIn, "user", u.ID, map[string]string{"ip": ip})
	})
	if err != nil {
		return nil, nil, err
	}
	return sess, u, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

var errSignedOut = &crm.Error{Code: crm.EUNAUTHORIZED, Key: "error.signed_out", Message: "Please sign in."}

// Authenticate returns the user and session behind a session token. A
// session past half its life is extended, so active users stay signed in.
func (s *Service) Authenticate(ctx context.Context, sessionToken string) (*crm.User, *crm.Session, error) {
	if sessionToken == "" {
		return nil, nil, errSignedOut
	}
	var (
		u    *crm.User
		sess *crm.Session
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		if sess, err = tx.FindSession(ctx, hashSecret(sessionToken)); err != nil {
			return err
		}
		u, err = tx.FindUserByID(ctx, sess.UserID)
		return err
	})
	if crm.ErrorCode(err) == crm.ENOTFOUND || (err == nil && !u.Active) {
		return nil, nil, errSignedOut
	}
	if err != nil {
		return nil, nil, err
	}
	if time.Until(sess.ExpiresAt) < s.opts.SessionTTL/2 {
		err = s.db.Write(ctx, func(tx *store.Tx) error {
			sess.ExpiresAt = tx.Now().Add(s.opts.SessionTTL)
			return tx.ExtendSession(ctx, sess.ID, sess.ExpiresAt)
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return u, sess, nil
}

// SignOut ends a session. Signing out twice is not an error.
func (s *Service) SignOut(ctx context.Context, sessionToken string) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		return tx.DeleteSession(ctx, hashSecret(sessionToken))
	})
}

// CleanupSessions removes expired sessions; the app runs it periodically.
func (s *Service) CleanupSessions(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		n, err = tx.DeleteExpiredSessions(ctx)
		return err
	})
	return n, err
}

// CreateToken makes an API token for userID and returns its secret, which
// is shown once and stored only as a hash.
func (s *Service) CreateToken(ctx context.Context, userID int64, name string, scopes []string) (string, *crm.APIToken, error) {
	if err := s.selfOrManager(ctx, userID); err != nil {
		return "", nil, err
	}
	var v crm.Validation
	name = strings.TrimSpace(name)
	if name == "" {
		v.Add("name", "Name the token so you can recognise it later.")
	} else if len(name) > 100 {
		v.Add("name", "Name is longer than 100 characters.")
	}
	if len(scopes) == 0 {
		v.Add("scopes", "Choose read, write or both.")
	}
	var clean []string
	for _, sc := range scopes {
		if sc != crm.ScopeRead && sc != crm.ScopeWrite {
			v.Add("scopes", "Unknown scope %q: use read or write.", sc)
		} else if !slices.Contains(clean, sc) {
			clean = append(clean, sc)
		}
	}
	slices.Sort(clean)
	if err := v.Err(); err != nil {
		return "", nil, err
	}
	secret := tokenPrefix + randomToken(32)
	t := &crm.APIToken{UserID: userID, Name: name, Scopes: clean, Prefix: secret[:len(tokenPrefix)+6]}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.FindUserByID(ctx, userID); err != nil {
			return err
		}
		if err := tx.CreateAPIToken(ctx, t, hashSecret(secret)); err != nil {
			return err
		}
		rec := map[string]any{"name": t.Name, "scopes": t.Scopes, "prefix": t.Prefix, "user_id": userID}
		if err := tx.Audit(ctx, "token.create", "api_token", t.ID, nil, rec); err != nil {
			return err
		}
		return tx.EmitJSON(ctx, crm.EventTokenCreated, "api_token", t.ID, rec)
	})
	if err != nil {
		return "", nil, err
	}
	return secret, t, nil
}

// ListTokens returns a user's tokens, newest first, revoked ones included.
func (s *Service) ListTokens(ctx context.Context, userID int64) ([]*crm.APIToken, error) {
	if err := s.selfOrManager(ctx, userID); err != nil {
		return nil, err
	}
	var out []*crm.APIToken
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ListAPITokens(ctx, userID)
		return err
	})
	return out, err
}

// RevokeToken revokes a token; its owner or a user manager may.
func (s *Service) RevokeToken(ctx context.Context, tokenID int64) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		t, err := tx.FindAPITokenByID(ctx, tokenID)
		if err != nil {
			return err
		}
		if err := s.selfOrManager(ctx, t.UserID); err != nil {
			if crm.ErrorCode(err) == crm.EFORBIDDEN {
				return crm.Errorf(crm.ENOTFOUND, "API token was not found.")
			}
			return err
		}
		if t.RevokedAt != nil {
			return nil
		}
		if err := tx.RevokeAPIToken(ctx, tokenID); err != nil {
			return err
		}
		tx.AfterCommit(s.tokens.clear)
		if err := tx.Audit(ctx, "token.revoke", "api_token", tokenID, map[string]any{"name": t.Name, "prefix": t.Prefix}, nil); err != nil {
			return err
		}
		return tx.EmitJSON(ctx, crm.EventTokenRevoked, "api_token", tokenID, map[string]any{"user_id": t.UserID})
	})
}

// AuthenticateToken returns the user and token behind an API secret.
func (s *Service) AuthenticateToken(ctx context.Context, secret string) (*crm.User, *crm.APIToken, error) {
	bad := &crm.Error{Code: crm.EUNAUTHORIZED, Message: "The API token is missing, unknown or revoked."}
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 200 {
		return nil, nil, bad
	}
	hash := hashSecret(secret)
	if u, t, ok := s.tokens.get(hash, time.Now()); ok {
		return u, t, nil
	}
	var (
		u *crm.User
		t *crm.APIToken
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		if t, err = tx.FindAPITokenByHash(ctx, hash); err != nil {
			return err
		}
		u, err = tx.FindUserByID(ctx, t.UserID)
		return err
	})
	if crm.ErrorCode(err) == crm.ENOTFOUND || (err == nil && (t.RevokedAt != nil || !u.Active)) {
		return nil, nil, bad
	}
	if err != nil {
		return nil, nil, err
	}
	now := s.db.Now().UTC()
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > time.Minute {
		err := s.db.Write(ctx, func(tx *store.Tx) error { return tx.TouchAPIToken(ctx, t.ID, tx.Now()) })
		if err != nil {
			return nil, nil, err
		}
		t.LastUsedAt = &now
	}
	s.tokens.put(hash, u, t, time.Now())
	return u, t, nil
}

// Invite creates an invitation for email with role and returns its secret
// token, from which the UI builds the link to send.
func (s *Service) Invite(ctx context.Context, email string, role crm.Role) (string, *crm.Invite, error) {
	if err := crm.Authorize(ctx, crm.PermUsersManage, true); err != nil {
		return "", nil, err
	}
	in := crm.UserCreate{Email: email, Role: role}
	if err := in.Validate(false); err != nil {
		return "", nil, err
	}
	token := randomToken(24)
	inv := &crm.Invite{Email: in.Email, Role: in.Role, InvitedBy: crm.UserIDFromContext(ctx)}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if _, _, err := tx.FindUserByEmail(ctx, in.Email); err == nil {
			return &crm.Error{Code: crm.ECONFLICT, Message: "A user with this email already exists.",
				Fields: map[string]string{"email": "A user with this email already exists."}}
		} else if crm.ErrorCode(err) != crm.ENOTFOUND {
			return err
		}
		inv.ExpiresAt = tx.Now().Add(s.opts.InviteTTL)
		if err := tx.CreateInvite(ctx, inv, hashSecret(token)); err != nil {
			return err
		}
		rec := map[string]any{"email": inv.Email, "role": inv.Role}
		if err := tx.Audit(ctx, "invite.create", "invite", inv.ID, nil, rec); err != nil {
			return err
		}
		return tx.EmitJSON(ctx, crm.EventInviteCreated, "invite", inv.ID, rec)
	})
	if err != nil {
		return "", nil, err
	}
	inv.Token = token
	return token, inv, nil
}

// ListInvites returns pending invitations.
func (s *Service) ListInvites(ctx context.Context) ([]*crm.Invite, error) {
	if err := crm.Authorize(ctx, crm.PermUsersManage, false); err != nil {
		return nil, err
	}
	var out []*crm.Invite
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ListPendingInvites(ctx)
		return err
	})
	return out, err
}

// FindInvite returns a pending invitation by its token.
func (s *Service) FindInvite(ctx context.Context, token string) (*crm.Invite, error) {
	var inv *crm.Invite
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		inv, err = tx.FindPendingInvite(ctx, hashSecret(token))
		return err
	})
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return nil, &crm.Error{Code: crm.ENOTFOUND, Key: "error.invite_invalid", Message: "This invitation is unknown, used or expired."}
	}
	return inv, err
}

// AcceptInvite creates the invited user with the chosen name and password.
func (s *Service) AcceptInvite(ctx context.Context, token, name, password string) (*crm.User, error) {
	inv, err := s.FindInvite(ctx, token)
	if err != nil {
		return nil, err
	}
	in := crm.UserCreate{Email: inv.Email, Name: name, Password: password, Role: inv.Role}
	if err := in.Validate(true); err != nil {
		return nil, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return nil, err
	}
	u := &crm.User{Email: in.Email, Name: in.Name, Role: in.Role, Active: true, Preferences: crm.DefaultPreferences("en")}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.FindPendingInvite(ctx, hashSecret(token)); err != nil {
			return err // accepted by a concurrent request
		}
		if err := tx.AcceptInvite(ctx, inv.ID); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, u, hash); err != nil {
			return err
		}
		return s.recordUser(crm.NewContextWithUser(ctx, u), tx, "user.create", crm.EventUserCreated, nil, u)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// RevokeInvite withdraws a pending invitation.
func (s *Service) RevokeInvite(ctx context.Context, id int64) error {
	if err := crm.Authorize(ctx, crm.PermUsersManage, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteInvite(ctx, id); err != nil {
			return err
		}
		return tx.Audit(ctx, "invite.revoke", "invite", id, nil, nil)
	})
}

// CreateTeam adds a team.
func (s *Service) CreateTeam(ctx context.Context, name string) (*crm.Team, error) {
	if err := crm.Authorize(ctx, crm.PermUsersManage, true); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	var v crm.Validation
	if name == "" {
		v.Add("name", "Team name is required.")
	} else if len(name) > 100 {
		v.Add("name", "Team name is longer than 100 characters.")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	t := &crm.Team{Name: name, MemberIDs: []int64{}}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.CreateTeam(ctx, t); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "team.create", "team", t.ID, nil, t); err != nil {
			return err
		}
		return tx.EmitJSON(ctx, crm.EventTeamChanged, "team", t.ID, t)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// ListTeams returns every team with its members.
func (s *Service) ListTeams(ctx context.Context) ([]*crm.Team, error) {
	var out []*crm.Team
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ListTeams(ctx)
		return err
	})
	return out, err
}

// UserTeams returns the teams userID belongs to.
func (s *Service) UserTeams(ctx context.Context, userID int64) ([]*crm.Team, error) {
	var out []*crm.Team
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.UserTeams(ctx, userID)
		return err
	})
	return out, err
}

// SetTeamMembers replaces a team's members; unknown user IDs are refused.
func (s *Service) SetTeamMembers(ctx context.Context, teamID int64, userIDs []int64) (*crm.Team, error) {
	if err := crm.Authorize(ctx, crm.PermUsersManage, true); err != nil {
		return nil, err
	}
	var t *crm.Team
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		before, err := tx.FindTeamByID(ctx, teamID)
		if err != nil {
			return err
		}
		for _, id := range userIDs {
			if _, err := tx.FindUserByID(ctx, id); err != nil {
				if crm.ErrorCode(err) == crm.ENOTFOUND {
					return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.",
						Fields: map[string]string{"user_ids": fmt.Sprintf("User %d does not exist.", id)}}
				}
				return err
			}
		}
		if err := tx.SetTeamMembers(ctx, teamID, userIDs); err != nil {
			return err
		}
		if t, err = tx.FindTeamByID(ctx, teamID); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "team.members", "team", teamID, before, t); err != nil {
			return err
		}
		return tx.EmitJSON(ctx, crm.EventTeamChanged, "team", teamID, t)
	})
	return t, err
}

// DeleteTeam removes a team.
func (s *Service) DeleteTeam(ctx context.Context, teamID int64) error {
	if err := crm.Authorize(ctx, crm.PermUsersManage, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		before, err := tx.FindTeamByID(ctx, teamID)
		if err != nil {
			return err
		}
		if err := tx.DeleteTeam(ctx, teamID); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "team.delete", "team", teamID, before, nil); err != nil {
			return err
		}
		return tx.EmitJSON(ctx, crm.EventTeamChanged, "team", teamID, map[string]any{"deleted": true})
	})
}

// ListAudit returns the audit log, newest first.
func (s *Service) ListAudit(ctx context.Context, f crm.AuditFilter) ([]*crm.AuditEntry, string, error) {
	if err := crm.Authorize(ctx, crm.PermAuditRead, false); err != nil {
		return nil, "", err
	}
	var (
		out  []*crm.AuditEntry
		next string
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, next, err = tx.ListAudit(ctx, f)
		return err
	})
	return out, next, err
}
