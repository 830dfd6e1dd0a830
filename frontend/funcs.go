package frontend

import (
	"candor/internal/envelope"
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"text/template/parse"

	"candor/internal/day"
)

// funcs returns the template functions bound to one language's catalog:
//
//	t KEY ARGS…       the catalog string KEY, formatted with ARGS
//	tn KEY N ARGS…    KEY.one / KEY.other by N's plural form, formatted with N, ARGS…
//	date DAY          a day.Day in the language's long date format
//	size BYTES        a byte count, e.g. "2 GiB", "1,5 MiB"
//	num N             an integer with the language's digit grouping
//	status S          a case status in words
//	outcome O         a closed case's outcome in words ("" for an unknown word)
//	outcomes          the outcome words (envelope.Outcomes), for a chooser
//	user S            user-supplied text with bidi controls neutralised
//	kept S            a reporter's own text, for a <textarea>: escaped, bidi controls kept as
//	                  character references so that the text is sent back unchanged
//	field ID          the HTML id of questionnaire field ID
//	local URL         URL if it is a same-site path, else "/"
//	extraFiles        the numbers of the extra single-file inputs
func (f *Frontend) funcs(c *catalog) template.FuncMap {
	en := f.cats[DefaultLanguage]
	t := func(key string, args ...any) string { return c.format(en, key, args...) }
	return template.FuncMap{
		"t": t,
		"tn": func(key string, n int, args ...any) string {
			return c.format(en, key+"."+c.plural(n), append([]any{n}, args...)...)
		},
		"date":     func(d day.Day) string { return formatDate(c, en, d) },
		"size":     func(n int64) string { return formatSize(c, en, n) },
		"num":      func(n any) (string, error) { return formatNum(t("number.group"), n) },
		"status":   func(s string) string { return formatStatus(c, en, s) },
		"outcomes": envelope.Outcomes,
		"outcome": func(o string) string {
			if slices.Contains(envelope.Outcomes(), o) {
				return c.format(en, "outcome."+o)
			}
			return ""
		},
		"user":  neutraliseBidi,
		"kept":  keptText,
		"field": func(id string) string { return "q-" + id },
		"local": localPath,
		// extraFiles numbers the single-file inputs shown after the "multiple"
		// one, for browsers or users that pick one file per input.
		"extraFiles": func() []int { return []int{2, 3, 4} },
	}
}

func formatDate(c, en *catalog, d day.Day) string {
	tm := d.Time()
	month := c.format(en, "month."+strconv.Itoa(int(tm.Month())))
	return c.format(en, "date.format", tm.Day(), month, tm.Year())
}

// formatSize uses binary units with at most one decimal, rounding up so a limit
// is never shown smaller than it is.
func formatSize(c, en *catalog, n int64) string {
	if n < 1024 {
		return c.format(en, "size.bytes."+c.plural(int(n)), n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i, div := 0, int64(1024)
	for i < len(units)-1 && n/div >= 1024 {
		i, div = i+1, div*1024
	}
	// Round up to a tenth; the remainder is < 2⁶⁰, so rem*10 fits in a uint64.
	rem := uint64(n % div)
	tenths := n/div*10 + int64((rem*10+uint64(div)-1)/uint64(div))
	s := strconv.FormatInt(tenths/10, 10)
	if tenths%10 != 0 {
		s += c.format(en, "number.decimal") + strconv.FormatInt(tenths%10, 10)
	}
	return s + "\u00a0" + units[i]
}

// formatNum formats an int or int64 with formatInt.
func formatNum(sep string, n any) (string, error) {
	switch n := n.(type) {
	case int:
		return formatInt(sep, int64(n)), nil
	case int64:
		return formatInt(sep, n), nil
	}
	return "", fmt.Errorf("num: want an integer, got %T", n)
}

// formatInt groups digits by three with sep ("50,000"); four-digit numbers are
// left ungrouped, as German and English style guides allow.
func formatInt(sep string, n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if len(s) > 4 {
		var b strings.Builder
		for i, r := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteString(sep)
			}
			b.WriteRune(r)
		}
		s = b.String()
	}
	if neg {
		s = "-" + s
	}
	return s
}

func formatStatus(c, en *catalog, s string) string {
	for _, known := range Statuses() {
		if s == known {
			return c.format(en, "status."+s)
		}
	}
	return c.format(en, "status.unknown")
}

