package api

import (
	"net/http"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/leadform"
)

// Lead capture forms and lead scoring (internal/leadform): the forms and
// their submissions, the scoring rules, the recompute, and a person's
// score. Submitting a form is the public page /f/{public_id} (web), not
// the API. The routes exist when the API was given the service.

func init() {
	moduleRoutes = append(moduleRoutes, leadformRoutes)
	tagDescriptions["lead-forms"] = "Lead capture forms: web forms served at /f/{public_id} (embeddable with an iframe) whose submissions create or update a person (matched by email, then phone), record consent in the form's exact wording (after an emailed confirmation with double opt-in), make a lead and write form.submitted on the person's timeline. See docs/marketing.md, \"Lead capture forms\"."
	tagDescriptions["lead-scoring"] = "Lead scoring: rules give points for attributes (a condition of the segment language) and behaviour (events of a type about the person); each person's score is their sum, usable in segments as lead.score. See docs/marketing.md, \"Lead scoring\"."
	for k, v := range map[string]string{
		"LeadForm":       "A lead form. Its public page is /f/{public_id}. fields ask for first_name, last_name, email, phone, company, job_title, message or custom.<key>, each with labels per language (en, fa, ar); there is always an email or a phone. consent_channel empty: no consent box. submissions counts what was received.",
		"FormIn":         "A form's settings. language is en, fa or ar (the page's language and direction). consent_text is required with a consent_channel and is stored with each consent given. double_opt_in needs a consent channel and a required email field, and the campaign SMTP settings. active omitted: true on create, unchanged on update.",
		"FormFieldIn":    "One input as sent: key, required and labels by language.",
		"FormField":      "One input: key (first_name, last_name, email, phone, company, job_title, message or custom.<key>), required, and labels by language (missing: the standard label).",
		"FormSubmission": "A filled-in form: the values as normalised (email lower-cased, phone in E.164), the person and lead it made, the consent wording agreed to (empty: the box was not ticked), and status received, pending (waiting for the emailed link) or confirmed.",
		"ScoreRule":      "A scoring rule. kind attribute: points when condition (a condition tree of the segment language, or a single condition) holds for the person; it may not use lead.score. kind behaviour: points for each event of event_type about the person (e.g. campaign.opened, campaign.clicked, form.submitted, order.created), only those of the last within_days days when set, at most max_points in all when set. points may be negative.",
		"ScoreRuleIn":    "A rule's name, kind, points and either condition (attribute) or event_type, within_days and max_points (behaviour).",
		"ScoreRecompute": "The recompute was queued; scores change when the job has run.",
		"LeadScore":      "A person's lead score: the sum of the rules' points (0 when no rule gives any).",
	} {
		schemaDescriptions[k] = v
	}
}

// FormIn is a lead form as a request sends it (leadform.FormInput).
type FormIn struct {
	Name           string        `json:"name"`
	Language       string        `json:"language,omitempty"`
	Fields         []FormFieldIn `json:"fields"`
	ConsentChannel string        `json:"consent_channel,omitempty"`
	ConsentText    string        `json:"consent_text,omitempty"`
	DoubleOptIn    bool          `json:"double_opt_in,omitempty"`
	LeadSource     string        `json:"lead_source,omitempty"`
	OwnerID        int64         `json:"owner_id,omitempty"`
	ThanksText     string        `json:"thanks_text,omitempty"`
	Active         *bool         `json:"active,omitempty"`
}

