package api

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/idempotency"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// multipartBody builds a multipart/form-data body: the fields in order
// (name, value pairs), then the file when name is not "".
func multipartBody(t *testing.T, name, content string, fields ...string) (string, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for i := 0; i+1 < len(fields); i += 2 {
		mw.WriteField(fields[i], fields[i+1])
	}
	if name != "" {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte(content))
	}
	mw.Close()
	return b.String(), mw.FormDataContentType()
}

// upload posts a CSV file as multipart/form-data with fields, to
// /api/v1/imports?query.
func (e *env) upload(t *testing.T, token, query, name, content string, fields ...string) result {
	t.Helper()
	body, ct := multipartBody(t, name, content, fields...)
	target := "/api/v1/imports"
	if query != "" {
		target += "?" + query
	}
	return e.do("POST", target, token, body, "Content-Type", ct)
}

// started checks a 202 answer and returns the import.
func started(t *testing.T, res result) *contact.Import {
	t.Helper()
	if res.Status != http.StatusAccepted {
		t.Fatalf("status %d, want 202: %s", res.Status, res.Body)
	}
	var im contact.Import
	res.JSON(t, &im)
	if loc := res.Header.Get("Location"); loc != "/api/v1/imports/"+strconv.FormatInt(im.ID, 10) {
		t.Fatalf("Location %q for import %d", loc, im.ID)
	}
	return &im
}

