package campaign

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
)

// Sending. Start stores nothing but the status and a job; the job
// ("campaign.send") first writes the audience as queued delivery rows
// (one per person: the unique key (campaign_id, contact_id)), then works
// them in batches:
//
//  1. One transaction claims a batch (queued → sending, with the sender's
//     token) and, for each person, checks consent and suppression, the
//     frequency cap and quiet hours at that moment: a person who may not
//     get it is finished at once as skipped (with the reason), one in
//     quiet hours goes back to the queue until they end.
//  2. The messages are sent, outside any transaction.
//  3. One transaction records every outcome (sent, failed) of the batch,
//     only for rows the token still holds, with a campaign.sent event on
//     each person's timeline.
//
// A sender holds the campaign by a lease (campaigns.lease_token); a
// sender that finds the lease of a dead one expired takes over and marks
// the rows that one left in "sending" as failed ("interrupted"). That is
// the at-most-once choice for the window between the server's answer and
// the commit of step 3: such a message may or may not have gone, and
// sending it again could send it twice. Nobody gets a message twice;
// nobody is left without a record.

// JobSend is the job kind that sends a campaign.
const JobSend = "campaign.send"

type sendPayload struct {
	CampaignID int64 `json:"campaign_id"`
}

// RegisterJobs registers the sender with a job runner.
func (s *Service) RegisterJobs(r *jobs.Runner) {
	r.Handle(JobSend, func(ctx context.Context, j *jobs.Claimed) error {
		var p sendPayload
		if err := j.Decode(&p); err != nil {
			return err
		}
		return s.send(ctx, p.CampaignID)
	})
	r.Handle(JobDecide, func(ctx context.Context, j *jobs.Claimed) error {
		var p sendPayload
		if err := j.Decode(&p); err != nil {
			return err
		}
		return s.decide(ctx, p.CampaignID)
	})
}

// Start begins sending a draft campaign, or a scheduled one now.
func (s *Service) Start(ctx context.Context, id int64) (*crm.Campaign, error) {
	return s.transition(ctx, id, "campaign.start", []string{crm.CampaignDraft, crm.CampaignScheduled}, crm.CampaignSending)
}

// MaxScheduleAhead is how far ahead a campaign can be scheduled.
const MaxScheduleAhead = 366 * 24 * time.Hour

// Schedule makes a draft campaign start by itself at at (a scheduled one
// is moved to at). It is checked as Start checks it; the audience is read
// when it starts, not now.
func (s *Service) Schedule(ctx context.Context, id int64, at time.Time) (*crm.Campaign, error) {
	return s.change(ctx, id, func(tx *store.Tx, c *crm.Campaign) error {
		if c.Status != crm.CampaignDraft && c.Status != crm.CampaignScheduled {
			return crm.Errorf(crm.ECONFLICT, "A %s campaign cannot be scheduled.", c.Status)
		}
		var v crm.Validation
		now := tx.Now()
		switch {
		case at.IsZero():
			v.Add("scheduled_at", "Give the date and time to send at.")
		case !at.After(now):
			v.Add("scheduled_at", "The time to send at has passed; give a later one.")
		case at.Sub(now) > MaxScheduleAhead:
			v.Add("scheduled_at", "A campaign can be scheduled at most a year ahead.")
		}
		if err := v.Err(); err != nil {
			return err
		}
		if err := s.checkReady(ctx, tx, c); err != nil {
			return err
		}
		at = at.UTC().Truncate(time.Second)
		if err := tx.ScheduleCampaign(ctx, id, crm.CampaignScheduled, &at); err != nil {
			return err
		}
		// A job per schedule: one left from an earlier time finds the
		// campaign not due (or no longer scheduled) and does nothing.
		if _, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobSend, Payload: sendPayload{CampaignID: id}, RunAt: at, MaxAttempts: 1000}); err != nil {
			return err
		}
		old := map[string]any{"status": c.Status}
		if c.ScheduledAt != nil {
			old["scheduled_at"] = c.ScheduledAt
		}
		return tx.Audit(ctx, "campaign.schedule", "campaign", id, old, map[string]any{"status": crm.CampaignScheduled, "scheduled_at": at})
	})
}

