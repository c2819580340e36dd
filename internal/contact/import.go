package contact

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pivand/pivand/internal/contactfile"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/text"
)

// Bulk import of people from CSV files.
//
// An import is a row of the imports table plus a file on disk. It is read
// in batches (up to ImportOptions.BatchSize rows, 16,000 by default, or two
// seconds of work); each batch is one transaction that writes the batch's
// people, its problems, its counters AND the byte offset where the next
// batch starts. After a crash
// (or kill -9, or a lost job lease) RunImport continues from the last
// committed offset: a row is never lost and never imported twice. Every
// batch transaction first moves the checkpoint from the offset its rows
// were read from, so two workers running the same import cannot both
// commit the same rows: the second one's update matches nothing and it
// rolls back.
//
// Duplicates are found by the keys the service uses (email, E.164 phone,
// normalised full name) against stored people and against earlier rows of
// the same file. An email or phone match makes a row a duplicate. A full
// name alone makes it one only when the row has neither email nor phone:
// two rows named «Ali Rezaei» with different addresses are two people,
// and skipping or merging them would lose one. A row with Pivand's own id
// column (a Pivand export) matches the stored person with that id when
// the two share an email, a phone or the full name (so an export edited in
// a spreadsheet updates the right people, and an export from another
// Pivand, whose ids mean other people, is matched by its keys alone).
//
// Imported people are written without a contact.created event each: one
// import.finished event (subject "import") carries the totals, and the
// import's row is the record of what it did. A million events would
// double the write volume and flood subscribers (webhooks, automation)
// that react to people created one by one; a subscriber that must see
// imported people reacts to import.finished. The import is audited once
// when it is created.

// Duplicate modes of an import.
const (
	DuplicatesSkip   = "skip"   // a duplicate row is not imported (reported with the person it matches)
	DuplicatesUpdate = "update" // a duplicate row fills in and overwrites the matching person's fields
	DuplicatesCreate = "create" // every row is imported; duplicates are not looked for
)

// JobImport is the job kind that runs an import started with StartImport.
const JobImport = "contact.import"

// MaxImportProblems is how many problems an import keeps; later ones are
// only counted.
const MaxImportProblems = 1000

// DefaultImportBatch is the most rows one transaction writes.
const DefaultImportBatch = 16000

// Problem kinds of an import.
const (
	ProblemError     = "error"
	ProblemDuplicate = "duplicate"
)

// ImportOptions control an import. They are saved with the import, so a
// resumed import reads the rest of the file the same way.
type ImportOptions struct {
	// Mapping says what each column holds; nil detects it from the header
	// (Google Contacts, Outlook, HubSpot and Pivand exports, and plain
	// English, Persian and Arabic headers).
	Mapping *contactfile.Mapping `json:"-"`
	// DuplicateMode is skip (default), update or create.
	DuplicateMode string `json:"duplicates"`
	// DefaultRegion reads phone numbers without a country code; default
	// the service's region.
	DefaultRegion string `json:"region"`
	// Calendar of dates in the file: "" (the year decides), "gregorian" or
	// "jalali".
	Calendar string `json:"calendar,omitempty"`
	// DryRun validates every row and looks for duplicates but writes
	// nothing except the import's report.
	DryRun bool `json:"dry_run"`
	// BatchSize is the most rows per transaction (default 16,000; a
	// transaction also commits after two seconds).
	BatchSize int `json:"batch_size,omitempty"`
	// Delimiter is detected when the import is created.
	Delimiter rune `json:"delimiter,omitempty"`
	// BulkLoad is "" (a large import into SQLite runs as a bulk load when
	// the file is large next to the people already stored), "on" or "off".
	// See bulk.go in internal/store and "Bulk loads" below.
	BulkLoad string `json:"bulk_load,omitempty"`
	// OwnedFile is set for imports started with StartImport (uploaded
	// through the web or the API): the file is Pivand's, and is deleted
	// when the import finishes (see removeFile).
	OwnedFile bool `json:"owned_file,omitempty"`
}

// Import is an import's state and totals. During a dry run Created and
// Updated count the people that would be created and updated.
type Import struct {
	ID         int64               `json:"id"`
	UserID     int64               `json:"user_id,omitempty"`
	FileName   string              `json:"file_name"`
	FilePath   string              `json:"-"`
	FileSize   int64               `json:"file_size"`
	Status     string              `json:"status"` // pending, running, done, failed, cancelled
	DryRun     bool                `json:"dry_run"`
	Options    ImportOptions       `json:"options"`
	Mapping    contactfile.Mapping `json:"mapping"`
	Offset     int64               `json:"byte_offset"` // bytes of the file done
	Line       int                 `json:"line"`        // the line the next unread row starts on
	Rows       int64               `json:"rows"`        // rows read
	Created    int64               `json:"created"`
	Updated    int64               `json:"updated"`
	Skipped    int64               `json:"skipped"`
	Duplicates int64               `json:"duplicates"`
	Errors     int64               `json:"errors"`
	Problems   int                 `json:"problems"` // problems kept (at most MaxImportProblems); FindImport fills it
	Message    string              `json:"message,omitempty"`
	CreatedAt  time.Time           `json:"created_at"`
	StartedAt  *time.Time          `json:"started_at"`
	FinishedAt *time.Time          `json:"finished_at"`
}

// Percent is how much of the file is done, by bytes (0–100).
func (im *Import) Percent() float64 {
	if im.Status == store.ImportDone {
		return 100
	}
	if im.FileSize <= 0 {
		return 0
	}
	return min(100, 100*float64(im.Offset)/float64(im.FileSize))
}

// Finished reports whether the import will not run again.
func (im *Import) Finished() bool {
	switch im.Status {
	case store.ImportDone, store.ImportFailed, store.ImportCancelled:
		return true
	}
	return false
}

// ImportProblem is one problem with one row: an error (the row was not
// imported) or a duplicate (with the person it matched, when stored).
type ImportProblem struct {
	Line      int    `json:"line"`
	Kind      string `json:"kind"`
	Field     string `json:"field,omitempty"` // the CSV column or contact field; "" for the whole row
	Message   string `json:"message"`
	ContactID int64  `json:"contact_id,omitempty"`
}

func (p ImportProblem) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "line %d: ", p.Line)
	if p.Field != "" {
		fmt.Fprintf(&b, "%s: ", p.Field)
	}
	b.WriteString(p.Message)
	return b.String()
}

func toImport(r *store.ImportRow) *Import {
	im := &Import{
		ID: r.ID, UserID: r.UserID, FileName: r.FileName, FilePath: r.FilePath, FileSize: r.FileSize,
		Status: r.Status, DryRun: r.DryRun, Offset: r.Offset, Line: r.Line,
		Rows: r.Counts.Rows, Created: r.Counts.Created, Updated: r.Counts.Updated, Skipped: r.Counts.Skipped,
		Duplicates: r.Counts.Duplicates, Errors: r.Counts.Errors, Message: r.Message,
		CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
	}
	_ = json.Unmarshal([]byte(r.Options), &im.Options)
	_ = json.Unmarshal([]byte(r.Mapping), &im.Mapping)
	m := im.Mapping
	im.Options.Mapping = &m
	return im
}

// importError is an import that failed for good (status failed): the file
// is gone or cannot be read. A job does not retry it.
type importError struct{ msg string }

func (e *importError) Error() string { return e.msg }

func (e *importError) Unwrap() error {
	return &crm.Error{Code: crm.EINVALID, Message: e.msg}
}

