package realpbx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/internal/pbxtest"
	"github.com/hotline-acd/hotline/internal/redisproc"
	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/records"
)

// What TestMain prepares once for every test: the hotline binary of this
// tree and the example config's prompts spoken into WAV files.
var (
	hotlineBin string
	soundsDir  string
	setupErr   error
)

func TestMain(m *testing.M) {
	code := func() int {
		if _, ok := pbxtest.Installed(); ok {
			dir, err := os.MkdirTemp("", "hotline-realpbx-")
			if err != nil {
				setupErr = err
				return m.Run()
			}
			defer os.RemoveAll(dir)
			setupErr = prepare(dir)
		}
		return m.Run()
	}()
	os.Exit(code)
}

func prepare(dir string) error {
	hotlineBin = filepath.Join(dir, "hotline")
	build := exec.Command("go", "build", "-o", hotlineBin, "../cmd/hotline")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	// Rendering every prompt takes seconds; the files depend only on the
	// config and the binary's renderer, so they are cached between runs.
	cfg, err := os.ReadFile("../configs/hotline.yaml")
	if err != nil {
		return err
	}
	bin, err := os.ReadFile(hotlineBin)
	if err != nil {
		return err
	}
	h := sha256.New()
	h.Write(cfg)
	h.Write(bin)
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	soundsDir = filepath.Join(cache, "hotline-test-prompts", hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(soundsDir, "done")); err == nil {
		return nil
	}
	tmp := soundsDir + ".tmp"
	_ = os.RemoveAll(tmp)
	out, err := exec.Command(hotlineBin, "prompts", "--config", "../configs/hotline.yaml", "--out", tmp).CombinedOutput()
	if err != nil {
		return fmt.Errorf("hotline prompts: %w\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(tmp, "done"), nil, 0o644); err != nil {
		return err
	}
	_ = os.RemoveAll(soundsDir)
	return os.Rename(tmp, soundsDir)
}

// rig is one test's world: Asterisk, Redis and a hotline serving them.
type rig struct {
	t       testing.TB
	ast     *pbxtest.Asterisk
	rdb     *redis.Client
	redis   string
	durable *redisproc.Durable // with rigOptions.durableRedis
	ariCut  *cutProxy          // with rigOptions.ariProxy
	centre  string
	cfg     string // path of the hotline config
	http    string // hotline's API address
	token   string
	opt     rigOptions

	mu      sync.Mutex
	proc    *exec.Cmd
	procEnd chan struct{}
	log     *bytes.Buffer
	inProc  *inProcess // with rigOptions.inProcess
}

type rigOptions struct {
	// edit changes the test config (the example with the line open all
	// week); it must keep the config valid.
	edit func(string) string
	// logLevel of hotline; default debug (a failing test shows it all).
	logLevel string
	// extraArgs for hotline serve.
	extraArgs []string
	// durableRedis runs Redis on its append-only file (fsync always) so a
	// test can SIGKILL, restart and SIGSTOP it (rig.durable).
	durableRedis bool
	// ariProxy puts a cutProxy between hotline and ARI (rig.ariCut).
	ariProxy bool
	// inProcess runs hotline inside the test (app.New) instead of the
	// binary, so the test can call its router (rig.app): the transfers
	// the operators' desktop asks for have no HTTP endpoint of their own
	// here.
	inProcess bool
}

// newRig boots everything and waits until hotline's Stasis application is
// registered with Asterisk.
func newRig(t testing.TB, opt rigOptions) *rig {
	t.Helper()
	if setupErr != nil {
		t.Fatalf("realpbx setup: %v", setupErr)
	}
	ast := pbxtest.Start(t, pbxtest.Options{DeployDir: "../deploy/asterisk", Sounds: soundsDir, Observe: []string{"app_mixmonitor"}})
	r := &rig{t: t, ast: ast, token: "test-token-" + redistest.Prefix(t), log: &bytes.Buffer{}, opt: opt}
	if r.opt.logLevel == "" {
		r.opt.logLevel = "debug"
	}
	if opt.durableRedis {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		d, err := redisproc.StartDurable(ctx, t.TempDir())
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(d.Close)
		r.durable, r.redis = d, d.Addr()
	} else {
		r.redis = redistest.Addr(t)
	}
	r.rdb = redistest.Client(t, r.redis)
	r.centre = strings.ToLower(regexp.MustCompile(`[^a-zA-Z0-9-]`).ReplaceAllString(redistest.Prefix(t), "-"))
	if len(r.centre) > 40 {
		r.centre = r.centre[:40]
	}
	r.cfg = filepath.Join(t.TempDir(), "hotline.yaml")
	r.writeConfig(opt)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	r.http = fmt.Sprintf("127.0.0.1:%d", port)
	if opt.ariProxy {
		r.ariCut = startCutProxy(t, ast.HTTPAddr)
	}
	r.start()
	t.Cleanup(func() {
		r.stop()
		if t.Failed() {
			t.Logf("hotline log:\n%s", r.Log())
			t.Logf("asterisk full log (tail):\n%s", tail(ast.FullLog(), 200))
		}
	})
	return r
}

func (r *rig) writeConfig(opt rigOptions) {
	b, err := os.ReadFile("../configs/hotline.yaml")
	if err != nil {
		r.t.Fatal(err)
	}
	text := string(b)
	text = mustReplace(r.t, text, "id: kz-1406", "id: "+r.centre)
	// The line is open whenever the suite runs: no test depends on the
	// time of day or the weekday.
	hours := regexp.MustCompile(`(?s)\n  weekly:\n.*?\n\nivr:`)
	if !hours.MatchString(text) {
		r.t.Fatal("test config: the example's hours block changed; update writeConfig")
	}
	text = hours.ReplaceAllString(text, "\n  weekly:\n    - {days: [mon, tue, wed, thu, fri, sat, sun], open: \"00:00\", close: \"24:00\"}\n\nivr:")
	// The knowledge base stays beside the example config.
	kb, err := filepath.Abs("../configs/kb")
	if err != nil {
		r.t.Fatal(err)
	}
	text = mustReplace(r.t, text, "kb_dir: kb ", "kb_dir: "+kb+" ")
	if opt.edit != nil {
		text = opt.edit(text)
	}
	if err := os.WriteFile(r.cfg, []byte(text), 0o600); err != nil {
		r.t.Fatal(err)
	}
}

func mustReplace(t testing.TB, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("test config: %q not found", old)
	}
	return strings.Replace(s, old, new, 1)
}

