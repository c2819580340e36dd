package campaign

import (
	"bytes"
	"fmt"
	htemplate "html/template"
	"regexp"
	"slices"
	"strconv"
	"strings"
	ttemplate "text/template"
	"text/template/parse"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/text"
)

// Templates. A campaign's subject, bodies and SMS text are Go templates
// over Data, restricted to what a message needs: the fields of Data,
// if/else/with, and a few functions (default, eq, ne, lt, le, gt, ge, and,
// or, not). Loops, template definitions and printf are refused, so no
// template can run long or build a huge message. The HTML body goes
// through html/template (contextual escaping of every value); the rest
// through text/template.

// Data is what a template may say about its recipient.
type Data struct {
	FirstName      string
	LastName       string
	Name           string // first and last name, or "" when both are empty
	Email          string
	Phone          string
	Points         string // available club points in the recipient's digits
	Coupon         string // a code from the campaign's coupon batch
	UnsubscribeURL string
}

var dataFields = []string{"FirstName", "LastName", "Name", "Email", "Phone", "Points", "Coupon", "UnsubscribeURL"}

var allowedFuncs = []string{"default", "eq", "ne", "lt", "le", "gt", "ge", "and", "or", "not"}

// funcs are the functions templates may call beyond the allowed builtins.
var funcs = map[string]any{
	// default returns def when v is empty: {{default "friend" .FirstName}}.
	"default": func(def, v string) string {
		if strings.TrimSpace(v) == "" {
			return def
		}
		return v
	},
}

// MaxTemplate bounds one template's length (characters).
const MaxTemplate = 200_000

// Compiled is one language's parsed content.
type Compiled struct {
	Subject *ttemplate.Template
	HTML    *htemplate.Template
	Text    *ttemplate.Template
	SMS     *ttemplate.Template
	// Lang is the content's language: an HTML body in Persian or Arabic
	// that does not set its direction is sent right to left.
	Lang string
}

// Compile parses and checks one language's content for a channel. Errors
// name the field (content.<lang>.subject …) and the line.
func Compile(channel, lang string, c crm.CampaignContent, v *crm.Validation) *Compiled {
	out := &Compiled{Lang: lang}
	field := func(name string) string { return "content." + lang + "." + name }
	text := func(name, src string, required bool) *ttemplate.Template {
		if strings.TrimSpace(src) == "" {
			if required {
				v.Add(field(name), "Required.")
			}
			return nil
		}
		t, err := parseText(name, src)
		if err != nil {
			v.Add(field(name), "%s", err)
			return nil
		}
		return t
	}
	switch channel {
	case ChannelEmail:
		out.Subject = text("subject", c.Subject, true)
		if strings.ContainsAny(c.Subject, "\r\n") {
			v.Add(field("subject"), "A subject is one line.")
		}
		out.Text = text("text", c.Text, false)
		if strings.TrimSpace(c.HTML) != "" {
			t, err := parseHTML(c.HTML)
			if err != nil {
				v.Add(field("html"), "%s", err)
			} else {
				out.HTML = t
			}
		}
		if strings.TrimSpace(c.HTML) == "" && strings.TrimSpace(c.Text) == "" {
			v.Add(field("text"), "Write a plain-text body, an HTML body or both.")
		}
	case ChannelSMS:
		out.SMS = text("sms", c.SMS, true)
	}
	return out
}

// ParseTemplate checks one template source (for the fuzz test and the
// editor's live check).
func ParseTemplate(src string) error {
	_, err := parseText("t", src)
	return err
}

func parseText(name, src string) (*ttemplate.Template, error) {
	if len([]rune(src)) > MaxTemplate {
		return nil, fmt.Errorf("At most %d characters.", MaxTemplate)
	}
	t, err := ttemplate.New(name).Funcs(funcs).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, cleanErr(err)
	}
	if len(t.Templates()) > 1 {
		return nil, fmt.Errorf("Template definitions (define, block) are not allowed.")
	}
	if err := check(t.Tree); err != nil {
		return nil, err
	}
	return t, nil
}

