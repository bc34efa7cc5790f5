package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hotline-acd/hotline/internal/spoken"
)

// Defaults filled in when a key is absent. A key that is present keeps its
// value even when zero, so that "wrap_up: 0s" can mean "no wrap-up".
const (
	DefaultMOHClass          = "default"
	DefaultRingTimeout       = 15 * time.Second
	DefaultWrapUp            = 10 * time.Second
	DefaultAnnounceEvery     = 60 * time.Second
	DefaultMaxNoAnswer       = 3
	DefaultReservationLease  = 30 * time.Second
	DefaultStreamMaxLen      = 100_000
	DefaultFirstDigitTimeout = 5 * time.Second
	DefaultInterDigitTimeout = 2 * time.Second
	DefaultRetries           = 2

	DefaultCallbackMinAbandonWait = 10 * time.Second
	DefaultCallbackDropWindow     = 5 * time.Second
	DefaultCallbackMaxAttempts    = 4
	DefaultCallbackExpiry         = 24 * time.Hour
	DefaultVirtualHoldMinWait     = 2 * time.Minute
)

// DefaultCallbackDelays are the callback retry delays when none are given.
var DefaultCallbackDelays = []time.Duration{2 * time.Minute, 10 * time.Minute, 30 * time.Minute, 2 * time.Hour}

var (
	// Centre, topic and skill ids become parts of Redis keys and metric
	// labels: keep them to characters that need no escaping anywhere.
	keyID = regexp.MustCompile(`^[a-z0-9_-]+$`)
	// Operator ids are usually extension numbers or logins.
	operatorID = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	// Prompt names become file names: hotline/<lang>/<name>.wav.
	promptName = regexp.MustCompile(`^[a-z0-9_]+$`)
	// Asterisk sound languages: ru, kk, en_GB, pt_BR.
	langCode = regexp.MustCompile(`^[a-z]{2,3}(_[A-Z]{2})?$`)
	// TECH/resource, e.g. PJSIP/1001, SIP/operator1, PJSIP/1001@trunk. No
	// spaces, commas or "&": this string goes into a dial string.
	endpoint = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*/[A-Za-z0-9_.@:+-]+$`)
	// Numbers we dial: digits with an optional leading "+", never raw text.
	phoneNumber = regexp.MustCompile(`^\+?[0-9]{1,20}$`)
	digitKey    = regexp.MustCompile(`^[0-9*#]+$`)
	countryCode = regexp.MustCompile(`^[0-9]{1,3}$`)
	shortNumber = regexp.MustCompile(`^[0-9]{1,15}$`)
	mohClass    = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	// Callback number patterns on the E.164 form (callbacks.ValidPattern
	// is the same rule): "+" then digits or "?", an optional final "*".
	numberPattern = regexp.MustCompile(`^\+[0-9?]{1,15}\*?$`)
)

// validator fills defaults and cross-checks a decoded Config, using the node
// tree to say on which line each problem is.
type validator struct {
	file string
	doc  *yaml.Node
	cfg  *Config
	errs Errors
}

// at builds a path into the document: string keys and int list indexes.
func at(path ...any) []any { return path }

// pos finds the line of the deepest part of path present in the document:
// the key's line for a mapping entry, the item's line for a list entry. A
// missing key thus points at its parent, which is where it should be added.
func (v *validator) pos(path []any) (line, col int, found bool) {
	n := v.doc
	line, col = n.Line, n.Column
	for _, p := range path {
		n = resolve(n)
		switch k := p.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return line, col, false
			}
			i := slices.IndexFunc(pairKeys(n), func(key *yaml.Node) bool { return key.Value == k })
			if i < 0 {
				return line, col, false
			}
			key := n.Content[2*i]
			line, col, n = key.Line, key.Column, n.Content[2*i+1]
		case int:
			if n.Kind != yaml.SequenceNode || k < 0 || k >= len(n.Content) {
				return line, col, false
			}
			n = n.Content[k]
			line, col = n.Line, n.Column
		}
	}
	return line, col, true
}

func pairKeys(n *yaml.Node) []*yaml.Node {
	keys := make([]*yaml.Node, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		keys = append(keys, n.Content[i])
	}
	return keys
}

// has reports whether the key at path is written in the file.
func (v *validator) has(path ...any) bool {
	_, _, ok := v.pos(path)
	return ok
}

func (v *validator) errorf(path []any, format string, args ...any) {
	line, col, _ := v.pos(path)
	v.errs = append(v.errs, Error{File: v.file, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)})
}

// lineOf is the line of path, for messages such as "first at line 12".
func (v *validator) lineOf(path ...any) int {
	line, _, _ := v.pos(path)
	return line
}

