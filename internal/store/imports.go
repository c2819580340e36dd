package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// Import statuses. An import is pending until a worker starts it, running
// while rows are read (also after a crash, until it is resumed), and then
// done, failed (the file could not be read) or cancelled.
const (
	ImportPending   = "pending"
	ImportRunning   = "running"
	ImportDone      = "done"
	ImportFailed    = "failed"
	ImportCancelled = "cancelled"
)

// ImportRow is a row of the imports table. Mapping and Options are JSON
// owned by the importer.
type ImportRow struct {
	ID         int64
	UserID     int64 // 0: the system (command line)
	Entity     string
	FilePath   string
	FileName   string
	FileSize   int64
	Mapping    string
	Options    string
	Status     string
	DryRun     bool
	Offset     int64 // where the next unread record starts
	Line       int   // its physical line
	Counts     ImportCounts
	Message    string
	CreatedAt  time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time
}

// ImportCounts are an import's running totals.
type ImportCounts struct {
	Rows       int64 // records read (good and bad)
	Created    int64
	Updated    int64
	Skipped    int64
	Duplicates int64
	Errors     int64
}

// ImportProblem is one problem with one row of an import file.
type ImportProblem struct {
	Line      int    `json:"line"`
	Kind      string `json:"kind"`  // error or duplicate
	Field     string `json:"field"` // column or field name; "" for the whole row
	Message   string `json:"message"`
	ContactID int64  `json:"contact_id,omitempty"` // the existing person a duplicate matches
}

const importColumns = `id, COALESCE(user_id, 0), entity, file_path, file_name, file_size, mapping, options, status, dry_run,
	byte_offset, line, rows_read, created_n, updated_n, skipped_n, duplicate_n, error_n, message, created_at, started_at, finished_at`

func scanImport(row interface{ Scan(...any) error }) (*ImportRow, error) {
	var (
		im                ImportRow
		started, finished sql.NullTime
	)
	err := row.Scan(&im.ID, &im.UserID, &im.Entity, &im.FilePath, &im.FileName, &im.FileSize, &im.Mapping, &im.Options,
		&im.Status, &im.DryRun, &im.Offset, &im.Line, &im.Counts.Rows, &im.Counts.Created, &im.Counts.Updated,
		&im.Counts.Skipped, &im.Counts.Duplicates, &im.Counts.Errors, &im.Message, &im.CreatedAt, &started, &finished)
	if err != nil {
		return nil, err
	}
	im.CreatedAt = im.CreatedAt.UTC()
	im.StartedAt = nullTimePtr(started)
	im.FinishedAt = nullTimePtr(finished)
	return &im, nil
}

// InsertImport records a new import (status pending) and fills in its ID
// and CreatedAt.
func (tx *Tx) InsertImport(ctx context.Context, im *ImportRow) error {
	im.CreatedAt = tx.now
	if im.Status == "" {
		im.Status = ImportPending
	}
	if im.Entity == "" {
		im.Entity = "contact"
	}
	if im.Line == 0 {
		im.Line = 1
	}
	id, err := tx.InsertID(ctx, `INSERT INTO imports (user_id, entity, file_path, file_name, file_size, mapping, options, status, dry_run,
		byte_offset, line, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		nullID(im.UserID), im.Entity, im.FilePath, im.FileName, im.FileSize, im.Mapping, im.Options, im.Status, im.DryRun,
		im.Offset, im.Line, tx.now)
	if err != nil {
		return err
	}
	im.ID = id
	return nil
}

// FindImport returns one import or ENOTFOUND.
func (tx *Tx) FindImport(ctx context.Context, id int64) (*ImportRow, error) {
	im, err := scanImport(tx.QueryRow(ctx, `SELECT `+importColumns+` FROM imports WHERE id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "Import")
	}
	return im, nil
}

