package cli_test

// The crash loop: bahasha serve killed with SIGKILL at random moments, again
// and again, while a producer ingests every message's statuses in order and
// retries batches, and a receiver fails some POSTs and takes others too
// slowly to answer in time. What Bahasha promises must hold through all of
// it: nothing acknowledged is lost, no event is ingested twice or arrives
// under two delivery ids, no status arrives after a later one of its
// message, and every POST is validly signed.
//
// BAHASHA_CRASH_CYCLES sets how many kills each run makes (default 3), and
// BAHASHA_CRASH_SEED repeats a run's random choices (its seed is logged;
// the interleaving of the processes still varies).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store/pgtest"
	"github.com/bahasha/bahasha/sdk/webhook"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// lockedRand is a seeded source shared by the run's goroutines.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (l *lockedRand) float() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}

func (l *lockedRand) between(lo, hi time.Duration) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return lo + time.Duration(l.r.Int64N(int64(hi-lo)))
}

func crashSeed(t *testing.T) uint64 {
	if v := os.Getenv("BAHASHA_CRASH_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("BAHASHA_CRASH_SEED=%q is not a number", v)
		}
		return s
	}
	return rand.Uint64()
}

func crashCycles(t *testing.T) int {
	if v := os.Getenv("BAHASHA_CRASH_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("BAHASHA_CRASH_CYCLES=%q is not a positive number", v)
		}
		return n
	}
	return 3
}

// crashReceiver is the business's endpoint: GETs are the SDK's handshake;
// each POST's signature is checked with the SDK, then the POST is failed
// (500), accepted and answered at once, or accepted and never answered in
// time (the attempt times out though the events were taken).
type crashReceiver struct {
	srv    *httptest.Server
	token  string
	secret string
	rng    *lockedRand
	quit   chan struct{}

	mu       sync.Mutex
	accepted map[string][]string // wamid:status → the delivery ids it was accepted under
	furthest map[string]int      // wamid → the highest rank accepted
	errs     []string
	posts    int
	changed  chan struct{}
}

func newCrashReceiver(t *testing.T, rng *lockedRand) *crashReceiver {
	c := &crashReceiver{token: "crash-verify-token", rng: rng, quit: make(chan struct{}), accepted: map[string][]string{},
		furthest: map[string]int{}, changed: make(chan struct{})}
	verify := &webhook.Handler{VerifyToken: c.token}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			verify.ServeHTTP(w, r)
			return
		}
		c.post(w, r)
	}))
	t.Cleanup(func() { close(c.quit); c.srv.Close() })
	return c
}

func (c *crashReceiver) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

