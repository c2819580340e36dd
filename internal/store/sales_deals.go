package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// Deals: the rows, their tags and stage history, the board's columns and
// cards, lists and the CSV stream.

const dealColumns = `d.id, d.pipeline_id, d.stage_id, d.status, d.title, d.value, d.currency, d.value_from_lines, d.contact_id, d.company_id,
	COALESCE(d.owner_id, 0), d.expected_close, d.source, d.custom, COALESCE(d.lost_reason_id, 0), d.lost_note, d.lead_id, d.version,
	d.stage_entered_at, d.closed_at, COALESCE(d.created_by, 0), d.created_at, d.updated_at`

func scanDeal(row rowScanner) (*crm.Deal, error) {
	var (
		d      crm.Deal
		custom string
		closed sql.NullTime
	)
	err := row.Scan(&d.ID, &d.PipelineID, &d.StageID, &d.Status, &d.Title, &d.Value, &d.Currency, &d.ValueFromLines, &d.ContactID, &d.CompanyID,
		&d.OwnerID, &d.ExpectedClose, &d.Source, &custom, &d.LostReasonID, &d.LostNote, &d.LeadID, &d.Version,
		&d.StageEnteredAt, &closed, &d.CreatedBy, &d.CreatedAt, &d.UpdatedAt)
	if err != nil {
		return nil, err
	}
	d.Custom = map[string]any{}
	if custom != "" && custom != "{}" {
		if err := json.Unmarshal([]byte(custom), &d.Custom); err != nil {
			return nil, fmt.Errorf("deal %d custom: %w", d.ID, err)
		}
	}
	d.ClosedAt = nullTimePtr(closed)
	d.StageEnteredAt, d.CreatedAt, d.UpdatedAt = d.StageEnteredAt.UTC(), d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	d.Tags = []string{}
	return &d, nil
}

