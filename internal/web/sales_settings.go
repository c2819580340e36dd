package web

import (
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/sales"
)

// The sales settings (admins): who sees which deals, the business as
// quotes print it and its logo, the lost reasons, and the pipelines with
// their stages.

type salesSettingsPage struct {
	salesBase
	Settings  sales.Settings
	Logo      string
	Form      form
	Reasons   []*crm.LostReason
	Reason    form
	Pipelines []*crm.Pipeline
	Pipeline  form
}

func (s *server) handleSalesSettings(w http.ResponseWriter, r *http.Request) {
	s.renderSalesSettings(w, r, http.StatusOK, form{}, form{}, form{})
}

func (s *server) renderSalesSettings(w http.ResponseWriter, r *http.Request, status int, f, reason, pipe form) {
	ctx := r.Context()
	d := &salesSettingsPage{salesBase: s.salesPage(r, "sales.settings.title", ""), Form: f, Reason: reason, Pipeline: pipe}
	d.Tabs = nil
	if r.Method != http.MethodGet {
		d.Path = "/settings/sales"
	}
	var err error
	if d.Settings, err = s.sales.Settings(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.Logo, err = s.sales.Logo(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.Form.Values == nil {
		st := d.Settings
		d.Form.Values = map[string]string{"visibility": st.Visibility, "business_name": st.BusinessName, "business_address": st.BusinessAddress,
			"business_phone": st.BusinessPhone, "business_email": st.BusinessEmail, "tax_id": st.TaxID, "quote_prefix": st.QuotePrefix,
			"quote_valid_days": d.L.Int(st.QuoteValidDays), "quote_terms": st.QuoteTerms}
		if st.RequireLostReason {
			d.Form.Values["require_lost_reason"] = "1"
		}
	}
	if d.Pipeline.Values == nil {
		d.Pipeline.Values = map[string]string{"currency": s.salesCurrency(r)}
	}
	if d.Reasons, err = s.sales.LostReasons(ctx, false); err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.Pipelines, err = s.sales.Pipelines(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, status, "sales_settings", d)
}

var salesSettingsFields = []string{"visibility", "require_lost_reason", "business_name", "business_address", "business_phone", "business_email",
	"tax_id", "quote_prefix", "quote_valid_days", "quote_terms"}

func (s *server) handleSalesSettingsSave(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	f := newForm(r, salesSettingsFields...)
	f.Values["business_address"] = strings.TrimSpace(r.PostFormValue("business_address"))
	f.Values["quote_terms"] = strings.TrimSpace(r.PostFormValue("quote_terms"))
	in := sales.Settings{Visibility: f.V("visibility"), RequireLostReason: f.V("require_lost_reason") != "", BusinessName: f.V("business_name"),
		BusinessAddress: f.V("business_address"), BusinessPhone: f.V("business_phone"), BusinessEmail: f.V("business_email"), TaxID: f.V("tax_id"),
		QuotePrefix: f.V("quote_prefix"), QuoteTerms: f.V("quote_terms")}
	n, err := p.ParseInt(f.V("quote_valid_days"))
	if err != nil {
		f.invalid(p, "quote_valid_days", "sales.error.days")
	}
	in.QuoteValidDays = int(n)
	if f.ok() {
		if _, err := s.sales.SaveSettings(r.Context(), in); err == nil {
			redirect(w, r, "/settings/sales", "sales_settings_saved")
			return
		} else if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		} else {
			f.fail(p, err, map[string]string{"visibility": "error.choose_option", "quote_valid_days": "sales.error.days",
				"business_name": "contacts.error.too_long", "business_address": "contacts.error.too_long", "quote_terms": "contacts.error.too_long",
				"quote_prefix": "contacts.error.too_long"})
		}
	}
	s.renderSalesSettings(w, r, http.StatusUnprocessableEntity, f, form{}, form{})
}

// handleSalesLogo stores (or with remove, removes) the business's logo.
func (s *server) handleSalesLogo(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	r.Body = http.MaxBytesReader(w, r.Body, 2<<20)
	var data []byte
	ctype := ""
	if r.PostFormValue("remove") == "" {
		file, hdr, err := r.FormFile("logo")
		if err != nil {
			f := form{Values: map[string]string{}}
			f.invalid(p, "logo", "sales.error.logo")
			s.renderSalesSettings(w, r, http.StatusUnprocessableEntity, f, form{}, form{})
			return
		}
		defer file.Close()
		if data, err = io.ReadAll(io.LimitReader(file, sales.MaxLogoBytes+1)); err != nil {
			s.renderError(w, r, err)
			return
		}
		ctype = http.DetectContentType(data)
		_ = hdr
	}
	if err := s.sales.SetLogo(r.Context(), data, ctype); err != nil {
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		f := form{Values: map[string]string{}}
		f.fail(p, err, map[string]string{"logo": "sales.error.logo"})
		s.renderSalesSettings(w, r, http.StatusUnprocessableEntity, f, form{}, form{})
		return
	}
	redirect(w, r, "/settings/sales", "sales_settings_saved")
}

func (s *server) handleLostReasonCreate(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	f := newForm(r, "name")
	if _, err := s.sales.CreateLostReason(r.Context(), f.V("name")); err != nil {
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		f.fail(p, err, map[string]string{"name": "error.required"})
		s.renderSalesSettings(w, r, http.StatusUnprocessableEntity, form{}, f, form{})
		return
	}
	redirectTo(w, r, "/settings/sales", "sales_settings_saved", "reasons")
}

// handleLostReasonUpdate renames a reason, retires or restores it, or
// (delete) removes one no deal was lost for.
func (s *server) handleLostReasonUpdate(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	var err error
	switch {
	case r.PostFormValue("delete") != "":
		err = s.sales.DeleteLostReason(r.Context(), id)
	default:
		up := sales.LostReasonUpdate{}
		if n := strings.TrimSpace(r.PostFormValue("name")); n != "" {
			up.Name = &n
		}
		if a := r.PostFormValue("active"); a != "" {
			on := a == "1"
			up.Active = &on
		}
		_, err = s.sales.UpdateLostReason(r.Context(), id, up)
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	redirectTo(w, r, "/settings/sales", "sales_settings_saved", "reasons")
}

// handlePipelineCreate adds a pipeline from the settings form: a name, a
// currency and its stages, one per line ("Proposal 60" gives 60%).
func (s *server) handlePipelineCreate(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	f := newForm(r, "name", "currency", "won_stage", "lost_stage")
	f.Values["stages"] = r.PostFormValue("stages")
	in := sales.PipelineInput{Name: f.V("name"), Currency: f.V("currency"), WonStage: f.V("won_stage"), LostStage: f.V("lost_stage")}
	for _, line := range strings.Split(f.V("stages"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		st := sales.StageInput{Name: line}
		if i := strings.LastIndexAny(line, " \t"); i > 0 {
			if n, err := p.ParseInt(strings.TrimSuffix(strings.TrimSuffix(line[i+1:], "%"), "٪")); err == nil {
				prob := int(n)
				st.Name, st.Probability = strings.TrimSpace(line[:i]), &prob
			}
		}
		in.Stages = append(in.Stages, st)
	}
	pl, err := s.sales.CreatePipeline(r.Context(), in)
	if err != nil {
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		keys := map[string]string{"name": "error.required", "currency": "sales.error.currency", "stages": "sales.error.stages"}
		if fields := crm.ErrorFields(err); len(fields) > 0 {
			renamed := map[string]string{}
			for k, v := range fields {
				if strings.HasPrefix(k, "stages") {
					k = "stages"
				}
				renamed[k] = v
			}
			if ce, ok := asCRMError(err); ok {
				cp := *ce
				cp.Fields = renamed
				err = &cp
			}
		}
		f.fail(p, err, keys)
		s.renderSalesSettings(w, r, http.StatusUnprocessableEntity, form{}, form{}, f)
		return
	}
	redirect(w, r, "/settings/sales/pipelines/"+strconv.FormatInt(pl.ID, 10), "pipeline_created")
}

// --- A pipeline and its stages ---

type pipelinePage struct {
	salesBase
	P       *crm.Pipeline
	Form    form // the pipeline's name and currency
	Stage   form // a new stage
	Failed  int64
	Problem form // what went wrong with stage Failed
}

func (s *server) handlePipelineEdit(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	s.renderPipeline(w, r, id, http.StatusOK, pipelinePage{})
}

func (s *server) renderPipeline(w http.ResponseWriter, r *http.Request, id int64, status int, d pipelinePage) {
	pl, err := s.sales.Pipeline(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d.salesBase = s.salesPage(r, "sales.pipeline.title", "")
	d.Tabs = nil
	d.P = pl
	d.Title = pl.Name
	if r.Method != http.MethodGet {
		d.Path = "/settings/sales/pipelines/" + strconv.FormatInt(id, 10)
	}
	if d.Form.Values == nil {
		d.Form.Values = map[string]string{"name": pl.Name, "currency": pl.Currency}
	}
	if d.Stage.Values == nil {
		d.Stage.Values = map[string]string{}
	}
	s.render(w, r, status, "sales_pipeline", &d)
}

func (s *server) handlePipelineUpdate(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	f := newForm(r, "name", "currency")
	if _, err := s.sales.UpdatePipeline(r.Context(), id, sales.PipelineUpdate{Name: ptrTo(f.V("name")), Currency: ptrTo(f.V("currency"))}); err != nil {
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		f.fail(p, err, map[string]string{"name": "error.required", "currency": "sales.error.currency"})
		s.renderPipeline(w, r, id, http.StatusUnprocessableEntity, pipelinePage{Form: f})
		return
	}
	redirect(w, r, "/settings/sales/pipelines/"+strconv.FormatInt(id, 10), "pipeline_saved")
}

func ptrTo[T any](v T) *T { return &v }

func (s *server) handlePipelineDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := s.sales.DeletePipeline(r.Context(), id); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/settings/sales", "pipeline_deleted")
}

func (s *server) handleStageAdd(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	f := newForm(r, "name", "probability", "position")
	in := sales.StageInput{Name: f.V("name")}
	if v := f.V("probability"); v != "" {
		n, err := p.ParseInt(strings.TrimSuffix(v, "%"))
		if err != nil {
			f.invalid(p, "probability", "sales.error.probability")
		}
		prob := int(n)
		in.Probability = &prob
	}
	pos := 0
	if v := f.V("position"); v != "" {
		n, _ := p.ParseInt(v)
		pos = int(n)
	}
	if f.ok() {
		if _, err := s.sales.AddStage(r.Context(), id, in, pos); err == nil {
			redirectTo(w, r, "/settings/sales/pipelines/"+strconv.FormatInt(id, 10), "pipeline_saved", "stages")
			return
		} else if code := crm.ErrorCode(err); code != crm.EINVALID && code != crm.ECONFLICT {
			s.renderError(w, r, err)
			return
		} else {
			f.fail(p, err, map[string]string{"name": "error.required", "probability": "sales.error.probability"})
		}
	}
	s.renderPipeline(w, r, id, http.StatusUnprocessableEntity, pipelinePage{Stage: f})
}

// handleStageSave renames a stage, changes its probability or moves it.
func (s *server) handleStageSave(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	pipe, _ := strconv.ParseInt(r.PostFormValue("pipeline"), 10, 64)
	f := newForm(r, "name", "probability", "position")
	up := sales.StageUpdate{Name: ptrTo(f.V("name"))}
	if v := f.V("probability"); v != "" {
		n, err := p.ParseInt(strings.TrimSuffix(v, "%"))
		if err != nil {
			f.invalid(p, "probability", "sales.error.probability")
		}
		up.Probability = ptrTo(int(n))
	}
	if v := f.V("position"); v != "" {
		n, err := p.ParseInt(v)
		if err != nil {
			f.invalid(p, "position", "error.number_invalid")
		}
		up.Position = ptrTo(int(n))
	}
	if f.ok() {
		if _, err := s.sales.UpdateStage(r.Context(), id, up); err == nil {
			redirectTo(w, r, "/settings/sales/pipelines/"+strconv.FormatInt(pipe, 10), "pipeline_saved", "stages")
			return
		} else if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		} else {
			f.fail(p, err, map[string]string{"name": "error.required", "probability": "sales.error.probability", "position": "sales.error.end_stage"})
		}
	}
	s.renderPipeline(w, r, pipe, http.StatusUnprocessableEntity, pipelinePage{Failed: id, Problem: f})
}

// handleStageRemove removes a stage, moving its open deals to move_to.
func (s *server) handleStageRemove(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	pipe, _ := strconv.ParseInt(r.PostFormValue("pipeline"), 10, 64)
	moveTo, _ := strconv.ParseInt(r.PostFormValue("move_to"), 10, 64)
	if err := s.sales.RemoveStage(r.Context(), id, moveTo); err != nil {
		if code := crm.ErrorCode(err); code != crm.EINVALID && code != crm.ECONFLICT {
			s.renderError(w, r, err)
			return
		}
		f := form{Values: map[string]string{}}
		f.fail(p, err, map[string]string{"move_to": "sales.error.move_to"})
		s.renderPipeline(w, r, pipe, statusOf(err, http.StatusOK), pipelinePage{Failed: id, Problem: f})
		return
	}
	redirectTo(w, r, "/settings/sales/pipelines/"+strconv.FormatInt(pipe, 10), "stage_removed", "stages")
}