// start runs `hotline serve` and waits for its application in Asterisk.
func (r *rig) start() {
	r.t.Helper()
	if r.opt.inProcess {
		r.startInProcess()
		return
	}
	ariURL := r.ast.ARIURL()
	if r.ariCut != nil {
		ariURL = "http://" + r.ariCut.Addr() + "/ari"
	}
	cmd := exec.Command(hotlineBin, "serve", "--config", r.cfg, "--redis", r.redis,
		"--ari-url", ariURL, "--ari-user", r.ast.ARIUser, "--http", r.http, "--api-token", r.token,
		"--log-level", r.opt.logLevel)
	cmd.Args = append(cmd.Args, r.opt.extraArgs...)
	cmd.Env = append(os.Environ(), "HOTLINE_ARI_PASSWORD="+r.ast.ARIPassword)
	r.mu.Lock()
	fmt.Fprintf(r.log, "==== hotline serve started %s\n", time.Now().Format("15:04:05.000"))
	w := &lockedWriter{mu: &r.mu, w: r.log}
	r.mu.Unlock()
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("start hotline: %v", err)
	}
	end := make(chan struct{})
	go func() { _ = cmd.Wait(); close(end) }()
	r.mu.Lock()
	r.proc, r.procEnd = cmd, end
	r.mu.Unlock()
	r.waitApp()
}

// waitApp waits until Asterisk lists hotline's application.
func (r *rig) waitApp() {
	r.t.Helper()
	r.waitFor(15*time.Second, "hotline's application registered in Asterisk", func() bool {
		st, _ := r.ari("GET", "/applications/hotline", nil)
		return st == http.StatusOK
	})
}

// kill9 ends hotline at once, as a crash would.
func (r *rig) kill9() {
	r.mu.Lock()
	p, end := r.proc, r.procEnd
	r.mu.Unlock()
	_ = p.Process.Signal(syscall.SIGKILL)
	<-end
}

// stop ends hotline: a first SIGTERM drains, a second (after 5 s) stops
// it at once.
func (r *rig) stop() {
	if r.opt.inProcess {
		r.stopInProcess()
		return
	}
	r.mu.Lock()
	p, end := r.proc, r.procEnd
	r.mu.Unlock()
	if p == nil {
		return
	}
	select {
	case <-end:
		return
	default:
	}
	_ = p.Process.Signal(syscall.SIGTERM)
	select {
	case <-end:
		return
	case <-time.After(5 * time.Second): // calls still up: drain no longer
	}
	_ = p.Process.Signal(syscall.SIGTERM)
	select {
	case <-end:
	case <-time.After(10 * time.Second):
		_ = p.Process.Kill()
		<-end
	}
}

