package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/leadform"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/problem"
)

// The JSON ends of a lead form, for a site that draws the form itself:
//
//	GET  /f/{id}/form.json   the fields, their labels, the consent wording
//	POST /f/{id}/submit      {"values": {...}, "consent": true, "website": ""}
//
// Any origin may call them (Access-Control-Allow-Origin: *, never with
// credentials): like the form's page, they are public, and spam is held
// off by the same honeypot and rate limits. Answers and errors are in the
// form's language.

// publicFormJSON is a form as a site needs it to draw it.
type publicFormJSON struct {
	Name      string            `json:"name"`
	Language  string            `json:"language"`
	Dir       string            `json:"dir"`
	Fields    []publicFieldJSON `json:"fields"`
	Consent   *publicConsent    `json:"consent"` // null: the form asks for none
	Honeypot  string            `json:"honeypot"`
	SubmitURL string            `json:"submit_url"`
	Submit    string            `json:"submit_label"`
}

type publicFieldJSON struct {
	Key      string   `json:"key"`
	Label    string   `json:"label"`
	Required bool     `json:"required"`
	Type     string   `json:"type"` // text, email, tel, number, date, url, textarea, select, checkbox
	Options  []string `json:"options,omitempty"`
}

type publicConsent struct {
	Channel string `json:"channel"`
	// Text is the wording to show beside the box: it is stored with each
	// consent given, so the site must show exactly this.
	Text string `json:"text"`
}

type publicSubmitJSON struct {
	Values   map[string]string `json:"values"`
	Consent  bool              `json:"consent"`
	Honeypot string            `json:"website"`
}

type publicAnswerJSON struct {
	OK      bool              `json:"ok"`
	Pending bool              `json:"pending,omitempty"` // a confirmation email was sent
	Message string            `json:"message"`
	Errors  map[string]string `json:"errors,omitempty"` // by field key
}

func corsPublic(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type")
	h.Set("Access-Control-Max-Age", "86400")
	h.Set("Referrer-Policy", "no-referrer")
}

func (s *server) handlePublicPreflight(w http.ResponseWriter, r *http.Request) {
	corsPublic(w)
	w.WriteHeader(http.StatusNoContent)
}

func writePublicJSON(w http.ResponseWriter, status int, v any) {
	corsPublic(w)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// publicFormPrinter is the printer of the form's language (the visitor's
// otherwise, when the form is unknown).
func (s *server) publicFormPrinter(r *http.Request) (*leadform.PublicForm, *locale.Printer, error) {
	pub, err := s.leadforms.Public(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, publicPrinter(r, ""), err
	}
	return pub, locale.ForLanguage(pub.Form.Language), nil
}

func (s *server) handlePublicFormJSON(w http.ResponseWriter, r *http.Request) {
	pub, p, err := s.publicFormPrinter(r)
	if err != nil {
		s.publicJSONError(w, p, err)
		return
	}
	f := pub.Form
	if !f.Active {
		s.publicJSONError(w, p, &crm.Error{Code: crm.ECONFLICT, Key: "leadform.public.closed", Message: "This form is closed."})
		return
	}
	out := publicFormJSON{Name: f.Name, Language: f.Language, Dir: p.Dir(), Honeypot: honeypotField,
		SubmitURL: absURL(r, "/f/"+f.PublicID+"/submit"), Submit: p.T("leadform.public.submit"), Fields: []publicFieldJSON{}}
	for _, pf := range publicFields(p, pub, nil, nil) {
		out.Fields = append(out.Fields, publicFieldJSON{Key: pf.Key, Label: pf.Label, Required: pf.Required, Type: pf.Type, Options: pf.Options})
	}
	if f.ConsentChannel != "" {
		out.Consent = &publicConsent{Channel: f.ConsentChannel, Text: f.ConsentText}
	}
	writePublicJSON(w, http.StatusOK, out)
}

func (s *server) handlePublicSubmitJSON(w http.ResponseWriter, r *http.Request) {
	_, p, err := s.publicFormPrinter(r)
	if err != nil {
		s.publicJSONError(w, p, err)
		return
	}
	var in publicSubmitJSON
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		msg := "The body must be one JSON object: {\"values\": {…}, \"consent\": true}."
		if errors.Is(err, io.EOF) {
			msg = "The body is empty; send {\"values\": {…}}."
		}
		writePublicJSON(w, http.StatusBadRequest, publicAnswerJSON{Message: msg + " (" + err.Error() + ")"})
		return
	}
	res, err := s.leadforms.Submit(r.Context(), leadform.SubmitInput{PublicID: r.PathValue("id"), Values: in.Values, Consent: in.Consent,
		Honeypot: in.Honeypot, IP: clientIP(r)})
	if err != nil {
		s.publicJSONError(w, p, err)
		return
	}
	out := publicAnswerJSON{OK: true, Pending: res.Pending, Message: p.T("leadform.public.thanks")}
	if res.Form.ThanksText != "" {
		out.Message = res.Form.ThanksText
	}
	if res.Pending {
		out.Message = p.T("leadform.public.check_mail")
	}
	writePublicJSON(w, http.StatusOK, out)
}

// publicJSONError answers an error in the form's language: the fields'
// problems by key (422), or what stopped the submission.
func (s *server) publicJSONError(w http.ResponseWriter, p *locale.Printer, err error) {
	if codes := leadform.ProblemCodes(err); codes != nil {
		out := publicAnswerJSON{Message: p.T("leadform.public.fix"), Errors: map[string]string{}}
		for k, c := range codes {
			out.Errors[k] = p.T("leadform.problem." + c)
		}
		writePublicJSON(w, http.StatusUnprocessableEntity, out)
		return
	}
	status, msg := problem.Status(err), explain(p, err).Text
	if status == http.StatusInternalServerError {
		s.log.Error("leadform: public JSON", "err", err)
	}
	writePublicJSON(w, status, publicAnswerJSON{Message: msg})
}
