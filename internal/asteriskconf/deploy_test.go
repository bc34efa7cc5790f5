package asteriskconf

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// deployDir is the repository's deploy/asterisk, relative to this package.
var deployDir = filepath.Join("..", "..", "deploy", "asterisk")

// The hotline contract the dialplan must honour (router/features.go,
// router/router.go, router/call.go).
const (
	appName          = "hotline"
	citizensContext  = "from-citizens"
	operatorsContext = "from-operators"
	fallbackQueue    = "hotline-fallback"
	transferContext  = "hotline-transfer" // router/call.go transferContext
	// The AstDB read-back (router/outage.go): hotline originates into
	// dbsyncContext/dbsyncRead, reads the slots, continues to
	// delete<n>.
	dbsyncContext   = "hotline-dbsync"
	dbsyncRead      = "read"
	dbsyncBatch     = 50 // router/outage.go outageBatch
	carrierEndpoint = "carrier"
)

// shortNumbers are the numbers citizens dial; every one must reach
// Stasis(hotline,inbound).
var shortNumbers = []string{"122", "8000000122"}

// featureCodes map operator feature codes to the Stasis args hotline expects.
var featureCodes = map[string]string{
	"*11": "agent-login",
	"*12": "agent-logout",
	"*13": "agent-pause",
	"*14": "agent-ready",
}

func loadDeploy(t *testing.T) *Deploy {
	t.Helper()
	d, err := LoadDeploy(deployDir)
	if err != nil {
		t.Fatalf("load %s: %v", deployDir, err)
	}
	return d
}

func TestDeployConsistent(t *testing.T) {
	d := loadDeploy(t)
	for _, p := range d.Check() {
		t.Error(p)
	}
}

// stasisOf walks from context/number and returns the first Stasis or
// StasisBroadcast step.
func stasisOf(d *Deploy, context, number string) (Exec, []Exec, bool) {
	walk := d.Dialplan.Walk(context, number, 50)
	for _, x := range walk {
		if strings.EqualFold(x.App, "Stasis") || strings.EqualFold(x.App, "StasisBroadcast") {
			return x, walk, true
		}
	}
	return Exec{}, walk, false
}

// instanceApps are application names hotline instances register
// (hotline serve --ari-app): one instance, or several active-active.
var instanceApps = []string{appName, "hotline-2", "hotline-b"}

// reachesInstances checks a StasisBroadcast(timeout,filter,args) step:
// every instance's application matches the filter, the timeout is within
// Asterisk's 0–60000 ms and at least 500 ms (an instance under load must
// have time to claim), and the args (colon-delimited) are want.
func reachesInstances(x Exec, want ...string) error {
	if !strings.EqualFold(x.App, "StasisBroadcast") {
		return fmt.Errorf("%s(%s): want StasisBroadcast, so that any hotline instance can take the call", x.App, x.Args)
	}
	a := SplitArgs(x.Args)
	if len(a) != 3 {
		return fmt.Errorf("StasisBroadcast(%s): want timeout,filter,args", x.Args)
	}
	ms, err := strconv.Atoi(a[0])
	if err != nil || ms < 500 || ms > 60000 {
		return fmt.Errorf("StasisBroadcast(%s): timeout %q, want 500..60000 ms", x.Args, a[0])
	}
	re, err := regexp.Compile(a[1])
	if err != nil || a[1] == "" {
		return fmt.Errorf("StasisBroadcast(%s): filter %q: %v", x.Args, a[1], err)
	}
	for _, app := range instanceApps {
		if !re.MatchString(app) {
			return fmt.Errorf("StasisBroadcast(%s): filter misses application %s", x.Args, app)
		}
	}
	if re.MatchString("other-app") {
		return fmt.Errorf("StasisBroadcast(%s): filter offers calls to any application", x.Args)
	}
	if got := strings.Split(a[2], ":"); strings.Join(got, ",") != strings.Join(want, ",") {
		return fmt.Errorf("StasisBroadcast(%s): args %v, want %v", x.Args, got, want)
	}
	return nil
}

func describe(walk []Exec) string {
	var b strings.Builder
	for _, x := range walk {
		fmt.Fprintf(&b, "\n  %s [%s] %s,%d %s(%s)", x.Pos, x.Context, x.Exten, x.Priority, x.App, x.Args)
	}
	return b.String()
}

