package app

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/api"
	"github.com/hotline-acd/hotline/auth"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/configs"
	"github.com/hotline-acd/hotline/desk"
	"github.com/hotline-acd/hotline/kb"
	"github.com/hotline-acd/hotline/records"
	"github.com/hotline-acd/hotline/wallboard"
)

// deskParts are the operator desktop's moving parts that a reload
// replaces: who may sign in, and the knowledge base.
type deskParts struct {
	sessions *auth.Sessions
	people   atomic.Pointer[auth.People]
	kb       atomic.Pointer[kb.Base]
	desk     atomic.Pointer[desk.Desk]
}

// kbSource is where cfg's knowledge base is read from: its kb_dir beside
// the config file, or the example's own when the config is the embedded
// example.
func kbSource(cfg *config.Config) (fs.FS, string) {
	if cfg.Desk.KBDir == "" {
		return nil, ""
	}
	if cfg.File == configs.ExampleName {
		return configs.KB, cfg.Desk.KBDir
	}
	return os.DirFS(cfg.KBPath()), "."
}

// loadDesk reads cfg's people and knowledge base; an error leaves the
// ones in force.
func (a *App) loadDesk(cfg *config.Config) error {
	apply, err := a.prepareDesk(cfg)
	if err != nil {
		return err
	}
	apply()
	return nil
}

// prepareDesk reads cfg's sign-ins and knowledge base; apply puts them in
// force. Apart, so a reload can check them before the Redis sync and swap
// them only after it holds.
func (a *App) prepareDesk(cfg *config.Config) (apply func(), err error) {
	env := a.opt.Env
	if env == nil {
		env = os.Getenv
	}
	people, missing, err := auth.FromConfig(cfg, env)
	if err != nil {
		return nil, fmt.Errorf("sign-ins: %w", err)
	}
	var base *kb.Base
	if fsys, root := kbSource(cfg); fsys != nil {
		if base, err = kb.Load(fsys, root); err != nil {
			return nil, fmt.Errorf("knowledge base: %w", err)
		}
	}
	return func() {
		if len(missing) > 0 {
			a.log.Warn("operators without a sign-in secret cannot use the desktop (set secret_hash or HOTLINE_SECRET_<ID>)", zap.Strings("agents", missing))
		}
		a.desk.people.Store(people)
		a.desk.kb.Store(base)
	}, nil
}

// newDesk builds the desktop over the app's parts.
func (a *App) newDesk() (*desk.Desk, error) {
	a.desk.sessions = auth.NewSessions(a.rdb, a.opt.Config.Centre.ID, a.desk.people.Load)
	return desk.New(desk.Options{
		Sessions:  a.desk.sessions,
		People:    a.desk.people.Load,
		Presence:  calls{a.router, a},
		States:    agentStates{a.state},
		History:   a.state.records,
		Knowledge: func() desk.Knowledge { return knowledge{a.desk.kb.Load()} },
		Cases:     caseDesk{a},
		Transfers: calls{a.router, a},
		Config:    a.router.Config,
		Now:       a.opt.Now,
		Log:       a.log.Named("desk"),
	})
}

// withPages serves the API's paths from api, the wallboard's from wb and
// every other from the desk.
func withPages(api http.Handler, d *desk.Desk, wb *wallboard.Wallboard) http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/api/", "/metrics", "/healthz", "/readyz"} {
		mux.Handle(p, api)
	}
	mux.Handle("/wallboard", wb)
	mux.Handle("/wallboard/", wb)
	mux.Handle("/", d)
	return mux
}

// newWallboard builds the supervisors' board over the app's parts.
func (a *App) newWallboard() (*wallboard.Wallboard, error) {
	return wallboard.New(wallboard.Options{
		Sessions:   a.desk.sessions,
		Source:     boardSource{a},
		Actions:    boardActions{a},
		Monitoring: boardMonitoring{a},
		Audit: func(who, role, action, target, detail string) {
			a.audit(api.Actor{ID: who, Role: role}, action, target, strings.TrimSpace(detail+" from the wallboard"))
		},
		Now: a.opt.Now,
		Log: a.log.Named("wallboard"),
	})
}

// agentStates reads an operator's state for the desktop.
type agentStates struct{ s *redisState }

func (a agentStates) Agent(ctx context.Context, id string) (desk.AgentView, error) {
	ag, err := a.s.agents.Get(ctx, id)
	if err != nil {
		return desk.AgentView{}, err
	}
	return desk.AgentView{State: string(ag.State), Reason: ag.Reason, Since: ag.Since, WrapUpUntil: ag.WrapUpUntil, PauseNext: ag.PauseNext}, nil
}

// knowledge is the knowledge base as the desktop reads it; a nil base
// has no articles.
type knowledge struct{ b *kb.Base }

func article(a kb.Article) desk.Article {
	// kb renders and sanitises (goldmark, bluemonday): safe as HTML.
	return desk.Article{ID: a.ID, Topic: a.Topic, Title: a.Title, HTML: template.HTML(a.HTML)} //nolint:gosec
}

func (k knowledge) ForTopic(topic string) []desk.Article {
	var out []desk.Article
	for _, a := range k.b.ForTopic(topic) {
		out = append(out, article(a))
	}
	return out
}

func (k knowledge) Article(id string) (desk.Article, bool) {
	a, ok := k.b.Get(id)
	return article(a), ok
}

func (k knowledge) Search(q string, n int) []desk.Hit {
	var out []desk.Hit
	for _, h := range k.b.Search(q, n) {
		out = append(out, desk.Hit{ID: h.ID, Topic: h.Topic, Title: h.Title, Snippet: h.Snippet})
	}
	return out
}

// apiActor is the person whose session makes an API request; a state
// change must carry the session's CSRF token.
func (a *App) apiActor(r *http.Request) (api.Actor, error) {
	s, err := a.desk.sessions.Get(r)
	if err != nil {
		if errors.Is(err, auth.ErrNoSession) {
			return api.Actor{}, fmt.Errorf("%w: sign in, or send a bearer token", api.ErrUnauthenticated)
		}
		return api.Actor{}, err
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if err := auth.CheckCSRF(r, s); err != nil {
			return api.Actor{}, fmt.Errorf("%w: %w", api.ErrUnauthenticated, err)
		}
	}
	return api.Actor{ID: s.Person.ID, Role: s.Person.Role}, nil
}

// audit writes an actor's action on an operator into the records stream,
// where supervisors audit calls and callbacks.
func (a *App) audit(actor api.Actor, action, target, detail string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rec := records.Record{
		CallID: "audit-" + target, Outcome: "audit_" + action, EndedAt: a.opt.Now(),
		Note: strings.TrimSpace("by " + actor.Role + " " + actor.ID + " " + detail),
	}
	// The target is filed as the operator only when it is one, so that
	// an operator's history holds what was done to them and no entry of
	// a config reload or a recording fetch.
	if _, ok := a.router.Config().OperatorByID(target); ok {
		rec.Agent = target
	} else {
		rec.Note += " (" + target + ")"
	}
	_, err := a.state.records.Append(ctx, rec)
	if err != nil {
		a.log.Warn("audit entry not written", zap.String("agent", target), zap.String("actor", actor.ID), zap.Error(err))
	}
}
