package delivery

import (
	"context"
	"sync"
	"sync/atomic"
)

// dispatcher sends one lane turn's chunks. They go out in order, each only
// once the previous one is on the wire and the earlier chunks it depends on
// (statuses of the same messages) succeeded; at most inFlight at once, by
// inFlight workers that live for the turn (a goroutine per POST grew a new
// stack for every request); the first failure stops the dispatch, and what
// was not sent stays pending.
type dispatcher struct {
	chunks []chunk
	// send makes chunk i's POST; it closes wrote once the request is on
	// the wire (or failed before).
	send func(ctx context.Context, i int, wrote chan struct{}) postResult
	// mayStart says whether chunk i may still start (the lane's lease
	// leaves it time to end).
	mayStart func(i int) bool

	outcomes []postResult
	done     []chan struct{} // closed when the chunk's POST ended
	failed   atomic.Bool
}

// run dispatches the chunks and returns each one's outcome (the zero
// postResult for one never sent).
func (d *dispatcher) run(ctx context.Context, inFlight int) []postResult {
	inFlight = max(min(inFlight, len(d.chunks)), 1)
	d.outcomes = make([]postResult, len(d.chunks))
	d.done = make([]chan struct{}, len(d.chunks))
	for i := range d.done {
		d.done[i] = make(chan struct{})
	}
	type job struct {
		i     int
		wrote chan struct{}
	}
	// places holds a place per POST in flight; work never blocks, as a
	// place is taken before a job is queued and given back after it ends.
	places := make(chan struct{}, inFlight)
	work := make(chan job, inFlight)
	var wg sync.WaitGroup
	for range inFlight {
		wg.Go(func() {
			for j := range work {
				d.outcomes[j.i] = d.send(ctx, j.i, j.wrote)
				if !d.outcomes[j.i].ok {
					d.failed.Store(true)
				}
				close(d.done[j.i])
				<-places
			}
		})
	}
	d.dispatch(ctx, places, func(i int, wrote chan struct{}) { work <- job{i, wrote} })
	close(work)
	wg.Wait()
	return d.outcomes
}

// dispatch queues the chunks, in order, while they may go.
func (d *dispatcher) dispatch(ctx context.Context, places chan struct{}, queue func(int, chan struct{})) {
	wrote := closedChan()
	for i := range d.chunks {
		for _, dep := range d.chunks[i].after {
			<-d.done[dep]
			if !d.outcomes[dep].ok {
				return // its statuses must not overtake the failed ones
			}
		}
		select {
		case places <- struct{}{}:
		case <-ctx.Done():
			return
		}
		<-wrote // in order: the previous POST is on the wire
		if d.failed.Load() || ctx.Err() != nil || !d.mayStart(i) {
			<-places
			return
		}
		next := make(chan struct{})
		wrote = next
		queue(i, next)
	}
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}