// Unschedule turns a scheduled campaign back into a draft.
func (s *Service) Unschedule(ctx context.Context, id int64) (*crm.Campaign, error) {
	return s.change(ctx, id, func(tx *store.Tx, c *crm.Campaign) error {
		if c.Status != crm.CampaignScheduled {
			return crm.Errorf(crm.ECONFLICT, "A %s campaign is not scheduled.", c.Status)
		}
		if err := tx.ScheduleCampaign(ctx, id, crm.CampaignDraft, nil); err != nil {
			return err
		}
		return tx.Audit(ctx, "campaign.unschedule", "campaign", id, map[string]any{"status": c.Status, "scheduled_at": c.ScheduledAt},
			map[string]any{"status": crm.CampaignDraft})
	})
}

// Pause stops sending after the batch in flight; Resume goes on.
func (s *Service) Pause(ctx context.Context, id int64) (*crm.Campaign, error) {
	return s.transition(ctx, id, "campaign.pause", []string{crm.CampaignSending}, crm.CampaignPaused)
}

// Resume continues a paused campaign.
func (s *Service) Resume(ctx context.Context, id int64) (*crm.Campaign, error) {
	return s.transition(ctx, id, "campaign.resume", []string{crm.CampaignPaused}, crm.CampaignSending)
}

// Cancel stops a campaign for good: everyone not sent yet is skipped
// ("cancelled"), the rest of a waiting A/B test too.
func (s *Service) Cancel(ctx context.Context, id int64) (*crm.Campaign, error) {
	return s.transition(ctx, id, "campaign.cancel", []string{crm.CampaignDraft, crm.CampaignScheduled, crm.CampaignSending, crm.CampaignPaused, crm.CampaignWaiting}, crm.CampaignCancelled)
}

func (s *Service) transition(ctx context.Context, id int64, action string, from []string, to string) (*crm.Campaign, error) {
	return s.change(ctx, id, func(tx *store.Tx, c *crm.Campaign) error {
		if !slices.Contains(from, c.Status) {
			return crm.Errorf(crm.ECONFLICT, "A %s campaign cannot be %s.", c.Status, map[string]string{
				crm.CampaignSending: "sent", crm.CampaignPaused: "paused", crm.CampaignCancelled: "cancelled"}[to])
		}
		if to == crm.CampaignSending && (c.Status == crm.CampaignDraft || c.Status == crm.CampaignScheduled) {
			if err := s.checkReady(ctx, tx, c); err != nil {
				return err
			}
		}
		if err := tx.SetCampaignStatus(ctx, id, to); err != nil {
			return err
		}
		if to == crm.CampaignCancelled {
			if _, err := tx.SkipQueuedDeliveries(ctx, id, "cancelled"); err != nil {
				return err
			}
		}
		if to == crm.CampaignSending {
			if _, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobSend, Payload: sendPayload{CampaignID: id}, MaxAttempts: 1000}); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, action, "campaign", id, map[string]string{"status": c.Status}, map[string]string{"status": to})
	})
}

// checkReady checks a campaign about to start (or be scheduled) as its
// form does, and that it has a sender.
func (s *Service) checkReady(ctx context.Context, tx *store.Tx, c *crm.Campaign) error {
	in := InputOf(c)
	if err := s.validate(&in); err != nil {
		return err
	}
	if c.Channel == ChannelEmail && c.FromAddress == "" {
		st, err := s.settings(ctx, tx)
		if err != nil {
			return err
		}
		if st.FromAddress == "" {
			var v crm.Validation
			v.Add("from_address", "Set a sender here or in Settings → Campaigns.")
			return v.Err()
		}
	}
	return nil
}

