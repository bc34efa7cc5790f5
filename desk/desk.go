// Package desk is the operators' desktop: a web page served by hotline
// itself (templates and assets embedded, htmx for the little interactivity
// it needs, no build step). An operator signs in with their own secret and
// sees and changes only their own state and calls: the call ringing or in
// progress with the citizen's earlier contacts, the topic's knowledge-base
// articles, the services directory with transfers, dispositions and cases,
// and their own day. The card arrives over server-sent events, which the
// browser reconnects by itself after a restart of hotline.
package desk

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/auth"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/internal/webpage"
	"github.com/hotline-acd/hotline/records"
	"github.com/hotline-acd/hotline/router"
)

// Presence changes an operator's own state (router.Router).
type Presence interface {
	Login(ctx context.Context, agentID string) error
	Logout(ctx context.Context, agentID string) error
	Pause(ctx context.Context, agentID, reason string) error
	Ready(ctx context.Context, agentID string) error
	PauseAfterCall(ctx context.Context, agentID, reason string) error
	WrapUpDone(ctx context.Context, agentID string) error
	ExtendWrapUp(ctx context.Context, agentID string, d time.Duration) (time.Time, error)
	// Card is the call on the operator's phone.
	Card(agentID string) (router.Card, bool)
}

// AgentView is an operator's state as Redis holds it.
type AgentView struct {
	State       string
	Reason      string
	Since       time.Time
	WrapUpUntil time.Time
	PauseNext   string
}

// States reads operators' states.
type States interface {
	Agent(ctx context.Context, agentID string) (AgentView, error)
}

// History is the call records: a number's last contacts, an operator's
// day, and the operator's word on a call.
type History interface {
	ByNumber(ctx context.Context, number string, n int64) ([]records.Record, error)
	ByAgent(ctx context.Context, agent string, from, to time.Time, n int64) ([]records.Record, error)
	Annotate(ctx context.Context, callID string, d records.Disposition) error
	Annotation(ctx context.Context, callID string) (records.Disposition, error)
}

// Article is one knowledge-base article, its HTML already sanitised.
type Article struct {
	ID, Topic, Title string
	HTML             template.HTML
}

// Hit is one search result.
type Hit struct {
	ID, Topic, Title, Snippet string
}

// Knowledge is the knowledge base.
type Knowledge interface {
	ForTopic(topic string) []Article
	Article(id string) (Article, bool)
	Search(query string, n int) []Hit
}

// CaseRequest opens a case from a call. Agent, CallID, CitizenNumber,
// Topic and Language come from the operator's own call, never from the
// browser.
type CaseRequest struct {
	RequestID, Kind, CallID, Agent, CitizenNumber, Topic, Language string
	Service                                                        string // the service it is forwarded to
	Organisation, Category, Text                                   string // complaint
	Address, Symptoms, PreferredTime                               string // home visit
}

// Case is a case as the operator sees it.
type Case struct {
	Number, Kind, Status, CallID, Agent, Service, Summary string
	OpenedAt                                              time.Time
}

// ErrInvalidCase is what Cases.Open wraps for a request it refuses;
// ErrNotYours what Cases.Close wraps for another operator's case.
var (
	ErrInvalidCase = errors.New("desk: invalid case")
	ErrNotYours    = errors.New("desk: not your case")
)

// Cases are complaints and home-visit requests.
type Cases interface {
	Open(ctx context.Context, req CaseRequest, now time.Time) (Case, error)
	ByAgent(ctx context.Context, agent string, from, to time.Time) ([]Case, error)
	// OpenByAgent are the operator's cases not closed yet, of any day.
	OpenByAgent(ctx context.Context, agent string) ([]Case, error)
	// Close closes case number if agent opened it (ErrNotYours if not).
	Close(ctx context.Context, agent, number string, now time.Time) error
	WriteCSV(ctx context.Context, w io.Writer, agent string, from, to time.Time) error
}

// Transfers move the citizen an operator is talking to.
type Transfers interface {
	TransferToService(ctx context.Context, agentID, serviceID string) error
	TransferToTopic(ctx context.Context, agentID, topicID string) error
	ConsultService(ctx context.Context, agentID, serviceID string) error
	CompleteConsult(ctx context.Context, agentID string) error
	CancelConsult(ctx context.Context, agentID string) error
}