// defaults fills names, ids and absent values, and replaces empty (null)
// map entries with empty structs so nothing downstream meets a nil.
func (v *validator) defaults() {
	c := v.cfg
	if !v.has("centre", "moh_class") {
		c.Centre.MOHClass = DefaultMOHClass
	}
	for i := range c.Languages {
		if c.Languages[i].Name == "" {
			c.Languages[i].Name = c.Languages[i].Code
		}
	}
	for name, n := range c.IVR.Nodes {
		if n == nil {
			n = &Node{}
			c.IVR.Nodes[name] = n
		}
		n.Name = name
		if !v.has("ivr", "nodes", name, "max_digits") {
			for key := range n.Digits {
				n.MaxDigits = max(n.MaxDigits, len(key))
			}
		}
		if !v.has("ivr", "nodes", name, "first_digit_timeout") {
			n.FirstDigitTimeout = Duration(DefaultFirstDigitTimeout)
		}
		if !v.has("ivr", "nodes", name, "inter_digit_timeout") {
			n.InterDigitTimeout = Duration(DefaultInterDigitTimeout)
		}
		if !v.has("ivr", "nodes", name, "retries") {
			n.Retries = DefaultRetries
		}
	}
	for id, t := range c.Topics {
		if t == nil {
			t = &Topic{}
			c.Topics[id] = t
		}
		t.ID = id
		if t.Name == "" {
			t.Name = id
		}
		if t.Skill == "" {
			t.Skill = id
		}
		if !v.has("topics", id, "ring_timeout") {
			t.RingTimeout = Duration(DefaultRingTimeout)
		}
		if !v.has("topics", id, "wrap_up") {
			t.WrapUp = Duration(DefaultWrapUp)
		}
		if !v.has("topics", id, "announce_every") {
			t.AnnounceEvery = Duration(DefaultAnnounceEvery)
		}
		if t.Selection == "" {
			t.Selection = SelectionBestLevel
		}
		if t.Selection == SelectionWeighted && !v.has("topics", id, "level_weight") {
			t.LevelWeight = DefaultLevelWeight
		}
	}
	for i := range c.Operators {
		if c.Operators[i].Name == "" {
			c.Operators[i].Name = c.Operators[i].ID
		}
	}
	if !v.has("agents", "max_no_answer") {
		c.Agents.MaxNoAnswer = DefaultMaxNoAnswer
	}
	if !v.has("agents", "reservation_lease") {
		c.Agents.ReservationLease = Duration(DefaultReservationLease)
	}
	if !v.has("records", "stream_max_len") {
		c.Records.StreamMaxLen = DefaultStreamMaxLen
	}
	if !v.has("recordings", "retention") {
		c.Recordings.Retention = DefaultRecordingRetention
	}
	v.callbackDefaults()
	v.deskDefaults()
}

// callbackDefaults fills the centre's callbacks: defaults, then gives every
// topic its merged rules: the centre's, with the keys the topic's own
// callbacks: section writes on top.
func (v *validator) callbackDefaults() {
	c := v.cfg
	r := &c.Callbacks
	has := func(key ...any) bool { return v.has(append(at("callbacks"), key...)...) }
	if !has("min_abandon_wait") {
		r.MinAbandonWait = Duration(DefaultCallbackMinAbandonWait)
	}
	if !has("drop_window") {
		r.DropWindow = Duration(DefaultCallbackDropWindow)
	}
	if !has("delays") {
		r.Delays = nil
		for _, d := range DefaultCallbackDelays {
			r.Delays = append(r.Delays, Duration(d))
		}
	}
	if !has("max_attempts") {
		r.MaxAttempts = DefaultCallbackMaxAttempts
	}
	if !has("expiry") {
		r.Expiry = Duration(DefaultCallbackExpiry)
	}
	if !has("mode") {
		r.Mode = CallbackAgentFirst
	}
	if !has("after_hours") {
		r.AfterHours = AfterHoursSchedule
	}
	if !has("virtual_hold", "min_wait") {
		r.VirtualHold.MinWait = Duration(DefaultVirtualHoldMinWait)
	}
	for id, t := range c.Topics {
		merged := r.clone()
		if o := t.Callbacks; o != nil {
			has := func(key ...any) bool { return v.has(append(at("topics", id, "callbacks"), key...)...) }
			if has("enabled") {
				merged.Enabled = o.Enabled
			}
			if has("min_abandon_wait") {
				merged.MinAbandonWait = o.MinAbandonWait
			}
			if has("drop_window") {
				merged.DropWindow = o.DropWindow
			}
			if has("delays") {
				merged.Delays = o.Delays
			}
			if has("max_attempts") {
				merged.MaxAttempts = o.MaxAttempts
			}
			if has("expiry") {
				merged.Expiry = o.Expiry
			}
			if has("mode") {
				merged.Mode = o.Mode
			}
			if has("allow") {
				merged.Allow = o.Allow
			}
			if has("deny") {
				merged.Deny = o.Deny
			}
			if has("after_hours") {
				merged.AfterHours = o.AfterHours
			}
			if has("bias") {
				merged.Bias = o.Bias
			}
			if has("virtual_hold", "enabled") {
				merged.VirtualHold.Enabled = o.VirtualHold.Enabled
			}
			if has("virtual_hold", "min_wait") {
				merged.VirtualHold.MinWait = o.VirtualHold.MinWait
			}
			if has("virtual_hold", "min_position") {
				merged.VirtualHold.MinPosition = o.VirtualHold.MinPosition
			}
		}
		t.Callbacks = &merged
	}
}

