// Package cases keeps the cases operators open from a call — a complaint
// about a medical organisation, or a request for a home visit — each with
// a number the operator reads to the citizen (K-20261202-0042), a status
// (registered, forwarded, closed) and, when the service it goes to has a
// webhook, a delivery to that webhook through an outbox in Redis.
//
// The pieces:
//
//	Store.Open          validate, number, store and index a case and, in
//	                      the same atomic step, put its delivery in the
//	                      outbox when its service has a webhook; idempotent
//	                      on Case.RequestID and on the op id (rkeys.WithOp)
//	Store.Get, List,    one case; all by opening time (supervisors, CSV);
//	  ListByAgent,        an operator's of a day; an operator's not closed;
//	  OpenByAgent,        a call's
//	  ListByCall
//	Store.SetStatus     a person closes a case (forwarded is set by delivery)
//	Forwarder.Run       claims due deliveries under a lease, POSTs them,
//	                      marks them forwarded or retries with backoff
//	                      (Round: one pass; Kick: look now)
//	WriteCSV            export, safe against spreadsheet formula injection
//
// Delivery is at least once, and once only as far as hotline can make it:
// a delivery the receiver answered 2xx is marked forwarded and taken out of
// the outbox in one step, so it is never sent again; a lease longer than
// the request timeout keeps two instances from sending one case at once
// (their clocks must agree to within a few seconds, as NTP keeps them). A
// receiver that accepts a case but times out before answering (or whose
// answer is lost, or whose hotline stops mid-request) will see it again:
// it must dedupe on the Idempotency-Key header, which is the case number.
// A redirect is not an acceptance. Attempts never stop: a receiver down for
// a day gets the case when it is back (every 5 minutes at most).
//
// The citizen's number is health data: it is stored and forwarded, never
// logged. Redis layout: keys.go; scripts: lua/*.lua.
package cases

import (
	"errors"
	"time"
)

// Kind is what a case is about.
type Kind string

// Kinds of case (the same words as config.CaseComplaint, config.CaseHomeVisit).
const (
	KindComplaint Kind = "complaint"  // about a medical organisation
	KindHomeVisit Kind = "home_visit" // a doctor to visit the citizen at home
)

// Status is where a case stands.
type Status string

// Statuses. registered → forwarded is made by a delivery; registered or
// forwarded → closed by a person. Nothing leaves closed.
const (
	StatusRegistered Status = "registered" // opened; not (yet) delivered
	StatusForwarded  Status = "forwarded"  // the service's webhook accepted it
	StatusClosed     Status = "closed"     // a person closed it
)

// Errors of the package, wrapped with the case number or the field.
var (
	ErrInvalid       = errors.New("cases: invalid case")
	ErrNotFound      = errors.New("cases: no such case")
	ErrBadTransition = errors.New("cases: status change not allowed")
)

// Case is one case.
type Case struct {
	Number string `json:"number"` // K-<yyyymmdd>-<seq>, set by Open
	Kind   Kind   `json:"kind"`
	Status Status `json:"status"`
	// RequestID is the desktop's id of the form it submitted: a retried
	// Open with the same id returns the first case instead of a second.
	RequestID     string `json:"-"`
	CallID        string `json:"call_id"`
	Agent         string `json:"agent"`          // the operator who opened it
	CitizenNumber string `json:"citizen_number"` // health data: stored, never logged
	Topic         string `json:"topic"`
	Language      string `json:"language"`

	// A complaint: the organisation complained about is a service of the
	// directory (OrgService), a free-text name (Organisation), or both.
	OrgService   string `json:"org_service,omitempty"`
	Organisation string `json:"organisation,omitempty"`
	Category     string `json:"category,omitempty"` // one of the desk's complaint categories
	Text         string `json:"text,omitempty"`

	// A home visit.
	Address       string `json:"address,omitempty"`
	Symptoms      string `json:"symptoms,omitempty"`
	PreferredTime string `json:"preferred_time,omitempty"` // free text: "tomorrow morning"

	// Service is the id of the service the case is forwarded to ("" none).
	Service string `json:"service,omitempty"`

	OpenedAt    time.Time `json:"opened_at"`
	ForwardedAt time.Time `json:"forwarded_at"` // zero: not delivered
	ClosedAt    time.Time `json:"closed_at"`    // zero: open
	ClosedBy    string    `json:"closed_by,omitempty"`

	// Delivery bookkeeping: attempts made, the last failure, the next try
	// (zero when nothing is pending).
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
	NextTry   time.Time `json:"next_try"`
}

// Pending reports whether c still waits for delivery.
func (c Case) Pending() bool { return c.Service != "" && c.ForwardedAt.IsZero() && !c.NextTry.IsZero() }

// Summary is one short line telling the case apart in an operator's list:
// the organisation and category of a complaint, the address of a home
// visit (at most 80 characters; never the citizen's number).
func (c Case) Summary() string {
	s := c.Address
	if c.Kind == KindComplaint {
		s = c.Organisation
		if c.Category != "" {
			s += " · " + c.Category
		}
	}
	s = oneLine(s)
	if r := []rune(s); len(r) > 80 {
		s = string(r[:79]) + "…"
	}
	return s
}
