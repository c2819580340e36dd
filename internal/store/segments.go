package store

import (
	"context"
	"database/sql"
	"strconv"

	"github.com/pivand/pivand/internal/crm"
)

// Segments and static lists (0017_segments.sql, internal/segment).

const segmentColumns = `id, kind, name, description, rules, last_count, counted_at, created_by, version, created_at, updated_at`

// SegmentRow is a segment as stored: its rules still JSON text, which
// the segment service parses and checks.
type SegmentRow struct {
	crm.Segment
	RulesJSON string
}

func scanSegment(r rowScanner) (*SegmentRow, error) {
	var (
		s       SegmentRow
		count   sql.NullInt64
		counted sql.NullTime
		by      sql.NullInt64
	)
	if err := r.Scan(&s.ID, &s.Kind, &s.Name, &s.Description, &s.RulesJSON, &count, &counted, &by, &s.Version, &s.CreatedAt, &s.UpdatedAt); err != nil {
		return nil, err
	}
	if count.Valid {
		s.LastCount = &count.Int64
	}
	if counted.Valid {
		t := counted.Time
		s.CountedAt = &t
	}
	if by.Valid {
		s.CreatedBy = &by.Int64
	}
	return &s, nil
}

// CreateSegment stores a new segment; nameKey keeps names unique.
func (tx *Tx) CreateSegment(ctx context.Context, s *crm.Segment, nameKey, rules string) (int64, error) {
	var count any
	if s.Kind == crm.SegmentStatic {
		count = int64(0)
	}
	id, err := tx.InsertID(ctx, `INSERT INTO segments (kind, name, name_key, description, rules, last_count, counted_at, created_by, version, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) RETURNING id`, s.Kind, s.Name, nameKey, s.Description, rules, count, nullTimeIf(count != nil, tx.now),
		nullID(deref(s.CreatedBy)), tx.now, tx.now)
	if err != nil {
		return 0, tx.db.wrap("create segment", err)
	}
	return id, nil
}

