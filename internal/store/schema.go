package store

import "context"

// Columns lists every "table.column" (and "view.column") in the schema,
// for the migration parity test and diagnostics; the per-run tables of
// the analytics scores (customer_scores_r<id>) are left out.
func (tx *Tx) Columns(ctx context.Context) (map[string]string, error) {
	q := `SELECT m.name || '.' || p.name, lower(p.type)
		FROM sqlite_master m JOIN pragma_table_info(m.name) p
		WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '%_fts%'
		AND m.name NOT LIKE 'customer\_scores\_r%' ESCAPE '\'`
	if tx.Dialect() == Postgres {
		q = `SELECT table_name || '.' || column_name, data_type FROM information_schema.columns
			WHERE table_schema = current_schema() AND column_name NOT LIKE '%\_tsv' AND table_name NOT LIKE 'customer\_scores\_r%'`
	}
	rows, err := tx.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, typ string
		if err := rows.Scan(&k, &typ); err != nil {
			return nil, err
		}
		out[k] = typ
	}
	return out, rows.Err()
}
