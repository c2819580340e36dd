package campaign

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
)

// A/B tests (docs/marketing.md, "A/B tests"). Variant A is the
// campaign's own content; the test's variants B, C, … replace some of its
// fields (the subject, a body) per language. When the audience is
// written, each person is placed by a hash of (campaign, person): inside
// the test share they get one of the variants, outside it they are held
// (status held) for the winner. After the test messages are sent, the
// job campaign.ab_decide runs WaitHours later, picks the variant with the
// best open rate, click rate or attributed revenue per message, and, when
// AutoSend, queues the held people with it. Held rows are the same
// delivery rows (one per campaign and person), claimed like any other
// once queued, so the test and the rest together still send each person
// at most one message.

// JobDecide is the job kind that picks an A/B test's winner.
const JobDecide = "campaign.ab_decide"

// ABMetrics are the metrics a winner may be picked by.
var ABMetrics = []string{crm.ABOpenRate, crm.ABClickRate, crm.ABRevenue}

// MaxVariants is how many variants a test may have besides A.
const MaxVariants = 4

// VariantName is the name of variant i of a campaign (A for 0).
func VariantName(ab *crm.ABTest, i int) string {
	if i > 0 && ab != nil && i <= len(ab.Variants) && ab.Variants[i-1].Name != "" {
		return ab.Variants[i-1].Name
	}
	if i >= 0 && i < 26 {
		return string(rune('A' + i))
	}
	return fmt.Sprint(i)
}

// Split places a person of a campaign's A/B test: the variant (0 = A),
// or -1 when the person is in the rest of the audience. It depends only
// on the campaign, the person and the test's settings, so it is the same
// whenever it is computed.
func Split(campaignID, contactID int64, ab *crm.ABTest) int {
	h := sha256.Sum256([]byte(fmt.Sprintf("pivand-ab:%d:%d", campaignID, contactID)))
	x := binary.BigEndian.Uint64(h[:8])
	if x%10000 >= uint64(ab.TestPercent)*100 {
		return -1
	}
	return int((x / 10000) % uint64(len(ab.Variants)+1))
}

// VariantContent is the content of variant v in lang: A's, with the
// variant's non-empty fields in place of A's.
func VariantContent(c *crm.Campaign, v int, lang string) crm.CampaignContent {
	return mergeContent(c.Content[lang], c.AB, v, lang)
}

func mergeContent(base crm.CampaignContent, ab *crm.ABTest, v int, lang string) crm.CampaignContent {
	if v <= 0 || ab == nil || v > len(ab.Variants) {
		return base
	}
	o := ab.Variants[v-1].Content[lang]
	if o.Subject != "" {
		base.Subject = o.Subject
	}
	if o.HTML != "" {
		base.HTML = o.HTML
	}
	if o.Text != "" {
		base.Text = o.Text
	}
	if o.SMS != "" {
		base.SMS = o.SMS
	}
	return base
}

// validateAB checks an A/B test's settings and its variants' templates.
func validateAB(in *Input, v *crm.Validation) {
	ab := in.AB
	if ab == nil {
		return
	}
	if n := len(ab.Variants); n < 1 || n > MaxVariants {
		v.Add("ab_test.variants", "Give from 1 to %d variants besides A.", MaxVariants)
	}
	if ab.TestPercent < 1 || ab.TestPercent > 100 {
		v.Add("ab_test.test_percent", "From 1 to 100 percent.")
	}
	if !slices.Contains(ABMetrics, ab.Metric) {
		v.Add("ab_test.metric", "Use open_rate, click_rate or revenue.")
	}
	if ab.WaitHours < 1 || ab.WaitHours > 720 {
		v.Add("ab_test.wait_hours", "From 1 to 720 hours.")
	}
	names := map[string]bool{"A": true}
	for i := range ab.Variants {
		vr := &ab.Variants[i]
		key := fmt.Sprintf("ab_test.variants[%d]", i)
		vr.Name = strings.TrimSpace(vr.Name)
		if vr.Name == "" {
			vr.Name = VariantName(nil, i+1)
		}
		if len([]rune(vr.Name)) > 40 || strings.ContainsAny(vr.Name, "\r\n") {
			v.Add(key+".name", "One line of at most 40 characters.")
		}
		if names[strings.ToLower(vr.Name)] || names[vr.Name] {
			v.Add(key+".name", "Two variants have this name.")
		}
		names[vr.Name], names[strings.ToLower(vr.Name)] = true, true
		if vr.Content == nil {
			vr.Content = map[string]crm.CampaignContent{}
		}
		changed := false
		for lang, c := range vr.Content {
			if _, ok := in.Content[lang]; !ok {
				v.Add(key+".content."+lang, "A has no content in this language.")
				continue
			}
			if c == (crm.CampaignContent{}) {
				delete(vr.Content, lang)
				continue
			}
			changed = true
			var tmp crm.Validation
			Compile(in.Channel, lang, mergeContent(in.Content[lang], in.AB, i+1, lang), &tmp)
			var ce *crm.Error
			if err := tmp.Err(); errors.As(err, &ce) {
				for f, msg := range ce.Fields {
					v.Add(key+"."+f, "%s", msg)
				}
			}
		}
		if !changed {
			v.Add(key+".content", "Change the subject or a body of A.")
		}
	}
}

