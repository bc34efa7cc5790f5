package config

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
)

// Desk configures the operators' desktop (the web page served by hotline).
type Desk struct {
	// PauseReasons an operator picks from when pausing, each with an
	// optional longest length (the desktop shows it running over).
	PauseReasons []PauseReason `yaml:"pause_reasons"`
	// Dispositions an operator gives a finished call.
	Dispositions []string `yaml:"dispositions"`
	// ComplaintCategories a complaint about a medical organisation is
	// filed under.
	ComplaintCategories []string `yaml:"complaint_categories"`
	// KBDir holds the knowledge base: Markdown files, one folder per topic
	// (kb/testing/*.md) and general articles at the top. Relative to the
	// config file; "" means no knowledge base.
	KBDir string `yaml:"kb_dir"`
	// NumberMask is how the citizen's number shows on the operator's
	// card: "last4" (default: +7 *** *** 12 34) or "full".
	NumberMask string `yaml:"number_mask"`
}

// PauseReason is one reason to pause.
type PauseReason struct {
	ID  string   `yaml:"id"`
	Max Duration `yaml:"max"` // 0: no limit
}

// Service is one outside service in the operators' directory (ambulance,
// volunteers, a polyclinic's home visits, an insurer…): operators read
// what it does and transfer citizens to it; cases of the kinds it takes
// are forwarded to its webhook.
type Service struct {
	ID          string `yaml:"id"`
	Name        string `yaml:"name"`
	Number      string `yaml:"number"`      // dialled through the carrier: digits, optional leading +
	Hours       string `yaml:"hours"`       // as told to citizens, e.g. "24/7", "Mon–Fri 9–18"
	Description string `yaml:"description"` // what they do
	// Cases are the kinds of case forwarded to this service: complaint
	// (about a medical organisation), home_visit.
	Cases []string `yaml:"cases"`
	// Webhook receives its cases as HTTP POST JSON (http or https URL).
	Webhook string `yaml:"webhook"`
}

// StaffMember is a supervisor or an administrator: someone who signs in
// to the wallboard and the API with their own secret (secret_hash, or
// HOTLINE_SECRET_<ID> in the environment) and the role's rights.
type StaffMember struct {
	ID         string `yaml:"id"`
	Name       string `yaml:"name"`
	Role       string `yaml:"role"` // supervisor | admin
	SecretHash string `yaml:"secret_hash"`
	// Phone is their own softphone (an endpoint like PJSIP/1901, matching
	// MonitorEndpoint), rung when they listen to or whisper into a
	// conversation from the wallboard; "" leaves them without.
	Phone string `yaml:"phone"`
}

// MonitorEndpoint is what a supervisor's phone may look like: the
// endpoint a monitor rings (TECH/resource, e.g. PJSIP/1901), for a staff
// member's phone and for the API's monitor request alike.
var MonitorEndpoint = regexp.MustCompile(`^[A-Za-z]{2,10}/[A-Za-z0-9_.@-]{1,64}$`)

// Staff roles.
const (
	RoleSupervisor = "supervisor"
	RoleAdmin      = "admin"
)

// Case kinds.
const (
	CaseComplaint = "complaint"
	CaseHomeVisit = "home_visit"
)

// Number masks.
const (
	MaskLast4 = "last4"
	MaskFull  = "full"
)

// Default pause reasons and dispositions, when the config lists none.
var (
	DefaultPauseReasons = []PauseReason{
		{ID: "break", Max: Duration(15 * 60e9)}, {ID: "lunch", Max: Duration(45 * 60e9)},
		{ID: "training"}, {ID: "paperwork"},
	}
	DefaultDispositions        = []string{"consulted", "referred", "complaint_registered", "home_visit_booked", "transferred", "wrong_number", "silent"}
	DefaultComplaintCategories = []string{"refused_care", "waiting_time", "rudeness", "medicines", "other"}
)

var (
	serviceNumber = regexp.MustCompile(`^\+?[0-9]{2,15}$`)
	plainID       = regexp.MustCompile(`^[a-z0-9_]{1,40}$`)
)

// Service returns the service with id.
func (c *Config) Service(id string) (Service, bool) {
	for _, s := range c.Services {
		if s.ID == id {
			return s, true
		}
	}
	return Service{}, false
}

// PauseReason returns the pause reason with id.
func (c *Config) PauseReason(id string) (PauseReason, bool) {
	for _, p := range c.Desk.PauseReasons {
		if p.ID == id {
			return p, true
		}
	}
	return PauseReason{}, false
}

// KBPath is the knowledge base folder resolved against the config file.
func (c *Config) KBPath() string {
	d := c.Desk.KBDir
	if d == "" || filepath.IsAbs(d) || c.File == "" {
		return d
	}
	return filepath.Join(filepath.Dir(c.File), d)
}

func (v *validator) deskDefaults() {
	d := &v.cfg.Desk
	if len(d.PauseReasons) == 0 {
		d.PauseReasons = append([]PauseReason(nil), DefaultPauseReasons...)
	}
	if len(d.Dispositions) == 0 {
		d.Dispositions = append([]string(nil), DefaultDispositions...)
	}
	if len(d.ComplaintCategories) == 0 {
		d.ComplaintCategories = append([]string(nil), DefaultComplaintCategories...)
	}
	if d.NumberMask == "" {
		d.NumberMask = MaskLast4
	}
}

