package emulator

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// The emulator's AstDB and the dialplan around it (deploy/asterisk/
// extensions.conf): the func_db functions a channel variable can name
// (refused over ARI where Asterisk refuses them), the [hotline-fallback]
// context a caller reaches when Stasis() fails (Options.Fallback), and the
// Local channels hotline originates to read the AstDB back
// ([hotline-dbsync], dbsync.go).

// MissedFamily is the AstDB family in which the fallback dialplan records
// callers: MissedFamily/<uniqueid> = "<number>|<epoch seconds>".
const MissedFamily = "hotline_missed"

// Fallback dialplan: where a fallback caller waits (Queue() in
// [hotline-fallback], HOTLINE_FALLBACK_MAXWAIT 300).
const (
	fallbackContext  = "hotline-fallback"
	fallbackPriority = 7
	fallbackAppData  = "hotline-fallback,,,,300"
)

// localExtens are the only Local channel destinations an originate reaches
// (Local/<exten>@<context>; any other gives 500 "Allocation failed"), each
// with how long its dialplan keeps the channel up after Answer(); the ;2
// half is not modelled.
var localExtens = map[string]time.Duration{
	"s@hotline-dbsync": 600 * time.Second, // Answer(), Wait(600), Hangup()
}

// DB returns the AstDB value of family/key.
func (s *Server) DB(family, key string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.db[family+"/"+key]
	return v, ok
}

// SetDB stores family/key = value in the AstDB (as `database put`).
func (s *Server) SetDB(family, key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.db[family+"/"+key] = value
}

// DBKeys lists the keys directly below family, as DB_KEYS(family) does.
func (s *Server) DBKeys(family string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dbKeysLocked(family)
}