// send is the job: it takes the campaign's lease and sends until the
// queue is empty, the campaign is paused or cancelled, or what is left
// waits (quiet hours, the hourly limit: a later job goes on).
func (s *Service) send(ctx context.Context, id int64) error {
	token := newToken()
	var (
		c  *crm.Campaign
		st Settings
		ok bool
	)
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if c, err = tx.FindCampaign(ctx, id, true); err != nil {
			return err
		}
		if c.Status == crm.CampaignScheduled && c.ScheduledAt != nil && !c.ScheduledAt.After(tx.Now()) {
			if err := s.startScheduled(ctx, tx, c); err != nil {
				return err
			}
		}
		if c.Status != crm.CampaignSending {
			return nil
		}
		if ok, err = tx.AcquireCampaignLease(ctx, id, token, tx.Now().Add(s.opts.Lease)); err != nil || !ok {
			return err
		}
		if st, err = s.settings(ctx, tx); err != nil {
			return err
		}
		if n, err := tx.FailInterruptedDeliveries(ctx, id, token); err != nil {
			return err
		} else if n > 0 {
			s.log.Warn("campaign: a sender died mid-batch; its messages are marked failed (interrupted)", "campaign", id, "deliveries", n)
		}
		if !c.AudienceReady {
			return s.fillAudience(ctx, tx, c)
		}
		return nil
	})
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return jobs.Permanent(err)
	}
	if err != nil || c.Status != crm.CampaignSending {
		return err
	}
	if !ok {
		// Another sender holds the campaign: it goes on. Look again when
		// its lease would have run out, in case it died.
		return s.db.Write(ctx, func(tx *store.Tx) error {
			_, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobSend, Payload: sendPayload{CampaignID: id}, RunAt: tx.Now().Add(s.opts.Lease + time.Second),
				UniqueKey: fmt.Sprintf("campaign-send-check:%d", id)})
			return err
		})
	}
	defer func() {
		s.db.Write(context.WithoutCancel(ctx), func(tx *store.Tx) error { return tx.ReleaseCampaignLease(ctx, id, token) })
	}()
	r, err := s.newSender(ctx, c, st, token)
	if err != nil {
		return err
	}
	defer r.close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		more, wait, err := r.batch(ctx)
		if err != nil {
			return err
		}
		if more {
			continue
		}
		return s.db.Write(ctx, func(tx *store.Tx) error {
			cur, err := tx.FindCampaign(ctx, id, true)
			if err != nil || cur.Status != crm.CampaignSending {
				return err
			}
			pending, next, err := tx.CampaignQueue(ctx, id)
			if err != nil {
				return err
			}
			if pending == 0 {
				if done, err := s.testSent(ctx, tx, cur); err != nil || !done {
					return err
				}
				if err := tx.SetCampaignStatus(ctx, id, crm.CampaignDone); err != nil {
					return err
				}
				res, err := tx.CampaignResults(ctx, id)
				if err != nil {
					return err
				}
				return tx.Emit(ctx, &crm.Event{Type: "campaign.finished", SubjectType: "campaign", SubjectID: id, Payload: mustJSON(res)})
			}
			if wait.After(next) {
				next = wait
			}
			if next.IsZero() || !next.After(tx.Now()) {
				next = tx.Now().Add(time.Second)
			}
			_, err = jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobSend, Payload: sendPayload{CampaignID: id}, RunAt: next, MaxAttempts: 1000})
			return err
		})
	}
}

// startScheduled starts a scheduled campaign whose time has come. What
// was checked when it was scheduled is checked again (a segment deleted
// since, the sender setting emptied): a campaign that cannot start goes
// back to draft with the reason in the audit log and the log.
func (s *Service) startScheduled(ctx context.Context, tx *store.Tx, c *crm.Campaign) error {
	if err := s.checkReady(ctx, tx, c); err != nil {
		if crm.ErrorCode(err) != crm.EINVALID {
			return err
		}
		s.log.Warn("campaign: a scheduled campaign cannot start; it is a draft again", "campaign", c.ID, "err", err)
		if err := tx.ScheduleCampaign(ctx, c.ID, crm.CampaignDraft, nil); err != nil {
			return err
		}
		c.Status = crm.CampaignDraft
		return tx.Audit(ctx, "campaign.schedule_failed", "campaign", c.ID, map[string]any{"status": crm.CampaignScheduled, "scheduled_at": c.ScheduledAt},
			map[string]any{"status": crm.CampaignDraft, "error": crm.ErrorMessage(err)})
	}
	if err := tx.SetCampaignStatus(ctx, c.ID, crm.CampaignSending); err != nil {
		return err
	}
	c.Status = crm.CampaignSending
	return tx.Audit(ctx, "campaign.start", "campaign", c.ID, map[string]string{"status": crm.CampaignScheduled}, map[string]string{"status": crm.CampaignSending})
}

