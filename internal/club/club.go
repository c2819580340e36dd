// Package club runs the customer club (باشگاه مشتریان): programs, earn
// rules, tiers, the append-only points ledger, rewards, coupons, referrals
// and members. It learns about purchases from order.created and
// order.returned events.
package club

import (
	"github.com/pivand/pivand/internal/store"
)

// Options configure a Service.
type Options struct{}

// Service is the customer-club module.
type Service struct {
	db   *store.DB
	opts Options
}

// New returns the club service on db.
func New(db *store.DB, opts Options) *Service {
	return &Service{db: db, opts: opts}
}
