package sales

import (
	"context"
	"slices"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// The kanban board: a pipeline's open stages as columns, each with the
// count and total value of all its open deals (for the filter) and the
// first cards; more cards come a page at a time, so a pipeline with tens
// of thousands of open deals draws as fast as one with ten.

// Amount is money of one currency with how many deals make it up.
type Amount struct {
	Currency string `json:"currency"`
	Count    int64  `json:"count"`
	Value    int64  `json:"value"`
	Weighted int64  `json:"weighted"`
}

// BoardColumn is one stage of the board.
type BoardColumn struct {
	Stage  crm.Stage   `json:"stage"`
	Count  int64       `json:"count"`
	Totals []Amount    `json:"totals"` // per currency, in currency order
	Cards  []*crm.Deal `json:"cards,omitempty"`
	Next   string      `json:"next,omitempty"` // cursor of the column's next cards
}

// Board is a pipeline's board.
type Board struct {
	Pipeline *crm.Pipeline
	Columns  []BoardColumn
	Names    *store.SalesNames
}

// BoardPage is how many cards a column shows at first and per "more".
const BoardPage = boardColumnSz

// Board returns a pipeline's board for the filter f (its pipeline, stage
// and status are ignored): every open stage with its count and totals,
// and up to perColumn cards each (BoardPage when 0; none when negative).
// Needs sales:read.
func (s *Service) Board(ctx context.Context, pipelineID int64, f crm.DealFilter, perColumn int) (*Board, error) {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return nil, err
	}
	f.Status, f.StageID, f.PipelineID = "", 0, 0
	if err := checkFilter(&f); err != nil {
		return nil, err
	}
	if perColumn == 0 {
		perColumn = BoardPage
	}
	b := &Board{}
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		sc, err := s.scope(ctx, tx)
		if err != nil {
			return err
		}
		if b.Pipeline, err = tx.FindPipeline(ctx, pipelineID, false); err != nil {
			return err
		}
		if b.Columns, err = columns(ctx, tx, b.Pipeline, f, sc); err != nil {
			return err
		}
		var all []*crm.Deal
		if perColumn > 0 {
			for i := range b.Columns {
				c := &b.Columns[i]
				if c.Count == 0 {
					continue
				}
				if c.Cards, c.Next, err = tx.BoardCards(ctx, c.Stage.ID, f, sc, perColumn, ""); err != nil {
					return err
				}
				all = append(all, c.Cards...)
			}
		}
		b.Names, err = tx.SalesNamesOf(ctx, all)
		return err
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// columns sums a pipeline's open deals per stage.
func columns(ctx context.Context, tx *store.Tx, p *crm.Pipeline, f crm.DealFilter, sc store.SalesScope) ([]BoardColumn, error) {
	sums, err := tx.BoardColumns(ctx, p.ID, f, sc)
	if err != nil {
		return nil, err
	}
	var out []BoardColumn
	for _, st := range p.OpenStages() {
		c := BoardColumn{Stage: st, Totals: []Amount{}}
		for _, sm := range sums {
			if sm.StageID == st.ID {
				c.Count += sm.Count
				c.Totals = append(c.Totals, Amount{Currency: sm.Currency, Count: sm.Count, Value: sm.Value, Weighted: sm.Weighted})
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// BoardTotals returns the board's columns without cards: what a board
// shows in its headers after a move. Needs sales:read.
func (s *Service) BoardTotals(ctx context.Context, pipelineID int64, f crm.DealFilter) ([]BoardColumn, error) {
	b, err := s.Board(ctx, pipelineID, f, -1)
	if err != nil {
		return nil, err
	}
	return b.Columns, nil
}

// BoardCards returns the next cards of one column after the cursor. Needs
// sales:read.
func (s *Service) BoardCards(ctx context.Context, stageID int64, f crm.DealFilter, after string) ([]*crm.Deal, *store.SalesNames, string, error) {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return nil, nil, "", err
	}
	f.Status, f.StageID, f.PipelineID = "", 0, 0
	if err := checkFilter(&f); err != nil {
		return nil, nil, "", err
	}
	var (
		cards []*crm.Deal
		names *store.SalesNames
		next  string
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		sc, err := s.scope(ctx, tx)
		if err != nil {
			return err
		}
		if cards, next, err = tx.BoardCards(ctx, stageID, f, sc, BoardPage, after); err != nil {
			return err
		}
		names, err = tx.SalesNamesOf(ctx, cards)
		return err
	})
	return cards, names, next, err
}

// StageValues is the open pipeline by stage, for the "pipeline value by
// stage" report: each open stage with its deals' count, value and
// weighted value per currency. Needs sales:read.
func (s *Service) StageValues(ctx context.Context, pipelineID int64) (*crm.Pipeline, []BoardColumn, error) {
	b, err := s.Board(ctx, pipelineID, crm.DealFilter{}, -1)
	if err != nil {
		return nil, nil, err
	}
	return b.Pipeline, b.Columns, nil
}

// Currencies lists the currencies of columns, in order.
func Currencies(cols []BoardColumn) []string {
	var out []string
	for _, c := range cols {
		for _, a := range c.Totals {
			if !slices.Contains(out, a.Currency) {
				out = append(out, a.Currency)
			}
		}
	}
	slices.Sort(out)
	return out
}
