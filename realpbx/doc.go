// Package realpbx holds hotline's end-to-end suite on a real Asterisk 22:
// an isolated Asterisk booted from the project's own deploy/asterisk files
// (internal/pbxtest), baresip softphones as operators, SIPp citizens and a
// SIPp carrier through the carrier trunk, a real redis-server, and the
// `hotline serve` binary built from this tree, which tests kill -9 and
// restart like an operator of the service would.
//
// The suite runs when Asterisk is installed at /opt/asterisk (or
// HOTLINE_ASTERISK_PREFIX) and skips, saying how to install it, otherwise.
// CI installs the bundle from ../shared/pbx and sets HOTLINE_REQUIRE_PBX=1,
// so there a skip is a failure.
package realpbx