// fillAudience writes the audience as queued deliveries, in the job's
// first transaction: all of it or none.
func (s *Service) fillAudience(ctx context.Context, tx *store.Tx, c *crm.Campaign) error {
	buf := make([]int64, 0, 1000)
	var variants []int // an A/B test's split, nil otherwise
	if c.AB != nil {
		variants = make([]int, 0, 1000)
	}
	add := func(id int64) error {
		buf = append(buf, id)
		if variants != nil {
			variants = append(variants, Split(c.ID, id, c.AB))
		}
		if len(buf) == cap(buf) {
			_, err := tx.AddCampaignRecipients(ctx, c.ID, buf, variants)
			buf = buf[:0]
			if variants != nil {
				variants = variants[:0]
			}
			return err
		}
		return nil
	}
	var err error
	switch c.AudienceKind {
	case AudienceSegment:
		if s.opts.Audience == nil {
			return jobs.Permanent(crm.Errorf(crm.EUNAVAILABLE, "Segments are not available in this installation."))
		}
		err = s.opts.Audience(ctx, tx, c.AudienceID, add)
	default:
		err = tx.AllContactIDs(ctx, add)
	}
	if err != nil {
		return err
	}
	if len(buf) > 0 {
		if _, err := tx.AddCampaignRecipients(ctx, c.ID, buf, variants); err != nil {
			return err
		}
	}
	return tx.SetCampaignAudienceReady(ctx, c.ID)
}

// sender is one run of the job over one campaign.
type sender struct {
	s        *Service
	c        *crm.Campaign
	st       Settings
	token    string
	compiled map[string]*Compiled   // variant A by language
	variants []map[string]*Compiled // an A/B test's B, C, … by language
	signer   *Signer
	mailer   *Mailer
	sms      SMSProvider
	tz       *time.Location
	limiter  *time.Ticker
	workers  int
}

func (s *Service) newSender(ctx context.Context, c *crm.Campaign, st Settings, token string) (*sender, error) {
	r := &sender{s: s, c: c, st: st, token: token, compiled: map[string]*Compiled{}, workers: 1}
	for lang, content := range c.Content {
		var v crm.Validation
		r.compiled[lang] = Compile(c.Channel, lang, content, &v)
		if err := v.Err(); err != nil {
			return nil, jobs.Permanent(err)
		}
	}
	if c.AB != nil {
		for i := range c.AB.Variants {
			m := map[string]*Compiled{}
			for lang := range c.Content {
				var v crm.Validation
				m[lang] = Compile(c.Channel, lang, VariantContent(c, i+1, lang), &v)
				if err := v.Err(); err != nil {
					return nil, jobs.Permanent(err)
				}
			}
			r.variants = append(r.variants, m)
		}
	}
	var err error
	if r.signer, err = s.key(ctx); err != nil {
		return nil, err
	}
	if r.tz, err = time.LoadLocation(st.TimeZone); err != nil {
		r.tz = time.UTC
	}
	switch c.Channel {
	case ChannelEmail:
		r.mailer = NewMailer(st.SMTP)
		r.workers = max(st.SMTP.Pool, 1)
	case ChannelSMS:
		if st.SMS.URL == "" {
			return nil, errors.New("no SMS provider is configured (Settings → Campaigns)")
		}
		p, err := NewHTTPProvider(st.SMS.URL, st.SMS.AuthHeader, st.SMS.AuthValue, st.SMS.ContentType, st.SMS.Body)
		if err != nil {
			return nil, jobs.Permanent(err)
		}
		r.sms, r.workers = p, 4
	}
	if st.PerSecond > 0 {
		r.limiter = time.NewTicker(time.Second / time.Duration(st.PerSecond))
	}
	return r, nil
}