func (e *env) runImports(t *testing.T) {
	t.Helper()
	r := jobs.NewRunner(e.db, slog.New(slog.DiscardHandler), jobs.Options{})
	e.contacts.RegisterJobs(r)
	if _, err := r.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (e *env) getImport(t *testing.T, id int64) *contact.Import {
	t.Helper()
	var im contact.Import
	e.call(t, "GET", "/api/v1/imports/"+strconv.FormatInt(id, 10), e.ro, "", http.StatusOK, &im)
	return &im
}

func (e *env) countPeople(t *testing.T, q string) int {
	t.Helper()
	var l list[*crm.Contact]
	e.call(t, "GET", "/api/v1/contacts?limit=500&q="+url.QueryEscape(q), e.ro, "", http.StatusOK, &l)
	return len(l.Data)
}

const importCSV = "نام,نام خانوادگی,موبایل,ایمیل\n" +
	"علی,رضایی,۰۹۱۲۱۱۱۲۲۳۳,ali@example.com\n" +
	"سارا,کریمی,09351234567,not-an-email\n" +
	"مریم,احمدی,+971501234567,maryam@example.com\n"

func TestImportsAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)

		t.Run("DryRunThenReal", func(t *testing.T) {
			im := started(t, e.upload(t, e.rw, "", "people.csv", importCSV, "dry_run", "true", "duplicates", "skip", "region", "IR"))
			if im.Status != "pending" || !im.DryRun || im.FileName != "people.csv" || im.Mapping.Preset != "generic" || len(im.Mapping.Columns) != 4 {
				t.Fatalf("created %+v", im)
			}
			e.runImports(t)
			im = e.getImport(t, im.ID)
			if im.Status != "done" || im.Rows != 3 || im.Created != 2 || im.Errors != 1 || im.Problems != 1 {
				t.Fatalf("dry run %+v", im)
			}
			if n := e.countPeople(t, ""); n != 0 {
				t.Fatalf("a dry run wrote %d people", n)
			}
			var ps list[contact.ImportProblem]
			e.call(t, "GET", "/api/v1/imports/"+strconv.FormatInt(im.ID, 10)+"/problems", e.ro, "", http.StatusOK, &ps)
			if len(ps.Data) != 1 || ps.Data[0].Line != 3 || ps.Data[0].Kind != "error" || !strings.Contains(ps.Data[0].Message, "not-an-email") {
				t.Fatalf("problems %+v", ps.Data)
			}

			// The raw body, options in the query.
			res := e.do("POST", "/api/v1/imports?name=people.csv&duplicates=skip", e.rw, importCSV, "Content-Type", "text/csv; charset=utf-8")
			im = started(t, res)
			e.runImports(t)
			if im = e.getImport(t, im.ID); im.Status != "done" || im.Created != 2 || im.DryRun {
				t.Fatalf("real run %+v", im)
			}
			if n := e.countPeople(t, "رضایی"); n != 1 {
				t.Fatalf("people named رضایی: %d", n)
			}
		})

		t.Run("Mapping", func(t *testing.T) {
			file := "Customer,Cell,Code\nNima Ahmadi,09120001111,A-1\n"
			// Detected: Customer is the full name, Cell the mobile; Code is not known.
			res := e.upload(t, e.rw, "", "m.csv", file, "mapping", `{"Code":"tags"}`, "dry_run", "true")
			im := started(t, res)
			got := []string{}
			for _, c := range im.Mapping.Columns {
				got = append(got, c.Field)
			}
			if strings.Join(got, ",") != "full_name,phone,tags" {
				t.Errorf("mapping %v", got)
			}
			p := e.upload(t, e.rw, "", "m.csv", file, "mapping", `{"Code":"telephone"}`).problem(t, http.StatusUnprocessableEntity)
			if !strings.Contains(p.field("column 3"), `unknown field "telephone"`) {
				t.Errorf("unknown target: %+v", p)
			}
			p = e.upload(t, e.rw, "", "m.csv", file, "mapping", `{"Fax":"phone"}`).problem(t, http.StatusUnprocessableEntity)
			if !strings.Contains(p.field("mapping"), `no column "Fax"`) {
				t.Errorf("missing column: %+v", p)
			}
			p = e.upload(t, e.rw, "", "m.csv", file, "mapping", `["phone"]`).problem(t, http.StatusUnprocessableEntity)
			if p.field("mapping") == "" {
				t.Errorf("mapping not an object: %+v", p)
			}
			p = e.upload(t, e.rw, "", "m.csv", file, "mapping", `{"Customer":"ignore","Cell":"ignore"}`).problem(t, http.StatusUnprocessableEntity)
			if !strings.Contains(p.field("mapping"), "name, email or phone") {
				t.Errorf("no identity: %+v", p)
			}
			p = e.upload(t, e.rw, "duplicates=merge", "m.csv", file).problem(t, http.StatusUnprocessableEntity)
			if p.field("duplicates") == "" {
				t.Errorf("bad duplicates: %+v", p)
			}
		})

		t.Run("Duplicates", func(t *testing.T) {
			stored := e.mustContact(t, `{"first_name":"Dara","last_name":"Shams","emails":[{"value":"dara@example.com"}]}`)
			file := "First name,Last name,Email\nDara,Shams-Tabrizi,DARA@example.com\n"
			im := started(t, e.upload(t, e.rw, "duplicates=skip", "d.csv", file))
			e.runImports(t)
			if im = e.getImport(t, im.ID); im.Duplicates != 1 || im.Skipped != 1 || im.Created != 0 {
				t.Errorf("skip %+v", im)
			}
			var ps list[contact.ImportProblem]
			e.call(t, "GET", "/api/v1/imports/"+strconv.FormatInt(im.ID, 10)+"/problems", e.ro, "", http.StatusOK, &ps)
			if len(ps.Data) != 1 || ps.Data[0].Kind != "duplicate" || ps.Data[0].ContactID != stored.ID || ps.Data[0].Line != 2 {
				t.Errorf("duplicate problems %+v", ps.Data)
			}
			im = started(t, e.upload(t, e.rw, "duplicates=update", "d.csv", file))
			e.runImports(t)
			if im = e.getImport(t, im.ID); im.Updated != 1 {
				t.Errorf("update %+v", im)
			}
			var c crm.Contact
			e.call(t, "GET", "/api/v1/contacts/"+strconv.FormatInt(stored.ID, 10), e.ro, "", http.StatusOK, &c)
			if c.LastName != "Shams-Tabrizi" {
				t.Errorf("updated person %+v", c)
			}
			im = started(t, e.upload(t, e.rw, "duplicates=create", "d.csv", file))
			e.runImports(t)
			if im = e.getImport(t, im.ID); im.Created != 1 {
				t.Errorf("create %+v", im)
			}
			if n := e.countPeople(t, "dara@example.com"); n != 2 {
				t.Errorf("people with the email: %d", n)
			}
		})

		t.Run("Cancel", func(t *testing.T) {
			im := started(t, e.upload(t, e.rw, "", "c.csv", "name\nKian Mehr\n"))
			var got contact.Import
			e.call(t, "POST", "/api/v1/imports/"+strconv.FormatInt(im.ID, 10)+"/cancel", e.rw, "", http.StatusOK, &got)
			if got.Status != "cancelled" {
				t.Fatalf("cancelled %+v", got)
			}
			e.runImports(t)
			if n := e.countPeople(t, "Kian"); n != 0 {
				t.Errorf("a cancelled import wrote %d people", n)
			}
			e.do("POST", "/api/v1/imports/"+strconv.FormatInt(im.ID, 10)+"/cancel", e.rw, "").problem(t, http.StatusConflict)
			e.do("POST", "/api/v1/imports/99999/cancel", e.rw, "").problem(t, http.StatusNotFound)
			e.do("GET", "/api/v1/imports/99999", e.ro, "").problem(t, http.StatusNotFound)
			e.do("GET", "/api/v1/imports/99999/problems", e.ro, "").problem(t, http.StatusNotFound)
		})

		t.Run("List", func(t *testing.T) {
			all := walk[*contact.Import](t, e, "/api/v1/imports")
			if len(all) < 5 {
				t.Fatalf("%d imports listed", len(all))
			}
			for i := 1; i < len(all); i++ {
				if all[i].ID >= all[i-1].ID {
					t.Fatalf("not newest first: %d after %d", all[i].ID, all[i-1].ID)
				}
			}
		})

		t.Run("BadFiles", func(t *testing.T) {
			before, _ := os.ReadDir(e.api.importDir)
			p := e.upload(t, e.rw, "", "empty.csv", "").problem(t, http.StatusUnprocessableEntity)
			if !strings.Contains(p.field("file"), "empty") {
				t.Errorf("empty: %+v", p)
			}
			p = e.upload(t, e.rw, "", "ansi.csv", "name,email\nAli,ali@example.com\n\xd1\xd6\xc7,x@example.com\n").problem(t, http.StatusUnprocessableEntity)
			if !strings.Contains(p.field("file"), "line 3, byte column 1") {
				t.Errorf("not UTF-8: %+v", p)
			}
			p = e.upload(t, e.rw, "", "u16.csv", "\xff\xfen\x00a\x00m\x00e\x00\n\x00").problem(t, http.StatusUnprocessableEntity)
			if !strings.Contains(p.Detail+p.field("file"), "UTF-16") {
				t.Errorf("UTF-16: %+v", p)
			}
			p = e.upload(t, e.rw, "", "", "", "dry_run", "true").problem(t, http.StatusUnprocessableEntity)
			if p.field("file") == "" {
				t.Errorf("no file: %+v", p)
			}
			p = e.upload(t, e.rw, "", "x.csv", "name\nA B\n", "colour", "red").problem(t, http.StatusUnprocessableEntity)
			if p.field("colour") == "" {
				t.Errorf("unknown part: %+v", p)
			}
			p = e.upload(t, e.rw, "", "x.csv", "name\nA B\n", "dry_run", "maybe").problem(t, http.StatusUnprocessableEntity)
			if p.field("dry_run") == "" {
				t.Errorf("bad dry_run: %+v", p)
			}
			e.do("POST", "/api/v1/imports", e.rw, `{"file":"x"}`).problem(t, http.StatusUnsupportedMediaType)
			after, _ := os.ReadDir(e.api.importDir)
			if len(after) != len(before) {
				t.Errorf("refused uploads left files: %d before, %d after", len(before), len(after))
			}
			// A read-only token may not import.
			e.upload(t, e.ro, "", "x.csv", "name\nA B\n").problem(t, http.StatusForbidden)
		})

		t.Run("Idempotency", func(t *testing.T) {
			body, ct := multipartBody(t, "i.csv", "name\nIdem Potent\n", "dry_run", "true")
			first := e.do("POST", "/api/v1/imports", e.rw, body, "Content-Type", ct, idempotency.Header, "import-1")
			im := started(t, first)
			again := e.do("POST", "/api/v1/imports", e.rw, body, "Content-Type", ct, idempotency.Header, "import-1")
			if again.Status != http.StatusAccepted || again.Header.Get(replayedHeader) != "true" || !bytes.Equal(again.Body, first.Body) {
				t.Fatalf("replay %d %q %s", again.Status, again.Header.Get(replayedHeader), again.Body)
			}
			other, ct2 := multipartBody(t, "i.csv", "name\nSomeone Else\n", "dry_run", "true")
			e.do("POST", "/api/v1/imports", e.rw, other, "Content-Type", ct2, idempotency.Header, "import-1").problem(t, http.StatusUnprocessableEntity)
			var l list[*contact.Import]
			e.call(t, "GET", "/api/v1/imports?limit=1", e.ro, "", http.StatusOK, &l)
			if len(l.Data) != 1 || l.Data[0].ID != im.ID {
				t.Errorf("the replay made another import: newest is %d, want %d", l.Data[0].ID, im.ID)
			}
			if spools, _ := filepath.Glob(filepath.Join(e.api.importDir, "request-*")); len(spools) != 0 {
				t.Errorf("spooled bodies left: %v", spools)
			}
		})
	})
}

