package web

import (
	"bufio"
	"context"
	"crypto/subtle"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/contactfile"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/problem"
)

// CSV import of people. The contact service does the work (StartImport
// queues a job that reads the file in batches); these pages upload the
// file, let the user check the mapping, and follow the import:
//
//	GET  /contacts/import                 the upload form
//	POST /contacts/import                 streams the file to the import directory, checks it, and redirects to
//	GET  /contacts/import?file=T&name=N   the mapping form: each column, the field it goes to, sample values, options
//	POST /contacts/imports                starts the import → /contacts/imports/{id}
//	GET  /contacts/imports/{id}           progress while it runs (?format=json for app's poll), then the report
//	POST /contacts/imports/{id}/cancel    stops it
//	POST /contacts/imports/{id}/run       runs a finished dry run for real
//	GET  /contacts/imports                past imports
//
// Uploaded files never sit in memory: the form's body is read part by part
// and the file copied to disk as it arrives (load lets the upload route
// through with its own size limit; the handler checks the CSRF token, the
// form's first field, before it writes a byte). A file waits in
// <dir>/pending/ until the mapping form starts it, and then moves to <dir>,
// where it stays: the job reads it, and a dry run can be run again for
// real. Uploads abandoned on the mapping form are removed after a day.

// DefaultMaxUploadBytes bounds an uploaded CSV file when Options leaves it 0.
const DefaultMaxUploadBytes = 200 << 20

const (
	importProblemsPage = 50
	importsPerPage     = 50
	importSampleRows   = 3
	importSampleChars  = 60
	pendingMaxAge      = 24 * time.Hour
	uploadFieldBytes   = 4 << 10 // a text field of the upload form
)

// uploadPaths are the form posts whose body is a file. load lets them
// through unread with the upload size limit; their handler checks the
// CSRF token itself while it streams the body.
var uploadPaths = map[string]bool{"/contacts/import": true}

// streamedUpload prepares a file upload to one of uploadPaths and reports
// whether it is one; load skips its own reading of the form for it.
func (s *server) streamedUpload(w http.ResponseWriter, r *http.Request) bool {
	if s.desk != nil && r.Method == http.MethodPost && serviceUpload(r.URL.Path) && isMultipart(r) {
		r.Body = http.MaxBytesReader(w, r.Body, serviceUploadBytes) // a ticket's files (service_ticket.go)
		return true
	}
	if s.contacts == nil || r.Method != http.MethodPost || !uploadPaths[r.URL.Path] || !isMultipart(r) {
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.maxUpload+1<<20) // the file plus the form around it
	return true
}

func isMultipart(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "multipart/form-data"
}

// importDirs returns the import directory and its pending/ folder,
// creating them.
func (s *server) importDirs() (dir, pending string, err error) {
	dir = s.importDir
	pending = filepath.Join(dir, "pending")
	if err := os.MkdirAll(pending, 0o700); err != nil {
		return "", "", fmt.Errorf("web: import directory: %w", err)
	}
	return dir, pending, nil
}

var uploadTokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)

// pendingPath is where the upload named token of user waits; ok is false
// for a token that is not one of ours.
func (s *server) pendingPath(userID int64, token string) (string, bool) {
	if !uploadTokenRE.MatchString(token) {
		return "", false
	}
	return filepath.Join(s.importDir, "pending", strconv.FormatInt(userID, 10)+"-"+token+".csv"), true
}