func (r *sender) close() {
	if r.mailer != nil {
		r.mailer.Close()
	}
	if r.limiter != nil {
		r.limiter.Stop()
	}
}

// outgoing is one claimed delivery ready to send.
type outgoing struct {
	d       *crm.CampaignDelivery
	msg     []byte // email
	text    string // SMS
	subject string
	err     error
}

// DefaultBatchSize is how many recipients a sender claims at once with
// connections sending connections and a perSecond throttle (0: none).
// Eight messages per connection share the batch's reads and commits
// (about three times the throughput of two per connection into a local
// relay), but a crash leaves the outcome of one batch unknown, so it is
// at most 64 and, when throttled, about a quarter second of sending.
func DefaultBatchSize(connections, perSecond int) int {
	n := min(max(8*connections, 16), 64)
	if perSecond > 0 {
		n = min(n, max(perSecond/4, 4))
	}
	return n
}

// batch claims, checks, sends and records one batch. more says whether
// to go on at once; wait is when deferred work may go on.
func (r *sender) batch(ctx context.Context) (more bool, wait time.Time, err error) {
	var out []*outgoing
	n := r.s.opts.BatchSize
	if n <= 0 {
		n = DefaultBatchSize(r.workers, r.st.PerSecond)
	}
	err = r.s.db.Write(ctx, func(tx *store.Tx) error {
		out = out[:0]
		c, err := tx.FindCampaign(ctx, r.c.ID, false)
		if err != nil {
			return err
		}
		if c.Status != crm.CampaignSending {
			return nil
		}
		ok, err := tx.AcquireCampaignLease(ctx, r.c.ID, r.token, tx.Now().Add(r.s.opts.Lease))
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("campaign: lost the campaign's lease to another sender")
		}
		if r.st.PerHour > 0 {
			sent, err := tx.CampaignMessagesSince(ctx, r.c.Channel, tx.Now().Add(-time.Hour))
			if err != nil {
				return err
			}
			left := int64(r.st.PerHour) - sent
			if left <= 0 {
				wait = tx.Now().Add(5 * time.Minute)
				return nil
			}
			n = int(min(int64(n), left))
		}
		ds, err := tx.ClaimDeliveries(ctx, r.c.ID, r.token, n)
		if err != nil {
			return err
		}
		rds, ck, err := r.lookup(ctx, tx, ds)
		if err != nil {
			return err
		}
		for _, d := range ds {
			o, err := r.prepare(ctx, tx, d, rds[d.ContactID], ck)
			if err != nil {
				return err
			}
			if o != nil {
				out = append(out, o)
			}
		}
		more = len(ds) == n
		return nil
	})
	if err != nil || len(out) == 0 {
		return more, wait, err
	}
	r.deliver(ctx, out)
	err = r.s.db.Write(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		for _, o := range out {
			if err := r.record(ctx, tx, o); err != nil {
				return err
			}
		}
		return nil
	})
	return more, wait, err
}

