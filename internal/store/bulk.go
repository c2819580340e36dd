package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// Batch writes for imports and demo data: many people per statement,
// with ids chosen before the insert so keys, tags and company links can be
// written with multi-row INSERTs too (no RETURNING per row).

// maxBatchArgs bounds the placeholders of one statement, well under
// SQLite's 32,766 and PostgreSQL's 65,535.
const maxBatchArgs = 16000

// ReserveContactIDs returns n ids for new people, to be inserted in this
// transaction. On SQLite, whose single writer is this transaction, they are
// the next n after the largest id (what SQLite itself would assign); on
// PostgreSQL they come from the id sequence, so concurrent writers never
// collide (they need not be contiguous).
func (tx *Tx) ReserveContactIDs(ctx context.Context, n int) ([]int64, error) {
	if n <= 0 {
		return nil, nil
	}
	ids := make([]int64, 0, n)
	if tx.Dialect() == Postgres {
		rows, err := tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence('contacts', 'id')) FROM generate_series(1, ?)`, n)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return nil, tx.db.wrap("scan ids", err)
			}
			ids = append(ids, id)
		}
		return ids, tx.db.wrap("reserve ids", rows.Err())
	}
	var last int64
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM contacts`).Scan(&last); err != nil {
		return nil, tx.db.wrap("reserve ids", err)
	}
	for i := range n {
		ids = append(ids, last+1+int64(i))
	}
	return ids, nil
}

// InsertContactsBatch stores new people with their keys, tags and company
// links in a few multi-row statements. People whose Contact.ID is 0 get an
// id from ReserveContactIDs; CreatedAt is kept when set, else the
// transaction time. Company ids in memberships must exist.
func (tx *Tx) InsertContactsBatch(ctx context.Context, rows []*ContactRow) error {
	return tx.WriteContacts(ctx, nil, rows, false)
}

// WriteContacts is InsertContactsBatch with the statements of w (nil:
// statements built for this call). With staged, the people's keys go to
// contact_keys_load instead of contact_keys: a bulk load in progress
// (BeginBulkLoad) moves them when it ends.
func (tx *Tx) WriteContacts(ctx context.Context, w *ContactWriter, rows []*ContactRow, staged bool) error {
	if len(rows) == 0 {
		return nil
	}
	need := 0
	for _, r := range rows {
		if r.Contact.ID == 0 {
			need++
		}
	}
	ids, err := tx.ReserveContactIDs(ctx, need)
	if err != nil {
		return err
	}
	nkeys, ntags, nlinks := 0, 0, 0
	for _, r := range rows {
		c := r.Contact
		if c.ID == 0 {
			c.ID, ids = ids[0], ids[1:]
		}
		if c.CreatedAt.IsZero() {
			c.CreatedAt = tx.now
		}
		c.UpdatedAt = tx.now
		nkeys += len(r.Keys)
		ntags += len(c.Tags)
		nlinks += len(c.Memberships)
	}

	now := tx.timeArg(tx.now)
	err = tx.insertRows(ctx, w.stmt(stmtContacts), len(rows),
		func(i int, args []any) []any {
			r := rows[i]
			c := r.Contact
			j := r.columns()
			created := now
			if !c.CreatedAt.Equal(tx.now) {
				created = tx.timeArg(c.CreatedAt.UTC())
			}
			return append(args, c.ID, c.Prefix, c.FirstName, c.MiddleName, c.LastName, c.Suffix, r.SortName,
				j.emails, j.phones, j.addresses, c.Birthday, c.Language, c.Source,
				ownerArg(c.OwnerID), j.tags, c.Notes, j.custom, r.SearchText, created, now)
		})
	if err != nil {
		if crm.ErrorCode(err) == crm.EINVALID {
			return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"owner_id": "No such user."}}
		}
		return err
	}

	type key struct {
		kind, value string
		id          int64
	}
	keys := make([]key, 0, nkeys)
	type tag struct {
		tag string
		id  int64
	}
	tags := make([]tag, 0, ntags)
	type link struct {
		id, company int64
		role        string
	}
	links := make([]link, 0, nlinks)
	for _, r := range rows {
		c := r.Contact
		for _, k := range r.Keys {
			keys = append(keys, key{k.Kind, k.Value, c.ID})
		}
		for _, t := range c.Tags {
			tags = append(tags, tag{strings.ToLower(t), c.ID})
		}
		for _, m := range c.Memberships {
			links = append(links, link{c.ID, m.CompanyID, m.Role})
		}
	}
	if staged {
		err = tx.insertRows(ctx, w.stmt(stmtKeysLoad), len(keys),
			func(i int, args []any) []any { return append(args, keys[i].id, keys[i].kind, keys[i].value) })
	} else {
		err = tx.insertRows(ctx, w.stmt(stmtKeys), len(keys),
			func(i int, args []any) []any { return append(args, keys[i].kind, keys[i].value, keys[i].id) })
	}
	if err != nil {
		return err
	}
	if err := tx.insertRows(ctx, w.stmt(stmtTags), len(tags),
		func(i int, args []any) []any { return append(args, tags[i].tag, tags[i].id) }); err != nil {
		return err
	}
	err = tx.insertRows(ctx, w.stmt(stmtLinks), len(links),
		func(i int, args []any) []any {
			return append(args, links[i].id, links[i].company, links[i].role, now)
		})
	if crm.ErrorCode(err) == crm.EINVALID {
		return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"memberships": "A company does not exist."}}
	}
	return err
}