// cleanPending removes uploads nobody started within pendingMaxAge.
func cleanPending(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() && time.Since(info.ModTime()) > pendingMaxAge {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// --- Upload ---

type importUploadPage struct {
	base
	Error   *message
	MaxSize string
}

// renderImportUpload shows the upload form, with what went wrong.
func (s *server) renderImportUpload(w http.ResponseWriter, r *http.Request, status int, msg *message) {
	p := state(r).p
	d := &importUploadPage{base: s.page(r, "imports.upload.title"), MaxSize: fileSize(p, s.maxUpload), Error: msg}
	if r.Method != http.MethodGet {
		d.Path = "/contacts/import"
	}
	s.render(w, r, status, "import_upload", d)
}

// uploadProblem shows the upload form with the problem explained by
// catalog key.
func (s *server) uploadProblem(w http.ResponseWriter, r *http.Request, status int, key string, args ...any) {
	s.renderImportUpload(w, r, status, &message{Text: state(r).p.T(key, args...)})
}

// fileProblem shows the upload form with a file the contact service
// cannot read: its own words (line and column included) in English, a
// general sentence in other languages with those words as the detail.
func (s *server) fileProblem(w http.ResponseWriter, r *http.Request, err error) {
	p := state(r).p
	ce, ok := asCRMError(err)
	if !ok || ce.Code != crm.EINVALID {
		s.renderError(w, r, err)
		return
	}
	detail := ce.Message
	if detail == "" {
		detail = ce.Fields["file"]
	}
	m := &message{Text: p.T("imports.error.file"), Detail: detail}
	if p.Lang() == "en" {
		m = &message{Text: detail}
	}
	s.renderImportUpload(w, r, problem.Status(err), m)
}

// handleImportForm shows the upload form, or with ?file= the mapping form
// of an uploaded file.
func (s *server) handleImportForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("file") == "" {
		s.renderImportUpload(w, r, http.StatusOK, nil)
		return
	}
	s.importMapping(w, r, q.Get("file"), q.Get("name"), nil, form{Values: map[string]string{}})
}

// handleImportUpload receives the file: the CSRF token first, then the
// file, copied to pending/ as it arrives while its encoding is checked.
func (s *server) handleImportUpload(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	if !isMultipart(r) {
		s.uploadProblem(w, r, http.StatusUnprocessableEntity, "imports.error.no_file")
		return
	}
	_, pendingDir, err := s.importDirs()
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	cleanPending(pendingDir)
	mr, err := r.MultipartReader()
	if err != nil {
		s.uploadProblem(w, r, http.StatusBadRequest, "imports.error.no_file")
		return
	}
	checked := false
	if h := r.Header.Get(csrfHeader); h != "" {
		checked = validCSRF(h, st.csrf)
	}
	var (
		token, path, name string
		check             contactfile.UTF8Check
	)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.uploadFailed(w, r, path, err)
			return
		}
		switch part.FormName() {
		case csrfField:
			b, _ := io.ReadAll(io.LimitReader(part, uploadFieldBytes))
			checked = checked || validCSRF(string(b), st.csrf)
		case "file":
			if !checked { // nothing is written for a forged form
				part.Close()
				s.renderError(w, r, &crm.Error{Code: crm.EFORBIDDEN, Key: "error.csrf",
					Message: "This form has expired. Go back, reload the page and try again."})
				return
			}
			if path != "" || part.FileName() == "" {
				io.Copy(io.Discard, part)
				continue
			}
			name = contactfile.CleanFileName(part.FileName())
			token = randomString(16)
			path, _ = s.pendingPath(st.user.ID, token)
			if err := contactfile.SpoolFile(path, part, s.maxUpload, &check); err != nil {
				s.uploadFailed(w, r, path, err)
				return
			}
		default:
			io.Copy(io.Discard, io.LimitReader(part, uploadFieldBytes))
		}
		part.Close()
	}
	if !checked {
		s.renderError(w, r, &crm.Error{Code: crm.EFORBIDDEN, Key: "error.csrf",
			Message: "This form has expired. Go back, reload the page and try again."})
		return
	}
	if path == "" {
		s.uploadProblem(w, r, http.StatusUnprocessableEntity, "imports.error.no_file")
		return
	}
	if !s.checkUpload(w, r, path, &check) {
		os.Remove(path)
		return
	}
	http.Redirect(w, r, "/contacts/import?"+url.Values{"file": {token}, "name": {name}}.Encode(), http.StatusSeeOther)
}

func validCSRF(token, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(want)) == 1
}

