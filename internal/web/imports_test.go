package web

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// importApp is a testApp whose import directory and upload limit the test
// knows, with a job runner that runs queued imports.
type importApp struct {
	*testApp
	dir  string
	jobs *jobs.Runner
}

func newImportApp(t *testing.T, db *store.DB, maxUpload int64) *importApp {
	t.Helper()
	a := &testApp{t: t, auth: auth.New(db, auth.Options{}),
		contacts: contact.New(db, contact.Options{DefaultRegion: "IR"}), activity: activity.New(db)}
	dir := t.TempDir()
	h, err := New(Options{Auth: a.auth, Contacts: a.contacts, Activity: a.activity, Version: "test",
		ImportDir: dir, MaxUploadBytes: maxUpload})
	if err != nil {
		t.Fatal(err)
	}
	a.srv = httptest.NewServer(h)
	t.Cleanup(a.srv.Close)
	r := jobs.NewRunner(db, slog.New(slog.DiscardHandler), jobs.Options{})
	a.contacts.RegisterJobs(r)
	return &importApp{testApp: a, dir: dir, jobs: r}
}

// runJobs works every queued job, as the app's runner would.
func (a *importApp) runJobs() {
	a.t.Helper()
	if _, err := a.jobs.RunOnce(context.Background()); err != nil {
		a.t.Fatal(err)
	}
}

// upload posts a file through the upload form the way a browser does:
// the CSRF token first, then the file. csrf "" takes it from the form.
func (c *client) upload(name, content, csrf string) response {
	c.t.Helper()
	if csrf == "" {
		csrf = c.csrf("/contacts/import")
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if csrf != "-" {
		mw.WriteField("csrf", csrf)
	}
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		c.t.Fatal(err)
	}
	fw.Write([]byte(content))
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, c.app.srv.URL+"/contacts/import", &body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

var selectedRE = regexp.MustCompile(`<select id="col-(\d+)" name="col"[^>]*>(?s:.*?)</select>`)

// mappingChoices reads the field chosen for each column of a mapping page.
func mappingChoices(t *testing.T, r response) []string {
	t.Helper()
	var out []string
	for _, m := range selectedRE.FindAllStringSubmatch(r.body, -1) {
		sel := regexp.MustCompile(`<option value="([^"]*)" selected>`).FindStringSubmatch(m[0])
		if sel == nil {
			t.Fatalf("column %s has nothing selected", m[1])
		}
		out = append(out, sel[1])
	}
	return out
}

// startImport uploads content and starts it with the detected mapping and
// the options in opts (changes to columns as col.N), and returns the
// import's id.
func (c *client) startImport(name, content string, opts url.Values) int64 {
	c.t.Helper()
	r := c.upload(name, content, "")
	mustStatus(c.t, r, http.StatusSeeOther)
	page := c.get(r.location())
	mustStatus(c.t, page, http.StatusOK)
	u, _ := url.Parse(r.location())
	f := url.Values{"file": {u.Query().Get("file")}, "name": {u.Query().Get("name")}, "duplicates": {"skip"}, "region": {"IR"}}
	for i, v := range mappingChoices(c.t, page) {
		if o := opts.Get("col." + strconv.Itoa(i)); o != "" {
			v = o
		}
		f.Add("col", v)
	}
	for k, v := range opts {
		if !strings.HasPrefix(k, "col.") {
			f[k] = v
		}
	}
	r = c.send("/contacts/imports", f)
	mustStatus(c.t, r, http.StatusSeeOther)
	m := regexp.MustCompile(`^/contacts/imports/(\d+)$`).FindStringSubmatch(r.location())
	if m == nil {
		c.t.Fatalf("start: location %q", r.location())
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

func (a *importApp) findImport(id int64) *contact.Import {
	a.t.Helper()
	im, err := a.contacts.FindImport(context.Background(), id)
	if err != nil {
		a.t.Fatal(err)
	}
	return im
}

func (a *importApp) people(q string) []*crm.Contact {
	a.t.Helper()
	cs, _, err := a.contacts.ListContacts(context.Background(), crm.ContactFilter{Q: q, Limit: 100})
	if err != nil {
		a.t.Fatal(err)
	}
	return cs
}

const persianCSV = "نام,نام خانوادگی,موبایل,ایمیل,تاریخ تولد\n" +
	"علی,رضایی,۰۹۱۲۱۱۱۲۲۳۳,ali@example.com,۱۳۶۹/۰۱/۰۱\n" +
	"سارا,کریمی,09351234567,not-an-email,\n" +
	"مریم,احمدی,+971501234567,maryam@example.com,1990-05-06\n"

func TestImportUploadShowsMapping(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newImportApp(t, db, 0)
		app.createUser("admin@example.com", crm.RoleAdmin)
		c := signInAs(t, app.testApp, "admin@example.com", "en")

		r := c.get("/contacts/import")
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, `data-page="import_upload"`, `enctype="multipart/form-data"`, "200 MB")
		mustContain(t, c.get("/contacts"), `href="/contacts/import"`)

		r = c.upload("people.csv", persianCSV, "")
		mustStatus(t, r, http.StatusSeeOther)
		if !strings.HasPrefix(r.location(), "/contacts/import?file=") {
			t.Fatalf("location %q", r.location())
		}
		pending, _ := filepath.Glob(filepath.Join(app.dir, "pending", "*.csv"))
		if len(pending) != 1 {
			t.Fatalf("pending uploads %v", pending)
		}
		page := c.get(r.location())
		mustStatus(t, page, http.StatusOK)
		mustShow(t, page, `data-page="import_mapping"`, "Recognised as: A plain spreadsheet", "people.csv", "علی", "ali@example.com", "۰۹۱۲۱۱۱۲۲۳۳")
		if got, want := strings.Join(mappingChoices(t, page), ","), "first_name,last_name,phone,email,birthday"; got != want {
			t.Errorf("mapping %s, want %s", got, want)
		}
		mustContain(t, page, "Kind: Mobile") // the label detection gave the mobile column
		if strings.Contains(page.body, "No column holds a name") {
			t.Error("a file with a name column warned about a missing header")
		}

		// A Google Contacts export is recognised as one.
		r = c.upload("contacts.csv", "First Name,Last Name,E-mail 1 - Label,E-mail 1 - Value,Phone 1 - Label,Phone 1 - Value,Labels\nAda,Lovelace,* Home,ada@example.com,Mobile,+44 20 7946 0000,* myContacts\n", "")
		mustStatus(t, r, http.StatusSeeOther)
		page = c.get(r.location())
		mustShow(t, page, "Recognised as: Google Contacts")
		if got := mappingChoices(t, page); len(got) != 7 || got[3] != "email" || got[2] != "email_label" {
			t.Errorf("google mapping %v", got)
		}

		// In Persian the labels are Persian and the digits too.
		fa := signInAs(t, app.testApp, "admin@example.com", "fa")
		r = fa.upload("مشتریان.csv", persianCSV, "")
		mustStatus(t, r, http.StatusSeeOther)
		page = fa.get(r.location())
		mustStatus(t, page, http.StatusOK)
		mustShow(t, page, "شناخته‌شده به‌عنوان: صفحه‌گستردهٔ ساده", "مشتریان.csv", `<option value="last_name" selected>نام خانوادگی</option>`, "ستون ۳")
	})
}