// InsertCompaniesBatch stores new companies (with their tags) in a few
// multi-row statements, as InsertCompany would one by one, and sets their
// ids: imports create the companies of a batch together.
func (tx *Tx) InsertCompaniesBatch(ctx context.Context, rows []*CompanyRow) error {
	if len(rows) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(rows))
	if tx.Dialect() == Postgres {
		q, err := tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence('companies', 'id')) FROM generate_series(1, ?)`, len(rows))
		if err != nil {
			return err
		}
		for q.Next() {
			var id int64
			if err := q.Scan(&id); err != nil {
				q.Close()
				return tx.db.wrap("scan ids", err)
			}
			ids = append(ids, id)
		}
		q.Close()
		if err := q.Err(); err != nil {
			return tx.db.wrap("reserve ids", err)
		}
	} else {
		var last int64
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM companies`).Scan(&last); err != nil {
			return tx.db.wrap("reserve ids", err)
		}
		for i := range rows {
			ids = append(ids, last+1+int64(i))
		}
	}
	type tag struct {
		tag string
		id  int64
	}
	var tags []tag
	for i, r := range rows {
		c := r.Company
		c.ID = ids[i]
		if c.CreatedAt.IsZero() {
			c.CreatedAt = tx.now
		}
		c.UpdatedAt = tx.now
		for _, t := range c.Tags {
			tags = append(tags, tag{strings.ToLower(t), c.ID})
		}
	}
	err := tx.insertMany(ctx, `INSERT INTO companies (id, name, name_key, domain, industry, size, emails, phones, addresses, owner_id, tags,
		notes, custom, search_text, created_at, updated_at) VALUES `, 16, len(rows), func(i int, args []any) []any {
		r := rows[i]
		c := r.Company
		return append(args, c.ID, c.Name, r.NameKey, c.Domain, c.Industry, c.Size, mustJSON(c.Emails), mustJSON(c.Phones), mustJSON(c.Addresses),
			ownerArg(c.OwnerID), mustJSON(c.Tags), c.Notes, mustJSON(c.Custom), r.SearchText, c.CreatedAt.UTC(), tx.now)
	}, "")
	if err != nil {
		for _, r := range rows {
			r.Company.ID = 0
		}
		if crm.ErrorCode(err) == crm.EINVALID {
			return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"owner_id": "No such user."}}
		}
		return err
	}
	return tx.insertMany(ctx, `INSERT INTO company_tags (tag, company_id) VALUES `, 2, len(tags),
		func(i int, args []any) []any { return append(args, tags[i].tag, tags[i].id) }, ` ON CONFLICT DO NOTHING`)
}

// EmitBatch writes many events with multi-row statements (w's, or built
// for the call when w is nil), as Emit would one by one: the actor
// defaults to the context's user, times are the transaction's. The
// events' ids are not set.
func (tx *Tx) EmitBatch(ctx context.Context, w *ContactWriter, evs []crm.Event) error {
	if len(evs) == 0 {
		return nil
	}
	actor := crm.UserIDFromContext(ctx)
	for i := range evs {
		if evs[i].ActorID == 0 {
			evs[i].ActorID = actor
		}
		if len(evs[i].Payload) == 0 {
			evs[i].Payload = []byte("{}")
		}
		evs[i].CreatedAt = tx.now
	}
	now := tx.timeArg(tx.now)
	err := tx.insertRows(ctx, w.stmt(stmtEvents), len(evs), func(i int, args []any) []any {
		ev := &evs[i]
		return append(args, ev.Type, ev.SubjectType, ev.SubjectID, ev.ActorID, nullID(ev.ContactID), nullID(ev.CompanyID), string(ev.Payload), now)
	})
	if err != nil {
		return fmt.Errorf("store: emit %d events: %w", len(evs), err)
	}
	tx.events += len(evs)
	return nil
}

// timeArg is t as a statement argument. On SQLite it is the text the
// driver would write for it (_time_format=sqlite, times in UTC), formatted
// here: a multi-row INSERT binds the transaction's time on every row, and
// formatting it once per batch instead of once per value saves the writer
// of an import about a microsecond per person. On PostgreSQL it is t.
func (tx *Tx) timeArg(t time.Time) any {
	if tx.Dialect() != SQLite {
		return t
	}
	return t.Format(sqliteTimeLayout)
}

// The multi-row INSERTs of WriteContacts: head + "(?, …), (?, …) …" + tail.
type insertSpec struct {
	head string
	cols int
	tail string
}

const (
	stmtContacts = iota
	stmtKeys
	stmtKeysLoad
	stmtTags
	stmtLinks
	stmtEvents
	nStmts
)

var insertSpecs = [nStmts]insertSpec{
	stmtContacts: {`INSERT INTO contacts (id, prefix, first_name, middle_name, last_name, suffix, sort_name, emails, phones, addresses,
		birthday, language, source, owner_id, tags, notes, custom, search_text, created_at, updated_at) VALUES `, 20, ""},
	stmtKeys:     {`INSERT INTO contact_keys (kind, value, contact_id) VALUES `, 3, ` ON CONFLICT DO NOTHING`},
	stmtKeysLoad: {`INSERT INTO contact_keys_load (contact_id, kind, value) VALUES `, 3, ` ON CONFLICT DO NOTHING`},
	stmtTags:     {`INSERT INTO contact_tags (tag, contact_id) VALUES `, 2, ` ON CONFLICT DO NOTHING`},
	stmtLinks:    {`INSERT INTO contact_companies (contact_id, company_id, role, created_at) VALUES `, 4, ` ON CONFLICT DO NOTHING`},
	stmtEvents:   {`INSERT INTO events (type, subject_type, subject_id, actor_id, contact_id, company_id, payload, created_at) VALUES `, 8, ""},
}