// uploadFailed removes what was written of a file and says why the upload
// failed: too large, or cut off.
func (s *server) uploadFailed(w http.ResponseWriter, r *http.Request, path string, err error) {
	if path != "" {
		os.Remove(path)
	}
	var tooLarge *http.MaxBytesError
	if errors.Is(err, contactfile.ErrTooLarge) || errors.As(err, &tooLarge) {
		s.uploadProblem(w, r, http.StatusRequestEntityTooLarge, "imports.error.too_large", "size", fileSize(state(r).p, s.maxUpload))
		return
	}
	s.log.WarnContext(r.Context(), "web: import upload", "err", err)
	s.uploadProblem(w, r, http.StatusBadRequest, "imports.error.upload_broken")
}

// checkUpload refuses, showing why, a file the import cannot read: empty,
// not UTF-8 anywhere (by line and byte column), or a header the contact
// service cannot read.
func (s *server) checkUpload(w http.ResponseWriter, r *http.Request, path string, check *contactfile.UTF8Check) bool {
	check.End()
	if info, err := os.Stat(path); err == nil && info.Size() == 0 {
		s.uploadProblem(w, r, http.StatusUnprocessableEntity, "imports.error.empty")
		return false
	}
	if _, _, err := s.contacts.ReadImportHeader(path, contact.ImportOptions{}); err != nil {
		s.fileProblem(w, r, err)
		return false
	}
	if line, col, bad := check.Invalid(); bad {
		s.uploadProblem(w, r, http.StatusUnprocessableEntity, "imports.error.not_utf8", "line", line, "column", col)
		return false
	}
	return true
}

// --- Mapping ---

type importColumn struct {
	Index   int
	Header  string
	Field   string
	Known   bool // Field is one the menus offer
	Label   string
	Samples []string
	Error   string
}

type importMappingPage struct {
	base
	File       string
	Name       string
	Intro      string // which file, how large
	Preset     string
	Columns    []importColumn
	Fields     []choice // standard targets, translated
	Custom     []choice // custom fields of people
	Duplicates []choice
	Calendars  []choice
	DateOrders []choice
	Form       form
	NoIdentity bool // no column maps to a name, email or phone: maybe the first line is not a header
}

// mappingFieldKeys maps the service's field names to the keys that explain
// them on the mapping form.
func mappingFieldKeys(columns int) map[string]string {
	keys := map[string]string{
		"duplicates": "imports.error.duplicates",
		"region":     "imports.error.region",
		"calendar":   "imports.error.calendar",
		"date_order": "imports.error.date_order",
		"mapping":    "imports.error.mapping",
	}
	for i := 1; i <= columns; i++ {
		keys["column "+strconv.Itoa(i)] = "imports.error.column"
	}
	return keys
}

