package kb_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/net/html"

	"github.com/hotline-acd/hotline/kb"
)

// unsafeHTML returns what in h could run script or load a frame: a
// script, style, iframe, object, embed or form element, an on* attribute,
// a style attribute, or a URL whose scheme is not http, https or mailto
// (relative URLs are fine). It parses h rather than grepping it, because an
// article may well say "javascript:" in plain text.
func unsafeHTML(h string) []string {
	var bad []string
	z := html.NewTokenizer(strings.NewReader(h))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return bad
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		switch tok.Data {
		case "script", "style", "iframe", "frame", "object", "embed", "form", "input", "base", "meta", "link", "svg", "math":
			bad = append(bad, "<"+tok.Data+">")
		}
		for _, a := range tok.Attr {
			key := strings.ToLower(a.Key)
			switch {
			case strings.HasPrefix(key, "on"), key == "style", key == "srcdoc", key == "formaction":
				bad = append(bad, key+"=")
			case key == "href" || key == "src" || key == "cite" || key == "action":
				v := strings.ToLower(strings.TrimSpace(a.Val))
				if i := strings.IndexAny(v, ":/?#"); i >= 0 && v[i] == ':' {
					if s := v[:i]; s != "http" && s != "https" && s != "mailto" {
						bad = append(bad, key+"="+a.Val)
					}
				}
			}
		}
	}
}

func loadOne(t *testing.T, src string) kb.Article {
	t.Helper()
	b, err := kb.Load(fstest.MapFS{"a.md": {Data: []byte(src)}}, ".")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	a, ok := b.Get("a")
	if !ok {
		t.Fatal("article a missing")
	}
	return a
}

func TestHostileMarkdownIsSanitised(t *testing.T) {
	tests := []struct {
		name string
		src  string
		keep string // text that must survive in HTML, if any
	}{
		{"script block", "<script>alert(1)</script>\n\nafter", "after"},
		{"inline script", "before <script>alert(1)</script> after", "after"},
		{"script in title", "# Hi <script>alert(1)</script>\n\nbody", "body"},
		{"iframe", "<iframe src=\"https://evil.example\"></iframe>\n\nafter", "after"},
		{"iframe inline", "see <iframe src=\"https://evil.example\"></iframe> here", "here"},
		{"img onerror", "<img src=x onerror=alert(1)>\n\nafter", "after"},
		{"img onerror inline", "pic <img src=x onerror=\"alert(1)\"> end", "end"},
		{"javascript link", "[click](javascript:alert(1))", "click"},
		{"javascript link mixed case", "[click](JaVaScRiPt:alert(1))", "click"},
		{"javascript link entity", "[click](&#106;avascript:alert(1))", "click"},
		{"javascript link spaces", "[click]( javascript:alert(1) )", "click"},
		{"javascript link angle", "[click](<javascript:alert(1)>)", "click"},
		{"javascript autolink", "<javascript:alert(1)>", ""},
		{"javascript reference link", "[click][x]\n\n[x]: javascript:alert(1)", "click"},
		{"javascript image", "![pic](javascript:alert(1))", ""},
		{"vbscript link", "[click](vbscript:msgbox(1))", "click"},
		{"data html link", "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", "click"},
		{"raw anchor", "<a href=\"javascript:alert(1)\">raw</a>", "raw"},
		{"raw div onclick", "<div onclick=\"alert(1)\">d</div>", ""},
		{"raw style", "<style>body{display:none}</style>\n\nafter", "after"},
		{"svg onload", "<svg onload=alert(1)></svg>\n\nafter", "after"},
		{"link title breakout", "[x](https://a.example \"t\\\" onmouseover=\\\"alert(1)\")", "x"},
		{"form", "<form action=\"https://evil.example\"><input name=p></form>\n\nafter", "after"},
		{"object", "<object data=\"x.swf\"></object>\n\nafter", "after"},
		{"html comment", "<!-- <script>alert(1)</script> -->\n\nafter", "after"},
		{"in a table", "| a |\n|---|\n| <img src=x onerror=alert(1)> [c](javascript:alert(1)) |", "c"},
		{"in a list", "- <script>alert(1)</script>\n- [c](javascript:alert(1))", "c"},
		{"in a quote", "> <iframe src=x></iframe>\n> [c](javascript:alert(1))", "c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := loadOne(t, tt.src)
			if bad := unsafeHTML(a.HTML); len(bad) > 0 {
				t.Errorf("unsafe %q in HTML\n%s", bad, a.HTML)
			}
			// And the plain check, for the reader: none of these as markup
			// (an autolink's "javascript:…" may stay as harmless text).
			for _, s := range []string{"<script", "<iframe", "onerror=", "onclick=", "onload=", "onmouseover=", `="javascript:`, `="vbscript:`, `="data:text`} {
				if strings.Contains(strings.ToLower(a.HTML), s) {
					t.Errorf("HTML holds %q:\n%s", s, a.HTML)
				}
			}
			if tt.keep != "" && !strings.Contains(a.HTML, tt.keep) {
				t.Errorf("HTML lost %q:\n%s", tt.keep, a.HTML)
			}
			if strings.Contains(a.Title, "<") {
				t.Errorf("Title %q holds markup", a.Title)
			}
		})
	}
}