// abEqual reports whether two tests have the same settings.
func abEqual(a, b *crm.ABTest) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// PickWinner returns the variant with the best metric among results of
// the test groups: the open or click rate of the messages sent, or the
// revenue per message sent in the currency that earned the most (amounts
// in different currencies are never added). A tie goes to the earlier
// variant, so a test where nothing happened keeps A.
func PickWinner(metric string, vs []crm.VariantResults) int {
	cur := ""
	if metric == crm.ABRevenue {
		totals := map[string]int64{}
		for _, v := range vs {
			for c, a := range v.Revenue {
				totals[c] += a
			}
		}
		keys := make([]string, 0, len(totals))
		for c := range totals {
			keys = append(keys, c)
		}
		sort.Strings(keys)
		for _, c := range keys {
			if cur == "" || totals[c] > totals[cur] {
				cur = c
			}
		}
	}
	best, bestScore := 0, -1.0
	for _, v := range slices.SortedFunc(slices.Values(vs), func(a, b crm.VariantResults) int { return a.Variant - b.Variant }) {
		score := 0.0
		if v.Sent > 0 {
			switch metric {
			case crm.ABOpenRate:
				score = float64(v.Opened) / float64(v.Sent)
			case crm.ABClickRate:
				score = float64(v.Clicked) / float64(v.Sent)
			case crm.ABRevenue:
				score = float64(v.Revenue[cur]) / float64(v.Sent)
			}
		}
		if score > bestScore {
			best, bestScore = v.Variant, score
		}
	}
	return best
}

// Significance tests whether best's open or click rate beats the
// runner-up's (the next best by the same rate) by more than chance: a
// pooled two-proportion z-test, two-sided. nil for the revenue metric
// (revenue per message has no binomial shape; its variance would need
// every order), with fewer than two variants, or when a group has
// nothing sent or the pooled rate is 0 or 1.
func Significance(metric string, vs []crm.VariantResults, best int) *crm.ABSignificance {
	if metric != crm.ABOpenRate && metric != crm.ABClickRate || len(vs) < 2 {
		return nil
	}
	hits := func(v crm.VariantResults) int64 {
		if metric == crm.ABOpenRate {
			return v.Opened
		}
		return v.Clicked
	}
	rate := func(v crm.VariantResults) float64 {
		if v.Sent == 0 {
			return -1
		}
		return float64(hits(v)) / float64(v.Sent)
	}
	var b, r *crm.VariantResults
	for i := range vs {
		v := &vs[i]
		if v.Variant == best {
			b = v
		} else if r == nil || rate(*v) > rate(*r) {
			r = v
		}
	}
	if b == nil || r == nil || b.Sent == 0 || r.Sent == 0 {
		return nil
	}
	n1, n2 := float64(b.Sent), float64(r.Sent)
	p1, p2 := float64(hits(*b))/n1, float64(hits(*r))/n2
	pool := float64(hits(*b)+hits(*r)) / (n1 + n2)
	se := math.Sqrt(pool * (1 - pool) * (1/n1 + 1/n2))
	if se == 0 {
		return nil
	}
	z := (p1 - p2) / se
	conf := 1 - math.Erfc(math.Abs(z)/math.Sqrt2)
	return &crm.ABSignificance{Best: b.Variant, RunnerUp: r.Variant, Z: z, Confidence: conf, Significant: z > 0 && conf >= 0.95}
}

