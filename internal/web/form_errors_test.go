package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// One submit shows every problem of a form: a value the form cannot read
// (a number, a date) is said together with what the service finds wrong
// with the rest, and nothing is stored.

func TestClubProgramFormShowsEveryError(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newClubApp(t, db)
		programs := func() int {
			t.Helper()
			ps, err := app.club.Programs(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return len(ps)
		}
		before := programs()
		c := signInAs(t, app.testApp, "admin@example.com", "en")
		f := url.Values{"name": {""}, "currency": {"xx"}, "earn_points": {"abc"}, "earn_amount": {"10000"}, "value_points": {"1"}, "active": {"on"}}
		r := c.send("/settings/club", f)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="pg-points-error"`, `id="pg-name-error"`, "A program needs a name.", `id="pg-currency-error"`,
			"Give an ISO 4217 currency code", `value="abc"`, `value="xx"`, `value="10000"`)
		// In Persian, with a number in Persian words, each message translated.
		fa := signInAs(t, app.testApp, "admin@example.com", "fa")
		f.Set("earn_points", "دو")
		r = fa.send("/settings/club", f)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="pg-points-error"`, `id="pg-name-error"`, `id="pg-currency-error"`, "این مقدار را بررسی کنید.", `value="دو"`)
		// Changing a program: the same.
		r = c.send("/settings/club/"+strconv.FormatInt(app.program.ID, 10), f)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="pg-points-error"`, `id="pg-name-error"`, `id="pg-currency-error"`)
		if n := programs(); n != before {
			t.Errorf("%d programs after failed forms, want %d", n, before)
		}
		if pd, err := app.club.Program(context.Background(), app.program.ID); err != nil || pd.Program.Name != app.program.Name || pd.Program.Currency != "IRR" {
			t.Errorf("the program changed: %+v %v", pd, err)
		}
	})
}

func TestClubTierFormShowsEveryError(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newClubApp(t, db)
		ctx := context.Background()
		before, err := app.club.Program(ctx, app.program.ID)
		if err != nil {
			t.Fatal(err)
		}
		path := "/settings/club/" + strconv.FormatInt(app.program.ID, 10) + "/tiers"
		c := signInAs(t, app.testApp, "admin@example.com", "en")
		// A threshold in words, with no name, a multiplier under 1× and a
		// negative fee: the form's own problem and the service's, at once.
		f := url.Values{"name": {""}, "threshold": {"abc"}, "multiplier": {"0.5"}, "fee": {"-5"}, "benefits": {"Free coffee"}}
		r := c.send(path, f)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="tr-threshold-error"`, `id="tr-name-error"`, "A tier needs a name.", `id="tr-mult-error"`,
			"The multiplier is in hundredths", `id="tr-fee-error"`, "The fee must not be negative.",
			`value="abc"`, `value="0.5"`, `value="-5"`, `value="Free coffee"`)
		// In Persian, with the threshold in Persian words, each message translated.
		fa := signInAs(t, app.testApp, "admin@example.com", "fa")
		f.Set("threshold", "دو")
		r = fa.send(path, f)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="tr-threshold-error"`, `id="tr-name-error"`, `id="tr-mult-error"`, `id="tr-fee-error"`,
			"این مقدار را بررسی کنید.", `value="دو"`)
		for _, en := range []string{"A tier needs a name.", "The fee must not be negative."} {
			if strings.Contains(r.body, en) {
				t.Errorf("the Persian form says %q in English", en)
			}
		}
		after, err := app.club.Program(ctx, app.program.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(after.Tiers) != len(before.Tiers) || after.Program.Version != before.Program.Version {
			t.Errorf("failed forms changed the program: %d tiers (was %d), version %d (was %d)",
				len(after.Tiers), len(before.Tiers), after.Program.Version, before.Program.Version)
		}
	})
}

func TestClubRuleFormShowsEveryError(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newClubApp(t, db)
		ctx := context.Background()
		before, err := app.club.Program(ctx, app.program.ID)
		if err != nil {
			t.Fatal(err)
		}
		path := "/settings/club/" + strconv.FormatInt(app.program.ID, 10) + "/rules"
		c := signInAs(t, app.testApp, "admin@example.com", "en")
		// A multiplier in words, with no name, a priority out of range and
		// an end before the start.
		f := url.Values{"name": {""}, "kind": {club.RuleMultiplier}, "value": {"abc"}, "priority": {"5000"}, "stacking": {club.StackingStack},
			"sku": {"TEA-1"}, "starts": {"2026-03-10"}, "ends": {"2026-03-01"}}
		r := c.send(path, f)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="rl-value-error"`, `id="rl-name-error"`, "A rule needs a name.", `id="rl-priority-error"`,
			"Priority is -1000 to 1000", `id="rl-ends-error"`, "The end must be after the start.",
			`value="abc"`, `value="5000"`, `value="TEA-1"`, `value="2026-03-10"`, `value="2026-03-01"`)
		// The end before the start is said at the end's field when the
		// rest is right, too, and nothing is stored.
		ok := url.Values{"name": {"Spring"}, "kind": {club.RuleBonus}, "value": {"20"}, "priority": {"1"}, "stacking": {club.StackingStack},
			"starts": {"2026-03-10"}, "ends": {"2026-03-01"}}
		r = c.send(path, ok)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="rl-ends-error"`, "The end must be after the start.", `value="Spring"`)
		// A date the form cannot read, with the service's problems.
		f.Set("value", "2")
		f.Set("starts", "soon")
		r = c.send(path, f)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="rl-starts-error"`, `id="rl-name-error"`, `id="rl-priority-error"`, `value="soon"`)
		// In Persian, a bonus in Persian words, each message translated.
		fa := signInAs(t, app.testApp, "admin@example.com", "fa")
		f.Set("kind", club.RuleBonus)
		f.Set("value", "دو")
		f.Set("starts", "")
		f.Set("ends", "")
		r = fa.send(path, f)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="rl-value-error"`, `id="rl-name-error"`, `id="rl-priority-error"`, "این مقدار را بررسی کنید.", `value="دو"`)
		for _, en := range []string{"A rule needs a name.", "Priority is -1000 to 1000"} {
			if strings.Contains(r.body, en) {
				t.Errorf("the Persian form says %q in English", en)
			}
		}
		after, err := app.club.Program(ctx, app.program.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(after.Rules) != len(before.Rules) || after.Program.Version != before.Program.Version {
			t.Errorf("failed forms changed the program: %d rules (was %d), version %d (was %d)",
				len(after.Rules), len(before.Rules), after.Program.Version, before.Program.Version)
		}
	})
}

func TestOrderFormShowsEveryError(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app, orders := newOrderTestApp(t, db)
		app.createUser("admin@example.com", crm.RoleAdmin)
		stored := func() (orderCount, people int) {
			t.Helper()
			os, _, err := orders.List(context.Background(), crm.OrderFilter{})
			if err != nil {
				t.Fatal(err)
			}
			cs, _, err := app.contacts.ListContacts(context.Background(), crm.ContactFilter{})
			if err != nil {
				t.Fatal(err)
			}
			return len(os), len(cs)
		}
		c := signInAs(t, app, "admin@example.com", "en")
		// A quantity in words, an unknown member number and a bad currency.
		f := url.Values{"customer": {"77777"}, "currency": {"XQQ"}, "channel": {"in_store"},
			"lines.0.name": {"Tea"}, "lines.0.quantity": {"two"}, "lines.0.unit_price": {"10"}}
		r := c.send("/orders", f)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="lines.0.quantity-error"`, "Write a whole number.", `id="currency-error"`, `id="customer-error"`,
			`value="two"`, `value="XQQ"`, `value="77777"`, `value="Tea"`)
		fa := signInAs(t, app, "admin@example.com", "fa")
		f.Set("lines.0.quantity", "دو")
		r = fa.send("/orders", f)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, "یک عدد صحیح بنویسید.", "مشتری را بررسی کنید: تلفن، ایمیل یا شمارهٔ عضویت.", "کد واحد پول را بنویسید، مانند IRR، USD یا EUR.")
		// A new customer by phone is looked up, not created, while the form
		// has a problem; a negative line discount is said with the quantity.
		f = url.Values{"customer": {"09351112233"}, "first_name": {"Nima"}, "currency": {"IRR"}, "date": {"not a date"},
			"lines.0.name": {"Tea"}, "lines.0.quantity": {"1"}, "lines.0.unit_price": {"10"}, "lines.0.discount": {"-5"}}
		r = c.send("/orders", f)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="date-error"`, `id="lines.0.discount-error"`, `value="09351112233"`, `value="Nima"`)
		if orderCount, people := stored(); orderCount != 0 || people != 0 {
			t.Errorf("failed forms stored %d orders and %d people", orderCount, people)
		}
	})
}

func TestDealFormShowsEveryError(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sa := newSalesTestApp(t, db)
		c, admin := sa.signedIn(t, "admin@example.com", crm.RoleAdmin, "en")
		mustStatus(t, c.post("/sales/pipelines/default", "/sales", nil), http.StatusSeeOther)
		ctx := crm.NewContextWithUser(context.Background(), admin)
		// A bad close date, a bad currency and a negative amount, at once.
		f := url.Values{"title": {"Office chairs"}, "expected_close": {"next week"}, "currency": {"ZZZ"}, "value": {"-5"}}
		r := c.send("/sales/deals", f)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="d-close-error"`, `id="d-currency-error"`, "is not an ISO 4217 currency code", `id="d-value-error"`,
			`value="next week"`, `value="ZZZ"`, `value="-5"`, `value="Office chairs"`)
		// An amount in words with the bad currency.
		f.Set("expected_close", "")
		f.Set("value", "abc")
		r = c.send("/sales/deals", f)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="d-value-error"`, "Write an amount", `id="d-currency-error"`)
		deals, _, _, err := sa.sales.ListDeals(ctx, crm.DealFilter{})
		if err != nil || len(deals) != 0 {
			t.Fatalf("failed forms stored deals: %d %v", len(deals), err)
		}
		// Changing a deal: the same, in Persian, and the deal unchanged.
		d := c.send("/sales/deals", url.Values{"title": {"Office chairs"}, "value": {"100"}})
		mustStatus(t, d, http.StatusSeeOther)
		if deals, _, _, err = sa.sales.ListDeals(ctx, crm.DealFilter{}); err != nil || len(deals) != 1 {
			t.Fatalf("deals: %d %v", len(deals), err)
		}
		fa, _ := sa.signedIn(t, "fa@example.com", crm.RoleAdmin, "fa")
		id := strconv.FormatInt(deals[0].ID, 10)
		r = fa.send("/sales/deals/"+id, url.Values{"title": {"Office chairs"}, "expected_close": {"دو"}, "currency": {"ریال"},
			"version": {strconv.FormatInt(deals[0].Version, 10)}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="d-close-error"`, "تاریخ را با سال در آغاز بنویسید", "کد واحد پولی مانند IRR، USD یا EUR بنویسید.", `value="دو"`, `value="ریال"`)
		if got, err := sa.sales.Deal(ctx, deals[0].ID); err != nil || got.Version != deals[0].Version || got.Currency != deals[0].Currency {
			t.Errorf("the deal changed: %+v %v", got, err)
		}
	})
}
