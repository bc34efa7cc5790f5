package asteriskconf

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// AppModules maps dialplan applications to the module providing them;
// "" means the Asterisk core (pbx_builtins / pbx_app). An application not
// listed here is reported, so a new one gets a conscious modules.conf line.
var AppModules = map[string]string{
	"answer": "", "hangup": "", "goto": "", "gotoif": "", "noop": "", "set": "",
	"mset": "", "wait": "", "progress": "", "ringing": "", "busy": "",
	"congestion": "", "background": "", "waitexten": "",
	"stasis":          "app_stasis",
	"stasisbroadcast": "app_stasis_broadcast",
	"queue":           "app_queue",
	"playback":        "app_playback",
	"dial":            "app_dial",
	"verbose":         "app_verbose",
	"log":             "app_verbose",
	"execif":          "app_exec",
	"gosub":           "app_stack",
	"return":          "app_stack",
	"dbdel":           "app_db",
}

// FuncModules maps dialplan functions to their modules ("" for core).
var FuncModules = map[string]string{
	"DB": "func_db", "DB_DELETE": "func_db", "DB_EXISTS": "func_db", "DB_KEYS": "func_db",
	"CALLERID": "func_callerid", "CONNECTEDLINE": "func_callerid",
	"TOLOWER": "func_strings", "TOUPPER": "func_strings", "LEN": "func_strings", "FILTER": "func_strings",
	"SHIFT": "func_strings", "POP": "func_strings",
	"IF": "func_logic", "ISNULL": "func_logic", "EXISTS": "func_logic", "SET": "func_logic",
	"CHANNEL":      "func_channel",
	"PJSIP_HEADER": "res_pjsip_header_funcs",
	"GLOBAL":       "func_global",
	"SHARED":       "func_global",
	"STRFTIME":     "func_strings",
}

// Modules is modules.conf: which modules load.
type Modules struct {
	Autoload bool
	Load     map[string]string // module name without .so -> "load"/"require"/"preload"/...
	NoLoad   map[string]bool
}

// ParseModules reads the [modules] section of a parsed modules.conf.
func ParseModules(f *File) (*Modules, error) {
	m := &Modules{Autoload: true, Load: map[string]string{}, NoLoad: map[string]bool{}}
	s := f.Section("modules", "")
	if s == nil {
		return nil, fmt.Errorf("%s: no [modules] section", f.Path)
	}
	for _, e := range s.Entries {
		name := strings.TrimSuffix(strings.TrimSpace(e.Value), ".so")
		switch strings.ToLower(e.Key) {
		case "autoload":
			m.Autoload = isTrue(e.Value)
		case "load", "require", "preload", "preload-require":
			if prev, dup := m.Load[name]; dup {
				return nil, fmt.Errorf("%s: %s listed twice (%s)", e.Pos, name, prev)
			}
			m.Load[name] = strings.ToLower(e.Key)
		case "noload":
			m.NoLoad[name] = true
		default:
			return nil, fmt.Errorf("%s: unknown modules.conf key %q", e.Pos, e.Key)
		}
	}
	return m, nil
}

// Loads reports whether module mod is loaded.
func (m *Modules) Loads(mod string) bool {
	if m.NoLoad[mod] {
		return false
	}
	_, ok := m.Load[mod]
	return ok || m.Autoload
}

func isTrue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "yes", "true", "on", "1", "y":
		return true
	}
	return false
}

// Deploy is the parsed set of hotline's Asterisk configuration files.
type Deploy struct {
	Dir        string
	Modules    *Modules
	PJSIP      *File
	Extensions *File
	Dialplan   *Dialplan
	Queues     *File
	ARI        *File
	HTTP       *File
	MOH        *File
	RTP        *File
}

