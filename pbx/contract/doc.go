// Package contract holds the PBX contract suite: one set of tests of the
// PBX boundary (pbx.Client and pbx.Source as pbx/ariadapter implements
// them) that runs against two targets:
//
//   - the emulator (pbx/emulator), always, in CI;
//   - a real Asterisk 22, when HOTLINE_TEST_ARI_URL, HOTLINE_TEST_ARI_USER
//     and HOTLINE_TEST_ARI_PASSWORD are set (skipped otherwise). That
//     Asterisk must load deploy/asterisk/extensions_contract.conf; see
//     deploy/asterisk/README.md, "Running the PBX contract suite against
//     your Asterisk".
//
// A Target (contract_target_test.go) is what the suite needs to make things
// happen on the PBX side: a citizen calling in, sending digits and hanging
// up; operator endpoints that answer, are busy, never answer or are not
// registered; the far end of an answered leg hanging up; the event
// WebSocket dropping. The emulator does these with its scripting API. A
// real Asterisk is driven over ARI alone: a citizen is a Local channel pair
// originated into the test dialplan, whose ;2 half enters
// Stasis(hotline-contract,inbound) as from-citizens does while the ;1 half
// sits in a driver application of the suite (hotline-contract-driver), from
// where POST /channels/{id}/dtmf sends the caller's digits and DELETE hangs
// the caller up; operators are Local channels into extensions that Answer,
// Hangup(17) or ring until the timeout; the WebSocket runs through a TCP
// relay in the test process that can cut it.
//
// The package has no non-test code.
package contract
