package answer

import (
	"sync"

	"google.golang.org/protobuf/proto"
)

// maxDecoded bounds each decodedCache; it is dropped whole when full.
const maxDecoded = 4096

// decodedCache holds records decoded, keyed by their stored encoding, so
// a hot lookup does not decode the same bytes again. An entry never goes
// stale (a changed record has other bytes). Records in it are shared:
// read only.
type decodedCache[M proto.Message] struct {
	mu sync.RWMutex
	m  map[string]M
}

func (c *decodedCache[M]) get(raw []byte, alloc func() M) (M, error) {
	c.mu.RLock()
	v, ok := c.m[string(raw)]
	c.mu.RUnlock()
	if ok {
		return v, nil
	}
	v = alloc()
	if err := proto.Unmarshal(raw, v); err != nil {
		var zero M
		return zero, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxDecoded {
		c.m = make(map[string]M)
	}
	c.m[string(raw)] = v
	c.mu.Unlock()
	return v, nil
}
