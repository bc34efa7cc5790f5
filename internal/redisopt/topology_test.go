package redisopt_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/internal/redisopt"
	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/internal/rkeys"
)

func TestConnModes(t *testing.T) {
	for _, tt := range []struct {
		url   string
		mode  redisopt.Mode
		addrs string // the addresses the client would try, comma-joined
		wait  int
	}{
		{"127.0.0.1:6379", redisopt.Standalone, "127.0.0.1:6379", 0},
		{"redis://127.0.0.1:6379?wait_replicas=1&wait_timeout=100ms", redisopt.Standalone, "127.0.0.1:6379", 1},
		{"redis+sentinel://s1:26379?master_name=hotline&addr=s2:26379&addr=s3:26379&wait_replicas=1",
			redisopt.Sentinel, "s1:26379,s2:26379,s3:26379", 1},
		{"redis+cluster://n1:6379?addr=n2:6379", redisopt.Cluster, "n1:6379,n2:6379", 0},
	} {
		c, err := redisopt.Settings{URL: tt.url}.Conn()
		if err != nil {
			t.Errorf("%s: %v", tt.url, err)
			continue
		}
		var addrs []string
		switch c.Mode {
		case redisopt.Standalone:
			addrs = []string{c.Simple.Addr}
		case redisopt.Sentinel:
			addrs = c.Failover.SentinelAddrs
			if c.Failover.MasterName != "hotline" {
				t.Errorf("%s: master %q", tt.url, c.Failover.MasterName)
			}
		case redisopt.Cluster:
			addrs = c.Cluster.Addrs
		}
		if c.Mode != tt.mode || strings.Join(addrs, ",") != tt.addrs || c.WaitReplicas != tt.wait {
			t.Errorf("%s: mode %s addrs %v wait %d; want %s %s %d", tt.url, c.Mode, addrs, c.WaitReplicas, tt.mode, tt.addrs, tt.wait)
		}
	}
	for _, tt := range []struct{ url, want string }{
		{"redis+sentinel://s1:26379", "names no master"},
		{"redis+cluster://:pw-in-url@n1:6379?wait_replicas=1", "not supported with Redis Cluster"},
		{"redis://:pw-in-url@h:6379?wait_replicas=one", "number of replicas"},
		{"redis://:pw-in-url@h:6379?wait_replicas=1&wait_timeout=0s", "above 0"},
		{"http+sentinel://s1:26379?master_name=m", "invalid URL scheme"},
		{"redis+sentinel://:pw-in-url@s1:26379?master_name=m&bogus=1", "bogus"},
	} {
		_, err := redisopt.Settings{URL: tt.url}.Conn()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v; want %q", tt.url, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw-in-url") {
			t.Errorf("%s: the error shows the password: %v", tt.url, err)
		}
	}
}

// The master of a replicated Redis is SIGKILLed while a writer writes
// through hotline's client with wait_replicas=1: the sentinels promote
// the replica, the client follows it, and every write the client saw
// succeed is on the new master. The failover time is logged.
func TestSentinelFailoverKeepsAcknowledgedWrites(t *testing.T) {
	s := redistest.StartSentinel(t)
	conn, err := redisopt.Settings{URL: s.URL("wait_replicas=1&wait_timeout=200ms")}.Conn()
	if err != nil {
		t.Fatal(err)
	}
	var shortMu sync.Mutex
	short := 0
	conn.OnShortWait = func(int) { shortMu.Lock(); short++; shortMu.Unlock() }
	conn.Failover.MaxRetries = -1 // the writer sees each failure itself
	rdb := conn.NewClient()
	defer rdb.Close()
	key := rkeys.Prefix(redistest.Prefix(t)) + "writes"

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var acked []int
	write := func(i int) error {
		wctx, wcancel := context.WithTimeout(ctx, time.Second)
		defer wcancel()
		return rdb.SAdd(wctx, key, i).Err()
	}
	i := 0
	for ; i < 200; i++ {
		if err := write(i); err != nil {
			t.Fatalf("write %d before the fault: %v", i, err)
		}
		acked = append(acked, i)
	}
	s.KillMaster()
	killed := time.Now()
	var firstBack time.Duration
	failed := 0
	for back := 0; back < 20 && ctx.Err() == nil; i++ {
		if err := write(i); err != nil {
			failed++
			continue // the write may or may not have landed: not counted as acknowledged
		}
		if back == 0 {
			firstBack = time.Since(killed)
		}
		back++
		acked = append(acked, i)
	}
	if ctx.Err() != nil {
		t.Fatalf("writes did not come back after the master's loss: %d failed", failed)
	}
	now, err := s.CurrentMaster(ctx)
	if err != nil || now == s.Master() {
		t.Fatalf("master after the fault: %s, %v; want the replica promoted", now, err)
	}
	check := redis.NewClient(&redis.Options{Addr: now})
	defer check.Close()
	var missing []string
	for _, n := range acked {
		ok, err := check.SIsMember(ctx, key, n).Result()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			missing = append(missing, fmt.Sprint(n))
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d acknowledged writes lost in the failover: %s", len(missing), strings.Join(missing, ","))
	}
	shortMu.Lock()
	defer shortMu.Unlock()
	t.Logf("failover: writes back %v after SIGKILL of the master (%d writes failed meanwhile, none counted); "+
		"%d acknowledged writes all on the new master %s; %d short waits", firstBack.Round(time.Millisecond), failed, len(acked), now, short)
}

