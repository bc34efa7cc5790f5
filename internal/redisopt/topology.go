package redisopt

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Mode is how hotline reaches Redis.
type Mode string

// The modes a Redis URL selects by its scheme.
const (
	// Standalone: one server (redis://, rediss://, host:port).
	Standalone Mode = "standalone"
	// Sentinel: a master found through Redis Sentinel, followed across
	// failovers (redis+sentinel://sentinel:26379?master_name=M&addr=…).
	Sentinel Mode = "sentinel"
	// Cluster: a Redis Cluster (redis+cluster://node:6379?addr=…). Every
	// key of a centre carries the centre as its hash tag, so a centre
	// lives in one slot and its scripts never cross slots.
	Cluster Mode = "cluster"
)

// Conn is a parsed Redis connection setting: where and how to connect,
// and how durable a write must be before hotline counts it as done.
type Conn struct {
	Mode     Mode
	Simple   *redis.Options         // Standalone
	Failover *redis.FailoverOptions // Sentinel
	Cluster  *redis.ClusterOptions  // Cluster
	// WaitReplicas > 0 makes every write wait (WAIT) until that many
	// replicas hold it, or WaitTimeout passes: a write hotline saw succeed
	// then survives the master's loss (URL query wait_replicas, and
	// wait_timeout, default 250ms).
	WaitReplicas int
	WaitTimeout  time.Duration
	// OnShortWait, if set, is told of every write that fewer replicas than
	// WaitReplicas acknowledged in time (the write stands on the master).
	OnShortWait func(acked int)
}

// The hotline-only query parameters, taken off before go-redis parses
// the rest (it refuses parameters it does not know).
const (
	paramWaitReplicas = "wait_replicas"
	paramWaitTimeout  = "wait_timeout"
	defaultWait       = 250 * time.Millisecond
)

// Conn parses s into a connection setting of any mode. Options is the
// standalone-only form older callers use.
func (s Settings) Conn() (*Conn, error) {
	raw := strings.TrimSpace(s.URL)
	scheme, _, hasScheme := strings.Cut(raw, "://")
	base, mode := scheme, Standalone
	if b, ok := strings.CutSuffix(scheme, "+sentinel"); ok {
		base, mode = b, Sentinel
	} else if b, ok := strings.CutSuffix(scheme, "+cluster"); ok {
		base, mode = b, Cluster
	}
	c := &Conn{Mode: mode, WaitTimeout: defaultWait}
	if hasScheme {
		u, err := url.Parse(raw)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return nil, fmt.Errorf("redisopt: Redis URL %s: %w", Redact(raw), err)
		}
		q := u.Query()
		if v := q.Get(paramWaitReplicas); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 16 {
				return nil, fmt.Errorf("redisopt: Redis URL %s: %s=%q must be a number of replicas, 0 to 16", Redact(raw), paramWaitReplicas, v)
			}
			c.WaitReplicas = n
		}
		if v := q.Get(paramWaitTimeout); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 || d > 10*time.Second {
				// WAIT 0 would wait for ever: a lost replica would stop every call.
				return nil, fmt.Errorf("redisopt: Redis URL %s: %s=%q must be a duration above 0 and at most 10s", Redact(raw), paramWaitTimeout, v)
			}
			c.WaitTimeout = d
		}
		q.Del(paramWaitReplicas)
		q.Del(paramWaitTimeout)
		u.RawQuery = q.Encode()
		u.Scheme = base
		raw = u.String()
		if mode != Standalone && base != "redis" && base != "rediss" {
			return nil, fmt.Errorf("redisopt: Redis URL %s: invalid URL scheme %s (redis+%s:// or rediss+%s://)", Redact(s.URL), scheme, mode, mode)
		}
	}
	switch mode {
	case Standalone:
		o, err := Settings{URL: raw, Password: s.Password, CAFile: s.CAFile}.Options()
		if err != nil {
			return nil, err
		}
		c.Simple = o
	case Sentinel:
		o, err := redis.ParseFailoverURL(raw)
		if err != nil {
			return nil, fmt.Errorf("redisopt: Redis Sentinel URL %s: %w", Redact(s.URL), err)
		}
		if o.MasterName == "" {
			return nil, fmt.Errorf("redisopt: Redis Sentinel URL %s names no master (add ?master_name=…)", Redact(s.URL))
		}
		// The URL's user:password are the sentinels'; the data nodes take
		// the separate Redis password (HOTLINE_REDIS_PASSWORD).
		o.Password = s.Password
		if err := s.applyCA(o.TLSConfig, s.URL); err != nil {
			return nil, err
		}
		c.Failover = o
	case Cluster:
		o, err := redis.ParseClusterURL(raw)
		if err != nil {
			return nil, fmt.Errorf("redisopt: Redis Cluster URL %s: %w", Redact(s.URL), err)
		}
		if err := s.mergePassword(&o.Password, s.URL); err != nil {
			return nil, err
		}
		if err := s.applyCA(o.TLSConfig, s.URL); err != nil {
			return nil, err
		}
		if c.WaitReplicas > 0 {
			// A keyless WAIT in a cluster pipeline reaches some node, not the
			// one that took the write: it would promise what it cannot check.
			return nil, fmt.Errorf("redisopt: Redis URL %s: %s is not supported with Redis Cluster", Redact(s.URL), paramWaitReplicas)
		}
		c.Cluster = o
	}
	return c, nil
}

// NewClient connects as c says; with WaitReplicas, writes wait for them.
func (c *Conn) NewClient() redis.UniversalClient {
	var rdb redis.UniversalClient
	switch c.Mode {
	case Sentinel:
		rdb = redis.NewFailoverClient(c.Failover)
	case Cluster:
		rdb = redis.NewClusterClient(c.Cluster)
	default:
		rdb = redis.NewClient(c.Simple)
	}
	if c.WaitReplicas > 0 {
		rdb.AddHook(&waitHook{rdb: rdb, n: c.WaitReplicas, timeout: c.WaitTimeout, short: c.OnShortWait})
	}
	return rdb
}

// View is a standalone view of c for Describe and Explain: the first
// address, TLS and user.
func (c *Conn) View() *redis.Options {
	switch c.Mode {
	case Sentinel:
		f := c.Failover
		addr := ""
		if len(f.SentinelAddrs) > 0 {
			addr = f.SentinelAddrs[0]
		}
		return &redis.Options{Addr: "sentinel " + addr + " master " + f.MasterName, TLSConfig: f.TLSConfig, Username: f.Username}
	case Cluster:
		o := c.Cluster
		addr := ""
		if len(o.Addrs) > 0 {
			addr = o.Addrs[0]
		}
		return &redis.Options{Addr: "cluster " + addr, TLSConfig: o.TLSConfig, Username: o.Username}
	}
	return c.Simple
}