func (c *crashReceiver) post(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	fate := c.rng.float()
	c.mu.Lock()
	c.posts++
	if err := webhook.VerifySignature(c.secret, body, r.Header.Get(webhook.SignatureHeader)); err != nil {
		c.fail("POST %d: bad signature: %v", c.posts, err)
		c.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if fate < 0.12 {
		c.mu.Unlock()
		http.Error(w, "receiver failing", http.StatusInternalServerError)
		return
	}
	n, err := whatsapp.Parse(body)
	ids := strings.Split(r.Header.Get("X-Bahasha-Delivery-Id"), ",")
	if err != nil {
		c.fail("POST %d: body does not parse: %v", c.posts, err)
	}
	i := 0
	for st := range n.Statuses() {
		if i >= len(ids) {
			c.fail("POST %d: more statuses than delivery ids (%q)", c.posts, ids)
			break
		}
		key := st.Status.ID + ":" + string(st.Status.Status)
		rank := bahasha.StatusRank(string(st.Status.Status))
		if prev := c.furthest[st.Status.ID]; rank < prev {
			c.fail("POST %d: %s arrived after a later status (rank %d) of its message", c.posts, key, prev)
		}
		c.furthest[st.Status.ID] = max(c.furthest[st.Status.ID], rank)
		if dl := c.accepted[key]; len(dl) == 0 || dl[len(dl)-1] != ids[i] {
			c.accepted[key] = append(dl, ids[i])
		}
		i++
	}
	if i != len(ids) {
		c.fail("POST %d: %d statuses for delivery ids %q", c.posts, i, ids)
	}
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	if fate < 0.15 {
		// Taken, but answered only after Bahasha gave up on the attempt.
		select {
		case <-r.Context().Done():
		case <-c.quit:
		}
	}
	w.WriteHeader(http.StatusOK)
}

// crashProducer ingests messages' statuses in order: batch k carries the
// sent of group k, the delivered of group k-1 and the read of group k-2. A
// batch whose answer does not come is sent again until one does; some
// acknowledged batches are sent again too, and must be all duplicates.
type crashProducer struct {
	t       *testing.T
	rng     *lockedRand
	nodes   func() []string // the nodes' URLs now (a killed node's is refused)
	phone   string
	client  *http.Client
	group   int
	acked   map[string]bool // wamid:status
	resent  int
	retried int
}

func (p *crashProducer) batch(k, groups int) []any {
	var evs []any
	for i, status := range []string{"sent", "delivered", "read"} {
		g := k - i
		if g < 0 || g >= groups {
			continue
		}
		for m := g * p.group; m < (g+1)*p.group; m++ {
			wamid := fmt.Sprintf("wamid.CRASHLOOP-%05d", m)
			evs = append(evs, statusEvent(wamid+":"+status, p.phone, wamid, status))
		}
	}
	return evs
}

// send posts one batch until a node answers it, and returns the answer.
func (p *crashProducer) send(evs []any) map[string]any {
	body, err := json.Marshal(map[string]any{"events": evs})
	if err != nil {
		p.t.Fatal(err)
	}
	deadline := time.Now().Add(2 * waitLimit)
	for try := 0; ; try++ {
		nodes := p.nodes()
		url := nodes[try%len(nodes)]
		req, _ := http.NewRequest("POST", url+"/v1/events", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testAPIKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := p.client.Do(req)
		if err == nil {
			data, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			var v map[string]any
			if rerr == nil && resp.StatusCode == http.StatusAccepted && json.Unmarshal(data, &v) == nil {
				return v
			}
			if rerr == nil && resp.StatusCode != http.StatusAccepted && resp.StatusCode < 500 {
				p.t.Errorf("ingest answered %d: %s", resp.StatusCode, data)
				return nil
			}
		}
		// No answer (the node died mid-request, or is down): send again.
		p.retried++
		if time.Now().After(deadline) {
			p.t.Errorf("no node acknowledged a batch within %v: %v", 2*waitLimit, err)
			return nil
		}
		select {
		case <-time.After(20 * time.Millisecond): // a producer's retry pace, not a synchronisation
		case <-p.t.Context().Done():
			return nil
		}
	}
}

// run ingests groups of messages, one batch every pace, until stop is
// closed and at least minGroups were started; then it finishes every
// started message's lifecycle.
func (p *crashProducer) run(stop <-chan struct{}, minGroups int, pace time.Duration) int {
	groups := 0
	tick := time.NewTicker(pace)
	defer tick.Stop()
	stopped := false
	for k := 0; ; k++ {
		if !stopped && groups >= minGroups {
			select {
			case <-stop:
				stopped = true
			default:
			}
		}
		if !stopped {
			groups = k + 1
		}
		if k >= groups+2 {
			return groups
		}
		evs := p.batch(k, groups)
		v := p.send(evs)
		if v == nil {
			return groups
		}
		for _, e := range evs {
			st := e.(map[string]any)["status"].(map[string]any)
			p.acked[st["id"].(string)+":"+st["status"].(string)] = true
		}
		if p.rng.float() < 0.25 {
			// An acknowledged batch sent again: nothing of it is new.
			p.resent++
			again := p.send(evs)
			if again != nil && (again["accepted"] != 0.0 || again["duplicates"] != float64(len(evs))) {
				p.t.Errorf("an acknowledged batch sent again: accepted %v, duplicates %v of %d; want all duplicates", again["accepted"], again["duplicates"], len(evs))
			}
		}
		<-tick.C
	}
}

// crashNode is one bahasha serve process, restarted on its own port.
type crashNode struct {
	mu   sync.Mutex
	c    *child
	opts serveOpts
	url  string
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// runCrashLoop runs the scenario against nodes built by newOpts (one per
// node), killing one node at random moments for cycles cycles.
func runCrashLoop(t *testing.T, nodeCount int, newOpts func() serveOpts) {
	seed, cycles := crashSeed(t), crashCycles(t)
	t.Logf("crash loop seed %d (repeat its choices with BAHASHA_CRASH_SEED=%d), %d kills", seed, seed, cycles)
	// One source per role, so that each role's draws follow from the seed
	// whatever the others do.
	rng := &lockedRand{r: rand.New(rand.NewPCG(seed, 1))} // the kills
	bin := bahashaBinary(t)
	nodes := make([]*crashNode, nodeCount)
	for i := range nodes {
		o := newOpts()
		addr := freeAddr(t)
		o.Args = append(o.Args, "--addr", addr)
		nodes[i] = &crashNode{opts: o, url: "http://" + addr}
		nodes[i].c = startChild(t, bin, o) // the first node creates the account
	}
	first := nodes[0].c
	rcv := newCrashReceiver(t, &lockedRand{r: rand.New(rand.NewPCG(seed, 2))})
	rcv.secret = first.Secret(first.Key)
	if r := first.Do("PUT", "/v1/webhook", map[string]string{"url": rcv.srv.URL + "/webhook", "verify_token": rcv.token}); r.Status != 200 {
		t.Fatalf("PUT /v1/webhook: %s", r)
	}
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	prod := &crashProducer{t: t, rng: &lockedRand{r: rand.New(rand.NewPCG(seed, 3))}, phone: first.Phone().ID, group: 10, acked: map[string]bool{},
		client: &http.Client{Transport: tr, Timeout: 10 * time.Second},
		nodes: func() []string {
			var urls []string
			for _, n := range nodes {
				urls = append(urls, n.url)
			}
			return urls
		}}

	stop := make(chan struct{})
	produced := make(chan int, 1)
	go func() { produced <- prod.run(stop, 10, 30*time.Millisecond) }()
	for cycle := range cycles {
		select {
		case <-time.After(rng.between(300*time.Millisecond, 1500*time.Millisecond)): // a random moment
		case groups := <-produced:
			t.Fatalf("the producer stopped early, after %d groups", groups)
		}
		n := nodes[int(rng.float()*float64(len(nodes)))%len(nodes)]
		n.mu.Lock()
		n.c.Kill()
		t.Logf("cycle %d: killed a node; the receiver had %d POSTs", cycle+1, rcv.postCount())
		n.c = startChild(t, bin, n.opts)
		n.mu.Unlock()
	}
	close(stop)
	groups := <-produced
	if t.Failed() {
		return
	}
	total := groups * prod.group * 3
	t.Logf("%d events of %d messages ingested over %d kills; %d batch sends retried, %d acknowledged batches resent",
		total, groups*prod.group, cycles, prod.retried, prod.resent)
	if len(prod.acked) != total {
		t.Fatalf("%d events acknowledged, want %d", len(prod.acked), total)
	}

	// Everything settles: no delivery pending, one per event.
	api := nodes[0].c.server
	var all []map[string]any
	// A failure bound only, with room for a slow receiver's backlog (one in
	// 33 of its POSTs waits out the attempt timeout).
	limit := 3*waitLimit + time.Duration(total)*10*time.Millisecond
	deadline := time.Now().Add(limit)
	for {
		all = allDeliveries(t, api)
		pending := 0
		for _, d := range all {
			if d["state"] == "pending" {
				pending++
			}
		}
		if pending == 0 && len(all) >= total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %d deliveries, %d pending; want %d, none pending", limit, len(all), pending, total)
		}
		rcv.waitChange(time.Second) // or poll again after a second
	}

	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for _, e := range rcv.errs {
		t.Error(e)
	}
	byEvent := map[string]map[string]any{}
	for _, d := range all {
		key := d["wamid"].(string) + ":" + d["status"].(string)
		if prev, dup := byEvent[key]; dup {
			t.Errorf("event %s has two deliveries: %s and %s (ingested twice)", key, prev["id"], d["id"])
		}
		byEvent[key] = d
	}
	lost, superseded := 0, 0
	for key := range prod.acked {
		d, ok := byEvent[key]
		if !ok {
			t.Errorf("acknowledged event %s has no delivery", key)
			continue
		}
		ids := rcv.accepted[key]
		for _, id := range ids {
			if id != d["id"] {
				t.Errorf("event %s arrived under delivery id %s; its delivery is %s", key, id, d["id"])
			}
		}
		wamid, status, _ := strings.Cut(key, ":")
		switch d["state"] {
		case "delivered":
			if len(ids) == 0 {
				t.Errorf("event %s is recorded delivered but never reached the receiver", key)
				lost++
			}
		case "superseded":
			superseded++
			if rcv.furthest[wamid] <= bahasha.StatusRank(status) {
				t.Errorf("event %s was superseded, but no later status of its message reached the receiver", key)
				lost++
			}
		default:
			t.Errorf("event %s ended %s", key, d["state"])
		}
		if rcv.furthest[wamid] != bahasha.StatusRank("read") {
			t.Errorf("message %s ended at rank %d at the receiver, want read", wamid, rcv.furthest[wamid])
		}
	}
	t.Logf("receiver: %d POSTs; %d events superseded, %d lost, %d errors", rcv.posts, superseded, lost, len(rcv.errs))
}

func (c *crashReceiver) postCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.posts
}

// waitChange waits until the receiver accepts something, or at most d.
func (c *crashReceiver) waitChange(d time.Duration) {
	c.mu.Lock()
	ch := c.changed
	c.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(d):
	}
}