// ListImports lists imports, newest first, with keyset paging.
func (tx *Tx) ListImports(ctx context.Context, page crm.Page) ([]*ImportRow, string, error) {
	limit := crm.ClampLimit(page.Limit)
	after, err := crm.DecodeIDCursor(page.After)
	if err != nil {
		return nil, "", err
	}
	q := `SELECT ` + importColumns + ` FROM imports`
	args := []any{}
	if after > 0 {
		q += ` WHERE id < ?`
		args = append(args, after)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []*ImportRow
	for rows.Next() {
		im, err := scanImport(rows)
		if err != nil {
			return nil, "", tx.db.wrap("scan imports", err)
		}
		out = append(out, im)
	}
	if err := rows.Err(); err != nil {
		return nil, "", tx.db.wrap("list imports", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = crm.EncodeIDCursor(out[limit-1].ID)
	}
	return out, next, nil
}

// FindUnfinishedImport returns the newest pending or running import of the
// file at path with the given size and dry-run flag, or ENOTFOUND. The
// command line uses it to resume an interrupted import of the same file.
func (tx *Tx) FindUnfinishedImport(ctx context.Context, path string, size int64, dryRun bool) (*ImportRow, error) {
	im, err := scanImport(tx.QueryRow(ctx, `SELECT `+importColumns+` FROM imports
		WHERE file_path = ? AND file_size = ? AND dry_run = ? AND status IN ('pending', 'running') ORDER BY id DESC LIMIT 1`,
		path, size, dryRun))
	if err != nil {
		return nil, tx.NotFound(err, "Import")
	}
	return im, nil
}

// StartImportRun marks a pending or running import as running (setting
// started_at the first time) and reports whether it may run: false when it
// is already done, failed or cancelled.
func (tx *Tx) StartImportRun(ctx context.Context, id int64) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE imports SET status = 'running', started_at = COALESCE(started_at, ?)
		WHERE id = ? AND status IN ('pending', 'running')`, tx.now, id)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// AdvanceImport moves a running import's checkpoint from offset from to
// (offset, line, rows). It reports false, changing nothing, when the
// import is no longer at from or no longer running: another worker got
// there first, or the import was cancelled. Call it in the transaction
// that writes the rows read between the two checkpoints, so the rows and
// the checkpoint commit together or not at all.
func (tx *Tx) AdvanceImport(ctx context.Context, id, from, offset int64, line int, rows int64) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE imports SET byte_offset = ?, line = ?, rows_read = ?
		WHERE id = ? AND byte_offset = ? AND status = 'running'`, offset, line, rows, id, from)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// AddImportCounts adds d to an import's totals (d.Rows is ignored: the
// checkpoint sets it).
func (tx *Tx) AddImportCounts(ctx context.Context, id int64, d ImportCounts) error {
	if d == (ImportCounts{Rows: d.Rows}) {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE imports SET created_n = created_n + ?, updated_n = updated_n + ?, skipped_n = skipped_n + ?,
		duplicate_n = duplicate_n + ?, error_n = error_n + ? WHERE id = ?`,
		d.Created, d.Updated, d.Skipped, d.Duplicates, d.Errors, id)
	return err
}

// FinishImport sets the final status of a running or pending import and
// reports whether it changed (false when it was already finished or
// cancelled).
func (tx *Tx) FinishImport(ctx context.Context, id int64, status, message string) (bool, error) {
	if len(message) > 2000 {
		message = message[:2000]
	}
	res, err := tx.Exec(ctx, `UPDATE imports SET status = ?, message = ?, finished_at = ?
		WHERE id = ? AND status IN ('pending', 'running')`, status, message, tx.now, id)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// CancelImport cancels a pending or running import and reports whether it
// did. A worker notices at its next batch, whose rows it rolls back.
func (tx *Tx) CancelImport(ctx context.Context, id int64) (bool, error) {
	return tx.FinishImport(ctx, id, ImportCancelled, "")
}

// FinishedImportFiles returns the imports that finished before a time
// and whose file no import uses that is unfinished or finished later: the
// candidates for removing an uploaded file (the caller reads Options to
// tell uploads from files of the command line). One row per file.
func (tx *Tx) FinishedImportFiles(ctx context.Context, before time.Time) ([]*ImportRow, error) {
	rows, err := tx.Query(ctx, `SELECT `+importColumns+` FROM imports i
		WHERE status IN ('done', 'failed', 'cancelled') AND finished_at < ?
		AND NOT EXISTS (SELECT 1 FROM imports j WHERE j.file_path = i.file_path AND j.id > i.id)
		AND NOT EXISTS (SELECT 1 FROM imports j WHERE j.file_path = i.file_path AND (j.status IN ('pending', 'running') OR j.finished_at >= ?))
		ORDER BY id DESC LIMIT 1000`, before.UTC(), before.UTC())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*ImportRow
	for rows.Next() {
		im, err := scanImport(rows)
		if err != nil {
			return nil, tx.db.wrap("scan imports", err)
		}
		out = append(out, im)
	}
	return out, tx.db.wrap("finished imports", rows.Err())
}

// InsertImportProblems records problems of an import; a second problem for
// the same line, kind and field is ignored.
func (tx *Tx) InsertImportProblems(ctx context.Context, importID int64, ps []ImportProblem) error {
	const cols = 6
	for len(ps) > 0 {
		n := min(len(ps), 500)
		var b strings.Builder
		b.WriteString(`INSERT INTO import_problems (import_id, line, kind, field, message, contact_id) VALUES `)
		args := make([]any, 0, n*cols)
		for i, p := range ps[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?)")
			msg := p.Message
			if len(msg) > 1000 {
				msg = msg[:1000]
			}
			args = append(args, importID, p.Line, p.Kind, p.Field, msg, nullID(p.ContactID))
		}
		b.WriteString(` ON CONFLICT DO NOTHING`)
		if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
			return err
		}
		ps = ps[n:]
	}
	return nil
}

// CountImportProblems returns how many problems are recorded for an import.
func (tx *Tx) CountImportProblems(ctx context.Context, importID int64) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM import_problems WHERE import_id = ?`, importID).Scan(&n)
	return n, tx.db.wrap("count import problems", err)
}

// ImportProblems lists an import's problems in line order with keyset
// paging.
func (tx *Tx) ImportProblems(ctx context.Context, importID int64, page crm.Page) ([]ImportProblem, string, error) {
	limit := crm.ClampLimit(page.Limit)
	key, afterLine, err := crm.DecodeCursor(page.After)
	if err != nil {
		return nil, "", err
	}
	q := `SELECT line, kind, field, message, COALESCE(contact_id, 0) FROM import_problems WHERE import_id = ?`
	args := []any{importID}
	if afterLine > 0 {
		kind, field, _ := strings.Cut(key, "\x1f")
		q += ` AND (line > ? OR (line = ? AND (kind > ? OR (kind = ? AND field > ?))))`
		args = append(args, afterLine, afterLine, kind, kind, field)
	}
	q += ` ORDER BY line, kind, field LIMIT ?`
	args = append(args, limit+1)
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	out := []ImportProblem{}
	for rows.Next() {
		var p ImportProblem
		if err := rows.Scan(&p.Line, &p.Kind, &p.Field, &p.Message, &p.ContactID); err != nil {
			return nil, "", tx.db.wrap("scan import problems", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, "", tx.db.wrap("import problems", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = crm.EncodeCursor(last.Kind+"\x1f"+last.Field, int64(last.Line))
	}
	return out, next, nil
}

// ImportUsers returns every user by normalised email, for resolving the
// owner column of an import; inactive users are included with Active
// false so the importer can say why they cannot own records.
func (tx *Tx) ImportUsers(ctx context.Context) ([]UserRef, error) {
	rows, err := tx.Query(ctx, `SELECT id, name, email, active FROM users ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []UserRef
	for rows.Next() {
		var u UserRef
		if err := rows.Scan(&u.ID, &u.Name, &u.Email, &u.Active); err != nil {
			return nil, tx.db.wrap("scan users", err)
		}
		out = append(out, u)
	}
	return out, tx.db.wrap("users", rows.Err())
}
