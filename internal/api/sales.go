package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/problem"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/text"
)

// Sales (internal/sales): leads, pipelines and stages, lost reasons,
// deals with their moves, line items, history and quotes, the products
// catalogue, the board, the forecast and the sales settings. The routes
// exist when the API was given the sales service.

func init() {
	moduleRoutes = append(moduleRoutes, salesRoutes)
	for k, v := range map[string]string{
		"leads":     "People and companies not yet qualified; converting one makes (or finds) the person and the company and opens a deal, in one step.",
		"pipelines": "Sales processes: ordered open stages with a win probability, then a won and a lost stage. Admins change them; deals keep their history.",
		"deals":     "Sales in progress on a pipeline. Money is integer minor units of currency. Moves, wins and losses are stage changes with a version check.",
		"products":  "The products catalogue that line items are chosen from.",
		"quotes":    "Numbered offers made from a deal's line items: draft, sent, accepted or declined.",
		"forecast":  "Expected revenue of the open deals by month of expected close, weighted by the stages' probabilities.",
	} {
		tagDescriptions[k] = v
	}
	for k, v := range map[string]string{
		"Pipeline":         "A pipeline with its stages in order: the open ones, then the won and the lost stage.",
		"Stage":            "A stage: probability is the percent chance a deal in it is won; kind is open, won or lost.",
		"Deal":             "A deal. value is in minor units of currency (with value_from_lines, the sum of its line items before tax). custom holds the values of the deal fields (GET /custom-fields?entity=deal) by key. version grows with every change; send it back with a move or a change to be told (409) when someone changed the deal meanwhile.",
		"DealLine":         "A line item: subtotal = quantity × unit_price − discount; tax = subtotal × tax_rate / 10000, rounded half up; total = subtotal + tax. tax_rate is in hundredths of a percent (900 is 9%).",
		"LineInput":        "A line item: product_id (its name, SKU, price and tax rate unless given here) or a name; quantity 1 when absent; currency, when given, must be the deal's.",
		"DealCreate":       "A new deal. pipeline_id absent: the first pipeline; stage_id absent: its first open stage; currency absent: the pipeline's; owner_id absent: you (0: nobody). custom: values of the deal fields by key, each checked against its type (an unknown key or a bad value is a 422 naming custom.<key>; required fields are required). stage_id may be the won or lost stage: the deal is created closed, as moving it there would close it; for the lost stage lost_reason_id (required when the settings require a reason and there are reasons: else a 422 naming lost_reason_id) and lost_note, ignored for other stages.",
		"DealPatch":        "Members to change; absent ones stay. owner_id 0 leaves the deal without an owner; tags replace the whole list; custom merges per key, null removing a value (a required field cannot be removed). pipeline_id moves the deal to another pipeline, into stage_id (its first open stage when absent); into its lost stage, lost_reason_id (required when the settings require a reason and there are reasons: else a 422 naming lost_reason_id) and lost_note go with the move as with a move, and are ignored otherwise. version, when sent, must be the deal's current one.",
		"DealMove":         "The stage to move to (one of the deal's pipeline's), the version you saw, and for the lost stage a lost reason and a note.",
		"DealConflict":     "The deal changed since the version sent: deal is the deal as it is now.",
		"StageVisit":       "One stay of a deal in a stage, with the stage's name and kind as they were then; left_at null while it is still there.",
		"Product":          "A product of the catalogue; price in minor units of currency, tax_rate in hundredths of a percent.",
		"Quote":            "A quote: the deal's line items when it was made, with totals; number is unique (shown with the settings' prefix).",
		"Lead":             "A lead: someone not yet qualified, with where they came from (source) and how far they are (status).",
		"LeadConvert":      "What a lead becomes: contact_id or company_id to use existing ones (else found by phone, email or name, or created); no_company, no_deal; deal for the deal's fields (title, pipeline, stage, value, currency, expected close, owner; for a lost stage lost_reason_id and lost_note, errors named deal.<field>).",
		"Conversion":       "What a lead became: the person and company (created or found) and the deal.",
		"LostReason":       "A reason deals are lost for; active false retires it (deals lost for it keep it).",
		"Board":            "A pipeline's open stages with the count and total value (and weighted value) of their open deals per currency, and their first cards; next is a column's cursor to more cards.",
		"Forecast":         "Open deals by month of expected close (in the calendar asked for), per currency: count, value and weighted value (value × the stage's probability, rounded half up per deal); overdue is those expected before the first month, no_date those without a date.",
		"SalesSettingsIn":  "New sales settings: every member (has_logo is ignored; the logo is uploaded on the web).",
		"SalesSettingsOut": "What sales and support users see (visibility all or team), whether losing needs a reason, and the business details quotes print.",
	} {
		schemaDescriptions[k] = v
	}
}