func TestLinks(t *testing.T) {
	a := loadOne(t, "[moh](https://moh.example/covid) and https://egov.example and [other](other.md)")
	for _, want := range []string{
		`<a href="https://moh.example/covid" rel="nofollow noopener" target="_blank">moh</a>`,
		`<a href="https://egov.example" rel="nofollow noopener" target="_blank">https://egov.example</a>`,
		`<a href="other.md" rel="nofollow">other</a>`,
	} {
		if !strings.Contains(a.HTML, want) {
			t.Errorf("HTML lacks %s\n%s", want, a.HTML)
		}
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name              string
		src               string
		title, html, text string
	}{
		{
			name:  "title taken out of the body",
			src:   "# ПЦР-тест\n\nРезультат **через 24 часа**.",
			title: "ПЦР-тест",
			html:  "<p>Результат <strong>через 24 часа</strong>.</p>",
			text:  "Результат через 24 часа.",
		},
		{
			name:  "no heading: the file name",
			src:   "Просто текст.",
			title: "a",
			html:  "<p>Просто текст.</p>",
			text:  "Просто текст.",
		},
		{
			name:  "first level-one heading, even after text; later ones stay",
			src:   "intro\n\n## Sub\n\n# Main *title*\n\n# Second",
			title: "Main title",
			html:  "<p>intro</p>\n<h2>Sub</h2>\n<h1>Second</h1>",
			text:  "intro\nSub\nSecond",
		},
		{
			name:  "setext heading is a level-one heading too",
			src:   "Title\n=====\n\nbody",
			title: "Title",
			html:  "<p>body</p>",
			text:  "body",
		},
		{
			name:  "a heading inside a quote is not the title",
			src:   "> # Quoted\n\nbody",
			title: "a",
			html:  "<blockquote>\n<h1>Quoted</h1>\n</blockquote>\n<p>body</p>",
			text:  "Quoted\nbody",
		},
		{
			name:  "empty heading: the file name",
			src:   "#\n\nbody",
			title: "a",
			html:  "<p>body</p>",
			text:  "body",
		},
		{
			name:  "entities decoded in title and text, escaped in HTML",
			src:   "# A &amp; B <b>\n\n1 &lt; 2 &copy;",
			title: "A & B",
			html:  "<p>1 &lt; 2 ©</p>",
			text:  "1 < 2 ©",
		},
		{
			name:  "soft breaks are spaces, blocks are lines, spaces collapsed",
			src:   "one\ntwo   three\n\n- x\n- y\n\n| a | b |\n|---|---|\n| 1 | 2 |",
			title: "a",
			text:  "one two three\nx\ny\na b\n1 2",
		},
		{
			name:  "code keeps its lines",
			src:   "```\nfirst line\n  second\n```",
			title: "a",
			html:  "<pre><code>first line\n  second\n</code></pre>",
			text:  "first line\nsecond",
		},
		{
			name:  "byte order mark dropped",
			src:   "\uFEFF# Заголовок\n\nтекст",
			title: "Заголовок",
			html:  "<p>текст</p>",
			text:  "текст",
		},
		{
			name:  "empty file",
			src:   "",
			title: "a",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := loadOne(t, tt.src)
			if a.Title != tt.title {
				t.Errorf("Title = %q, want %q", a.Title, tt.title)
			}
			if tt.html != "" && a.HTML != tt.html {
				t.Errorf("HTML = %q, want %q", a.HTML, tt.html)
			}
			if a.Text != tt.text {
				t.Errorf("Text = %q, want %q", a.Text, tt.text)
			}
		})
	}
}
