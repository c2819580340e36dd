package web

import (
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/workflow"
)

// A run's texts are said in the reader's language, calendar and digits;
// every message of the workflow table is in every catalog.
func TestWorkflowMessagesSaid(t *testing.T) {
	for _, lang := range crm.Languages {
		p := locale.ForLanguage(lang)
		for _, key := range workflow.MessageKeys() {
			if !p.Has("workflows.msg." + key) {
				t.Errorf("%s: no workflows.msg.%s", lang, key)
			}
		}
		for _, ev := range workflow.TriggerEvents() {
			if !p.Has("workflows.event." + ev) {
				t.Errorf("%s: no workflows.event.%s (why a run started)", lang, ev)
			}
		}
	}
	fa := locale.For(crm.Preferences{Language: "fa", Calendar: "jalali", Digits: "persian", TimeZone: "Asia/Tehran"})
	for _, c := range []struct{ text, want string }{
		{workflow.Say("points_awarded", "n", 100, "member", "M-1", "available", 250), "۱۰۰ امتیاز داده شد (عضو M-1؛ ۲۵۰ امتیاز در دسترس)."},
		{workflow.Say("waiting_until", "time", "2026-03-21T06:30:00Z"), "در انتظار تا ۱۴۰۵/۰۱/۰۱"},
		{workflow.Say("started_event", "event", "deal.won", "id", 2583), "معامله‌ای برنده شد (رویداد ۲۵۸۳)"},
		{workflow.Say("started_event", "event", "contact.updated", "id", 1183), "مشخصات شخصی تغییر کرد (رویداد ۱۱۸۳)"},
		{workflow.Say("started_by_hand", "who", "admin@example.com"), "به دست admin@example.com آغاز شد"},
		{workflow.Say("tag_added", "tag", "vip 2"), "برچسب «vip 2» افزوده شد."},
		{`Added the tag "webshop".`, "برچسب «webshop» افزوده شد."}, // as runs before the message table wrote it
		{workflow.Say("tag_removed", "tag", "vip"), "برچسب «vip» برداشته شد."},
		{workflow.Say("exited", "detail", workflow.Say("skip_no_person")), "خارج شد: این رکورد شخصی ندارد"},
		{workflow.Say("assigned", "object", "deal", "id", 4), "به کاربر ۴ سپرده شد"},
	} {
		got := wfSay(fa, c.text)
		if got.English || !strings.Contains(got.Text, c.want) {
			t.Errorf("%q said %+v, want %q", c.text, got, c.want)
		}
	}
	if got := wfSay(fa, "dial tcp: connection refused"); !got.English || got.Text != "dial tcp: connection refused" {
		t.Errorf("an error's text: %+v", got)
	}
	if got := wfSay(locale.ForLanguage("en"), workflow.Say("completed")); got.English || got.Text != "Completed." {
		t.Errorf("English: %+v", got)
	}
}
