package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hotline-acd/hotline/cases"
	"github.com/hotline-acd/hotline/desk"
)

// caseDesk is the cases store as the desktop uses it; a case opened is
// handed to the forwarder at once.
type caseDesk struct {
	a *App
}

func (c caseDesk) Open(ctx context.Context, req desk.CaseRequest, now time.Time) (desk.Case, error) {
	got, err := c.a.cases.Open(ctx, cases.Case{
		RequestID: req.RequestID, Kind: cases.Kind(req.Kind), CallID: req.CallID, Agent: req.Agent,
		CitizenNumber: req.CitizenNumber, Topic: req.Topic, Language: req.Language, Service: req.Service,
		Organisation: req.Organisation, Category: req.Category, Text: req.Text,
		Address: req.Address, Symptoms: req.Symptoms, PreferredTime: req.PreferredTime,
	}, now)
	if err != nil {
		if errors.Is(err, cases.ErrInvalid) {
			return desk.Case{}, fmt.Errorf("%w: %w", desk.ErrInvalidCase, err)
		}
		return desk.Case{}, err
	}
	c.a.forwarder.Kick()
	return deskCase(got), nil
}

func deskCase(c cases.Case) desk.Case {
	return desk.Case{Number: c.Number, Kind: string(c.Kind), Status: string(c.Status), CallID: c.CallID,
		Agent: c.Agent, Service: c.Service, Summary: c.Summary(), OpenedAt: c.OpenedAt}
}

func (c caseDesk) ByAgent(ctx context.Context, agent string, from, to time.Time) ([]desk.Case, error) {
	return deskCases(c.a.cases.ListByAgent(ctx, agent, from, to))
}

func (c caseDesk) OpenByAgent(ctx context.Context, agent string) ([]desk.Case, error) {
	return deskCases(c.a.cases.OpenByAgent(ctx, agent))
}

func deskCases(cs []cases.Case, err error) ([]desk.Case, error) {
	if err != nil {
		return nil, err
	}
	out := make([]desk.Case, len(cs))
	for i, x := range cs {
		out[i] = deskCase(x)
	}
	return out, nil
}

func (c caseDesk) WriteCSV(ctx context.Context, w io.Writer, agent string, from, to time.Time) error {
	cs, err := c.a.cases.ListByAgent(ctx, agent, from, to)
	if err != nil {
		return err
	}
	return cases.WriteCSV(w, cs, c.a.router.Config().Hours.Location)
}

// caseExport is every case, for the admins' CSV (api.CaseExport).
type caseExport struct{ a *App }

func (c caseExport) WriteCasesCSV(ctx context.Context, w io.Writer, from, to time.Time) (int, error) {
	cs, err := c.a.cases.All(ctx, from, to)
	if err != nil {
		return 0, err
	}
	return len(cs), cases.WriteCSV(w, cs, c.Location())
}

// Location is the centre's time zone, of the config in force.
func (c caseExport) Location() *time.Location {
	if l := c.a.router.Config().Hours.Location; l != nil {
		return l
	}
	return time.UTC
}

// KickCases makes the case forwarder look at its outbox now (tests, and
// a supervisor's "retry now").
func (a *App) KickCases() { a.forwarder.Kick() }

func (c caseDesk) Close(ctx context.Context, agent, number string, now time.Time) error {
	got, err := c.a.cases.Get(ctx, number)
	if err != nil || got.Agent != agent {
		return fmt.Errorf("%w: %s", desk.ErrNotYours, number)
	}
	_, err = c.a.cases.SetStatus(ctx, number, cases.StatusClosed, agent, now)
	return err
}