func TestImportDryRunThenForReal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newImportApp(t, db, 0)
		app.createUser("admin@example.com", crm.RoleAdmin)
		c := signInAs(t, app.testApp, "admin@example.com", "en")

		id := c.startImport("people.csv", persianCSV, url.Values{"dry_run": {"1"}, "date_order": {"dmy"}})
		self := "/contacts/imports/" + idOf(id)
		r := c.get(self)
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, `data-page="import"`, "Waiting", `data-import-poll="`+self+`?format=json"`, `http-equiv="refresh"`, `id="import-cancel"`, "Dry run")
		if strings.Contains(r.body, `id="problems"`) {
			t.Error("a pending import shows the problems table")
		}
		var live importLive
		r = c.get(self + "?format=json")
		mustStatus(t, r, http.StatusOK)
		if err := json.Unmarshal([]byte(r.body), &live); err != nil || live.Status != "pending" || live.Finished {
			t.Fatalf("json %s: %v", r.body, err)
		}

		app.runJobs()
		im := app.findImport(id)
		if im.Status != "done" || !im.DryRun || im.Rows != 3 || im.Created != 2 || im.Errors != 1 {
			t.Fatalf("dry run %+v", im)
		}
		if n := len(app.people("")); n != 0 {
			t.Fatalf("a dry run wrote %d people", n)
		}
		r = c.get(self + "?format=json")
		if err := json.Unmarshal([]byte(r.body), &live); err != nil || !live.Finished || live.Percent != 100 || live.Fields.Created != "2" {
			t.Fatalf("json after %s: %v", r.body, err)
		}
		r = c.get(self)
		mustStatus(t, r, http.StatusOK)
		mustShow(t, r, "Done", "Would be created", `id="problems"`, "not-an-email", `id="import-run"`, "This was a dry run")
		if strings.Contains(r.body, `http-equiv="refresh"`) || strings.Contains(r.body, `id="import-cancel"`) {
			t.Error("a finished import still refreshes or offers to cancel")
		}
		// The problem names its line: the header is line 1, Sara is line 3.
		if !regexp.MustCompile(`<td class="nowrap">3</td>\s*<td class="nowrap"><span class="status status-late">Error</span>`).MatchString(r.body) {
			t.Errorf("no error on line 3 in the report")
		}

		// Run it for real: the same file, mapping and options.
		r = c.send(self+"/run", url.Values{})
		mustStatus(t, r, http.StatusSeeOther)
		m := regexp.MustCompile(`^/contacts/imports/(\d+)\?notice=import_started$`).FindStringSubmatch(r.location())
		if m == nil || m[1] == idOf(id) {
			t.Fatalf("run for real: location %q", r.location())
		}
		real, _ := strconv.ParseInt(m[1], 10, 64)
		app.runJobs()
		im = app.findImport(real)
		if im.Status != "done" || im.DryRun || im.Created != 2 || im.Errors != 1 || im.Mapping.DateOrder != "dmy" {
			t.Fatalf("real run %+v", im)
		}
		people := app.people("رضایی")
		if len(people) != 1 || people[0].Birthday != "1990-03-21" || people[0].Phones[0].Value != "+989121112233" {
			t.Fatalf("imported %+v", people)
		}
		r = c.get("/contacts/imports/" + m[1])
		mustShow(t, r, "See the people", "Created")
		if strings.Contains(r.body, `id="import-run"`) {
			t.Error("a real import offers to run for real")
		}
		// Running it again finds the real run instead of importing twice.
		r = c.send(self+"/run", url.Values{})
		mustStatus(t, r, http.StatusSeeOther)
		if r.location() != "/contacts/imports/"+m[1]+"?notice=import_already_run" {
			t.Errorf("second run: location %q", r.location())
		}
		mustStatus(t, c.send("/contacts/imports/"+m[1]+"/run", url.Values{}), http.StatusConflict)

		// The list shows both, newest first.
		r = c.get("/contacts/imports")
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, `data-page="imports"`, `href="/contacts/imports/`+m[1]+`"`, `href="`+self+`"`)
		if strings.Index(r.body, `href="/contacts/imports/`+m[1]+`"`) > strings.Index(r.body, `href="`+self+`"`) {
			t.Error("the list is not newest first")
		}
		// Back to the mapping page of a started upload, or its form sent
		// twice, leads to the import.
		r = c.upload("again.csv", persianCSV, "")
		mapping := r.location()
		u, _ := url.Parse(mapping)
		f := url.Values{"file": {u.Query().Get("file")}, "name": {"again.csv"}, "col": mappingChoices(t, c.get(mapping))}
		r = c.send("/contacts/imports", f)
		mustStatus(t, r, http.StatusSeeOther)
		again := r.location()
		for _, r := range []response{c.send("/contacts/imports", f), c.get(mapping)} {
			mustStatus(t, r, http.StatusSeeOther)
			if r.location() != again {
				t.Errorf("started upload: location %q, want %q", r.location(), again)
			}
		}
		c.send(again+"/cancel", url.Values{})

		// The file left pending/ when the import started, stayed for the
		// job, and went when the import finished: the real run is done and
		// the second import cancelled, so no file is left.
		if pending, _ := filepath.Glob(filepath.Join(app.dir, "pending", "*")); len(pending) != 0 {
			t.Errorf("pending uploads left: %v", pending)
		}
		if kept, _ := filepath.Glob(filepath.Join(app.dir, "*.csv")); len(kept) != 0 {
			t.Errorf("import files left after the imports finished: %v", kept)
		}
	})
}

