package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// clubApp is the web UI with the club installed, a program with tiers, a
// rule and a reward, and a member with points.
type clubApp struct {
	*testApp
	club    *club.Service
	program *club.Program
	member  *club.Member
	token   string
	reward  *club.Reward
}

func newClubApp(t *testing.T, db *store.DB) *clubApp {
	t.Helper()
	ctx := context.Background()
	a := &testApp{t: t, auth: auth.New(db, auth.Options{}), contacts: contact.New(db, contact.Options{DefaultRegion: "IR"}), activity: activity.New(db)}
	cl := club.New(db, club.Options{Logger: slog.New(slog.DiscardHandler), Resolve: a.contacts.ResolveCustomer})
	h, err := New(Options{Auth: a.auth, Contacts: a.contacts, Activity: a.activity, Club: cl, Version: "test", ImportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a.srv = httptest.NewServer(h)
	t.Cleanup(a.srv.Close)
	a.createUser("admin@example.com", crm.RoleAdmin)
	a.createUser("support@example.com", crm.RoleSupport)
	ca := &clubApp{testApp: a, club: cl}
	ca.program, err = cl.CreateProgram(ctx, club.ProgramInput{Name: "باشگاه مهر", Currency: "IRR", EarnPoints: 1, EarnAmount: 10_000, PendingDays: 14,
		ExpiryMonths: 12, ReminderDays: 30, PointValue: 1000, ValuePoints: 1, ReferrerPoints: 100, RefereePoints: 50, Downgrade: club.DowngradeWindowEnd, GraceDays: 30,
		Signup: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []club.TierInput{{Name: "نقره‌ای", Threshold: 0, Multiplier: 100},
		{Name: "طلایی", Threshold: 100_000_000, Multiplier: 200, Benefits: "ارسال رایگان", Fee: 5_000_000}} {
		if _, err := cl.SaveTier(ctx, ca.program.ID, 0, in); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cl.SaveRule(ctx, ca.program.ID, 0, club.RuleInput{Name: "خوش‌آمد", Kind: club.RuleFirstPurchase, Value: 100}); err != nil {
		t.Fatal(err)
	}
	if ca.reward, err = cl.CreateReward(ctx, club.RewardInput{ProgramID: ca.program.ID, Name: "کارت هدیه", Kind: club.RewardGiftCard, Value: 500_000, Cost: 200}); err != nil {
		t.Fatal(err)
	}
	p, err := a.contacts.CreateContact(ctx, &crm.Contact{FirstName: "مریم", LastName: "احمدی", Language: "fa"}, true)
	if err != nil {
		t.Fatal(err)
	}
	e, err := cl.Enrol(ctx, club.Enrolment{ProgramID: ca.program.ID, ContactID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	ca.member, ca.token = e.Member, e.Token
	// Two orders: one old (points available), one new (pending).
	d := event.NewDispatcher(db, slog.New(slog.DiscardHandler))
	cl.Subscribe(d)
	for i, placed := range []time.Time{time.Now().AddDate(0, -1, 0), time.Now()} {
		o := crm.Order{ID: int64(900 + i), ContactID: p.ID, Currency: "IRR", Subtotal: 5_000_000, Total: 5_000_000, PlacedAt: placed}
		b, _ := json.Marshal(o)
		if err := db.Write(ctx, func(tx *store.Tx) error {
			return tx.Emit(ctx, &crm.Event{Type: crm.EventOrderCreated, SubjectType: "order", SubjectID: o.ID, ContactID: p.ID, Payload: b})
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateBatch(ctx, club.BatchInput{Name: "نوروز", Prefix: "NR-", Count: 3, CouponInput: club.CouponInput{Kind: club.CouponPercent, Value: 10, MaxUses: 1}}); err != nil {
		t.Fatal(err)
	}
	return ca
}

// clubPages renders every club page in lang with an admin signed in, for
// the every-page-every-language checks, with the page each should be.
func clubPages(t *testing.T, app *clubApp, lang string) []pageResponse {
	t.Helper()
	mid := strconv.FormatInt(app.member.ID, 10)
	pid := strconv.FormatInt(app.program.ID, 10)
	c := app.client(t)
	c.signIn("admin@example.com")
	mustStatus(t, c.post("/settings/preferences", "/settings/preferences", url.Values{"language": {lang},
		"calendar": {"jalali"}, "digits": {"persian"}, "time_zone": {"Asia/Tehran"}}), http.StatusSeeOther)
	var out []pageResponse
	for _, path := range []string{"/club", "/club?q=" + url.QueryEscape(app.member.Number), "/club/members/" + mid,
		"/club/rewards", "/club/coupons", "/club/coupons?batch=1", "/club/reports", "/settings/club", "/settings/club/" + pid,
		"/join/" + pid + "?lang=" + lang} {
		out = append(out, pageResponse{path, c.get(path)})
	}
	// Forms that fail show again with the errors.
	out = append(out, pageResponse{"POST adjust without reason", c.post("/club/members/"+mid+"/adjust", "/club/members/"+mid, url.Values{"points": {"5"}})})
	out = append(out, pageResponse{"POST bad program", c.post("/settings/club", "/settings/club", url.Values{"name": {""}, "currency": {"xx"}})})
	out = append(out, pageResponse{"POST coupon check", c.post("/club/coupons/check", "/club/coupons", url.Values{"code": {"NOPE"}, "amount": {"1000"}, "currency": {"IRR"}})})
	out = append(out, pageResponse{"POST enrol nobody", c.post("/club/members", "/club", url.Values{"program_id": {pid}, "person": {"Ali"}})})
	out = append(out, pageResponse{"POST join without a phone", c.post("/join/"+pid+"?lang="+lang, "/join/"+pid+"?lang="+lang, url.Values{"first_name": {"Ali"}})})
	return out
}

// TestClubPagesEveryLanguage renders every club page in each language:
// no missing catalog key, the right direction, the page itself, and the
// status each should answer.
func TestClubPagesEveryLanguage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newClubApp(t, db)
		pageOf := map[string]string{"/club": "club_members", "/club/members/": "club_member", "/club/rewards": "club_rewards",
			"/club/coupons": "club_coupons", "/club/reports": "club_reports", "/settings/club": "club_settings", "/settings/club/": "club_program",
			"POST adjust without reason": "club_member", "POST bad program": "club_settings", "POST coupon check": "club_coupons",
			"POST enrol nobody": "club_members", "POST join without a phone": "club_join", "/join/": "club_join"}
		for _, l := range locale.Languages {
			t.Run(l.Code, func(t *testing.T) {
				for _, pr := range clubPages(t, app, l.Code) {
					want, page := http.StatusOK, ""
					switch {
					case strings.HasPrefix(pr.path, "POST"):
						page = pageOf[pr.path]
						if pr.path != "POST coupon check" {
							want = http.StatusUnprocessableEntity
						}
					default:
						p, _, _ := strings.Cut(pr.path, "?")
						if page = pageOf[p]; page == "" {
							page = pageOf[strings.TrimRight(p, "0123456789")]
						}
					}
					mustStatus(t, pr.r, want)
					clubPageCheck(t, l, pr.path, page, pr.r)
					if pr.path == "POST coupon check" {
						mustContain(t, pr.r, app.message(l.Code, "club.coupon.reason.unknown"))
					}
				}
			})
		}
	})
}

func (a *clubApp) message(lang, key string) string {
	m, _ := locale.Message(lang, key)
	return m
}

func clubPageCheck(t *testing.T, l locale.Language, path, page string, r response) {
	t.Helper()
	if i := strings.Index(r.body, locale.MissingMark); i >= 0 {
		t.Errorf("%s %s: missing catalog key near %q", l.Code, path, r.body[i:min(len(r.body), i+60)])
	}
	mustContain(t, r, `<html lang="`+l.Code+`" dir="`+l.Dir+`">`, `data-page="`+page+`"`)
}

// TestClubMemberPage: the member's private page needs no sign-in, is in
// the person's language (Persian here, right to left), shows the card
// with its QR code, the points and the rewards, and an unknown or
// replaced token finds nothing.
func TestClubMemberPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newClubApp(t, db)
		visitor := app.client(t)
		r := visitor.get("/m/" + app.token)
		mustStatus(t, r, http.StatusOK)
		clubPageCheck(t, locale.Languages[1], "/m/", "club_card", r)
		mustContain(t, r, "مریم احمدی", "<svg", club.FormatNumber(app.member.CardCode), "کارت هدیه", "باشگاه مهر",
			"/join/"+strconv.FormatInt(app.program.ID, 10)+"?ref="+app.member.ReferralCode)
		if got := r.header.Get("X-Robots-Tag"); !strings.Contains(got, "noindex") {
			t.Errorf("X-Robots-Tag %q", got)
		}
		if strings.Contains(r.body, `action="/signout"`) || strings.Contains(r.body, "/club/members/") {
			t.Error("the member page shows staff links")
		}
		// The visitor's own choice of language wins.
		visitor.post("/language", "/signin", url.Values{"lang": {"ar"}, "next": {"/m/" + app.token}})
		clubPageCheck(t, locale.Languages[2], "/m/ in ar", "club_card", visitor.get("/m/"+app.token))
		qr := visitor.get("/m/" + app.token + "/qr.svg")
		mustStatus(t, qr, http.StatusOK)
		if ct := qr.header.Get("Content-Type"); ct != "image/svg+xml" || !strings.HasPrefix(qr.body, "<svg") {
			t.Fatalf("QR %q %.40s", ct, qr.body)
		}
		mustStatus(t, visitor.get("/m/"+strings.Repeat("A", 43)), http.StatusNotFound)
		mustStatus(t, visitor.get("/m/short"), http.StatusNotFound)
		// A new link ends the old one.
		if _, err := app.club.NewPageLink(context.Background(), app.member.ID); err != nil {
			t.Fatal(err)
		}
		mustStatus(t, visitor.get("/m/"+app.token), http.StatusNotFound)
	})
}

// TestClubStaffFlow: enrol, adjust, redeem and give a reward, through the
// forms; a support user may do it, reports need reports:read.
func TestClubStaffFlow(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	app := newClubApp(t, db)
	c := app.client(t)
	c.signIn("support@example.com")
	p, err := app.contacts.CreateContact(context.Background(), &crm.Contact{FirstName: "Ali", Language: "en"}, true)
	if err != nil {
		t.Fatal(err)
	}
	r := c.post("/club/members", "/club", url.Values{"program_id": {strconv.FormatInt(app.program.ID, 10)}, "person": {strconv.FormatInt(p.ID, 10)},
		"referral_code": {app.member.ReferralCode}})
	mustStatus(t, r, http.StatusOK)
	mustContain(t, r, "/m/", "Ali")
	if m := regexp.MustCompile(`https?://[^<"]+/m/([A-Za-z0-9_-]{43})`).FindStringSubmatch(r.body); m == nil {
		t.Fatal("the new member's page link is not shown")
	}
	mid := strconv.FormatInt(app.member.ID, 10)
	mustStatus(t, c.post("/club/members/"+mid+"/adjust", "/club/members/"+mid, url.Values{"points": {"۵۰"}, "reason": {"جبران"}}), http.StatusSeeOther)
	r = c.post("/club/members/"+mid+"/redeem", "/club/members/"+mid, url.Values{"reward_id": {strconv.FormatInt(app.reward.ID, 10)}})
	mustStatus(t, r, http.StatusSeeOther)
	ds, _, err := app.club.Redemptions(context.Background(), club.RedemptionFilter{MemberID: app.member.ID})
	if err != nil || len(ds) != 1 {
		t.Fatalf("redemptions %v %v", ds, err)
	}
	mustStatus(t, c.post("/club/redemptions/"+strconv.FormatInt(ds[0].ID, 10)+"/capture", "/club/members/"+mid, nil), http.StatusSeeOther)
	page := c.get("/club/members/" + mid)
	mustContain(t, page, "RW-")
	// Asking for more than is available says so.
	r = c.post("/club/members/"+mid+"/adjust", "/club/members/"+mid, url.Values{"points": {"-999999"}, "reason": {"x"}})
	mustStatus(t, r, http.StatusConflict)
	mustStatus(t, c.get("/club/reports"), http.StatusForbidden) // support lacks reports:read
	mustStatus(t, c.get("/settings/club"), http.StatusForbidden)

	// Someone new, by phone (Persian digits) with a name.
	r = c.post("/club/members", "/club", url.Values{"program_id": {strconv.FormatInt(app.program.ID, 10)}, "person": {"۰۹۳۵ ۱۱۱ ۲۲۳۳"},
		"first_name": {"Nima"}, "last_name": {"Ahmadi"}})
	mustStatus(t, r, http.StatusOK)
	mustContain(t, r, "Nima Ahmadi", "/m/")
	// A bad phone is said on the person field.
	r = c.post("/club/members", "/club", url.Values{"program_id": {strconv.FormatInt(app.program.ID, 10)}, "person": {"0912"}})
	mustStatus(t, r, http.StatusUnprocessableEntity)
	mustContain(t, r, `id="enrol-person-error"`)

	// A paid year in the tier with a fee.
	var gold int64
	pd, err := app.club.Program(context.Background(), app.program.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range pd.Tiers {
		if tr.Fee > 0 {
			gold = tr.ID
		}
	}
	mustStatus(t, c.post("/club/members/"+mid+"/paid-tier", "/club/members/"+mid, url.Values{"tier_id": {strconv.FormatInt(gold, 10)}}), http.StatusSeeOther)
	if d, err := app.club.Member(context.Background(), app.member.ID); err != nil || d.Member.PaidTierID != gold || d.Tier.ID != gold {
		t.Fatalf("paid tier: %+v %v", d, err)
	}
	mustContain(t, c.get("/club/members/"+mid), "paid until")

	// A code used at the counter, by member number; a second use by the
	// same person is refused with the reason.
	if _, err := app.club.CreateCoupon(context.Background(), club.CouponInput{Code: "ONCE", Kind: club.CouponPercent, Value: 10, PerMemberLimit: 1}); err != nil {
		t.Fatal(err)
	}
	use := url.Values{"code": {"once"}, "amount": {"۱۲۰٬۰۰۰"}, "currency": {"IRR"}, "person": {club.FormatNumber(app.member.Number)}, "use": {"1"}}
	r = c.post("/club/coupons/check", "/club/coupons", use)
	mustStatus(t, r, http.StatusOK)
	mustContain(t, r, "Used: 12,000 IRR off")
	r = c.post("/club/coupons/check", "/club/coupons", use)
	mustStatus(t, r, http.StatusConflict)
	mustContain(t, r, "This person has used the code as often as allowed.")
}

// TestClubJoin: the public join form makes a new person a member and
// opens their card; a known phone is enrolled without showing anything;
// a program without signup has no form.
func TestClubJoin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newClubApp(t, db)
		pid := strconv.FormatInt(app.program.ID, 10)
		v := app.client(t)
		form := v.get("/join/" + pid + "?ref=" + app.member.ReferralCode)
		mustStatus(t, form, http.StatusOK)
		mustContain(t, form, `value="`+app.member.ReferralCode+`"`, "باشگاه مهر")
		r := v.post("/join/"+pid, "/join/"+pid, url.Values{"first_name": {"Laleh"}, "last_name": {"Moradi"}, "phone": {"09127778899"},
			"referral_code": {app.member.ReferralCode}})
		mustStatus(t, r, http.StatusSeeOther)
		loc := r.header.Get("Location")
		if !strings.HasPrefix(loc, "/m/") || !strings.Contains(loc, "?joined=1") {
			t.Fatalf("joined: Location %q", loc)
		}
		card := v.get(loc)
		mustStatus(t, card, http.StatusOK)
		mustContain(t, card, "Laleh Moradi", "<svg")
		// The same phone again: enrolled already, nothing shown.
		r = v.post("/join/"+pid, "/join/"+pid, url.Values{"first_name": {"X"}, "phone": {"0912 777 8899"}})
		mustStatus(t, r, http.StatusOK)
		if strings.Contains(r.body, "/m/") {
			t.Fatal("a known phone's card was shown")
		}
		r = v.post("/join/"+pid, "/join/"+pid, url.Values{"first_name": {"X"}, "phone": {"12"}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="join-phone-error"`)
		if _, err := app.club.UpdateProgram(context.Background(), app.program.ID, func() club.ProgramInput {
			in := club.ProgramInputOf(app.program)
			in.Signup = false
			return in
		}()); err != nil {
			t.Fatal(err)
		}
		mustStatus(t, v.get("/join/"+pid), http.StatusNotFound)
	})
}

// TestClubCouponCheckUnknownPerson: at the counter, a member number with a
// typo (its check digit fails, so it is read as a contact number of nobody)
// is refused on the person field, instead of the code being judged valid for
// a stranger with no uses.
func TestClubCouponCheckUnknownPerson(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	app := newClubApp(t, db)
	c := app.client(t)
	c.signIn("support@example.com")
	if _, err := app.club.CreateCoupon(context.Background(), club.CouponInput{Code: "ONCE", Kind: club.CouponPercent, Value: 10, PerMemberLimit: 1}); err != nil {
		t.Fatal(err)
	}
	typo := []byte(app.member.Number) // typed without spaces, as a till does
	last := len(typo) - 1
	typo[last] = '0' + (typo[last]-'0'+1)%10
	for _, use := range []string{"", "1"} {
		r := c.post("/club/coupons/check", "/club/coupons", url.Values{"code": {"once"}, "amount": {"120000"}, "currency": {"IRR"},
			"person": {string(typo)}, "use": {use}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="chk-person-error"`)
		for _, bad := range []string{"The code is valid", "Used:", locale.MissingMark} {
			if strings.Contains(r.body, bad) {
				t.Errorf("use=%q: the page says %q", use, bad)
			}
		}
	}
}
