package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/idempotency"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// newClubEnv is newEnv with the club installed.
func newClubEnv(t *testing.T, db *store.DB) (*env, *club.Service) {
	t.Helper()
	ctx := context.Background()
	as := auth.New(db, auth.Options{})
	cs := contact.New(db, contact.Options{DefaultRegion: "IR"})
	acts := activity.New(db)
	cl := club.New(db, club.Options{Logger: slog.New(slog.DiscardHandler), Resolve: cs.ResolveCustomer})
	a, err := New(Options{Auth: as, Idempotency: idempotency.New(db), Contacts: cs, Activity: acts, Club: cl,
		Logger: slog.New(slog.DiscardHandler), Version: "test", MaxBodyBytes: 1 << 20, ImportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, auth: as, contacts: cs, activity: acts, api: a}
	e.admin, err = as.SetupFirstAdmin(ctx, crm.UserCreate{Email: "admin@example.com", Name: "Admin", Password: "correct horse battery", Role: crm.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	e.rw = e.mustToken(e.admin.ID, crm.ScopeRead, crm.ScopeWrite)
	e.ro = e.mustToken(e.admin.ID, crm.ScopeRead)
	e.doc, e.router = loadDoc(t, a.openapi)
	return e, cl
}

// TestClubOpenAPI: with the club installed every route is documented and
// answers 401 without a token.
func TestClubOpenAPI(t *testing.T) {
	e, _ := newClubEnv(t, storetest.Open(t, store.SQLite))
	n := 0
	for _, rt := range e.api.routes {
		if !strings.Contains(rt.path(), "/club") {
			continue
		}
		n++
		rel := strings.TrimPrefix(rt.path(), apiBase)
		item := e.doc.Paths.Value(rel)
		if item == nil || item.GetOperation(rt.method()) == nil {
			t.Errorf("%s is not documented", rt.pattern)
			continue
		}
		target := strings.NewReplacer("{id}", "1", "{tier_id}", "2", "{rule_id}", "3", "{number}", "1234").Replace(rt.path())
		if res := e.do(rt.method(), target, "", ""); res.Status != http.StatusUnauthorized {
			t.Errorf("%s %s without a token = %d", rt.method(), target, res.Status)
		}
	}
	if n < 30 {
		t.Fatalf("%d club routes", n)
	}
}

// TestClubAPI walks a member's life through the API: program, tiers,
// enrolment, points from an order event, adjustment, redemption with
// capture, coupon, report; each response is checked against the OpenAPI
// document by e.do.
func TestClubAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, cl := newClubEnv(t, db)
		d := event.NewDispatcher(db, slog.New(slog.DiscardHandler))
		cl.Subscribe(d)
		ok := func(res result, status int, v any) {
			t.Helper()
			if res.Status != status {
				t.Fatalf("status %d, want %d: %s", res.Status, status, res.Body)
			}
			if v != nil {
				res.JSON(t, v)
			}
		}
		var p club.Program
		ok(e.do("POST", "/api/v1/club/programs", e.rw, `{"name":"باشگاه","currency":"irr","earn_points":1,"earn_amount":10000,"rounding":"nearest",
			"pending_days":0,"expiry_months":12,"point_value":1000,"value_points":1}`), http.StatusCreated, &p)
		if p.Currency != "IRR" || !p.Active {
			t.Fatalf("program %+v", p)
		}
		// Bad input names each field.
		res := e.do("POST", "/api/v1/club/programs", e.rw, `{"name":"","currency":"rials","earn_points":0,"earn_amount":1,"rounding":"sideways"}`)
		pb := res.problem(t, http.StatusUnprocessableEntity)
		for _, f := range []string{"name", "currency", "earn_points", "rounding"} {
			if pb.field(f) == "" {
				t.Errorf("no error on %s: %+v", f, pb.Errors)
			}
		}
		ok(e.do("POST", fmt.Sprintf("/api/v1/club/programs/%d/tiers", p.ID), e.rw, `{"name":"Base","threshold":0,"multiplier":100}`), http.StatusCreated, nil)
		var gold club.Tier
		ok(e.do("POST", fmt.Sprintf("/api/v1/club/programs/%d/tiers", p.ID), e.rw, `{"name":"Gold","threshold":50000000,"multiplier":200}`), http.StatusCreated, &gold)
		ok(e.do("POST", fmt.Sprintf("/api/v1/club/programs/%d/rules", p.ID), e.rw, `{"name":"Welcome","kind":"first_purchase","value":100,"priority":5}`), http.StatusCreated, nil)
		var pd club.ProgramDetail
		ok(e.do("GET", fmt.Sprintf("/api/v1/club/programs/%d", p.ID), e.ro, ""), http.StatusOK, &pd)
		if len(pd.Tiers) != 2 || len(pd.Rules) != 1 {
			t.Fatalf("program detail %+v", pd)
		}

		var person crm.Contact
		ok(e.do("POST", "/api/v1/contacts", e.rw, `{"first_name":"سارا","last_name":"رضایی","language":"fa"}`), http.StatusCreated, &person)
		var enrolled club.Enrolled
		ok(e.do("POST", "/api/v1/club/members", e.rw, fmt.Sprintf(`{"program_id":%d,"contact_id":%d}`, p.ID, person.ID)), http.StatusCreated, &enrolled)
		m := enrolled.Member
		if m.EnrolledVia != club.ViaAPI || len(enrolled.Token) < 40 || len(m.Number) != 10 {
			t.Fatalf("enrolled %+v", enrolled)
		}
		res = e.do("POST", "/api/v1/club/members", e.rw, fmt.Sprintf(`{"program_id":%d,"contact_id":%d}`, p.ID, person.ID))
		res.problem(t, http.StatusConflict)

		// An order arrives as the orders module writes it.
		o := crm.Order{ID: 501, ContactID: person.ID, Currency: "IRR", Subtotal: 2_500_000, Total: 2_500_000, Status: crm.OrderPlaced}
		b, _ := json.Marshal(o)
		if err := db.Write(context.Background(), func(tx *store.Tx) error {
			return tx.Emit(context.Background(), &crm.Event{Type: crm.EventOrderCreated, SubjectType: "order", SubjectID: 501, ContactID: person.ID, Payload: b})
		}); err != nil {
			t.Fatal(err)
		}
		if err := d.Drain(context.Background()); err != nil {
			t.Fatal(err)
		}
		var md club.MemberDetail
		ok(e.do("GET", "/api/v1/club/member-numbers/"+strings.ReplaceAll(club.FormatNumber(m.Number), " ", "%20"), e.ro, ""), http.StatusOK, &md)
		if md.Member.Available != 250+100 || md.Name != "سارا رضایی" || md.Language != "fa" || md.NextTier == nil || md.NextTier.ID != gold.ID {
			t.Fatalf("member %+v", md)
		}
		var hist list[club.Entry]
		ok(e.do("GET", fmt.Sprintf("/api/v1/club/members/%d/history?limit=1", m.ID), e.ro, ""), http.StatusOK, &hist)
		if len(hist.Data) != 1 || hist.Next == nil {
			t.Fatalf("history page %+v", hist)
		}

		// Adjustments need a reason.
		res = e.do("POST", fmt.Sprintf("/api/v1/club/members/%d/adjustments", m.ID), e.rw, `{"points":50}`)
		if res.problem(t, http.StatusUnprocessableEntity).field("reason") == "" {
			t.Fatalf("no reason error: %s", res.Body)
		}
		var after club.Member
		ok(e.do("POST", fmt.Sprintf("/api/v1/club/members/%d/adjustments", m.ID), e.rw, `{"points":50,"reason":"جبران تاخیر"}`), http.StatusOK, &after)
		if after.Available != 400 {
			t.Fatalf("after adjustment %+v", after)
		}

		var rw club.Reward
		ok(e.do("POST", "/api/v1/club/rewards", e.rw, fmt.Sprintf(`{"program_id":%d,"name":"کارت هدیه","kind":"gift_card","value":1000000,"cost":300,"stock":1}`, p.ID)),
			http.StatusCreated, &rw)
		var rd club.Redemption
		ok(e.do("POST", "/api/v1/club/redemptions", e.rw, fmt.Sprintf(`{"member_id":%d,"reward_id":%d}`, m.ID, rw.ID)), http.StatusCreated, &rd)
		res = e.do("POST", "/api/v1/club/redemptions", e.rw, fmt.Sprintf(`{"member_id":%d,"reward_id":%d}`, m.ID, rw.ID))
		res.problem(t, http.StatusConflict) // out of stock (and short of points)
		ok(e.do("POST", fmt.Sprintf("/api/v1/club/redemptions/%d/capture", rd.ID), e.rw, ""), http.StatusOK, &rd)
		if rd.Status != club.RedemptionCaptured || !strings.HasPrefix(rd.CouponCode, "RW-") {
			t.Fatalf("captured %+v", rd)
		}

		var verdict club.CouponVerdict
		ok(e.do("POST", "/api/v1/club/coupons/validate", e.rw, fmt.Sprintf(`{"code":%q,"contact_id":%d,"amount":5000000,"currency":"IRR"}`, strings.ToLower(rd.CouponCode), person.ID)),
			http.StatusOK, &verdict)
		if !verdict.Valid || verdict.Discount != 1000000 {
			t.Fatalf("verdict %+v", verdict)
		}
		var use club.CouponUse
		ok(e.do("POST", "/api/v1/club/coupons/redeem", e.rw, fmt.Sprintf(`{"code":%q,"contact_id":%d,"amount":5000000,"currency":"IRR","reference":"pos:9"}`, rd.CouponCode, person.ID)),
			http.StatusCreated, &use)
		res = e.do("POST", "/api/v1/club/coupons/redeem", e.rw, fmt.Sprintf(`{"code":%q,"contact_id":%d,"amount":5000000,"currency":"IRR","reference":"pos:10"}`, rd.CouponCode, person.ID))
		if pb := res.problem(t, http.StatusConflict); pb.field("code") != "used_up" {
			t.Fatalf("second use: %+v", pb)
		}
		var batch club.CouponBatch
		ok(e.do("POST", "/api/v1/club/coupon-batches", e.rw, `{"name":"Nowruz","prefix":"NR-","count":25,"kind":"percent","value":10,"max_uses":1}`), http.StatusCreated, &batch)
		var codes list[club.Coupon]
		ok(e.do("GET", fmt.Sprintf("/api/v1/club/coupons?batch_id=%d&limit=500", batch.ID), e.ro, ""), http.StatusOK, &codes)
		if len(codes.Data) != 25 || !strings.HasPrefix(codes.Data[0].Code, "NR-") {
			t.Fatalf("batch codes %d", len(codes.Data))
		}

		var rep club.Report
		ok(e.do("GET", fmt.Sprintf("/api/v1/club/programs/%d/report", p.ID), e.ro, ""), http.StatusOK, &rep)
		if rep.Issued != 400 || rep.Redeemed != 300 || rep.Outstanding != 100 || rep.Value != 100_000 {
			t.Fatalf("report %+v", rep)
		}
		var chk ledgerCheck
		ok(e.do("GET", "/api/v1/club/check", e.ro, ""), http.StatusOK, &chk)
		if len(chk.Problems)+len(chk.Differences) > 0 {
			t.Fatalf("check %+v", chk)
		}
		var link pageLink
		ok(e.do("POST", fmt.Sprintf("/api/v1/club/members/%d/page-link", m.ID), e.rw, ""), http.StatusOK, &link)
		if !strings.HasPrefix(link.Path, "/m/") || link.Token == enrolled.Token {
			t.Fatalf("link %+v", link)
		}
		var memberships list[club.Member]
		ok(e.do("GET", fmt.Sprintf("/api/v1/contacts/%d/club", person.ID), e.ro, ""), http.StatusOK, &memberships)
		if len(memberships.Data) != 1 {
			t.Fatalf("memberships %+v", memberships)
		}
		// A read-only token cannot change anything.
		e.do("POST", fmt.Sprintf("/api/v1/club/members/%d/adjustments", m.ID), e.ro, `{"points":5,"reason":"x"}`).problem(t, http.StatusForbidden)
	})
}