// LoadDeploy parses the files of dir (deploy/asterisk). Missing
// #includes are tolerated (secrets live outside the repository).
func LoadDeploy(dir string) (*Deploy, error) {
	d := &Deploy{Dir: dir}
	load := func(name string) (*File, error) {
		f, err := Load(filepath.Join(dir, name), Options{AllowMissingIncludes: true})
		if err != nil {
			return nil, err
		}
		if len(f.Orphans) > 0 {
			return nil, fmt.Errorf("%s: entry outside any [section]", f.Orphans[0].Pos)
		}
		return f, nil
	}
	var err error
	mf, err := load("modules.conf")
	if err != nil {
		return nil, err
	}
	if d.Modules, err = ParseModules(mf); err != nil {
		return nil, err
	}
	for _, x := range []struct {
		name string
		dst  **File
	}{
		{"pjsip.conf", &d.PJSIP}, {"extensions.conf", &d.Extensions}, {"queues.conf", &d.Queues},
		{"ari.conf", &d.ARI}, {"http.conf", &d.HTTP}, {"musiconhold.conf", &d.MOH}, {"rtp.conf", &d.RTP},
	} {
		if *x.dst, err = load(x.name); err != nil {
			return nil, err
		}
	}
	if d.Dialplan, err = ParseDialplan(d.Extensions); err != nil {
		return nil, err
	}
	return d, nil
}