func TestImportDuplicateModes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newImportApp(t, db, 0)
		app.createUser("admin@example.com", crm.RoleAdmin)
		ctx := context.Background()
		stored, err := app.contacts.CreateContact(ctx, &crm.Contact{FirstName: "Ali", LastName: "Rezaei",
			Emails: []crm.Labeled{{Value: "ali@example.com"}}}, false)
		if err != nil {
			t.Fatal(err)
		}
		c := signInAs(t, app.testApp, "admin@example.com", "en")
		file := "First name,Last name,Email,Phone\nAli,Rezaei-Tehrani,ALI@example.com,09120000001\n"

		id := c.startImport("a.csv", file, url.Values{"duplicates": {"skip"}})
		app.runJobs()
		im := app.findImport(id)
		if im.Duplicates != 1 || im.Skipped != 1 || im.Created != 0 || im.Updated != 0 {
			t.Errorf("skip: %+v", im)
		}
		r := c.get("/contacts/imports/" + idOf(id))
		mustContain(t, r, "Duplicate", `href="/contacts/`+idOf(stored.ID)+`"`)

		id = c.startImport("a.csv", file, url.Values{"duplicates": {"update"}})
		app.runJobs()
		if im := app.findImport(id); im.Updated != 1 || im.Created != 0 {
			t.Errorf("update: %+v", im)
		}
		got, _ := app.contacts.FindContactByID(ctx, stored.ID)
		if got.LastName != "Rezaei-Tehrani" || len(got.Phones) != 1 {
			t.Errorf("updated person %+v", got)
		}

		id = c.startImport("a.csv", file, url.Values{"duplicates": {"create"}})
		app.runJobs()
		if im := app.findImport(id); im.Created != 1 || im.Duplicates != 0 {
			t.Errorf("create: %+v", im)
		}
		if n := len(app.people("ali@example.com")); n != 2 {
			t.Errorf("people with the email after create: %d", n)
		}
	})
}