// normalizeImportOptions checks opts and fills in defaults.
func (s *Service) normalizeImportOptions(opts *ImportOptions) error {
	var v crm.Validation
	opts.DuplicateMode = strings.ToLower(strings.TrimSpace(opts.DuplicateMode))
	switch opts.DuplicateMode {
	case "":
		opts.DuplicateMode = DuplicatesSkip
	case DuplicatesSkip, DuplicatesUpdate, DuplicatesCreate:
	default:
		v.Add("duplicates", "Use skip, update or create.")
	}
	opts.DefaultRegion = strings.ToUpper(strings.TrimSpace(opts.DefaultRegion))
	if opts.DefaultRegion == "" {
		opts.DefaultRegion = s.region
	}
	if _, err := text.NormalizePhone("1", opts.DefaultRegion); err != nil && strings.Contains(err.Error(), "unknown region") {
		v.Add("region", "%q is not a country code such as IR, AE or US.", opts.DefaultRegion)
	}
	opts.Calendar = strings.ToLower(strings.TrimSpace(opts.Calendar))
	switch opts.Calendar {
	case "", text.CalendarGregorian, text.CalendarJalali:
	default:
		v.Add("calendar", "Use gregorian or jalali.")
	}
	if opts.BatchSize < 0 || opts.BatchSize > 20000 {
		v.Add("batch_size", "Use 1 to 20,000 rows per batch.")
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = DefaultImportBatch
	}
	opts.BulkLoad = strings.ToLower(strings.TrimSpace(opts.BulkLoad))
	switch opts.BulkLoad {
	case "", "on", "off":
	default:
		v.Add("bulk_load", "Use on or off, or leave it out.")
	}
	return v.Err()
}

func (o *ImportOptions) csvOptions() contactfile.CSVOptions {
	return contactfile.CSVOptions{Delimiter: o.Delimiter, DefaultRegion: o.DefaultRegion, Calendar: o.Calendar, Mapping: o.Mapping}
}

// fileError turns a problem reading the file's header into a clear
// EINVALID error naming the file.
func fileError(name string, err error) error {
	var fe *contactfile.FormatError
	if errors.As(err, &fe) {
		return &crm.Error{Code: crm.EINVALID, Message: name + ": " + fe.Error(), Fields: map[string]string{"file": fe.Error()}}
	}
	var ce *crm.Error
	if errors.As(err, &ce) {
		return err
	}
	return &crm.Error{Code: crm.EINVALID, Message: name + ": " + err.Error(), Fields: map[string]string{"file": err.Error()}}
}

// ReadImportHeader reads the header of a CSV file and returns it with the
// mapping an import would use (opts.Mapping when set, else the detected
// one), so a form or the command line can show and change it.
func (s *Service) ReadImportHeader(path string, opts ImportOptions) ([]string, contactfile.Mapping, error) {
	if err := s.normalizeImportOptions(&opts); err != nil {
		return nil, contactfile.Mapping{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, contactfile.Mapping{}, &crm.Error{Code: crm.EINVALID, Message: fmt.Sprintf("Cannot open %s: %v", path, errors.Unwrap(err))}
	}
	defer f.Close()
	r, err := contactfile.NewCSVReader(f, opts.csvOptions())
	if err != nil {
		return nil, contactfile.Mapping{}, fileError(filepath.Base(path), err)
	}
	return r.Header(), r.Mapping(), nil
}

// StartImport records an import of the CSV file at path (shown as name)
// and queues a job (JobImport) that runs it. The file must stay where it
// is until the import finishes. The header is read and the mapping
// checked at once, so a file that cannot be imported is refused here.
func (s *Service) StartImport(ctx context.Context, path, name string, opts ImportOptions) (*Import, error) {
	return s.createImport(ctx, path, name, opts, true)
}

// CreateImport records an import like StartImport but queues no job: the
// caller runs it with RunImport (the command line does, in-process).
func (s *Service) CreateImport(ctx context.Context, path, name string, opts ImportOptions) (*Import, error) {
	return s.createImport(ctx, path, name, opts, false)
}

func (s *Service) createImport(ctx context.Context, path, name string, opts ImportOptions, enqueue bool) (*Import, error) {
	if err := crm.Authorize(ctx, crm.PermContactsWrite, true); err != nil {
		return nil, err
	}
	if err := s.normalizeImportOptions(&opts); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, &crm.Error{Code: crm.EINVALID, Message: fmt.Sprintf("Bad file path %s: %v", path, err)}
	}
	if name == "" {
		name = filepath.Base(abs)
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, &crm.Error{Code: crm.EINVALID, Message: fmt.Sprintf("Cannot open %s: %v", path, errors.Unwrap(err)), Fields: map[string]string{"file": "Cannot open the file."}}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, &crm.Error{Code: crm.EINVALID, Message: path + " is a directory, not a CSV file.", Fields: map[string]string{"file": "Not a file."}}
	}
	r, err := contactfile.NewCSVReader(f, opts.csvOptions())
	if err != nil {
		return nil, fileError(name, err)
	}
	mapping := r.Mapping()
	if err := mapping.Validate(r.Header()); err != nil {
		return nil, err
	}
	opts.Delimiter = r.Delimiter()
	opts.OwnedFile = enqueue
	if enqueue {
		s.sweepImportFiles(ctx)
	}
	im := &store.ImportRow{
		UserID:   crm.UserIDFromContext(ctx),
		FilePath: abs,
		FileName: name,
		FileSize: fi.Size(),
		Mapping:  string(mustJSON(mapping)),
		Options:  string(mustJSON(opts)),
		DryRun:   opts.DryRun,
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if err := checkMappingCustom(ctx, tx, mapping); err != nil {
			return err
		}
		if err := tx.InsertImport(ctx, im); err != nil {
			return err
		}
		if enqueue {
			if _, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobImport, Payload: map[string]int64{"import_id": im.ID},
				UniqueKey: fmt.Sprintf("import:%d", im.ID)}); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, "contact.import", "import", im.ID, nil, map[string]any{
			"file": name, "size": fi.Size(), "options": opts, "mapping": mapping})
	})
	if err != nil {
		return nil, err
	}
	return toImport(im), nil
}

// checkMappingCustom refuses columns mapped to custom fields that do not
// exist, instead of failing every row.
func checkMappingCustom(ctx context.Context, tx *store.Tx, m contactfile.Mapping) error {
	var keys []string
	for _, c := range m.Columns {
		if k, ok := strings.CutPrefix(c.Field, contactfile.CustomPrefix); ok {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	fields, err := tx.ListCustomFields(ctx, "contact")
	if err != nil {
		return err
	}
	var v crm.Validation
	for i, c := range m.Columns {
		k, ok := strings.CutPrefix(c.Field, contactfile.CustomPrefix)
		if ok && !slices.ContainsFunc(fields, func(f *crm.CustomField) bool { return f.Key == k }) {
			v.Add(fmt.Sprintf("column %d", i+1), "Column %q: there is no custom field %q.", c.Header, k)
		}
	}
	return v.Err()
}

// FindImport returns an import with its totals and the number of problems
// kept.
func (s *Service) FindImport(ctx context.Context, id int64) (*Import, error) {
	if err := crm.Authorize(ctx, crm.PermContactsRead, false); err != nil {
		return nil, err
	}
	var im *Import
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		r, err := tx.FindImport(ctx, id)
		if err != nil {
			return err
		}
		im = toImport(r)
		im.Problems, err = tx.CountImportProblems(ctx, id)
		return err
	})
	return im, err
}

// ListImports lists imports, newest first.
func (s *Service) ListImports(ctx context.Context, page crm.Page) ([]*Import, string, error) {
	if err := crm.Authorize(ctx, crm.PermContactsRead, false); err != nil {
		return nil, "", err
	}
	out := []*Import{}
	var next string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		rows, n, err := tx.ListImports(ctx, page)
		for _, r := range rows {
			out = append(out, toImport(r))
		}
		next = n
		return err
	})
	return out, next, err
}

// ImportProblems lists an import's problems in line order.
func (s *Service) ImportProblems(ctx context.Context, id int64, page crm.Page) ([]ImportProblem, string, error) {
	if err := crm.Authorize(ctx, crm.PermContactsRead, false); err != nil {
		return nil, "", err
	}
	out := []ImportProblem{}
	var next string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		if _, err := tx.FindImport(ctx, id); err != nil {
			return err
		}
		ps, n, err := tx.ImportProblems(ctx, id, page)
		for _, p := range ps {
			out = append(out, ImportProblem(p))
		}
		next = n
		return err
	})
	return out, next, err
}

