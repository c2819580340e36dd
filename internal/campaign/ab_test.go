package campaign_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/campaign"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

func abInput(auto bool) campaign.Input {
	return campaign.Input{Name: "Test", Channel: campaign.ChannelEmail, Content: welcome,
		AB: &crm.ABTest{Variants: []crm.ABVariant{{Content: map[string]crm.CampaignContent{"en": {Subject: "Last days, {{.FirstName}}"}}}},
			TestPercent: 40, Metric: crm.ABClickRate, WaitHours: 2, AutoSend: auto}}
}

// subjectOf is the variant a message's subject shows.
func subjectOf(msg string) string {
	switch {
	case strings.Contains(msg, "Subject: Last days"):
		return "B"
	case strings.Contains(msg, "Subject: Spring sale"):
		return "A"
	}
	return "?"
}

// TestABTest sends a test to 40% of the audience split between A and B,
// clicks in B, lets the decision job pick B after the wait and send it
// to the rest: one message per person in all, the variant recorded on
// each delivery and in the message, results per variant.
func TestABTest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, campaign.Options{})
		const n = 60
		ids := make([]int64, n)
		for i := range ids {
			ids[i] = f.person(fmt.Sprintf("P%d", i), fmt.Sprintf("p%d@example.com", i), "", "en", nil, "email")
		}
		c, err := f.svc.Create(sys, abInput(true))
		if err != nil {
			t.Fatal(err)
		}
		if c.AB == nil || c.AB.Variants[0].Name != "B" || c.ABWinner != -1 {
			t.Fatalf("created %+v", c)
		}
		if _, err := f.svc.Start(sys, c.ID); err != nil {
			t.Fatal(err)
		}
		f.drain(5)
		got, _ := f.svc.Get(sys, c.ID)
		if got.Status != crm.CampaignWaiting || got.ABDecideAt == nil {
			t.Fatalf("after the test: %s %v", got.Status, got.ABDecideAt)
		}
		ds := f.deliveries(c.ID)
		test, held := 0, 0
		for _, id := range ids {
			d := ds[id]
			want := campaign.Split(c.ID, id, c.AB)
			switch {
			case want < 0:
				held++
				if d.Status != crm.MessageHeld || !d.ABRest || d.Variant != -1 {
					t.Errorf("held person %d: %+v", id, d)
				}
			default:
				test++
				if d.Status != crm.MessageSent || d.Variant != want || d.ABRest || d.AttributionUntil == nil {
					t.Errorf("test person %d: %+v, want variant %d", id, d, want)
				}
				if v := subjectOf(f.sink.message(d.Address)); v != campaign.VariantName(c.AB, want) {
					t.Errorf("%s got variant %s, recorded %d", d.Address, v, d.Variant)
				}
			}
		}
		if test == 0 || held == 0 || f.sink.total() != test {
			t.Fatalf("test %d, held %d, sent %d", test, held, f.sink.total())
		}
		// Two clicks in B, none in A.
		clicks := 0
		err = db.Write(sys, func(tx *store.Tx) error {
			for _, d := range ds {
				if d.Variant == 1 && !d.ABRest && clicks < 2 {
					if _, err := tx.RecordCampaignEvent(sys, d, "clicked", "https://shop.example/"); err != nil {
						return err
					}
					clicks++
				}
			}
			return nil
		})
		if err != nil || clicks != 2 {
			t.Fatalf("clicks %d: %v", clicks, err)
		}
		// A person of B orders after the message: B's revenue, in its currency.
		var buyer *crm.CampaignDelivery
		for _, d := range ds {
			if d.Variant == 1 && !d.ABRest {
				buyer = d
				break
			}
		}
		err = db.Write(sys, func(tx *store.Tx) error {
			at := f.now.Add(time.Hour)
			_, err := tx.Exec(sys, `INSERT INTO orders (contact_id, status, currency, subtotal, total, channel, placed_at, created_at, updated_at)
				VALUES (?, 'placed', 'EUR', 4200, 4200, 'web', ?, ?, ?)`, buyer.ContactID, at, at, at)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		r, _ := f.svc.Results(sys, c.ID)
		if r.Variants[1].Revenue["EUR"] != 4200 || r.Variants[1].Orders != 1 || len(r.Variants[0].Revenue) != 0 || r.Revenue["EUR"] != 4200 {
			t.Errorf("revenue per variant: %+v", r.Variants)
		}
		if r.Held != int64(held) || len(r.Variants) != 2 || r.Variants[1].Clicked != 2 || r.Variants[0].Clicked != 0 ||
			r.Variants[0].Audience+r.Variants[1].Audience != int64(test) || r.Sent+r.Held != n {
			t.Fatalf("results while waiting %+v", r)
		}
		// A variant that does not exist is refused.
		if _, err := f.svc.SendRest(sys, c.ID, 5); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("variant 5: %v", err)
		}
		// The wait ends: the job picks B and sends it to the rest.
		f.advance(2 * time.Hour)
		f.drain(10)
		got, _ = f.svc.Get(sys, c.ID)
		if got.Status != crm.CampaignDone || got.ABWinner != 1 || got.ABDecidedAt == nil {
			t.Fatalf("after the decision: %s winner %d", got.Status, got.ABWinner)
		}
		ds = f.deliveries(c.ID)
		for _, id := range ids {
			d := ds[id]
			if c := f.sink.count(d.Address); c != 1 || d.Status != crm.MessageSent {
				t.Errorf("%s: %d messages, %s", d.Address, c, d.Status)
			}
			if d.ABRest && (d.Variant != 1 || subjectOf(f.sink.message(d.Address)) != "B") {
				t.Errorf("rest %s got variant %d", d.Address, d.Variant)
			}
		}
		r, _ = f.svc.Results(sys, c.ID)
		if r.Sent != n || r.Held != 0 || !r.Variants[1].Winner || r.Variants[0].Winner || r.Variants[0].Audience+r.Variants[1].Audience != int64(test) {
			t.Errorf("final results %+v", r)
		}
		if _, err := f.svc.SendRest(sys, c.ID, 0); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Errorf("send rest of a done campaign: %v", err)
		}
	})
}

