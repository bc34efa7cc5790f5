package kb

import (
	"bytes"
	"strings"
	"unicode"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// renderer turns one article's Markdown into its title, safe HTML and plain
// text. One is made per Load and used by that Load only, so nothing here
// has to be safe for concurrent use.
type renderer struct {
	md     goldmark.Markdown
	policy *bluemonday.Policy
}

func newRenderer() *renderer {
	// goldmark's default renderer already drops raw HTML and dangerous
	// link schemes; bluemonday is the gate we rely on all the same, because
	// the articles come from a folder editors fill and the HTML goes
	// straight into the operators' desktop.
	md := goldmark.New(goldmark.WithExtensions(
		extension.Table,
		extension.Strikethrough,
		extension.Linkify, // bare https://… addresses of ministries and labs
	))
	p := bluemonday.UGCPolicy()
	// UGCPolicy already adds rel="nofollow" to every link; outside links
	// also open in a new tab (with rel="noopener"), so following one never
	// replaces the desktop in the middle of a call.
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return &renderer{md: md, policy: p}
}

// rendered is an article's Markdown made ready for Article.
type rendered struct {
	title string // the first top-level "# " heading's text, "" if none
	html  string // sanitised, without that heading
	text  string // plain text of html: lines of single-spaced words
}

// render renders src. The title heading is taken out of the body so the
// desktop can show Title above HTML the same way whether or not the
// article had a heading.
func (r *renderer) render(src []byte) (rendered, error) {
	doc := r.md.Parser().Parse(text.NewReader(src))
	var out rendered
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		h, ok := n.(*ast.Heading)
		if !ok || h.Level != 1 {
			continue
		}
		var buf bytes.Buffer
		if err := r.md.Renderer().Render(&buf, src, h); err != nil {
			return rendered{}, err
		}
		out.title = strings.ReplaceAll(plainText(r.policy.SanitizeBytes(buf.Bytes())), "\n", " ")
		doc.RemoveChild(doc, h)
		break
	}
	var buf bytes.Buffer
	if err := r.md.Renderer().Render(&buf, src, doc); err != nil {
		return rendered{}, err
	}
	safe := r.policy.SanitizeBytes(buf.Bytes())
	out.html = strings.TrimSpace(string(safe))
	out.text = plainText(safe)
	return out, nil
}

// plainText is the text an operator sees in sanitised HTML: entities
// decoded, tags gone, one line per block, words single-spaced. Search
// offsets and snippets are taken from it, so it has no runs of white space:
// turning its newlines into spaces changes no offset.
func plainText(b []byte) string {
	z := html.NewTokenizer(bytes.NewReader(b))
	var sb strings.Builder
	pre := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return normaliseSpace(sb.String())
		case html.TextToken:
			t := string(z.Text())
			if pre == 0 {
				// A soft line break inside a paragraph is a space.
				t = strings.ReplaceAll(t, "\n", " ")
			}
			sb.WriteString(t)
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if a == atom.Pre {
				if tt == html.StartTagToken {
					pre++
				} else if tt == html.EndTagToken && pre > 0 {
					pre--
				}
			}
			switch a {
			case atom.Td, atom.Th:
				sb.WriteByte(' ')
			case atom.P, atom.Div, atom.Br, atom.Hr, atom.Li, atom.Ul, atom.Ol,
				atom.Dl, atom.Dt, atom.Dd, atom.Tr, atom.Table, atom.Thead, atom.Tbody,
				atom.Blockquote, atom.Pre, atom.H1, atom.H2, atom.H3, atom.H4,
				atom.H5, atom.H6, atom.Details, atom.Summary, atom.Figure,
				atom.Figcaption, atom.Article, atom.Aside, atom.Section:
				sb.WriteByte('\n')
			}
		}
	}
}

// normaliseSpace trims every line, single-spaces its words and drops empty
// lines.
func normaliseSpace(s string) string {
	var lines []string
	for line := range strings.SplitSeq(s, "\n") {
		if f := strings.FieldsFunc(line, unicode.IsSpace); len(f) > 0 {
			lines = append(lines, strings.Join(f, " "))
		}
	}
	return strings.Join(lines, "\n")
}
