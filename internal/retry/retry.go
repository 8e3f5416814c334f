// Package retry computes when a failed webhook delivery is tried again.
//
// The package is pure: it reads no clock, performs no I/O, starts no
// goroutines and holds no package-level state. Callers pass the current time
// and, when they want jitter, a *rand.Rand they own, so every result is
// reproducible in tests.
//
// # Contract
//
// A delivery is first attempted at firstAttemptAt. After each failed attempt
// the delivery engine calls [Policy.Next] with the number of attempts made so
// far and the time the failure was recorded:
//
//   - The nominal delay after attempt n is Steps[n-1], the last step repeating
//     once the table runs out, capped at MaxDelay. Nominal delays never
//     decrease from one attempt to the next.
//   - Jitter only ever shortens a delay, by up to Jitter×nominal, and never
//     below MinDelay, so a retry is never later than its nominal time and
//     never beyond the cap.
//   - Every retry is due no later than firstAttemptAt+Window. A retry that
//     would land later is moved to exactly the end of the window, so the last
//     chance is taken rather than dropped. Once less than MinDelay of the
//     window remains, Next reports ok=false and the delivery is marked failed.
//
// [Schedule] lists the nominal delays for publication, and
// [Policy.WithRetryAfter] together with [ParseRetryAfter] let a receiver's
// Retry-After header postpone (never hasten) a retry within bounds.
package retry

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Policy is a retry schedule. Build one with [DefaultPolicy] and adjust its
// fields; call [Policy.Validate] once when loading configuration. A Policy is
// a value: it is safe to copy and to use from many goroutines, provided its
// Steps slice is not modified.
type Policy struct {
	// Steps is the table of nominal delays: Steps[0] (the base delay) follows
	// the first failed attempt, Steps[1] the second, and so on. Once the table
	// runs out its last entry repeats until the window is exhausted. Entries
	// must be positive and non-decreasing.
	//
	// Default: 5s, 30s, 2m, 10m, 30m, 1h, 2h, 4h, 8h.
	Steps []time.Duration

	// MinDelay is the floor under every jittered delay: no retry is scheduled
	// sooner than MinDelay after the previous failure, and a delivery whose
	// window has less than MinDelay left is failed. It must be positive and
	// no larger than Steps[0] or MaxDelay.
	//
	// Default: 1s.
	MinDelay time.Duration

	// MaxDelay caps every nominal delay, whatever the Steps table says.
	//
	// Default: 8h.
	MaxDelay time.Duration

	// Window is how long after the first attempt retries continue. The last
	// retry is due at firstAttemptAt+Window at the latest.
	//
	// Default: 7 days (WhatsApp's retry window).
	Window time.Duration

	// Jitter is the fraction, in [0, 1], by which a delay may be randomly
	// shortened: the delay is drawn uniformly from
	// [(1-Jitter)×nominal, nominal] and then raised to MinDelay if needed.
	// 0 disables jitter, 0.5 is "equal jitter", 1 is "full jitter".
	//
	// Default: 0.2.
	Jitter float64

	// MaxRetryAfter bounds how far a receiver's Retry-After header may push
	// a retry beyond the moment it is received. 0 ignores Retry-After.
	//
	// Default: 1h.
	MaxRetryAfter time.Duration
}

// DefaultPolicy returns the schedule Bahasha publishes: roughly 5s, 30s, 2m,
// 10m, 30m, 1h, 2h, 4h, 8h, then every 8h until 7 days after the first
// attempt, each delay shortened by up to 20% of jitter. Each call returns a
// fresh Steps slice.
func DefaultPolicy() Policy {
	return Policy{
		Steps: []time.Duration{
			5 * time.Second,
			30 * time.Second,
			2 * time.Minute,
			10 * time.Minute,
			30 * time.Minute,
			1 * time.Hour,
			2 * time.Hour,
			4 * time.Hour,
			8 * time.Hour,
		},
		MinDelay:      time.Second,
		MaxDelay:      8 * time.Hour,
		Window:        7 * 24 * time.Hour,
		Jitter:        0.2,
		MaxRetryAfter: time.Hour,
	}
}

// ErrInvalidPolicy is wrapped by every error [Policy.Validate] returns.
var ErrInvalidPolicy = errors.New("invalid retry policy")