// FormFieldIn is one input of a form as a request sends it.
type FormFieldIn struct {
	Key      string            `json:"key"`
	Required bool              `json:"required,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
}

func (in FormIn) input() leadform.FormInput {
	out := leadform.FormInput{Name: in.Name, Language: in.Language, ConsentChannel: in.ConsentChannel, ConsentText: in.ConsentText,
		DoubleOptIn: in.DoubleOptIn, LeadSource: in.LeadSource, OwnerID: in.OwnerID, ThanksText: in.ThanksText, Active: in.Active}
	for _, f := range in.Fields {
		out.Fields = append(out.Fields, crm.FormField{Key: f.Key, Required: f.Required, Labels: f.Labels})
	}
	return out
}

// ScoreRuleIn is a scoring rule as a request sends it (leadform.ScoreRuleInput).
type ScoreRuleIn struct {
	Name       string  `json:"name"`
	Kind       string  `json:"kind"`
	Condition  *RuleIn `json:"condition,omitempty"`
	EventType  string  `json:"event_type,omitempty"`
	WithinDays int     `json:"within_days,omitempty"`
	Points     int     `json:"points"`
	MaxPoints  int     `json:"max_points,omitempty"`
}

func (in ScoreRuleIn) input() (leadform.ScoreRuleInput, error) {
	out := leadform.ScoreRuleInput{Name: in.Name, Kind: in.Kind, EventType: in.EventType, WithinDays: in.WithinDays, Points: in.Points, MaxPoints: in.MaxPoints}
	if in.Condition != nil {
		rule, err := crm.ParseRules(rulesJSON(in.Condition))
		if err != nil {
			return out, &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"condition": err.Error()}}
		}
		out.Condition = &rule
	}
	return out, nil
}

// ScoreRecompute answers a recompute request.
type ScoreRecompute struct {
	Queued bool `json:"queued"`
}

// LeadScore is a person's score.
type LeadScore struct {
	ContactID int64 `json:"contact_id"`
	Score     int64 `json:"score"`
}

func leadformRoutes(a *API) []route {
	if a.leadforms == nil {
		return nil
	}
	read, write := crm.PermMarketingRead, crm.PermMarketingWrite
	return []route{
		{"GET /api/v1/lead-forms", a.handleLeadForms, op{ID: "listLeadForms", Tag: "lead-forms", Perm: read, Paged: true,
			Summary: "List lead forms, newest first", Out: list[*crm.LeadForm]{}}},
		{"POST /api/v1/lead-forms", a.handleLeadFormCreate, op{ID: "createLeadForm", Tag: "lead-forms", Perm: write, Status: http.StatusCreated, Location: true,
			Summary: "Make a lead form", In: FormIn{}, Out: &crm.LeadForm{}}},
		{"GET /api/v1/lead-forms/{id}", a.handleLeadForm, op{ID: "getLeadForm", Tag: "lead-forms", Perm: read,
			Summary: "Read a lead form", Out: &crm.LeadForm{}}},
		{"PUT /api/v1/lead-forms/{id}", a.handleLeadFormUpdate, op{ID: "updateLeadForm", Tag: "lead-forms", Perm: write,
			Summary: "Change a lead form (all its settings)", In: FormIn{}, Out: &crm.LeadForm{}}},
		{"DELETE /api/v1/lead-forms/{id}", a.handleLeadFormDelete, op{ID: "deleteLeadForm", Tag: "lead-forms", Perm: write, Status: http.StatusNoContent,
			Summary: "Delete a lead form and its submissions (the people and leads it made stay)"}},
		{"GET /api/v1/lead-forms/{id}/submissions", a.handleLeadFormSubmissions, op{ID: "listLeadFormSubmissions", Tag: "lead-forms", Perm: read, Paged: true,
			Summary: "A form's submissions, newest first", Out: list[*crm.FormSubmission]{}}},

		{"GET /api/v1/score-rules", a.handleScoreRules, op{ID: "listScoreRules", Tag: "lead-scoring", Perm: read, Paged: true,
			Summary: "List the scoring rules", Out: list[*crm.ScoreRule]{}}},
		{"POST /api/v1/score-rules", a.handleScoreRuleCreate, op{ID: "createScoreRule", Tag: "lead-scoring", Perm: write, Status: http.StatusCreated, Location: true,
			Summary: "Add a scoring rule; every score is recomputed by a job", In: ScoreRuleIn{}, Out: &crm.ScoreRule{}}},
		{"POST /api/v1/score-rules/recompute", a.handleScoreRecompute, op{ID: "recomputeScores", Tag: "lead-scoring", Perm: write, Status: http.StatusAccepted,
			Summary: "Queue a recompute of every person's score (one waits at a time)", Out: ScoreRecompute{}}},
		{"GET /api/v1/score-rules/{id}", a.handleScoreRule, op{ID: "getScoreRule", Tag: "lead-scoring", Perm: read,
			Summary: "Read a scoring rule", Out: &crm.ScoreRule{}}},
		{"PUT /api/v1/score-rules/{id}", a.handleScoreRuleUpdate, op{ID: "updateScoreRule", Tag: "lead-scoring", Perm: write,
			Summary: "Change a scoring rule; every score is recomputed by a job", In: ScoreRuleIn{}, Out: &crm.ScoreRule{}}},
		{"DELETE /api/v1/score-rules/{id}", a.handleScoreRuleDelete, op{ID: "deleteScoreRule", Tag: "lead-scoring", Perm: write, Status: http.StatusNoContent,
			Summary: "Delete a scoring rule; every score is recomputed by a job"}},
		{"GET /api/v1/contacts/{id}/score", a.handleContactScore, op{ID: "getContactScore", Tag: "lead-scoring", Perm: crm.PermContactsRead,
			Summary: "A person's lead score", Out: LeadScore{}}},
	}
}

func (a *API) handleLeadForms(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	page := readPage(r, &v)
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	forms, next, err := a.leadforms.List(r.Context(), page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, forms, next)
}

func (a *API) handleLeadFormCreate(w http.ResponseWriter, r *http.Request) {
	var in FormIn
	withCreate(a, w, r, &in, "/lead-forms", func() (any, int64, error) {
		f, err := a.leadforms.Create(r.Context(), in.input())
		if err != nil {
			return nil, 0, err
		}
		return f, f.ID, nil
	})
}

func (a *API) handleLeadForm(w http.ResponseWriter, r *http.Request) {
	withID(a, w, r, func(id int64) (any, error) { return a.leadforms.Get(r.Context(), id) })
}

func (a *API) handleLeadFormUpdate(w http.ResponseWriter, r *http.Request) {
	var in FormIn
	withBody(a, w, r, &in, func(id int64) (any, error) { return a.leadforms.Update(r.Context(), id, in.input()) })
}

func (a *API) handleLeadFormDelete(w http.ResponseWriter, r *http.Request) {
	withNoContent(a, w, r, func(id int64) error { return a.leadforms.Delete(r.Context(), id) })
}

func (a *API) handleLeadFormSubmissions(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	page := readPage(r, &v)
	id, err := pathID(r, "id")
	if err == nil {
		err = v.Err()
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	subs, next, err := a.leadforms.Submissions(r.Context(), id, page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, subs, next)
}

func (a *API) handleScoreRules(w http.ResponseWriter, r *http.Request) {
	rules, err := a.leadforms.Rules(r.Context())
	clubPaged(a, w, r, rules, err, func(s *crm.ScoreRule) int64 { return s.ID })
}

func (a *API) handleScoreRuleCreate(w http.ResponseWriter, r *http.Request) {
	var in ScoreRuleIn
	withCreate(a, w, r, &in, "/score-rules", func() (any, int64, error) {
		rule, err := in.input()
		if err != nil {
			return nil, 0, err
		}
		s, err := a.leadforms.CreateRule(r.Context(), rule)
		if err != nil {
			return nil, 0, err
		}
		return s, s.ID, nil
	})
}

func (a *API) handleScoreRule(w http.ResponseWriter, r *http.Request) {
	withID(a, w, r, func(id int64) (any, error) { return a.leadforms.Rule(r.Context(), id) })
}

func (a *API) handleScoreRuleUpdate(w http.ResponseWriter, r *http.Request) {
	var in ScoreRuleIn
	withBody(a, w, r, &in, func(id int64) (any, error) {
		rule, err := in.input()
		if err != nil {
			return nil, err
		}
		return a.leadforms.UpdateRule(r.Context(), id, rule)
	})
}

func (a *API) handleScoreRuleDelete(w http.ResponseWriter, r *http.Request) {
	withNoContent(a, w, r, func(id int64) error { return a.leadforms.DeleteRule(r.Context(), id) })
}

func (a *API) handleScoreRecompute(w http.ResponseWriter, r *http.Request) {
	if err := a.leadforms.RequestRecompute(r.Context()); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusAccepted, ScoreRecompute{Queued: true})
}

func (a *API) handleContactScore(w http.ResponseWriter, r *http.Request) {
	withID(a, w, r, func(id int64) (any, error) {
		if _, err := a.contacts.FindContactByID(r.Context(), id); err != nil {
			return nil, err
		}
		n, err := a.leadforms.Score(r.Context(), id)
		return LeadScore{ContactID: id, Score: n}, err
	})
}