func salesRoutes(a *API) []route {
	if a.sales == nil {
		return nil
	}
	read, write, manage, admin := crm.PermSalesRead, crm.PermSalesWrite, crm.PermSalesManage, crm.PermSettingsManage
	dealConflict := dealConflictProblem{}
	return []route{
		{"GET /api/v1/leads", a.handleLeadList, op{ID: "listLeads", Tag: "leads", Perm: read, Paged: true, Query: leadParams,
			Summary: "List leads, newest first", Out: list[*crm.Lead]{}}},
		{"POST /api/v1/leads", a.handleLeadCreate, op{ID: "createLead", Tag: "leads", Perm: write, Status: http.StatusCreated, Location: true,
			Summary: "Add a lead", In: sales.LeadInput{}, Out: &crm.Lead{},
			Description: "At least a name, a company, an email or a phone. Phones are stored in E.164 (Persian and Arabic digits accepted). Writes lead.created."}},
		{"GET /api/v1/leads/{id}", a.handleLeadGet, op{ID: "getLead", Tag: "leads", Perm: read, Summary: "Read a lead", Out: &crm.Lead{}}},
		{"PATCH /api/v1/leads/{id}", a.handleLeadUpdate, op{ID: "updateLead", Tag: "leads", Perm: write,
			Summary: "Change a lead that is not converted", In: sales.LeadUpdate{}, Out: &crm.Lead{}}},
		{"DELETE /api/v1/leads/{id}", a.handleLeadDelete, op{ID: "deleteLead", Tag: "leads", Perm: write, Status: http.StatusNoContent,
			Summary: "Delete a lead that is not converted"}},
		{"POST /api/v1/leads/{id}/convert", a.handleLeadConvert, op{ID: "convertLead", Tag: "leads", Perm: write,
			Summary: "Convert a lead into a person, a company and a deal, in one step", In: leadConvert{}, Out: &sales.Conversion{},
			Description: "Everything happens in one transaction: a problem with the deal (422 naming deal.<field>) creates nothing. The lead's history moves onto the person's and company's timelines. Needs contacts:write too."}},

		{"GET /api/v1/pipelines", a.handlePipelineList, op{ID: "listPipelines", Tag: "pipelines", Perm: read,
			Summary: "List pipelines with their stages", Out: list[*crm.Pipeline]{}}},
		{"POST /api/v1/pipelines", a.handlePipelineCreate, op{ID: "createPipeline", Tag: "pipelines", Perm: admin, Status: http.StatusCreated, Location: true,
			Summary: "Create a pipeline with its open stages (won and lost stages are added)", In: sales.PipelineInput{}, Out: &crm.Pipeline{}}},
		{"GET /api/v1/pipelines/{id}", a.handlePipelineGet, op{ID: "getPipeline", Tag: "pipelines", Perm: read,
			Summary: "Read a pipeline with its stages", Out: &crm.Pipeline{}}},
		{"PATCH /api/v1/pipelines/{id}", a.handlePipelineUpdate, op{ID: "updatePipeline", Tag: "pipelines", Perm: admin,
			Summary: "Rename a pipeline, change its currency or its place", In: sales.PipelineUpdate{}, Out: &crm.Pipeline{}}},
		{"DELETE /api/v1/pipelines/{id}", a.handlePipelineDelete, op{ID: "deletePipeline", Tag: "pipelines", Perm: admin, Status: http.StatusNoContent,
			Summary: "Delete a pipeline without deals (409 otherwise)"}},
		{"POST /api/v1/pipelines/{id}/stages", a.handleStageCreate, op{ID: "createStage", Tag: "pipelines", Perm: admin, Status: http.StatusCreated,
			Summary: "Add an open stage at a position (last when absent)", In: stageCreate{}, Out: &crm.Stage{}}},
		{"PATCH /api/v1/stages/{id}", a.handleStageUpdate, op{ID: "updateStage", Tag: "pipelines", Perm: admin,
			Summary: "Rename a stage, change its probability or move it among the open stages", In: sales.StageUpdate{}, Out: &crm.Stage{},
			Description: "Deals keep their history: it names stages as they were."}},
		{"DELETE /api/v1/stages/{id}", a.handleStageDelete, op{ID: "deleteStage", Tag: "pipelines", Perm: admin, Status: http.StatusNoContent,
			Query:   []param{{Name: "move_to", Type: "integer", Description: "The open stage of the same pipeline the stage's open deals move to (required when it has any)."}},
			Summary: "Remove an open stage, moving its open deals to another"}},
		{"GET /api/v1/pipelines/{id}/board", a.handleBoard, op{ID: "getBoard", Tag: "deals", Perm: read, Query: append(boardParams, dealFilterParams[2:]...),
			Summary: "A pipeline's board: each open stage's count, totals and first cards", Out: &board{}}},

		{"GET /api/v1/lost-reasons", a.handleLostReasonList, op{ID: "listLostReasons", Tag: "pipelines", Perm: read,
			Query:   []param{{Name: "active", Type: "boolean", Description: "true: only the reasons deals can still be lost for."}},
			Summary: "List the lost reasons", Out: list[*crm.LostReason]{}}},
		{"POST /api/v1/lost-reasons", a.handleLostReasonCreate, op{ID: "createLostReason", Tag: "pipelines", Perm: admin, Status: http.StatusCreated,
			Summary: "Add a lost reason", In: lostReasonCreate{}, Out: &crm.LostReason{}}},
		{"PATCH /api/v1/lost-reasons/{id}", a.handleLostReasonUpdate, op{ID: "updateLostReason", Tag: "pipelines", Perm: admin,
			Summary: "Rename, retire or move a lost reason", In: sales.LostReasonUpdate{}, Out: &crm.LostReason{}}},
		{"DELETE /api/v1/lost-reasons/{id}", a.handleLostReasonDelete, op{ID: "deleteLostReason", Tag: "pipelines", Perm: admin, Status: http.StatusNoContent,
			Summary: "Delete a lost reason no deal was lost for (retire it otherwise)"}},

		{"GET /api/v1/deals", a.handleDealList, op{ID: "listDeals", Tag: "deals", Perm: read, Paged: true, Query: dealFilterParams,
			Summary: "List deals, newest first", Description: customFilterNote, Out: list[*crm.Deal]{}}},
		{"GET /api/v1/deals/export.csv", a.handleDealExport, op{ID: "exportDealsCSV", Tag: "deals", Perm: read, Query: dealFilterParams,
			Summary: "Download the deals of the filter as CSV (UTF-8 with a byte order mark)", Description: customFilterNote + " After the fixed columns, one column custom.<key> per deal field.", Out: "", MediaType: "text/csv"}},
		{"POST /api/v1/deals", a.handleDealCreate, op{ID: "createDeal", Tag: "deals", Perm: write, Status: http.StatusCreated, Location: true,
			Summary: "Create a deal", In: dealCreate{}, Out: &crm.Deal{},
			Description: "Writes deal.created on the person's and company's timelines. Created in the won or lost stage, the deal is closed as a move there closes it: a lost stage takes lost_reason_id and lost_note (a missing required reason is a 422 naming lost_reason_id), and deal.won or deal.lost, with the payload a move writes, follows deal.created."}},
		{"GET /api/v1/deals/{id}", a.handleDealGet, op{ID: "getDeal", Tag: "deals", Perm: read, Summary: "Read a deal with its line items", Out: &crm.Deal{}}},
		{"PATCH /api/v1/deals/{id}", a.handleDealUpdate, op{ID: "updateDeal", Tag: "deals", Perm: write, Conflict: dealConflict,
			Summary: "Change a deal: members sent are changed, the rest stay", In: dealPatch{}, Out: &crm.Deal{},
			Description: "Writes deal.updated listing the changed members. A new pipeline_id moves the deal into that pipeline's stage_id as a move would (deal.stage_changed, and deal.won, deal.lost or deal.reopened): its lost stage takes lost_reason_id and lost_note, and a missing required reason is a 422 naming lost_reason_id that changes nothing, the other members included. A stage_id of the deal's own pipeline is refused (422): use POST /deals/{id}/move."}},
		{"DELETE /api/v1/deals/{id}", a.handleDealDelete, op{ID: "deleteDeal", Tag: "deals", Perm: write, Status: http.StatusNoContent,
			Summary: "Delete a deal (its owner, or a user who may delete records)"}},
		{"POST /api/v1/deals/{id}/move", a.handleDealMove, op{ID: "moveDeal", Tag: "deals", Perm: write, Conflict: dealConflict,
			Summary: "Move a deal to another stage of its pipeline", In: dealMove{}, Out: &crm.Deal{},
			Description: "A stage of another pipeline is refused (422 naming stage_id). With version, a deal changed meanwhile is refused (409) with the deal as it is now. Moving to the won or lost stage wins or loses the deal. Writes deal.stage_changed (and deal.won, deal.lost or deal.reopened)."}},
		{"POST /api/v1/deals/{id}/win", a.handleDealWin, op{ID: "winDeal", Tag: "deals", Perm: write, Conflict: dealConflict,
			Summary: "Mark a deal won (move it to its pipeline's won stage)", In: dealVersion{}, Out: &crm.Deal{}}},
		{"POST /api/v1/deals/{id}/lose", a.handleDealLose, op{ID: "loseDeal", Tag: "deals", Perm: write, Conflict: dealConflict,
			Summary: "Mark a deal lost, with a reason", In: dealLose{}, Out: &crm.Deal{}}},
		{"POST /api/v1/deals/{id}/reopen", a.handleDealReopen, op{ID: "reopenDeal", Tag: "deals", Perm: write, Conflict: dealConflict,
			Summary: "Reopen a won or lost deal in stage_id, or the last open stage it was in", In: dealReopen{}, Out: &crm.Deal{}}},
		{"GET /api/v1/deals/{id}/history", a.handleDealHistory, op{ID: "getDealHistory", Tag: "deals", Perm: read,
			Summary: "A deal's stays in stages, oldest first", Out: list[crm.StageVisit]{}}},
		{"GET /api/v1/deals/{id}/lines", a.handleDealLines, op{ID: "listDealLines", Tag: "deals", Perm: read,
			Summary: "A deal's line items", Out: list[crm.DealLine]{}}},
		{"PUT /api/v1/deals/{id}/lines", a.handleDealLinesSet, op{ID: "setDealLines", Tag: "deals", Perm: write, Conflict: dealConflict,
			Summary: "Replace a deal's line items", In: linesSet{}, Out: &crm.Deal{},
			Description: "All or nothing: a negative quantity, a currency other than the deal's or an unknown product is refused (422 naming lines[i].<field>) and nothing changes. A deal with value_from_lines gets the new sum."}},
		{"POST /api/v1/deals/{id}/lines", a.handleDealLineAdd, op{ID: "addDealLine", Tag: "deals", Perm: write, Status: http.StatusCreated,
			Summary: "Add a line item at the end", In: sales.LineInput{}, Out: &crm.Deal{}}},
		{"DELETE /api/v1/deals/{id}/lines/{line}", a.handleDealLineDelete, op{ID: "deleteDealLine", Tag: "deals", Perm: write,
			Summary: "Remove a line item", Out: &crm.Deal{}}},
		{"GET /api/v1/deals/{id}/quotes", a.handleDealQuotes, op{ID: "listDealQuotes", Tag: "quotes", Perm: read,
			Summary: "A deal's quotes, newest first", Out: list[*crm.Quote]{}}},
		{"POST /api/v1/deals/{id}/quotes", a.handleQuoteCreate, op{ID: "createQuote", Tag: "quotes", Perm: write, Status: http.StatusCreated, Location: true,
			Summary: "Make a draft quote of the deal's line items", In: sales.QuoteInput{}, Out: &crm.Quote{}}},
		{"GET /api/v1/deals/{id}/activities", a.handleDealActivities, op{ID: "listDealActivities", Tag: "deals", Perm: read, Paged: true,
			Query:   []param{{Name: "open", Type: "boolean", Description: "true: only activities not done; false: only done ones."}},
			Summary: "A deal's activities (tasks, calls, meetings) by due date; create them with POST /tasks and deal_id", Out: list[*crm.Task]{}}},

		{"GET /api/v1/quotes/{id}", a.handleQuoteGet, op{ID: "getQuote", Tag: "quotes", Perm: read, Summary: "Read a quote", Out: &crm.Quote{}}},
		{"PATCH /api/v1/quotes/{id}", a.handleQuoteUpdate, op{ID: "updateQuote", Tag: "quotes", Perm: write,
			Summary: "Change a draft quote's validity or notes, or refresh its lines from the deal", In: sales.QuoteUpdate{}, Out: &crm.Quote{}}},
		{"POST /api/v1/quotes/{id}/status", a.handleQuoteStatus, op{ID: "setQuoteStatus", Tag: "quotes", Perm: write,
			Summary: "Mark a quote sent, accepted or declined (or a sent one draft again)", In: quoteStatus{}, Out: &crm.Quote{}}},

		{"GET /api/v1/products", a.handleProductList, op{ID: "listProducts", Tag: "products", Perm: read, Paged: true,
			Query: []param{{Name: "q", Description: "Part of the name, or the start of the SKU."},
				{Name: "active", Type: "boolean", Description: "true: only products on sale; false: only retired ones."}},
			Summary: "List the catalogue by name", Out: list[*crm.Product]{}}},
		{"POST /api/v1/products", a.handleProductCreate, op{ID: "createProduct", Tag: "products", Perm: manage, Status: http.StatusCreated, Location: true,
			Summary: "Add a product to the catalogue", In: sales.ProductInput{}, Out: &crm.Product{}}},
		{"GET /api/v1/products/{id}", a.handleProductGet, op{ID: "getProduct", Tag: "products", Perm: read, Summary: "Read a product", Out: &crm.Product{}}},
		{"PATCH /api/v1/products/{id}", a.handleProductUpdate, op{ID: "updateProduct", Tag: "products", Perm: manage,
			Summary: "Change a product (deals' line items keep what they were given)", In: sales.ProductUpdate{}, Out: &crm.Product{}}},

		{"GET /api/v1/forecast", a.handleForecast, op{ID: "getForecast", Tag: "forecast", Perm: read, Query: forecastParams,
			Summary: "The weighted forecast by month of expected close, per owner and pipeline", Out: &sales.Forecast{}}},
		{"GET /api/v1/sales/settings", a.handleSalesSettings, op{ID: "getSalesSettings", Tag: "pipelines", Perm: read,
			Summary: "The sales settings", Out: &salesSettingsOut{}}},
		{"PUT /api/v1/sales/settings", a.handleSalesSettingsSave, op{ID: "saveSalesSettings", Tag: "pipelines", Perm: admin,
			Summary: "Change the sales settings (the logo is uploaded on the web)", In: salesSettingsIn{}, Out: &salesSettingsOut{}}},
	}
}

