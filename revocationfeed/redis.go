package revocationfeed

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

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

// relayTimeout bounds the claim and the publication of one SET, retries
// included.
const relayTimeout = time.Second

// relayRetryWait is the first wait before an attempt to relay is repeated;
// it doubles after each attempt.
const relayRetryWait = 25 * time.Millisecond

// relay publishes a SET received by polling on the fleet's channel, unless
// another replica claimed it first. A failed attempt is repeated until
// relayTimeout: a client bounded for the request path (50 ms per command)
// times out now and then on a busy machine, and a claim whose answer was
// lost would otherwise stop every replica from relaying the SET.
func (s *Subscriber) relay(ctx context.Context, jti, set string) {
	ctx, cancel := context.WithTimeout(ctx, relayTimeout)
	defer cancel()
	channel := secevent.Channel(s.cfg.Issuer, s.cfg.ClientID)
	claim := secevent.RelayClaimKey(channel, jti)
	err := s.relayOnce(ctx, channel, claim, set)
	for wait := relayRetryWait; err != nil; wait *= 2 {
		if sleep(ctx, wait); ctx.Err() != nil {
			break
		}
		err = s.relayOnce(ctx, channel, claim, set)
	}
	if err != nil {
		if ok, suppressed := s.relayLog.Allow(s.cfg.Now()); ok {
			s.cfg.Logger.Warn("revocationfeed: could not relay a revocation event through Redis; replicas get it by polling",
				"error", err, "suppressed_since_last", suppressed)
		}
	}
}

// relayOnce claims the SET for this replica and publishes it. A claim
// already held by this replica (an earlier attempt whose answer was lost)
// counts as won; publishing twice is harmless, since receivers drop
// duplicates.
func (s *Subscriber) relayOnce(ctx context.Context, channel, claim, set string) error {
	won, err := s.cfg.Redis.SetNX(ctx, claim, s.relayID, secevent.RelayClaimTTL).Result()
	if err != nil {
		return err
	}
	if !won {
		owner, err := s.cfg.Redis.Get(ctx, claim).Result()
		switch {
		case errors.Is(err, redis.Nil):
			return nil // claimed, and the claim has expired since: long relayed
		case err != nil:
			return err
		case owner != s.relayID:
			return nil // another replica relays it
		}
	}
	return s.cfg.Redis.Publish(ctx, channel, set).Err()
}