// importMapping shows the mapping form of the upload token: the mapping m
// (the detected one when nil) and the options in f.
func (s *server) importMapping(w http.ResponseWriter, r *http.Request, token, name string, m *contactfile.Mapping, f form) {
	ctx := r.Context()
	st := state(r)
	p := st.p
	path, ok := s.pendingPath(st.user.ID, token)
	info, err := os.Stat(path)
	if !ok || err != nil {
		s.uploadGone(w, r, token)
		return
	}
	header, detected, err := s.contacts.ReadImportHeader(path, contact.ImportOptions{})
	if err != nil {
		s.fileProblem(w, r, err)
		return
	}
	if m == nil {
		m = &detected
		if f.Values["date_order"] == "" {
			f.Values["date_order"] = detected.DateOrder
		}
	}
	fields, err := s.contacts.ListCustomFields(ctx, "contact")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	for k, v := range map[string]string{"duplicates": contact.DuplicatesSkip, "region": s.contacts.Region()} {
		if _, set := f.Values[k]; !set {
			f.Values[k] = v
		}
	}
	d := &importMappingPage{base: s.page(r, "imports.mapping.title"), File: token, Name: name, Form: f,
		Intro: p.T("imports.mapping.intro", "name", isolate(name), "size", fileSize(p, info.Size())), Preset: presetName(p, detected.Preset)}
	d.Path = "/contacts/import?" + url.Values{"file": {token}, "name": {name}}.Encode()
	known := map[string]bool{}
	for _, k := range contactfile.MappingFields() {
		d.Fields = append(d.Fields, choice{Value: k, Label: p.T("imports.field." + k)})
		known[k] = true
	}
	for _, cf := range fields {
		d.Custom = append(d.Custom, choice{Value: contactfile.CustomPrefix + cf.Key, Label: cf.Label})
		known[contactfile.CustomPrefix+cf.Key] = true
	}
	for _, v := range []string{contact.DuplicatesSkip, contact.DuplicatesUpdate, contact.DuplicatesCreate} {
		d.Duplicates = append(d.Duplicates, choice{Value: v, Label: p.T("imports.duplicates." + v), Example: p.T("imports.duplicates." + v + "_hint")})
	}
	for _, v := range []string{"", "gregorian", "jalali"} {
		d.Calendars = append(d.Calendars, choice{Value: v, Label: p.T("imports.calendar." + or(v, "auto"))})
	}
	for _, v := range []string{"", contactfile.DateOrderMDY, contactfile.DateOrderDMY} {
		d.DateOrders = append(d.DateOrders, choice{Value: v, Label: p.T("imports.date_order." + or(v, "none"))})
	}
	samples := sampleRows(path, importSampleRows)
	identity := false
	for i, h := range header {
		c := importColumn{Index: i, Header: h, Field: contactfile.FieldIgnore}
		if i < len(m.Columns) {
			c.Field, c.Label = m.Columns[i].Field, m.Columns[i].Label
		}
		c.Known = known[c.Field]
		for _, row := range samples {
			if i < len(row) && row[i] != "" {
				c.Samples = append(c.Samples, row[i])
			}
		}
		c.Error = f.E("column " + strconv.Itoa(i+1))
		switch c.Field {
		case contactfile.FieldFirstName, contactfile.FieldMiddleName, contactfile.FieldLastName, contactfile.FieldFullName,
			contactfile.FieldEmail, contactfile.FieldPhone:
			identity = true
		}
		d.Columns = append(d.Columns, c)
	}
	d.NoIdentity = !identity
	status := http.StatusOK
	if !f.ok() {
		status = http.StatusUnprocessableEntity
	}
	s.render(w, r, status, "import_mapping", d)
}

// isolate keeps text of either direction (a file or person's name) from
// reordering the sentence around it (Unicode first-strong isolate).
func isolate(s string) string { return "\u2068" + s + "\u2069" }

// uploadGone answers for an upload that is no longer waiting: when it was
// started (a second click, or Back after starting), with its import;
// otherwise with the upload form, saying it is gone.
func (s *server) uploadGone(w http.ResponseWriter, r *http.Request, token string) {
	if uploadTokenRE.MatchString(token) {
		final := filepath.Join(s.importDir, token+".csv")
		if fileExists(final) {
			im, err := s.latestImportOf(r.Context(), final, 0, false)
			if err != nil {
				s.renderError(w, r, err)
				return
			}
			if im != nil {
				redirect(w, r, "/contacts/imports/"+strconv.FormatInt(im.ID, 10), "")
				return
			}
		}
	}
	s.uploadProblem(w, r, http.StatusNotFound, "imports.error.gone")
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// presetName translates the recognised export format.
func presetName(p *locale.Printer, preset string) string {
	if k := "imports.preset." + strings.ReplaceAll(preset, "-", "_"); p.Has(k) {
		return p.T(k)
	}
	return preset
}

// sampleRows returns the cells of the first n non-empty rows after the
// header, each cut short, for the mapping form. A file it cannot read
// gives no samples; the import reports its problems.
func sampleRows(path string, n int) [][]string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	rd, err := contactfile.NewCSVReader(f, contactfile.CSVOptions{})
	if err != nil {
		return nil
	}
	if _, err := f.Seek(rd.Checkpoint().Offset, io.SeekStart); err != nil {
		return nil
	}
	cr := csv.NewReader(bufio.NewReader(io.LimitReader(f, 1<<20)))
	cr.Comma = rd.Delimiter()
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	var out [][]string
	for len(out) < n {
		rec, err := cr.Read()
		if err != nil {
			break
		}
		row := make([]string, len(rec))
		empty := true
		for i, v := range rec {
			v = strings.Join(strings.Fields(v), " ")
			if utf8.RuneCountInString(v) > importSampleChars {
				v = string([]rune(v)[:importSampleChars-1]) + "…"
			}
			row[i] = v
			empty = empty && v == ""
		}
		if !empty {
			out = append(out, row)
		}
	}
	return out
}

