package web

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// dotByDigit is a middle dot next to a Persian or Arabic-Indic digit,
// where it reads as the digit zero "۰".
var dotByDigit = regexp.MustCompile(`[۰-۹٠-٩]\s*(<[^>]*>\s*)*·|·\s*(<[^>]*>\s*)*[۰-۹٠-٩]`)

// TestServicePersianSeparators: on the Persian service desk phrases are
// separated by "، ", never by a middle dot that reads as "۰" next to a
// number ("UTC · ۰ تعطیلی", "سطح ۲ · محصول", ticket history lines); the
// English pages keep their dot. The standard setup, run from the settings
// page by a Persian admin, names the calendar and policies in Persian.
func TestServicePersianSeparators(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sa := newServiceTestApp(t, db)
		c, admin := sa.signedIn(t, "admin@example.com", crm.RoleAdmin, "fa")
		mustStatus(t, c.post("/settings/service/standard", "/settings/service", nil), http.StatusSeeOther)
		settings := c.get("/settings/service")
		mustContain(t, settings, "ساعات کاری", ">فوری<", ">زیاد<", "پرسش، سفارش، ارسال، محصول")

		ctx := crm.NewContextWithUser(context.Background(), admin)
		tk, err := sa.desk.Create(ctx, desk.TicketInput{Subject: "چاپگر کاغذ گیر می‌اندازد", Body: "از دیروز", Priority: crm.PriorityUrgent,
			Category: "محصول", Customer: crm.CustomerRef{Email: "sara@example.com", FirstName: "سارا"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sa.desk.Escalate(ctx, tk.ID, desk.EscalateInput{Reason: "قطعه ۲"}); err != nil {
			t.Fatal(err)
		}
		ticket := "/service/tickets/" + strconv.FormatInt(tk.ID, 10)
		for path, r := range map[string]response{"/settings/service": settings, "/service": c.get("/service"), ticket: c.get(ticket)} {
			mustStatus(t, r, http.StatusOK)
			if m := dotByDigit.FindString(r.body); m != "" {
				t.Errorf("fa %s: a middle dot next to a digit: %q", path, m)
			}
			if i := strings.Index(r.body, "·"); i >= 0 {
				t.Errorf("fa %s: a middle dot as separator near %q", path, r.body[max(0, i-80):min(len(r.body), i+40)])
			}
		}
		mustContain(t, c.get("/service"), "، ") // the queue's ticket line: channel، category، tier

		en, _ := sa.signedIn(t, "en@example.com", crm.RoleAdmin, "en")
		r := en.get(ticket)
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, " · ")
	})
}