var leadParams = []param{
	{Name: "status", Enum: crm.LeadStatuses, Description: "Only leads in this status."},
	{Name: "owner_id", Type: "integer", Zero: true, Description: "Only leads owned by this user; 0 for leads without an owner."},
	{Name: "source", Description: "Only leads from this source."},
	{Name: "q", Description: "Part of the name, company, email or phone."},
}

var dealFilterParams = []param{
	{Name: "pipeline_id", Type: "integer", Description: "Only deals of this pipeline."},
	{Name: "stage_id", Type: "integer", Description: "Only deals in this stage."},
	{Name: "owner_id", Type: "integer", Zero: true, Description: "Only deals owned by this user; 0 for deals without an owner."},
	{Name: "tag", Description: "Only deals with this tag."},
	{Name: "close_from", Description: "Expected to close on or after this date (YYYY-MM-DD)."},
	{Name: "close_to", Description: "Expected to close on or before this date (YYYY-MM-DD)."},
	{Name: "status", Enum: crm.DealStatuses, Description: "Only open, won or lost deals."},
	{Name: "contact_id", Type: "integer", Description: "Only this person's deals."},
	{Name: "company_id", Type: "integer", Description: "Only this company's deals."},
	{Name: "q", Description: "Part of the title."},
}

var boardParams = []param{
	{Name: "per_column", Type: "integer", Description: "Cards per column, 1 to 500 (50 when absent)."},
	{Name: "stage_id", Type: "integer", Description: "With after: only this column's next cards."},
	{Name: "after", Description: "With stage_id: the column's next cursor."},
}