func TestImportCancel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newImportApp(t, db, 0)
		app.createUser("admin@example.com", crm.RoleAdmin)
		c := signInAs(t, app.testApp, "admin@example.com", "en")
		id := c.startImport("people.csv", persianCSV, nil)
		self := "/contacts/imports/" + idOf(id)
		r := c.send(self+"/cancel", url.Values{})
		mustStatus(t, r, http.StatusSeeOther)
		if r.location() != self+"?notice=import_cancelled" {
			t.Errorf("location %q", r.location())
		}
		app.runJobs()
		if im := app.findImport(id); im.Status != "cancelled" || im.Rows != 0 {
			t.Errorf("cancelled import %+v", im)
		}
		if n := len(app.people("")); n != 0 {
			t.Errorf("a cancelled import wrote %d people", n)
		}
		r = c.get(self + "?notice=import_cancelled")
		mustShow(t, r, "Import cancelled.", "Cancelled", "The import was cancelled.")
		// Cancelling again: it has finished, and the page says so.
		r = c.send(self+"/cancel", url.Values{})
		mustStatus(t, r, http.StatusSeeOther)
		if r.location() != self+"?notice=import_finished" {
			t.Errorf("second cancel: location %q", r.location())
		}
		mustStatus(t, c.send("/contacts/imports/99999/cancel", url.Values{}), http.StatusNotFound)
		mustStatus(t, c.get("/contacts/imports/99999"), http.StatusNotFound)
		mustStatus(t, c.get("/contacts/imports/99999?format=json"), http.StatusNotFound)
	})
}