func parseHTML(src string) (*htemplate.Template, error) {
	if len([]rune(src)) > MaxTemplate {
		return nil, fmt.Errorf("At most %d characters.", MaxTemplate)
	}
	t, err := htemplate.New("html").Funcs(funcs).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, cleanErr(err)
	}
	if len(t.Templates()) > 1 {
		return nil, fmt.Errorf("Template definitions (define, block) are not allowed.")
	}
	for _, tt := range t.Templates() {
		if tt.Tree == nil {
			continue
		}
		if err := check(tt.Tree); err != nil {
			return nil, err
		}
	}
	// Escaping is decided on the first execution: do it now so a template
	// that cannot be escaped safely is refused here, not at send time.
	if err := t.Execute(&bytes.Buffer{}, Sample()); err != nil {
		return nil, cleanErr(err)
	}
	return t, nil
}

var errPrefix = regexp.MustCompile(`^(html/)?template: [^:]*:`)

// cleanErr turns "template: subject:1: unexpected …" into "line 1: unexpected …".
func cleanErr(err error) error {
	msg := err.Error()
	if m := errPrefix.FindStringIndex(msg); m != nil {
		msg = "line " + msg[m[1]:]
	}
	return fmt.Errorf("%s", msg)
}

// check walks a parse tree and refuses what campaign templates may not do.
func check(tree *parse.Tree) error {
	if tree == nil || tree.Root == nil {
		return nil
	}
	var walk func(n parse.Node) error
	line := func(n parse.Node) string {
		l, _ := tree.ErrorContext(n)
		if i := strings.LastIndexByte(l, ':'); i >= 0 {
			l = l[:i]
		}
		if i := strings.IndexByte(l, ':'); i >= 0 {
			return "line " + l[i+1:]
		}
		return "line ?"
	}
	walk = func(n parse.Node) error {
		switch n := n.(type) {
		case nil:
			return nil
		case *parse.ListNode:
			if n == nil {
				return nil
			}
			for _, c := range n.Nodes {
				if err := walk(c); err != nil {
					return err
				}
			}
		case *parse.TextNode, *parse.CommentNode:
		case *parse.ActionNode:
			return walk(n.Pipe)
		case *parse.IfNode:
			return walkBranch(walk, &n.BranchNode)
		case *parse.WithNode:
			return walkBranch(walk, &n.BranchNode)
		case *parse.PipeNode:
			if n == nil {
				return nil
			}
			for _, c := range n.Cmds {
				if err := walk(c); err != nil {
					return err
				}
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				if err := walk(a); err != nil {
					return err
				}
			}
		case *parse.FieldNode:
			if len(n.Ident) != 1 || !slices.Contains(dataFields, n.Ident[0]) {
				return fmt.Errorf("%s: unknown field .%s; use %s", line(n), strings.Join(n.Ident, "."), "."+strings.Join(dataFields, ", ."))
			}
		case *parse.IdentifierNode:
			if !slices.Contains(allowedFuncs, n.Ident) {
				return fmt.Errorf("%s: the function %q is not allowed", line(n), n.Ident)
			}
		case *parse.DotNode, *parse.StringNode, *parse.NumberNode, *parse.BoolNode, *parse.NilNode, *parse.VariableNode:
		case *parse.ChainNode:
			return fmt.Errorf("%s: field chains are not allowed", line(n))
		case *parse.RangeNode:
			return fmt.Errorf("%s: loops (range) are not allowed", line(n))
		case *parse.TemplateNode:
			return fmt.Errorf("%s: nested templates are not allowed", line(n))
		default:
			return fmt.Errorf("%s: %s is not allowed", line(n), n.String())
		}
		return nil
	}
	return walk(tree.Root)
}

func walkBranch(walk func(parse.Node) error, b *parse.BranchNode) error {
	if err := walk(b.Pipe); err != nil {
		return err
	}
	if err := walk(b.List); err != nil {
		return err
	}
	if b.ElseList != nil {
		return walk(b.ElseList)
	}
	return nil
}