// writerArgs is about how many values one prepared statement of a
// ContactWriter binds: big enough that the per-statement cost vanishes,
// small enough that parsing it is cheap and a statement's rows fit in a
// few pages of the statement journal.
const writerArgs = 1000

// ContactWriter holds the INSERT statements of WriteContacts prepared
// once, for a long run of batches (an import): a statement with a
// thousand placeholders costs about as much to parse as to run. Create it
// outside any transaction and Close it when done.
type ContactWriter struct {
	full [nStmts]*sql.Stmt // writerRows(spec) rows each
	one  [nStmts]*sql.Stmt // one row
}

// writerStmt is one statement of a ContactWriter for WriteContacts.
type writerStmt struct {
	spec insertSpec
	full *sql.Stmt
	per  int
	one  *sql.Stmt
}

func writerRows(spec insertSpec) int { return max(1, writerArgs/spec.cols) }

func (w *ContactWriter) stmt(i int) writerStmt {
	ws := writerStmt{spec: insertSpecs[i], per: writerRows(insertSpecs[i])}
	if w != nil {
		ws.full, ws.one = w.full[i], w.one[i]
	}
	return ws
}

// NewContactWriter prepares the statements of WriteContacts on the
// writer connection.
func (db *DB) NewContactWriter(ctx context.Context) (*ContactWriter, error) {
	w := &ContactWriter{}
	for i, spec := range insertSpecs {
		var err error
		if w.full[i], err = db.rw.PrepareContext(ctx, db.rebind(buildInsert(spec, writerRows(spec)))); err == nil {
			w.one[i], err = db.rw.PrepareContext(ctx, db.rebind(buildInsert(spec, 1)))
		}
		if err != nil {
			w.Close()
			return nil, db.wrap("prepare", err)
		}
	}
	return w, nil
}

// Close releases the statements.
func (w *ContactWriter) Close() error {
	for i := range w.full {
		for _, st := range []*sql.Stmt{w.full[i], w.one[i]} {
			if st != nil {
				st.Close()
			}
		}
	}
	return nil
}

func buildInsert(spec insertSpec, rows int) string {
	tuple := "(" + Placeholders(spec.cols) + ")"
	var b strings.Builder
	b.Grow(len(spec.head) + rows*(len(tuple)+2) + len(spec.tail))
	b.WriteString(spec.head)
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(tuple)
	}
	b.WriteString(spec.tail)
	return b.String()
}

// insertRows inserts n rows with st: full statements of st.per rows, then
// the rest one row at a time with prepared statements, or (without them)
// one statement for the rest.
func (tx *Tx) insertRows(ctx context.Context, st writerStmt, n int, add func(i int, args []any) []any) error {
	if n == 0 {
		return nil
	}
	if st.full == nil {
		return tx.insertMany(ctx, st.spec.head, st.spec.cols, n, add, st.spec.tail)
	}
	full := tx.tx.StmtContext(ctx, st.full)
	defer full.Close()
	args := make([]any, 0, st.per*st.spec.cols)
	lo := 0
	for ; lo+st.per <= n; lo += st.per {
		args = args[:0]
		for i := lo; i < lo+st.per; i++ {
			args = add(i, args)
		}
		if _, err := full.ExecContext(ctx, args...); err != nil {
			return tx.db.wrap("insert", err)
		}
	}
	if lo == n {
		return nil
	}
	one := tx.tx.StmtContext(ctx, st.one)
	defer one.Close()
	for i := lo; i < n; i++ {
		if _, err := one.ExecContext(ctx, add(i, args[:0])...); err != nil {
			return tx.db.wrap("insert", err)
		}
	}
	return nil
}

// insertMany runs head + "(?, …), (?, …) …" + tail for n rows of cols
// values, in statements of at most maxBatchArgs placeholders. add appends
// row i's values to args.
func (tx *Tx) insertMany(ctx context.Context, head string, cols, n int, add func(i int, args []any) []any, tail string) error {
	if n == 0 {
		return nil
	}
	per := max(1, maxBatchArgs/cols)
	tuple := "(" + Placeholders(cols) + ")"
	build := func(rows int) string {
		var b strings.Builder
		b.Grow(len(head) + rows*(len(tuple)+2) + len(tail))
		b.WriteString(head)
		for i := range rows {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tuple)
		}
		b.WriteString(tail)
		return tx.db.rebind(b.String())
	}
	// Full chunks share one prepared statement: parsing a statement with
	// thousands of placeholders costs about as much as running it.
	var full *sql.Stmt
	if n >= 2*per {
		st, err := tx.tx.PrepareContext(ctx, build(per))
		if err != nil {
			return tx.db.wrap("prepare", err)
		}
		defer st.Close()
		full = st
	}
	args := make([]any, 0, min(n, per)*cols)
	for lo := 0; lo < n; lo += per {
		hi := min(lo+per, n)
		args = args[:0]
		for i := lo; i < hi; i++ {
			args = add(i, args)
		}
		var err error
		if full != nil && hi-lo == per {
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.tx.ExecContext(ctx, build(hi-lo), args...)
		}
		if err != nil {
			return tx.db.wrap("insert", err)
		}
	}
	return nil
}

