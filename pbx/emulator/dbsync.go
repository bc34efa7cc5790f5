package emulator

import (
	"strconv"
	"strings"
	"time"
)

// The emulated [hotline-dbsync] of deploy/asterisk/extensions.conf: how
// hotline reads back, in batches, the callers the fallback kept in AstDB
// without any dangerous function over ARI. An originate of
// Local/s@hotline-dbsync with context hotline-dbsync and extension read
// (no app) runs, once answered:
//
//	read      copy up to DBSyncBatch entries of hotline_missed into
//	          HOTLINE_MISSED_KEY_<i> / HOTLINE_MISSED_VAL_<i>,
//	          i = 1..HOTLINE_MISSED_COUNT, then Stasis(<App>,db-sync)
//	delete<n> (reached by ARI continue) DB_DELETE the keys copied into
//	          slots 1..n, then read again
//
// Each step runs at once, not priority by priority. The DB() reads and
// DB_DELETE()s run on the channel's thread, so they fail once ARI has set a
// variable on the channel (channel.escalationsInhibited), as on Asterisk.
const (
	dbsyncContext = "hotline-dbsync"
	dbsyncRead    = "read"
	dbsyncDelete  = "delete" // + the number of slots hotline has dealt with
	// dbsyncStasisPriority is the priority of Stasis(hotline,db-sync) in
	// extension read, as the channel snapshot shows it.
	dbsyncStasisPriority = 9
	// DBSyncBatch is the most entries one read copies (extensions.conf).
	DBSyncBatch = 50
	// varBufSize is what a function's value keeps inside ${...} in the
	// dialplan (VAR_BUF_SIZE - 1 in main/pbx_variables.c): DB_KEYS of a
	// large family is cut there.
	varBufSize = 4095
)

// Channel variables of the read-back, as the dialplan names them.
const (
	VarMissedCount = "HOTLINE_MISSED_COUNT"
	VarMissedKey   = "HOTLINE_MISSED_KEY_" // + slot 1..count
	VarMissedVal   = "HOTLINE_MISSED_VAL_" // + slot 1..count
)

// dialplanLocked sends the answered channel c, outside Stasis, to
// context/exten priority 1, if the emulator models that dialplan (false:
// it does not). The dialplan runs a moment later, as on the channel's own
// thread after the originate or continue has been answered.
func (s *Server) dialplanLocked(c *channel, context, exten string) bool {
	if context != dbsyncContext {
		return false
	}
	var step func()
	switch {
	case exten == dbsyncRead:
		step = func() { s.dbsyncReadLocked(c) }
	case strings.HasPrefix(exten, dbsyncDelete) && len(exten) > len(dbsyncDelete): // _delete.
		step = func() { s.dbsyncDeleteLocked(c, exten[len(dbsyncDelete):]) }
	default:
		return false
	}
	c.context, c.exten, c.priority = context, exten, 1
	c.appName, c.appData = "", ""
	s.addTimer(c, s.afterLocked(time.Millisecond, func() {
		if !c.dead && !c.hangingUp {
			step()
		}
	}))
	return true
}

// dbsyncReadLocked is extension read: DB_KEYS as the dialplan sees it
// (commas inside keys escaped, cut at varBufSize), SHIFTed one key at a
// time into the slots, each with its DB() value, then Stasis().
func (s *Server) dbsyncReadLocked(c *channel) {
	list, _ := s.readFuncLocked(funcCall{name: "DB_KEYS", arg: MissedFamily}, c.escalationsInhibited)
	if len(list) > varBufSize {
		list = list[:varBufSize]
	}
	n := 0
	for n < DBSyncBatch {
		key, rest, _ := strings.Cut(list, ",") // SHIFT(): no escape handling
		list = rest
		if key == "" {
			break
		}
		n++
		val, _ := s.readFuncLocked(funcCall{name: "DB", arg: MissedFamily + "/" + key}, c.escalationsInhibited)
		c.vars[VarMissedKey+strconv.Itoa(n)] = key
		c.vars[VarMissedVal+strconv.Itoa(n)] = val
	}
	c.vars[VarMissedCount] = strconv.Itoa(n)
	c.context, c.exten, c.priority = dbsyncContext, dbsyncRead, dbsyncStasisPriority
	// Stasis(${HOTLINE_APP},db-sync): the instance that originated it.
	app := c.vars["HOTLINE_APP"]
	if app == "" {
		app = s.opts.App
	}
	s.dialplanStasisLocked(c, app, "db-sync")
}

// dbsyncDeleteLocked is extension delete<n>: n is FILTER(0-9) of the rest
// of the extension; slots beyond HOTLINE_MISSED_COUNT are never touched.
func (s *Server) dbsyncDeleteLocked(c *channel, arg string) {
	done, _ := strconv.Atoi("0" + filterDigits(arg))
	count, _ := strconv.Atoi(c.vars[VarMissedCount])
	for i := 1; i <= done && i <= count; i++ {
		key := c.vars[VarMissedKey+strconv.Itoa(i)]
		s.readFuncLocked(funcCall{name: "DB_DELETE", arg: MissedFamily + "/" + key}, c.escalationsInhibited)
	}
	s.dbsyncReadLocked(c)
}

// dialplanStasisLocked is Stasis(app,args) run by the dialplan: a
// StasisStart in the channel's state; without a WebSocket for app it
// returns FAILED at once and the dialplan's next step hangs up.
func (s *Server) dialplanStasisLocked(c *channel, app string, args ...string) {
	c.appName, c.appData = "Stasis", strings.Join(append([]string{app}, args...), ",")
	if !s.activeLocked(app) {
		c.vars["STASISSTATUS"] = "FAILED"
		s.destroyLocked(c, 16, 0) // Hangup()
		return
	}
	s.enterStasisLocked(c, app, args)
}

func filterDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
