package api

import (
	"net"
	"net/http"
	"strings"

	"github.com/pivand/pivand/internal/crm"
)

// authenticate requires a bearer token (Authorization: Bearer pvd_…) that
// carries scope, and, when perm is set, a role that grants perm. The user,
// the token and the client address go into the request context for the
// services and the audit log. The API never reads or sets cookies.
func (a *API) authenticate(scope string, perm crm.Permission, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store") // answers depend on the token
		secret, ok := bearerToken(r)
		if !ok {
			a.writeError(w, r, crm.Errorf(crm.EUNAUTHORIZED, "Send an API token: Authorization: Bearer pvd_…"))
			return
		}
		u, t, err := a.auth.AuthenticateToken(r.Context(), secret)
		if err != nil {
			if crm.ErrorCode(err) == crm.EUNAUTHORIZED {
				w.Header().Set("WWW-Authenticate", `Bearer realm="pivand", error="invalid_token"`)
			}
			a.writeError(w, r, err)
			return
		}
		ctx := crm.NewContextWithUser(r.Context(), u)
		ctx = crm.NewContextWithToken(ctx, t)
		ctx = crm.NewContextWithIP(ctx, clientIP(r))
		if !t.HasScope(scope) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pivand", error="insufficient_scope", scope="`+scope+`"`)
			a.writeError(w, r, crm.Errorf(crm.EFORBIDDEN, "This API token lacks the %q scope.", scope))
			return
		}
		if perm != "" {
			if err := crm.Authorize(ctx, perm, scope == crm.ScopeWrite); err != nil {
				a.writeError(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// bearerToken returns the token of an "Authorization: Bearer …" header.
// Tokens in the query string are never accepted: they end up in logs.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// clientIP is the address of the peer. The server in front of the API
// decides whether proxy headers are trusted and rewrites RemoteAddr.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