// KeyOwner is a stored person holding a duplicate-detection key.
type KeyOwner struct {
	Key       ContactKey
	ContactID int64
}

// FindKeyOwners returns the stored people holding any of keys, in a few
// queries (one per kind and chunk), ordered by contact id within a key.
func (tx *Tx) FindKeyOwners(ctx context.Context, keys []ContactKey) ([]KeyOwner, error) {
	byKind := map[string][]any{}
	seen := make(map[ContactKey]bool, len(keys))
	var kinds []string
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		if _, ok := byKind[k.Kind]; !ok {
			kinds = append(kinds, k.Kind)
		}
		byKind[k.Kind] = append(byKind[k.Kind], k.Value)
	}
	var out []KeyOwner
	const chunk = 2000
	for _, kind := range kinds {
		vals := byKind[kind]
		for lo := 0; lo < len(vals); lo += chunk {
			part := vals[lo:min(lo+chunk, len(vals))]
			args := append([]any{kind}, part...)
			rows, err := tx.Query(ctx, `SELECT value, contact_id FROM contact_keys WHERE kind = ? AND value IN (`+
				Placeholders(len(part))+`) ORDER BY value, contact_id`, args...)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				o := KeyOwner{Key: ContactKey{Kind: kind}}
				if err := rows.Scan(&o.Key.Value, &o.ContactID); err != nil {
					rows.Close()
					return nil, tx.db.wrap("scan key owners", err)
				}
				out = append(out, o)
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return nil, tx.db.wrap("key owners", err)
			}
		}
	}
	return out, nil
}

// ContactKeysOf returns the duplicate-detection keys of stored people by
// id, also those a bulk load has staged; people without keys (or not
// stored) are absent.
func (tx *Tx) ContactKeysOf(ctx context.Context, ids []int64) (map[int64][]ContactKey, error) {
	out := map[int64][]ContactKey{}
	ids = nonZeroUnique(ids)
	const chunk = 2000
	for lo := 0; lo < len(ids); lo += chunk {
		part := ids[lo:min(lo+chunk, len(ids))]
		in := Placeholders(len(part))
		args := anyArgs(part)
		rows, err := tx.Query(ctx, `SELECT contact_id, kind, value FROM contact_keys WHERE contact_id IN (`+in+`)
			UNION ALL SELECT contact_id, kind, value FROM contact_keys_load WHERE contact_id IN (`+in+`)`, append(args, args...)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var (
				id int64
				k  ContactKey
			)
			if err := rows.Scan(&id, &k.Kind, &k.Value); err != nil {
				rows.Close()
				return nil, tx.db.wrap("scan contact keys", err)
			}
			out[id] = append(out[id], k)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, tx.db.wrap("contact keys", err)
		}
	}
	return out, nil
}

// CompaniesByNameKey returns, for each normalised company name that
// exists, the oldest company with that name.
func (tx *Tx) CompaniesByNameKey(ctx context.Context, keys []string) (map[string]int64, error) {
	out := map[string]int64{}
	const chunk = 2000
	for lo := 0; lo < len(keys); lo += chunk {
		part := keys[lo:min(lo+chunk, len(keys))]
		args := make([]any, len(part))
		for i, k := range part {
			args[i] = k
		}
		rows, err := tx.Query(ctx, `SELECT name_key, MIN(id) FROM companies WHERE name_key IN (`+Placeholders(len(part))+`) GROUP BY name_key`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var (
				k  string
				id int64
			)
			if err := rows.Scan(&k, &id); err != nil {
				rows.Close()
				return nil, tx.db.wrap("scan companies", err)
			}
			out[k] = id
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, tx.db.wrap("companies by name", err)
		}
	}
	return out, nil
}

// UserEmails returns the emails of users by id (for exports' owner column).
func (tx *Tx) UserEmails(ctx context.Context, ids []int64) (map[int64]string, error) {
	refs, err := tx.UserRefs(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]string, len(refs))
	for id, u := range refs {
		out[id] = u.Email
	}
	return out, nil
}

// Bulk-write tuning of the SQLite writer connection, counted so that
// overlapping imports restore the defaults only when the last one ends.
var (
	bulkMu    sync.Mutex
	bulkUsers = map[*DB]int{}
)

// Writer settings while bulk writes run, and the defaults of sqlitePragmas.
const (
	bulkCachePages      = -65536 // 64 MiB of page cache
	bulkLoadCachePages  = -16384 // 16 MiB: a bulk load appends, it needs no more
	bulkAutoCheckpoint  = 50000  // pages (~200 MiB of WAL) between checkpoints
	defaultCachePages   = -8000
	defaultAutoCheckpnt = writerAutoCheckpoint // see checkpoint.go
)