func (v *validator) validate() {
	v.centre()
	v.languages()
	v.hours()
	v.prompts()
	v.routerPrompts()
	v.ivr()
	v.topics()
	v.operators()
	v.agents()
	v.callbacks()
	v.desk()
	v.recordings()
}

// recordings: a caller is told they may be recorded exactly when their
// topic records. The notice is its own prompt (recording_notice), played
// to a recording topic's callers as they join its queue; any other prompt
// saying so (the welcome, a menu: played before or whatever the topic) is
// refused while some topic does not record, and a recording topic needs
// the notice.
func (v *validator) recordings() {
	c := v.cfg
	if c.Recordings.Retention <= 0 {
		v.errorf(at("recordings", "retention"), "recordings: retention must be more than zero (e.g. \"720h\")")
	}
	var silent, recording []string
	for _, id := range slices.Sorted(maps.Keys(c.Topics)) {
		if c.Topics[id].Record {
			recording = append(recording, id)
		} else {
			silent = append(silent, id)
		}
	}
	if len(recording) > 0 && !v.promptExists(RecordingNotice) {
		v.errorf(at("topics", recording[0], "record"), "topic %q records its conversations: prompt %q, which tells its callers so, does not exist in prompts", recording[0], RecordingNotice)
	}
	if len(silent) == 0 {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(c.Prompts)) {
		if name == RecordingNotice {
			continue
		}
		set := c.Prompts[name]
		for _, code := range slices.Sorted(maps.Keys(set)) {
			if w := recordingWord(set[code]); w != "" {
				v.errorf(at("prompts", name, code), "prompt %q (%s) tells callers they may be recorded (%q), but topic %q does not record: say it in prompt %q, played only to callers of topics with record: true", name, code, w, silent[0], RecordingNotice)
				break
			}
		}
	}
}

// recordingWord returns the first of RecordingWords in text, or "".
func recordingWord(text string) string {
	low := strings.ToLower(text)
	for _, w := range RecordingWords {
		if strings.Contains(low, w) {
			return w
		}
	}
	return ""
}

func (v *validator) centre() {
	c := v.cfg.Centre
	switch {
	case c.ID == "":
		v.errorf(at("centre", "id"), "centre: id is missing (it prefixes every Redis key; use lowercase letters, digits, \"-\" and \"_\")")
	case !keyID.MatchString(c.ID):
		v.errorf(at("centre", "id"), "centre: id %q may only contain lowercase letters, digits, \"-\" and \"_\" (it prefixes every Redis key)", c.ID)
	}
	if c.CountryCode != "" && !countryCode.MatchString(c.CountryCode) {
		v.errorf(at("centre", "country_code"), "centre: country_code %q must be 1 to 3 digits without \"+\"", c.CountryCode)
	}
	seen := map[string]int{}
	for i, n := range c.ShortNumbers {
		if !shortNumber.MatchString(n) {
			v.errorf(at("centre", "short_numbers", i), "centre: short number %q must be digits only", n)
		}
		if j, ok := seen[n]; ok {
			v.errorf(at("centre", "short_numbers", i), "centre: short number %q is listed twice (first at line %d)", n, v.lineOf("centre", "short_numbers", j))
		}
		seen[n] = i
	}
	if c.CallerID != "" && !phoneNumber.MatchString(c.CallerID) {
		v.errorf(at("centre", "caller_id"), "centre: caller_id %q must be digits with an optional leading \"+\"", c.CallerID)
	}
	if !mohClass.MatchString(c.MOHClass) {
		v.errorf(at("centre", "moh_class"), "centre: moh_class %q may only contain letters, digits, \"-\" and \"_\"", c.MOHClass)
	}
}

func (v *validator) languages() {
	if len(v.cfg.Languages) == 0 {
		v.errorf(at("languages"), "languages: at least one language is required")
	}
	first := map[string]int{}
	for i, l := range v.cfg.Languages {
		switch {
		case l.Code == "":
			v.errorf(at("languages", i), "languages[%d]: code is missing", i)
			continue
		case !langCode.MatchString(l.Code):
			v.errorf(at("languages", i, "code"), "languages[%d]: code %q is not a sound language code such as \"ru\" or \"en_GB\"", i, l.Code)
		case !spoken.Supports(l.Code):
			// Asterisk's number: media would say them in English or not
			// at all, so hotline renders its own and needs the words.
			v.errorf(at("languages", i, "code"), "languages[%d]: hotline cannot say numbers in %q (queue positions and waits are spoken in %s)", i, l.Code, strings.Join(spoken.Languages(), ", "))
		}
		if j, ok := first[l.Code]; ok {
			v.errorf(at("languages", i, "code"), "language %q is listed twice (first at line %d)", l.Code, v.lineOf("languages", j))
			continue
		}
		first[l.Code] = i
	}
}

