// Package chaos is hotline's fault suite ("Nothing is lost"): it runs the
// real hotline as a child process (real ari/v5 client, real HTTP and
// WebSocket) against the ARI emulator and a durable redis-server (AOF,
// fsync always), drives a stream of scripted citizens and operator phones
// through it, injects one fault per test and then, once traffic has
// stopped and things settled, checks what must hold after any fault:
//
//   - every caller who reached hotline has exactly one call record;
//   - every caller with a number who waited in a queue past the
//     callbacks' min_abandon_wait and then hung up unserved is owed a
//     callback (withheld callers who never keyed a number in cannot be);
//   - no operator is stuck: each ends ready, paused or offline, and what
//     Redis says of them matches the PBX (a reserved operator's phone
//     rings, an operator on a call has a leg in a bridge, any other has
//     no leg at all);
//   - no caller is offered to two operators, and no operator has two
//     callers, in Redis or on the PBX (the PBX is also watched for this
//     throughout the test, not only at the end);
//   - no ghost queue entry: every caller, queue and lease entry in Redis
//     belongs to a citizen whose channel is still up.
//
// Faults: Redis SIGKILL and restart on its append-only file
// (TestRedisKillRestartAOF), Redis SIGSTOP for 8 s (TestRedisStall8s),
// hotline SIGKILL with the PBX alive and callers in every phase — menu,
// waiting, being offered, talking, keying a number — and one hanging up
// while hotline is down (TestRouterKillEveryPhase), and the ARI event
// WebSocket dropped and kept down for a while (TestARIWebSocketDrop).
// Every violation is reported, with call and operator ids, not just the
// first.
//
// The package has test files only; the real-Asterisk variant is to come
// (see realpbx for that rig).
package chaos