// CancelImport stops a pending or running import. People imported by
// batches that already committed stay; the batch being written when the
// cancel arrives is rolled back. Cancelling a finished import is a
// conflict.
func (s *Service) CancelImport(ctx context.Context, id int64) (*Import, error) {
	if err := crm.Authorize(ctx, crm.PermContactsWrite, true); err != nil {
		return nil, err
	}
	var im *Import
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		r, err := tx.FindImport(ctx, id)
		if err != nil {
			return err
		}
		ok, err := tx.CancelImport(ctx, id)
		if err != nil {
			return err
		}
		if !ok {
			return crm.Errorf(crm.ECONFLICT, "The import has already finished (%s).", r.Status)
		}
		if err := tx.Audit(ctx, "contact.import_cancel", "import", id, nil, nil); err != nil {
			return err
		}
		if r, err = tx.FindImport(ctx, id); err != nil {
			return err
		}
		im = toImport(r)
		removeFile(tx, im)
		return nil
	})
	if err == nil {
		// A bulk load whose import no worker runs ends now; one a worker
		// runs ends when the worker notices.
		_, err = s.RecoverBulkLoads(ctx)
	}
	return im, err
}

// RegisterJobs registers the import job's handler on r.
func (s *Service) RegisterJobs(r *jobs.Runner) {
	r.Handle(JobImport, func(ctx context.Context, j *jobs.Claimed) error {
		var p struct {
			ImportID int64 `json:"import_id"`
		}
		if err := j.Decode(&p); err != nil {
			return err
		}
		_, err := s.RunImport(ctx, p.ImportID)
		var ie *importError
		if errors.As(err, &ie) || crm.ErrorCode(err) == crm.ENOTFOUND {
			return jobs.Permanent(err)
		}
		return err
	})
}

// RunImport runs (or resumes) an import until the file is done, and
// returns its final state. An import that has already finished is
// returned as it is. When ctx ends, the import stops after rolling back
// the batch in progress and stays running: RunImport resumes it later. A
// file that cannot be read fails the import (status failed) and returns an
// EINVALID error.
func (s *Service) RunImport(ctx context.Context, id int64) (*Import, error) {
	return s.RunImportProgress(ctx, id, nil)
}

// RunImportProgress is RunImport calling progress after each committed
// batch with the import's totals so far.
func (s *Service) RunImportProgress(ctx context.Context, id int64, progress func(*Import)) (*Import, error) {
	if err := crm.Authorize(ctx, crm.PermContactsWrite, true); err != nil {
		return nil, err
	}
	var (
		row *store.ImportRow
		ok  bool
	)
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if row, err = tx.FindImport(ctx, id); err != nil {
			return err
		}
		if row.Entity != "contact" {
			return crm.Errorf(crm.EINVALID, "Import %d is not an import of people.", id)
		}
		ok, err = tx.StartImportRun(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return s.FindImport(ctx, id)
	}
	im := toImport(row)
	im.Status = store.ImportRunning
	run, err := s.newImportRun(ctx, im)
	if err != nil {
		return nil, err
	}
	run.progress = progress
	return run.run(ctx)
}

// importRun is one run of an import: from where it stopped to the end of
// the file, or to a crash.
type importRun struct {
	s        *Service
	im       *Import
	mode     string
	region   string
	fields   []*crm.CustomField
	users    map[string]store.UserRef // by email
	names    map[string]int64         // active users by normalised name; 0 when two share it
	problems int                      // problems still to keep
	progress func(*Import)

	companies map[string]companyRef // by normalised name
	seen      map[uint64]int        // dry run: keys of earlier rows of the file → line
	seed      maphash.Seed

	writer *store.ContactWriter // prepared INSERTs; nil in a dry run
	bulk   *store.BulkLoad      // the bulk load this run writes in; nil when none
	// staged maps the keys of the people the bulk load wrote (hashed) to
	// the person: their keys are in contact_keys_load, which is not
	// indexed by key. A hit is checked against the table.
	staged map[uint64]int64
	// lookupStored is false while contact_keys is empty (a bulk load into
	// an empty database), so there is nothing stored to look up.
	lookupStored bool

	evHead []byte // the payload of contact.imported up to the line
	evTail string // and after it, with %s for the action
}

type companyRef struct {
	id     int64
	name   string
	tokens string // the normalised words of the name, for people's search text
}

func (s *Service) newImportRun(ctx context.Context, im *Import) (*importRun, error) {
	r := &importRun{s: s, im: im, mode: im.Options.DuplicateMode, region: im.Options.DefaultRegion,
		users: map[string]store.UserRef{}, names: map[string]int64{}, companies: map[string]companyRef{}, seed: maphash.MakeSeed()}
	if r.region == "" {
		r.region = s.region
	}
	if im.DryRun && r.mode != DuplicatesCreate {
		r.seen = map[uint64]int{}
	}
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		if r.fields, err = tx.ListCustomFields(ctx, "contact"); err != nil {
			return err
		}
		us, err := tx.ImportUsers(ctx)
		if err != nil {
			return err
		}
		for _, u := range us {
			r.users[crm.NormalizeEmail(u.Email)] = u
			if !u.Active {
				continue
			}
			k := text.Normalize(u.Name)
			if _, dup := r.names[k]; dup {
				r.names[k] = 0
			} else if k != "" {
				r.names[k] = u.ID
			}
		}
		n, err := tx.CountImportProblems(ctx, im.ID)
		r.problems = max(0, MaxImportProblems-n)
		return err
	})
	return r, err
}

// fail marks the import failed with msg and returns the importError.
func (r *importRun) fail(ctx context.Context, msg string) (*Import, error) {
	wctx := context.WithoutCancel(ctx)
	err := r.s.db.WriteBulk(wctx, func(tx *store.Tx) error {
		ok, err := tx.FinishImport(wctx, r.im.ID, store.ImportFailed, msg)
		if err != nil || !ok {
			return err
		}
		if err := tx.EndBulkLoad(wctx, r.im.ID); err != nil {
			return err
		}
		if err := r.finished(wctx, tx); err != nil {
			return err
		}
		return r.finishEvent(wctx, tx, store.ImportFailed)
	})
	if err != nil {
		return nil, err
	}
	im, _ := r.s.FindImport(wctx, r.im.ID)
	return im, &importError{msg: msg}
}

// finished runs in the transaction that finishes the import (done or
// failed): the user who started it gets an import_done notification (the
// command line's imports have no user), and an uploaded file goes once the
// transaction commits.
func (r *importRun) finished(ctx context.Context, tx *store.Tx) error {
	im := r.im
	removeFile(tx, im)
	if im.UserID == 0 {
		return nil
	}
	return tx.InsertNotification(ctx, &crm.Notification{UserID: im.UserID, Kind: "import_done", Title: im.FileName,
		Link: "/contacts/imports/" + strconv.FormatInt(im.ID, 10)})
}

// removeFile deletes an uploaded import's file after tx commits. A dry
// run's file stays for the real run that may follow (the web UI offers
// it); sweepImportFiles removes it later.
func removeFile(tx *store.Tx, im *Import) {
	if im.Options.OwnedFile && !im.DryRun {
		path := im.FilePath
		tx.AfterCommit(func() { os.Remove(path) })
	}
}

// importFileKeep is how long the file of a finished dry run is kept for
// a real run of it.
const importFileKeep = 7 * 24 * time.Hour

// sweepImportFiles removes the uploaded files of imports that finished
// more than importFileKeep ago and that no newer import uses: those of dry
// runs never run for real (and any left by a crash between a commit and
// its removal). It runs when a new upload is imported.
func (s *Service) sweepImportFiles(ctx context.Context) {
	var paths []string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		rows, err := tx.FinishedImportFiles(ctx, s.db.Now().Add(-importFileKeep))
		for _, r := range rows {
			var o ImportOptions
			if json.Unmarshal([]byte(r.Options), &o) == nil && o.OwnedFile {
				paths = append(paths, r.FilePath)
			}
		}
		return err
	})
	if err != nil {
		return // a sweep that fails now runs again with the next upload
	}
	for _, p := range paths {
		os.Remove(p)
	}
}

