package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/workflow"
)

// postedBuilder is the builder's form as a request.
func postedBuilder(t testing.TB, v url.Values) *http.Request {
	r, err := http.NewRequest(http.MethodPost, "/automation", strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// stepPaths lists a definition's step paths in document order, as the
// builder's hidden "step" fields do.
func stepPaths(steps []workflow.Step, side string) []string {
	var out []string
	for i, s := range steps {
		p := strconv.Itoa(i)
		if side != "" {
			p = side + "." + p
		}
		out = append(out, p)
		if s.Kind == workflow.StepBranch {
			out = append(out, stepPaths(s.Then, p+".then")...)
			out = append(out, stepPaths(s.Else, p+".else")...)
		}
	}
	return out
}

// TestBuilderFormPersian reads numbers in Persian digits and a wait
// until a Jalali day, and writes them back in the user's calendar.
func TestBuilderFormPersian(t *testing.T) {
	p := locale.For(crm.Preferences{Language: "fa", Calendar: "jalali", Digits: "persian", TimeZone: "Asia/Tehran"})
	v := url.Values{"trigger.kind": {"schedule"}, "trigger.at": {"۰۹:۳۰"}, "trigger.segment_id": {"۱۲"},
		"step": {"0", "1", "1.then.0"}, "s.0.kind": {"wait"}, "s.0.wait.kind": {"until"}, "s.0.wait.until": {"۱۴۰۴/۱۱/۱۱"},
		"s.1.kind": {"branch"}, "s.1.if": {`{"match":"all","conditions":[]}`}, "s.1.then.0.kind": {"award_points"}, "s.1.then.0.points": {"۱۰۰"}}
	f := readBuilder(postedBuilder(t, v), p)
	d := f.Def
	if d.Trigger.At != "09:30" || d.Trigger.SegmentID != 12 {
		t.Errorf("trigger %+v", d.Trigger)
	}
	if d.Steps[0].Wait.Until != "2026-01-31" {
		t.Errorf("until %q", d.Steps[0].Wait.Until)
	}
	if d.Steps[1].If != nil || len(d.Steps[1].Then) != 1 || d.Steps[1].Then[0].Points != 100 {
		t.Errorf("branch %+v", d.Steps[1])
	}
	if back := definitionValues(p, &d, nil); back["s.0.wait.until"] != "۱۴۰۴/۱۱/۱۱" || back["s.1.then.0.points"] != "100" {
		t.Errorf("written back: until %q, points %q", back["s.0.wait.until"], back["s.1.then.0.points"])
	}
	if len(f.Errors) != 0 {
		t.Errorf("errors %v", f.Errors)
	}
	f = readBuilder(postedBuilder(t, url.Values{"step": {"0"}, "s.0.kind": {"award_points"}, "s.0.points": {"صد"}}), p)
	if f.Errors["s.0.points"] == "" {
		t.Error("a number in words was taken")
	}
	// Weekly on two days, monthly on a day of the Jalali month.
	f = readBuilder(postedBuilder(t, url.Values{"trigger.kind": {"schedule"}, "trigger.at": {"۰۹:۰۰"}, "trigger.segment_id": {"۱"},
		"trigger.repeat": {"weekly"}, "trigger.weekdays": {"6", "3"}}), p)
	if tr := f.Def.Trigger; tr.Repeat != "weekly" || len(tr.Weekdays) != 2 || tr.Weekdays[0] != 6 || tr.Weekdays[1] != 3 {
		t.Errorf("weekly %+v", tr)
	}
	if back := definitionValues(p, &f.Def, nil); back["trigger.weekdays"] != "6,3" || back["trigger.repeat"] != "weekly" {
		t.Errorf("weekly written back: %v", back)
	}
	f = readBuilder(postedBuilder(t, url.Values{"trigger.kind": {"schedule"}, "trigger.at": {"۰۹:۰۰"}, "trigger.segment_id": {"۱"},
		"trigger.repeat": {"monthly"}, "trigger.month_day": {"۱"}, "trigger.calendar": {"jalali"}}), p)
	if tr := f.Def.Trigger; tr.Repeat != "monthly" || tr.MonthDay != 1 || tr.Calendar != "jalali" || len(f.Errors) != 0 {
		t.Errorf("monthly %+v %v", tr, f.Errors)
	}
	if got := describeTrigger(p, f.Def.Trigger, &wfNames{}); !strings.Contains(got, "هر ماه روز ۱ (شمسی (جلالی)) ساعت ۰۹:۰۰") {
		t.Errorf("monthly in words: %q", got)
	}
}

// TestErrorField maps the service's problem keys to the builder's fields.
func TestErrorField(t *testing.T) {
	for key, want := range map[string][3]string{
		"name":                 {"name", "", ""},
		"trigger.stage_id":     {"trigger.stage_id", "", ""},
		"steps":                {"steps", "", ""},
		"steps[2].points":      {"s.2.points", "", ""},
		"steps[1].then[0].tag": {"s.1.then.0.tag", "", ""},
		"steps[1].then[0].else[3].assign.user_id": {"s.1.then.0.else.3.assign.user_id", "", ""},
		"steps[0].content.fa.subject":             {"s.0.content.fa.subject", "", ""},
		"steps[4]":                                {"s.4.kind", "", ""},
		"conditions.conditions[0].value":          {"", "conditions", "conditions[0].value"},
		"conditions":                              {"", "conditions", ""},
		"steps[2].if.conditions[1].op":            {"", "s.2.if", "conditions[1].op"},
		"steps[3].wait.condition":                 {"", "s.3.wait.condition", ""},
		"steps[3].wait.amount":                    {"s.3.wait.amount", "", ""},
	} {
		f, r, s := errorField(key)
		if got := [3]string{f, r, s}; got != want {
			t.Errorf("errorField(%q) = %q, want %q", key, got, want)
		}
	}
}

// FuzzBuilderForm reads any posted builder without panicking, and what
// it read comes back the same through the form the builder renders.
func FuzzBuilderForm(f *testing.F) {
	for _, seed := range []string{
		"trigger.kind=deal_won&step=0&s.0.kind=create_task&s.0.title=Call&s.0.due_days=2&step=1&s.1.kind=award_points&s.1.points=100",
		"trigger.kind=manual&trigger.object=contact&step=0&s.0.kind=branch&s.0.if=%7B%22match%22%3A%22any%22%7D&step=0.then.0&s.0.then.0.kind=add_tag&s.0.then.0.tag=vip&step=0.else.0&s.0.else.0.kind=stop",
		"step=0&s.0.kind=wait&s.0.wait.kind=condition&s.0.wait.amount=3&s.0.wait.unit=day&s.0.wait.condition=%7B%7D",
		"step=0&s.0.kind=assign&s.0.assign.mode=round_robin&s.0.assign.user_ids=3&s.0.assign.user_ids=4&s.0.assign.team_id=2",
		"step=0&s.0.kind=send_email&s.0.content.fa.subject=%D8%B3%D9%84%D8%A7%D9%85&s.0.content.fa.text=x",
		"step=1.then.0&step=x&step=0.other.1&step=&conditions=%5B",
		"trigger.kind=date&trigger.date_field=contact.birthday&trigger.offset_days=-3&trigger.at=09:00",
		"trigger.kind=schedule&trigger.at=09:00&trigger.segment_id=2&trigger.repeat=weekly&trigger.weekdays=1&trigger.weekdays=5",
		"trigger.kind=schedule&trigger.at=09:00&trigger.segment_id=2&trigger.repeat=monthly&trigger.month_day=31&trigger.calendar=jalali",
	} {
		f.Add(seed)
	}
	p := locale.For(crm.Preferences{Language: "en", Calendar: "gregorian", Digits: "latin", TimeZone: "UTC"})
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		first := readBuilder(postedBuilder(t, v), p)
		again := definitionValues(p, &first.Def, nil)
		form := url.Values{}
		for k, x := range again {
			if strings.HasSuffix(k, ".user_ids") {
				for _, id := range strings.Split(x, ",") {
					form.Add(k, id)
				}
				continue
			}
			form.Set(k, x)
		}
		form["step"] = stepPaths(first.Def.Steps, "")
		second := readBuilder(postedBuilder(t, form), p)
		a, _ := json.Marshal(first.Def)
		b, _ := json.Marshal(second.Def)
		if string(a) != string(b) {
			t.Fatalf("the builder does not keep what it read:\n%s\n%s", a, b)
		}
		for _, op := range []string{"add:", "remove:0", "up:1", "down:0", "add:0.then", "remove:0.then.0", "up:x", "add:9.else"} {
			first.applyOp(op)
		}
	})
}