// Check runs the consistency checks that need no Asterisk binary and
// returns one message per problem:
//   - pjsip.conf: templates exist; endpoints' auth, aors, transport and
//     outbound_auth exist with the right type; identify/registration point
//     at existing endpoints; endpoint contexts exist in the dialplan;
//   - extensions.conf: includes and static Goto/GotoIf targets exist;
//   - queues.conf: members are PJSIP endpoints; Queue() names exist;
//     musicclass exists in musiconhold.conf;
//   - modules.conf loads the modules the applications, functions and
//     files need.
func (d *Deploy) Check() []string {
	var probs []string
	add := func(format string, a ...any) { probs = append(probs, fmt.Sprintf(format, a...)) }

	for _, f := range []*File{d.PJSIP, d.Extensions, d.Queues, d.ARI, d.HTTP, d.MOH, d.RTP} {
		probs = append(probs, f.MissingTemplates()...)
	}

	// --- pjsip.conf ---
	p := d.PJSIP
	known := map[string]bool{"global": true, "system": true, "transport": true, "endpoint": true, "auth": true,
		"aor": true, "identify": true, "registration": true, "acl": true, "domain_alias": true, "contact": true, "phoneprov": true}
	for _, s := range p.Sections {
		if s.Template {
			continue
		}
		t, ok := p.Value(s, "type")
		if !ok {
			add("%s pjsip.conf [%s] has no type=", s.Pos, s.Name)
		} else if !known[t] {
			add("%s pjsip.conf [%s] has unknown type=%s", s.Pos, s.Name, t)
		}
	}
	refs := func(s *Section, key, typ string) {
		for _, v := range p.Values(s, key) {
			for _, name := range strings.Split(v, ",") {
				name = strings.TrimSpace(name)
				if name != "" && p.Section(name, typ) == nil {
					add("%s pjsip.conf [%s] %s=%s: no type=%s section [%s]", s.Pos, s.Name, key, v, typ, name)
				}
			}
		}
	}
	for _, s := range p.OfType("endpoint") {
		refs(s, "auth", "auth")
		refs(s, "outbound_auth", "auth")
		refs(s, "aors", "aor")
		refs(s, "transport", "transport")
		ctx, ok := p.Value(s, "context")
		if !ok {
			add("%s pjsip.conf endpoint [%s] has no context= (it would land in [default])", s.Pos, s.Name)
		} else if d.Dialplan.Contexts[ctx] == nil {
			add("%s pjsip.conf endpoint [%s] context=%s does not exist in extensions.conf", s.Pos, s.Name, ctx)
		}
		// Citizens must not be shown whom they are bridged to (the operator
		// leg's caller ID carries the topic and language).
		if ctx == "from-citizens" {
			if v, _ := p.Value(s, "send_connected_line"); v != "no" {
				add("%s pjsip.conf endpoint [%s] (context from-citizens) must set send_connected_line=no: "+
					"bridging would re-INVITE the citizen with the operator leg's caller ID", s.Pos, s.Name)
			}
		}
		if a, ok := p.Value(s, "aors"); !ok || strings.TrimSpace(a) == "" {
			add("%s pjsip.conf endpoint [%s] has no aors= (it cannot be called)", s.Pos, s.Name)
		}
	}
	for _, s := range p.OfType("identify") {
		refs(s, "endpoint", "endpoint")
		if len(p.Values(s, "match")) == 0 {
			add("%s pjsip.conf identify [%s] has no match=", s.Pos, s.Name)
		}
	}
	for _, s := range p.OfType("registration") {
		refs(s, "outbound_auth", "auth")
		refs(s, "transport", "transport")
		refs(s, "endpoint", "endpoint")
	}
	for _, s := range p.OfType("auth") {
		at, _ := p.Value(s, "auth_type")
		if _, ok := p.Value(s, "username"); !ok && at != "google_oauth" {
			add("%s pjsip.conf auth [%s] has no username=", s.Pos, s.Name)
		}
	}

	// --- extensions.conf ---
	dp := d.Dialplan
	for _, name := range dp.Order {
		c := dp.Contexts[name]
		for _, inc := range c.Includes {
			if dp.Contexts[inc] == nil {
				add("%s extensions.conf [%s] includes unknown context %q", c.Pos, name, inc)
			}
		}
		for _, e := range c.Extensions {
			for _, st := range e.Steps {
				for _, t := range st.Targets(name) {
					if t.Dynamic() {
						continue
					}
					if _, ok := dp.Resolve(t); !ok {
						add("%s extensions.conf %s(%s): target %s does not exist", st.Pos, st.App, st.Args, t)
					}
				}
			}
		}
	}

	// --- queues.conf ---
	queues := map[string]bool{}
	for _, s := range d.Queues.Sections {
		if s.Name == "general" || s.Template {
			continue
		}
		queues[s.Name] = true
		for _, m := range d.Queues.Values(s, "member") {
			iface := strings.TrimSpace(strings.Split(m, ",")[0])
			tech, res, _ := strings.Cut(iface, "/")
			if !strings.EqualFold(tech, "PJSIP") || p.Section(res, "endpoint") == nil {
				add("%s queues.conf [%s] member %s is not a PJSIP endpoint of pjsip.conf", s.Pos, s.Name, iface)
			}
		}
		if mc, ok := d.Queues.Value(s, "musicclass"); ok && d.MOH.Section(mc, "") == nil {
			add("%s queues.conf [%s] musicclass=%s is not in musiconhold.conf", s.Pos, s.Name, mc)
		}
	}

	// --- modules.conf vs what the files use ---
	need := map[string]string{ // module -> why
		"pbx_config": "extensions.conf", "res_pjsip": "pjsip.conf", "chan_pjsip": "PJSIP endpoints",
		"res_pjsip_session": "PJSIP calls", "res_pjsip_sdp_rtp": "PJSIP audio", "res_rtp_asterisk": "rtp.conf / RTP",
		"res_ari": "ari.conf", "res_ari_channels": "ARI channels", "res_ari_bridges": "ARI bridges",
		"res_ari_events": "ARI WebSocket", "res_ari_applications": "ARI eventFilter/subscription",
		"res_ari_playbacks": "ARI playback stop", "res_ari_endpoints": "ARI endpoint state",
		"res_ari_asterisk": "ARI /asterisk/info", "res_stasis": "Stasis apps", "res_stasis_playback": "ARI play",
		"res_stasis_answer": "ARI answer", "res_http_websocket": "ARI WebSocket", "res_musiconhold": "musiconhold.conf",
		"res_sorcery_config": "res_pjsip", "res_sorcery_memory": "res_pjsip", "res_sorcery_astdb": "res_pjsip",
		"res_pjproject": "res_pjsip", "bridge_simple": "ARI mixing bridges", "res_timing_timerfd": "MOH/bridge timing",
		// Local channels (dbsync, transfers, tests) run at slin192: 8 kHz
		// prompts need a resampler or their playback fails at once.
		"codec_resample": "8 kHz prompts on Local channels (slin192)",
	}
	if len(p.OfType("identify")) > 0 {
		need["res_pjsip_endpoint_identifier_ip"] = "pjsip.conf type=identify"
	}
	if len(p.OfType("auth")) > 0 {
		need["res_pjsip_authenticator_digest"] = "pjsip.conf type=auth"
		need["res_pjsip_endpoint_identifier_user"] = "endpoints identified by user"
	}
	for _, s := range p.OfType("aor") {
		// An aor with a fixed contact is a trunk: a qualify the far end
		// ignores would make it Unreachable and fail every callback.
		if c, _ := p.Value(s, "contact"); c != "" {
			if v, _ := p.Value(s, "qualify_frequency"); v != "" && v != "0" {
				add("%s pjsip.conf aor [%s] (a trunk: contact=%s) has qualify_frequency=%s: a carrier that ignores OPTIONS "+
					"would become Unreachable and every callback would fail; use 0 unless the carrier answers OPTIONS", s.Pos, s.Name, c, v)
			}
		}
		if v, _ := p.Value(s, "max_contacts"); v != "" && v != "0" {
			need["res_pjsip_registrar"] = "pjsip.conf aor max_contacts (registrations)"
		}
	}
	if len(p.OfType("registration")) > 0 {
		need["res_pjsip_outbound_registration"] = "pjsip.conf type=registration"
	}
	for _, s := range p.OfType("endpoint") {
		for _, a := range p.Values(s, "allow") {
			for _, c := range strings.Split(a, ",") {
				switch strings.TrimSpace(c) {
				case "ulaw":
					need["codec_ulaw"] = "allow=ulaw"
				case "alaw":
					need["codec_alaw"] = "allow=alaw"
				case "gsm":
					need["codec_gsm"] = "allow=gsm"
				}
			}
		}
		if v, _ := p.Value(s, "dtmf_mode"); v == "info" {
			need["res_pjsip_dtmf_info"] = "dtmf_mode=info"
		}
	}
	for _, name := range dp.Order {
		for _, e := range dp.Contexts[name].Extensions {
			for _, st := range e.Steps {
				mod, ok := AppModules[strings.ToLower(st.App)]
				if !ok {
					add("%s extensions.conf: application %s is not in asteriskconf.AppModules; add it with its module", st.Pos, st.App)
				} else if mod != "" {
					need[mod] = st.App + "()"
				}
				if strings.EqualFold(st.App, "Queue") {
					if q := strings.TrimSpace(SplitArgs(st.Args)[0]); !strings.Contains(q, "${") && !queues[q] {
						add("%s extensions.conf Queue(%s): no queue [%s] in queues.conf", st.Pos, st.Args, q)
					}
				}
				for _, fn := range st.Functions() {
					mod, ok := FuncModules[fn]
					if !ok {
						add("%s extensions.conf: function %s is not in asteriskconf.FuncModules; add it with its module", st.Pos, fn)
					} else if mod != "" {
						need[mod] = fn + "()"
					}
				}
			}
		}
	}
	mods := make([]string, 0, len(need))
	for m := range need {
		mods = append(mods, m)
	}
	sort.Strings(mods)
	for _, m := range mods {
		if !d.Modules.Loads(m) {
			add("modules.conf does not load %s.so (needed by %s)", m, need[m])
		}
	}

	// --- includes that are meant to be provided at install time ---
	for _, f := range []*File{d.PJSIP, d.Extensions, d.Queues, d.ARI, d.HTTP, d.MOH, d.RTP} {
		for _, inc := range f.Includes {
			if inc.Missing && !inc.Try {
				if _, err := os.Stat(filepath.Join(d.Dir, inc.Path+".example")); err != nil {
					add("%s #include %q is missing and has no %s.example", inc.Pos, inc.Path, inc.Path)
				}
			}
		}
	}
	return probs
}