// InsertDeal writes d with its tags and fills in its id, version and
// times (StageEnteredAt is now unless set).
func (tx *Tx) InsertDeal(ctx context.Context, d *crm.Deal) error {
	d.CreatedAt, d.UpdatedAt, d.Version = tx.now, tx.now, 1
	if d.StageEnteredAt.IsZero() {
		d.StageEnteredAt = tx.now
	}
	id, err := tx.InsertID(ctx, `INSERT INTO deals (pipeline_id, stage_id, status, title, value, currency, value_from_lines, contact_id, company_id,
		owner_id, expected_close, source, custom, lost_reason_id, lost_note, lead_id, version, stage_entered_at, closed_at, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		d.PipelineID, d.StageID, d.Status, d.Title, d.Value, d.Currency, d.ValueFromLines, d.ContactID, d.CompanyID,
		nullID(d.OwnerID), d.ExpectedClose, d.Source, mustJSON(d.Custom), nullID(d.LostReasonID), d.LostNote, d.LeadID, d.Version,
		d.StageEnteredAt.UTC(), nullableTime(utcMicroPtr(d.ClosedAt)), nullID(d.CreatedBy), tx.now, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert deal: %w", err)
	}
	d.ID = id
	return tx.writeDealTags(ctx, d.ID, d.Tags, false)
}

// UpdateDeal writes every changeable field of d and its tags when the
// stored version is still d.Version, and then increments d.Version;
// updated is false (and nothing changed) when someone changed the deal
// since d was read.
func (tx *Tx) UpdateDeal(ctx context.Context, d *crm.Deal) (updated bool, err error) {
	res, err := tx.Exec(ctx, `UPDATE deals SET pipeline_id = ?, stage_id = ?, status = ?, title = ?, value = ?, currency = ?, value_from_lines = ?,
		contact_id = ?, company_id = ?, owner_id = ?, expected_close = ?, source = ?, custom = ?, lost_reason_id = ?, lost_note = ?,
		version = version + 1, stage_entered_at = ?, closed_at = ?, updated_at = ?
		WHERE id = ? AND version = ?`,
		d.PipelineID, d.StageID, d.Status, d.Title, d.Value, d.Currency, d.ValueFromLines,
		d.ContactID, d.CompanyID, nullID(d.OwnerID), d.ExpectedClose, d.Source, mustJSON(d.Custom), nullID(d.LostReasonID), d.LostNote,
		d.StageEnteredAt.UTC(), nullableTime(utcMicroPtr(d.ClosedAt)), tx.now, d.ID, d.Version)
	if err != nil {
		return false, fmt.Errorf("store: update deal: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, tx.db.wrap("update deal", err)
	}
	if n == 0 {
		return false, nil
	}
	d.Version++
	d.UpdatedAt = tx.now
	return true, tx.writeDealTags(ctx, d.ID, d.Tags, true)
}

func (tx *Tx) writeDealTags(ctx context.Context, dealID int64, tags []string, replace bool) error {
	if replace {
		if _, err := tx.Exec(ctx, `DELETE FROM deal_tags WHERE deal_id = ?`, dealID); err != nil {
			return fmt.Errorf("store: deal tags: %w", err)
		}
	}
	for _, t := range tags {
		if _, err := tx.Exec(ctx, `INSERT INTO deal_tags (deal_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING`, dealID, t); err != nil {
			return fmt.Errorf("store: deal tags: %w", err)
		}
	}
	return nil
}

// DeleteDeal removes a deal with its tags, lines, quotes and history.
func (tx *Tx) DeleteDeal(ctx context.Context, id int64) error {
	return tx.expectOneRow(ctx, "Deal", `DELETE FROM deals WHERE id = ?`, id)
}

// FindDeal returns a deal the scope shows, with its tags (not its lines).
// With lock the row stays locked until the transaction ends.
func (tx *Tx) FindDeal(ctx context.Context, id int64, scope SalesScope, lock bool) (*crm.Deal, error) {
	var w conds
	w.add(`d.id = ?`, id)
	scope.add(&w, "d.owner_id")
	q := `SELECT ` + dealColumns + ` FROM deals d` + w.sql()
	if lock {
		q += tx.Dialect().forUpdate()
	}
	d, err := scanDeal(tx.QueryRow(ctx, q, w.args...))
	if err != nil {
		return nil, tx.NotFound(err, "Deal")
	}
	if err := tx.fillDealTags(ctx, []*crm.Deal{d}); err != nil {
		return nil, err
	}
	return d, nil
}

// DealParties returns the person and company of a deal; ok is false when
// there is no such deal. The activity module links tasks to deals by it.
func (tx *Tx) DealParties(ctx context.Context, id int64) (contactID, companyID int64, ok bool, err error) {
	err = tx.QueryRow(ctx, `SELECT contact_id, company_id FROM deals WHERE id = ?`, id).Scan(&contactID, &companyID)
	if err == sql.ErrNoRows {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, tx.db.wrap("deal parties", err)
	}
	return contactID, companyID, true, nil
}

func (tx *Tx) fillDealTags(ctx context.Context, deals []*crm.Deal) error {
	if len(deals) == 0 {
		return nil
	}
	byID := make(map[int64]*crm.Deal, len(deals))
	ids := make([]int64, len(deals))
	for i, d := range deals {
		byID[d.ID] = d
		ids[i] = d.ID
	}
	rows, err := tx.Query(ctx, `SELECT deal_id, tag FROM deal_tags WHERE deal_id IN (`+Placeholders(len(ids))+`) ORDER BY deal_id, tag`, anyArgs(ids)...)
	if err != nil {
		return fmt.Errorf("store: deal tags: %w", err)
	}
	return tx.db.wrap("deal tags", forEachRow(rows, func(r *sql.Rows) error {
		var (
			id  int64
			tag string
		)
		if err := r.Scan(&id, &tag); err != nil {
			return err
		}
		if d := byID[id]; d != nil {
			d.Tags = append(d.Tags, tag)
		}
		return nil
	}))
}

// dealConds turns a filter and a scope into WHERE conditions on deals d.
func (tx *Tx) dealConds(f crm.DealFilter, scope SalesScope) conds {
	var w conds
	if f.PipelineID != 0 {
		w.add(`d.pipeline_id = ?`, f.PipelineID)
	}
	if f.StageID != 0 {
		w.add(`d.stage_id = ?`, f.StageID)
	}
	if f.Status != "" {
		w.add(`d.status = ?`, f.Status)
	}
	if f.OwnerID != nil {
		if *f.OwnerID == 0 {
			w.add(`d.owner_id IS NULL`)
		} else {
			w.add(`d.owner_id = ?`, *f.OwnerID)
		}
	}
	if f.Tag != "" {
		w.add(`EXISTS (SELECT 1 FROM deal_tags t WHERE t.deal_id = d.id AND t.tag = ?)`, f.Tag)
	}
	if f.CloseFrom != "" {
		w.add(`d.expected_close >= ?`, f.CloseFrom)
	}
	if f.CloseTo != "" {
		w.add(`d.expected_close <> '' AND d.expected_close <= ?`, f.CloseTo)
	}
	if f.ContactID != 0 {
		w.add(`d.contact_id = ?`, f.ContactID)
	}
	if f.CompanyID != 0 {
		w.add(`d.company_id = ?`, f.CompanyID)
	}
	for _, fc := range f.Fields {
		cond, a := tx.Dialect().customCond("d.custom", CustomCond{Key: fc.Key, Type: fc.Type, Value: fc.Value})
		w.add(cond, a...)
	}
	if q := strings.TrimSpace(f.Q); q != "" {
		w.add(`d.title `+tx.Dialect().CaseInsensitiveLike()+` ? ESCAPE '\'`, "%"+likeLiteral(q)+"%")
	}
	scope.add(&w, "d.owner_id")
	return w
}

// likeLiteral escapes LIKE's wildcards in s (the escape character is \).
func likeLiteral(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// FindDeals lists deals matching f that the scope shows, newest first,
// with their tags; next is the cursor of the following page, "" on the
// last.
func (tx *Tx) FindDeals(ctx context.Context, f crm.DealFilter, scope SalesScope) ([]*crm.Deal, string, error) {
	before, err := crm.DecodeIDCursor(f.After)
	if err != nil {
		return nil, "", err
	}
	limit := crm.ClampLimit(f.Limit)
	w := tx.dealConds(f, scope)
	if before > 0 {
		w.add(`d.id < ?`, before)
	}
	out, err := pageRows(ctx, tx, `SELECT `+dealColumns+` FROM deals d`+w.sql()+` ORDER BY d.id DESC LIMIT ?`, w.args, limit, "deals", scanDeal)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = crm.EncodeIDCursor(out[limit-1].ID)
	}
	return out, next, tx.fillDealTags(ctx, out)
}

// StreamDeals calls fn with every deal matching f that the scope shows,
// newest first, in batches of 500 (tags filled), holding one batch at a
// time: CSV exports of any size.
func (tx *Tx) StreamDeals(ctx context.Context, f crm.DealFilter, scope SalesScope, fn func(*crm.Deal) error) error {
	f.After = ""
	f.Limit = crm.MaxLimit
	for {
		page, next, err := tx.FindDeals(ctx, f, scope)
		if err != nil {
			return err
		}
		for _, d := range page {
			if err := fn(d); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		f.After = next
	}
}

// DealTags lists the tags in use on deals, by how many deals carry them
// (at most limit).
func (tx *Tx) DealTags(ctx context.Context, limit int) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT tag FROM deal_tags GROUP BY tag ORDER BY COUNT(*) DESC, tag LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: deal tags: %w", err)
	}
	var out []string
	return out, tx.db.wrap("deal tags", forEachRow(rows, func(r *sql.Rows) error {
		var t string
		err := r.Scan(&t)
		out = append(out, t)
		return err
	}))
}

