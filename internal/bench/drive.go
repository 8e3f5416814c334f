package bench

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// account is one benchmark business: its API key and phone number.
type account struct {
	apiKey  string
	phoneID []byte // JSON-quoted
}

// setup creates one account per endpoint through the admin API, starts its
// fanout sinks with the account's app secret, and registers them as the
// account's webhook endpoints (the platform's handshake calls each sink):
// the first with PUT /v1/webhook, the others with POST /v1/webhooks. Account
// i is set up through node i % len(clients).
func setup(ctx context.Context, clients []*apiClient, adminKey string, cls []class, fanout int, s *sinks, t *tracker) ([]account, error) {
	accounts := make([]account, len(cls))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range min(8, len(cls)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(cls) || ctx.Err() != nil {
					return
				}
				a, err := setupOne(ctx, clients[i%len(clients)], adminKey, i, cls[i], fanout, s, t)
				if err != nil {
					cancel(fmt.Errorf("setting up endpoint %d: %w", i, err))
					return
				}
				accounts[i] = a
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return accounts, nil
}

func setupOne(ctx context.Context, c *apiClient, adminKey string, i int, cls class, fanout int, s *sinks, t *tracker) (account, error) {
	var created struct {
		PhoneNumber struct {
			ID string `json:"id"`
		} `json:"phone_number"`
		APIKey string `json:"api_key"`
	}
	name := fmt.Sprintf("bench %d (%s)", i, cls)
	if err := c.call(ctx, http.MethodPost, "/admin/v1/accounts", adminKey, map[string]string{"name": name}, &created, http.StatusCreated); err != nil {
		return account{}, err
	}
	if created.APIKey == "" || created.PhoneNumber.ID == "" {
		return account{}, fmt.Errorf("POST /admin/v1/accounts answered no api_key or phone_number.id")
	}
	var secret struct {
		Secret string `json:"secret"`
	}
	if err := c.call(ctx, http.MethodGet, "/v1/webhook/secret", created.APIKey, nil, &secret, http.StatusOK); err != nil {
		return account{}, err
	}
	for k := range fanout {
		token := randomHex(16)
		url, err := s.start(i, k, cls, token, secret.Secret, t)
		if err != nil {
			return account{}, fmt.Errorf("starting the sink of its webhook endpoint %d: %w", k+1, err)
		}
		body := map[string]string{"url": url, "verify_token": token}
		if k == 0 {
			err = c.call(ctx, http.MethodPut, "/v1/webhook", created.APIKey, body, nil, http.StatusOK)
		} else {
			// Account scope, no event filter: every event of the account.
			var ep struct {
				ID string `json:"id"`
			}
			err = c.call(ctx, http.MethodPost, "/v1/webhooks", created.APIKey, body, &ep, http.StatusCreated)
			if err == nil && ep.ID == "" {
				err = errors.New("POST /v1/webhooks answered no endpoint id")
			}
		}
		if err != nil {
			if k > 0 {
				err = fmt.Errorf("webhook endpoint %d of %d (--fanout): %w", k+1, fanout, err)
			}
			return account{}, err
		}
	}
	phone, _ := json.Marshal(created.PhoneNumber.ID)
	return account{apiKey: created.APIKey, phoneID: phone}, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	crand.Read(b)
	return hex.EncodeToString(b)
}

// pacer spaces batches so that events leave at rate per second. A producer
// that fell behind may catch up by at most maxLag.
type pacer struct {
	mu       sync.Mutex
	perEvent time.Duration
	next     time.Time
}

const maxLag = time.Second

func newPacer(rate float64, start time.Time) *pacer {
	if rate <= 0 {
		return nil
	}
	return &pacer{perEvent: time.Duration(float64(time.Second) / rate), next: start}
}

// wait blocks until n more events may leave, and reports false when that
// moment is at or after deadline or ctx ends first.
func (p *pacer) wait(ctx context.Context, n int, deadline time.Time) bool {
	if p == nil {
		return ctx.Err() == nil && time.Now().Before(deadline)
	}
	p.mu.Lock()
	now := time.Now()
	if p.next.Before(now.Add(-maxLag)) {
		p.next = now.Add(-maxLag)
	}
	slot := p.next
	p.next = p.next.Add(time.Duration(n) * p.perEvent)
	p.mu.Unlock()
	if !slot.Before(deadline) {
		return false
	}
	if d := time.Until(slot); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return ctx.Err() == nil
}

// produce runs the producers until deadline or until every event has been
// reserved, and returns the first ingest error. The requests go round-robin
// over the nodes' clients (see nodeFor).
func produce(ctx context.Context, cfg Config, clients []*apiClient, accounts []account, t *tracker, start time.Time) error {
	deadline := start.Add(cfg.Duration)
	p := newPacer(cfg.Rate, start)
	batch, events := t.batch, len(t.ack)
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		once     sync.Once
		firstErr error
	)
	var nextBatch atomic.Int64
	var wg sync.WaitGroup
	for range cfg.Producers {
		wg.Go(func() {
			var body []byte
			for {
				b := int(nextBatch.Add(1) - 1)
				lo := b * batch
				if lo >= events || b < 0 {
					return
				}
				hi := min(lo+batch, events)
				if !p.wait(ctx, hi-lo, deadline) {
					return
				}
				ep := b % len(accounts)
				c := clients[nodeFor(b, len(accounts), len(clients))]
				body = appendBatch(body[:0], lo, hi, accounts[ep].phoneID, time.Now().Unix())
				sent := time.Now()
				if err := c.ingest(ctx, accounts[ep].apiKey, body); err != nil {
					once.Do(func() { firstErr = err })
					cancel()
					return
				}
				t.ingestTook(b, time.Since(sent))
				t.acknowledged(lo, hi, ep)
			}
		})
	}
	wg.Wait()
	if err := parent.Err(); err != nil {
		return err
	}
	return firstErr
}

// appendBatch appends the POST /v1/events body of events [lo, hi): one
// "delivered" status each, whose wamid encodes its sequence number.
func appendBatch(b []byte, lo, hi int, phoneID []byte, unix int64) []byte {
	b = append(b, `{"events":[`...)
	for seq := lo; seq < hi; seq++ {
		if seq > lo {
			b = append(b, ',')
		}
		b = append(b, `{"id":"bench-`...)
		b = strconv.AppendInt(b, int64(seq), 10)
		b = append(b, `","phone_number_id":`...)
		b = append(b, phoneID...)
		b = append(b, `,"status":{"id":"`+wamidPrefix...)
		b = strconv.AppendInt(b, int64(seq), 10)
		b = append(b, `","status":"delivered","timestamp":"`...)
		b = strconv.AppendInt(b, unix, 10)
		b = append(b, `","recipient_id":"2547`...)
		b = appendPadded(b, seq%100_000_000, 8)
		b = append(b, `","recipient_type":"individual"}}`...)
	}
	return append(b, "]}"...)
}

func appendPadded(b []byte, n, width int) []byte {
	s := strconv.Itoa(n)
	for range width - len(s) {
		b = append(b, '0')
	}
	return append(b, s...)
}
