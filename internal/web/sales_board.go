package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/sales"
)

// The kanban board: a pipeline's open stages as columns with their count
// and totals, the newest cards of each (more on demand), the won and lost
// drop zones, and moves. static/kanban.js drags cards with the mouse or a
// finger and moves them with the keyboard, posting the move and updating
// the columns' totals from the answer; without it every card has a move
// form.

type boardPage struct {
	salesBase
	salesChoices
	Pipelines []*crm.Pipeline
	Board     *sales.Board
	Filter    form
	Query     string // the filter as a query string ("" without one)
	Reasons   []*crm.LostReason
	Won, Lost crm.Stage
	Back      string // this board with its filter, where forms come back to
}

// handleSalesHome opens the board of the first pipeline, or offers to
// make one.
func (s *server) handleSalesHome(w http.ResponseWriter, r *http.Request) {
	ps, err := s.sales.Pipelines(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if len(ps) == 0 {
		d := &boardPage{salesBase: s.salesPage(r, "sales.board.title", "board"), Filter: form{Values: map[string]string{}}}
		s.render(w, r, http.StatusOK, "sales_board", d)
		return
	}
	target := "/sales/board/" + strconv.FormatInt(ps[0].ID, 10)
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// handleDefaultPipeline makes the first pipeline, with stage names in the
// admin's language.
func (s *server) handleDefaultPipeline(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	in := sales.PipelineInput{Name: p.T("sales.default.pipeline"), Currency: s.salesCurrency(r), WonStage: p.T("sales.default.won"), LostStage: p.T("sales.default.lost")}
	for i, prob := range []int{10, 30, 60, 80} {
		pr := prob
		in.Stages = append(in.Stages, sales.StageInput{Name: p.T("sales.default.stage_" + strconv.Itoa(i+1)), Probability: &pr})
	}
	pl, err := s.sales.CreatePipeline(r.Context(), in)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/sales/board/"+strconv.FormatInt(pl.ID, 10), "pipeline_created")
}

// salesCurrency is the currency a new pipeline starts with: the one the
// user's language suggests.
func (s *server) salesCurrency(r *http.Request) string {
	switch state(r).p.Lang() {
	case "fa":
		return "IRR"
	case "ar":
		return "AED"
	}
	return "USD"
}

// dealCurrency is the currency new products and leads start with: the
// first pipeline's, which deals take when none is given (so a product
// or a lead made in English in a rial shop is in rials too); the
// language's when there is no pipeline yet.
func (s *server) dealCurrency(r *http.Request) string {
	if ps, err := s.sales.Pipelines(r.Context()); err == nil && len(ps) > 0 && ps[0].Currency != "" {
		return ps[0].Currency
	}
	return s.salesCurrency(r)
}

func (s *server) handleBoard(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := state(r).p
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	d := &boardPage{salesBase: s.salesPage(r, "sales.board.title", "board")}
	var f crm.DealFilter
	f, d.Filter = dealFilterForm(p, r.URL.Query())
	status := http.StatusOK
	if !d.Filter.ok() {
		f, status = crm.DealFilter{}, http.StatusUnprocessableEntity
	}
	var err error
	if d.Board, err = s.sales.Board(ctx, id, f, 0); err != nil {
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		d.Filter.fail(p, err, map[string]string{"close_from": "sales.error.date", "close_to": "sales.error.date"})
		status = http.StatusUnprocessableEntity
		if d.Board, err = s.sales.Board(ctx, id, crm.DealFilter{}, 0); err != nil {
			s.renderError(w, r, err)
			return
		}
	}
	d.Title = d.Board.Pipeline.Name
	q := filterQuery(d.Filter, salesFilterKeys...)
	d.Query = q.Encode()
	d.Back = "/sales/board/" + strconv.FormatInt(id, 10)
	if d.Query != "" {
		d.Back += "?" + d.Query
	}
	d.Won, _ = d.Board.Pipeline.StageOfKind(crm.StageWon)
	d.Lost, _ = d.Board.Pipeline.StageOfKind(crm.StageLost)
	if d.Pipelines, err = s.sales.Pipelines(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.salesChoices, err = s.salesChoices(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.Reasons, err = s.sales.LostReasons(ctx, true); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, status, "sales_board", d)
}

// More is the address of a column's next cards (for kanban.js) with the
// board's filter.
func (d *boardPage) More(c sales.BoardColumn) string {
	u := "/sales/board/" + strconv.FormatInt(d.Board.Pipeline.ID, 10) + "/cards?stage=" + strconv.FormatInt(c.Stage.ID, 10) + "&after=" + c.Next
	if d.Query != "" {
		u += "&" + d.Query
	}
	return u
}

// ListLink is the list of a column's deals (all of them, without JS).
func (d *boardPage) ListLink(c sales.BoardColumn) string {
	u := "/sales/deals?status=open&stage=" + strconv.FormatInt(c.Stage.ID, 10)
	if d.Query != "" {
		u += "&" + d.Query
	}
	return u
}

// cardsData is what the deal-cards partial shows: some cards of a column.
type cardsData struct {
	L       *locale.Printer
	Base    *salesBase
	Cards   []*crm.Deal
	Names   *sales.Names
	Stages  []crm.Stage
	Reasons []*crm.LostReason
	CSRF    string
	Back    string
	Write   bool
}

// Cards is the data of the cards partial for a board page.
func (d *boardPage) Cards(c sales.BoardColumn) cardsData {
	return cardsData{L: d.L, Base: &d.salesBase, Cards: c.Cards, Names: d.Board.Names, Stages: d.Board.Pipeline.Stages, Reasons: d.Reasons,
		CSRF: d.CSRF, Back: d.Back, Write: d.CanWrite}
}

// handleBoardCards answers kanban.js's "more" with the next cards of a
// column as HTML, and the cursor after them in the X-Next header.
func (s *server) handleBoardCards(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st := state(r)
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	f, fo := dealFilterForm(st.p, r.URL.Query())
	if !fo.ok() || f.StageID == 0 {
		s.renderError(w, r, &crm.Error{Code: crm.EINVALID, Message: "Say which column (stage), with a valid filter."})
		return
	}
	pl, err := s.sales.Pipeline(ctx, id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	cards, names, next, err := s.sales.BoardCards(ctx, f.StageID, f, r.URL.Query().Get("after"))
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	reasons, err := s.sales.LostReasons(ctx, true)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	b := s.salesPage(r, "sales.board.title", "board")
	back := "/sales/board/" + strconv.FormatInt(id, 10)
	if q := filterQuery(fo, salesFilterKeys...).Encode(); q != "" {
		back += "?" + q
	}
	html, err := s.tmpl.partial("deal-cards", cardsData{L: st.p, Base: &b, Cards: cards, Names: names, Stages: pl.Stages, Reasons: reasons,
		CSRF: st.csrf, Back: back, Write: b.CanWrite})
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Next", next)
	w.Write([]byte(html))
}

// --- Moves ---

// moveAnswer is what a move posted by kanban.js gets back: the deal as it
// is now, the columns' headers for the board's filter, and a message.
type moveAnswer struct {
	OK       bool           `json:"ok"`
	Conflict bool           `json:"conflict,omitempty"`
	Message  string         `json:"message,omitempty"`
	Fields   map[string]any `json:"fields,omitempty"`
	Deal     *moveDeal      `json:"deal,omitempty"`
	Columns  []moveColumn   `json:"columns,omitempty"`
}

type moveDeal struct {
	ID      int64  `json:"id"`
	StageID int64  `json:"stage_id"`
	Version int64  `json:"version"`
	Status  string `json:"status"`
	Stage   string `json:"stage"`
}

type moveColumn struct {
	StageID  int64  `json:"stage_id"`
	Count    string `json:"count"`
	Total    string `json:"total"`
	Weighted string `json:"weighted"`
}

// wantsJSON reports whether a form was posted by script expecting JSON.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// moveInput reads the move form: stage, version, lost reason and note.
func moveInput(r *http.Request) sales.MoveInput {
	num := func(k string) int64 {
		n, _ := strconv.ParseInt(strings.TrimSpace(r.PostFormValue(k)), 10, 64)
		return n
	}
	return sales.MoveInput{StageID: num("stage_id"), Version: num("version"), LostReasonID: num("lost_reason_id"),
		LostNote: strings.TrimSpace(r.PostFormValue("lost_note"))}
}

func (s *server) handleDealMove(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	d, err := s.sales.Move(r.Context(), id, moveInput(r))
	s.moved(w, r, id, d, err, "deal_moved")
}

func (s *server) handleDealWin(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	d, err := s.sales.Win(r.Context(), id, moveInput(r).Version)
	s.moved(w, r, id, d, err, "deal_won")
}

func (s *server) handleDealLose(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	d, err := s.sales.Lose(r.Context(), id, moveInput(r))
	s.moved(w, r, id, d, err, "deal_lost")
}

func (s *server) handleDealReopen(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	in := moveInput(r)
	d, err := s.sales.Reopen(r.Context(), id, in.StageID, in.Version)
	s.moved(w, r, id, d, err, "deal_reopened")
}

// moved answers a move: JSON for kanban.js, else back to the page the
// form was on (the board or the deal) with a notice; a conflict goes back
// too, saying someone moved the deal meanwhile (the page then shows the
// deal as it is); other refusals show the deal's page with the problem.
func (s *server) moved(w http.ResponseWriter, r *http.Request, id int64, d *crm.Deal, err error, notice string) {
	p := state(r).p
	var ce *sales.ConflictError
	conflict := errors.As(err, &ce)
	if conflict {
		d, err = ce.Deal, nil
	}
	if wantsJSON(r) {
		s.moveJSON(w, r, d, err, conflict)
		return
	}
	back := localPath(r.PostFormValue("back"))
	if back == "/" {
		back = "/sales/deals/" + strconv.FormatInt(id, 10)
	}
	switch {
	case conflict:
		redirect(w, r, back, "deal_changed_meanwhile")
	case err == nil:
		redirect(w, r, back, notice)
	case crm.ErrorCode(err) == crm.EINVALID:
		f := form{Values: map[string]string{}}
		f.fail(p, err, map[string]string{"lost_reason_id": "sales.error.lost_reason", "stage_id": "sales.error.stage"})
		s.renderDeal(w, r, id, http.StatusUnprocessableEntity, dealForms{Move: f})
	default:
		s.renderError(w, r, err)
	}
}

func (s *server) moveJSON(w http.ResponseWriter, r *http.Request, d *crm.Deal, err error, conflict bool) {
	st := state(r)
	p := st.p
	ans := moveAnswer{OK: err == nil && !conflict, Conflict: conflict}
	status := http.StatusOK
	switch {
	case conflict:
		status = http.StatusConflict
	case err != nil:
		status = statusOf(err, http.StatusOK)
		ans.Message = explain(p, err).Text
		if status == http.StatusUnprocessableEntity {
			ans.Fields = map[string]any{}
			for k, v := range crm.ErrorFields(err) {
				ans.Fields[k] = v
			}
			if _, ok := ans.Fields["lost_reason_id"]; ok {
				ans.Message = p.T("sales.error.lost_reason")
			} else if _, ok := ans.Fields["stage_id"]; ok {
				ans.Message = p.T("sales.error.stage")
			}
		}
	}
	if d != nil {
		pl, perr := s.sales.Pipeline(r.Context(), d.PipelineID)
		if perr == nil {
			stage, _ := sales.StageOf(pl, d.StageID)
			ans.Deal = &moveDeal{ID: d.ID, StageID: d.StageID, Version: d.Version, Status: d.Status, Stage: stage.Name}
			if conflict {
				ans.Message = p.T("sales.move.conflict", "stage", stage.Name)
			} else if err == nil {
				ans.Message = p.T("sales.move.done", "title", d.Title, "stage", stage.Name)
			}
			// The columns' headers for the board's filter (sent with the move).
			q := r.URL.Query()
			for _, k := range salesFilterKeys {
				if v := r.PostFormValue(k); v != "" {
					q.Set(k, v)
				}
			}
			if f, fo := dealFilterForm(p, q); fo.ok() {
				if cols, cerr := s.sales.BoardTotals(r.Context(), d.PipelineID, f); cerr == nil {
					for _, c := range cols {
						ans.Columns = append(ans.Columns, moveColumn{StageID: c.Stage.ID, Count: dealCount(p, c.Count),
							Total: totalsText(p, c.Totals, false), Weighted: totalsText(p, c.Totals, true)})
					}
				}
			}
		}
	}
	b, _ := json.Marshal(ans)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}