// finishEvent emits import.finished; a dry run writes nothing but its
// report, so it emits none.
func (r *importRun) finishEvent(ctx context.Context, tx *store.Tx, status string) error {
	im := r.im
	if im.DryRun {
		return nil
	}
	return tx.Emit(ctx, &crm.Event{Type: crm.EventImportFinished, SubjectType: "import", SubjectID: im.ID, ActorID: im.UserID,
		Payload: mustJSON(map[string]any{"file_name": im.FileName, "status": status, "dry_run": im.DryRun,
			"rows": im.Rows, "created": im.Created, "updated": im.Updated, "skipped": im.Skipped,
			"duplicates": im.Duplicates, "errors": im.Errors})})
}

// batch is rows read and prepared, with the checkpoint after them.
type batch struct {
	items []*item
	cp    contactfile.Checkpoint
	err   error // the file cannot be read on (after items)
}

// item is one row on its way into the database.
type item struct {
	line      int
	cr        *store.ContactRow // nil when the row has errors
	fileID    int64             // Pivand id column
	companies []string
	compKeys  []string // the companies' normalised names (text.Normalize), computed while preparing
	role      string
	problems  []store.ImportProblem

	// decided while writing
	target  *item // a row earlier in the batch this one merges into
	dupOf   int64 // the stored person this row duplicates
	dupLine int   // dry run: the earlier line of the file it duplicates
	dupWhy  string
}

// EventContactImported is the timeline entry of a person an import
// created or updated: one per person, so that a person's timeline says
// where the person came from. The events are written in bulk with the
// people (about 3 µs a person) and carry ContactID; they are not
// contact.created events, so subscribers that react to people created one
// by one (webhooks, automation) are not run a million times: they react to
// import.finished.
const EventContactImported = "contact.imported"

// ImportedPayload is the payload of contact.imported.
type ImportedPayload struct {
	ImportID int64  `json:"import_id"`
	FileName string `json:"file_name"`
	Line     int    `json:"line"`   // the row's line in the file
	Action   string `json:"action"` // created or updated
}

func (r *importRun) importedEvent(contactID int64, line int, action string) crm.Event {
	// The payload is the same but for the line: marshal the rest once.
	if r.evHead == nil {
		b := mustJSON(ImportedPayload{ImportID: r.im.ID, FileName: r.im.FileName, Line: -1, Action: "-"})
		head, tail, _ := strings.Cut(string(b), `"line":-1`)
		r.evHead, r.evTail = []byte(head+`"line":`), strings.Replace(tail, `"-"`, `"%s"`, 1)
	}
	p := make([]byte, 0, len(r.evHead)+len(r.evTail)+16)
	p = strconv.AppendInt(append(p, r.evHead...), int64(line), 10)
	p = fmt.Appendf(p, r.evTail, action)
	return crm.Event{Type: EventContactImported, SubjectType: "contact", SubjectID: contactID, ContactID: contactID,
		ActorID: r.im.UserID, Payload: p}
}

// errStopped means the import was cancelled or taken over while running.
var errStopped = errors.New("import stopped")

// testHookBatch, when set, runs inside each batch transaction after the
// rows are written; an error rolls the batch back (tests simulate a crash
// with it).
var testHookBatch func(importID int64, cp contactfile.Checkpoint) error

func (r *importRun) run(ctx context.Context) (*Import, error) {
	im := r.im
	f, err := os.Open(im.FilePath)
	if err != nil {
		return r.fail(ctx, fmt.Sprintf("Cannot open %s: %v", im.FileName, errors.Unwrap(err)))
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() != im.FileSize {
		return r.fail(ctx, fmt.Sprintf("%s changed since the import started (it was %d bytes); import it again as a new file.", im.FileName, im.FileSize))
	}
	opts := im.Options.csvOptions()
	opts.Mapping = &im.Mapping
	rd, err := contactfile.NewCSVReaderAt(f, contactfile.Checkpoint{Offset: im.Offset, Line: im.Line, Rows: int(im.Rows)}, opts)
	if err != nil {
		return r.fail(ctx, fileError(im.FileName, err).Error())
	}

	r.lookupStored = true
	if !im.DryRun {
		if r.writer, err = r.s.db.NewContactWriter(ctx); err != nil {
			return nil, err
		}
		defer r.writer.Close()
		if err := r.startBulk(ctx); err != nil {
			return nil, err
		}
	}
	tune := r.s.db.BulkWrites
	if r.bulk != nil {
		tune = r.s.db.BulkLoadWrites
	}
	restore, err := tune(ctx)
	if err != nil {
		return nil, err
	}
	defer restore()

	pctx, cancel := context.WithCancel(ctx)
	batches := make(chan batch, 1)
	var wg sync.WaitGroup
	wg.Go(func() { r.read(pctx, rd, batches) })
	defer func() {
		cancel()
		for range batches { // let the reader finish and close
		}
		wg.Wait()
	}()

	from := im.Offset
	for b := range batches {
		last, closed, err := r.writeTx(ctx, from, b, batches)
		if err != nil {
			if errors.Is(err, errStopped) {
				return r.stopped(ctx)
			}
			return nil, err
		}
		from = last.cp.Offset
		if r.progress != nil {
			cp := *r.im
			r.progress(&cp)
		}
		if last.err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return r.fail(ctx, fileError(im.FileName, last.err).Error())
		}
		if closed {
			break
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	write := r.s.db.Write
	if r.bulk != nil {
		write = r.s.db.WriteBulk
		// The next half minute is SQLite's (sorting and indexing): give
		// the map of the load's keys back first.
		r.staged = nil
		debug.FreeOSMemory()
	}
	err = write(ctx, func(tx *store.Tx) error {
		ok, err := tx.FinishImport(ctx, im.ID, store.ImportDone, "")
		if err != nil {
			return err
		}
		if !ok {
			return errStopped
		}
		if r.bulk != nil {
			// Indexes the people of the load: the long part of a bulk
			// load, in the transaction that marks the import done.
			if err := tx.EndBulkLoad(ctx, im.ID); err != nil {
				return err
			}
		}
		if err := r.finished(ctx, tx); err != nil {
			return err
		}
		return r.finishEvent(ctx, tx, store.ImportDone)
	})
	if errors.Is(err, errStopped) {
		return r.stopped(ctx)
	}
	if err != nil {
		return nil, err
	}
	out, err := r.s.FindImport(ctx, im.ID)
	if err == nil && r.progress != nil {
		r.progress(out)
	}
	return out, err
}

// stopped explains why a batch could not commit: the import was cancelled
// (not an error) or another worker is running it.
func (r *importRun) stopped(ctx context.Context) (*Import, error) {
	im, err := r.s.FindImport(ctx, r.im.ID)
	if err != nil {
		return nil, err
	}
	if im.Status == store.ImportRunning {
		return im, crm.Errorf(crm.ECONFLICT, "Import %d is being run by another worker.", im.ID)
	}
	if r.bulk != nil { // cancelled: index what the load wrote
		if _, err := r.s.RecoverBulkLoads(ctx); err != nil {
			return nil, err
		}
	}
	return im, nil
}

// Bulk loads. A large import into SQLite (more than bulkMinBytes of file
// left, and at most as many people stored as the rest of the file holds,
// so that indexing everyone at the end costs at most twice what indexing
// the new people would) runs as a bulk load (store.BeginBulkLoad): the
// full-text triggers and the sort-name index are dropped and the new
// people's keys are staged, and the import's last transaction indexes
// everything in one pass (store.EndBulkLoad). Duplicates are still found:
// against stored people in contact_keys as usual, and against the people
// of the load itself through a map of their keys' hashes, each hit checked
// against contact_keys_load. A resumed import finds its load and rebuilds
// the map from contact_keys_load; an import left unfinished is cleaned up
// by RecoverBulkLoads once its heartbeat is older than bulkStale.
const (
	bulkMinBytes    = 16 << 20 // about 100,000 people
	bulkBytesPerRow = 160      // a guess at the bytes per person of a CSV file, for the size test
	bulkStale       = 2 * time.Minute
	bulkTxRows      = 4000
)

// startBulk resumes this import's bulk load or, when the import is large
// enough and no other load runs, begins one.
func (r *importRun) startBulk(ctx context.Context) error {
	if r.s.db.Dialect() != store.SQLite || r.im.Options.BulkLoad == "off" {
		return nil
	}
	if _, err := r.s.recoverBulkLoads(ctx, r.im.ID); err != nil {
		return err
	}
	return r.s.db.Write(ctx, func(tx *store.Tx) error {
		b, err := tx.BulkLoadOf(ctx, r.im.ID)
		if err != nil {
			return err
		}
		if b == nil {
			loads, err := tx.BulkLoads(ctx)
			if err != nil || len(loads) > 0 { // another import's load: its end indexes these people too
				return err
			}
			if r.im.Options.BulkLoad != "on" {
				left := r.im.FileSize - r.im.Offset
				if left < bulkMinBytes {
					return nil
				}
				limit := left / bulkBytesPerRow
				if n, err := tx.CountContactsUpTo(ctx, limit+1); err != nil || n > limit {
					return err
				}
			}
			if b, err = tx.BeginBulkLoad(ctx, r.im.ID); err != nil {
				return err
			}
		}
		r.bulk = b
		r.staged = map[uint64]int64{}
		return tx.StagedKeys(ctx, func(k store.ContactKey, id int64) {
			if h := r.keyHash(k); r.staged[h] == 0 {
				r.staged[h] = id
			}
		})
	})
}

// bulkTx runs at the start of each batch transaction of a bulk load: it
// moves the load's heartbeat, notices a load that was ended meanwhile (the
// import then goes on as a plain one) and checks whether there are stored
// keys to look up.
func (r *importRun) bulkTx(ctx context.Context, tx *store.Tx) error {
	if r.bulk == nil {
		return nil
	}
	ok, err := tx.TouchBulkLoad(ctx, r.im.ID)
	if err != nil {
		return err
	}
	if !ok {
		r.bulk, r.staged, r.lookupStored = nil, nil, true
		return nil
	}
	r.lookupStored, err = tx.AnyContactKeys(ctx)
	return err
}

// RecoverBulkLoads ends the bulk loads left behind by imports that stopped
// for good (done, failed, cancelled or deleted) or whose last commit is
// older than two minutes (a crash, kill -9, or Ctrl+C without resuming),
// and restores the contacts schema when no load is left (also when it was
// found incomplete without a load: a repair). It reports whether it
// restored anything. Imports call it before they start; the server calls
// it when it starts. An import resumed later goes on without bulk mode
// or begins a new load.
func (s *Service) RecoverBulkLoads(ctx context.Context) (bool, error) {
	return s.recoverBulkLoads(ctx, 0)
}

func (s *Service) recoverBulkLoads(ctx context.Context, keep int64) (bool, error) {
	if err := crm.Authorize(ctx, crm.PermContactsWrite, true); err != nil {
		return false, err
	}
	if s.db.Dialect() != store.SQLite {
		return false, nil
	}
	var intact bool
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		intact, err = tx.ContactSchemaIntact(ctx)
		return err
	})
	if err != nil || intact {
		return false, err
	}
	restored := false
	err = s.db.WriteBulk(ctx, func(tx *store.Tx) error {
		restored = false
		loads, err := tx.BulkLoads(ctx)
		if err != nil {
			return err
		}
		alive := 0
		for _, b := range loads {
			if b.ImportID == keep {
				alive++
				continue
			}
			im, err := tx.FindImport(ctx, b.ImportID)
			switch {
			case crm.ErrorCode(err) == crm.ENOTFOUND:
			case err != nil:
				return err
			case (im.Status == store.ImportPending || im.Status == store.ImportRunning) && tx.Now().Sub(b.HeartbeatAt) < bulkStale:
				alive++
				continue
			}
			if err := tx.EndBulkLoad(ctx, b.ImportID); err != nil {
				return err
			}
			restored = true
		}
		if alive == 0 && !restored {
			if ok, err := tx.ContactSchemaIntact(ctx); err != nil || ok {
				return err
			}
			restored = true
			return tx.RestoreContactSchema(ctx)
		}
		return nil
	})
	return restored, err
}