// Sample is the data previews without a recipient use.
func Sample() Data {
	return Data{FirstName: "Sara", LastName: "Rezaei", Name: "Sara Rezaei", Email: "sara@example.com", Phone: "+989121234567",
		Points: "1250", Coupon: "SPRING-7KQ4", UnsubscribeURL: "https://example.com/u/sample"}
}

// SampleIn is the sample data of a preview in lang: a name in its script
// and the points in its digits, as a recipient of that language would get.
func SampleIn(lang string) Data {
	r := &crm.RecipientData{FirstName: "Sara", LastName: "Rezaei", Email: "sara@example.com", Phone: "+989121234567", Points: 1250}
	switch lang {
	case "fa":
		r.FirstName, r.LastName = "سارا", "رضایی"
	case "ar":
		r.FirstName, r.LastName = "سارة", "الأحمد"
	}
	return DataFor(r, lang, Sample().Coupon, Sample().UnsubscribeURL)
}

// DataFor builds a recipient's template data in their language.
func DataFor(r *crm.RecipientData, lang, coupon, unsubscribe string) Data {
	name := strings.TrimSpace(r.FirstName + " " + r.LastName)
	points := strconv.FormatInt(r.Points, 10)
	switch lang {
	case "fa":
		points = text.ToPersianDigits(points)
	case "ar":
		points = text.ToArabicDigits(points)
	}
	return Data{FirstName: r.FirstName, LastName: r.LastName, Name: name, Email: r.Email, Phone: r.Phone, Points: points,
		Coupon: coupon, UnsubscribeURL: unsubscribe}
}

// Rendered is one recipient's message.
type Rendered struct {
	Subject string
	HTML    string
	Text    string
	SMS     string
}

// Render executes compiled content for d.
func (c *Compiled) Render(d Data) (Rendered, error) {
	var r Rendered
	var b bytes.Buffer
	if c.Subject != nil {
		if err := c.Subject.Execute(&b, d); err != nil {
			return r, cleanErr(err)
		}
		r.Subject = strings.Join(strings.Fields(b.String()), " ")
		b.Reset()
	}
	if c.Text != nil {
		if err := c.Text.Execute(&b, d); err != nil {
			return r, cleanErr(err)
		}
		r.Text = b.String()
		b.Reset()
	}
	if c.HTML != nil {
		if err := c.HTML.Execute(&b, d); err != nil {
			return r, cleanErr(err)
		}
		r.HTML = rtlHTML(c.Lang, b.String())
		b.Reset()
	}
	if c.SMS != nil {
		if err := c.SMS.Execute(&b, d); err != nil {
			return r, cleanErr(err)
		}
		r.SMS = b.String()
	}
	return r, nil
}

// rtlHTML gives an HTML body in Persian or Arabic its direction when it
// sets none (mail clients otherwise show it left to right): a fragment is
// wrapped in a right-to-left block, a whole document gets dir on <html>,
// else on <body>.
func rtlHTML(lang, html string) string {
	if (lang != "fa" && lang != "ar") || strings.Contains(strings.ToLower(html), "dir=") {
		return html
	}
	attr := ` dir="rtl" lang="` + lang + `"`
	lower := []byte(html) // ASCII letters lowered: the same byte offsets as html
	for i, c := range lower {
		if 'A' <= c && c <= 'Z' {
			lower[i] = c + 'a' - 'A'
		}
	}
	for _, tag := range []string{"<html", "<body"} {
		if i := strings.Index(string(lower), tag); i >= 0 {
			if j := i + len(tag); j < len(html) && (html[j] == '>' || html[j] == ' ' || html[j] == '\t' || html[j] == '\n' || html[j] == '\r') {
				return html[:j] + attr + html[j:]
			}
		}
	}
	return "<div" + attr + ">" + html + "</div>"
}
