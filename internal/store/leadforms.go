package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// Lead capture forms, their submissions, lead scoring rules and the
// scores kept per person (migration 0023, internal/leadform).

func init() {
	// "lead.score": the person's lead score; people with no row score 0.
	RegisterConditionField(crm.ConditionField{Name: "lead.score", Type: crm.CondNumber, Group: "contact"},
		func(b *CondBuilder, r *crm.Rule) (string, error) {
			cond, zero, err := b.numberCond("ls.score", r)
			if err != nil {
				return "", err
			}
			if zero { // 0 satisfies it: everyone but the scored people who fail it
				return b.notIn("SELECT ls.contact_id FROM contact_scores ls WHERE NOT (" + cond + ")"), nil
			}
			return "c.id IN (SELECT ls.contact_id FROM contact_scores ls WHERE " + cond + ")", nil
		})
}

const leadFormColumns = `f.id, f.name, f.public_id, f.language, f.fields, f.consent_channel, f.consent_text, f.double_opt_in, f.lead_source,
	f.owner_id, f.thanks_text, f.active, f.created_by, f.created_at, f.updated_at,
	(SELECT COUNT(*) FROM lead_form_submissions s WHERE s.form_id = f.id)`

func scanLeadForm(r rowScanner) (*crm.LeadForm, error) {
	var (
		f          crm.LeadForm
		fields     string
		owner, by  sql.NullInt64
		created    time.Time
		updated    time.Time
		submission int64
	)
	if err := r.Scan(&f.ID, &f.Name, &f.PublicID, &f.Language, &fields, &f.ConsentChannel, &f.ConsentText, &f.DoubleOptIn, &f.LeadSource,
		&owner, &f.ThanksText, &f.Active, &by, &created, &updated, &submission); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(fields), &f.Fields); err != nil {
		return nil, fmt.Errorf("lead form %d: fields: %w", f.ID, err)
	}
	f.OwnerID, f.CreatedBy, f.Submissions = owner.Int64, by.Int64, submission
	f.CreatedAt, f.UpdatedAt = created.UTC(), updated.UTC()
	return &f, nil
}

// InsertLeadForm stores a new form.
func (tx *Tx) InsertLeadForm(ctx context.Context, f *crm.LeadForm) error {
	fields, err := json.Marshal(f.Fields)
	if err != nil {
		return err
	}
	f.CreatedAt, f.UpdatedAt = tx.now, tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO lead_forms (name, public_id, language, fields, consent_channel, consent_text, double_opt_in,
		lead_source, owner_id, thanks_text, active, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		f.Name, f.PublicID, f.Language, string(fields), f.ConsentChannel, f.ConsentText, f.DoubleOptIn, f.LeadSource, nullID(f.OwnerID),
		f.ThanksText, f.Active, nullID(f.CreatedBy), tx.now, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert lead form: %w", err)
	}
	f.ID = id
	return nil
}

// UpdateLeadForm writes every changeable field of f.
func (tx *Tx) UpdateLeadForm(ctx context.Context, f *crm.LeadForm) error {
	fields, err := json.Marshal(f.Fields)
	if err != nil {
		return err
	}
	f.UpdatedAt = tx.now
	return tx.expectOneRow(ctx, "Lead form", `UPDATE lead_forms SET name = ?, language = ?, fields = ?, consent_channel = ?, consent_text = ?,
		double_opt_in = ?, lead_source = ?, owner_id = ?, thanks_text = ?, active = ?, updated_at = ? WHERE id = ?`,
		f.Name, f.Language, string(fields), f.ConsentChannel, f.ConsentText, f.DoubleOptIn, f.LeadSource, nullID(f.OwnerID), f.ThanksText,
		f.Active, tx.now, f.ID)
}

// DeleteLeadForm removes a form and its submissions.
func (tx *Tx) DeleteLeadForm(ctx context.Context, id int64) error {
	return tx.expectOneRow(ctx, "Lead form", `DELETE FROM lead_forms WHERE id = ?`, id)
}

