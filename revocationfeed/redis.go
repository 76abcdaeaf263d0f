package revocationfeed

import (
	"context"
	"time"

	"github.com/tokengate/tokengate/secevent"
)

// redisLoop receives SETs on the fleet's channel until ctx is done. The
// go-redis subscription reconnects and resubscribes by itself; messages
// published meanwhile are lost, which polling makes up for.
func (s *Subscriber) redisLoop(ctx context.Context) {
	ps := s.cfg.Redis.Subscribe(ctx, secevent.Channel(s.cfg.Issuer, s.cfg.ClientID))
	defer ps.Close()
	ch := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			// A SET whose keys cannot be had now is dropped here: the
			// poll brings it again.
			s.receive(ctx, m.Payload, "redis")
		}
	}
}

// relayTimeout bounds the claim and the publication of one SET.
const relayTimeout = time.Second

// relay publishes a SET received by polling on the fleet's channel, unless
// another replica claimed it first.
func (s *Subscriber) relay(ctx context.Context, jti, set string) {
	ctx, cancel := context.WithTimeout(ctx, relayTimeout)
	defer cancel()
	channel := secevent.Channel(s.cfg.Issuer, s.cfg.ClientID)
	won, err := s.cfg.Redis.SetNX(ctx, secevent.RelayClaimKey(channel, jti), 1, secevent.RelayClaimTTL).Result()
	if err == nil && won {
		err = s.cfg.Redis.Publish(ctx, channel, set).Err()
	}
	if err != nil {
		if ok, suppressed := s.relayLog.Allow(s.cfg.Now()); ok {
			s.cfg.Logger.Warn("revocationfeed: could not relay a revocation event through Redis; replicas get it by polling",
				"error", err, "suppressed_since_last", suppressed)
		}
	}
}
