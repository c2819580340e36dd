package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/contactfile"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/idempotency"
	"github.com/pivand/pivand/internal/text"
)

// CSV imports of people. POST /imports takes the file (multipart, or the
// raw CSV as the body), stores it in the import directory without holding
// it in memory, checks that the import can read it, and queues the import
// (the contact service's StartImport): 202 with the import and its
// Location. The import runs as a job; GET /imports/{id} follows it.

// DefaultMaxUploadBytes bounds an uploaded file when Options leaves it 0.
const DefaultMaxUploadBytes = 200 << 20

// importFields are the options of an import, as multipart fields or query
// parameters. The field's own JSON tags name them in the document.
type importFields struct {
	Duplicates string `json:"duplicates,omitempty"`
	Region     string `json:"region,omitempty"`
	Calendar   string `json:"calendar,omitempty"`
	DateOrder  string `json:"date_order,omitempty"`
	DryRun     bool   `json:"dry_run,omitempty"`
	Mapping    string `json:"mapping,omitempty"`
	Name       string `json:"name,omitempty"`
}

var importParams = []param{
	{Name: "duplicates", Enum: []string{contact.DuplicatesSkip, contact.DuplicatesUpdate, contact.DuplicatesCreate},
		Description: "What a row that matches someone stored (or an earlier row) by email or phone does: skip (default) reports it, update fills in and overwrites the stored person, create imports it anyway."},
	{Name: "region", Description: "Country (ISO 3166 code, such as IR or AE) of phone numbers written without a country code; the server's default unless given."},
	{Name: "calendar", Enum: []string{"gregorian", "jalali"}, Description: "Calendar of the dates in the file; absent, the year decides (before 1700 is Jalali)."},
	{Name: "date_order", Enum: []string{contactfile.DateOrderMDY, contactfile.DateOrderDMY}, Description: "How to read dates like 04/05/1990: month first (mdy) or day first (dmy); absent, the recognised export format decides, and ambiguous dates are reported."},
	{Name: "dry_run", Type: "boolean", Description: "Check every row and report, writing no people."},
	{Name: "mapping", Description: `Columns whose detected field to change, as a JSON object from column header to field: {"Mobile":"phone","Code":"custom:code","Fax":"ignore"}. Fields: ` + strings.Join(contactfile.MappingFields(), ", ") + `, or custom:<key>.`},
	{Name: "name", Description: "The file's name as lists show it, for a raw body (a multipart file part carries its own)."},
}

// importFieldNames are the option names a request may send.
var importFieldNames = func() map[string]bool {
	m := map[string]bool{}
	for _, p := range importParams {
		m[p.Name] = true
	}
	return m
}()

var importUpload = &upload{File: "file", FileType: "text/csv", Form: importFields{}, Raw: "text/csv",
	Description: "The CSV file: UTF-8, comma, semicolon or tab separated, with a header line naming the columns."}

func (a *API) handleImportCreate(w http.ResponseWriter, r *http.Request) {
	in, err := a.receiveImport(r)
	if err == nil {
		var im *contact.Import
		if im, err = a.startImport(r.Context(), in); err == nil {
			w.Header().Set("Location", apiBase+"/imports/"+strconv.FormatInt(im.ID, 10))
			a.writeJSON(w, r, http.StatusAccepted, im)
			return
		}
	}
	if in.path != "" {
		os.Remove(in.path)
	}
	a.writeError(w, r, err)
}

// received is the file and the options of an import request.
type received struct {
	path    string     // where the file is stored; set as soon as it exists
	name    string     // as the client called it
	vals    url.Values // the options: query parameters, overridden by multipart fields
	notUTF8 string     // where the file stops being UTF-8; "" when it all is
}