// Options wire the desktop.
type Options struct {
	Sessions  *auth.Sessions
	People    func() *auth.People
	Presence  Presence
	States    States
	History   History
	Knowledge func() Knowledge // nil or returning nil: no knowledge base
	Cases     Cases            // nil: no cases
	Transfers Transfers        // nil: no transfers
	Config    func() *config.Config
	Now       func() time.Time
	Log       *zap.Logger
	// Poll is how often the events stream re-reads the operator's state
	// (it is also woken by Notify); default 1 s.
	Poll time.Duration
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Desk serves the desktop.
type Desk struct {
	opt  Options
	tmpl *template.Template
	mux  *http.ServeMux

	mu      sync.Mutex
	waiters map[string][]chan struct{} // operator → event streams to wake
	last    map[string]router.Card     // operator → their last call's card
	seen    map[string]map[string]bool // operator → call ids they handled (this process)
	fails   map[string][]time.Time     // sign-in failures by operator id
}

// New returns the desktop's handler.
func New(o Options) (*Desk, error) {
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Now == nil {
		return nil, errors.New("desk: a clock is required")
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	d := &Desk{opt: o, waiters: map[string][]chan struct{}{}, last: map[string]router.Card{},
		seen: map[string]map[string]bool{}, fails: map[string][]time.Time{}}
	t, err := template.New("desk").Funcs(d.funcs()).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	d.tmpl = t
	assets, err := fs.Sub(assetFS, "assets")
	if err != nil {
		return nil, err
	}
	m := http.NewServeMux()
	m.Handle("GET /assets/", http.StripPrefix("/assets/", cacheAssets(http.FileServerFS(assets))))
	m.HandleFunc("GET /login", d.loginPage)
	m.HandleFunc("POST /login", d.login)
	m.HandleFunc("POST /logout", d.signedIn(d.logout))
	m.HandleFunc("GET /{$}", d.page)
	m.HandleFunc("GET /desk/events", d.signedIn(d.events))
	m.HandleFunc("GET /desk/state", d.signedIn(d.stateFragment))
	m.HandleFunc("GET /desk/card", d.signedIn(d.cardFragment))
	m.HandleFunc("POST /desk/state", d.signedIn(d.changeState))
	m.HandleFunc("POST /desk/disposition", d.signedIn(d.dispose))
	m.HandleFunc("POST /desk/cases", d.signedIn(d.openCase))
	m.HandleFunc("POST /desk/cases/close", d.signedIn(d.closeCase))
	m.HandleFunc("POST /desk/transfer", d.signedIn(d.transfer))
	m.HandleFunc("POST /desk/language", d.signedIn(d.setLanguage))
	m.HandleFunc("GET /desk/kb", d.signedIn(d.kbSearch))
	m.HandleFunc("GET /desk/kb/article", d.signedIn(d.kbArticle))
	m.HandleFunc("GET /desk/day", d.signedIn(d.day))
	m.HandleFunc("GET /desk/cases.csv", d.signedIn(d.casesCSV))
	d.mux = m
	return d, nil
}

func (d *Desk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	webpage.SecureHeaders(w.Header())
	d.mux.ServeHTTP(w, r)
}

func cacheAssets(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// Notify wakes agentID's event streams (their card or state changed).
func (d *Desk) Notify(agentID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ch := range d.waiters[agentID] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// signedIn runs h for a signed-in operator; a state change must also
// carry the session's CSRF token.
func (d *Desk) signedIn(h func(w http.ResponseWriter, r *http.Request, s auth.Session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := d.opt.Sessions.Get(r)
		if err != nil {
			if !errors.Is(err, auth.ErrNoSession) {
				d.opt.Log.Warn("desk: reading the session", zap.Error(err))
				http.Error(w, "sessions are not available", http.StatusServiceUnavailable)
				return
			}
			if r.Method == http.MethodGet && r.Header.Get("HX-Request") == "" && r.URL.Path != "/desk/events" {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			w.Header().Set("HX-Redirect", "/login")
			http.Error(w, "not signed in", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := auth.CheckCSRF(r, s); err != nil {
				http.Error(w, err.Error(), http.StatusForbidden)
				return
			}
		}
		h(w, r, s)
	}
}
