package auth

import (
	"sync"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// tokenCacheTTL bounds how long an API token's check is reused without
// reading the database. Revoking a token or changing its user in this
// process clears the cache at once; a change made by another process (the
// command line, a second server) takes effect within this time.
const tokenCacheTTL = 5 * time.Second

const tokenCacheMax = 10000

type cachedToken struct {
	user  crm.User
	token crm.APIToken
	at    time.Time
}

// tokenCache remembers recent successful token checks by the token's hash,
// so a busy API client costs no database read per request for auth.
type tokenCache struct {
	mu sync.Mutex
	m  map[string]cachedToken
}

func (c *tokenCache) get(hash string, now time.Time) (*crm.User, *crm.APIToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	if !ok || now.Sub(e.at) > tokenCacheTTL || now.Before(e.at) {
		return nil, nil, false
	}
	u, t := e.user, e.token // copies: callers may not change the cached values
	return &u, &t, true
}

func (c *tokenCache) put(hash string, u *crm.User, t *crm.APIToken, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= tokenCacheMax {
		c.m = make(map[string]cachedToken)
	}
	c.m[hash] = cachedToken{user: *u, token: *t, at: now}
}

// clear forgets every cached check (a token revoked, a user changed).
func (c *tokenCache) clear() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}