// handleImportCreate starts the import of an uploaded file with the
// mapping and options of the form.
func (s *server) handleImportCreate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st := state(r)
	p := st.p
	token, name := r.PostFormValue("file"), contactfile.CleanFileName(r.PostFormValue("name"))
	f := newForm(r, "duplicates", "region", "calendar", "date_order", "dry_run")
	pending, ok := s.pendingPath(st.user.ID, token)
	if !ok || !fileExists(pending) {
		s.uploadGone(w, r, token)
		return
	}
	header, m, err := s.contacts.ReadImportHeader(pending, contact.ImportOptions{})
	if err != nil {
		s.fileProblem(w, r, err)
		return
	}
	cols := r.PostForm["col"]
	if len(cols) != len(header) {
		f.invalid(p, "mapping", "imports.error.columns_changed")
		s.importMapping(w, r, token, name, nil, f)
		return
	}
	for i, v := range cols {
		if v = strings.TrimSpace(v); v != m.Columns[i].Field {
			m.Columns[i] = contactfile.Column{Header: m.Columns[i].Header, Field: v}
		}
	}
	m.DateOrder = f.V("date_order")
	opts := contact.ImportOptions{Mapping: &m, DuplicateMode: f.V("duplicates"), DefaultRegion: f.V("region"),
		Calendar: f.V("calendar"), DryRun: f.V("dry_run") != ""}
	// Out of pending/, so that the clean-up of abandoned uploads leaves it be.
	dir, _, err := s.importDirs()
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	final := filepath.Join(dir, token+".csv")
	if err := os.Rename(pending, final); err != nil {
		s.renderError(w, r, fmt.Errorf("web: move upload: %w", err))
		return
	}
	im, err := s.contacts.StartImport(ctx, final, name, opts)
	if err != nil {
		os.Rename(final, pending)
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		if crm.ErrorFields(err)["file"] != "" {
			s.fileProblem(w, r, err)
			return
		}
		f.fail(p, err, mappingFieldKeys(len(header)))
		s.importMapping(w, r, token, name, &m, f)
		return
	}
	redirect(w, r, "/contacts/imports/"+strconv.FormatInt(im.ID, 10), "")
}

// fileSize shows a byte count in kB or MB.
func fileSize(p *locale.Printer, n int64) string {
	if n >= 10<<20 {
		return p.T("imports.megabytes", "n", n>>20)
	}
	return p.T("imports.kilobytes", "n", max(1, (n+1023)>>10))
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// --- Progress and report ---

type importPage struct {
	base
	Import      *contact.Import
	Lead        string // who started it, and when
	Live        importLive
	Settings    []choice       // the options, translated (Label: what, Value: the choice)
	Mapping     []importColumn // the columns that are imported, with translated fields
	Problems    []problemView
	Truncated   bool // more problems happened than were kept
	NextProblem string
	FirstPage   string
	CanWrite    bool
}

// importLive is what the progress page shows and its poll refreshes: the
// counters formatted for the user.
type importLive struct {
	Status      string `json:"status"`
	StatusText  string `json:"status_text"`
	StatusClass string `json:"status_class"`
	Finished    bool   `json:"finished"`
	Percent     int    `json:"percent"`
	Fields      struct {
		Rows       string `json:"rows"`
		Created    string `json:"created"`
		Updated    string `json:"updated"`
		Skipped    string `json:"skipped"`
		Duplicates string `json:"duplicates"`
		Errors     string `json:"errors"`
		Percent    string `json:"percent"`
		Rate       string `json:"rate"`
	} `json:"fields"`
}

func liveImport(p *locale.Printer, im *contact.Import, now time.Time) importLive {
	l := importLive{Status: im.Status, StatusText: p.T("imports.status." + im.Status), StatusClass: importStatusClass(im.Status),
		Finished: im.Finished(), Percent: int(im.Percent())}
	l.Fields.Rows = p.Number(im.Rows)
	l.Fields.Created = p.Number(im.Created)
	l.Fields.Updated = p.Number(im.Updated)
	l.Fields.Skipped = p.Number(im.Skipped)
	l.Fields.Duplicates = p.Number(im.Duplicates)
	l.Fields.Errors = p.Number(im.Errors)
	l.Fields.Percent = p.T("imports.percent", "n", l.Percent)
	l.Fields.Rate = "—"
	if im.StartedAt != nil {
		end := now
		if im.FinishedAt != nil {
			end = *im.FinishedAt
		}
		if secs := end.Sub(*im.StartedAt).Seconds(); secs > 0 && im.Rows > 0 {
			l.Fields.Rate = p.T("imports.rate", "n", int64(float64(im.Rows)/max(secs, 0.001)))
		}
	}
	return l
}

// importStatusClass is the CSS class of an import's status.
func importStatusClass(status string) string {
	switch status {
	case "done":
		return "status-ok"
	case "failed":
		return "status-late"
	case "running":
		return "status-running"
	}
	return "status-off"
}

func (s *server) loadImport(w http.ResponseWriter, r *http.Request) (*contact.Import, bool) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return nil, false
	}
	im, err := s.contacts.FindImport(r.Context(), id)
	if err != nil {
		if crm.ErrorCode(err) == crm.ENOTFOUND {
			err = &crm.Error{Code: crm.ENOTFOUND, Key: "imports.error.not_found", Message: "There is no such import."}
		}
		s.renderError(w, r, err)
		return nil, false
	}
	return im, true
}

