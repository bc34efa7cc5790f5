// Package sim answers "how many operators do we need?" with hotline's own
// routing: it runs the router's call and callback-attempt machines
// (router.Virtual) and the dispatch and callbacks Lua scripts on a real
// Redis, with simulated citizens and operators, in virtual time — a day in
// seconds — and reports per interval and topic what the supervisors'
// report would show. FindStaff sizes each interval by running it.
package sim
