package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/internal/redisproc"
)

// Sentinel is a replicated Redis watched by three sentinels: a master, one
// replica, and sentinels that fail over one second after the master stops
// answering. Every process is a real redis-server, stopped on cleanup.
type Sentinel struct {
	MasterName string
	Sentinels  []string // their addresses
	master     string
	stopMaster func()
}

// StartSentinel starts the topology and waits until the replica is in
// sync and every sentinel knows the master.
func StartSentinel(tb testing.TB) *Sentinel {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := func(o redisproc.Options) (string, func()) {
		addr, stop, err := redisproc.Start(ctx, o)
		if err != nil {
			tb.Fatalf("redistest: sentinel topology: %v", err)
		}
		tb.Cleanup(stop)
		return addr, stop
	}
	// Full syncs and sentinels write files: into the test's directory,
	// not the package's.
	dir := tb.TempDir()
	s := &Sentinel{MasterName: "hotline"}
	s.master, s.stopMaster = start(redisproc.Options{Args: []string{"--dir", dir, "--repl-diskless-sync", "yes"}})
	host, port, _ := net.SplitHostPort(s.master)
	replica, _ := start(redisproc.Options{Args: []string{"--dir", dir, "--replicaof", host, port}})
	waitFor(tb, ctx, "the replica in sync", func() bool {
		info, err := call(ctx, replica, "info", "replication").Text()
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
	for i := range 3 {
		conf := filepath.Join(dir, fmt.Sprintf("sentinel-%d.conf", i))
		body := fmt.Sprintf("sentinel monitor %[1]s %[2]s %[3]s 2\nsentinel down-after-milliseconds %[1]s 1000\n"+
			"sentinel failover-timeout %[1]s 5000\n", s.MasterName, host, port)
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			tb.Fatal(err)
		}
		addr, _ := start(redisproc.Options{ConfigFile: conf, Args: []string{"--dir", dir, "--sentinel"}})
		s.Sentinels = append(s.Sentinels, addr)
	}
	for _, a := range s.Sentinels {
		waitFor(tb, ctx, "sentinel "+a+" to see the replica and its peers", func() bool {
			m, err := call(ctx, a, "sentinel", "master", s.MasterName).Slice()
			if err != nil {
				return false
			}
			kv := map[string]string{}
			for i := 0; i+1 < len(m); i += 2 {
				kv[fmt.Sprint(m[i])] = fmt.Sprint(m[i+1])
			}
			return kv["num-slaves"] == "1" && kv["num-other-sentinels"] == "2"
		})
	}
	return s
}

// URL is the hotline Redis URL of the topology (redisopt), with query
// (e.g. "wait_replicas=1") appended.
func (s *Sentinel) URL(query string) string {
	u := "redis+sentinel://" + s.Sentinels[0] + "?master_name=" + s.MasterName
	for _, a := range s.Sentinels[1:] {
		u += "&addr=" + a
	}
	if query != "" {
		u += "&" + query
	}
	return u
}

// Master is the address of the master the topology started with.
func (s *Sentinel) Master() string { return s.master }

// KillMaster SIGKILLs the first master.
func (s *Sentinel) KillMaster() { s.stopMaster() }

// CurrentMaster asks a sentinel which address is master now.
func (s *Sentinel) CurrentMaster(ctx context.Context) (string, error) {
	for _, a := range s.Sentinels {
		addr, err := call(ctx, a, "sentinel", "get-master-addr-by-name", s.MasterName).StringSlice()
		if err == nil && len(addr) == 2 {
			return net.JoinHostPort(addr[0], addr[1]), nil
		}
	}
	return "", fmt.Errorf("redistest: no sentinel names a master for %s", s.MasterName)
}

// StartCluster starts a Redis Cluster of n masters (no replicas), the
// 16384 slots split evenly, and waits until every node says the cluster
// is ok. It returns the nodes' addresses.
func StartCluster(tb testing.TB, n int) []string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := tb.TempDir()
	var addrs []string
	for i := range n {
		addr, stop, err := redisproc.Start(ctx, redisproc.Options{Args: []string{
			"--dir", dir, "--cluster-enabled", "yes", "--cluster-node-timeout", "2000",
			"--cluster-config-file", filepath.Join(dir, fmt.Sprintf("nodes-%d.conf", i)),
		}})
		if err != nil {
			tb.Fatalf("redistest: cluster node: %v", err)
		}
		tb.Cleanup(stop)
		addrs = append(addrs, addr)
	}
	const slots = 16384
	for i, a := range addrs {
		lo, hi := i*slots/n, (i+1)*slots/n-1
		if err := call(ctx, a, "cluster", "addslotsrange", lo, hi).Err(); err != nil {
			tb.Fatalf("redistest: cluster addslotsrange on %s: %v", a, err)
		}
		if i > 0 {
			h, p, _ := net.SplitHostPort(addrs[0])
			if err := call(ctx, a, "cluster", "meet", h, p).Err(); err != nil {
				tb.Fatalf("redistest: cluster meet: %v", err)
			}
		}
	}
	for _, a := range addrs {
		waitFor(tb, ctx, "cluster state ok on "+a, func() bool {
			info, err := call(ctx, a, "cluster", "info").Text()
			return err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d", n))
		})
	}
	return addrs
}

// call sends one command to addr on a connection of its own, without
// retries (a probe of a topology that is settling).
func call(ctx context.Context, addr string, args ...any) *redis.Cmd {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, PoolSize: 1, Protocol: 2})
	defer c.Close()
	return c.Do(ctx, args...)
}

// waitFor polls cond until it holds or ctx ends (a topology settling,
// which Redis reports by no event).
func waitFor(tb testing.TB, ctx context.Context, what string, cond func() bool) {
	tb.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			tb.Fatalf("redistest: timed out waiting for %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