// Two centres share a three-master Redis Cluster through hotline's client:
// each centre's keys carry the centre as hash tag, so each lives in one
// slot, on its own master here, and the operator registry's scripts (many
// keys per call) run there without a cross-slot error.
func TestClusterTwoCentres(t *testing.T) {
	nodes := redistest.StartCluster(t, 3)
	conn, err := redisopt.Settings{URL: "redis+cluster://" + nodes[0] + "?addr=" + nodes[1] + "&addr=" + nodes[2]}.Conn()
	if err != nil {
		t.Fatal(err)
	}
	rdb := conn.NewClient()
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Centres whose slots fall in different thirds: different masters.
	third := func(centre string) int {
		return int(crc16Slot(rkeys.Prefix(centre))) * 3 / 16384
	}
	base := redistest.Prefix(t)
	centres := []string{base + "-a"}
	for i := 0; len(centres) < 2; i++ {
		if c := fmt.Sprintf("%s-%d", base, i); third(c) != third(centres[0]) {
			centres = append(centres, c)
		}
	}
	now := time.Unix(1_800_000_000, 0)
	for i, centre := range centres {
		reg := agents.New(rdb, centre)
		ops := []agents.Operator{{ID: fmt.Sprintf("op%d", i), Endpoint: fmt.Sprintf("PJSIP/10%d", i), Skills: map[string]int{"general": 5}, Languages: []string{"ru"}}}
		if err := reg.Sync(ctx, ops, now); err != nil {
			t.Fatalf("centre %s: sync: %v", centre, err)
		}
		if err := reg.Login(ctx, ops[0].ID, now); err != nil {
			t.Fatalf("centre %s: login: %v", centre, err)
		}
		if err := reg.Ready(ctx, ops[0].ID, now); err != nil {
			t.Fatalf("centre %s: ready: %v", centre, err)
		}
	}
	for i, centre := range centres {
		list, err := agents.New(rdb, centre).List(ctx)
		if err != nil || len(list) != 1 || list[0].ID != fmt.Sprintf("op%d", i) || list[0].State != agents.Ready {
			t.Fatalf("centre %s sees %+v, %v; want only its own op%d, ready", centre, list, err, i)
		}
	}
	// Where the keys are: each centre's on one master, not the other's.
	holders := map[string]string{}
	for _, n := range nodes {
		c := redis.NewClient(&redis.Options{Addr: n})
		keys, err := c.Keys(ctx, "hotline:*").Result()
		_ = c.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			for _, centre := range centres {
				if strings.HasPrefix(k, rkeys.Prefix(centre)) {
					if h, ok := holders[centre]; ok && h != n {
						t.Errorf("centre %s has keys on %s and %s", centre, h, n)
					}
					holders[centre] = n
				}
			}
		}
	}
	if len(holders) != 2 || holders[centres[0]] == holders[centres[1]] {
		t.Fatalf("the centres' keys are on %v; want two different masters", holders)
	}
	t.Logf("centre %s on %s, centre %s on %s", centres[0], holders[centres[0]], centres[1], holders[centres[1]])
}

// crc16Slot is Redis Cluster's key slot (CRC16/XMODEM of the hash tag).
func crc16Slot(key string) uint16 {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc % 16384
}