// variantResults are the figures of each variant's test group.
func variantResults(ctx context.Context, tx *store.Tx, c *crm.Campaign) ([]crm.VariantResults, error) {
	counts, err := tx.CampaignVariantCounts(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	rev, err := tx.CampaignRevenue(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	out := make([]crm.VariantResults, len(c.AB.Variants)+1)
	for i := range out {
		out[i] = crm.VariantResults{Variant: i, Name: VariantName(c.AB, i), Revenue: map[string]int64{}, Winner: i == c.ABWinner}
	}
	for _, x := range counts {
		if x.Variant >= 0 && x.Variant < len(out) {
			v := &out[x.Variant]
			v.Audience, v.Sent, v.Opened, v.Clicked = x.Audience, x.Sent, x.Opened, x.Clicked
		}
	}
	for _, x := range rev {
		if !x.Rest && x.Variant >= 0 && x.Variant < len(out) {
			out[x.Variant].Orders += x.Orders
			out[x.Variant].Revenue[x.Currency] += x.Amount
		}
	}
	for i := range out {
		if s := out[i].Sent; s > 0 {
			out[i].OpenRate = float64(out[i].Opened) / float64(s)
			out[i].ClickRate = float64(out[i].Clicked) / float64(s)
		}
	}
	return out, nil
}

// testSent is called in the sender's last transaction when nothing is
// left to send: on an A/B test whose winner is not chosen yet it
// schedules the decision (once) and, when people are held for the
// winner, sets the campaign waiting. done says whether the campaign is
// finished.
func (s *Service) testSent(ctx context.Context, tx *store.Tx, c *crm.Campaign) (done bool, err error) {
	if c.AB == nil {
		return true, nil
	}
	if c.ABWinner < 0 && c.ABDecideAt == nil {
		at := tx.Now().Add(time.Duration(c.AB.WaitHours) * time.Hour)
		if err := tx.SetCampaignABDecideAt(ctx, c.ID, at); err != nil {
			return false, err
		}
		if _, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobDecide, Payload: sendPayload{CampaignID: c.ID}, RunAt: at,
			UniqueKey: fmt.Sprintf("campaign-ab-decide:%d", c.ID)}); err != nil {
			return false, err
		}
	}
	held, err := tx.CampaignHeld(ctx, c.ID)
	if err != nil || held == 0 {
		return err == nil, err
	}
	if err := tx.SetCampaignStatus(ctx, c.ID, crm.CampaignWaiting); err != nil {
		return false, err
	}
	return false, tx.Emit(ctx, &crm.Event{Type: "campaign.test_sent", SubjectType: "campaign", SubjectID: c.ID,
		Payload: mustJSON(map[string]any{"id": c.ID, "held": held})})
}

// decide is the job JobDecide: it picks the winner of a test that has
// none yet and, when the test says so, sends it to the rest.
func (s *Service) decide(ctx context.Context, id int64) error {
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		c, err := tx.FindCampaign(ctx, id, true)
		if err != nil {
			return err
		}
		if c.AB == nil || c.ABWinner >= 0 || c.Status == crm.CampaignCancelled {
			return nil
		}
		vs, err := variantResults(ctx, tx, c)
		if err != nil {
			return err
		}
		return s.chooseWinner(ctx, tx, c, PickWinner(c.AB.Metric, vs), c.AB.AutoSend, "auto", vs)
	})
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return jobs.Permanent(err)
	}
	return err
}

// chooseWinner records the winner (once) and, with send, queues the held
// people with variant v.
func (s *Service) chooseWinner(ctx context.Context, tx *store.Tx, c *crm.Campaign, v int, send bool, by string, vs []crm.VariantResults) error {
	if c.ABWinner < 0 {
		ok, err := tx.SetCampaignABWinner(ctx, c.ID, v)
		if err != nil {
			return err
		}
		if ok {
			if err := tx.Audit(ctx, "campaign.ab_winner", "campaign", c.ID, nil,
				map[string]any{"variant": v, "name": VariantName(c.AB, v), "by": by, "results": vs}); err != nil {
				return err
			}
			if err := tx.Emit(ctx, &crm.Event{Type: "campaign.ab_decided", SubjectType: "campaign", SubjectID: c.ID,
				Payload: mustJSON(map[string]any{"id": c.ID, "variant": v, "name": VariantName(c.AB, v), "metric": c.AB.Metric, "by": by})}); err != nil {
				return err
			}
			c.ABWinner = v
		}
	}
	if !send || c.Status != crm.CampaignWaiting {
		return nil
	}
	n, err := tx.ReleaseHeldDeliveries(ctx, c.ID, v)
	if err != nil {
		return err
	}
	if err := tx.SetCampaignStatus(ctx, c.ID, crm.CampaignSending); err != nil {
		return err
	}
	if err := tx.Audit(ctx, "campaign.ab_send_rest", "campaign", c.ID, nil, map[string]any{"variant": v, "people": n, "by": by}); err != nil {
		return err
	}
	_, err = jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobSend, Payload: sendPayload{CampaignID: c.ID}, MaxAttempts: 1000})
	return err
}

// SendRest sends variant v of a waiting A/B test to the rest of its
// audience now. When no winner was picked yet, v becomes the winner
// (picked by hand).
func (s *Service) SendRest(ctx context.Context, id int64, v int) (*crm.Campaign, error) {
	return s.change(ctx, id, func(tx *store.Tx, c *crm.Campaign) error {
		if c.AB == nil {
			return crm.Errorf(crm.ECONFLICT, "This campaign is not an A/B test.")
		}
		if c.Status != crm.CampaignWaiting {
			return crm.Errorf(crm.ECONFLICT, "Only a test waiting for its winner can be sent to the rest; this campaign is %s.", c.Status)
		}
		if v < 0 || v > len(c.AB.Variants) {
			return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.",
				Fields: map[string]string{"variant": fmt.Sprintf("Use a variant from 0 (A) to %d.", len(c.AB.Variants))}}
		}
		var vs []crm.VariantResults
		if c.ABWinner < 0 {
			var err error
			if vs, err = variantResults(ctx, tx, c); err != nil {
				return err
			}
		}
		return s.chooseWinner(ctx, tx, c, v, true, "manual", vs)
	})
}
