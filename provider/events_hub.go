package provider

import (
	"context"
	"sync"
	"time"

	"github.com/tokengate/tokengate/internal/lograte"
)

// eventHub wakes the held polls of the events endpoint when the log's head
// moves. While polls are held, one goroutine (the watcher) re-reads the
// head every eventsRecheck, which sees the commits of every process
// sharing the store, and at once when this process revoked something
// (kick); it stops when no poll is held, and for good at Close.
type eventHub struct {
	// read returns the log's head.
	read func(context.Context) (int64, error)
	max  int // most polls held at once
	// kick asks the watcher to read now; buffered, never blocks.
	kick chan struct{}
	// setErrsLog limits the log lines about receivers' setErrs.
	setErrsLog lograte.Limiter
	// done is closed by close: held polls answer at once.
	done chan struct{}

	// mu guards the fields below.
	mu       sync.Mutex
	head     int64         // the head last read
	wake     chan struct{} // closed, and replaced, when head moves
	held     int           // polls held
	watching bool          // a watcher runs
	closed   bool          // Close was called: no watcher starts again
	watchers sync.WaitGroup
}

func newEventHub(read func(context.Context) (int64, error), max int) *eventHub {
	return &eventHub{read: read, max: max, kick: make(chan struct{}, 1), wake: make(chan struct{}), done: make(chan struct{})}
}

// hold counts a poll about to be held, unless max are held already or the
// hub is closed; release undoes it.
func (h *eventHub) hold() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held >= h.max || h.closed {
		return false
	}
	h.held++
	return true
}

func (h *eventHub) release() {
	h.mu.Lock()
	h.held--
	h.mu.Unlock()
}

func (h *eventHub) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// wait returns the head and, if it is not past seen, a channel closed when
// it moves; a held poll calls it, starting the watcher if none runs.
func (h *eventHub) wait(seen int64) (<-chan struct{}, int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.head > seen {
		return nil, h.head
	}
	if !h.watching && !h.closed {
		h.watching = true
		h.watchers.Add(1)
		go h.watch()
	}
	return h.wake, seen
}

// notify tells the hub that this process appended events: held polls wake
// without waiting for the next re-read.
func (h *eventHub) notify() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// watch re-reads the head until no poll is held.
func (h *eventHub) watch() {
	defer h.watchers.Done()
	t := time.NewTicker(eventsRecheck)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-h.kick:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		head, err := h.read(ctx)
		cancel()
		h.mu.Lock()
		if err == nil && head > h.head {
			h.head = head
			close(h.wake)
			h.wake = make(chan struct{})
		}
		if h.held == 0 || h.closed {
			h.watching = false
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
	}
}

// close answers the held polls and stops the watcher, waiting for it; no
// poll is held afterwards.
func (h *eventHub) close() {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
	h.mu.Unlock()
	h.watchers.Wait()
}