func TestShortNumbersReachHotline(t *testing.T) {
	d := loadDeploy(t)
	for _, n := range shortNumbers {
		st, walk, ok := stasisOf(d, citizensContext, n)
		if !ok {
			t.Errorf("%s %s never reaches Stasis():%s", citizensContext, n, describe(walk))
			continue
		}
		if err := reachesInstances(st, "inbound"); err != nil {
			t.Errorf("%s %s: %v", citizensContext, n, err)
		}
	}
	// Operators may dial 122 to test, and land in the same place.
	st, walk, ok := stasisOf(d, operatorsContext, "122")
	if !ok || st.Context != citizensContext {
		t.Errorf("%s 122 should run the citizens' 122:%s", operatorsContext, describe(walk))
	}
}

func TestFeatureCodes(t *testing.T) {
	d := loadDeploy(t)
	for code, arg := range featureCodes {
		st, walk, ok := stasisOf(d, operatorsContext, code)
		if !ok {
			t.Errorf("%s %s never reaches Stasis():%s", operatorsContext, code, describe(walk))
			continue
		}
		// The same args as the recorded trace: ["agent-login"].
		if err := reachesInstances(st, arg); err != nil {
			t.Errorf("%s %s: %v", operatorsContext, code, err)
		}
		if code == "*11" && (st.Priority != 1 || st.Exten != "*11") {
			t.Errorf("*11: Stasis at %s,%d; the trace shows exten *11 priority 1", st.Exten, st.Priority)
		}
	}
}

// TestCitizensContextIsClosed: anyone who can get a call to the carrier can
// dial any extension of from-citizens, so it holds nothing but the hotline
// numbers (and i/h/t), includes nothing, and the carrier lands there.
func TestCitizensContextIsClosed(t *testing.T) {
	d := loadDeploy(t)
	c := d.Dialplan.Contexts[citizensContext]
	if c == nil {
		t.Fatalf("no [%s]", citizensContext)
	}
	allowed := map[string]bool{"i": true, "h": true, "t": true}
	for _, n := range shortNumbers {
		allowed[n] = true
	}
	for _, e := range c.Extensions {
		if !allowed[e.Name] {
			t.Errorf("[%s] has extension %q; only %v and i/h/t are allowed", citizensContext, e.Name, shortNumbers)
		}
	}
	if len(c.Includes) > 0 {
		t.Errorf("[%s] includes %v: that would open those contexts to citizens", citizensContext, c.Includes)
	}
	for _, s := range d.PJSIP.OfType("endpoint") {
		ctx, _ := d.PJSIP.Value(s, "context")
		if s.Name == carrierEndpoint && ctx != citizensContext {
			t.Errorf("carrier endpoint lands in %q, want %s", ctx, citizensContext)
		}
		if s.Name != carrierEndpoint && ctx == citizensContext {
			t.Errorf("endpoint %s lands in %s", s.Name, citizensContext)
		}
		// Supervisors' phones (router.Monitor) dial nothing: their context
		// only hangs up.
		if ctx != citizensContext && ctx != operatorsContext && ctx != "from-supervisors" {
			t.Errorf("endpoint %s lands in unexpected context %q", s.Name, ctx)
		}
	}
	// The helper contexts must not be endpoint contexts or included anywhere.
	for _, name := range d.Dialplan.Order {
		for _, inc := range d.Dialplan.Contexts[name].Includes {
			if strings.HasPrefix(inc, "hotline-") {
				t.Errorf("[%s] includes %s; hotline-* contexts are reached only by Goto/ARI", name, inc)
			}
		}
	}
}

// TestFallback: after Stasis() the dialplan checks STASISSTATUS; FAILED
// (hotline not connected) leads to an apology, an AstDB missed-call record
// and Queue(hotline-fallback) instead of the bare 603 of the trace.
func TestFallback(t *testing.T) {
	d := loadDeploy(t)
	st, _, ok := stasisOf(d, citizensContext, "122")
	if !ok {
		t.Fatal("122 has no Stasis")
	}
	ext := d.Dialplan.Contexts[st.Context].Extension(st.Exten)
	next, ok := ext.Step(st.Priority + 1)
	if !ok || !strings.EqualFold(next.App, "GotoIf") || !strings.Contains(next.Condition(), "${STASISSTATUS}") ||
		!strings.Contains(next.Condition(), `"FAILED"`) || !strings.Contains(next.Condition(), `"TIMEOUT"`) {
		t.Fatalf("the step after StasisBroadcast must be GotoIf on ${STASISSTATUS} TIMEOUT or FAILED; got %s(%s)", next.App, next.Args)
	}
	targets := next.Targets(st.Context)
	if len(targets) == 0 {
		t.Fatal("GotoIf without targets")
	}
	for i, tg := range targets {
		if _, ok := d.Dialplan.Resolve(tg); !ok {
			t.Fatalf("target %s does not exist", tg)
		}
		walk := d.Dialplan.Walk(tg.Context, tg.Exten, 60)
		var apps []string
		var dbSet, queue, playback bool
		for _, x := range walk {
			apps = append(apps, x.App)
			switch strings.ToLower(x.App) {
			case "set":
				if regexp.MustCompile(`^DB\(hotline_missed/\$\{UNIQUEID\}\)=\$\{CALLERID\(num\)\}\|\$\{EPOCH\}$`).MatchString(x.Args) {
					dbSet = true
				}
			case "queue":
				if SplitArgs(x.Args)[0] == fallbackQueue {
					queue = true
				}
			case "playback":
				playback = true
			}
		}
		if !dbSet || !queue || (i == 0 && !playback) {
			t.Errorf("fallback %s (%v): want Set(DB(hotline_missed/${UNIQUEID})=${CALLERID(num)}|${EPOCH}) %v, Playback %v, Queue(%s) %v",
				tg, apps, dbSet, playback, fallbackQueue, queue)
		}
	}
	if d.Queues.Section(fallbackQueue, "") == nil {
		t.Errorf("queues.conf has no [%s]", fallbackQueue)
	}
	if v, _ := d.Queues.Value(d.Queues.Section(fallbackQueue, ""), "setinterfacevar"); v != "yes" {
		t.Errorf("[%s] needs setinterfacevar=yes (the h extension drops answered callers' records by MEMBERINTERFACE)", fallbackQueue)
	}
}

