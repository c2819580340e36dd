package web

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/workflow"
)

// Conditions in the workflow builder and in the workflow's summary: the
// segment rule editor and the segment page's words for conditions, plus
// the conditions on the order that started the run (order triggers only).

// condFields are the condition fields by name, for describing rules
// (nil without the segment module: fields are then named as stored).
func (s *server) condFields(ctx context.Context) map[string]crm.ConditionField {
	out := map[string]crm.ConditionField{}
	if s.segmentSvc == nil {
		return out
	}
	fields, err := s.segmentSvc.Fields(ctx)
	if err != nil {
		return out
	}
	for _, f := range fields {
		out[f.Name] = f
	}
	return out
}

// orderCurrencies are the currencies the builder offers order totals in:
// the usual currency (the newest order's …) and those the definition
// already names.
func (s *server) orderCurrencies(r *http.Request, d *workflow.Definition) []string {
	var out []string
	if s.orders != nil {
		out = append(out, s.defaultCurrency(r))
	}
	add := func(rule *crm.Rule) {
		if rule == nil {
			return
		}
		visit := func(c *crm.Rule) {
			if f, cur, ok := workflow.OrderField(c.Field); ok && f == workflow.OrderFieldTotal && !slices.Contains(out, cur) {
				out = append(out, cur)
			}
		}
		if !rule.IsGroup() {
			visit(rule)
		}
		rule.Walk(func(_ string, c *crm.Rule) { visit(c) })
	}
	add(d.Conditions)
	workflow.WalkSteps("steps", d.Steps, func(_ string, st *workflow.Step) {
		add(st.If)
		if st.Wait != nil {
			add(st.Wait.Condition)
		}
	})
	if len(out) == 0 {
		out = append(out, "IRR")
	}
	return out
}

// orderCondLabel names an order field ("The order's total (IRR)").
func orderCondLabel(p *locale.Printer, name string) string {
	f, cur, ok := workflow.OrderField(name)
	if !ok {
		return name
	}
	if f == workflow.OrderFieldTotal {
		return p.T("workflows.cond.order.total", "currency", cur)
	}
	return p.T("workflows.cond." + f)
}

// wfEditorConfig is the segment rule editor's configuration with errs;
// "" without the segment module (the tree is then edited as JSON). For a
// trigger on placed orders it offers the order's fields first.
func (s *server) wfEditorConfig(r *http.Request, f *wfForm, errs []ruleError) (string, error) {
	if s.segmentSvc == nil {
		return "", nil
	}
	if errs == nil {
		errs = []ruleError{}
	}
	cfg, err := s.editorConfig(r, errs)
	if err != nil || !workflow.OrderConditionsAllowed(f.Def.Trigger) {
		return cfg, err
	}
	p := state(r).p
	var c editorConfig
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		return "", err
	}
	var fields []editorField
	for _, cur := range s.orderCurrencies(r, &f.Def) {
		name := workflow.OrderTotalField(cur)
		fields = append(fields, editorField{Name: name, Label: orderCondLabel(p, name), Type: crm.CondMoney, Group: "order"})
	}
	ch := editorField{Name: workflow.OrderFieldChannel, Label: orderCondLabel(p, workflow.OrderFieldChannel), Type: crm.CondChoice, Group: "order"}
	for _, v := range crm.OrderChannels {
		ch.Options = append(ch.Options, crm.Option{Value: v, Label: p.T("orders.channel." + v)})
	}
	fields = append(fields, ch,
		editorField{Name: workflow.OrderFieldSource, Label: orderCondLabel(p, workflow.OrderFieldSource), Type: crm.CondText, Group: "order"},
		editorField{Name: workflow.OrderFieldLines, Label: orderCondLabel(p, workflow.OrderFieldLines), Type: crm.CondNumber, Group: "order"})
	c.Fields = append(fields, c.Fields...)
	c.Groups["order"] = p.T("workflows.cond_group.order")
	b, err := json.Marshal(c)
	return string(b), err
}

// describeRule says a condition tree in one line of words: "Tags has any
// of vip and (the order's total (IRR) at least 5,000,000 IRR or …)"; ""
// for an empty tree. Values are written as the segment page writes them;
// amounts of the order as money.
func describeRule(p *locale.Printer, r *crm.Rule, fields map[string]crm.ConditionField) string {
	if r == nil {
		return ""
	}
	if !r.IsGroup() {
		return describeCondition(p, r, fields)
	}
	var parts []string
	for i := range r.Conditions {
		c := &r.Conditions[i]
		t := describeRule(p, c, fields)
		if t == "" {
			continue
		}
		if c.IsGroup() && len(c.Conditions) > 1 {
			t = p.T("workflows.rule_group", "conditions", t)
		}
		parts = append(parts, t)
	}
	join := p.T("workflows.rule_and")
	if r.Match == crm.MatchAny {
		join = p.T("workflows.rule_or")
	}
	return strings.Join(parts, join)
}

func describeCondition(p *locale.Printer, c *crm.Rule, fields map[string]crm.ConditionField) string {
	op := c.Op
	if p.Has("segments.op." + c.Op) {
		op = p.T("segments.op." + c.Op)
	}
	if field, cur, ok := workflow.OrderField(c.Field); ok {
		if k := "workflows.cond_op." + c.Op; p.Has(k) {
			op = p.T(k) // "is at least": a sentence about one order
		}
		// In a sentence: "the order's total", without the currency (the amount has it).
		f := crm.ConditionField{Name: c.Field, Type: workflow.OrderFieldType(field), Label: p.T("workflows.cond." + field + "_short")}
		var v string
		switch field {
		case workflow.OrderFieldTotal:
			amount := func(x any) string {
				n, _ := asInt64(x)
				return formatMoney(p, n, cur)
			}
			if l, ok := c.Value.([]any); ok && len(l) == 2 {
				v = p.T("segments.between_values", "from", amount(l[0]), "to", amount(l[1]))
			} else {
				v = amount(c.Value)
			}
		case workflow.OrderFieldChannel:
			var names []string
			if l, ok := c.Value.([]any); ok {
				for _, x := range l {
					s, _ := x.(string)
					names = append(names, p.T("orders.channel."+s))
				}
			}
			v = strings.Join(names, p.T("list.separator"))
		default:
			v = describeValue(p, f, c.Value)
		}
		return strings.TrimSpace(f.Label + " " + op + " " + v)
	}
	f, ok := fields[c.Field]
	if !ok {
		f = crm.ConditionField{Name: c.Field}
	}
	text := fieldLabel(p, f) + " " + op
	if v := describeValue(p, f, c.Value); v != "" {
		text += " " + v
	}
	return text
}