// --- Stage history ---

// EnterStage records that deal d entered its current stage at
// d.StageEnteredAt, first closing its previous stay (if any) at that time.
func (tx *Tx) EnterStage(ctx context.Context, d *crm.Deal, stage crm.Stage) error {
	at := d.StageEnteredAt.UTC()
	if _, err := tx.Exec(ctx, `UPDATE deal_stage_history SET left_at = ? WHERE deal_id = ? AND left_at IS NULL`, at, d.ID); err != nil {
		return fmt.Errorf("store: close stage visit: %w", err)
	}
	_, err := tx.InsertID(ctx, `INSERT INTO deal_stage_history (deal_id, pipeline_id, stage_id, stage_name, stage_kind, entered_at, actor_id)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, d.ID, stage.PipelineID, stage.ID, stage.Name, stage.Kind, at, nullID(crm.UserIDFromContext(ctx)))
	if err != nil {
		return fmt.Errorf("store: stage visit: %w", err)
	}
	return nil
}

// StageVisits returns a deal's stays in stages, oldest first.
func (tx *Tx) StageVisits(ctx context.Context, dealID int64) ([]crm.StageVisit, error) {
	rows, err := tx.Query(ctx, `SELECT id, deal_id, pipeline_id, stage_id, stage_name, stage_kind, entered_at, left_at, COALESCE(actor_id, 0)
		FROM deal_stage_history WHERE deal_id = ? ORDER BY id`, dealID)
	if err != nil {
		return nil, fmt.Errorf("store: stage history: %w", err)
	}
	out := []crm.StageVisit{}
	return out, tx.db.wrap("stage history", forEachRow(rows, func(r *sql.Rows) error {
		var (
			v    crm.StageVisit
			left sql.NullTime
		)
		if err := r.Scan(&v.ID, &v.DealID, &v.PipelineID, &v.StageID, &v.StageName, &v.StageKind, &v.EnteredAt, &left, &v.ActorID); err != nil {
			return err
		}
		v.EnteredAt = v.EnteredAt.UTC()
		v.LeftAt = nullTimePtr(left)
		out = append(out, v)
		return nil
	}))
}

// OpenDealsInStage returns the ids and versions of the open deals in a
// stage, for moving them out of a stage being removed.
func (tx *Tx) OpenDealsInStage(ctx context.Context, stageID int64) ([]*crm.Deal, error) {
	rows, err := tx.Query(ctx, `SELECT `+dealColumns+` FROM deals d WHERE d.stage_id = ? ORDER BY d.id`+tx.Dialect().forUpdate(), stageID)
	if err != nil {
		return nil, fmt.Errorf("store: deals in stage: %w", err)
	}
	var out []*crm.Deal
	err = forEachRow(rows, func(r *sql.Rows) error {
		d, err := scanDeal(r)
		if err == nil {
			out = append(out, d)
		}
		return err
	})
	if err != nil {
		return nil, tx.db.wrap("deals in stage", err)
	}
	return out, tx.fillDealTags(ctx, out)
}

// --- The board ---

// BoardColumn is what a board column's header shows for one currency:
// how many open deals, their value and their weighted value (each deal's
// value × the stage's probability, rounded half up to a minor unit).
type BoardColumn struct {
	StageID  int64
	Currency string
	Count    int64
	Value    int64
	Weighted int64
}

// BoardColumns sums the open deals of a pipeline that match f and the
// scope, per stage and currency.
func (tx *Tx) BoardColumns(ctx context.Context, pipelineID int64, f crm.DealFilter, scope SalesScope) ([]BoardColumn, error) {
	f.PipelineID, f.StageID, f.Status = pipelineID, 0, crm.DealOpen
	w := tx.dealConds(f, scope)
	rows, err := tx.Query(ctx, `SELECT d.stage_id, d.currency, COUNT(*), COALESCE(SUM(d.value), 0), COALESCE(SUM((d.value * s.probability + 50) / 100), 0)
		FROM deals d JOIN pipeline_stages s ON s.id = d.stage_id`+w.sql()+` GROUP BY d.stage_id, d.currency ORDER BY d.stage_id, d.currency`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: board columns: %w", err)
	}
	var out []BoardColumn
	return out, tx.db.wrap("board columns", forEachRow(rows, func(r *sql.Rows) error {
		var c BoardColumn
		err := r.Scan(&c.StageID, &c.Currency, &c.Count, &c.Value, &c.Weighted)
		out = append(out, c)
		return err
	}))
}

// BoardCards returns up to limit open deals of one stage that match f and
// the scope, the latest to enter the stage first, after the cursor (from
// a previous call's next); next is "" when the stage has no more.
func (tx *Tx) BoardCards(ctx context.Context, stageID int64, f crm.DealFilter, scope SalesScope, limit int, after string) ([]*crm.Deal, string, error) {
	key, afterID, err := crm.DecodeCursor(after)
	if err != nil {
		return nil, "", err
	}
	f.StageID, f.Status = stageID, crm.DealOpen
	w := tx.dealConds(f, scope)
	if afterID > 0 {
		micros, err := strconv.ParseInt(key, 10, 64)
		if err != nil {
			return nil, "", crm.Errorf(crm.EINVALID, "The cursor is not valid.")
		}
		at := time.UnixMicro(micros).UTC()
		w.add(`(d.stage_entered_at < ? OR (d.stage_entered_at = ? AND d.id < ?))`, at, at, afterID)
	}
	limit = max(1, min(limit, crm.MaxLimit))
	out, err := pageRows(ctx, tx, `SELECT `+dealColumns+` FROM deals d`+w.sql()+` ORDER BY d.stage_entered_at DESC, d.id DESC LIMIT ?`,
		w.args, limit, "board cards", scanDeal)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = crm.EncodeCursor(strconv.FormatInt(last.StageEnteredAt.UnixMicro(), 10), last.ID)
	}
	return out, next, tx.fillDealTags(ctx, out)
}

// --- Names for lists ---

// SalesNames are the names a deal list shows: people, companies, users,
// stages and pipelines by id.
type SalesNames struct {
	Contacts  map[int64]string
	Companies map[int64]string
	Users     map[int64]string
	Stages    map[int64]crm.Stage
	Pipelines map[int64]string
}

// SalesNamesOf reads the names of the people, companies, owners, stages
// and pipelines of deals, in a few queries.
func (tx *Tx) SalesNamesOf(ctx context.Context, deals []*crm.Deal) (*SalesNames, error) {
	var people, companies, users, stages, pipes []int64
	for _, d := range deals {
		people = append(people, d.ContactID)
		companies = append(companies, d.CompanyID)
		users = append(users, d.OwnerID)
		stages = append(stages, d.StageID)
		pipes = append(pipes, d.PipelineID)
	}
	return tx.SalesNamesFor(ctx, people, companies, users, stages, pipes)
}

// SalesNamesFor reads the names of the given people, companies, users,
// stages and pipelines.
func (tx *Tx) SalesNamesFor(ctx context.Context, people, companies, users, stages, pipes []int64) (*SalesNames, error) {
	n := &SalesNames{Contacts: map[int64]string{}, Companies: map[int64]string{}, Users: map[int64]string{},
		Stages: map[int64]crm.Stage{}, Pipelines: map[int64]string{}}
	var err error
	if ids := nonZeroUnique(people); len(ids) > 0 {
		if n.Contacts, err = tx.contactDisplayNames(ctx, ids); err != nil {
			return nil, err
		}
	}
	if ids := nonZeroUnique(companies); len(ids) > 0 {
		if n.Companies, err = tx.CompanyNames(ctx, ids); err != nil {
			return nil, err
		}
	}
	if ids := nonZeroUnique(users); len(ids) > 0 {
		refs, err := tx.UserRefs(ctx, ids)
		if err != nil {
			return nil, err
		}
		for id, u := range refs {
			n.Users[id] = cmpName(u.Name, u.Email)
		}
	}
	if n.Stages, err = tx.StagesByID(ctx, stages); err != nil {
		return nil, err
	}
	if ids := nonZeroUnique(pipes); len(ids) > 0 {
		rows, err := tx.Query(ctx, `SELECT id, name FROM pipelines WHERE id IN (`+Placeholders(len(ids))+`)`, anyArgs(ids)...)
		if err != nil {
			return nil, fmt.Errorf("store: pipeline names: %w", err)
		}
		if err := forEachRow(rows, func(r *sql.Rows) error {
			var (
				id   int64
				name string
			)
			err := r.Scan(&id, &name)
			n.Pipelines[id] = name
			return err
		}); err != nil {
			return nil, tx.db.wrap("pipeline names", err)
		}
	}
	return n, nil
}

func cmpName(name, email string) string {
	if strings.TrimSpace(name) != "" {
		return name
	}
	return email
}

// contactDisplayNames names people as crm.Contact.DisplayName does,
// reading only the columns that takes.
func (tx *Tx) contactDisplayNames(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	rows, err := tx.Query(ctx, `SELECT id, first_name, middle_name, last_name, emails, phones FROM contacts WHERE id IN (`+
		Placeholders(len(ids))+`)`, anyArgs(ids)...)
	if err != nil {
		return nil, fmt.Errorf("store: contact names: %w", err)
	}
	return out, tx.db.wrap("contact names", forEachRow(rows, func(r *sql.Rows) error {
		var (
			c              crm.Contact
			emails, phones string
		)
		if err := r.Scan(&c.ID, &c.FirstName, &c.MiddleName, &c.LastName, &emails, &phones); err != nil {
			return err
		}
		if c.FirstName == "" && c.MiddleName == "" && c.LastName == "" {
			_ = json.Unmarshal([]byte(emails), &c.Emails)
			_ = json.Unmarshal([]byte(phones), &c.Phones)
		}
		out[c.ID] = c.DisplayName()
		return nil
	}))
}

// --- Following contacts ---

// MoveDealsAndLeads points the deals, leads and quotes of the people
// fromIDs at the person toID (a merge); toID 0 detaches them (a deletion).
// It returns how many deals moved.
func (tx *Tx) MoveDealsAndLeads(ctx context.Context, fromIDs []int64, toID int64) (int64, error) {
	ids := slices.DeleteFunc(nonZeroUnique(fromIDs), func(id int64) bool { return id == toID })
	if len(ids) == 0 {
		return 0, nil
	}
	in := ` IN (` + Placeholders(len(ids)) + `)`
	args := append([]any{toID}, anyArgs(ids)...)
	res, err := tx.Exec(ctx, `UPDATE deals SET contact_id = ? WHERE contact_id`+in, args...)
	if err != nil {
		return 0, fmt.Errorf("store: move deals: %w", err)
	}
	n, _ := res.RowsAffected()
	for _, table := range []string{"leads", "quotes"} {
		if _, err := tx.Exec(ctx, `UPDATE `+table+` SET contact_id = ? WHERE contact_id`+in, args...); err != nil {
			return 0, fmt.Errorf("store: move %s: %w", table, err)
		}
	}
	return n, nil
}

// DetachCompanyDeals unlinks a deleted company from deals, leads and
// quotes.
func (tx *Tx) DetachCompanyDeals(ctx context.Context, companyID int64) error {
	for _, table := range []string{"deals", "leads", "quotes"} {
		if _, err := tx.Exec(ctx, `UPDATE `+table+` SET company_id = 0 WHERE company_id = ?`, companyID); err != nil {
			return fmt.Errorf("store: detach company from %s: %w", table, err)
		}
	}
	return nil
}

// DealEvents returns the newest events about a deal and its quotes (at
// most limit), newest first: the deal page's history.
func (tx *Tx) DealEvents(ctx context.Context, dealID int64, limit int) ([]crm.Event, error) {
	rows, err := tx.Query(ctx, `SELECT id, type, subject_type, subject_id, actor_id, COALESCE(contact_id, 0), COALESCE(company_id, 0), payload, created_at
		FROM events WHERE (subject_type = 'deal' AND subject_id = ?)
		OR (subject_type = 'quote' AND subject_id IN (SELECT id FROM quotes WHERE deal_id = ?))
		ORDER BY id DESC LIMIT ?`, dealID, dealID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: deal events: %w", err)
	}
	var out []crm.Event
	return out, tx.db.wrap("deal events", forEachRow(rows, func(r *sql.Rows) error {
		var (
			ev      crm.Event
			payload string
		)
		if err := r.Scan(&ev.ID, &ev.Type, &ev.SubjectType, &ev.SubjectID, &ev.ActorID, &ev.ContactID, &ev.CompanyID, &payload, &ev.CreatedAt); err != nil {
			return err
		}
		ev.Payload = json.RawMessage(payload)
		ev.CreatedAt = ev.CreatedAt.UTC()
		out = append(out, ev)
		return nil
	}))
}
