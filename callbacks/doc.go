// Package callbacks keeps the callbacks the hotline owes citizens whose
// call dropped, who hung up after waiting, who chose to be called back, or
// whom nobody could serve: one Redis-held record per number and topic,
// scheduled into business hours, promoted into the topic queue at the
// caller's original queue time, attempted under a lease, retried on the
// configured delays and finally closed as reached, reached_inbound,
// unreached or cancelled. Numbers become dialable only through Normalize.
//
// The router drives it on events (time always passed in):
//
//	abandon after min_abandon_wait,      Schedule (Reason* for why; a refused
//	dropped conversation, operator mark,   number is recorded and returned as
//	virtual-hold "1", no service           an error: log it, tell the caller)
//	every sweep (about a second)         RecoverExpired, then Promote
//	each promoted callback               enqueue CallID() at Arrival() with
//	                                       Priority (ErrExists counts as
//	                                       done), then MarkQueued
//	its queue entry offered to operator  Begin(id, attempt call id, agent);
//	                                       ErrBusy/ErrClosed: release the offer
//	long attempt                         Extend
//	operator missed / left before the    Abort (no attempt counted, due now)
//	  citizen was dialled
//	citizen answered (bridge)            Finish(Result "reached")
//	citizen busy / no answer / failed    Finish(that result): next attempt
//	                                       scheduled or unreached
//	an inbound call from the number is   CloseInbound; CallerGone each id
//	  served                               returned ("cb-<id>")
//	supervisor                           List, Get, Cancel, MoveNow, Counts;
//	                                       Move to another topic (then
//	                                       promote: a queued one left its
//	                                       old queue and is due now)
//
// Redis layout: internal/rkeys (the callback block); scripts: lua/*.lua.
package callbacks