// receiveImport stores the request's file in the import directory, as it
// arrives, and collects the options.
func (a *API) receiveImport(r *http.Request) (*received, error) {
	in := &received{vals: url.Values{}}
	for k, v := range r.URL.Query() {
		in.vals[k] = v
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err := os.MkdirAll(a.importDir, 0o700); err != nil {
		return in, fmt.Errorf("api: import directory: %w", err)
	}
	var check contactfile.UTF8Check
	switch mt {
	case "text/csv":
		in.path = newImportPath(a.importDir)
		if err := contactfile.SpoolFile(in.path, r.Body, a.maxUpload, &check); err != nil {
			return in, uploadError(err, a.maxUpload)
		}
		in.name = contactfile.CleanFileName(in.vals.Get("name"))
	case "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			return in, bodyError("body: "+err.Error(), "Send a multipart/form-data body with the file in the part named file.")
		}
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return in, uploadError(err, a.maxUpload)
			}
			field := part.FormName()
			switch {
			case field == importUpload.File:
				if in.path != "" {
					return in, &crm.Error{Code: crm.EINVALID, Message: "Send one file.", Fields: map[string]string{"file": "The request has more than one file part."}}
				}
				in.path = newImportPath(a.importDir)
				in.name = contactfile.CleanFileName(part.FileName())
				if err := contactfile.SpoolFile(in.path, part, a.maxUpload, &check); err != nil {
					return in, uploadError(err, a.maxUpload)
				}
			case importFieldNames[field]:
				b, err := io.ReadAll(io.LimitReader(part, 64<<10))
				if err != nil {
					return in, uploadError(err, a.maxUpload)
				}
				in.vals.Set(field, string(b))
			default:
				return in, &crm.Error{Code: crm.EINVALID, Message: fmt.Sprintf("body: unknown part %q", field),
					Fields: map[string]string{field: "Unknown field."}}
			}
			part.Close()
		}
		if in.path == "" {
			return in, &crm.Error{Code: crm.EINVALID, Message: "The request has no file.", Fields: map[string]string{"file": "Send the CSV file in the part named file."}}
		}
	default:
		ct := r.Header.Get("Content-Type")
		if ct == "" {
			ct = "none"
		}
		return in, &httpError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
			msg: fmt.Sprintf("Send the file as multipart/form-data (part file) or as the text/csv body (Content-Type was %s).", ct)}
	}
	check.End()
	if info, err := os.Stat(in.path); err == nil && info.Size() == 0 {
		return in, &crm.Error{Code: crm.EINVALID, Message: "The file is empty.",
			Fields: map[string]string{"file": "The file is empty: the first line must be a header naming the columns."}}
	}
	if line, col, bad := check.Invalid(); bad {
		in.notUTF8 = fmt.Sprintf("line %d, byte column %d", line, col)
	}
	return in, nil
}