var forecastParams = []param{
	{Name: "from", Description: "A date (YYYY-MM-DD, Gregorian) in the first month; today when absent."},
	{Name: "months", Type: "integer", Description: "How many months, 1 to 24 (6 when absent)."},
	{Name: "calendar", Enum: []string{text.CalendarGregorian, text.CalendarJalali}, Description: "The months' calendar; yours when absent."},
	{Name: "pipeline_id", Type: "integer", Description: "Only this pipeline's deals."},
	{Name: "owner_id", Type: "integer", Description: "Only this owner's deals."},
}

// dealConflictProblem is the 409 of a move or change of a deal someone
// changed meanwhile: the problem document with the deal as it is now.
type dealConflictProblem struct {
	problem.Details
	Deal *crm.Deal `json:"deal" openapi:"nonnull"`
}

// writeSalesError is writeError with the deal a version conflict found.
func (a *API) writeSalesError(w http.ResponseWriter, r *http.Request, err error) {
	var ce *sales.ConflictError
	if !errors.As(err, &ce) {
		a.writeError(w, r, err)
		return
	}
	a.writeProblemWith(w, r, err, http.StatusConflict, dealConflictProblem{Details: problem.From(err, r.URL.Path), Deal: ce.Deal})
}

// --- Leads ---

func (a *API) handleLeadList(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	page := readPage(r, &v)
	q := r.URL.Query()
	f := crm.LeadFilter{Status: q.Get("status"), OwnerID: queryOwner(r, "owner_id", &v), Source: q.Get("source"), Q: q.Get("q"),
		Limit: page.Limit, After: page.After}
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	leads, next, err := a.sales.ListLeads(r.Context(), f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, leads, next)
}