// allDeliveries lists every delivery of the default account, page by page.
func allDeliveries(t *testing.T, s *server) []map[string]any {
	t.Helper()
	var out []map[string]any
	cursor := ""
	for {
		path := "/v1/webhook/deliveries?limit=1000"
		if cursor != "" {
			path += "&before=" + cursor
		}
		r := s.Do("GET", path, nil)
		if r.Status != 200 {
			t.Fatalf("GET %s: %s", path, r)
		}
		for _, d := range r.Get("data").([]any) {
			out = append(out, d.(map[string]any))
		}
		next, _ := r.Get("next_cursor").(string)
		if next == "" {
			return out
		}
		cursor = next
	}
}

// TestCrashLoop: SQLite, one node killed and restarted again and again,
// with batching on and off.
func TestCrashLoop(t *testing.T) {
	t.Parallel()
	for _, batch := range []string{"100", "1"} {
		t.Run("max-batch="+batch, func(t *testing.T) {
			t.Parallel()
			data := t.TempDir()
			runCrashLoop(t, 1, func() serveOpts {
				return serveOpts{Data: data, Args: []string{"--attempt-timeout", "300ms", "--max-batch", batch}}
			})
		})
	}
}

// TestCrashLoopCluster: two nodes on one PostgreSQL, one of them killed at
// random moments; the other takes its lanes over when their leases run out.
func TestCrashLoopCluster(t *testing.T) {
	t.Parallel()
	db := pgtest.URL(t)
	runCrashLoop(t, 2, func() serveOpts {
		return serveOpts{Data: t.TempDir(), Args: []string{"--database", db, "--attempt-timeout", "300ms", "--lane-lease", "5300ms"}}
	})
}