// dbKeysLocked: the first path component of every key under family,
// without duplicates, in the AstDB's key order (as func_db's DB_KEYS).
func (s *Server) dbKeysLocked(family string) []string {
	prefix := strings.Trim(family, "/") + "/"
	if prefix == "/" {
		prefix = ""
	}
	var full []string
	for k := range s.db {
		if strings.HasPrefix(k, prefix) {
			full = append(full, k)
		}
	}
	sort.Strings(full)
	out := []string{}
	seen := map[string]bool{}
	for _, k := range full {
		k, _, _ = strings.Cut(k[len(prefix):], "/")
		if k != "" && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// funcCall is a dialplan function reference, NAME(arg).
type funcCall struct{ name, arg string }

// parseFunc reads a channel variable name as Asterisk does: a name ending
// in ')' is a function (res/ari/resource_channels.c), its name everything
// before the first '(' and its argument everything up to the last ')'
// (pbx_functions.c func_args).
func parseFunc(v string) (funcCall, bool) {
	if !strings.HasSuffix(v, ")") {
		return funcCall{}, false
	}
	name, arg, ok := strings.Cut(v[:len(v)-1], "(")
	if !ok {
		return funcCall{name: v}, true // "not registered"
	}
	return funcCall{name: name, arg: arg}, true
}

// readEscalates and writeEscalates are the functions Asterisk 22.10
// registers with ast_custom_function_register_escalating (AST_CFE_READ,
// AST_CFE_WRITE, AST_CFE_BOTH): a thread that inhibits escalations (every
// ARI/HTTP thread, see main/tcptls.c) may not run them unless
// live_dangerously=yes. DB_KEYS, DB_EXISTS and DB_KEYCOUNT are not among
// them; DB_DELETE's write form is allowed on purpose (func_db.c).
var (
	readEscalates = map[string]bool{
		"DB": true, "DB_DELETE": true, // func_db
		"FILE": true, "FILE_COUNT_LINE": true, "FILE_FORMAT": true, "STAT": true, // func_env
		"LOCK": true, "TRYLOCK": true, "UNLOCK": true, // func_lock
		"PERIODIC_HOOK":    true, // func_periodic_hook
		"REALTIME_DESTROY": true, // func_realtime
		"SHELL":            true, // func_shell
	}
	writeEscalates = map[string]bool{
		"DB": true, "FILE": true, "PERIODIC_HOOK": true,
		"CURL":       true, // func_curl
		"CONFBRIDGE": true, // app_confbridge
	}
)

// dbPath splits a func_db "family/key" argument (the key may hold '/').
func dbPath(arg string) (string, bool) {
	family, key, ok := strings.Cut(arg, "/")
	if !ok || family == "" || key == "" {
		return "", false
	}
	return family + "/" + key, true
}

// readFuncLocked evaluates a function read as ast_func_read2 does on a
// thread that inhibits escalations (inhibited) or not; ok false is
// Asterisk's -1 (ARI: 500 "Unable to read provided function"; dialplan:
// an empty substitution). Only the func_db functions are registered here.
func (s *Server) readFuncLocked(f funcCall, inhibited bool) (value string, ok bool) {
	if readEscalates[f.name] && inhibited {
		s.log.Warn("Dangerous function " + f.name + " read blocked")
		return "", false
	}
	switch f.name {
	case "DB_KEYS":
		return joinKeys(s.dbKeysLocked(f.arg)), true
	case "DB_KEYCOUNT":
		return strconv.Itoa(len(s.dbKeysLocked(f.arg))), true
	case "DB", "DB_EXISTS", "DB_DELETE":
		k, ok := dbPath(f.arg)
		if !ok {
			return "", false // "DB requires an argument, DB(<family>/<key>)"
		}
		return s.dbFuncLocked(f.name, k), true
	}
	s.log.Debug("Function " + f.name + " not registered")
	return "", false
}

// dbFuncLocked runs DB, DB_EXISTS or DB_DELETE on the AstDB path k.
func (s *Server) dbFuncLocked(name, k string) string {
	v, exists := s.db[k]
	switch name {
	case "DB_EXISTS":
		if exists {
			return "1"
		}
		return "0"
	case "DB_DELETE":
		if exists {
			s.dbDeleteLocked(k)
		}
	}
	return v // a missing key reads as "" (DB, DB_DELETE)
}

// dbDeleteLocked removes AstDB entry k and tells Options.OnDBDelete.
func (s *Server) dbDeleteLocked(k string) {
	v := s.db[k]
	delete(s.db, k)
	if s.opts.OnDBDelete != nil {
		s.opts.OnDBDelete(k, v)
	}
}

// joinKeys lists keys as DB_KEYS returns them: comma-separated, with the
// commas inside a key escaped (ast_str_append_escapecommas).
func joinKeys(keys []string) string {
	esc := make([]string, len(keys))
	for i, k := range keys {
		esc[i] = strings.ReplaceAll(k, ",", `\,`)
	}
	return strings.Join(esc, ",")
}

// writeFuncLocked evaluates a POST /channels/{id}/variable of a function
// as Asterisk 22.10 does: the write runs on the channel's thread with
// escalations inhibited, and ARI answers 204 whatever the function did
// (app_control_set_channel_var ignores the result). handled is false for
// functions other than the dangerous ones and DB_DELETE: the emulator
// keeps those as plain variables (see the package doc).
func (s *Server) writeFuncLocked(f funcCall, value string) (handled bool) {
	switch {
	case writeEscalates[f.name]:
		s.log.Warn("Dangerous function " + f.name + " write blocked")
		return true
	case f.name == "DB_DELETE":
		// function_db_delete_write: "allows execution even if
		// live_dangerously is disabled".
		if k, ok := dbPath(f.arg); ok {
			s.dbFuncLocked("DB_DELETE", k)
		}
		return true
	}
	return false
}

// anonymousNumber is the fallback dialplan's HOTLINE_ANON test on the
// number (the caller id presentation is not modelled).
func anonymousNumber(num string) bool {
	return num == "" || strings.EqualFold(num, "anonymous")
}

// fallbackLocked runs c, whose Stasis() failed, through [hotline-fallback]:
// the AstDB record (unless anonymous), Answer(), then Queue() until the
// caller hangs up. No fallback operator ever answers.
func (s *Server) fallbackLocked(c *channel) {
	if !anonymousNumber(c.callerNum) {
		s.db[MissedFamily+"/"+c.id] = c.callerNum + "|" + strconv.FormatInt(s.now().Unix(), 10)
	}
	c.vars["STASISSTATUS"] = "FAILED"
	c.context, c.exten, c.priority = fallbackContext, "s", fallbackPriority
	c.appName, c.appData = "Queue", fallbackAppData
	c.state = "Up" // Answer(): no subscriber hears it
}

// localTargetLocked resolves an originate to Local/<exten>@<context>[/options].
func (s *Server) localTargetLocked(res string) (dialTarget, bool) {
	dest, _, _ := strings.Cut(res, "/")
	wait, ok := localExtens[dest]
	if !ok {
		return dialTarget{}, false
	}
	_, context, _ := strings.Cut(dest, "@")
	p := &phone{endpoint: "Local/" + dest, tech: "Local", resource: dest, local: true,
		cfg: Phone{Registered: true, Context: context}}
	return dialTarget{p: p, dialstring: dest, cfg: Phone{Registered: true, HangupAfter: s.scaled(wait)}}, true
}
