package web_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/web"
)

// TestSalesBoardBrowser uses the board in the Persian UI in headless
// Chromium: drags a card to the next column with the mouse, moves another
// with the keyboard (Space, the left arrow, which in right-to-left goes to
// the next column, Space), and sees each column's count and total change
// without a reload; then moves a card someone else moved meanwhile and
// sees it go where they put it. The server agrees at every step.
// Screenshots at desktop and phone width; no page wider than a phone.
// Skipped without Chromium unless PIVAND_TEST_BROWSER=require.
func TestSalesBoardBrowser(t *testing.T) {
	shots := requireChromium(t)
	ctx := context.Background()
	db := storetest.Open(t, store.SQLite)
	svc := auth.New(db, auth.Options{})
	contacts := contact.New(db, contact.Options{DefaultRegion: "IR"})
	sl := sales.New(db, sales.Options{Person: contacts.PersonForLead, Company: contacts.CompanyForLead, Region: "IR"})
	admin, err := svc.CreateUser(ctx, crm.UserCreate{Email: "admin@example.com", Name: "نرگس احمدی", Password: "correct horse battery",
		Role: crm.RoleAdmin, Language: "fa"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdatePreferences(ctx, admin.ID, crm.Preferences{Language: "fa", Calendar: "jalali", Digits: "persian", TimeZone: "Asia/Tehran"}); err != nil {
		t.Fatal(err)
	}
	actx := crm.NewContextWithUser(ctx, admin)
	p20, p50, p80 := 20, 50, 80
	pipe, err := sl.CreatePipeline(actx, sales.PipelineInput{Name: "فروش عمده", Currency: "IRR", WonStage: "برنده", LostStage: "بازنده",
		Stages: []sales.StageInput{{Name: "سرنخ", Probability: &p20}, {Name: "پیشنهاد", Probability: &p50}, {Name: "مذاکره", Probability: &p80}}})
	if err != nil {
		t.Fatal(err)
	}
	s1, s2, s3 := pipe.Stages[0].ID, pipe.Stages[1].ID, pipe.Stages[2].ID
	person, err := contacts.CreateContact(actx, &crm.Contact{FirstName: "علی", LastName: "رضایی"}, false)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(title string, value int64, stage int64) *crm.Deal {
		d, err := sl.CreateDeal(actx, sales.DealInput{Title: title, Value: &value, StageID: stage, ContactID: person.ID,
			ExpectedClose: time.Now().AddDate(0, 0, 20).Format(time.DateOnly), Tags: []string{"عمده"}})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a := mk("میز کار", 1_000_000, s1)
	b := mk("صندلی", 2_000_000, s1)
	c := mk("قفسه", 3_000_000, s2)
	if _, err := sl.CreateLostReason(actx, "قیمت"); err != nil {
		t.Fatal(err)
	}
	h, err := web.New(web.Options{Auth: svc, Contacts: contacts, Activity: activity.New(db), Sales: sl, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	br := newBrowser(t, shots, 90*time.Second)
	do, eval, use, shot, fits, submit := br.do, br.eval, br.use, br.shot, br.fits, br.submit
	phone := viewport{390, 800, true}
	board := srv.URL + "/sales/board/" + strconv.FormatInt(pipe.ID, 10)
	do("sign in page", use(desktop), chromedp.Navigate(board),
		chromedp.SendKeys(chromedp.ID("email"), "admin@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"))
	submit("sign in", `form[action="/signin"] button[type="submit"]`, 200)
	if p := eval(`document.body.dataset.page`); p != "sales_board" {
		t.Fatalf("after sign-in: page %q", p)
	}
	col := func(stage int64, what string) string {
		return eval(`(function(){var c=document.querySelector('[data-column="` + strconv.FormatInt(stage, 10) + `"]');` +
			`var e=c&&c.querySelector('[data-col-` + what + `]');return e?e.textContent.trim():"";})()`)
	}
	if col(s1, "total") != "۳٬۰۰۰٬۰۰۰ IRR" || col(s1, "count") != "۲ معامله" || col(s2, "total") != "۳٬۰۰۰٬۰۰۰ IRR" {
		t.Fatalf("board at first: %q %q %q", col(s1, "total"), col(s1, "count"), col(s2, "total"))
	}
	shot("fa-desktop-sales-board")

	// wait polls until cond (a JavaScript expression) is true.
	wait := func(step, cond string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for eval(`String(!!(`+cond+`))`) != "true" {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s never became true; status line %q", step, cond, eval(`document.querySelector("[data-board-status]").textContent`))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	center := func(selector string) (float64, float64) {
		t.Helper()
		var pt struct{ X, Y float64 }
		js := `(function(){var e=document.querySelector(` + strconv.Quote(selector) + `);` +
			`var r=e.getBoundingClientRect();return JSON.stringify({X:r.left+r.width/2,Y:r.top+Math.min(r.height/2,40)});})()`
		if err := json.Unmarshal([]byte(eval(js)), &pt); err != nil {
			t.Fatal(err)
		}
		return pt.X, pt.Y
	}
	pressed := func(p *input.DispatchMouseEventParams) { p.Buttons = 1 }

	// 1. The mouse drags "میز کار" from the first column to the second.
	x0, y0 := center("#deal-" + strconv.FormatInt(a.ID, 10) + " .deal-card-value")
	x1, y1 := center(`[data-column="` + strconv.FormatInt(s2, 10) + `"] .kanban-head`)
	steps := []chromedp.Action[chromedp.Void]{chromedp.MouseEvent(chromedp.MousePressed, x0, y0, chromedp.ButtonLeft, chromedp.ClickCount(1))}
	for i := 1; i <= 12; i++ {
		f := float64(i) / 12
		steps = append(steps, chromedp.MouseEvent(chromedp.MouseMoved, x0+(x1-x0)*f, y0+(y1+40-y0)*f, chromedp.ButtonLeft, pressed), chromedp.Sleep(20*time.Millisecond))
	}
	steps = append(steps, chromedp.MouseEvent(chromedp.MouseReleased, x1, y1+40, chromedp.ButtonLeft, chromedp.ClickCount(1)))
	do("drag a card with the mouse", steps...)
	wait("the dragged card's column totals", `document.querySelector('[data-column="`+strconv.FormatInt(s2, 10)+`"] [data-col-total]').textContent.trim()==="۴٬۰۰۰٬۰۰۰ IRR"`)
	if col(s1, "total") != "۲٬۰۰۰٬۰۰۰ IRR" || col(s1, "count") != "۱ معامله" || col(s2, "count") != "۲ معامله" || col(s2, "weighted") != "۲٬۰۰۰٬۰۰۰ IRR" {
		t.Errorf("after the drag: %q %q %q %q", col(s1, "total"), col(s1, "count"), col(s2, "count"), col(s2, "weighted"))
	}
	if got, _ := sl.Deal(actx, a.ID); got.StageID != s2 || got.Version != 2 {
		t.Fatalf("the server has the dragged deal in stage %d (version %d)", got.StageID, got.Version)
	}
	if inCol := eval(`document.querySelector("#deal-` + strconv.FormatInt(a.ID, 10) + `").closest("[data-column]").dataset.column`); inCol != strconv.FormatInt(s2, 10) {
		t.Errorf("the dragged card sits in column %s", inCol)
	}
	shot("fa-desktop-sales-board-dragged")

	// 2. The keyboard moves "صندلی": Space picks it up, ← (the next column
	// in right-to-left) carries it, Space puts it down.
	card := "#deal-" + strconv.FormatInt(b.ID, 10)
	do("pick up with the keyboard", chromedp.Focus(chromedp.CSS(card)), chromedp.KeyEvent(" "))
	if st := eval(`document.querySelector("[data-board-status]").textContent`); !strings.Contains(st, "سرنخ") {
		t.Errorf("status after picking up: %q", st)
	}
	do("carry and put down", chromedp.KeyEvent(kb.ArrowLeft), chromedp.KeyEvent(" "))
	wait("the keyboard move's totals", `document.querySelector('[data-column="`+strconv.FormatInt(s2, 10)+`"] [data-col-total]').textContent.trim()==="۶٬۰۰۰٬۰۰۰ IRR"`)
	if col(s1, "total") != "۰" || col(s1, "count") != "۰ معامله" || col(s2, "count") != "۳ معامله" {
		t.Errorf("after the keyboard move: %q %q %q", col(s1, "total"), col(s1, "count"), col(s2, "count"))
	}
	if got, _ := sl.Deal(actx, b.ID); got.StageID != s2 {
		t.Fatalf("the server has the keyboard-moved deal in stage %d", got.StageID)
	}
	if active := eval(`document.activeElement.id`); active != strings.TrimPrefix(card, "#") {
		t.Errorf("focus left the moved card for %q", active)
	}

	// 3. Someone else moves "قفسه" to the third column; this board still
	// shows it in the second. Moving it back a column is refused, and the
	// card goes where the other user put it.
	if _, err := sl.Move(actx, c.ID, sales.MoveInput{StageID: s3}); err != nil {
		t.Fatal(err)
	}
	card = "#deal-" + strconv.FormatInt(c.ID, 10)
	do("move a card someone moved meanwhile", chromedp.Focus(chromedp.CSS(card)), chromedp.KeyEvent(" "), chromedp.KeyEvent(kb.ArrowRight), chromedp.KeyEvent(" "))
	wait("the conflict's answer", `document.querySelector("`+card+`").closest("[data-column]").dataset.column==="`+strconv.FormatInt(s3, 10)+`"`)
	if st := eval(`document.querySelector("[data-board-status]").textContent`); !strings.Contains(st, "مذاکره") {
		t.Errorf("status after the conflict: %q", st)
	}
	if col(s3, "total") != "۳٬۰۰۰٬۰۰۰ IRR" || col(s2, "total") != "۳٬۰۰۰٬۰۰۰ IRR" {
		t.Errorf("after the conflict: %q %q", col(s3, "total"), col(s2, "total"))
	}
	if got, _ := sl.Deal(actx, c.ID); got.StageID != s3 || got.Version != 2 {
		t.Fatalf("the server's deal after the conflict: stage %d version %d", got.StageID, got.Version)
	}
	shot("fa-desktop-sales-board-after")

	// A reload shows what the server has.
	do("reload", chromedp.Reload())
	if col(s2, "count") != "۲ معامله" || col(s3, "count") != "۱ معامله" {
		t.Errorf("after a reload: %q %q", col(s2, "count"), col(s3, "count"))
	}
	do("phone board", use(phone), chromedp.Reload())
	fits("board (phone)")
	shot("fa-phone-sales-board")
	do("deal page", use(desktop), chromedp.Navigate(srv.URL+"/sales/deals/"+strconv.FormatInt(a.ID, 10)))
	if body := eval(`document.body.innerText`); !strings.Contains(body, "زمان ماندن در هر مرحله") || !strings.Contains(body, "۱٬۰۰۰٬۰۰۰ IRR") {
		t.Errorf("deal page:\n%s", body)
	}
	shot("fa-desktop-sales-deal")
	do("phone deal page", use(phone), chromedp.Reload())
	fits("deal (phone)")
}