func (a *API) handleLeadCreate(w http.ResponseWriter, r *http.Request) {
	var in sales.LeadInput
	withCreate(a, w, r, &in, "/leads", func() (any, int64, error) {
		l, err := a.sales.CreateLead(r.Context(), in)
		if err != nil {
			return nil, 0, err
		}
		return l, l.ID, nil
	})
}

func (a *API) handleLeadGet(w http.ResponseWriter, r *http.Request) {
	withID(a, w, r, func(id int64) (any, error) { return a.sales.Lead(r.Context(), id) })
}

func (a *API) handleLeadUpdate(w http.ResponseWriter, r *http.Request) {
	var in sales.LeadUpdate
	withBody(a, w, r, &in, func(id int64) (any, error) { return a.sales.UpdateLead(r.Context(), id, in) })
}

func (a *API) handleLeadDelete(w http.ResponseWriter, r *http.Request) {
	withNoContent(a, w, r, func(id int64) error { return a.sales.DeleteLead(r.Context(), id) })
}

// leadConvert is the body of POST /leads/{id}/convert.
type leadConvert struct {
	ContactID int64       `json:"contact_id,omitempty"`
	CompanyID int64       `json:"company_id,omitempty"`
	NoCompany bool        `json:"no_company,omitempty"`
	NoDeal    bool        `json:"no_deal,omitempty"`
	Deal      *dealCreate `json:"deal,omitempty"`
}

func (a *API) handleLeadConvert(w http.ResponseWriter, r *http.Request) {
	var in leadConvert
	withBody(a, w, r, &in, func(id int64) (any, error) {
		ci := sales.ConvertInput{ContactID: in.ContactID, CompanyID: in.CompanyID, NoCompany: in.NoCompany, NoDeal: in.NoDeal}
		if in.Deal != nil {
			ci.Deal = in.Deal.input()
		}
		return a.sales.ConvertLead(r.Context(), id, ci)
	})
}

// --- Pipelines, stages, lost reasons ---

func (a *API) handlePipelineList(w http.ResponseWriter, r *http.Request) {
	ps, err := a.sales.Pipelines(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, ps, "")
}

func (a *API) handlePipelineCreate(w http.ResponseWriter, r *http.Request) {
	var in sales.PipelineInput
	withCreate(a, w, r, &in, "/pipelines", func() (any, int64, error) {
		p, err := a.sales.CreatePipeline(r.Context(), in)
		if err != nil {
			return nil, 0, err
		}
		return p, p.ID, nil
	})
}

func (a *API) handlePipelineGet(w http.ResponseWriter, r *http.Request) {
	withID(a, w, r, func(id int64) (any, error) { return a.sales.Pipeline(r.Context(), id) })
}

func (a *API) handlePipelineUpdate(w http.ResponseWriter, r *http.Request) {
	var in sales.PipelineUpdate
	withBody(a, w, r, &in, func(id int64) (any, error) { return a.sales.UpdatePipeline(r.Context(), id, in) })
}

func (a *API) handlePipelineDelete(w http.ResponseWriter, r *http.Request) {
	withNoContent(a, w, r, func(id int64) error { return a.sales.DeletePipeline(r.Context(), id) })
}

// stageCreate is the body of POST /pipelines/{id}/stages.
type stageCreate struct {
	Name        string `json:"name"`
	Probability *int   `json:"probability,omitempty"`
	Position    int    `json:"position,omitempty"`
}

func (a *API) handleStageCreate(w http.ResponseWriter, r *http.Request) {
	var in stageCreate
	id, err := pathID(r, "id")
	if err == nil {
		err = decodeJSON(r, &in)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	st, err := a.sales.AddStage(r.Context(), id, sales.StageInput{Name: in.Name, Probability: in.Probability}, in.Position)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusCreated, st)
}

func (a *API) handleStageUpdate(w http.ResponseWriter, r *http.Request) {
	var in sales.StageUpdate
	withBody(a, w, r, &in, func(id int64) (any, error) { return a.sales.UpdateStage(r.Context(), id, in) })
}

func (a *API) handleStageDelete(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	moveTo := queryInt64(r, "move_to", &v)
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	withNoContent(a, w, r, func(id int64) error { return a.sales.RemoveStage(r.Context(), id, moveTo) })
}

func (a *API) handleLostReasonList(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	active := queryBool(r, "active", &v)
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	rs, err := a.sales.LostReasons(r.Context(), active != nil && *active)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if active != nil && !*active {
		var off []*crm.LostReason
		for _, lr := range rs {
			if !lr.Active {
				off = append(off, lr)
			}
		}
		rs = off
	}
	writeList(a, w, r, rs, "")
}

// lostReasonCreate is the body of POST /lost-reasons.
type lostReasonCreate struct {
	Name string `json:"name"`
}

func (a *API) handleLostReasonCreate(w http.ResponseWriter, r *http.Request) {
	var in lostReasonCreate
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	lr, err := a.sales.CreateLostReason(r.Context(), in.Name)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusCreated, lr)
}

func (a *API) handleLostReasonUpdate(w http.ResponseWriter, r *http.Request) {
	var in sales.LostReasonUpdate
	withBody(a, w, r, &in, func(id int64) (any, error) { return a.sales.UpdateLostReason(r.Context(), id, in) })
}

func (a *API) handleLostReasonDelete(w http.ResponseWriter, r *http.Request) {
	withNoContent(a, w, r, func(id int64) error { return a.sales.DeleteLostReason(r.Context(), id) })
}

// --- Deals ---