// FindLeadForm returns a form by id.
func (tx *Tx) FindLeadForm(ctx context.Context, id int64) (*crm.LeadForm, error) {
	f, err := scanLeadForm(tx.QueryRow(ctx, `SELECT `+leadFormColumns+` FROM lead_forms f WHERE f.id = ?`, id))
	if err == sql.ErrNoRows {
		return nil, crm.Errorf(crm.ENOTFOUND, "Lead form %d was not found.", id)
	}
	return f, tx.db.wrap("lead form", err)
}

// FindLeadFormByPublicID returns a form by its public id.
func (tx *Tx) FindLeadFormByPublicID(ctx context.Context, publicID string) (*crm.LeadForm, error) {
	f, err := scanLeadForm(tx.QueryRow(ctx, `SELECT `+leadFormColumns+` FROM lead_forms f WHERE f.public_id = ?`, publicID))
	if err == sql.ErrNoRows {
		return nil, crm.Errorf(crm.ENOTFOUND, "There is no such form.")
	}
	return f, tx.db.wrap("lead form", err)
}

// ListLeadForms returns forms by id, newest first, keyset-paged by id.
func (tx *Tx) ListLeadForms(ctx context.Context, limit int, after int64) ([]*crm.LeadForm, int64, error) {
	limit = crm.ClampLimit(limit)
	var w conds
	if after > 0 {
		w.add(`f.id < ?`, after)
	}
	out, err := pageRows(ctx, tx, `SELECT `+leadFormColumns+` FROM lead_forms f`+w.sql()+` ORDER BY f.id DESC LIMIT ?`, w.args, limit, "lead forms", scanLeadForm)
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

const submissionColumns = `id, form_id, contact_id, lead_id, field_values, language, consent_text, status, created_at, confirmed_at`

func scanSubmission(r rowScanner) (*crm.FormSubmission, error) {
	var (
		s             crm.FormSubmission
		contact, lead sql.NullInt64
		values        string
		created       time.Time
		confirmed     sql.NullTime
	)
	if err := r.Scan(&s.ID, &s.FormID, &contact, &lead, &values, &s.Language, &s.ConsentText, &s.Status, &created, &confirmed); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(values), &s.Values); err != nil {
		return nil, fmt.Errorf("submission %d: values: %w", s.ID, err)
	}
	s.ContactID, s.LeadID, s.CreatedAt = contact.Int64, lead.Int64, created.UTC()
	if confirmed.Valid {
		t := confirmed.Time.UTC()
		s.ConfirmedAt = &t
	}
	return &s, nil
}

// InsertSubmission stores a submission (ip is kept for spam review only).
func (tx *Tx) InsertSubmission(ctx context.Context, s *crm.FormSubmission, ip string) error {
	values, err := json.Marshal(s.Values)
	if err != nil {
		return err
	}
	s.CreatedAt = tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO lead_form_submissions (form_id, contact_id, lead_id, field_values, language, consent_text, status, ip,
		created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		s.FormID, nullID(s.ContactID), nullID(s.LeadID), string(values), s.Language, s.ConsentText, s.Status, ip, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert submission: %w", err)
	}
	s.ID = id
	return nil
}

// FindSubmission returns a submission.
func (tx *Tx) FindSubmission(ctx context.Context, id int64) (*crm.FormSubmission, error) {
	s, err := scanSubmission(tx.QueryRow(ctx, `SELECT `+submissionColumns+` FROM lead_form_submissions WHERE id = ?`, id))
	if err == sql.ErrNoRows {
		return nil, crm.Errorf(crm.ENOTFOUND, "Submission %d was not found.", id)
	}
	return s, tx.db.wrap("submission", err)
}