// pid is hotline's process id (for /proc readings).
func (r *rig) pid() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.proc.Process.Pid
}

func (r *rig) Log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// waitFor polls cond until it holds or the time is up (each poll reads the
// PBX or Redis: a level, not an event that could be missed).
func (r *rig) waitFor(within time.Duration, what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ari calls Asterisk's REST interface as hotline's user.
func (r *rig) ari(method, path string, out any) (int, error) {
	req, err := http.NewRequest(method, r.ast.ARIURL()+path, nil)
	if err != nil {
		return 0, err
	}
	req.SetBasicAuth(r.ast.ARIUser, r.ast.ARIPassword)
	return doJSON(req, out)
}

// api calls hotline's HTTP API.
func (r *rig) api(method, path string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+r.http+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	return doJSON(req, out)
}

func doJSON(req *http.Request, out any) (int, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w: %s", req.Method, req.URL.Path, err, b)
		}
	}
	return resp.StatusCode, nil
}

// records reads every call record hotline has written.
func (r *rig) records() []records.Record {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	recs, err := records.New(r.rdb, r.centre, 0).Latest(ctx, 1000)
	if err != nil {
		r.t.Fatal(err)
	}
	return recs
}

// recordsOf counts the records of calls from number (every caller must
// have exactly one).
func (r *rig) recordsOf(number string) int {
	r.t.Helper()
	n := 0
	for _, rec := range r.records() {
		if strings.HasSuffix(rec.CallerNumber, number) {
			n++
		}
	}
	return n
}

// recordOf returns the latest record of a call by the caller's number
// whose outcome is one of outcomes, waiting for it.
func (r *rig) recordOf(number string, within time.Duration, outcomes ...string) records.Record {
	r.t.Helper()
	var found records.Record
	r.waitFor(within, "a record of "+number+" with outcome "+strings.Join(outcomes, "|"), func() bool {
		for _, rec := range r.records() {
			if strings.HasSuffix(rec.CallerNumber, number) || strings.HasSuffix(number, rec.CallerNumber) && rec.CallerNumber != "" {
				for _, o := range outcomes {
					if rec.Outcome == o {
						found = rec
						return true
					}
				}
			}
		}
		return false
	})
	return found
}

// callback is the API's view of one callback.
type callback struct {
	ID       string    `json:"id"`
	Number   string    `json:"number"`
	Topic    string    `json:"topic"`
	Status   string    `json:"status"`
	Reasons  []string  `json:"reasons"`
	Tries    int       `json:"tries"`
	QueueAt  time.Time `json:"queue_time"`
	AgentID  string    `json:"agent_id"`
	Attempts []struct {
		Result string `json:"result"`
	} `json:"attempts"`
}

func (r *rig) callbacks(statuses string) []callback {
	r.t.Helper()
	var out []callback
	if st, err := r.api("GET", "/api/v1/callbacks?status="+statuses, nil, &out); err != nil || st != 200 {
		r.t.Fatalf("GET /api/v1/callbacks: %d %v", st, err)
	}
	return out
}

// agentState is an operator's state as the API reports it.
func (r *rig) agentState(id string) string {
	r.t.Helper()
	var agents []struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	if st, err := r.api("GET", "/api/v1/agents", nil, &agents); err != nil || st != 200 {
		r.t.Fatalf("GET /api/v1/agents: %d %v", st, err)
	}
	for _, a := range agents {
		if a.ID == id {
			return a.State
		}
	}
	return ""
}

// queued is how many callers wait in a topic, as the API reports it.
func (r *rig) queued(topic string) int {
	r.t.Helper()
	var qs []struct {
		Topic   string `json:"topic"`
		Waiting int    `json:"waiting"`
	}
	if st, err := r.api("GET", "/api/v1/queues", nil, &qs); err != nil || st != 200 {
		return -1
	}
	for _, q := range qs {
		if q.Topic == topic {
			return q.Waiting
		}
	}
	return 0
}

// login logs an operator in over the API.
func (r *rig) login(id string) {
	r.t.Helper()
	if st, err := r.api("POST", "/api/v1/agents/"+id+"/login", nil, nil); err != nil || st != 200 {
		r.t.Fatalf("login %s: %d %v", id, st, err)
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