// TestABManual: without automatic sending the test waits with its winner
// picked; sending A to the rest by hand, or cancelling, ends it. An A/B
// test of a started campaign cannot change.
func TestABManual(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, campaign.Options{})
		for i := range 30 {
			f.person(fmt.Sprintf("P%d", i), fmt.Sprintf("p%d@example.com", i), "", "en", nil, "email")
		}
		mk := func() *crm.Campaign {
			c, err := f.svc.Create(sys, abInput(false))
			if err != nil {
				t.Fatal(err)
			}
			f.svc.Start(sys, c.ID)
			f.drain(3)
			return c
		}
		c := mk()
		f.advance(3 * time.Hour)
		f.drain(3)
		got, _ := f.svc.Get(sys, c.ID)
		if got.Status != crm.CampaignWaiting || got.ABWinner != 0 {
			t.Fatalf("no clicks, no auto send: %s winner %d", got.Status, got.ABWinner)
		}
		if _, err := f.svc.SendRest(sys, c.ID, 0); err != nil {
			t.Fatal(err)
		}
		f.drain(5)
		r, _ := f.svc.Results(sys, c.ID)
		if r.Sent != 30 || r.Held != 0 {
			t.Errorf("after sending A to the rest: %+v", r)
		}
		// A second test is cancelled while it waits: the rest is skipped.
		c2 := mk()
		if _, err := f.svc.Cancel(sys, c2.ID); err != nil {
			t.Fatal(err)
		}
		r, _ = f.svc.Results(sys, c2.ID)
		if r.Held != 0 || r.SkipReasons["cancelled"] == 0 || r.Sent+r.Skipped != 30 {
			t.Errorf("cancelled test: %+v", r)
		}
		f.advance(3 * time.Hour)
		f.drain(3)
		if got, _ := f.svc.Get(sys, c2.ID); got.ABWinner != -1 || got.Status != crm.CampaignCancelled {
			t.Errorf("a cancelled test got a winner: %+v", got)
		}
		// Invalid tests name their fields.
		in := abInput(false)
		in.AB.TestPercent, in.AB.Metric, in.AB.WaitHours = 0, "likes", 0
		in.AB.Variants = append(in.AB.Variants, crm.ABVariant{Name: "B"}, crm.ABVariant{Content: map[string]crm.CampaignContent{"en": {Subject: "{{.Nope}}"}, "ar": {Subject: "x"}}})
		_, err := f.svc.Create(sys, in)
		var e *crm.Error
		if !asError(err, &e) {
			t.Fatalf("invalid test: %v", err)
		}
		for _, k := range []string{"ab_test.test_percent", "ab_test.metric", "ab_test.wait_hours", "ab_test.variants[1].name",
			"ab_test.variants[1].content", "ab_test.variants[2].content.en.subject", "ab_test.variants[2].content.ar"} {
			if e.Fields[k] == "" {
				t.Errorf("no error for %s: %v", k, e.Fields)
			}
		}
	})
}