func nullTimeIf(ok bool, t any) any {
	if ok {
		return t
	}
	return nil
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// UpdateSegment changes a segment's name, description and rules if its
// version is still version; ECONFLICT when someone changed it since.
func (tx *Tx) UpdateSegment(ctx context.Context, id int64, version int, name, nameKey, description, rules string) error {
	res, err := tx.Exec(ctx, `UPDATE segments SET name = ?, name_key = ?, description = ?, rules = ?, version = version + 1, updated_at = ?
		WHERE id = ? AND version = ?`, name, nameKey, description, rules, tx.now, id, version)
	if err != nil {
		return tx.db.wrap("update segment", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := tx.GetSegment(ctx, id); err != nil {
			return err
		}
		return &crm.Error{Code: crm.ECONFLICT, Message: "Someone changed this segment since you opened it; reload it and try again.",
			Fields: map[string]string{"version": "Not the current version."}}
	}
	return nil
}

// GetSegment reads one segment.
func (tx *Tx) GetSegment(ctx context.Context, id int64) (*SegmentRow, error) {
	s, err := scanSegment(tx.QueryRow(ctx, `SELECT `+segmentColumns+` FROM segments WHERE id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "The segment")
	}
	return s, nil
}

// ListSegments lists segments of kind ("" for both) by name, after the
// cursor, limit of them; next is "" on the last page.
func (tx *Tx) ListSegments(ctx context.Context, kind string, limit int, after string) ([]*SegmentRow, string, error) {
	limit = crm.ClampLimit(limit)
	key, afterID, err := crm.DecodeCursor(after)
	if err != nil {
		return nil, "", err
	}
	var w conds
	if kind != "" {
		w.add(`kind = ?`, kind)
	}
	if afterID > 0 {
		w.add(`(name_key > ? OR (name_key = ? AND id > ?))`, key, key, afterID)
	}
	var keys []string
	out, err := pageRows(ctx, tx, `SELECT `+segmentColumns+`, name_key FROM segments`+w.sql()+` ORDER BY name_key, id LIMIT ?`, w.args, limit, "segments",
		func(r rowScanner) (*SegmentRow, error) {
			var k string
			s, err := scanSegment(scanPlus{r, &k})
			keys = append(keys, k)
			return s, err
		})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = crm.EncodeCursor(keys[limit-1], out[limit-1].ID)
	}
	return out, next, nil
}

// DeleteSegment removes a segment and a list's members.
func (tx *Tx) DeleteSegment(ctx context.Context, id int64) error {
	res, err := tx.Exec(ctx, `DELETE FROM segments WHERE id = ?`, id)
	if err != nil {
		return tx.db.wrap("delete segment", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return crm.Errorf(crm.ENOTFOUND, "The segment was not found.")
	}
	return nil
}

// SetSegmentCount records a count of a segment's members.
func (tx *Tx) SetSegmentCount(ctx context.Context, id, n int64) error {
	_, err := tx.Exec(ctx, `UPDATE segments SET last_count = ?, counted_at = ? WHERE id = ?`, n, tx.now, id)
	return tx.db.wrap("segment count", err)
}

func (tx *Tx) segmentOptions(ctx context.Context, kind string) ([]crm.Option, error) {
	rows, err := tx.Query(ctx, `SELECT id, name FROM segments WHERE kind = ? ORDER BY name_key, id`, kind)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []crm.Option
	for rows.Next() {
		var (
			id   int64
			name string
		)
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		out = append(out, crm.Option{Value: strconv.FormatInt(id, 10), Label: name})
	}
	return out, rows.Err()
}

// CountMatching counts the people a compiled tree matches.
func (tx *Tx) CountMatching(ctx context.Context, q CompiledRules) (int64, error) {
	if err := tx.noJIT(ctx); err != nil {
		return 0, err
	}
	var n int64
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM contacts c WHERE `+q.Where, q.Args...).Scan(&n)
	return n, tx.db.wrap("count segment", err)
}

// noJIT turns PostgreSQL's JIT compilation off for the rest of the
// transaction. A count over a million people is estimated costly enough
// to be compiled, with inlining and optimisation, and the compiling took
// 0.5-0.7 s of a 1-2 s count (EXPLAIN ANALYZE of bench/segments) that
// it did not win back.
func (tx *Tx) noJIT(ctx context.Context) error {
	if tx.db.dialect != Postgres {
		return nil
	}
	_, err := tx.Exec(ctx, `SET LOCAL jit = off`)
	return tx.db.wrap("count segment", err)
}

// MatchingIDs returns up to limit ids of people a compiled tree matches,
// in id order, after id after.
func (tx *Tx) MatchingIDs(ctx context.Context, q CompiledRules, after int64, limit int) ([]int64, error) {
	args := append(append([]any{}, q.Args...), after, limit)
	rows, err := tx.Query(ctx, `SELECT c.id FROM contacts c WHERE `+q.Where+` AND c.id > ? ORDER BY c.id LIMIT ?`, args...)
	if err != nil {
		return nil, tx.db.wrap("segment members", err)
	}
	defer rows.Close()
	ids := make([]int64, 0, limit)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, tx.db.wrap("segment members", rows.Err())
}

// MatchingContacts returns up to limit people a compiled tree matches,
// in id order after id after (desc: newest first, before id after when
// after > 0).
func (tx *Tx) MatchingContacts(ctx context.Context, q CompiledRules, after int64, limit int, desc bool) ([]*crm.Contact, error) {
	cmp, order := ">", "c.id"
	if desc {
		cmp, order = "<", "c.id DESC"
		if after == 0 {
			after = 1<<63 - 1
		}
	}
	args := append(append([]any{}, q.Args...), after, limit)
	rows, err := tx.Query(ctx, `SELECT `+contactColumns+` FROM contacts c WHERE `+q.Where+` AND c.id `+cmp+` ? ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, tx.db.wrap("segment members", err)
	}
	defer rows.Close()
	var out []*crm.Contact
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, tx.db.wrap("segment members", err)
		}
		out = append(out, c)
	}
	return out, tx.db.wrap("segment members", rows.Err())
}

// AddSegmentMembers puts the people of ids that exist on a static list;
// those already on it stay as they were. It returns how many were added.
func (tx *Tx) AddSegmentMembers(ctx context.Context, segmentID int64, ids []int64, by int64) (int64, error) {
	var added int64
	for len(ids) > 0 {
		n := min(len(ids), 500)
		args := []any{segmentID, tx.now, nullID(by)}
		for _, id := range ids[:n] {
			args = append(args, id)
		}
		res, err := tx.Exec(ctx, `INSERT INTO segment_members (segment_id, contact_id, added_at, added_by)
			SELECT ?, c.id, ?, ? FROM contacts c WHERE c.id IN (`+Placeholders(n)+`) ON CONFLICT DO NOTHING`, args...)
		if err != nil {
			return added, tx.db.wrap("add list members", err)
		}
		k, _ := res.RowsAffected()
		added += k
		ids = ids[n:]
	}
	return added, tx.refreshListCount(ctx, segmentID)
}

// RemoveSegmentMembers takes people off a static list and returns how
// many were on it.
func (tx *Tx) RemoveSegmentMembers(ctx context.Context, segmentID int64, ids []int64) (int64, error) {
	var removed int64
	for len(ids) > 0 {
		n := min(len(ids), 500)
		args := []any{segmentID}
		for _, id := range ids[:n] {
			args = append(args, id)
		}
		res, err := tx.Exec(ctx, `DELETE FROM segment_members WHERE segment_id = ? AND contact_id IN (`+Placeholders(n)+`)`, args...)
		if err != nil {
			return removed, tx.db.wrap("remove list members", err)
		}
		k, _ := res.RowsAffected()
		removed += k
		ids = ids[n:]
	}
	return removed, tx.refreshListCount(ctx, segmentID)
}

func (tx *Tx) refreshListCount(ctx context.Context, segmentID int64) error {
	_, err := tx.Exec(ctx, `UPDATE segments SET last_count = (SELECT COUNT(*) FROM segment_members m WHERE m.segment_id = segments.id),
		counted_at = ?, updated_at = ? WHERE id = ?`, tx.now, tx.now, segmentID)
	return tx.db.wrap("list count", err)
}

// ContactsByKey returns the people with a normalised key (kind "email",
// lower-cased, or "phone", E.164) of value.
func (tx *Tx) ContactsByKey(ctx context.Context, kind, value string) ([]int64, error) {
	rows, err := tx.Query(ctx, `SELECT contact_id FROM contact_keys WHERE kind = ? AND value = ?
		UNION SELECT contact_id FROM contact_keys_load WHERE kind = ? AND value = ? ORDER BY 1`, kind, value, kind, value)
	if err != nil {
		return nil, tx.db.wrap("contacts by key", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, tx.db.wrap("contacts by key", rows.Err())
}