func (v *validator) desk() {
	d := v.cfg.Desk
	seen := map[string]bool{}
	for i, p := range d.PauseReasons {
		switch {
		case !plainID.MatchString(p.ID):
			v.errorf(at("desk", "pause_reasons", i, "id"), "pause reason %q: an id is lower-case letters, digits and _ (e.g. lunch)", p.ID)
		case seen[p.ID]:
			v.errorf(at("desk", "pause_reasons", i, "id"), "pause reason %q is listed twice", p.ID)
		}
		seen[p.ID] = true
		if p.Max < 0 {
			v.errorf(at("desk", "pause_reasons", i, "max"), "pause reason %q: max must not be negative", p.ID)
		}
	}
	v.idList(at("desk", "dispositions"), "disposition", d.Dispositions)
	v.idList(at("desk", "complaint_categories"), "complaint category", d.ComplaintCategories)
	switch d.NumberMask {
	case MaskLast4, MaskFull:
	default:
		v.errorf(at("desk", "number_mask"), "number_mask %q: use last4 or full", d.NumberMask)
	}
	// Checked for a config read from a file; an embedded one carries its
	// knowledge base with it (configs.KB).
	if p := v.cfg.KBPath(); p != "" && fileExists(v.cfg.File) {
		if st, err := os.Stat(p); err != nil || !st.IsDir() {
			v.errorf(at("desk", "kb_dir"), "kb_dir %q: not a folder (%v)", d.KBDir, err)
		}
	}
	v.services()
	v.staff()
}

func (v *validator) staff() {
	seen := map[string]bool{}
	phones := map[string]string{} // endpoint → whose
	for _, op := range v.cfg.Operators {
		seen[op.ID] = true
		phones[op.Endpoint] = "operator " + op.ID
	}
	for i, p := range v.cfg.Staff {
		if p.Phone != "" {
			switch other, taken := phones[p.Phone]; {
			case !MonitorEndpoint.MatchString(p.Phone):
				v.errorf(at("staff", i, "phone"), "staff %q: phone %q does not look like TECH/resource (e.g. PJSIP/1901: letters, a slash, then letters, digits, \".\", \"_\", \"@\" or \"-\")", p.ID, p.Phone)
			case taken:
				v.errorf(at("staff", i, "phone"), "staff %q: phone %q is already %s's: a supervisor listens on a phone of their own", p.ID, p.Phone, other)
			default:
				phones[p.Phone] = "staff " + p.ID
			}
		}
		switch {
		case !operatorID.MatchString(p.ID):
			v.errorf(at("staff", i, "id"), "staff %q: an id is letters, digits, \".\", \"-\" and \"_\"", p.ID)
		case seen[p.ID]:
			v.errorf(at("staff", i, "id"), "staff %q: the id is already an operator's or listed twice", p.ID)
		}
		seen[p.ID] = true
		if p.Role != RoleSupervisor && p.Role != RoleAdmin {
			v.errorf(at("staff", i, "role"), "staff %q: role %q: use supervisor or admin", p.ID, p.Role)
		}
		if p.Name == "" {
			v.cfg.Staff[i].Name = p.ID
		}
	}
}

func (v *validator) idList(path []any, what string, ids []string) {
	seen := map[string]bool{}
	for i, id := range ids {
		switch {
		case !plainID.MatchString(id):
			v.errorf(append(path, i), "%s %q: an id is lower-case letters, digits and _", what, id)
		case seen[id]:
			v.errorf(append(path, i), "%s %q is listed twice", what, id)
		}
		seen[id] = true
	}
}

func (v *validator) services() {
	seen := map[string]bool{}
	for i, s := range v.cfg.Services {
		where := fmt.Sprintf("service %q", s.ID)
		switch {
		case !plainID.MatchString(s.ID):
			v.errorf(at("services", i, "id"), "%s: an id is lower-case letters, digits and _ (e.g. volunteers)", where)
		case seen[s.ID]:
			v.errorf(at("services", i, "id"), "%s is listed twice", where)
		}
		seen[s.ID] = true
		if s.Name == "" {
			v.errorf(at("services", i), "%s: name is missing", where)
		}
		if s.Number != "" && !serviceNumber.MatchString(s.Number) {
			v.errorf(at("services", i, "number"), "%s: number %q: digits only, with an optional leading +", where, s.Number)
		}
		for j, k := range s.Cases {
			if k != CaseComplaint && k != CaseHomeVisit {
				v.errorf(at("services", i, "cases", j), "%s: case kind %q: use complaint or home_visit", where, k)
			}
		}
		if s.Webhook != "" {
			u, err := url.Parse(s.Webhook)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				v.errorf(at("services", i, "webhook"), "%s: webhook %q is not an http(s) URL", where, s.Webhook)
			}
		}
		if len(s.Cases) > 0 && s.Webhook == "" {
			v.errorf(at("services", i), "%s takes cases but has no webhook to forward them to", where)
		}
	}
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