func (s *server) handleImportShow(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st := state(r)
	p := st.p
	if r.URL.Query().Get("format") == "json" {
		s.importJSON(w, r)
		return
	}
	im, ok := s.loadImport(w, r)
	if !ok {
		return
	}
	d := &importPage{base: s.page(r, "imports.title"), Import: im, Live: liveImport(p, im, nowFunc()),
		CanWrite: st.user.Can(crm.PermContactsWrite)}
	d.Title = p.T("imports.show.title", "name", isolate(im.FileName))
	fields, err := s.contacts.ListCustomFields(ctx, "contact")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	for i, c := range im.Mapping.Columns {
		if c.Field == "" || c.Field == contactfile.FieldIgnore {
			continue
		}
		d.Mapping = append(d.Mapping, importColumn{Index: i, Header: c.Header, Field: c.Field, Label: targetName(p, c.Field, fields)})
	}
	d.Lead = p.T("imports.show.lead_system", "id", im.ID, "when", p.DateTime(im.CreatedAt))
	if im.UserID != 0 {
		dir, err := s.users(ctx)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		d.Lead = p.T("imports.show.lead", "id", im.ID, "name", isolate(dir.Names[im.UserID]), "when", p.DateTime(im.CreatedAt))
	}
	o := im.Options
	d.Settings = []choice{
		{Label: p.T("imports.options.duplicates"), Value: p.T("imports.duplicates." + o.DuplicateMode)},
		{Label: p.T("imports.options.region"), Value: o.DefaultRegion},
		{Label: p.T("imports.options.calendar"), Value: p.T("imports.calendar." + or(o.Calendar, "auto"))},
		{Label: p.T("imports.options.date_order"), Value: p.T("imports.date_order." + or(im.Mapping.DateOrder, "none"))},
		{Label: p.T("imports.show.preset"), Value: presetName(p, im.Mapping.Preset)},
		{Label: p.T("imports.show.size"), Value: fileSize(p, im.FileSize)},
	}
	if im.Finished() {
		after := r.URL.Query().Get("after")
		ps, next, err := s.contacts.ImportProblems(ctx, im.ID, crm.Page{Limit: importProblemsPage, After: after})
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		d.Problems = problemViews(p, ps)
		d.Truncated = im.Problems >= contact.MaxImportProblems && int64(im.Problems) < im.Errors+im.Duplicates
		self := "/contacts/imports/" + strconv.FormatInt(im.ID, 10)
		if next != "" {
			d.NextProblem = self + "?" + url.Values{"after": {next}}.Encode() + "#problems"
		}
		if after != "" {
			d.FirstPage = self + "#problems"
		}
	}
	s.render(w, r, http.StatusOK, "import", d)
}