// startImport reads the options and the mapping changes and starts the
// import of the received file.
func (a *API) startImport(ctx context.Context, in *received) (*contact.Import, error) {
	vals := in.vals
	var v crm.Validation
	opts := contact.ImportOptions{DuplicateMode: vals.Get("duplicates"), DefaultRegion: vals.Get("region"), Calendar: vals.Get("calendar")}
	if s := vals.Get("dry_run"); s != "" {
		b, err := strconv.ParseBool(text.ToASCIIDigits(strings.TrimSpace(s)))
		if err != nil {
			v.Add("dry_run", "Use true or false.")
		}
		opts.DryRun = b
	}
	var changes map[string]string
	if s := vals.Get("mapping"); s != "" {
		if err := json.Unmarshal([]byte(s), &changes); err != nil {
			v.Add("mapping", `Send a JSON object from column header to field, such as {"Mobile":"phone"}.`)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	header, m, err := a.contacts.ReadImportHeader(in.path, opts)
	if err != nil {
		return nil, err
	}
	if in.notUTF8 != "" { // the header was fine, a later line is not
		return nil, &crm.Error{Code: crm.EINVALID, Message: "The file is not UTF-8 text.",
			Fields: map[string]string{"file": in.notUTF8 + ": the file is not valid UTF-8 text. Save it as UTF-8 (in Excel: CSV UTF-8)."}}
	}
	for h, field := range changes {
		found := false
		for i, c := range m.Columns {
			if strings.TrimSpace(header[i]) != strings.TrimSpace(h) {
				continue
			}
			found = true
			if c.Field != field {
				m.Columns[i] = contactfile.Column{Header: c.Header, Field: strings.TrimSpace(field)}
			}
		}
		if !found {
			v.Add("mapping", "The file has no column %q.", h)
		}
	}
	if s := vals.Get("date_order"); s != "" {
		m.DateOrder = s
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	opts.Mapping = &m
	return a.contacts.StartImport(ctx, in.path, in.name, opts)
}

// uploadError explains a failure to receive the file.
func uploadError(err error, limit int64) error {
	var tooLarge *http.MaxBytesError
	if errors.Is(err, contactfile.ErrTooLarge) || errors.As(err, &tooLarge) {
		return crm.Errorf(crm.ETOOLARGE, "The file is larger than %d bytes; split it, or use the pivand import command.", limit)
	}
	if _, ok := err.(*crm.Error); ok {
		return err
	}
	if strings.HasPrefix(err.Error(), "api:") { // the disk, not the request
		return err
	}
	return bodyError("body: the upload could not be read: "+err.Error(), "The request body ended early or is not valid multipart/form-data.")
}

func (a *API) handleImportList(w http.ResponseWriter, r *http.Request) {
	page, err := parsePage(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	items, next, err := a.contacts.ListImports(r.Context(), page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, items, next)
}

func (a *API) handleImportGet(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	im, err := a.contacts.FindImport(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, im)
}

func (a *API) handleImportProblems(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	page, err := parsePage(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	items, next, err := a.contacts.ImportProblems(r.Context(), id, page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, items, next)
}

func (a *API) handleImportCancel(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	im, err := a.contacts.CancelImport(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, im)
}

// idempotentUpload is idempotent (see there) for routes whose body is a
// file: the body is spooled to a file in the import directory while it is
// hashed, not buffered in memory, and the handler reads it from there.
func (a *API) idempotentUpload(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keys := r.Header.Values(idempotency.Header)
		if len(keys) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		if len(keys) > 1 {
			a.writeError(w, r, &crm.Error{Code: crm.EINVALID, Message: "Send one Idempotency-Key header.",
				Fields: map[string]string{idempotency.Header: "The header appears more than once."}})
			return
		}
		if err := os.MkdirAll(a.importDir, 0o700); err != nil {
			a.writeError(w, r, fmt.Errorf("api: import directory: %w", err))
			return
		}
		spool, err := os.CreateTemp(a.importDir, "request-*.part")
		if err != nil {
			a.writeError(w, r, fmt.Errorf("api: spool upload: %w", err))
			return
		}
		defer os.Remove(spool.Name())
		defer spool.Close()
		h := sha256.New()
		if _, err := io.Copy(io.MultiWriter(spool, h), r.Body); err != nil {
			a.writeError(w, r, uploadError(err, a.maxUpload))
			return
		}
		if _, err := spool.Seek(0, io.SeekStart); err != nil {
			a.writeError(w, r, fmt.Errorf("api: spool upload: %w", err))
			return
		}
		req := idempotency.Request{UserID: crm.UserIDFromContext(r.Context()), Key: keys[0],
			Method: r.Method, Path: r.URL.RequestURI(), Body: []byte("sha256:" + hex.EncodeToString(h.Sum(nil)))}
		stored, err := a.idem.Begin(r.Context(), req)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if stored != nil {
			if stored.ContentType != "" {
				w.Header().Set("Content-Type", stored.ContentType)
			}
			w.Header().Set(replayedHeader, "true")
			w.WriteHeader(stored.Status)
			w.Write(stored.Body)
			return
		}
		ctx := context.WithoutCancel(r.Context())
		rec := &recorder{ResponseWriter: w}
		finished := false
		defer func() {
			if !finished {
				a.releaseKey(ctx, req)
			}
		}()
		r.Body = io.NopCloser(spool)
		next.ServeHTTP(rec, r)
		finished = true
		if rec.status >= http.StatusInternalServerError {
			a.releaseKey(ctx, req)
			return
		}
		resp := idempotency.Response{Status: rec.status, ContentType: rec.Header().Get("Content-Type"), Body: rec.body.Bytes()}
		if resp.Status == 0 {
			resp.Status = http.StatusOK
		}
		if err := a.idem.Complete(ctx, req, resp); err != nil {
			a.log.ErrorContext(ctx, "api: store idempotent response", "path", req.Path, "err", err)
		}
	})
}

// newImportPath names a new file in dir.
func newImportPath(dir string) string {
	b := make([]byte, 16)
	rand.Read(b)
	return filepath.Join(dir, base64.RawURLEncoding.EncodeToString(b)+".csv")
}