// BulkWrites tunes the database for a long run of large write
// transactions (an import) and returns the function that undoes it. On
// SQLite the writer connection gets a bigger page cache and checkpoints
// the WAL every ~200 MB instead of every 4 MB: with synchronous=NORMAL
// each checkpoint costs two fsyncs, which on slow disks take longer than
// writing the batch itself. Durability is unchanged (a commit is as safe
// as before); the WAL file grows while the import runs and is
// checkpointed when it ends. On PostgreSQL it does nothing.
func (db *DB) BulkWrites(ctx context.Context) (func(), error) {
	if db.dialect != SQLite {
		return func() {}, nil
	}
	bulkMu.Lock()
	defer bulkMu.Unlock()
	if bulkUsers[db] == 0 {
		if _, err := db.rw.ExecContext(ctx, `PRAGMA cache_size = `+itoa(bulkCachePages)); err != nil {
			return nil, db.wrap("bulk pragmas", err)
		}
		if _, err := db.rw.ExecContext(ctx, `PRAGMA wal_autocheckpoint = `+itoa(bulkAutoCheckpoint)); err != nil {
			return nil, db.wrap("bulk pragmas", err)
		}
	}
	bulkUsers[db]++
	var once sync.Once
	return func() {
		once.Do(func() {
			bulkMu.Lock()
			defer bulkMu.Unlock()
			if bulkUsers[db]--; bulkUsers[db] > 0 {
				return
			}
			delete(bulkUsers, db)
			ctx := context.WithoutCancel(ctx)
			db.rw.ExecContext(ctx, `PRAGMA wal_autocheckpoint = `+itoa(defaultAutoCheckpnt))
			db.rw.ExecContext(ctx, `PRAGMA cache_size = `+itoa(defaultCachePages))
			db.rw.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
		})
	}, nil
}

// BulkLoadWrites is BulkWrites for a bulk load (BeginBulkLoad), whose
// writes append to the tables and need a smaller page cache.
func (db *DB) BulkLoadWrites(ctx context.Context) (func(), error) {
	undo, err := db.BulkWrites(ctx)
	if err != nil || db.dialect != SQLite {
		return undo, err
	}
	if _, err := db.rw.ExecContext(ctx, `PRAGMA cache_size = `+itoa(bulkLoadCachePages)); err != nil {
		undo()
		return nil, db.wrap("bulk pragmas", err)
	}
	return undo, nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// Bulk loads (SQLite). Inserting a million people one batch at a time
// into fully indexed tables is slow on SQLite: every transaction rewrites
// each page of the random-order indexes it touched (the full-text index,
// the keys by email and phone, the sort name, the links by company), and
// the full-text triggers tokenise row by row. A bulk load drops the
// full-text triggers, the sort-name index and the index of links by
// company, and writes the new people's keys to contact_keys_load,
// appended in id order; EndBulkLoad then moves the keys in key order,
// creates the indexes and rebuilds the full-text index in one pass, which
// is several times cheaper.
//
// Crash safety: SQLite's schema changes are transactional. BeginBulkLoad
// drops the triggers and the index in the same transaction that records
// the load in contact_bulk_loads, and EndBulkLoad restores them in the
// transaction that removes the record, so the database is always either
// whole or in bulk mode with a record saying so. A load that stops (crash,
// kill -9, Ctrl+C) keeps its record: the import resumes in bulk mode and
// ends it, or RestoreContactSchema puts the schema back.
//
// While a bulk load runs, the people it wrote are stored and listed but
// not yet found by the search box, nor matched as duplicates by others
// than the load itself (their keys are not in contact_keys yet); a
// company's people are found by reading every link; people written by
// others meanwhile are indexed when the load ends.

// BulkLoad is a bulk load in progress.
type BulkLoad struct {
	ImportID    int64
	FirstID     int64 // the first contact id it wrote
	HeartbeatAt time.Time
}

// The full-text triggers and the index that bulk loads drop, exactly as
// the migrations create them (a test compares them with a fresh schema).
var contactBulkSchema = []struct{ name, sql string }{
	{"contacts_fts_insert", `CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_fts(rowid, search_text) VALUES (new.id, new.search_text);
END`},
	{"contacts_fts_delete", `CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_fts(contacts_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END`},
	{"contacts_fts_update", `CREATE TRIGGER contacts_fts_update AFTER UPDATE OF search_text ON contacts BEGIN
    INSERT INTO contacts_fts(contacts_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
    INSERT INTO contacts_fts(rowid, search_text) VALUES (new.id, new.search_text);
END`},
	{"contacts_sort_name", `CREATE INDEX contacts_sort_name ON contacts(sort_name, id)`},
	// People's links by company: a load appends links in person order,
	// which puts each into a random page of this index; a million people
	// touch every page of it in every transaction.
	{"contact_companies_company", `CREATE INDEX contact_companies_company ON contact_companies(company_id, contact_id)`},
}

// BulkLoadOf returns the bulk load of an import, or nil.
func (tx *Tx) BulkLoadOf(ctx context.Context, importID int64) (*BulkLoad, error) {
	b := BulkLoad{ImportID: importID}
	err := tx.QueryRow(ctx, `SELECT first_id, heartbeat_at FROM contact_bulk_loads WHERE import_id = ?`, importID).Scan(&b.FirstID, &b.HeartbeatAt)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, tx.db.wrap("bulk load", err)
	}
	return &b, nil
}