// TestSplit: the split is stable and near the test share.
func TestSplit(t *testing.T) {
	ab := &crm.ABTest{Variants: []crm.ABVariant{{}, {}}, TestPercent: 30}
	counts := map[int]int{}
	for id := int64(1); id <= 30000; id++ {
		v := campaign.Split(7, id, ab)
		if v != campaign.Split(7, id, ab) {
			t.Fatal("not deterministic")
		}
		counts[v]++
	}
	if rest := counts[-1]; rest < 20500 || rest > 21500 {
		t.Errorf("rest %d of 30000, want about 21000", rest)
	}
	for v := range 3 {
		if counts[v] < 2700 || counts[v] > 3300 {
			t.Errorf("variant %d: %d, want about 3000", v, counts[v])
		}
	}
	ab.TestPercent = 100
	for id := int64(1); id <= 1000; id++ {
		if campaign.Split(7, id, ab) < 0 {
			t.Fatal("a 100% test held someone")
		}
	}
}

// TestPickWinner: rates of sent, revenue per message in the currency
// that earned most, ties to the earlier variant.
func TestPickWinner(t *testing.T) {
	vs := []crm.VariantResults{
		{Variant: 0, Sent: 100, Opened: 30, Clicked: 5, Revenue: map[string]int64{"IRR": 9_000_000, "USD": 100}},
		{Variant: 1, Sent: 50, Opened: 20, Clicked: 2, Revenue: map[string]int64{"IRR": 6_000_000, "USD": 90000}},
		{Variant: 2, Sent: 0},
	}
	for metric, want := range map[string]int{crm.ABOpenRate: 1, crm.ABClickRate: 0, crm.ABRevenue: 1} {
		if got := campaign.PickWinner(metric, vs); got != want {
			t.Errorf("%s: %d, want %d", metric, got, want)
		}
	}
	if got := campaign.PickWinner(crm.ABOpenRate, []crm.VariantResults{{Variant: 1, Sent: 10}, {Variant: 0, Sent: 10}}); got != 0 {
		t.Errorf("a tie went to %d", got)
	}
}

// TestSignificance against figures worked by hand: 250/1000 against
// 200/1000 opens is z = 0.05 / sqrt(0.225 × 0.775 × 0.002) = 2.677, two-sided
// p = 0.0074; the same rates over 100 messages each give z = 0.847,
// p = 0.397.
func TestSignificance(t *testing.T) {
	big := []crm.VariantResults{{Variant: 0, Sent: 1000, Opened: 200, Clicked: 1}, {Variant: 1, Sent: 1000, Opened: 250, Clicked: 1},
		{Variant: 2, Sent: 1000, Opened: 100}}
	s := campaign.Significance(crm.ABOpenRate, big, 1)
	if s == nil || s.Best != 1 || s.RunnerUp != 0 || math.Abs(s.Z-2.677) > 0.001 || math.Abs(s.Confidence-0.9926) > 0.0005 || !s.Significant {
		t.Errorf("1,000 each: %+v", s)
	}
	small := []crm.VariantResults{{Variant: 0, Sent: 100, Opened: 20}, {Variant: 1, Sent: 100, Opened: 25}}
	s = campaign.Significance(crm.ABOpenRate, small, 1)
	if s == nil || math.Abs(s.Z-0.8467) > 0.001 || math.Abs(s.Confidence-0.603) > 0.001 || s.Significant {
		t.Errorf("100 each: %+v", s)
	}
	// A winner chosen against the figures is not significantly better.
	if s = campaign.Significance(crm.ABOpenRate, small, 0); s == nil || s.Z >= 0 || s.Significant {
		t.Errorf("the worse one as best: %+v", s)
	}
	for name, c := range map[string]struct {
		metric string
		vs     []crm.VariantResults
	}{
		"revenue":      {crm.ABRevenue, big},
		"one variant":  {crm.ABOpenRate, big[:1]},
		"nothing sent": {crm.ABOpenRate, []crm.VariantResults{{Variant: 0, Sent: 10, Opened: 1}, {Variant: 1}}},
		"no opens":     {crm.ABOpenRate, []crm.VariantResults{{Variant: 0, Sent: 10}, {Variant: 1, Sent: 10}}},
	} {
		if s := campaign.Significance(c.metric, c.vs, 0); s != nil {
			t.Errorf("%s: %+v, want none", name, s)
		}
	}
}

func asError(err error, e **crm.Error) bool { return errors.As(err, e) }