func TestImportBadFiles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newImportApp(t, db, 4096)
		app.createUser("admin@example.com", crm.RoleAdmin)
		c := signInAs(t, app.testApp, "admin@example.com", "en")
		refused := func(name, content string, status int, want ...string) {
			t.Helper()
			r := c.upload(name, content, "")
			mustStatus(t, r, status)
			mustContain(t, r, `data-page="import_upload"`)
			mustShow(t, r, want...)
		}
		refused("empty.csv", "", http.StatusUnprocessableEntity, "The file is empty")
		// Windows-1256 on line 3: found at upload, by line and byte.
		refused("ansi.csv", "name,email\nAli,ali@example.com\n\xd1\xd6\xc7\xed\xed,x@example.com\n", http.StatusUnprocessableEntity,
			"not UTF-8 text (line 3, byte 1)")
		refused("utf16.csv", "\xff\xfen\x00a\x00m\x00e\x00\n\x00", http.StatusUnprocessableEntity, "UTF-16")
		refused("big.csv", "name\n"+strings.Repeat("Ali Rezaei\n", 500), http.StatusRequestEntityTooLarge, "larger than")
		if pending, _ := filepath.Glob(filepath.Join(app.dir, "pending", "*")); len(pending) != 0 {
			t.Errorf("refused uploads left files: %v", pending)
		}

		// Without the token first, nothing is written.
		r := c.upload("people.csv", persianCSV, "-")
		mustStatus(t, r, http.StatusForbidden)
		r = c.upload("people.csv", persianCSV, "wrong")
		mustStatus(t, r, http.StatusForbidden)
		if pending, _ := filepath.Glob(filepath.Join(app.dir, "pending", "*")); len(pending) != 0 {
			t.Errorf("a forged upload left files: %v", pending)
		}
		// A plain form post has no file.
		mustStatus(t, c.send("/contacts/import", url.Values{}), http.StatusUnprocessableEntity)

		// No header: the first line is a person. The mapping page warns, and
		// starting it says what is missing.
		r = c.upload("noheader.csv", "Ali Rezaei,09121112233\nSara Karimi,09351112233\n", "")
		mustStatus(t, r, http.StatusSeeOther)
		u, _ := url.Parse(r.location())
		page := c.get(r.location())
		mustShow(t, page, "No column holds a name, an email or a phone")
		f := url.Values{"file": {u.Query().Get("file")}, "name": {"noheader.csv"}, "col": {"ignore", "ignore"}}
		r = c.send("/contacts/imports", f)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustShow(t, r, "Map at least one column to a name, email or phone.")

		// An unknown target is marked on its column, and the choices are kept.
		f = url.Values{"file": {u.Query().Get("file")}, "name": {"noheader.csv"}, "col": {"full_name", "telephone"}}
		r = c.send("/contacts/imports", f)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="col-1-error"`, `<option value="telephone" selected>telephone</option>`, `<option value="full_name" selected>`)
		mustShow(t, r, `unknown field "telephone"`)
		f["col"] = []string{"full_name", "phone"}
		f.Set("region", "ZZ")
		r = c.send("/contacts/imports", f)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="import-region-error"`)
		f.Set("region", "IR")
		mustStatus(t, c.send("/contacts/imports", f), http.StatusSeeOther)

		// In Persian, the service's words come as the detail.
		fa := signInAs(t, app.testApp, "admin@example.com", "fa")
		r = fa.upload("ansi.csv", "نام\nعلی\n\xd1\xd6\n", "")
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustShow(t, r, "سطر ۳، بایت ۱")

		// A file that is gone, or a token that is not one.
		mustStatus(t, c.get("/contacts/import?file=AAAAAAAAAAAAAAAAAAAAAA"), http.StatusNotFound)
		mustStatus(t, c.get("/contacts/import?file=../../etc/passwd"), http.StatusNotFound)
		mustStatus(t, c.send("/contacts/imports", url.Values{"file": {"../x"}}), http.StatusNotFound)
	})
}

func TestImportPendingCleanup(t *testing.T) {
	dir := t.TempDir()
	old, fresh := filepath.Join(dir, "1-old.csv"), filepath.Join(dir, "1-new.csv")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("name\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	then := nowFunc().Add(-2 * pendingMaxAge)
	os.Chtimes(old, then, then)
	cleanPending(dir)
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Error("an abandoned upload was kept")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Error("a fresh upload was removed")
	}
}

func importPages(t *testing.T, c *client) []pageResponse {
	t.Helper()
	var out []pageResponse
	out = append(out, pageResponse{"/contacts/import", c.get("/contacts/import")})
	out = append(out, pageResponse{"upload (empty)", c.upload("empty.csv", "", "")})
	r := c.upload("people.csv", persianCSV, "")
	out = append(out, pageResponse{"mapping", c.get(r.location())})
	r = c.upload("noheader.csv", "Ali Rezaei,0912\n", "")
	u, _ := url.Parse(r.location())
	out = append(out, pageResponse{"mapping (errors)", c.send("/contacts/imports",
		url.Values{"file": {u.Query().Get("file")}, "name": {"noheader.csv"}, "col": {"bogus", "ignore"}, "region": {"ZZ"}})})
	dry := c.startImport("people.csv", persianCSV, url.Values{"dry_run": {"1"}})
	if _, err := c.app.contacts.RunImport(context.Background(), dry); err != nil {
		t.Fatal(err)
	}
	out = append(out, pageResponse{"import (dry run done)", c.get("/contacts/imports/" + idOf(dry))})
	pending := c.startImport("people.csv", persianCSV, nil)
	out = append(out, pageResponse{"import (pending)", c.get("/contacts/imports/" + idOf(pending))})
	c.send("/contacts/imports/"+idOf(pending)+"/cancel", url.Values{})
	out = append(out, pageResponse{"import (cancelled)", c.get("/contacts/imports/" + idOf(pending))})
	out = append(out, pageResponse{"/contacts/imports", c.get("/contacts/imports")})
	return out
}