// read reads and prepares batches until the end of the file, an error, or
// ctx ends, then closes out.
func (r *importRun) read(ctx context.Context, rd *contactfile.CSVReader, out chan<- batch) {
	defer close(out)
	workers := runtime.GOMAXPROCS(0)
	size := r.im.Options.BatchSize
	if size <= 0 {
		size = DefaultImportBatch
	}
	size = min(size, readChunk)
	for ctx.Err() == nil {
		rows, err := rd.NextBatch(size, workers)
		if err == io.EOF {
			return
		}
		b := batch{cp: rd.Checkpoint()}
		if err != nil {
			b.err = err
		}
		if len(rows) > 0 {
			b.items = make([]*item, len(rows))
			parallel(len(rows), workers, func(i int) { b.items[i] = r.prepare(&rows[i]) })
		}
		select {
		case out <- b:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// parallel runs fn(0..n-1) on up to workers goroutines.
func parallel(n, workers int, fn func(i int)) {
	if workers <= 1 || n < 64 {
		for i := range n {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// prepare validates one row with the service's rules (Prepare), resolves
// its owner, and derives its keys. It runs on several goroutines and
// touches no database.
func (r *importRun) prepare(row *contactfile.Row) *item {
	it := &item{line: row.Line}
	if len(row.Errors) > 0 {
		byField := map[string]int{}
		for _, e := range row.Errors {
			field := e.Field
			if field == "" && e.Target != "" {
				field = e.Target
			}
			if i, ok := byField[field]; ok {
				it.problems[i].Message += " " + e.Message
				continue
			}
			byField[field] = len(it.problems)
			it.problems = append(it.problems, store.ImportProblem{Line: row.Line, Kind: ProblemError, Field: field, Message: e.Message})
		}
		return it
	}
	c := row.Contact
	it.fileID, c.ID = c.ID, 0
	var v crm.Validation
	switch {
	case row.OwnerEmail != "":
		u, ok := r.users[crm.NormalizeEmail(row.OwnerEmail)]
		switch {
		case !ok:
			v.Add("owner_email", "No user has the email %s.", row.OwnerEmail)
		case !u.Active:
			v.Add("owner_email", "The user %s is deactivated.", row.OwnerEmail)
		default:
			c.OwnerID = &u.ID
		}
	case row.OwnerName != "":
		id, ok := r.names[text.Normalize(row.OwnerName)]
		switch {
		case !ok:
			v.Add("owner_email", "No active user is called %q.", row.OwnerName)
		case id == 0:
			v.Add("owner_email", "Several users are called %q; use the owner's email.", row.OwnerName)
		default:
			c.OwnerID = &id
		}
	}
	it.role = clean(&v, "job_title", row.CompanyRole, 100)
	for _, name := range row.CompanyNames {
		name = clean(&v, "company", name, maxNameLen)
		if name != "" && !slices.Contains(it.companies, name) {
			it.companies = append(it.companies, name)
			it.compKeys = append(it.compKeys, text.Normalize(name))
		}
	}
	if c.Source == "" {
		c.Source = "import"
	}
	cr, err := prepareImported(&c, r.fields, r.region)
	if err != nil || v.Err() != nil {
		fields := crm.ErrorFields(err)
		for k, m := range crm.ErrorFields(v.Err()) {
			if fields == nil {
				fields = map[string]string{}
			}
			fields[k] = m
		}
		if len(fields) == 0 && err != nil {
			fields = map[string]string{"": crm.ErrorMessage(err)}
		}
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			it.problems = append(it.problems, store.ImportProblem{Line: row.Line, Kind: ProblemError, Field: k, Message: fields[k]})
		}
		return it
	}
	cr.EncodeColumns()
	it.cr = cr
	return it
}

// dupKeys are the keys a row is matched by: its emails and phones, or its
// full name when it has neither.
func dupKeys(cr *store.ContactRow) []store.ContactKey {
	strong := 0
	for _, k := range cr.Keys {
		if k.Kind != "name" {
			strong++
		}
	}
	out := make([]store.ContactKey, 0, len(cr.Keys))
	for _, k := range cr.Keys {
		if k.Kind != "name" || strong == 0 {
			out = append(out, k)
		}
	}
	return out
}

// Transactions: rows are read and prepared in chunks of at most
// readChunk rows (bounded memory), and the writer commits a transaction
// when it holds ImportOptions.BatchSize rows or has been open for
// maxTxTime, whichever comes first. Big transactions matter on SQLite:
// every commit rewrites each index page it touched into the WAL, and
// random keys (emails, names) touch a different page per row.
const (
	readChunk = 2000
	maxTxTime = 2 * time.Second
)

// writeTx commits first and as many of the batches that follow on more
// as fit in one transaction: the checkpoint, the people, the problems and
// the totals together. It returns the last batch written and whether more
// was closed.
func (r *importRun) writeTx(ctx context.Context, from int64, first batch, more <-chan batch) (last batch, closed bool, err error) {
	var (
		d        store.ImportCounts
		problems []store.ImportProblem
	)
	txRows := r.im.Options.BatchSize
	if txRows <= 0 {
		txRows = DefaultImportBatch
	}
	if r.bulk != nil {
		// A bulk load appends: small transactions cost no more than big
		// ones, and keep fewer rows in memory.
		txRows = min(txRows, bulkTxRows)
	}
	err = r.s.db.Write(ctx, func(tx *store.Tx) error {
		d, problems, last, closed = store.ImportCounts{}, nil, first, false
		// Claim the rows first: a second worker on the same import waits
		// here (PostgreSQL) and then finds the checkpoint moved.
		ok, err := tx.AdvanceImport(ctx, r.im.ID, from, first.cp.Offset, first.cp.Line, int64(first.cp.Rows))
		if err != nil {
			return err
		}
		if !ok {
			return errStopped
		}
		if err := r.bulkTx(ctx, tx); err != nil {
			return err
		}
		timer := time.NewTimer(maxTxTime)
		defer timer.Stop()
		b, rows := first, 0
	batches:
		for {
			if err := r.apply(ctx, tx, b.items, &d, &problems); err != nil {
				return err
			}
			rows += len(b.items)
			last = b
			if b.err != nil || rows >= txRows {
				break
			}
			select {
			case next, open := <-more:
				if !open {
					closed = true
					break batches
				}
				b = next
			case <-timer.C:
				break batches
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if last.cp != first.cp {
			if ok, err := tx.AdvanceImport(ctx, r.im.ID, first.cp.Offset, last.cp.Offset, last.cp.Line, int64(last.cp.Rows)); err != nil || !ok {
				return cmp.Or(err, errStopped)
			}
		}
		if n := min(len(problems), r.problems); n > 0 {
			if err := tx.InsertImportProblems(ctx, r.im.ID, problems[:n]); err != nil {
				return err
			}
		}
		if err := tx.AddImportCounts(ctx, r.im.ID, d); err != nil {
			return err
		}
		if testHookBatch != nil {
			return testHookBatch(r.im.ID, last.cp)
		}
		return nil
	})
	if err != nil {
		return last, closed, err
	}
	r.problems -= min(len(problems), r.problems)
	im := r.im
	im.Offset, im.Line, im.Rows = last.cp.Offset, last.cp.Line, int64(last.cp.Rows)
	im.Created += d.Created
	im.Updated += d.Updated
	im.Skipped += d.Skipped
	im.Duplicates += d.Duplicates
	im.Errors += d.Errors
	return last, closed, nil
}

// apply writes one batch of rows inside tx, adding to the totals d and
// the problems.
func (r *importRun) apply(ctx context.Context, tx *store.Tx, items []*item, dp *store.ImportCounts, pp *[]store.ImportProblem) error {
	d, problems := *dp, *pp
	defer func() { *dp, *pp = d, problems }()
	var live []*item
	for _, it := range items {
		if it.cr == nil {
			d.Errors++
			problems = append(problems, it.problems...)
			continue
		}
		live = append(live, it)
	}
	if r.mode != DuplicatesCreate {
		if err := r.matchDuplicates(ctx, tx, live); err != nil {
			return err
		}
	}
	var creates, updates []*item
	for _, it := range live {
		switch {
		case it.dupOf == 0 && it.target == nil && it.dupLine == 0:
			creates = append(creates, it)
		case r.mode == DuplicatesUpdate:
			updates = append(updates, it)
		}
	}
	// Merge rows into earlier rows of the batch (update mode) before
	// the companies are resolved.
	for _, it := range updates {
		if it.target != nil {
			if err := r.mergeInto(it.target, it); err != nil {
				it.problems = append(it.problems, rowProblems(it.line, err)...)
			}
		}
	}
	if err := r.resolveCompanies(ctx, tx, live); err != nil {
		return err
	}
	for _, it := range creates {
		if len(it.problems) > 0 { // a company that could not be created
			continue
		}
		r.link(it)
	}
	var (
		rows  []*store.ContactRow
		lines []int
	)
	for _, it := range creates {
		if len(it.problems) > 0 {
			d.Errors++
			problems = append(problems, it.problems...)
			continue
		}
		rows = append(rows, it.cr)
		lines = append(lines, it.line)
	}
	d.Created += int64(len(rows))
	if !r.im.DryRun {
		if err := tx.WriteContacts(ctx, r.writer, rows, r.bulk != nil); err != nil {
			return err
		}
		evs := make([]crm.Event, len(rows))
		for i, cr := range rows {
			evs[i] = r.importedEvent(cr.Contact.ID, lines[i], "created")
		}
		if err := tx.EmitBatch(ctx, r.writer, evs); err != nil {
			return err
		}
		if r.bulk != nil {
			for _, cr := range rows {
				for _, k := range cr.Keys {
					if h := r.keyHash(k); r.staged[h] == 0 {
						r.staged[h] = cr.Contact.ID
					}
				}
			}
		}
	}
	for _, it := range live {
		if it.dupOf == 0 && it.target == nil && it.dupLine == 0 {
			continue
		}
		d.Duplicates++
		p := store.ImportProblem{Line: it.line, Kind: ProblemDuplicate, Field: it.dupWhy}
		target := it.dupOf
		if it.target != nil {
			target = it.target.cr.Contact.ID
		}
		p.ContactID = target
		switch r.mode {
		case DuplicatesSkip:
			d.Skipped++
			switch {
			case it.dupLine > 0:
				p.Message = fmt.Sprintf("Same %s as line %d; would be skipped.", whyText(it.dupWhy), it.dupLine)
			case it.target != nil && r.im.DryRun:
				p.Message = fmt.Sprintf("Same %s as line %d; would be skipped.", whyText(it.dupWhy), it.target.line)
			case it.target != nil:
				p.Message = fmt.Sprintf("Same %s as line %d (person %d); skipped.", whyText(it.dupWhy), it.target.line, target)
			case r.im.DryRun:
				p.Message = fmt.Sprintf("Same %s as person %d; would be skipped.", whyText(it.dupWhy), target)
			default:
				p.Message = fmt.Sprintf("Same %s as person %d; skipped.", whyText(it.dupWhy), target)
			}
		case DuplicatesUpdate:
			if msg, err := r.update(ctx, tx, it); err != nil {
				return err
			} else if msg != "" {
				d.Errors++
				problems = append(problems, it.problems...)
				continue
			}
			d.Updated++
			switch {
			case it.dupLine > 0:
				p.Message = fmt.Sprintf("Same %s as line %d; would update that person.", whyText(it.dupWhy), it.dupLine)
			case it.target != nil:
				p.Message = fmt.Sprintf("Same %s as line %d; merged into that person.", whyText(it.dupWhy), it.target.line)
			case r.im.DryRun:
				p.Message = fmt.Sprintf("Same %s as person %d; would update that person.", whyText(it.dupWhy), target)
			default:
				p.Message = fmt.Sprintf("Same %s as person %d; updated that person.", whyText(it.dupWhy), target)
			}
		}
		problems = append(problems, p)
	}
	return nil
}

func whyText(why string) string {
	switch why {
	case "id":
		return "id"
	case "name":
		return "name (and no email or phone)"
	}
	return why
}

func rowProblems(line int, err error) []store.ImportProblem {
	fields := crm.ErrorFields(err)
	if len(fields) == 0 {
		return []store.ImportProblem{{Line: line, Kind: ProblemError, Message: crm.ErrorMessage(err)}}
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]store.ImportProblem, 0, len(keys))
	for _, k := range keys {
		out = append(out, store.ImportProblem{Line: line, Kind: ProblemError, Field: k, Message: fields[k]})
	}
	return out
}

// matchDuplicates decides, for each row of a batch, whether it duplicates
// a stored person (dupOf), an earlier row of the batch (target) or, in a
// dry run, an earlier row of the file (dupLine). Stored people are looked
// up with one query per key kind for the whole batch. A dry run remembers
// the keys of the rows it would create, for later batches.
func (r *importRun) matchDuplicates(ctx context.Context, tx *store.Tx, live []*item) error {
	var (
		keys    []store.ContactKey
		fileIDs []int64
	)
	for _, it := range live {
		keys = append(keys, dupKeys(it.cr)...)
		if it.fileID > 0 {
			fileIDs = append(fileIDs, it.fileID)
		}
	}
	var owners []store.KeyOwner
	if r.lookupStored {
		var err error
		if owners, err = tx.FindKeyOwners(ctx, keys); err != nil {
			return err
		}
	}
	if len(r.staged) > 0 {
		checked := map[store.ContactKey]bool{}
		for _, k := range keys {
			id, ok := r.staged[r.keyHash(k)]
			if !ok || checked[k] {
				continue
			}
			checked[k] = true
			if ok, err := tx.HasStagedKey(ctx, id, k); err != nil {
				return err
			} else if ok {
				owners = append(owners, store.KeyOwner{Key: k, ContactID: id})
			}
		}
	}
	stored := make(map[store.ContactKey][]int64, len(owners))
	for _, o := range owners {
		stored[o.Key] = append(stored[o.Key], o.ContactID)
	}
	idKeys, err := tx.ContactKeysOf(ctx, fileIDs)
	if err != nil {
		return err
	}
	type hit struct {
		score int
		why   string
	}
	batch := map[store.ContactKey]*item{} // keys of earlier rows of this batch → the row that holds them
	for _, it := range live {
		ks := dupKeys(it.cr)
		if it.fileID > 0 && sharesKey(idKeys[it.fileID], it.cr.Keys) {
			it.dupOf, it.dupWhy = it.fileID, "id"
		} else {
			best := map[int64]*hit{}
			var bestRow *item
			rowScore, rowWhy := 0, ""
			for _, k := range ks {
				w := 10
				if k.Kind == "name" {
					w = 1
				}
				for _, id := range stored[k] {
					h := best[id]
					if h == nil {
						h = &hit{why: k.Kind}
						best[id] = h
					}
					h.score += w
				}
				if t := batch[k]; t != nil {
					if bestRow == nil || t == bestRow {
						bestRow = t
						if rowWhy == "" {
							rowWhy = k.Kind
						}
						rowScore += w
					}
				}
			}
			var bestID int64
			bestScore := 0
			for id, h := range best {
				if h.score > bestScore || (h.score == bestScore && id < bestID) {
					bestID, bestScore = id, h.score
				}
			}
			switch {
			case bestID != 0 && bestScore >= rowScore:
				it.dupOf, it.dupWhy = bestID, best[bestID].why
			case bestRow != nil:
				for bestRow.target != nil {
					bestRow = bestRow.target
				}
				if bestRow.dupOf != 0 {
					it.dupOf = bestRow.dupOf
				} else if bestRow.dupLine != 0 {
					it.dupLine = bestRow.dupLine
				} else {
					it.target = bestRow
				}
				it.dupWhy = rowWhy
			case r.seen != nil:
				for _, k := range ks {
					if line, ok := r.seen[r.keyHash(k)]; ok {
						it.dupLine, it.dupWhy = line, k.Kind
						break
					}
				}
			}
		}
		holder := it
		for holder.target != nil {
			holder = holder.target
		}
		for _, k := range ks {
			if _, ok := batch[k]; !ok {
				batch[k] = holder
			}
		}
		if r.seen != nil && it.dupOf == 0 && it.target == nil && it.dupLine == 0 {
			for _, k := range ks {
				if h := r.keyHash(k); r.seen[h] == 0 {
					r.seen[h] = it.line
				}
			}
		}
	}
	return nil
}

// sharesKey reports whether a stored person's keys and a row's keys have
// one in common. An id column is trusted only then: a file exported from
// another Pivand has ids that name other people here.
func sharesKey(stored, row []store.ContactKey) bool {
	for _, k := range row {
		if slices.Contains(stored, k) {
			return true
		}
	}
	return false
}

func (r *importRun) keyHash(k store.ContactKey) uint64 {
	var h maphash.Hash
	h.SetSeed(r.seed)
	h.WriteString(k.Kind)
	h.WriteByte(0)
	h.WriteString(k.Value)
	return h.Sum64()
}

// mergeInto folds row it into the earlier row t of the same batch (update
// mode) and prepares t again.
func (r *importRun) mergeInto(t, it *item) error {
	merged := *t.cr.Contact
	mergeContact(&merged, it.cr.Contact)
	cr, err := Prepare(&merged, r.fields, r.region, true)
	if err != nil {
		return err
	}
	t.cr = cr
	for i, name := range it.companies {
		if !slices.Contains(t.companies, name) {
			t.companies = append(t.companies, name)
			t.compKeys = append(t.compKeys, it.compKeys[i])
		}
	}
	if t.role == "" {
		t.role = it.role
	}
	return nil
}

// mergeContact fills in and overwrites dst with the non-empty values of
// src: text fields are replaced, emails, phones, addresses and tags are
// added to, custom values replaced per key, the owner replaced when src
// has one.
func mergeContact(dst, src *crm.Contact) {
	set := func(d *string, s string) {
		if s != "" {
			*d = s
		}
	}
	set(&dst.Prefix, src.Prefix)
	set(&dst.FirstName, src.FirstName)
	set(&dst.MiddleName, src.MiddleName)
	set(&dst.LastName, src.LastName)
	set(&dst.Suffix, src.Suffix)
	set(&dst.Birthday, src.Birthday)
	set(&dst.Language, src.Language)
	if src.Source != "import" {
		set(&dst.Source, src.Source)
	}
	set(&dst.Notes, src.Notes)
	addLabeled := func(d []crm.Labeled, s []crm.Labeled) []crm.Labeled {
		out := slices.Clone(d)
		for _, x := range s {
			if !slices.ContainsFunc(out, func(y crm.Labeled) bool { return y.Value == x.Value }) {
				out = append(out, x)
			}
		}
		return out
	}
	dst.Emails = addLabeled(dst.Emails, src.Emails)
	dst.Phones = addLabeled(dst.Phones, src.Phones)
	addrs := slices.Clone(dst.Addresses)
	for _, a := range src.Addresses {
		if !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	dst.Addresses = addrs
	tags := slices.Clone(dst.Tags)
	for _, t := range src.Tags {
		if !slices.ContainsFunc(tags, func(x string) bool { return strings.EqualFold(x, t) }) {
			tags = append(tags, t)
		}
	}
	dst.Tags = tags
	if len(src.Custom) > 0 {
		custom := make(map[string]any, len(dst.Custom)+len(src.Custom))
		for k, v := range dst.Custom {
			custom[k] = v
		}
		for k, v := range src.Custom {
			custom[k] = v
		}
		dst.Custom = custom
	}
	if src.OwnerID != nil {
		dst.OwnerID = src.OwnerID
	}
}

// resolveCompanies finds or creates (unless a dry run) the companies rows
// name, by normalised name.
func (r *importRun) resolveCompanies(ctx context.Context, tx *store.Tx, live []*item) error {
	if len(r.companies) > 50000 {
		r.companies = map[string]companyRef{} // bound the cache on files with very many companies
	}
	var missing []string
	want := map[string]string{}
	for _, it := range live {
		if it.target != nil || (it.dupOf != 0 && r.mode != DuplicatesUpdate) || it.dupLine != 0 {
			continue
		}
		for i, name := range it.companies {
			k := it.compKeys[i]
			if _, ok := r.companies[k]; ok {
				continue
			}
			if _, ok := want[k]; !ok {
				want[k] = name
				missing = append(missing, k)
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	found, err := tx.CompaniesByNameKey(ctx, missing)
	if err != nil {
		return err
	}
	var (
		fields []*crm.CustomField
		add    []*store.CompanyRow
		keys   []string
	)
	for _, k := range missing {
		if id, ok := found[k]; ok {
			r.companies[k] = newCompanyRef(id, want[k])
			continue
		}
		if r.im.DryRun {
			continue
		}
		if fields == nil {
			if fields, err = tx.ListCustomFields(ctx, "company"); err != nil {
				return err
			}
		}
		co := &crm.Company{Name: want[k], Tags: []string{}}
		cr, err := PrepareCompany(co, fields, r.region, true)
		if err != nil {
			for _, it := range live {
				if slices.Contains(it.compKeys, k) {
					it.problems = append(it.problems, store.ImportProblem{Line: it.line, Kind: ProblemError, Field: "company",
						Message: fmt.Sprintf("Cannot create the company %q: %s", want[k], oneLine(err))})
				}
			}
			continue
		}
		add = append(add, cr)
		keys = append(keys, k)
	}
	if err := tx.InsertCompaniesBatch(ctx, add); err != nil {
		return err
	}
	for i, cr := range add {
		r.companies[keys[i]] = newCompanyRef(cr.Company.ID, cr.Company.Name)
	}
	return nil
}

func newCompanyRef(id int64, name string) companyRef {
	return companyRef{id: id, name: name, tokens: strings.Join(text.NormalizeTokens(name), " ")}
}

func oneLine(err error) string {
	msg := crm.ErrorMessage(err)
	fields := crm.ErrorFields(err)
	if len(fields) > 0 {
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, k+": "+fields[k])
		}
		msg = strings.Join(parts, "; ")
	}
	return msg
}

// link sets a new person's company links (the job title on the first) and
// adds the companies' names to the search text.
func (r *importRun) link(it *item) {
	c := it.cr.Contact
	c.Memberships = c.Memberships[:0:0]
	c.CompanyIDs = []int64{}
	for i := range it.companies {
		ref, ok := r.companies[it.compKeys[i]]
		if !ok || ref.id == 0 || slices.Contains(c.CompanyIDs, ref.id) {
			continue
		}
		m := crm.Membership{CompanyID: ref.id}
		if i == 0 {
			m.Role = it.role
		}
		c.Memberships = append(c.Memberships, m)
		c.CompanyIDs = append(c.CompanyIDs, ref.id)
		if ref.tokens != "" {
			it.cr.SearchText = strings.TrimSpace(it.cr.SearchText + " " + ref.tokens)
		}
	}
	if c.Memberships == nil {
		c.Memberships = []crm.Membership{}
	}
}

// update applies a duplicate row to the stored person it matches (update
// mode). A row that makes the person invalid (say, a 21st email) is an
// error: the message is returned and the problems set on it.
func (r *importRun) update(ctx context.Context, tx *store.Tx, it *item) (string, error) {
	if it.target != nil || it.dupLine != 0 {
		if len(it.problems) > 0 {
			return it.problems[0].Message, nil
		}
		return "", nil // merged into a row of this batch, or a dry run
	}
	existing, err := tx.FindContactByID(ctx, it.dupOf)
	if err != nil {
		return "", err
	}
	merged := *existing
	mergeContact(&merged, it.cr.Contact)
	for i, name := range it.companies {
		ref, ok := r.companies[it.compKeys[i]]
		if ok && ref.id != 0 && !slices.Contains(merged.CompanyIDs, ref.id) {
			m := crm.Membership{CompanyID: ref.id}
			if name == it.companies[0] {
				m.Role = it.role
			}
			merged.Memberships = append(slices.Clone(merged.Memberships), m)
			merged.CompanyIDs = append(slices.Clone(merged.CompanyIDs), ref.id)
		}
	}
	orphans := orphanValues(merged.Custom, r.fields, it.cr.Contact.Custom, false)
	for k := range orphans {
		delete(merged.Custom, k)
	}
	cr, err := Prepare(&merged, r.fields, r.region, false)
	if err == nil {
		for k, v := range orphans {
			merged.Custom[k] = v
		}
		err = r.s.addCompanyTokens(ctx, tx, cr)
	}
	if err != nil {
		if crm.ErrorCode(err) != crm.EINVALID {
			return "", err
		}
		it.problems = append(it.problems, rowProblems(it.line, err)...)
		return crm.ErrorMessage(err), nil
	}
	if r.im.DryRun {
		return "", nil
	}
	merged.ID = existing.ID
	r.lookupStored = true // the person's keys are in contact_keys now
	if err := tx.UpdateContactRow(ctx, cr); err != nil {
		return "", err
	}
	ev := r.importedEvent(merged.ID, it.line, "updated")
	return "", tx.Emit(ctx, &ev)
}

// BulkCreate validates and stores many new people in one transaction with
// batch INSERTs, the path imports use: the same rules as CreateContact
// (Prepare), no duplicate check, and no contact.created event per person
// (see the import notes above). It is for generated and migrated data;
// any invalid person fails the whole call with the person's index in the
// error fields ("people[3].emails[0]"). Memberships must name existing
// companies. It returns the people with their ids set.
func (s *Service) BulkCreate(ctx context.Context, people []*crm.Contact) ([]*crm.Contact, error) {
	p, err := s.PreparePeople(ctx, people)
	if err != nil {
		return nil, err
	}
	if err := s.InsertPeople(ctx, p); err != nil {
		return nil, err
	}
	return people, nil
}

// PreparedPeople is a batch of new people validated by PreparePeople and
// ready for InsertPeople.
type PreparedPeople struct {
	people []*crm.Contact
	rows   []*store.ContactRow
}

// PreparePeople validates new people (as BulkCreate does) on all cores,
// without writing. A caller can prepare the next batch while InsertPeople
// writes this one.
func (s *Service) PreparePeople(ctx context.Context, people []*crm.Contact) (*PreparedPeople, error) {
	if err := crm.Authorize(ctx, crm.PermContactsWrite, true); err != nil {
		return nil, err
	}
	var fields []*crm.CustomField
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		fields, err = tx.ListCustomFields(ctx, "contact")
		return err
	})
	if err != nil {
		return nil, err
	}
	rows := make([]*store.ContactRow, len(people))
	errs := make([]error, len(people))
	parallel(len(people), runtime.GOMAXPROCS(0), func(i int) {
		c := people[i]
		c.ID = 0
		rows[i], errs[i] = Prepare(c, fields, s.region, true)
	})
	var v crm.Validation
	bad := 0
	for i, err := range errs {
		if err == nil {
			continue
		}
		if crm.ErrorFields(err) == nil {
			return nil, err
		}
		if bad++; bad > 10 { // enough to see what is wrong
			continue
		}
		for k, m := range crm.ErrorFields(err) {
			v.Add(fmt.Sprintf("people[%d].%s", i, k), "%s", m)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return &PreparedPeople{people: people, rows: rows}, nil
}

// InsertPeople stores a prepared batch in one transaction and sets the
// people's ids.
func (s *Service) InsertPeople(ctx context.Context, p *PreparedPeople) error {
	if err := crm.Authorize(ctx, crm.PermContactsWrite, true); err != nil {
		return err
	}
	rows := p.rows
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var ids []int64
		for _, r := range rows {
			ids = append(ids, r.Contact.CompanyIDs...)
		}
		names, err := tx.CompanyNames(ctx, ids)
		if err != nil {
			return err
		}
		var v crm.Validation
		for i, r := range rows {
			for j, m := range r.Contact.Memberships {
				name, ok := names[m.CompanyID]
				if !ok {
					v.Add(fmt.Sprintf("people[%d].memberships[%d].company_id", i, j), "Company %d does not exist.", m.CompanyID)
					continue
				}
				if toks := text.NormalizeTokens(name); len(toks) > 0 {
					r.SearchText = strings.TrimSpace(r.SearchText + " " + strings.Join(toks, " "))
				}
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		return tx.InsertContactsBatch(ctx, rows)
	})
	if err != nil {
		for _, c := range p.people {
			c.ID = 0
		}
	}
	return err
}

// People returns the batch's people (with ids once inserted).
func (p *PreparedPeople) People() []*crm.Contact { return p.people }