// neutraliseBidi replaces the Unicode bidi embedding, override and isolate
// controls in user-supplied text by U+FFFD, so that a name like
// "invoice\u202Efdp.exe" cannot display as "invoiceexe.pdf" nor reorder the
// page text around it. The marks LRM, RLM and ALM stay: they cannot span text.
func neutraliseBidi(s string) string {
	return strings.Map(func(r rune) rune {
		if (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') {
			return '\ufffd'
		}
		return r
	}, s)
}

// keptText escapes a reporter's own text for the content of a <textarea> (where html/template
// leaves template.HTML as it is). Unlike user, it keeps the bidi controls, as character
// references: the text goes back into the reporter's own form and must be sent again unchanged,
// and a control inside a text area cannot reorder the page around it.
func keptText(s string) template.HTML {
	var b strings.Builder
	for _, r := range s {
		switch {
		case (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069'):
			fmt.Fprintf(&b, "&#x%x;", r)
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case r == '"':
			b.WriteString("&#34;")
		case r == '\'':
			b.WriteString("&#39;")
		case r == 0:
			b.WriteString("\ufffd")
		default:
			b.WriteRune(r)
		}
	}
	return template.HTML(b.String())
}

// localPath returns u if it is a path on this site ("/x", not "//host/x" nor
// "/\\host"), else "/", so that a link the handlers fill cannot lead away.
func localPath(u string) string {
	if !strings.HasPrefix(u, "/") || strings.HasPrefix(u, "//") || strings.HasPrefix(u, "/\\") {
		return "/"
	}
	return u
}

// keyUse is a catalog key a template uses; plural keys exist once per form.
type keyUse struct {
	key    string
	plural bool
}

// templateKeys returns the literal keys passed to t and tn in the templates of
// set.
func templateKeys(set map[string]*template.Template) map[keyUse]bool {
	used := map[keyUse]bool{}
	for _, page := range set {
		for _, tt := range page.Templates() {
			if tt.Tree != nil {
				walkKeys(tt.Tree.Root, used)
			}
		}
	}
	return used
}

func walkKeys(n parse.Node, used map[keyUse]bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n != nil {
			for _, c := range n.Nodes {
				walkKeys(c, used)
			}
		}
	case *parse.ActionNode:
		walkKeys(n.Pipe, used)
	case *parse.IfNode:
		walkBranch(&n.BranchNode, used)
	case *parse.RangeNode:
		walkBranch(&n.BranchNode, used)
	case *parse.WithNode:
		walkBranch(&n.BranchNode, used)
	case *parse.TemplateNode:
		walkKeys(n.Pipe, used)
	case *parse.PipeNode:
		if n != nil {
			for _, c := range n.Cmds {
				walkKeys(c, used)
			}
		}
	case *parse.CommandNode:
		walkCommand(n, used)
	}
}

func walkBranch(b *parse.BranchNode, used map[keyUse]bool) {
	walkKeys(b.Pipe, used)
	walkKeys(b.List, used)
	walkKeys(b.ElseList, used)
}

func walkCommand(n *parse.CommandNode, used map[keyUse]bool) {
	if len(n.Args) >= 2 {
		id, ok1 := n.Args[0].(*parse.IdentifierNode)
		s, ok2 := n.Args[1].(*parse.StringNode)
		if ok1 && ok2 && (id.Ident == "t" || id.Ident == "tn") {
			used[keyUse{s.Text, id.Ident == "tn"}] = true
		}
	}
	for _, a := range n.Args {
		walkKeys(a, used)
	}
}

// checkTemplateKeys fails if a template uses a key some catalog lacks.
func checkTemplateKeys(set map[string]*template.Template, cats []*catalog) error {
	for use := range templateKeys(set) {
		for _, c := range cats {
			for _, k := range expandKey(use, c) {
				if _, ok := c.msgs[k]; !ok {
					return fmt.Errorf("frontend: catalog %s lacks key %q used by a template", c.lang.Tag, k)
				}
			}
		}
	}
	return nil
}

// expandKey returns the catalog keys use needs in c.
func expandKey(use keyUse, c *catalog) []string {
	if !use.plural {
		return []string{use.key}
	}
	var keys []string
	for _, form := range c.forms {
		keys = append(keys, use.key+"."+form)
	}
	return keys
}
