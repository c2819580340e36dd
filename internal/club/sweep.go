package club

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
)

// Time-based work (pending points becoming available when the return
// window closes, expiry, expiry reminders, tier reviews and grace ends,
// reservations held too long) is done by one periodic sweep, a durable
// job, rather than a job per lot: at thousands of orders a second a job
// per order would double the writes, while the sweep finds what is due
// through partial indexes and works it in batches.
//
// Whoever creates something that falls due later (an earn's release, a
// lot's expiry, a tier review) calls schedule, which queues a sweep for
// that minute unless one is known to be queued. The sweep, when it has
// worked everything due, queues itself for the next due time. The unique
// key of a sweep job is its minute (club.sweep:<unix minute>), so however
// many transactions ask for the same minute there is one job; schedule
// never asks for the current minute (whose job may be running, and a
// running job's key cannot be queued again), only the next one or later.

// JobSweep is the job kind of the sweep.
const JobSweep = "club.sweep"

// sweepBatch is how many lots or members one sweep transaction works.
const sweepBatch = 200

// RegisterJobs registers the sweep with the job runner.
func (s *Service) RegisterJobs(r *jobs.Runner) {
	r.Handle(JobSweep, func(ctx context.Context, j *jobs.Claimed) error {
		_, err := s.Sweep(ctx)
		return err
	})
}

// schedule makes sure a sweep is queued for t (rounded up to the next
// whole minute, and never earlier than the minute after this one) when
// tx commits.
func (s *Service) schedule(ctx context.Context, tx *store.Tx, t *time.Time) error {
	if t == nil {
		return nil
	}
	slot := (t.Unix() + 59) / 60
	if min := tx.Now().Unix()/60 + 1; slot < min {
		slot = min
	}
	s.mu.Lock()
	known := s.slots[slot]
	s.mu.Unlock()
	if known {
		return nil
	}
	_, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobSweep, RunAt: time.Unix(slot*60, 0).UTC(), MaxAttempts: 50,
		UniqueKey: JobSweep + ":" + strconv.FormatInt(slot, 10)})
	if err != nil {
		return err
	}
	now := tx.Now().Unix() / 60
	tx.AfterCommit(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.slots) > 10000 {
			for k := range s.slots {
				if k <= now {
					delete(s.slots, k)
				}
			}
		}
		s.slots[slot] = true
	})
	return nil
}

// SweepResult counts what a sweep did.
type SweepResult struct {
	Released  int `json:"released"`  // lots moved from pending to available
	Expired   int `json:"expired"`   // lots whose points expired
	Reminded  int `json:"reminded"`  // members told that points will expire
	Reviewed  int `json:"reviewed"`  // tier reviews and grace ends worked
	Cancelled int `json:"cancelled"` // reservations held too long, cancelled
}

// Sweep works everything due now, in batches of short transactions, and
// queues the next sweep for when something next falls due. It is what
// the club.sweep job runs; tests and commands may call it directly.
func (s *Service) Sweep(ctx context.Context) (SweepResult, error) {
	var res SweepResult
	if err := crm.Authorize(ctx, crm.PermClubWrite, true); err != nil {
		return res, err
	}
	now := s.db.Now().UTC()
	steps := []func(context.Context, time.Time, *SweepResult) (bool, error){s.sweepReleases, s.sweepExpiries, s.sweepReviews, s.sweepHolds}
	for _, step := range steps {
		for {
			more, err := step(ctx, now, &res)
			if err != nil {
				return res, err
			}
			if !more {
				break
			}
		}
	}
	if err := s.sweepReminders(ctx, now, &res); err != nil {
		return res, err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		next, ok, err := tx.ClubNextDue(ctx)
		if err != nil {
			return err
		}
		progs, err := tx.ClubPrograms(ctx)
		if err != nil {
			return err
		}
		for _, p := range progs {
			if p.ReminderDays <= 0 {
				continue
			}
			t, found, err := tx.ClubNextReminder(ctx, p.ID)
			if err != nil {
				return err
			}
			if found {
				t = t.AddDate(0, 0, -p.ReminderDays)
				if !ok || t.Before(next) {
					next, ok = t, true
				}
			}
		}
		if !ok {
			return nil
		}
		return s.schedule(ctx, tx, &next)
	})
	return res, err
}

// byMember groups lots by member, members in id order (so that one
// transaction locks members in a fixed order).
func byMember(lots []*Lot) ([]int64, map[int64]bool) {
	seen := map[int64]bool{}
	var ids []int64
	for _, l := range lots {
		if !seen[l.MemberID] {
			seen[l.MemberID] = true
			ids = append(ids, l.MemberID)
		}
	}
	slices.Sort(ids)
	return ids, seen
}

func (s *Service) sweepReleases(ctx context.Context, now time.Time, res *SweepResult) (more bool, err error) {
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		due, err := tx.ClubDueLots(ctx, 0, now, sweepBatch)
		if err != nil {
			return err
		}
		more = len(due) == sweepBatch
		ids, _ := byMember(due)
		for _, id := range ids {
			n, err := s.releaseDue(ctx, tx, id, now)
			if err != nil {
				return err
			}
			res.Released += n
		}
		return nil
	})
	return more, err
}