// hasLanguage is Config.HasLanguage, kept local for readability below.
func (v *validator) hasLanguage(code string) bool { return v.cfg.HasLanguage(code) }

func (v *validator) languageList() string {
	codes := make([]string, len(v.cfg.Languages))
	for i, l := range v.cfg.Languages {
		codes[i] = l.Code
	}
	return strings.Join(codes, ", ")
}

func (v *validator) hours() {
	h := &v.cfg.Hours
	switch loc, err := time.LoadLocation(h.TimeZone); {
	case h.TimeZone == "":
		v.errorf(at("hours", "timezone"), "hours: timezone is missing (an IANA name such as Asia/Almaty)")
	case err != nil || h.TimeZone == "Local":
		// "Local" would make opening hours depend on the server's setting.
		v.errorf(at("hours", "timezone"), "hours: timezone %q is not a known IANA time zone (such as Asia/Almaty)", h.TimeZone)
	default:
		h.Location = loc
	}
	if len(h.Weekly) == 0 {
		v.errorf(at("hours", "weekly"), "hours: weekly is empty, so the centre would never be open")
	}
	h.sched = buildSchedule(*h, func(path []any, msg string) { v.errorf(path, "%s", msg) })
}

func (v *validator) prompts() {
	for _, name := range slices.Sorted(maps.Keys(v.cfg.Prompts)) {
		set := v.cfg.Prompts[name]
		if !promptName.MatchString(name) {
			v.errorf(at("prompts", name), "prompt %q: name may only contain lowercase letters, digits and \"_\" (it becomes a file name)", name)
		}
		if spoken.IsSoundName(name) {
			// hotline prompts renders these files itself.
			v.errorf(at("prompts", name), "prompt %q: the name is taken by the sounds hotline renders for numbers (number_N, minutes_N, position_N, wait_N, their _over_N, digit_D); choose another", name)
		}
		for _, l := range v.cfg.Languages {
			if strings.TrimSpace(set[l.Code]) == "" {
				v.errorf(at("prompts", name), "prompt %q has no text for language %q", name, l.Code)
			}
		}
		for code := range set {
			if !v.hasLanguage(code) {
				v.errorf(at("prompts", name, code), "prompt %q has text for language %q, which is not in languages", name, code)
			}
		}
	}
}

// routerPrompts: the prompts the router plays itself must exist.
func (v *validator) routerPrompts() {
	for _, p := range RouterPrompts {
		if !v.promptExists(p.Name) {
			v.errorf(at("prompts"), "prompts: %q is missing; hotline plays it %s", p.Name, p.Use)
		}
	}
}

func (v *validator) promptExists(name string) bool {
	_, ok := v.cfg.Prompts[name]
	return ok
}

func (v *validator) ivr() {
	ivr := v.cfg.IVR
	if len(ivr.Nodes) == 0 {
		v.errorf(at("ivr", "nodes"), "ivr: there are no nodes; the menu needs at least one")
	}
	switch _, ok := ivr.Nodes[ivr.Start]; {
	case ivr.Start == "":
		v.errorf(at("ivr", "start"), "ivr: start is missing; name the node callers hear first")
	case !ok:
		v.errorf(at("ivr", "start"), "ivr: start node %q does not exist", ivr.Start)
	}
	for name, n := range ivr.Nodes {
		v.node(name, n)
	}
	v.silentLoops()
}

func (v *validator) node(name string, n *Node) {
	base := at("ivr", "nodes", name)
	where := fmt.Sprintf("ivr node %q", name)
	for i, p := range n.Prompts {
		if !v.promptExists(p) {
			v.errorf(append(base, "prompts", i), "%s: prompt %q does not exist in prompts", where, p)
		}
	}
	for _, f := range []struct{ key, val string }{{"invalid_prompt", n.InvalidPrompt}, {"timeout_prompt", n.TimeoutPrompt}} {
		if f.val != "" && !v.promptExists(f.val) {
			v.errorf(append(base, f.key), "%s: %s %q does not exist in prompts", where, f.key, f.val)
		}
	}
	if len(n.Digits) == 0 && n.Default == nil {
		v.errorf(base, "%s has neither digits nor a default action, so callers could go nowhere", where)
	}
	if v.has(append(base, "max_digits")...) && n.MaxDigits < 1 {
		v.errorf(append(base, "max_digits"), "%s: max_digits is %d; it must be at least 1", where, n.MaxDigits)
	}
	if n.Retries < 0 {
		v.errorf(append(base, "retries"), "%s: retries is %d; it must be zero or more", where, n.Retries)
	}
	if n.FirstDigitTimeout <= 0 {
		v.errorf(append(base, "first_digit_timeout"), "%s: first_digit_timeout must be more than zero", where)
	}
	if n.InterDigitTimeout <= 0 {
		v.errorf(append(base, "inter_digit_timeout"), "%s: inter_digit_timeout must be more than zero", where)
	}
	for key, a := range n.Digits {
		kp := append(slices.Clone(base), "digits", key)
		if !digitKey.MatchString(key) {
			v.errorf(kp, "%s: digit key %q may only use 0-9, * and #", where, key)
		} else if n.MaxDigits >= 1 && len(key) > n.MaxDigits {
			v.errorf(kp, "%s: digit %q is longer than max_digits %d", where, key, n.MaxDigits)
		}
		v.action(kp, fmt.Sprintf("%s: digit %q", where, key), a)
	}
	if n.Default != nil {
		v.action(append(slices.Clone(base), "default"), where+": default", n.Default)
	}
}

