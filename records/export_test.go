package records

import (
	"context"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// AppendAt adds r with stream id "<ms>-<seq>", so tests place records at
// the times they need.
func (s *Stream) AppendAt(ctx context.Context, ms, seq int64, r Record) (string, error) {
	return s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.key, ID: strconv.FormatInt(ms, 10) + "-" + strconv.FormatInt(seq, 10), Values: fields(r)}).Result()
}