func TestTransferContext(t *testing.T) {
	d := loadDeploy(t)
	c := d.Dialplan.Contexts[transferContext]
	if c == nil {
		t.Fatalf("no [%s] (router/call.go continues transfers there)", transferContext)
	}
	for _, n := range []string{"103", "112", "+79001234567", "88002000122"} {
		walk := d.Dialplan.Walk(transferContext, n, 10)
		dialled := false
		for _, x := range walk {
			if strings.EqualFold(x.App, "Dial") && strings.Contains(x.Args, "@"+carrierEndpoint) {
				dialled = true
			}
		}
		if !dialled {
			t.Errorf("[%s] %s does not Dial through the carrier:%s", transferContext, n, describe(walk))
		}
	}
}

func TestOperatorsAndTrunk(t *testing.T) {
	d := loadDeploy(t)
	p := d.PJSIP
	for i := 1001; i <= 1010; i++ {
		name := fmt.Sprint(i)
		ep := p.Section(name, "endpoint")
		if ep == nil {
			t.Errorf("no endpoint %s", name)
			continue
		}
		if ctx, _ := p.Value(ep, "context"); ctx != operatorsContext {
			t.Errorf("endpoint %s context=%s, want %s", name, ctx, operatorsContext)
		}
		aor := p.Section(name, "aor")
		if aor == nil {
			t.Errorf("no aor %s", name)
		} else if v, _ := p.Value(aor, "max_contacts"); v != "1" {
			t.Errorf("aor %s max_contacts=%q, want 1", name, v)
		}
		if au := p.Section(name, "auth"); au == nil {
			t.Errorf("no auth %s", name)
		} else if u, _ := p.Value(au, "username"); u != name {
			t.Errorf("auth %s username=%q", name, u)
		}
	}
	var udp, tcp bool
	for _, s := range p.OfType("transport") {
		switch v, _ := p.Value(s, "protocol"); v {
		case "udp":
			udp = true
		case "tcp":
			tcp = true
		}
	}
	if !udp || !tcp {
		t.Errorf("want UDP and TCP transports (udp %v, tcp %v)", udp, tcp)
	}
	var ident bool
	for _, s := range p.OfType("identify") {
		if v, _ := p.Value(s, "endpoint"); v == carrierEndpoint {
			ident = true
		}
	}
	if !ident {
		t.Errorf("the carrier must be identified by IP (type=identify endpoint=%s)", carrierEndpoint)
	}
	if p.Section("anonymous", "endpoint") != nil {
		t.Error("an endpoint named anonymous would accept unauthenticated SIP calls")
	}
}