// actionFields lists, per action type, the keys it needs and the keys it
// may have. Anything else is a mistake: a queue action with a "next" would
// silently never go there.
var actionFields = map[ActionType]struct{ need, may []string }{
	ActionSetLanguage: {need: []string{"language", "next"}},
	ActionGoto:        {need: []string{"next"}},
	ActionInfo:        {need: []string{"prompt", "next"}},
	ActionQueue:       {need: []string{"topic"}, may: []string{"priority"}},
	ActionTransfer:    {need: []string{"number"}},
	ActionHangup:      {may: []string{"prompt"}},
}

var actionNames = "set_language, goto, info, queue, transfer, hangup"

var fieldNoun = map[string]string{
	"language": "a language", "next": "a next node", "prompt": "a prompt", "topic": "a topic", "number": "a number",
}

// action checks one menu choice; path locates it and who names it in
// messages ("ivr node "main": digit "1"").
func (v *validator) action(path []any, who string, a *Action) {
	path = slices.Clip(path) // appends below must not share a backing array
	if a == nil {
		v.errorf(path, "%s has no action (one of %s)", who, actionNames)
		return
	}
	if a.Type == "" {
		v.errorf(path, "%s has no action (one of %s)", who, actionNames)
		return
	}
	fields, ok := actionFields[a.Type]
	if !ok {
		v.errorf(append(path, "action"), "%s has unknown action %q (one of %s)", who, a.Type, actionNames)
		return
	}
	values := map[string]string{"language": a.Language, "next": a.Next, "prompt": a.Prompt, "topic": a.Topic, "number": a.Number}
	for _, f := range fields.need {
		if values[f] == "" {
			v.errorf(path, "%s (%s) needs %s", who, a.Type, fieldNoun[f])
		}
	}
	for _, f := range []string{"language", "next", "prompt", "topic", "number", "priority"} {
		if v.has(append(path, f)...) && !slices.Contains(fields.need, f) && !slices.Contains(fields.may, f) {
			v.errorf(append(path, f), "%s (%s) does not take %q", who, a.Type, f)
		}
	}
	if slices.Contains(fields.need, "next") && a.Next != "" {
		if _, ok := v.cfg.IVR.Nodes[a.Next]; !ok {
			v.errorf(append(path, "next"), "%s goes to node %q, which does not exist", who, a.Next)
		}
	}
	if a.Type == ActionSetLanguage && a.Language != "" && !v.hasLanguage(a.Language) {
		v.errorf(append(path, "language"), "%s sets language %q, which is not in languages (%s)", who, a.Language, v.languageList())
	}
	if (a.Type == ActionInfo || a.Type == ActionHangup) && a.Prompt != "" && !v.promptExists(a.Prompt) {
		v.errorf(append(path, "prompt"), "%s plays prompt %q, which does not exist in prompts", who, a.Prompt)
	}
	if a.Type == ActionQueue && a.Topic != "" {
		if _, ok := v.cfg.Topics[a.Topic]; !ok {
			v.errorf(append(path, "topic"), "%s queues to topic %q, which does not exist", who, a.Topic)
		}
	}
	if a.Type == ActionTransfer && a.Number != "" && !phoneNumber.MatchString(a.Number) {
		v.errorf(append(path, "number"), "%s transfers to %q, which is not a phone number (digits with an optional leading \"+\")", who, a.Number)
	}
}