// BulkLoads lists the bulk loads in progress.
func (tx *Tx) BulkLoads(ctx context.Context) ([]BulkLoad, error) {
	rows, err := tx.Query(ctx, `SELECT import_id, first_id, heartbeat_at FROM contact_bulk_loads ORDER BY import_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []BulkLoad
	for rows.Next() {
		var b BulkLoad
		if err := rows.Scan(&b.ImportID, &b.FirstID, &b.HeartbeatAt); err != nil {
			return nil, tx.db.wrap("scan bulk loads", err)
		}
		out = append(out, b)
	}
	return out, tx.db.wrap("bulk loads", rows.Err())
}

// BeginBulkLoad puts the contacts tables in bulk mode for an import and
// records it (SQLite only; PostgreSQL answers EINVALID). Another load in
// progress shares the mode; the last one to end restores the schema.
func (tx *Tx) BeginBulkLoad(ctx context.Context, importID int64) (*BulkLoad, error) {
	if tx.Dialect() != SQLite {
		return nil, crm.Errorf(crm.EINVALID, "bulk loads are for SQLite")
	}
	var others int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM contact_bulk_loads`).Scan(&others); err != nil {
		return nil, tx.db.wrap("bulk load", err)
	}
	if others == 0 {
		for _, o := range contactBulkSchema {
			kind := "TRIGGER"
			if !strings.HasPrefix(o.sql, "CREATE TRIGGER") {
				kind = "INDEX"
			}
			if _, err := tx.Exec(ctx, `DROP `+kind+` IF EXISTS `+o.name); err != nil {
				return nil, err
			}
		}
	}
	b := &BulkLoad{ImportID: importID, HeartbeatAt: tx.now}
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM contacts`).Scan(&b.FirstID); err != nil {
		return nil, tx.db.wrap("bulk load", err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO contact_bulk_loads (import_id, first_id, heartbeat_at) VALUES (?, ?, ?)`, importID, b.FirstID, tx.now)
	return b, err
}

// TouchBulkLoad records that an import's bulk load is alive (it commits
// with each batch) and reports false when the load has been ended, by
// RestoreContactSchema after its heartbeat went stale: the import then
// goes on without bulk mode.
func (tx *Tx) TouchBulkLoad(ctx context.Context, importID int64) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE contact_bulk_loads SET heartbeat_at = ? WHERE import_id = ?`, tx.now, importID)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// EndBulkLoad ends an import's bulk load; the last one to end restores the
// schema (RestoreContactSchema), which takes a while: about 30 seconds
// for a million people on a small machine. Ending a load that is not
// recorded does nothing.
func (tx *Tx) EndBulkLoad(ctx context.Context, importID int64) error {
	if tx.Dialect() != SQLite {
		return nil
	}
	if _, err := tx.Exec(ctx, `DELETE FROM contact_bulk_loads WHERE import_id = ?`, importID); err != nil {
		return err
	}
	var others int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM contact_bulk_loads`).Scan(&others); err != nil {
		return tx.db.wrap("bulk load", err)
	}
	if others > 0 {
		return nil
	}
	return tx.RestoreContactSchema(ctx)
}

