package redisopt

import (
	"context"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// waitHook makes a write wait until n replicas hold it. WAIT counts the
// writes of the connection it is sent on, so it travels in one pipeline
// with the write it guards. A replica that does not answer in time does
// not fail the write (it is on the master, and hotline would only retry
// it): the short count is reported instead.
type waitHook struct {
	rdb     redis.UniversalClient
	n       int
	timeout time.Duration
	short   func(acked int)
}

var _ redis.Hook = (*waitHook)(nil)

func (h *waitHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *waitHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !isWrite(cmd.Name()) {
			return next(ctx, cmd)
		}
		// A pipeline of the one write: the pipeline hook below adds the
		// WAIT on its connection (Pipelined runs the pipeline hooks, not
		// this one: no recursion).
		_, _ = h.rdb.Pipelined(ctx, func(p redis.Pipeliner) error { return p.Process(ctx, cmd) })
		return cmd.Err()
	}
}

func (h *waitHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		// A MULTI/EXEC pipeline is read back by its own layout: nothing may
		// follow EXEC in it (hotline's only one records a refused number).
		if len(cmds) == 0 || strings.EqualFold(cmds[0].Name(), "multi") || !anyWrite(cmds) {
			return next(ctx, cmds)
		}
		wait := redis.NewIntCmd(ctx, "wait", h.n, h.timeout.Milliseconds())
		err := next(ctx, append(cmds, wait))
		if wait.Err() == nil {
			h.check(wait)
		}
		return err
	}
}

func (h *waitHook) check(wait *redis.IntCmd) {
	if wait == nil || h.short == nil {
		return
	}
	if acked, err := wait.Result(); err != nil || acked < int64(h.n) {
		h.short(int(acked))
	}
}

func anyWrite(cmds []redis.Cmder) bool {
	for _, c := range cmds {
		if isWrite(c.Name()) {
			return true
		}
	}
	return false
}

// writes are the commands hotline sends that change data. Scripts count
// as writes (EVALSHA_RO would not, and hotline sends none).
var writes = map[string]bool{
	"eval": true, "evalsha": true, "fcall": true,
	"set": true, "setnx": true, "setex": true, "psetex": true, "getset": true, "getdel": true, "getex": true,
	"del": true, "unlink": true, "rename": true, "renamenx": true, "copy": true, "restore": true,
	"expire": true, "pexpire": true, "expireat": true, "pexpireat": true, "persist": true,
	"incr": true, "incrby": true, "decr": true, "decrby": true, "incrbyfloat": true, "append": true,
	"hset": true, "hsetnx": true, "hmset": true, "hdel": true, "hincrby": true, "hincrbyfloat": true,
	"sadd": true, "srem": true, "spop": true, "smove": true,
	"zadd": true, "zrem": true, "zincrby": true, "zpopmin": true, "zpopmax": true,
	"zremrangebyscore": true, "zremrangebyrank": true, "zremrangebylex": true,
	"lpush": true, "rpush": true, "lpop": true, "rpop": true, "lrem": true, "ltrim": true, "lset": true, "linsert": true, "lmove": true,
	"xadd": true, "xtrim": true, "xdel": true, "xack": true, "xgroup": true, "xclaim": true, "xautoclaim": true,
}

func isWrite(name string) bool { return writes[strings.ToLower(name)] }
