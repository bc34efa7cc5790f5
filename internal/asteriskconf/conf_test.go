package asteriskconf

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseSectionsTemplatesComments(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret.conf"), []byte("password=s3cret ; inline\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := `; leading comment
[tpl](!)
type=endpoint
context=from-x ; trailing comment
;-- block
comment = ignored
--;
[1001](tpl)
auth => 1001
callerid="Op \; One" <1001>
[1001](tpl,other)
#include "secret.conf"
[1001](+)
extra=1
`
	f, err := Parse(strings.NewReader(src), "test.conf", dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Sections) != 3 {
		t.Fatalf("sections: %d", len(f.Sections))
	}
	tpl, a, b := f.Sections[0], f.Sections[1], f.Sections[2]
	if !tpl.Template || tpl.Name != "tpl" {
		t.Errorf("template: %+v", tpl)
	}
	if v, _ := tpl.Get("context"); v != "from-x" {
		t.Errorf("context %q", v)
	}
	if _, ok := tpl.Get("comment"); ok {
		t.Error("block comment not stripped")
	}
	if v, _ := a.Get("callerid"); v != `"Op ; One" <1001>` {
		t.Errorf("escaped semicolon: %q", v)
	}
	if e := a.Entries[0]; !e.Arrow || e.Key != "auth" || e.Value != "1001" {
		t.Errorf("arrow entry: %+v", e)
	}
	if v, _ := f.Value(a, "type"); v != "endpoint" {
		t.Errorf("inherited type %q", v)
	}
	if !reflect.DeepEqual(b.Inherits, []string{"tpl", "other"}) {
		t.Errorf("inherits %v", b.Inherits)
	}
	if v, _ := b.Get("password"); v != "s3cret" {
		t.Errorf("included entry %q", v)
	}
	if v, _ := b.Get("extra"); v != "1" {
		t.Errorf("(+) append: %q", v)
	}
	if got := f.MissingTemplates(); len(got) != 1 || !strings.Contains(got[0], `"other"`) {
		t.Errorf("missing templates: %v", got)
	}
	if f.Section("1001", "endpoint") != a {
		t.Error("Section by type")
	}
}

func TestMissingInclude(t *testing.T) {
	src := "[a]\n#include nothere.conf\n"
	if _, err := Parse(strings.NewReader(src), "x.conf", t.TempDir(), Options{}); err == nil {
		t.Error("missing #include accepted")
	}
	f, err := Parse(strings.NewReader(src), "x.conf", t.TempDir(), Options{AllowMissingIncludes: true})
	if err != nil || len(f.Includes) != 1 || !f.Includes[0].Missing {
		t.Errorf("allowed missing include: %v %+v", err, f)
	}
	f, err = Parse(strings.NewReader("[a]\n#tryinclude nothere.conf\n"), "x.conf", t.TempDir(), Options{})
	if err != nil || !f.Includes[0].Try {
		t.Errorf("tryinclude: %v", err)
	}
}

