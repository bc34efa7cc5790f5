package emulator

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// The emulator's AstDB and the dialplan around it (deploy/asterisk/
// extensions.conf): the func_db functions a channel variable can name, the
// [hotline-fallback] context a caller reaches when Stasis() fails
// (Options.Fallback), and the Local channels hotline originates to read the
// AstDB back ([hotline-dbsync]).

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
	"s@hotline-dbsync": 60 * time.Second, // Answer(), Wait(60), Hangup()
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

// splitFunc splits "NAME(arg)" of a func_db function; ok is false for a
// plain variable or any other function.
func splitFunc(name string) (fn, arg string, ok bool) {
	i := strings.IndexByte(name, '(')
	if i <= 0 || !strings.HasSuffix(name, ")") {
		return "", "", false
	}
	fn, arg = name[:i], name[i+1:len(name)-1]
	switch fn {
	case "DB", "DB_KEYS", "DB_DELETE", "DB_EXISTS":
		return fn, arg, true
	}
	return "", "", false
}

// dbPath splits a func_db "family/key" argument (the key may hold '/').
func dbPath(arg string) (string, bool) {
	family, key, ok := strings.Cut(arg, "/")
	if !ok || family == "" || key == "" {
		return "", false
	}
	return family + "/" + key, true
}

// readFuncLocked evaluates a GET /channels/{id}/variable of a func_db
// function. handled is false for anything else (a plain variable lookup);
// ok false is a function error (Asterisk: 500).
func (s *Server) readFuncLocked(name string) (value string, handled, ok bool) {
	fn, arg, handled := splitFunc(name)
	if !handled {
		return "", false, false
	}
	if fn == "DB_KEYS" {
		return strings.Join(s.dbKeysLocked(arg), ","), true, true
	}
	k, ok := dbPath(arg)
	if !ok {
		return "", true, false
	}
	v, exists := s.db[k]
	switch fn {
	case "DB_EXISTS":
		if exists {
			return "1", true, true
		}
		return "0", true, true
	case "DB_DELETE":
		delete(s.db, k)
	}
	return v, true, true // a missing key reads as "" (DB, DB_DELETE)
}

// writeFuncLocked evaluates a POST /channels/{id}/variable of a func_db
// function: only DB() is writable (no ChannelVarset is sent for a
// function). handled is false for anything else; ok false is Asterisk's 400.
func (s *Server) writeFuncLocked(name, value string) (handled, ok bool) {
	fn, arg, handled := splitFunc(name)
	if !handled {
		return false, false
	}
	k, ok := dbPath(arg)
	if fn != "DB" || !ok {
		return true, false
	}
	s.db[k] = value
	return true, true
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