// ConfirmSubmission moves a pending submission to confirmed; it reports
// false when it was not pending.
func (tx *Tx) ConfirmSubmission(ctx context.Context, id int64) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE lead_form_submissions SET status = ?, confirmed_at = ? WHERE id = ? AND status = ?`,
		crm.SubmissionConfirmed, tx.now, id, crm.SubmissionPending)
	if err != nil {
		return false, tx.db.wrap("confirm submission", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ListSubmissions returns a form's submissions, newest first, keyset-paged by id.
func (tx *Tx) ListSubmissions(ctx context.Context, formID int64, limit int, after int64) ([]*crm.FormSubmission, int64, error) {
	limit = crm.ClampLimit(limit)
	var w conds
	w.add(`form_id = ?`, formID)
	if after > 0 {
		w.add(`id < ?`, after)
	}
	out, err := pageRows(ctx, tx, `SELECT `+submissionColumns+` FROM lead_form_submissions`+w.sql()+` ORDER BY id DESC LIMIT ?`, w.args, limit,
		"submissions", scanSubmission)
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// MoveSubmissions gives merged people's submissions to the survivor.
func (tx *Tx) MoveSubmissions(ctx context.Context, fromIDs []int64, toID int64) error {
	for _, id := range fromIDs {
		if _, err := tx.Exec(ctx, `UPDATE lead_form_submissions SET contact_id = ? WHERE contact_id = ?`, toID, id); err != nil {
			return tx.db.wrap("move submissions", err)
		}
	}
	return nil
}

// LeadFormSetting returns a setting of the lead forms (key leadform.*; "" when none).
func (tx *Tx) LeadFormSetting(ctx context.Context, key string) (string, error) {
	v, _, err := tx.moduleSetting(ctx, "leadform", key)
	return v, err
}

// SaveLeadFormSetting stores a setting of the lead forms (key leadform.*).
func (tx *Tx) SaveLeadFormSetting(ctx context.Context, key, value string) error {
	return tx.saveModuleSetting(ctx, "leadform", key, value)
}

// --- Scoring ---

const scoreRuleColumns = `id, name, kind, condition, event_type, within_days, points, max_points, created_at, updated_at`

func scanScoreRule(r rowScanner) (*crm.ScoreRule, error) {
	var (
		s                crm.ScoreRule
		cond             string
		created, updated time.Time
	)
	if err := r.Scan(&s.ID, &s.Name, &s.Kind, &cond, &s.EventType, &s.WithinDays, &s.Points, &s.MaxPoints, &created, &updated); err != nil {
		return nil, err
	}
	if cond != "" {
		rule, err := crm.ParseRules([]byte(cond))
		if err != nil {
			return nil, fmt.Errorf("score rule %d: condition: %w", s.ID, err)
		}
		s.Condition = &rule
	}
	s.CreatedAt, s.UpdatedAt = created.UTC(), updated.UTC()
	return &s, nil
}

func ruleJSON(r *crm.Rule) (string, error) {
	if r == nil {
		return "", nil
	}
	b, err := json.Marshal(r)
	return string(b), err
}

// InsertScoreRule stores a rule.
func (tx *Tx) InsertScoreRule(ctx context.Context, s *crm.ScoreRule) error {
	cond, err := ruleJSON(s.Condition)
	if err != nil {
		return err
	}
	s.CreatedAt, s.UpdatedAt = tx.now, tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO lead_score_rules (name, kind, condition, event_type, within_days, points, max_points, created_at,
		updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		s.Name, s.Kind, cond, s.EventType, s.WithinDays, s.Points, s.MaxPoints, tx.now, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert score rule: %w", err)
	}
	s.ID = id
	return nil
}

// UpdateScoreRule writes every changeable field of s.
func (tx *Tx) UpdateScoreRule(ctx context.Context, s *crm.ScoreRule) error {
	cond, err := ruleJSON(s.Condition)
	if err != nil {
		return err
	}
	s.UpdatedAt = tx.now
	return tx.expectOneRow(ctx, "Score rule", `UPDATE lead_score_rules SET name = ?, kind = ?, condition = ?, event_type = ?, within_days = ?,
		points = ?, max_points = ?, updated_at = ? WHERE id = ?`,
		s.Name, s.Kind, cond, s.EventType, s.WithinDays, s.Points, s.MaxPoints, tx.now, s.ID)
}

// DeleteScoreRule removes a rule.
func (tx *Tx) DeleteScoreRule(ctx context.Context, id int64) error {
	return tx.expectOneRow(ctx, "Score rule", `DELETE FROM lead_score_rules WHERE id = ?`, id)
}

// FindScoreRule returns a rule.
func (tx *Tx) FindScoreRule(ctx context.Context, id int64) (*crm.ScoreRule, error) {
	s, err := scanScoreRule(tx.QueryRow(ctx, `SELECT `+scoreRuleColumns+` FROM lead_score_rules WHERE id = ?`, id))
	if err == sql.ErrNoRows {
		return nil, crm.Errorf(crm.ENOTFOUND, "Score rule %d was not found.", id)
	}
	return s, tx.db.wrap("score rule", err)
}

// ScoreRules returns every rule in id order (an installation has few).
func (tx *Tx) ScoreRules(ctx context.Context) ([]*crm.ScoreRule, error) {
	rows, err := tx.Query(ctx, `SELECT `+scoreRuleColumns+` FROM lead_score_rules ORDER BY id`)
	if err != nil {
		return nil, tx.db.wrap("score rules", err)
	}
	defer rows.Close()
	var out []*crm.ScoreRule
	for rows.Next() {
		s, err := scanScoreRule(rows)
		if err != nil {
			return nil, tx.db.wrap("scan score rule", err)
		}
		out = append(out, s)
	}
	return out, tx.db.wrap("score rules", rows.Err())
}

// MatchesContact reports whether person id satisfies a compiled tree.
func (tx *Tx) MatchesContact(ctx context.Context, q CompiledRules, id int64) (bool, error) {
	var n int
	args := append([]any{id}, q.Args...)
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM contacts c WHERE c.id = ? AND (`+q.Where+`)`, args...).Scan(&n)
	return n > 0, tx.db.wrap("match contact", err)
}