// silentLoops finds cycles of goto/set_language moves between nodes that
// play no prompt. A caller caught in one hears nothing, forever: the IVR
// would spin through the nodes (via default) or wait in silence.
func (v *validator) silentLoops() {
	nodes := v.cfg.IVR.Nodes
	silent := func(name string) bool { n, ok := nodes[name]; return ok && len(n.Prompts) == 0 }
	edges := map[string][]string{}
	for name, n := range nodes {
		if !silent(name) {
			continue
		}
		acts := slices.Collect(maps.Values(n.Digits))
		acts = append(acts, n.Default)
		for _, a := range acts {
			if a != nil && (a.Type == ActionGoto || a.Type == ActionSetLanguage) && silent(a.Next) {
				edges[name] = append(edges[name], a.Next)
			}
		}
		slices.Sort(edges[name])
		edges[name] = slices.Compact(edges[name])
	}
	for _, scc := range stronglyConnected(edges) {
		if len(scc) == 1 && !slices.Contains(edges[scc[0]], scc[0]) {
			continue
		}
		// Report at the node written first, and walk the cycle from there.
		slices.SortFunc(scc, func(a, b string) int { return v.lineOf("ivr", "nodes", a) - v.lineOf("ivr", "nodes", b) })
		cycle := cyclePath(scc[0], edges, scc)
		v.errorf(at("ivr", "nodes", scc[0]), "ivr node %q: goto/set_language actions loop %s through nodes without prompts; callers would wait in silence forever",
			scc[0], strings.Join(cycle, " → "))
	}
}

// stronglyConnected is Tarjan's algorithm over a small graph, visiting
// nodes in sorted order so results are stable.
func stronglyConnected(edges map[string][]string) [][]string {
	index, low := map[string]int{}, map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var out [][]string
	next := 0
	var visit func(string)
	visit = func(n string) {
		index[n], low[n] = next, next
		next++
		stack = append(stack, n)
		onStack[n] = true
		for _, m := range edges[n] {
			if _, seen := index[m]; !seen {
				visit(m)
				low[n] = min(low[n], low[m])
			} else if onStack[m] {
				low[n] = min(low[n], index[m])
			}
		}
		if low[n] == index[n] {
			var scc []string
			for {
				m := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[m] = false
				scc = append(scc, m)
				if m == n {
					break
				}
			}
			out = append(out, scc)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(edges)) {
		if _, seen := index[n]; !seen {
			visit(n)
		}
	}
	return out
}

// cyclePath returns a cycle from start back to start within scc, found by
// breadth-first search so that it is the shortest one.
func cyclePath(start string, edges map[string][]string, scc []string) []string {
	in := map[string]bool{}
	for _, n := range scc {
		in[n] = true
	}
	prev := map[string]string{}
	queue := []string{start}
	seen := map[string]bool{}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, m := range edges[n] {
			if m == start {
				path := []string{start}
				for x := n; x != start; x = prev[x] {
					path = append(path, x)
				}
				slices.Reverse(path[1:])
				return append(path, start)
			}
			if in[m] && !seen[m] {
				seen[m] = true
				prev[m] = n
				queue = append(queue, m)
			}
		}
	}
	return []string{start, start}
}

func (v *validator) topics() {
	topics := v.cfg.Topics
	for _, id := range slices.Sorted(maps.Keys(topics)) {
		t := topics[id]
		base := at("topics", id)
		where := fmt.Sprintf("topic %q", id)
		if !keyID.MatchString(id) {
			v.errorf(base, "%s: id may only contain lowercase letters, digits, \"-\" and \"_\" (it is part of Redis keys)", where)
		}
		if !keyID.MatchString(t.Skill) {
			v.errorf(at("topics", id, "skill"), "%s: skill %q may only contain lowercase letters, digits, \"-\" and \"_\"", where, t.Skill)
		}
		sl := t.ServiceLevel
		if sl.Percent < 0 || sl.Percent > 100 {
			v.errorf(at("topics", id, "service_level", "percent"), "%s: service_level percent %g is not between 0 and 100", where, sl.Percent)
		}
		if sl.Percent > 0 && sl.Within <= 0 {
			v.errorf(at("topics", id, "service_level"), "%s: service_level needs within (e.g. \"20s\") when percent is set", where)
		}
		if t.MaxQueue < 0 {
			v.errorf(at("topics", id, "max_queue"), "%s: max_queue is %d; it must be zero (no cap) or more", where, t.MaxQueue)
		}
		if t.RingTimeout <= 0 {
			v.errorf(at("topics", id, "ring_timeout"), "%s: ring_timeout must be more than zero", where)
		}
		if t.Overflow != "" {
			if _, ok := topics[t.Overflow]; !ok {
				v.errorf(at("topics", id, "overflow"), "%s: overflow goes to topic %q, which does not exist", where, t.Overflow)
			}
			if t.MaxWait <= 0 {
				v.errorf(at("topics", id, "overflow"), "%s: overflow needs max_wait, the wait after which callers move", where)
			}
		}
		switch t.Selection {
		case SelectionBestLevel:
			if v.has("topics", id, "level_weight") {
				v.errorf(at("topics", id, "level_weight"), "%s: level_weight applies only to selection weighted (selection is %s)", where, t.Selection)
			}
		case SelectionWeighted:
			if t.LevelWeight <= 0 {
				v.errorf(at("topics", id, "level_weight"), "%s: level_weight must be more than zero: the idle time one skill level is worth (e.g. \"1m\")", where)
			}
		default:
			v.errorf(at("topics", id, "selection"), "%s: selection %q is not %s or %s", where, t.Selection, SelectionBestLevel, SelectionWeighted)
		}
		if t.PriorityAgeing > 0 && t.PriorityAgeing < MinPriorityAgeing {
			v.errorf(at("topics", id, "priority_ageing"), "%s: priority_ageing %s is shorter than %s; write 0s for none, or e.g. \"30s\" for one priority step per 30 s waited", where, t.PriorityAgeing, MinPriorityAgeing)
		}
		if !v.someOperatorHas(t.Skill) {
			v.errorf(base, "%s: no operator has skill %q, so its callers would never be answered", where, t.Skill)
		}
	}
	// Overflow is at most one edge per topic, so a cycle is found by
	// following it; report each cycle once, at its first-written topic.
	reported := map[string]bool{}
	for _, id := range slices.Sorted(maps.Keys(topics)) {
		var path []string
		seenAt := map[string]int{}
		for cur := id; cur != "" && !reported[cur]; cur = topicOverflow(topics, cur) {
			if i, ok := seenAt[cur]; ok {
				cycle := path[i:]
				for _, c := range cycle {
					reported[c] = true
				}
				slices.SortFunc(cycle, func(a, b string) int { return v.lineOf("topics", a) - v.lineOf("topics", b) })
				first := cycle[0]
				walk := []string{first}
				for c := topics[first].Overflow; c != first; c = topics[c].Overflow {
					walk = append(walk, c)
				}
				walk = append(walk, first)
				v.errorf(at("topics", first, "overflow"), "topic %q: overflow loops %s; callers would be moved round forever", first, strings.Join(walk, " → "))
				break
			}
			seenAt[cur] = len(path)
			path = append(path, cur)
		}
	}
}