// releaseDue locks a member and releases their pending lots whose return
// window has closed by now.
func (s *Service) releaseDue(ctx context.Context, tx *store.Tx, memberID int64, now time.Time) (int, error) {
	m, err := tx.LockClubMember(ctx, memberID)
	if err != nil {
		return 0, err
	}
	return s.releaseLocked(ctx, tx, m, now)
}

// releaseLocked releases a locked member's due pending lots.
func (s *Service) releaseLocked(ctx context.Context, tx *store.Tx, m *Member, now time.Time) (int, error) {
	lots, err := tx.ClubDueLots(ctx, m.ID, now, 10000)
	if err != nil || len(lots) == 0 {
		return 0, err
	}
	c, err := s.config(ctx, tx, m.ProgramID)
	if err != nil {
		return 0, err
	}
	for _, l := range lots {
		if err := s.release(ctx, tx, c, m, l); err != nil {
			return 0, err
		}
	}
	return len(lots), nil
}

func (s *Service) sweepExpiries(ctx context.Context, now time.Time, res *SweepResult) (more bool, err error) {
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		due, err := tx.ClubExpiredLots(ctx, 0, now, sweepBatch)
		if err != nil {
			return err
		}
		more = len(due) == sweepBatch
		ids, _ := byMember(due)
		for _, id := range ids {
			m, err := tx.LockClubMember(ctx, id)
			if err != nil {
				return err
			}
			lots, err := tx.ClubExpiredLots(ctx, id, now, 10000)
			if err != nil {
				return err
			}
			for _, l := range lots {
				if err := s.expire(ctx, tx, m, l); err != nil {
					return err
				}
				res.Expired++
			}
		}
		return nil
	})
	return more, err
}

// expiringPayload is what club.points_expiring carries: the reminder.
type expiringPayload struct {
	MemberID  int64     `json:"member_id"`
	Points    int64     `json:"points"`
	ExpiresAt time.Time `json:"expires_at"` // the soonest expiry among them
}

func (s *Service) sweepReminders(ctx context.Context, now time.Time, res *SweepResult) error {
	var progs []*Program
	if err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		progs, err = tx.ClubPrograms(ctx)
		return err
	}); err != nil {
		return err
	}
	for _, p := range progs {
		if p.ReminderDays <= 0 {
			continue
		}
		by := now.AddDate(0, 0, p.ReminderDays)
		for {
			more := false
			err := s.db.Write(ctx, func(tx *store.Tx) error {
				lots, err := tx.ClubLotsToRemind(ctx, p.ID, by, sweepBatch)
				if err != nil {
					return err
				}
				more = len(lots) == sweepBatch
				var ids []int64
				for i := 0; i < len(lots); {
					j := i
					pl := expiringPayload{MemberID: lots[i].MemberID, ExpiresAt: *lots[i].ExpiresAt}
					for ; j < len(lots) && lots[j].MemberID == lots[i].MemberID; j++ {
						pl.Points += lots[j].Remaining
						ids = append(ids, lots[j].ID)
						if lots[j].ExpiresAt.Before(pl.ExpiresAt) {
							pl.ExpiresAt = *lots[j].ExpiresAt
						}
					}
					m, err := tx.ClubMember(ctx, pl.MemberID)
					if err != nil {
						return err
					}
					if m.Status == StatusActive {
						if err := emit(ctx, tx, EventPointsExpiring, m.ID, m.ContactID, pl); err != nil {
							return err
						}
						res.Reminded++
					}
					i = j
				}
				return tx.MarkClubLotsReminded(ctx, ids)
			})
			if err != nil {
				return err
			}
			if !more {
				break
			}
		}
	}
	return nil
}

func (s *Service) sweepReviews(ctx context.Context, now time.Time, res *SweepResult) (more bool, err error) {
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		due, err := tx.ClubMembersDueForReview(ctx, now, sweepBatch)
		if err != nil {
			return err
		}
		more = len(due) == sweepBatch
		for _, d := range due {
			m, err := tx.LockClubMember(ctx, d.ID)
			if err != nil {
				return err
			}
			c, err := s.config(ctx, tx, m.ProgramID)
			if err != nil {
				return err
			}
			// A member whose reviews fell due long ago (an import of old
			// orders, a server that was off) is reviewed until they are
			// up to date.
			for range 1000 {
				if err := s.review(ctx, tx, c, m, now); err != nil {
					return err
				}
				res.Reviewed++
				due := m.GraceUntil != nil && !m.GraceUntil.After(now) || m.GraceUntil == nil && m.TierReviewAt != nil && !m.TierReviewAt.After(now)
				if !due {
					break
				}
			}
		}
		return nil
	})
	return more, err
}

func (s *Service) sweepHolds(ctx context.Context, now time.Time, res *SweepResult) (more bool, err error) {
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		ids, err := tx.ClubHeldTooLong(ctx, now, sweepBatch)
		if err != nil {
			return err
		}
		more = len(ids) == sweepBatch
		for _, id := range ids {
			if _, err := s.cancel(ctx, tx, id, "hold_expired"); err != nil {
				return err
			}
			res.Cancelled++
		}
		return nil
	})
	return more, err
}