// dealFilter reads the deal filter parameters.
func dealFilter(r *http.Request, v *crm.Validation) crm.DealFilter {
	q := r.URL.Query()
	return crm.DealFilter{
		PipelineID: queryInt64(r, "pipeline_id", v), StageID: queryInt64(r, "stage_id", v), Status: q.Get("status"),
		OwnerID: queryOwner(r, "owner_id", v), Tag: q.Get("tag"), CloseFrom: q.Get("close_from"), CloseTo: q.Get("close_to"),
		ContactID: queryInt64(r, "contact_id", v), CompanyID: queryInt64(r, "company_id", v), Q: q.Get("q"),
		Custom: queryCustom(q, v),
	}
}

func (a *API) handleDealList(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	page := readPage(r, &v)
	f := dealFilter(r, &v)
	f.Limit, f.After = page.Limit, page.After
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	deals, _, next, err := a.sales.ListDeals(r.Context(), f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, deals, next)
}

func (a *API) handleDealExport(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	f := dealFilter(r, &v)
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	err := a.sales.ExportCSV(r.Context(), w, f, func() {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="deals.csv"`)
	})
	if errors.Is(err, sales.ErrExportStarted) {
		a.log.ErrorContext(r.Context(), "api: deal export", "err", err)
	} else if err != nil {
		a.writeError(w, r, err)
	}
}

// dealCreate is the body of POST /deals (and of a conversion's deal).
type dealCreate struct {
	Title          string            `json:"title"`
	PipelineID     int64             `json:"pipeline_id,omitempty"`
	StageID        int64             `json:"stage_id,omitempty"`
	Value          *int64            `json:"value,omitempty"`
	Currency       string            `json:"currency,omitempty"`
	ValueFromLines bool              `json:"value_from_lines,omitempty"`
	ContactID      int64             `json:"contact_id,omitempty"`
	CompanyID      int64             `json:"company_id,omitempty"`
	OwnerID        *int64            `json:"owner_id,omitempty"`
	ExpectedClose  string            `json:"expected_close,omitempty"`
	Source         string            `json:"source,omitempty"`
	Tags           []string          `json:"tags,omitempty"`
	Custom         map[string]any    `json:"custom,omitempty"`
	Lines          []sales.LineInput `json:"lines,omitempty"`
	LostReasonID   int64             `json:"lost_reason_id,omitempty"`
	LostNote       string            `json:"lost_note,omitempty"`
}

func (in dealCreate) input() sales.DealInput {
	return sales.DealInput{Title: in.Title, PipelineID: in.PipelineID, StageID: in.StageID, Value: in.Value, Currency: in.Currency,
		ValueFromLines: in.ValueFromLines, ContactID: in.ContactID, CompanyID: in.CompanyID, OwnerID: in.OwnerID,
		ExpectedClose: in.ExpectedClose, Source: in.Source, Tags: in.Tags, Custom: in.Custom, Lines: in.Lines,
		LostReasonID: in.LostReasonID, LostNote: in.LostNote}
}

func (a *API) handleDealCreate(w http.ResponseWriter, r *http.Request) {
	var in dealCreate
	withCreate(a, w, r, &in, "/deals", func() (any, int64, error) {
		d, err := a.sales.CreateDeal(r.Context(), in.input())
		if err != nil {
			return nil, 0, err
		}
		return d, d.ID, nil
	})
}

func (a *API) handleDealGet(w http.ResponseWriter, r *http.Request) {
	withID(a, w, r, func(id int64) (any, error) { return a.sales.Deal(r.Context(), id) })
}

// dealPatch is the body of PATCH /deals/{id}.
type dealPatch struct {
	Title          *string        `json:"title,omitempty"`
	Value          *int64         `json:"value,omitempty"`
	Currency       *string        `json:"currency,omitempty"`
	ValueFromLines *bool          `json:"value_from_lines,omitempty"`
	ContactID      *int64         `json:"contact_id,omitempty"`
	CompanyID      *int64         `json:"company_id,omitempty"`
	OwnerID        *int64         `json:"owner_id,omitempty"`
	ExpectedClose  *string        `json:"expected_close,omitempty"`
	Source         *string        `json:"source,omitempty"`
	Tags           *[]string      `json:"tags,omitempty"`
	Custom         map[string]any `json:"custom,omitempty"`
	PipelineID     *int64         `json:"pipeline_id,omitempty"`
	StageID        *int64         `json:"stage_id,omitempty"`
	LostReasonID   int64          `json:"lost_reason_id,omitempty"`
	LostNote       string         `json:"lost_note,omitempty"`
	Version        int64          `json:"version,omitempty"`
}

func (a *API) handleDealUpdate(w http.ResponseWriter, r *http.Request) {
	var in dealPatch
	withBodyConflict(a, w, r, &in, func(id int64) (any, error) {
		return a.sales.UpdateDeal(r.Context(), id, sales.DealUpdate{Title: in.Title, Value: in.Value, Currency: in.Currency,
			ValueFromLines: in.ValueFromLines, ContactID: in.ContactID, CompanyID: in.CompanyID, OwnerID: in.OwnerID,
			ExpectedClose: in.ExpectedClose, Source: in.Source, Tags: in.Tags, Custom: in.Custom, PipelineID: in.PipelineID,
			StageID: in.StageID, LostReasonID: in.LostReasonID, LostNote: in.LostNote, Version: in.Version})
	})
}

func (a *API) handleDealDelete(w http.ResponseWriter, r *http.Request) {
	withNoContent(a, w, r, func(id int64) error { return a.sales.DeleteDeal(r.Context(), id) })
}

// dealMove is the body of POST /deals/{id}/move.
type dealMove struct {
	StageID      int64  `json:"stage_id"`
	Version      int64  `json:"version,omitempty"`
	LostReasonID int64  `json:"lost_reason_id,omitempty"`
	LostNote     string `json:"lost_note,omitempty"`
}

// dealVersion is the body of POST /deals/{id}/win.
type dealVersion struct {
	Version int64 `json:"version,omitempty"`
}

// dealLose is the body of POST /deals/{id}/lose.
type dealLose struct {
	LostReasonID int64  `json:"lost_reason_id,omitempty"`
	LostNote     string `json:"lost_note,omitempty"`
	Version      int64  `json:"version,omitempty"`
}

// dealReopen is the body of POST /deals/{id}/reopen.
type dealReopen struct {
	StageID int64 `json:"stage_id,omitempty"`
	Version int64 `json:"version,omitempty"`
}

func (a *API) handleDealMove(w http.ResponseWriter, r *http.Request) {
	var in dealMove
	withBodyConflict(a, w, r, &in, func(id int64) (any, error) {
		return a.sales.Move(r.Context(), id, sales.MoveInput{StageID: in.StageID, Version: in.Version, LostReasonID: in.LostReasonID, LostNote: in.LostNote})
	})
}

func (a *API) handleDealWin(w http.ResponseWriter, r *http.Request) {
	var in dealVersion
	withBodyConflict(a, w, r, &in, func(id int64) (any, error) { return a.sales.Win(r.Context(), id, in.Version) })
}

func (a *API) handleDealLose(w http.ResponseWriter, r *http.Request) {
	var in dealLose
	withBodyConflict(a, w, r, &in, func(id int64) (any, error) {
		return a.sales.Lose(r.Context(), id, sales.MoveInput{Version: in.Version, LostReasonID: in.LostReasonID, LostNote: in.LostNote})
	})
}

func (a *API) handleDealReopen(w http.ResponseWriter, r *http.Request) {
	var in dealReopen
	withBodyConflict(a, w, r, &in, func(id int64) (any, error) { return a.sales.Reopen(r.Context(), id, in.StageID, in.Version) })
}

func (a *API) handleDealHistory(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	h, err := a.sales.History(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, h, "")
}

func (a *API) handleDealLines(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	d, err := a.sales.Deal(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, d.Lines, "")
}

// linesSet is the body of PUT /deals/{id}/lines.
type linesSet struct {
	Lines   []sales.LineInput `json:"lines" openapi:"nonnull"`
	Version int64             `json:"version,omitempty"`
}

func (a *API) handleDealLinesSet(w http.ResponseWriter, r *http.Request) {
	var in linesSet
	withBodyConflict(a, w, r, &in, func(id int64) (any, error) { return a.sales.SetLines(r.Context(), id, in.Lines, in.Version) })
}

func (a *API) handleDealLineAdd(w http.ResponseWriter, r *http.Request) {
	var in sales.LineInput
	id, err := pathID(r, "id")
	if err == nil {
		err = decodeJSON(r, &in)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	d, err := a.sales.AddLine(r.Context(), id, in)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusCreated, d)
}

func (a *API) handleDealLineDelete(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	line, err := pathID(r, "line")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	d, err := a.sales.RemoveLine(r.Context(), id, line)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, d)
}

func (a *API) handleDealQuotes(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	qs, err := a.sales.DealQuotes(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, qs, "")
}

func (a *API) handleQuoteCreate(w http.ResponseWriter, r *http.Request) {
	var in sales.QuoteInput
	id, err := pathID(r, "id")
	if err == nil {
		err = decodeJSON(r, &in)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	q, err := a.sales.CreateQuote(r.Context(), id, in)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", apiBase+"/quotes/"+strconv.FormatInt(q.ID, 10))
	a.writeJSON(w, r, http.StatusCreated, q)
}

func (a *API) handleDealActivities(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var v crm.Validation
	page := readPage(r, &v)
	open := queryBool(r, "open", &v)
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	if _, err := a.sales.Deal(r.Context(), id); err != nil { // the deal must be one the user sees
		a.writeError(w, r, err)
		return
	}
	tasks, next, err := a.activity.ListTasks(r.Context(), crm.TaskFilter{DealID: id, Open: open, Limit: page.Limit, After: page.After})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, tasks, next)
}

// --- Quotes ---

func (a *API) handleQuoteGet(w http.ResponseWriter, r *http.Request) {
	withID(a, w, r, func(id int64) (any, error) {
		v, err := a.sales.Quote(r.Context(), id)
		if err != nil {
			return nil, err
		}
		return v.Quote, nil
	})
}

func (a *API) handleQuoteUpdate(w http.ResponseWriter, r *http.Request) {
	var in sales.QuoteUpdate
	withBody(a, w, r, &in, func(id int64) (any, error) { return a.sales.UpdateQuote(r.Context(), id, in) })
}

// quoteStatus is the body of POST /quotes/{id}/status.
type quoteStatus struct {
	Status string `json:"status"`
}

func (a *API) handleQuoteStatus(w http.ResponseWriter, r *http.Request) {
	var in quoteStatus
	withBody(a, w, r, &in, func(id int64) (any, error) { return a.sales.SetQuoteStatus(r.Context(), id, in.Status) })
}

// --- Products ---

func (a *API) handleProductList(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	page := readPage(r, &v)
	f := sales.ProductFilter{Q: r.URL.Query().Get("q"), Active: queryBool(r, "active", &v), Limit: page.Limit, After: page.After}
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	ps, next, err := a.sales.Products(r.Context(), f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, ps, next)
}

func (a *API) handleProductCreate(w http.ResponseWriter, r *http.Request) {
	var in sales.ProductInput
	withCreate(a, w, r, &in, "/products", func() (any, int64, error) {
		p, err := a.sales.CreateProduct(r.Context(), in)
		if err != nil {
			return nil, 0, err
		}
		return p, p.ID, nil
	})
}

func (a *API) handleProductGet(w http.ResponseWriter, r *http.Request) {
	withID(a, w, r, func(id int64) (any, error) { return a.sales.Product(r.Context(), id) })
}

func (a *API) handleProductUpdate(w http.ResponseWriter, r *http.Request) {
	var in sales.ProductUpdate
	withBody(a, w, r, &in, func(id int64) (any, error) { return a.sales.UpdateProduct(r.Context(), id, in) })
}

// --- Board, forecast, settings ---

// board is the answer of GET /pipelines/{id}/board.
type board struct {
	Pipeline *crm.Pipeline       `json:"pipeline"`
	Columns  []sales.BoardColumn `json:"columns" openapi:"nonnull"`
}

func (a *API) handleBoard(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var v crm.Validation
	f := dealFilter(r, &v)
	per := 0
	if s := r.URL.Query().Get("per_column"); s != "" {
		n, err := text.ParseInt(s)
		if err != nil || n < 1 || n > crm.MaxLimit {
			v.Add("per_column", "Use a whole number from 1 to %d.", crm.MaxLimit)
		}
		per = int(n)
	}
	after := r.URL.Query().Get("after")
	if after != "" && f.StageID == 0 {
		v.Add("stage_id", "Name the column (stage_id) whose next cards after is the cursor of.")
	}
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	b, err := a.sales.Board(r.Context(), id, f, per)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := board{Pipeline: b.Pipeline, Columns: b.Columns}
	if f.StageID != 0 { // one column, from the cursor
		out.Columns = nil
		for _, c := range b.Columns {
			if c.Stage.ID != f.StageID {
				continue
			}
			if after != "" {
				if c.Cards, _, c.Next, err = a.sales.BoardCards(r.Context(), f.StageID, f, after); err != nil {
					a.writeError(w, r, err)
					return
				}
			}
			out.Columns = append(out.Columns, c)
		}
		if out.Columns == nil {
			a.writeError(w, r, &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.",
				Fields: map[string]string{"stage_id": "Not an open stage of this pipeline."}})
			return
		}
	}
	a.writeJSON(w, r, http.StatusOK, out)
}

func (a *API) handleForecast(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	q := r.URL.Query()
	fq := sales.ForecastQuery{Calendar: q.Get("calendar"), PipelineID: queryInt64(r, "pipeline_id", &v), OwnerID: queryInt64(r, "owner_id", &v)}
	loc := userLocation(r)
	fq.Start = time.Now().In(loc)
	if s := strings.TrimSpace(text.ToASCIIDigits(q.Get("from"))); s != "" {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			v.Add("from", "Use a date as YYYY-MM-DD.")
		}
		fq.Start = t
	}
	if s := q.Get("months"); s != "" {
		n, err := text.ParseInt(s)
		if err != nil {
			v.Add("months", "Use 1 to 24 months.")
		}
		fq.Months = int(n)
		if n == 0 {
			fq.Months = -1
		}
	}
	if fq.Calendar == "" {
		if u := crm.UserFromContext(r.Context()); u != nil && u.Preferences.Calendar != "" {
			fq.Calendar = u.Preferences.Calendar
		}
	}
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	f, err := a.sales.Forecast(r.Context(), fq)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if f.Owners == nil {
		f.Owners = []sales.ForecastLine{}
	}
	if f.Pipelines == nil {
		f.Pipelines = []sales.ForecastLine{}
	}
	if f.Currencies == nil {
		f.Currencies = []string{}
	}
	a.writeJSON(w, r, http.StatusOK, f)
}

func (a *API) handleSalesSettings(w http.ResponseWriter, r *http.Request) {
	st, err := a.sales.Settings(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, st)
}

// salesSettingsIn is the body of PUT /sales/settings (has_logo is
// ignored: the logo is uploaded on the web); salesSettingsOut is the
// answer (its own name: insight has a Settings too).
type (
	salesSettingsIn  sales.Settings
	salesSettingsOut sales.Settings
)

func (a *API) handleSalesSettingsSave(w http.ResponseWriter, r *http.Request) {
	var in salesSettingsIn
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	st, err := a.sales.SaveSettings(r.Context(), sales.Settings(in))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, salesSettingsOut(st))
}

// --- Small handler shapes ---

// withID answers GET /x/{id} with what fn returns.
func withID(a *API, w http.ResponseWriter, r *http.Request, fn func(id int64) (any, error)) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out, err := fn(id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, out)
}

// withBody decodes the body into in and answers with what fn returns.
func withBody(a *API, w http.ResponseWriter, r *http.Request, in any, fn func(id int64) (any, error)) {
	id, err := pathID(r, "id")
	if err == nil {
		err = decodeJSON(r, in)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out, err := fn(id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, out)
}

// withBodyConflict is withBody whose 409 carries the deal as it is now.
func withBodyConflict(a *API, w http.ResponseWriter, r *http.Request, in any, fn func(id int64) (any, error)) {
	id, err := pathID(r, "id")
	if err == nil {
		err = decodeJSON(r, in)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out, err := fn(id)
	if err != nil {
		a.writeSalesError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, out)
}

// withCreate decodes the body into in and answers 201 with what fn
// creates and its Location, path + "/" + its id (path like "/leads").
func withCreate(a *API, w http.ResponseWriter, r *http.Request, in any, path string, fn func() (any, int64, error)) {
	if err := decodeJSON(r, in); err != nil {
		a.writeError(w, r, err)
		return
	}
	out, id, err := fn()
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", apiBase+path+"/"+strconv.FormatInt(id, 10))
	a.writeJSON(w, r, http.StatusCreated, out)
}

// withNoContent answers 204 when fn succeeds.
func withNoContent(a *API, w http.ResponseWriter, r *http.Request, fn func(id int64) error) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := fn(id); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