func topicOverflow(topics map[string]*Topic, id string) string {
	if t, ok := topics[id]; ok {
		return t.Overflow
	}
	return ""
}

func (v *validator) someOperatorHas(skill string) bool {
	for _, op := range v.cfg.Operators {
		if op.Skills[skill] >= 1 {
			return true
		}
	}
	return false
}

func (v *validator) operators() {
	firstID := map[string]int{}
	firstEndpoint := map[string]int{}
	for i, op := range v.cfg.Operators {
		base := at("operators", i)
		where := fmt.Sprintf("operator %q", op.ID)
		switch {
		case op.ID == "":
			where = fmt.Sprintf("operators[%d]", i)
			v.errorf(base, "%s: id is missing", where)
		case !operatorID.MatchString(op.ID):
			v.errorf(at("operators", i, "id"), "%s: id may only contain letters, digits, \".\", \"-\" and \"_\"", where)
		}
		if j, ok := firstID[op.ID]; ok && op.ID != "" {
			v.errorf(at("operators", i, "id"), "operator %q is listed twice (first at line %d)", op.ID, v.lineOf("operators", j))
		} else {
			firstID[op.ID] = i
		}
		switch {
		case op.Endpoint == "":
			v.errorf(base, "%s: endpoint is missing (e.g. PJSIP/1001)", where)
		case !endpoint.MatchString(op.Endpoint):
			v.errorf(at("operators", i, "endpoint"), "%s: endpoint %q does not look like TECH/resource (e.g. PJSIP/1001)", where, op.Endpoint)
		default:
			if j, ok := firstEndpoint[op.Endpoint]; ok {
				v.errorf(at("operators", i, "endpoint"), "%s: endpoint %q is also used by operator %q", where, op.Endpoint, v.cfg.Operators[j].ID)
			} else {
				firstEndpoint[op.Endpoint] = i
			}
		}
		if len(op.Skills) == 0 {
			v.errorf(base, "%s has no skills, so no call would ever be offered to it", where)
		}
		for _, skill := range slices.Sorted(maps.Keys(op.Skills)) {
			if lvl := op.Skills[skill]; lvl < 1 || lvl > 10 {
				v.errorf(at("operators", i, "skills", skill), "%s: skill %q level %d is not between 1 and 10", where, skill, lvl)
			}
		}
		if len(op.Languages) == 0 {
			v.errorf(base, "%s speaks no language; list at least one of %s", where, v.languageList())
		}
		for j, code := range op.Languages {
			if !v.hasLanguage(code) {
				v.errorf(at("operators", i, "languages", j), "%s: language %q is not in languages (%s)", where, code, v.languageList())
			}
		}
	}
}

func (v *validator) agents() {
	a := v.cfg.Agents
	if a.MaxNoAnswer < 1 {
		v.errorf(at("agents", "max_no_answer"), "agents: max_no_answer is %d; it must be at least 1", a.MaxNoAnswer)
	}
	if a.ReservationLease <= 0 {
		v.errorf(at("agents", "reservation_lease"), "agents: reservation_lease must be more than zero")
	} else {
		// A reservation covers the ringing; if it lapsed first, a second
		// instance could offer the same operator another call mid-ring.
		for _, id := range slices.Sorted(maps.Keys(v.cfg.Topics)) {
			t := v.cfg.Topics[id]
			if t.RingTimeout > 0 && a.ReservationLease <= t.RingTimeout {
				v.errorf(at("agents", "reservation_lease"), "agents: reservation_lease %s is not longer than topic %q ring_timeout %s; reservations would expire while phones ring",
					a.ReservationLease, id, t.RingTimeout)
			}
		}
	}
	if v.cfg.Records.StreamMaxLen < 1 {
		v.errorf(at("records", "stream_max_len"), "records: stream_max_len is %d; it must be more than zero", v.cfg.Records.StreamMaxLen)
	}
}

