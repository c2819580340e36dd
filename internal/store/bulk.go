package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"

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
	for _, r := range rows {
		c := r.Contact
		if c.ID == 0 {
			c.ID, ids = ids[0], ids[1:]
		}
		if c.CreatedAt.IsZero() {
			c.CreatedAt = tx.now
		}
		c.UpdatedAt = tx.now
	}

	const contactCols = 20
	err = tx.insertMany(ctx, `INSERT INTO contacts (id, prefix, first_name, middle_name, last_name, suffix, sort_name, emails, phones, addresses,
		birthday, language, source, owner_id, tags, notes, custom, search_text, created_at, updated_at) VALUES `, contactCols, len(rows),
		func(i int, args []any) []any {
			r := rows[i]
			c := r.Contact
			return append(args, c.ID, c.Prefix, c.FirstName, c.MiddleName, c.LastName, c.Suffix, r.SortName,
				mustJSON(c.Emails), mustJSON(c.Phones), mustJSON(c.Addresses), c.Birthday, c.Language, c.Source,
				ownerArg(c.OwnerID), mustJSON(c.Tags), c.Notes, mustJSON(c.Custom), r.SearchText, c.CreatedAt.UTC(), tx.now)
		}, "")
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
	var keys []key
	type tag struct {
		tag string
		id  int64
	}
	var tags []tag
	type link struct {
		id, company int64
		role        string
	}
	var links []link
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
	if err := tx.insertMany(ctx, `INSERT INTO contact_keys (kind, value, contact_id) VALUES `, 3, len(keys),
		func(i int, args []any) []any { return append(args, keys[i].kind, keys[i].value, keys[i].id) }, ` ON CONFLICT DO NOTHING`); err != nil {
		return err
	}
	if err := tx.insertMany(ctx, `INSERT INTO contact_tags (tag, contact_id) VALUES `, 2, len(tags),
		func(i int, args []any) []any { return append(args, tags[i].tag, tags[i].id) }, ` ON CONFLICT DO NOTHING`); err != nil {
		return err
	}
	err = tx.insertMany(ctx, `INSERT INTO contact_companies (contact_id, company_id, role, created_at) VALUES `, 4, len(links),
		func(i int, args []any) []any {
			return append(args, links[i].id, links[i].company, links[i].role, tx.now)
		}, ` ON CONFLICT DO NOTHING`)
	if crm.ErrorCode(err) == crm.EINVALID {
		return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"memberships": "A company does not exist."}}
	}
	return err
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
// id; people without keys (or not stored) are absent.
func (tx *Tx) ContactKeysOf(ctx context.Context, ids []int64) (map[int64][]ContactKey, error) {
	out := map[int64][]ContactKey{}
	ids = nonZeroUnique(ids)
	const chunk = 2000
	for lo := 0; lo < len(ids); lo += chunk {
		part := ids[lo:min(lo+chunk, len(ids))]
		rows, err := tx.Query(ctx, `SELECT contact_id, kind, value FROM contact_keys WHERE contact_id IN (`+Placeholders(len(part))+`)`, int64Args(part)...)
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
	bulkAutoCheckpoint  = 50000  // pages (~200 MiB of WAL) between checkpoints
	defaultCachePages   = -32000
	defaultAutoCheckpnt = 1000
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

func itoa(n int) string { return strconv.Itoa(n) }