func TestDialplan(t *testing.T) {
	src := `[general]
static=yes
[globals]
X=1
[a]
exten => 122,1,NoOp(start)
 same => n(lbl),Stasis(hotline,inbound)
 same => n,GotoIf($["${STASISSTATUS}" = "FAILED"]?b,s,1:lbl)
exten => 900,1,Goto(122,1)
exten => _[+0-9].,1,Dial(PJSIP/${EXTEN}@carrier)
exten => 122,hint,PJSIP/1001
include => b
[b]
exten => s,1,Set(DB(fam/${UNIQUEID})=${CALLERID(num)})
 same => n,Set(Y=${IF($["${TOLOWER(${CALLERID(num)})}" = "x"]?1:0)})
 same => n,Hangup()
`
	f, err := Parse(strings.NewReader(src), "extensions.conf", ".", Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseDialplan(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Contexts) != 2 || d.Globals["X"] != "1" {
		t.Fatalf("contexts %v globals %v", d.Order, d.Globals)
	}
	e := d.Contexts["a"].Extension("122")
	if len(e.Steps) != 3 || e.Steps[1].Label != "lbl" || e.Steps[1].App != "Stasis" || e.Steps[1].Args != "hotline,inbound" {
		t.Fatalf("steps %+v", e.Steps)
	}
	g := e.Steps[2]
	if c := g.Condition(); c != `$["${STASISSTATUS}" = "FAILED"]` {
		t.Errorf("condition %q", c)
	}
	want := []Target{{"b", "s", "1"}, {"a", "122", "lbl"}}
	if got := g.Targets("a"); !reflect.DeepEqual(got, want) {
		t.Errorf("targets %v", got)
	}
	for _, tg := range want {
		if _, ok := d.Resolve(tg); !ok {
			t.Errorf("resolve %v", tg)
		}
	}
	if _, ok := d.Resolve(Target{"a", "122", "nolabel"}); ok {
		t.Error("bad label resolved")
	}
	walk := d.Walk("a", "900", 10)
	if len(walk) != 4 || walk[2].App != "Stasis" {
		t.Errorf("walk %+v", walk)
	}
	if d.Contexts["a"].Match("+7900") == nil || d.Contexts["a"].Match("x1") != nil {
		t.Error("pattern match")
	}
	fb := d.Contexts["b"].Extension("s")
	if got := fb.Steps[0].Functions(); !reflect.DeepEqual(got, []string{"CALLERID", "DB"}) {
		t.Errorf("functions %v", got)
	}
	if got := fb.Steps[1].Functions(); !reflect.DeepEqual(got, []string{"CALLERID", "IF", "TOLOWER"}) {
		t.Errorf("functions %v", got)
	}
}

func TestMatchPattern(t *testing.T) {
	cases := []struct {
		pat, num string
		ok       bool
	}{
		{"_X.", "1", false}, {"_X.", "12", true}, {"_NXX", "212", true}, {"_NXX", "112", false},
		{"_[+0-9].", "+7900", true}, {"_ZX!", "12", true}, {"_ZX!", "1", false}, {"_[1-3]", "4", false}, {"122", "122", true},
	}
	for _, c := range cases {
		if got := MatchPattern(c.pat, c.num); got != c.ok {
			t.Errorf("MatchPattern(%q,%q)=%v", c.pat, c.num, got)
		}
	}
}

// TestCheckCatchesBreakage mutates a copy of deploy/asterisk and expects
// Check (or the dedicated tests' logic) to report each break.
func TestCheckCatchesBreakage(t *testing.T) {
	cases := []struct {
		file, old, new, want string
	}{
		{"pjsip.conf", "context=from-operators", "context=from-nowhere", "from-nowhere does not exist"},
		{"pjsip.conf", "endpoint=carrier", "endpoint=carrier2", "endpoint=carrier2"},
		{"pjsip.conf", "transport=transport-udp\naors=carrier", "transport=transport-sctp\naors=carrier", "transport-sctp"},
		{"pjsip.conf", "[1005](operator-endpoint)", "[1005](operator-endpointx)", "unknown template"},
		{"pjsip.conf", "aors=1003", "aors=1003x", "aors=1003x"},
		{"extensions.conf", "?hotline-fallback,down,1:", "?hotline-fallback,dwn,1:", "hotline-fallback,dwn,1 does not exist"},
		{"extensions.conf", "exten => 8000000122,1,Goto(122,1)", "exten => 8000000122,1,Goto(123,1)", "does not exist"},
		{"modules.conf", "load = app_queue.so", ";load = app_queue.so", "app_queue"},
		{"modules.conf", "load = func_db.so", "", "func_db"},
		{"modules.conf", "load = codec_resample.so", "", "codec_resample"},
		{"pjsip.conf", "qualify_frequency=0\n", "qualify_frequency=60\n", "would become Unreachable"},
		{"pjsip.conf", "send_connected_line=no", "send_connected_line=yes", "must set send_connected_line=no"},
		{"extensions.conf", "same => n,Hangup(16)", "same => n,Festival(hi)", "Festival"},
		{"queues.conf", "member => PJSIP/1004,", "member => PJSIP/1044,", "PJSIP/1044"},
		{"extensions.conf", "Queue(hotline-fallback,", "Queue(hotline-fallbak,", "no queue"},
	}
	for _, c := range cases {
		t.Run(c.file+":"+c.want, func(t *testing.T) {
			dir := copyDeploy(t)
			p := filepath.Join(dir, c.file)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), c.old) {
				t.Fatalf("%s does not contain %q", c.file, c.old)
			}
			if err := os.WriteFile(p, []byte(strings.Replace(string(b), c.old, c.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			d, err := LoadDeploy(dir)
			if err != nil {
				t.Fatal(err)
			}
			probs := d.Check()
			for _, pr := range probs {
				if strings.Contains(pr, c.want) {
					return
				}
			}
			t.Errorf("no problem mentioning %q; got %q", c.want, probs)
		})
	}
}

func copyDeploy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ents, err := os.ReadDir(deployDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(deployDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