// ContactSchemaIntact reports whether no bulk load is recorded and the
// full-text triggers, the indexes bulk loads drop and contact_keys hold
// everything (nothing left in contact_keys_load). Always true on
// PostgreSQL.
func (tx *Tx) ContactSchemaIntact(ctx context.Context) (bool, error) {
	if tx.Dialect() != SQLite {
		return true, nil
	}
	var loads, objects, staged int
	err := tx.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM contact_bulk_loads),
		(SELECT COUNT(*) FROM sqlite_master WHERE name IN ('contacts_fts_insert', 'contacts_fts_delete', 'contacts_fts_update', 'contacts_sort_name',
			'contact_companies_company')),
		(SELECT COUNT(*) FROM (SELECT 1 FROM contact_keys_load LIMIT 1))`).Scan(&loads, &objects, &staged)
	if err != nil {
		return false, tx.db.wrap("schema check", err)
	}
	return loads == 0 && objects == len(contactBulkSchema) && staged == 0, nil
}

// RestoreContactSchema ends every bulk load and makes the contacts tables
// whole: it moves the staged keys to contact_keys in key order, creates
// the indexes and the full-text triggers, and rebuilds the
// full-text index of people from the contacts table. It is idempotent.
//
// In a transaction of WriteBulk the full-text index is built at the same
// time on another connection, into a scratch database beside the main
// one (the other core does it while this one sorts keys and builds
// indexes), and copied in at the end; elsewhere it is rebuilt in place.
func (tx *Tx) RestoreContactSchema(ctx context.Context) error {
	if tx.Dialect() != SQLite {
		return nil
	}
	var side chan error
	if tx.fts != nil {
		side = make(chan error, 1)
		go func() { side <- tx.fts.build(ctx) }()
	}
	// The keys go in in key order, so contact_keys grows at its end
	// instead of at a random page per key; its index by contact is built
	// afterwards from scratch, which is cheaper than maintaining it.
	steps := []string{
		`DELETE FROM contact_bulk_loads`,
		`DROP INDEX IF EXISTS contact_keys_contact`,
		`INSERT INTO contact_keys (kind, value, contact_id) SELECT kind, value, contact_id FROM contact_keys_load WHERE true
			ORDER BY kind, value, contact_id ON CONFLICT DO NOTHING`,
		`DELETE FROM contact_keys_load`,
		`CREATE INDEX contact_keys_contact ON contact_keys(contact_id)`,
	}
	for _, o := range contactBulkSchema {
		kind := "TRIGGER"
		if !strings.HasPrefix(o.sql, "CREATE TRIGGER") {
			kind = "INDEX"
		}
		steps = append(steps, `DROP `+kind+` IF EXISTS `+o.name, o.sql)
	}
	for _, q := range steps {
		if _, err := tx.Exec(ctx, q); err != nil {
			if side != nil {
				<-side
			}
			return err
		}
	}
	if side != nil {
		err := <-side
		if err == nil {
			return tx.fts.copyIn(ctx, tx)
		}
		if ctx.Err() != nil {
			return err
		}
		// Rebuild in place below (slower, same result).
	}
	// One pass over the people; merging segments as they are written
	// (automerge) would double the work, so the segments are merged once
	// at the end.
	for _, q := range []string{
		`INSERT INTO contacts_fts(contacts_fts, rank) VALUES ('automerge', 0)`,
		`INSERT INTO contacts_fts(contacts_fts) VALUES ('rebuild')`,
		`INSERT INTO contacts_fts(contacts_fts) VALUES ('optimize')`,
		`INSERT INTO contacts_fts(contacts_fts, rank) VALUES ('automerge', 4)`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// ftsSide builds the full-text index of people in a scratch SQLite
// database (path) while the transaction that ends a bulk load does the
// rest, on its own connection and so on another core, and copies it in
// at the end. The scratch database has no journal and no fsync: it is
// thrown away after a crash (the transaction it would have gone into
// rolls back, and the next run builds it again).
type ftsSide struct {
	path   string // the scratch database
	main   string // the main database file
	create string // the CREATE VIRTUAL TABLE statement of contacts_fts, as the main schema has it
	db     *sql.DB
}

// ftsSideCacheKiB is the page cache of the scratch connection, and
// ftsCopyBytes about how much of the index copyIn holds in memory at a
// time.
const (
	ftsSideCacheKiB = 4000
	ftsCopyBytes    = 2 << 20
)

// ftsShadowTables are the tables in which FTS5 keeps the index of
// contacts_fts (with external content there is no _content table), with
// their columns.
// blob is the column that holds a BLOB that may be empty (-1: none):
// the driver reads an empty BLOB as nil, which must go back as an empty
// BLOB, not NULL.
var ftsShadowTables = []struct {
	name, cols string
	blob       int
}{
	{"contacts_fts_data", "id, block", 1},
	{"contacts_fts_idx", "segid, term, pgno", 1},
	{"contacts_fts_docsize", "id, sz", 1},
	{"contacts_fts_config", "k, v", -1},
}

// build indexes every person of the main database, as its transaction
// sees them: the writer holds the write lock, so what this connection
// reads is exactly what the transaction started from, and the transaction
// itself does not change people.
func (f *ftsSide) build(ctx context.Context) error {
	for _, p := range []string{f.path, f.path + "-journal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	// A small page cache: the build appends segments and its merge reads
	// them in order, from the OS's cache; the writer's sorts run beside it
	// and the two together set the import's peak memory (each cached page
	// takes about two pages of the process's memory in this driver).
	side, err := sql.Open("sqlite", "file:"+f.path+"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)"+
		"&_pragma=cache_size(-"+itoa(ftsSideCacheKiB)+")&_pragma=temp_store(FILE)")
	if err != nil {
		return err
	}
	side.SetMaxOpenConns(1)
	f.db = side
	for _, q := range []string{
		f.create,
		// One pass, segments merged once at the end (as in the rebuild).
		`INSERT INTO contacts_fts(contacts_fts, rank) VALUES ('automerge', 0)`,
		`ATTACH DATABASE ` + quoteSQL(f.main) + ` AS src`,
		`INSERT INTO contacts_fts(rowid, search_text) SELECT id, search_text FROM src.contacts`,
		`DETACH DATABASE src`,
		`INSERT INTO contacts_fts(contacts_fts) VALUES ('optimize')`,
		`INSERT INTO contacts_fts(contacts_fts, rank) VALUES ('automerge', 4)`,
	} {
		if _, err := side.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("store: build the search index: %w", err)
		}
	}
	return nil
}

// copyIn replaces the main database's full-text index of people by the
// one built, in tx (readers see the old index or the new, never a mix).
// FTS5 keeps nothing else, so a copy of its tables is the index. The rows
// are copied in rowid order, ftsCopyBytes at a time.
func (f *ftsSide) copyIn(ctx context.Context, tx *Tx) error {
	for _, t := range ftsShadowTables {
		if _, err := tx.Exec(ctx, `DELETE FROM main.`+t.name); err != nil {
			return err
		}
		rows, err := f.db.QueryContext(ctx, `SELECT `+t.cols+` FROM `+t.name)
		if err != nil {
			return fmt.Errorf("store: read the search index: %w", err)
		}
		ncol := strings.Count(t.cols, ",") + 1
		var (
			batch []any
			size  int
		)
		flush := func() error {
			n := len(batch) / ncol
			err := tx.insertMany(ctx, `INSERT INTO main.`+t.name+` (`+t.cols+`) VALUES `, ncol, n,
				func(i int, args []any) []any { return append(args, batch[i*ncol:(i+1)*ncol]...) }, "")
			batch, size = batch[:0], 0
			return err
		}
		for rows.Next() {
			vals := make([]any, ncol)
			ptrs := make([]any, ncol)
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return fmt.Errorf("store: read the search index: %w", err)
			}
			if t.blob >= 0 {
				if b, _ := vals[t.blob].([]byte); b == nil {
					vals[t.blob] = []byte{}
				}
			}
			for _, v := range vals {
				if b, ok := v.([]byte); ok {
					size += len(b)
				}
			}
			batch = append(batch, vals...)
			if size > ftsCopyBytes || len(batch) >= 64000 {
				if err := flush(); err != nil {
					rows.Close()
					return err
				}
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("store: read the search index: %w", err)
		}
		if len(batch) > 0 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// close closes and removes the scratch database.
func (f *ftsSide) close() {
	if f.db != nil {
		f.db.Close()
	}
	os.Remove(f.path)
	os.Remove(f.path + "-journal")
}

func quoteSQL(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// WriteBulk runs fn in a write transaction for ending bulk loads
// (EndBulkLoad, RestoreContactSchema) and what commits with them. On
// SQLite it holds the writer connection with foreign-key checks off for
// the transaction: the rows it moves were checked when they were written
// (and deleting a person deletes its staged keys), and checking every key
// again against contacts would cost a third of the move. fn must write
// nothing else that needs checking. The full-text index that
// RestoreContactSchema rebuilds is built in parallel (ftsSide) when the
// database is a file. On PostgreSQL it is Write.
func (db *DB) WriteBulk(ctx context.Context, fn func(tx *Tx) error) (err error) {
	if db.dialect != SQLite {
		return db.Write(ctx, fn)
	}
	conn, err := db.rw.Conn(ctx)
	if err != nil {
		return db.wrap("begin", err)
	}
	defer conn.Close()
	// Sorts (the keys, the new indexes) spill to temporary files instead of
	// memory, which bounds the memory of ending a load of a million people.
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF; PRAGMA temp_store = FILE`); err != nil {
		return db.wrap("begin", err)
	}
	discard := false
	defer func() {
		if _, ferr := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY`); ferr != nil {
			discard = true
			err = errors.Join(err, db.wrap("foreign keys", ferr))
		}
		if discard {
			// A writer without foreign keys, or one whose full-text
			// index was replaced under it, must not go back to the pool.
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	fts, err := db.ftsSide(ctx, conn)
	if err != nil {
		return err
	}
	if fts != nil {
		defer fts.close()
	}
	stx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return db.wrap("begin", err)
	}
	tx := &Tx{tx: stx, db: db, now: db.now(), fts: fts}
	defer func() {
		if p := recover(); p != nil {
			_ = stx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		_ = stx.Rollback()
		return err
	}
	if err := stx.Commit(); err != nil {
		return db.wrap("commit", err)
	}
	// FTS5 caches the structure of an index per connection and notices
	// other connections' changes only: this one wrote the index's tables
	// directly, so it is not reused.
	discard = fts != nil && fts.db != nil
	if tx.events > 0 {
		db.mu.Lock()
		hooks := db.eventHooks
		db.mu.Unlock()
		for _, h := range hooks {
			h()
		}
	}
	for _, f := range tx.after {
		f()
	}
	return nil
}

// ftsSide returns where RestoreContactSchema can build the full-text
// index of people beside the main database file, or nil when the database
// is not a file.
func (db *DB) ftsSide(ctx context.Context, conn *sql.Conn) (*ftsSide, error) {
	if fi, err := os.Stat(db.source); err != nil || !fi.Mode().IsRegular() {
		return nil, nil
	}
	f := &ftsSide{path: db.source + "-ftsbuild", main: db.source}
	if err := conn.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'contacts_fts'`).Scan(&f.create); err != nil {
		return nil, db.wrap("search index schema", err)
	}
	return f, nil
}

