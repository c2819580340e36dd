package activity

import (
	"context"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// ListNotifications returns a user's notifications newest first (only
// unread ones when unreadOnly) with cursor paging. Users see only their
// own.
func (s *Service) ListNotifications(ctx context.Context, userID int64, unreadOnly bool, page crm.Page) ([]*crm.Notification, string, error) {
	if err := ownInbox(ctx, userID, false); err != nil {
		return nil, "", err
	}
	var (
		ns   []*crm.Notification
		next string
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		ns, next, err = tx.ListNotifications(ctx, userID, unreadOnly, page)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return ns, next, nil
}

// UnreadCount counts a user's unread notifications, up to MaxUnreadCount.
func (s *Service) UnreadCount(ctx context.Context, userID int64) (int, error) {
	if err := ownInbox(ctx, userID, false); err != nil {
		return 0, err
	}
	var n int
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		n, err = tx.CountUnreadNotifications(ctx, userID, MaxUnreadCount)
		return err
	})
	return n, err
}

// MarkRead marks the user's notifications with the given ids as read and
// returns how many changed; other users' ids are ignored.
func (s *Service) MarkRead(ctx context.Context, userID int64, ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, ownInbox(ctx, userID, true)
	}
	return s.markRead(ctx, userID, ids)
}

// MarkAllRead marks every unread notification of the user as read.
func (s *Service) MarkAllRead(ctx context.Context, userID int64) (int, error) {
	return s.markRead(ctx, userID, nil)
}

func (s *Service) markRead(ctx context.Context, userID int64, ids []int64) (int, error) {
	if err := ownInbox(ctx, userID, true); err != nil {
		return 0, err
	}
	var n int
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		n, err = tx.MarkNotificationsRead(ctx, userID, ids)
		return err
	})
	return n, err
}

// ownInbox allows access to userID's notifications: the user themself (an
// API token needs the read or write scope) or the system.
func ownInbox(ctx context.Context, userID int64, write bool) error {
	u := crm.UserFromContext(ctx)
	if u == nil {
		if userID <= 0 {
			return crm.Errorf(crm.EINVALID, "Which user's notifications?")
		}
		return nil
	}
	if !u.Active {
		return crm.Errorf(crm.EUNAUTHORIZED, "This account is deactivated.")
	}
	if u.ID != userID {
		return crm.Errorf(crm.EFORBIDDEN, "You can only see your own notifications.")
	}
	if t := crm.TokenFromContext(ctx); t != nil {
		need := crm.ScopeRead
		if write {
			need = crm.ScopeWrite
		}
		if !t.HasScope(need) {
			return crm.Errorf(crm.EFORBIDDEN, "This API token lacks the %q scope.", need)
		}
	}
	return nil
}