func TestARIAndHTTP(t *testing.T) {
	d := loadDeploy(t)
	g := d.HTTP.Section("general", "")
	if g == nil {
		t.Fatal("http.conf has no [general]")
	}
	if v, _ := g.Get("bindaddr"); v != "127.0.0.1" {
		t.Errorf("http.conf bindaddr=%q, want 127.0.0.1 by default", v)
	}
	if v, _ := g.Get("bindport"); v != "8088" {
		t.Errorf("http.conf bindport=%q, want 8088", v)
	}
	if v, _ := g.Get("enabled"); !isTrue(v) {
		t.Error("http.conf: enabled=yes missing")
	}
	if v, _ := d.ARI.Section("general", "").Get("enabled"); !isTrue(v) {
		t.Error("ari.conf: enabled=yes missing")
	}
	u := d.ARI.Section(appName, "")
	if u == nil {
		t.Fatalf("ari.conf has no [%s] user", appName)
	}
	if v, _ := u.Get("type"); v != "user" {
		t.Errorf("ari.conf [%s] type=%q", appName, v)
	}
	if _, ok := u.Get("password"); ok {
		t.Errorf("ari.conf [%s] must not hold the password itself (it comes from ari_secret.conf)", appName)
	}
	var inc bool
	for _, i := range d.ARI.Includes {
		if i.Path == "ari_secret.conf" {
			inc = true
		}
	}
	if !inc {
		t.Error("ari.conf must #include ari_secret.conf")
	}
	m := d.Modules
	if m.Autoload {
		t.Error("modules.conf: want autoload=no")
	}
	for _, mod := range []string{"res_pjsip", "chan_pjsip", "res_ari", "app_stasis", "app_queue", "app_playback", "pbx_config", "res_http_websocket"} {
		if !m.Loads(mod) {
			t.Errorf("modules.conf does not load %s", mod)
		}
	}
}

// TestDBSync: the AstDB read-back hotline drives (router/outage.go). The ;2
// half of Local/s@hotline-dbsync stays up; read copies at most a batch of
// entries into plain variables and enters Stasis(hotline,db-sync);
// delete<n> deletes only keys read copied, then reads again. DB() and
// DB_DELETE() live here because Asterisk refuses them to ARI.
func TestDBSync(t *testing.T) {
	d := loadDeploy(t)
	c := d.Dialplan.Contexts[dbsyncContext]
	if c == nil {
		t.Fatalf("no [%s] (router/outage.go originates into it)", dbsyncContext)
	}
	var answer, wait bool
	for _, x := range d.Dialplan.Walk(dbsyncContext, "s", 10) {
		answer = answer || strings.EqualFold(x.App, "Answer")
		wait = wait || strings.EqualFold(x.App, "Wait")
	}
	if !answer || !wait {
		t.Errorf("[%s] s (the Local ;2 half) must Answer() and Wait() so that the ;1 half runs", dbsyncContext)
	}

	st, walk, ok := stasisOf(d, dbsyncContext, dbsyncRead)
	if !ok || st.Args != "${HOTLINE_APP},db-sync" {
		t.Fatalf("[%s] %s must reach Stasis(${HOTLINE_APP},db-sync), the instance that asked:%s", dbsyncContext, dbsyncRead, describe(walk))
	}
	read := c.Extension(dbsyncRead)
	var slotKey, slotVal, bound bool
	for _, s := range read.Steps {
		switch {
		case strings.HasPrefix(s.Args, "HOTLINE_MISSED_KEY_${HOTLINE_MISSED_COUNT}="):
			slotKey = true
		case strings.HasPrefix(s.Args, "HOTLINE_MISSED_VAL_${HOTLINE_MISSED_COUNT}=${DB(hotline_missed/"):
			slotVal = true
		case strings.EqualFold(s.App, "GotoIf") && strings.Contains(s.Condition(), fmt.Sprintf("${HOTLINE_MISSED_COUNT} < %d", dbsyncBatch)):
			bound = true
		}
		if strings.Contains(s.Args, "${HOTLINE_MISSED_LIST}") {
			t.Errorf("%s: the key list is substituted whole (cut at 4 KB); take keys with SHIFT(HOTLINE_MISSED_LIST)", s.Pos)
		}
	}
	if !slotKey || !slotVal || !bound {
		t.Errorf("[%s] %s: key slot %v, value slot from DB() %v, batch bounded at %d %v", dbsyncContext, dbsyncRead, slotKey, slotVal, dbsyncBatch, bound)
	}

	for _, n := range []string{"delete1", "delete50"} {
		e := c.Match(n)
		if e == nil {
			t.Fatalf("[%s] has no extension for %s (hotline continues there)", dbsyncContext, n)
		}
		var deletes, back bool
		for _, s := range e.Steps {
			if slices.Contains(s.Functions(), "DB_DELETE") {
				deletes = true
				if !strings.Contains(s.Args, "DB_DELETE(hotline_missed/${HOTLINE_MISSED_KEY_${") {
					t.Errorf("%s: DB_DELETE must take the key read copied into a slot, not anything from hotline: %s", s.Pos, s.Args)
				}
			}
			for _, tg := range s.Targets(dbsyncContext) {
				back = back || (tg.Exten == dbsyncRead && tg.Priority == "1")
			}
		}
		if !deletes || !back {
			t.Errorf("[%s] %s: DB_DELETE %v, back to %s,1 %v", dbsyncContext, e.Name, deletes, dbsyncRead, back)
		}
	}
}
