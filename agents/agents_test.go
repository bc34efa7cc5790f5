package agents_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/internal/rkeys"
)

var t0 = time.UnixMilli(1_700_000_000_000)

func TestTransitions(t *testing.T) {
	// Each case drives operator 1001 from offline through ops; the last op
	// must give wantErr and leave state.
	cases := []struct {
		name    string
		ops     []string
		wantErr error
		state   agents.State
	}{
		{"login", []string{"login"}, nil, agents.Ready},
		{"login twice is a no-op", []string{"login", "login"}, nil, agents.Ready},
		{"pause", []string{"login", "pause"}, nil, agents.Paused},
		{"pause again", []string{"login", "pause", "pause"}, nil, agents.Paused},
		{"ready from paused", []string{"login", "pause", "ready"}, nil, agents.Ready},
		{"ready from offline logs in", []string{"ready"}, nil, agents.Ready},
		{"logout", []string{"login", "logout"}, nil, agents.Offline},
		{"logout while paused", []string{"login", "pause", "logout"}, nil, agents.Offline},
		{"logout when offline", []string{"logout"}, nil, agents.Offline},
		{"pause while offline", []string{"pause"}, agents.ErrBadTransition, agents.Offline},
		{"login while paused", []string{"login", "pause", "login"}, agents.ErrBadTransition, agents.Paused},
	}
	rdb := redistest.Start(t)
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			centre := redistest.Prefix(t)
			r := agents.New(rdb, centre)
			ops := []agents.Operator{{ID: "1001", Skills: map[string]int{"covid": 1}, Languages: []string{"kk"}}}
			if err := r.Sync(ctx, ops, t0); err != nil {
				t.Fatal(err)
			}
			var err error
			for i, op := range c.ops {
				now := t0.Add(time.Duration(i+1) * time.Second)
				switch op {
				case "login":
					err = r.Login(ctx, "1001", now)
				case "logout":
					err = r.Logout(ctx, "1001", "end of shift", now)
				case "pause":
					err = r.Pause(ctx, "1001", "lunch", now)
				case "ready":
					err = r.Ready(ctx, "1001", now)
				}
				if i < len(c.ops)-1 && err != nil {
					t.Fatalf("%s: %v", op, err)
				}
			}
			if c.wantErr == nil && err != nil || c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "1001") {
				t.Errorf("error does not name the operator: %v", err)
			}
			a, _ := r.Get(ctx, "1001")
			if a.State != c.state {
				t.Errorf("state = %s, want %s", a.State, c.state)
			}
			for _, key := range []string{rkeys.Ready(centre, "covid"), rkeys.ReadyLang(centre, "covid", "kk")} {
				_, zerr := rdb.ZScore(ctx, key, "1001").Result()
				if (zerr == nil) != (c.state == agents.Ready) {
					t.Errorf("%s membership wrong in %s", key, c.state)
				}
			}
			staffed, _ := rdb.SIsMember(ctx, rkeys.Staffed(centre, "covid"), "1001").Result()
			if staffed != (c.state == agents.Ready) {
				t.Errorf("staffed = %v in %s", staffed, c.state)
			}
		})
	}
}

func TestSyncKeepsStateAndReindexes(t *testing.T) {
	rdb := redistest.Start(t)
	centre := redistest.Prefix(t)
	r := agents.New(rdb, centre)
	ctx := context.Background()
	ops := []agents.Operator{
		{ID: "1001", Name: "Aigerim", Endpoint: "PJSIP/1001", Skills: map[string]int{"covid": 7, "vacc": 3}, Languages: []string{"kk", "ru"}},
		{ID: "1002", Endpoint: "PJSIP/1002", Skills: map[string]int{"covid": 5}},
	}
	if err := r.Sync(ctx, ops, t0); err != nil {
		t.Fatal(err)
	}
	if err := r.Login(ctx, "1001", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := r.Pause(ctx, "1002", "x", t0); !errors.Is(err, agents.ErrBadTransition) {
		t.Fatalf("pause offline: %v", err)
	}
	// re-sync with 1001 moved from vacc to mental: state kept, indexes follow
	ops[0].Skills = map[string]int{"covid": 7, "mental": 2}
	ops[0].Endpoint = "PJSIP/1001b"
	for range 2 {
		if err := r.Sync(ctx, ops, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	a, err := r.Get(ctx, "1001")
	if err != nil {
		t.Fatal(err)
	}
	if a.State != agents.Ready || a.Endpoint != "PJSIP/1001b" || a.Name != "Aigerim" ||
		a.Skills["mental"] != 2 || len(a.Skills) != 2 || !a.IdleSince.Equal(t0.Add(time.Second)) ||
		strings.Join(a.Languages, ",") != "kk,ru" {
		t.Errorf("after sync: %+v", a)
	}
	if n, _ := rdb.ZCard(ctx, rkeys.Ready(centre, "vacc")).Result(); n != 0 {
		t.Errorf("still indexed under vacc")
	}
	if n, _ := rdb.ZCard(ctx, rkeys.ReadyLang(centre, "mental", "ru")).Result(); n != 1 {
		t.Errorf("not indexed under mental:ru")
	}
	list, err := r.List(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "1001" || list[1].State != agents.Offline {
		t.Errorf("list = %+v %v", list, err)
	}
	if _, err := r.Get(ctx, "nobody"); !errors.Is(err, agents.ErrUnknown) {
		t.Errorf("get unknown: %v", err)
	}
	if err := r.Login(ctx, "nobody", t0); !errors.Is(err, agents.ErrUnknown) {
		t.Errorf("login unknown: %v", err)
	}
	bad := []agents.Operator{{ID: "10{1}", Skills: map[string]int{"a": 1}}}
	if err := r.Sync(ctx, bad, t0); !errors.Is(err, agents.ErrInvalid) {
		t.Errorf("bad id: %v", err)
	}
}