// TestImportsAPI_TooLarge: a file over the upload limit is refused with
// 413, declared or not, and nothing is left on disk.
func TestImportsAPI_TooLarge(t *testing.T) {
	e := newEnv(t, storetest.Open(t, store.SQLite))
	dir := t.TempDir()
	a, err := New(Options{Auth: e.auth, Idempotency: idempotency.New(e.db), Contacts: e.contacts, Activity: e.activity,
		Logger: slog.New(slog.DiscardHandler), ImportDir: dir, MaxUploadBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	file := "name\n" + strings.Repeat("Ali Rezaei\n", 200)
	send := func(body io.Reader, ct string, length int64) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/api/v1/imports", body)
		req.Header.Set("Authorization", "Bearer "+e.rw)
		req.Header.Set("Content-Type", ct)
		req.ContentLength = length
		w := httptest.NewRecorder()
		a.Handler().ServeHTTP(w, req)
		return w
	}
	body, ct := multipartBody(t, "big.csv", file)
	if w := send(strings.NewReader(body), ct, -1); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("multipart: %d %s", w.Code, w.Body)
	}
	if w := send(strings.NewReader(file), "text/csv", -1); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("raw: %d %s", w.Code, w.Body)
	}
	if w := send(strings.NewReader(file+strings.Repeat("x", 2<<20)), "text/csv", int64(len(file)+2<<20)); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("declared: %d %s", w.Code, w.Body)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("files left: %v", left)
	}
}