// targetName translates a mapping target: a standard field, or a custom
// field's label.
func targetName(p *locale.Printer, field string, custom []*crm.CustomField) string {
	if k, ok := strings.CutPrefix(field, contactfile.CustomPrefix); ok {
		if i := slices.IndexFunc(custom, func(f *crm.CustomField) bool { return f.Key == k }); i >= 0 {
			return custom[i].Label
		}
		return k
	}
	if p.Has("imports.field." + field) {
		return p.T("imports.field." + field)
	}
	return field
}

// importJSON answers the progress page's poll.
func (s *server) importJSON(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	id, ok := pathID(r)
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte("{}\n"))
		return
	}
	im, err := s.contacts.FindImport(r.Context(), id)
	if err != nil {
		status := problem.Status(err)
		if status >= 500 {
			s.log.ErrorContext(r.Context(), "web: import progress", "err", err)
		}
		w.WriteHeader(status)
		w.Write([]byte("{}\n"))
		return
	}
	json.NewEncoder(w).Encode(liveImport(state(r).p, im, nowFunc()))
}

func (s *server) handleImportCancel(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	self := "/contacts/imports/" + strconv.FormatInt(id, 10)
	if _, err := s.contacts.CancelImport(r.Context(), id); err != nil {
		if crm.ErrorCode(err) == crm.ECONFLICT { // it finished meanwhile: show how
			redirect(w, r, self, "import_finished")
			return
		}
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, self, "import_cancelled")
}

// handleImportRun runs a finished dry run for real: the same file,
// mapping and options.
func (s *server) handleImportRun(w http.ResponseWriter, r *http.Request) {
	im, ok := s.loadImport(w, r)
	if !ok {
		return
	}
	if !im.DryRun || im.Status != "done" {
		s.renderError(w, r, &crm.Error{Code: crm.ECONFLICT, Key: "imports.error.not_dry_run",
			Message: "Only a dry run that finished can be run for real."})
		return
	}
	// A second click (or a reload of the form) finds the run it started.
	if run, err := s.latestImportOf(r.Context(), im.FilePath, im.ID, true); err != nil {
		s.renderError(w, r, err)
		return
	} else if run != nil {
		redirect(w, r, "/contacts/imports/"+strconv.FormatInt(run.ID, 10), "import_already_run")
		return
	}
	opts := im.Options
	m := im.Mapping
	opts.Mapping, opts.DryRun = &m, false
	next, err := s.contacts.StartImport(r.Context(), im.FilePath, im.FileName, opts)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/contacts/imports/"+strconv.FormatInt(next.ID, 10), "import_started")
}

// latestImportOf finds, among the latest imports, the newest import of
// the file at path made after import id (and no dry run, with real);
// nil when there is none.
func (s *server) latestImportOf(ctx context.Context, path string, after int64, real bool) (*contact.Import, error) {
	list, _, err := s.contacts.ListImports(ctx, crm.Page{Limit: crm.MaxLimit})
	if err != nil {
		return nil, err
	}
	for _, im := range list {
		if im.ID > after && im.FilePath == path && !(real && im.DryRun) {
			return im, nil
		}
	}
	return nil, nil
}

// --- The list ---

type importListPage struct {
	base
	Imports   []importRow
	Names     map[int64]string
	Next      string
	FirstPage string
	CanWrite  bool
}

type importRow struct {
	*contact.Import
	StatusClass string
}

func (s *server) handleImportIndex(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st := state(r)
	after := r.URL.Query().Get("after")
	list, next, err := s.contacts.ListImports(ctx, crm.Page{Limit: importsPerPage, After: after})
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d := &importListPage{base: s.page(r, "imports.list.title"), CanWrite: st.user.Can(crm.PermContactsWrite)}
	for _, im := range list {
		d.Imports = append(d.Imports, importRow{Import: im, StatusClass: importStatusClass(im.Status)})
	}
	dir, err := s.users(ctx)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Names = dir.Names
	if next != "" {
		d.Next = "/contacts/imports?" + url.Values{"after": {next}}.Encode()
	}
	if after != "" {
		d.FirstPage = "/contacts/imports"
	}
	s.render(w, r, http.StatusOK, "imports", d)
}