// StagedKeys calls fn for each key in contact_keys_load (the people bulk
// loads wrote), in contact id order.
func (tx *Tx) StagedKeys(ctx context.Context, fn func(k ContactKey, contactID int64)) error {
	rows, err := tx.Query(ctx, `SELECT contact_id, kind, value FROM contact_keys_load`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id int64
			k  ContactKey
		)
		if err := rows.Scan(&id, &k.Kind, &k.Value); err != nil {
			return tx.db.wrap("scan staged keys", err)
		}
		fn(k, id)
	}
	return tx.db.wrap("staged keys", rows.Err())
}

// HasStagedKey reports whether a bulk load staged key k for a person.
func (tx *Tx) HasStagedKey(ctx context.Context, contactID int64, k ContactKey) (bool, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM contact_keys_load WHERE contact_id = ? AND kind = ? AND value = ?`, contactID, k.Kind, k.Value).Scan(&n)
	return n > 0, tx.db.wrap("staged key", err)
}

// AnyContactKeys reports whether contact_keys holds any key (a bulk load
// into an empty database need not look stored keys up).
func (tx *Tx) AnyContactKeys(ctx context.Context) (bool, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM contact_keys LIMIT 1)`).Scan(&n)
	return n > 0, tx.db.wrap("contact keys", err)
}

// CountContactsUpTo counts people, stopping at limit (a cheap "are there
// more than limit" for large tables).
func (tx *Tx) CountContactsUpTo(ctx context.Context, limit int64) (int64, error) {
	var n int64
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM contacts LIMIT ?)`, limit).Scan(&n)
	return n, tx.db.wrap("count contacts", err)
}