// EventCounts calls fn with each person's number of events of type typ
// since since (zero: all).
func (tx *Tx) EventCounts(ctx context.Context, typ string, since time.Time, fn func(contactID, n int64)) error {
	q := `SELECT contact_id, COUNT(*) FROM events WHERE type = ? AND contact_id IS NOT NULL AND contact_id <> 0`
	args := []any{typ}
	if !since.IsZero() {
		q += ` AND created_at >= ?`
		args = append(args, since.UTC())
	}
	rows, err := tx.Query(ctx, q+` GROUP BY contact_id`, args...)
	if err != nil {
		return tx.db.wrap("event counts", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, n int64
		if err := rows.Scan(&id, &n); err != nil {
			return tx.db.wrap("event counts", err)
		}
		fn(id, n)
	}
	return tx.db.wrap("event counts", rows.Err())
}

// ContactEventCount counts one person's events of type typ since since (zero: all).
func (tx *Tx) ContactEventCount(ctx context.Context, contactID int64, typ string, since time.Time) (int64, error) {
	q := `SELECT COUNT(*) FROM events WHERE contact_id = ? AND type = ?`
	args := []any{contactID, typ}
	if !since.IsZero() {
		q += ` AND created_at >= ?`
		args = append(args, since.UTC())
	}
	var n int64
	err := tx.QueryRow(ctx, q, args...).Scan(&n)
	return n, tx.db.wrap("event count", err)
}

// SetContactScore stores a person's score (0 removes the row). A person
// who no longer exists is skipped.
func (tx *Tx) SetContactScore(ctx context.Context, contactID, score int64) error {
	if score == 0 {
		_, err := tx.Exec(ctx, `DELETE FROM contact_scores WHERE contact_id = ?`, contactID)
		return tx.db.wrap("contact score", err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO contact_scores (contact_id, score, computed_at) SELECT id, ?, ? FROM contacts WHERE id = ?
		ON CONFLICT (contact_id) DO UPDATE SET score = excluded.score, computed_at = excluded.computed_at`, score, tx.now, contactID)
	return tx.db.wrap("contact score", err)
}

// ReplaceContactScores replaces every stored score by scores (zeros are
// not stored; people who no longer exist are skipped).
func (tx *Tx) ReplaceContactScores(ctx context.Context, scores map[int64]int64) error {
	if _, err := tx.Exec(ctx, `DELETE FROM contact_scores`); err != nil {
		return tx.db.wrap("clear scores", err)
	}
	const batch = 400
	ids := make([]int64, 0, len(scores))
	for id, s := range scores {
		if s != 0 {
			ids = append(ids, id)
		}
	}
	if tx.Dialect() == Postgres {
		// Two arrays per statement: one plan for thousands of rows.
		const big = 10000
		for start := 0; start < len(ids); start += big {
			part := ids[start:min(start+big, len(ids))]
			vals := make([]int64, len(part))
			for i, id := range part {
				vals[i] = scores[id]
			}
			if _, err := tx.Exec(ctx, `INSERT INTO contact_scores (contact_id, score, computed_at)
				SELECT c.id, v.score, ? FROM unnest(?::bigint[], ?::bigint[]) v(id, score) JOIN contacts c ON c.id = v.id`, tx.now, part, vals); err != nil {
				return tx.db.wrap("store scores", err)
			}
		}
		return nil
	}
	for start := 0; start < len(ids); start += batch {
		end := min(start+batch, len(ids))
		var b strings.Builder
		args := make([]any, 0, 3*(end-start))
		b.WriteString(`INSERT INTO contact_scores (contact_id, score, computed_at) SELECT c.id, v.score, v.at FROM (`)
		for i, id := range ids[start:end] {
			if i > 0 {
				b.WriteString(` UNION ALL `)
			}
			if tx.Dialect() == Postgres {
				b.WriteString(`SELECT ?::bigint AS id, ?::bigint AS score, ?::timestamptz AS at`)
			} else {
				b.WriteString(`SELECT ? AS id, ? AS score, ? AS at`)
			}
			args = append(args, id, scores[id], tx.now)
		}
		b.WriteString(`) v JOIN contacts c ON c.id = v.id`)
		if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
			return tx.db.wrap("store scores", err)
		}
	}
	return nil
}

// ContactScore returns a person's score (0 when none is stored).
func (tx *Tx) ContactScore(ctx context.Context, contactID int64) (int64, error) {
	var n int64
	err := tx.QueryRow(ctx, `SELECT score FROM contact_scores WHERE contact_id = ?`, contactID).Scan(&n)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	return n, tx.db.wrap("contact score", err)
}

// ContactScores returns the stored scores of the given people (missing: 0).
func (tx *Tx) ContactScores(ctx context.Context, ids []int64) (map[int64]int64, error) {
	out := map[int64]int64{}
	if len(ids) == 0 {
		return out, nil
	}
	ph := strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := tx.Query(ctx, `SELECT contact_id, score FROM contact_scores WHERE contact_id IN (`+ph+`)`, args...)
	if err != nil {
		return nil, tx.db.wrap("contact scores", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, tx.db.wrap("contact scores", rows.Err())
}

// AllContactIDsMatching calls fn with each person a compiled tree matches.
func (tx *Tx) AllContactIDsMatching(ctx context.Context, q CompiledRules, fn func(id int64)) error {
	rows, err := tx.Query(ctx, `SELECT c.id FROM contacts c WHERE `+q.Where, q.Args...)
	if err != nil {
		return tx.db.wrap("matching people", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		fn(id)
	}
	return tx.db.wrap("matching people", rows.Err())
}
