// Package callbacks keeps the callbacks the hotline owes citizens whose
// call dropped, who hung up after waiting, who chose to be called back, or
// whom nobody could serve: one Redis-held record per number and topic,
// scheduled into business hours, promoted into the topic queue at the
// caller's original queue time, attempted under a lease, retried on the
// configured delays and finally closed as reached, reached_inbound,
// unreached or cancelled. Numbers become dialable only through Normalize.
package callbacks