// callbacks checks the centre's callbacks: section, each topic's override
// (only the keys it writes: the rest were checked at the centre), and what
// enabled callbacks need from the rest of the file.
func (v *validator) callbacks() {
	c := v.cfg
	v.callbackRules(at("callbacks"), "callbacks", c.Callbacks, func(...any) bool { return true })
	type place struct {
		path  []any
		where string
	}
	var enabled []place
	if c.Callbacks.Enabled {
		enabled = append(enabled, place{at("callbacks", "enabled"), "callbacks"})
	}
	for _, id := range slices.Sorted(maps.Keys(c.Topics)) {
		t := c.Topics[id]
		base := at("topics", id, "callbacks")
		where := fmt.Sprintf("topic %q: callbacks", id)
		if t.Callbacks == nil {
			continue
		}
		v.callbackRules(base, where, *t.Callbacks, func(key ...any) bool { return v.has(append(slices.Clone(base), key...)...) })
		if t.Callbacks.Enabled && v.has("topics", id, "callbacks", "enabled") {
			enabled = append(enabled, place{at("topics", id, "callbacks", "enabled"), where})
		}
	}
	if len(enabled) == 0 {
		return
	}
	// Say what is missing once, where callbacks are first switched on.
	slices.SortStableFunc(enabled, func(a, b place) int { return v.lineOf(a.path...) - v.lineOf(b.path...) })
	first := enabled[0]
	if c.Centre.CountryCode == "" {
		v.errorf(first.path, "%s: enabled needs centre country_code to read national numbers (e.g. \"7\")", first.where)
	}
	if c.Centre.CallerID == "" {
		v.errorf(first.path, "%s: enabled needs centre caller_id, the number citizens see when the hotline calls back", first.where)
	}
	need := slices.Clone(CallbackPrompts)
	if c.CallbacksVirtualHold() {
		need = append(need, "callback_offer")
	}
	for _, p := range need {
		if !v.promptExists(p) {
			v.errorf(first.path, "%s: enabled needs prompt %q, which does not exist in prompts", first.where, p)
		}
	}
}

// callbackRules checks one set of callback rules; present says which keys
// are written at base (only those are checked).
func (v *validator) callbackRules(base []any, where string, r CallbackRules, present func(key ...any) bool) {
	p := func(key ...any) []any { return append(slices.Clone(base), key...) }
	if present("mode") && r.Mode != CallbackAgentFirst && r.Mode != CallbackCustomerFirst {
		v.errorf(p("mode"), "%s: mode %q is not %s or %s", where, r.Mode, CallbackAgentFirst, CallbackCustomerFirst)
	}
	if present("after_hours") && r.AfterHours != AfterHoursSchedule && r.AfterHours != AfterHoursOffer {
		v.errorf(p("after_hours"), "%s: after_hours %q is not %s or %s", where, r.AfterHours, AfterHoursSchedule, AfterHoursOffer)
	}
	if present("max_attempts") && r.MaxAttempts < 1 {
		v.errorf(p("max_attempts"), "%s: max_attempts is %d; it must be at least 1", where, r.MaxAttempts)
	}
	if present("delays") && len(r.Delays) == 0 {
		v.errorf(p("delays"), "%s: delays is empty; list the waits before each attempt (e.g. [2m, 10m, 30m, 2h])", where)
	}
	if present("virtual_hold", "min_position") && r.VirtualHold.MinPosition < 0 {
		v.errorf(p("virtual_hold", "min_position"), "%s: virtual_hold min_position is %d; it must be zero (off) or more", where, r.VirtualHold.MinPosition)
	}
	for _, list := range []struct {
		key      string
		patterns []string
	}{{"allow", r.Allow}, {"deny", r.Deny}} {
		if !present(list.key) {
			continue
		}
		seen := map[string]int{}
		for i, pat := range list.patterns {
			if !numberPattern.MatchString(pat) {
				v.errorf(p(list.key, i), "%s: %s pattern %q must be \"+\" then digits, with \"?\" for any one digit and an optional final \"*\" (e.g. \"+7809*\")", where, list.key, pat)
			}
			if j, ok := seen[pat]; ok {
				v.errorf(p(list.key, i), "%s: %s pattern %q is listed twice (first at line %d)", where, list.key, pat, v.lineOf(p(list.key, j)...))
			}
			seen[pat] = i
		}
	}
}