// lookup reads what the check at the moment of sending needs about the
// people of one claimed batch, a few statements for all of them: the
// people (missing: deleted since), the erased addresses among theirs,
// the campaign suppressions, and the messages they got in the frequency
// window.
func (r *sender) lookup(ctx context.Context, tx *store.Tx, ds []*crm.CampaignDelivery) (map[int64]*crm.RecipientData, *checks, error) {
	ids := make([]int64, len(ds))
	for i, d := range ds {
		ids[i] = d.ContactID
	}
	rds, err := tx.RecipientsData(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	var hashes, addrs []string
	for _, rd := range rds {
		if kind, addr := address(r.c.Channel, rd); addr != "" {
			hashes, addrs = append(hashes, erasedHash(kind, addr)), append(addrs, addr)
		}
	}
	ck := &checks{}
	if ck.erased, err = tx.SuppressedHashes(ctx, hashes); err != nil {
		return nil, nil, err
	}
	if ck.suppressed, err = tx.CampaignSuppressions(ctx, r.c.Channel, addrs); err != nil {
		return nil, nil, err
	}
	if r.st.FrequencyCap > 0 {
		if ck.sent, err = tx.ContactsCampaignsSince(ctx, ids, r.capSince(tx)); err != nil {
			return nil, nil, err
		}
	}
	return rds, ck, nil
}

// checks is what lookup read for a batch; mayContact reads the same per
// person when it has none (a preview, a workflow's single message).
type checks struct {
	erased     map[string]bool   // hashes of erased people's addresses
	suppressed map[string]string // campaign suppressions: address → reason
	sent       map[int64]int     // messages per person in the frequency window
}

// address is where a message of channel goes for rd, and its kind as the
// suppressions of erased people name it.
func address(channel string, rd *crm.RecipientData) (kind, addr string) {
	if channel == ChannelSMS {
		return "phone", rd.Phone
	}
	return "email", strings.ToLower(strings.TrimSpace(rd.Email))
}

// erasedHash is how the contacts module keeps an erased person's address
// (contact.suppressionHash).
func erasedHash(kind, addr string) string {
	sum := sha256.Sum256([]byte(kind + ":" + addr))
	return hex.EncodeToString(sum[:])
}

// capSince is the start of the frequency cap's window.
func (r *sender) capSince(tx *store.Tx) time.Time {
	return tx.Now().AddDate(0, 0, -r.st.FrequencyDays)
}

// prepare checks one claimed person (rd; nil when they were deleted) at
// the moment of sending and renders their message; nil when they were
// skipped or deferred (already recorded in tx).
func (r *sender) prepare(ctx context.Context, tx *store.Tx, d *crm.CampaignDelivery, rd *crm.RecipientData, ck *checks) (*outgoing, error) {
	skip := func(reason string) (*outgoing, error) {
		d.Status, d.Reason = crm.MessageSkipped, reason
		_, err := tx.FinishDelivery(ctx, d, r.token)
		return nil, err
	}
	if rd == nil {
		return skip("deleted")
	}
	lang := rd.Language
	if _, ok := r.compiled[lang]; !ok {
		lang = r.c.DefaultLanguage
	}
	d.Language = lang
	kind, addr := address(r.c.Channel, rd)
	d.Address = addr
	if addr == "" {
		return skip("no_address")
	}
	if reason, err := r.mayContact(ctx, tx, rd, kind, addr, ck); err != nil || reason != "" {
		if err != nil {
			return nil, err
		}
		return skip(reason)
	}
	if until := r.quietUntil(tx.Now(), rd.TimeZone); !until.IsZero() {
		return nil, tx.RequeueDelivery(ctx, d.ID, r.token, "quiet_hours", until)
	}
	if r.c.CouponBatchID > 0 {
		id, code, err := tx.NextCampaignCoupon(ctx, r.c.CouponBatchID)
		if crm.ErrorCode(err) == crm.ENOTFOUND {
			return skip("no_coupon_left")
		}
		if err != nil {
			return nil, err
		}
		if err := tx.SetDeliveryCoupon(ctx, d.ID, id, code); err != nil {
			return nil, err
		}
		d.CouponID, d.CouponCode = id, code
	}
	o := &outgoing{d: d}
	unsub := r.s.opts.BaseURL + "/c/u/" + r.signer.Token("u", d.ID)
	comp := r.compiled[lang]
	if d.Variant > 0 && d.Variant <= len(r.variants) {
		comp = r.variants[d.Variant-1][lang]
	}
	msg, err := comp.Render(DataFor(rd, lang, d.CouponCode, unsub))
	if err != nil {
		d.Status, d.Reason = crm.MessageFailed, "template: "+err.Error()
		_, err := tx.FinishDelivery(ctx, d, r.token)
		return nil, err
	}
	base := r.s.opts.BaseURL
	switch r.c.Channel {
	case ChannelEmail:
		from := r.c.FromAddress
		fromName := r.c.FromName
		if from == "" {
			from, fromName = r.st.FromAddress, r.st.FromName
		}
		e := &Email{FromName: fromName, FromAddress: from, To: addr, Subject: msg.Subject, Language: lang, Unsubscribe: unsub,
			MessageID: fmt.Sprintf("campaign-%d-%d.%s@%s", r.c.ID, d.ID, r.token[:8], domainOf(from))}
		if msg.HTML != "" {
			e.HTML = r.signer.TrackHTML(base, d.ID, msg.HTML)
		}
		if msg.Text != "" {
			e.Text = r.signer.TrackText(base, d.ID, msg.Text)
		}
		o.msg, o.subject = e.Build(), msg.Subject
	case ChannelSMS:
		o.text = r.signer.TrackText(base, d.ID, msg.SMS)
	}
	return o, nil
}

func domainOf(addr string) string {
	if _, d, ok := strings.Cut(addr, "@"); ok && d != "" {
		return d
	}
	return "localhost"
}

// mayContact is the check at the moment of sending: "" when the person
// may get this message, else the reason. ck holds what lookup read for
// the batch; nil reads it for this person.
func (r *sender) mayContact(ctx context.Context, tx *store.Tx, rd *crm.RecipientData, kind, addr string, ck *checks) (string, error) {
	for _, t := range rd.Tags {
		if strings.EqualFold(t, "do-not-contact") {
			return "do_not_contact", nil
		}
	}
	// An erased person's addresses are kept only as hashes (the contacts
	// module's suppressions).
	var (
		erased bool
		reason string
		err    error
	)
	if ck != nil {
		erased, reason = ck.erased[erasedHash(kind, addr)], ck.suppressed[addr]
	} else if erased, err = tx.IsSuppressed(ctx, erasedHash(kind, addr)); err == nil {
		reason, err = tx.CampaignSuppressed(ctx, r.c.Channel, addr)
	}
	switch {
	case err != nil:
		return "", err
	case erased:
		return "erased", nil
	case reason != "":
		return reason, nil
	}
	i := slices.IndexFunc(rd.Consents, func(x crm.Consent) bool { return x.Channel == r.c.Channel })
	switch {
	case i < 0:
		return "no_consent", nil
	case rd.Consents[i].Status != crm.ConsentGranted:
		return "consent_withdrawn", nil
	}
	if r.st.FrequencyCap > 0 {
		var n int
		if ck != nil {
			n = ck.sent[rd.ContactID]
		} else if n, err = tx.ContactCampaignsSince(ctx, rd.ContactID, r.capSince(tx)); err != nil {
			return "", err
		}
		if n >= r.st.FrequencyCap {
			return "frequency_cap", nil
		}
	}
	return "", nil
}

// quietUntil returns when quiet hours end if now is inside them in the
// person's time zone (their time_zone custom field, else the business's),
// zero otherwise.
func (r *sender) quietUntil(now time.Time, tz string) time.Time {
	return QuietUntil(now, r.zone(tz), r.st.QuietStart, r.st.QuietEnd)
}

func (r *sender) zone(tz string) *time.Location {
	if tz != "" {
		if l, err := time.LoadLocation(tz); err == nil {
			return l
		}
	}
	return r.tz
}

// QuietUntil returns the end of the quiet hours [start, end) that now
// falls in, in loc, or zero when now is outside them (start == end: none).
func QuietUntil(now time.Time, loc *time.Location, start, end int) time.Time {
	if start == end {
		return time.Time{}
	}
	l := now.In(loc)
	h := l.Hour()
	in := false
	if start < end {
		in = h >= start && h < end
	} else {
		in = h >= start || h < end
	}
	if !in {
		return time.Time{}
	}
	day := l
	if h >= end {
		day = l.AddDate(0, 0, 1)
	}
	return time.Date(day.Year(), day.Month(), day.Day(), end, 0, 0, 0, loc).UTC()
}

// deliver sends a batch over the pool, throttled.
func (r *sender) deliver(ctx context.Context, out []*outgoing) {
	work := make(chan *outgoing)
	var wg sync.WaitGroup
	for range min(r.workers, len(out)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range work {
				from := r.c.FromAddress
				if from == "" {
					from = r.st.FromAddress
				}
				if r.mailer != nil {
					o.err = r.mailer.Send(ctx, from, o.d.Address, o.msg)
				} else {
					o.err = r.sms.SendSMS(ctx, r.st.SMS.From, o.d.Address, o.text)
				}
			}
		}()
	}
	for _, o := range out {
		if r.limiter != nil {
			select {
			case <-r.limiter.C:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			o.err = ctx.Err()
			continue
		}
		work <- o
	}
	close(work)
	wg.Wait()
}

// record commits one outcome.
func (r *sender) record(ctx context.Context, tx *store.Tx, o *outgoing) error {
	d := o.d
	var se *SendError
	switch {
	case o.err == nil:
		d.Status, d.Reason = crm.MessageSent, ""
		until := tx.Now().AddDate(0, 0, r.c.AttributionDays)
		d.AttributionUntil = &until
	case errors.As(o.err, &se) && se.Permanent, jobs.IsPermanent(o.err):
		d.Status, d.Reason = crm.MessageFailed, truncate(o.err.Error(), 300)
		if se != nil && se.HardBounce() {
			now := tx.Now()
			d.BouncedAt = &now
		}
	default:
		// Connection trouble, a 4xx answer, shutdown: try this person
		// again later, up to 5 attempts.
		if d.Attempts < 5 {
			return tx.RequeueDelivery(ctx, d.ID, r.token, truncate(o.err.Error(), 300), tx.Now().Add(time.Duration(d.Attempts)*time.Minute))
		}
		d.Status, d.Reason = crm.MessageFailed, truncate(o.err.Error(), 300)
	}
	ok, err := tx.FinishDelivery(ctx, d, r.token)
	if err != nil || !ok {
		return err
	}
	if d.BouncedAt != nil {
		if err := tx.AddCampaignSuppression(ctx, r.c.Channel, d.Address, "hard_bounce", truncate(o.err.Error(), 300)); err != nil {
			return err
		}
		if _, err := tx.RecordCampaignEvent(ctx, d, "bounced", ""); err != nil {
			return err
		}
		return tx.Emit(ctx, &crm.Event{Type: "campaign.bounced", SubjectType: "campaign", SubjectID: r.c.ID, ContactID: d.ContactID,
			Payload: mustJSON(TimelinePayload{CampaignID: r.c.ID, Name: r.c.Name, Channel: r.c.Channel, DeliveryID: d.ID, Detail: d.Reason})})
	}
	if d.Status != crm.MessageSent {
		return nil
	}
	p := TimelinePayload{CampaignID: r.c.ID, Name: r.c.Name, Channel: r.c.Channel, DeliveryID: d.ID, Subject: o.subject}
	if r.c.AB != nil {
		p.Variant = VariantName(r.c.AB, d.Variant)
	}
	if r.c.Channel == ChannelSMS {
		p.Subject = truncate(o.text, 200)
	}
	return tx.Emit(ctx, &crm.Event{Type: "campaign.sent", SubjectType: "campaign", SubjectID: r.c.ID, ContactID: d.ContactID, Payload: mustJSON(p)})
}

// TimelinePayload is the payload of campaign.sent, campaign.opened,
// campaign.clicked, campaign.unsubscribed and campaign.bounced.
type TimelinePayload struct {
	CampaignID int64  `json:"campaign_id"`
	Name       string `json:"name"`
	Channel    string `json:"channel"`
	DeliveryID int64  `json:"delivery_id"`
	Subject    string `json:"subject,omitempty"` // the email's subject or the SMS text (≤ 200 characters)
	URL        string `json:"url,omitempty"`     // the link clicked
	Detail     string `json:"detail,omitempty"`  // a bounce's answer
	Variant    string `json:"variant,omitempty"` // the A/B test variant sent
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