// Validate reports the first problem with p, wrapping [ErrInvalidPolicy], or
// nil when p is usable.
func (p Policy) Validate() error {
	if len(p.Steps) == 0 {
		return fmt.Errorf("%w: Steps is empty; list at least one delay", ErrInvalidPolicy)
	}
	for i, s := range p.Steps {
		if s <= 0 {
			return fmt.Errorf("%w: Steps[%d] is %v; every step must be positive", ErrInvalidPolicy, i, s)
		}
		if i > 0 && s < p.Steps[i-1] {
			return fmt.Errorf("%w: Steps[%d] (%v) is shorter than Steps[%d] (%v); steps must not decrease",
				ErrInvalidPolicy, i, s, i-1, p.Steps[i-1])
		}
	}
	switch {
	case p.MaxDelay <= 0:
		return fmt.Errorf("%w: MaxDelay is %v; it must be positive", ErrInvalidPolicy, p.MaxDelay)
	case p.MinDelay <= 0:
		return fmt.Errorf("%w: MinDelay is %v; it must be positive", ErrInvalidPolicy, p.MinDelay)
	case p.MinDelay > p.Steps[0] || p.MinDelay > p.MaxDelay:
		return fmt.Errorf("%w: MinDelay (%v) exceeds Steps[0] (%v) or MaxDelay (%v)",
			ErrInvalidPolicy, p.MinDelay, p.Steps[0], p.MaxDelay)
	case p.Window <= 0:
		return fmt.Errorf("%w: Window is %v; it must be positive", ErrInvalidPolicy, p.Window)
	case math.IsNaN(p.Jitter) || p.Jitter < 0 || p.Jitter > 1:
		return fmt.Errorf("%w: Jitter is %v; it must be between 0 and 1", ErrInvalidPolicy, p.Jitter)
	case p.MaxRetryAfter < 0:
		return fmt.Errorf("%w: MaxRetryAfter is %v; it must not be negative", ErrInvalidPolicy, p.MaxRetryAfter)
	}
	return nil
}

// Deadline returns the end of the retry window: the latest moment a retry of
// a delivery first attempted at firstAttemptAt may be due.
func (p Policy) Deadline(firstAttemptAt time.Time) time.Time {
	return firstAttemptAt.Add(p.Window)
}

// Next returns when the next attempt is due after attempt attempts (1 after
// the first failure) have been made, the first at firstAttemptAt, the latest
// having failed at now.
//
// ok is false when the window is exhausted (less than MinDelay of it is
// left): the delivery should then be marked failed. It is also false when p
// does not pass [Policy.Validate]; validate policies when loading them.
//
// rnd supplies jitter; a nil rnd gives the nominal, unjittered time. An
// attempt below 1 is treated as 1. The result is never earlier than
// now+MinDelay and never later than the window's end.
func (p Policy) Next(attempt int, firstAttemptAt, now time.Time, rnd *rand.Rand) (next time.Time, ok bool) {
	if p.Validate() != nil {
		return time.Time{}, false
	}
	remaining := p.Deadline(firstAttemptAt).Sub(now)
	if remaining < p.MinDelay {
		return time.Time{}, false
	}
	return now.Add(min(p.jittered(attempt, rnd), remaining)), true
}

// WithRetryAfter applies a receiver's Retry-After to next, a time returned by
// [Policy.Next]. Retry-After can only postpone a retry: the result is
// now+retryAfter, with retryAfter capped at MaxRetryAfter, but never earlier
// than next and never later than the window's end (unless next itself is
// later). A non-positive retryAfter, or MaxRetryAfter of 0, returns next.
func (p Policy) WithRetryAfter(next, firstAttemptAt, now time.Time, retryAfter time.Duration) time.Time {
	if retryAfter <= 0 || p.MaxRetryAfter <= 0 {
		return next
	}
	t := now.Add(min(retryAfter, p.MaxRetryAfter))
	if deadline := p.Deadline(firstAttemptAt); t.After(deadline) {
		t = deadline
	}
	if t.Before(next) {
		return next
	}
	return t
}

// maxScheduleLen bounds [Schedule] for policies whose tiny steps would
// otherwise list millions of retries.
const maxScheduleLen = 10_000

// Schedule returns the nominal delay before each retry under p, in order,
// assuming attempts take no time and no jitter: exactly the delays
// [Policy.Next] yields with a nil rnd when each attempt fails instantly. The
// last entry may be shorter than its step because it is clamped to the end of
// the window. It returns nil if p is invalid and at most 10,000 entries.
func Schedule(p Policy) []time.Duration {
	if p.Validate() != nil {
		return nil
	}
	var out []time.Duration
	var elapsed time.Duration
	for attempt := 1; len(out) < maxScheduleLen; attempt++ {
		remaining := p.Window - elapsed
		if remaining < p.MinDelay {
			break
		}
		d := min(p.nominal(attempt), remaining)
		out = append(out, d)
		elapsed += d
	}
	return out
}

// nominal returns the unjittered delay after attempt attempts.
func (p Policy) nominal(attempt int) time.Duration {
	i := min(max(attempt, 1), len(p.Steps)) - 1
	return min(p.Steps[i], p.MaxDelay)
}

// jittered returns the nominal delay shortened by a random fraction of at
// most Jitter, and never below MinDelay.
func (p Policy) jittered(attempt int, rnd *rand.Rand) time.Duration {
	d := p.nominal(attempt)
	if rnd != nil && p.Jitter > 0 {
		d -= time.Duration(p.Jitter * rnd.Float64() * float64(d))
	}
	return max(d, p.MinDelay)
}
