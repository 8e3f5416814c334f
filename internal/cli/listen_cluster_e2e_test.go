package cli_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/bahasha/bahasha/internal/store/pgtest"
)

// TestListenAcrossNodes: two bahasha serve processes on one PostgreSQL
// behind one address (a reverse proxy, as a load balancer would be); the
// listen session is connected to the first; it dies with SIGKILL; the CLI
// reconnects through the same address to the second, which delivers what
// waited and what comes next.
func TestListenAcrossNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("a two-node cluster test; run without -short")
	}
	t.Parallel()
	db := pgtest.URL(t)
	bin := bahashaBinary(t)
	opts := func() serveOpts {
		return serveOpts{NoPrivate: true, Data: t.TempDir(), Args: []string{"--database", db, "--attempt-timeout", "1s", "--lane-lease", "6s"}}
	}
	a := startChild(t, bin, opts())
	b := startChild(t, bin, opts())
	var target atomic.Pointer[url.URL]
	ua, _ := url.Parse(a.URL)
	target.Store(ua)
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target.Load())
		r.Out.Host = r.In.Host
	}})
	t.Cleanup(proxy.Close)
	front := &server{t: t, URL: proxy.URL, Key: a.Key, client: &http.Client{}}

	rcv := newReceiver(t, a.Secret(a.Key))
	out, _ := startListen(t, front, "desk", rcv.URL)
	out.waitFor(t, "Ready!", 1)
	w1 := a.Send(a.Key, a.Phone().ID, "254712345678")
	rcv.Wait(t, "statuses through node A", func() bool { return len(rcv.statusesOfLocked(w1)) == 3 })

	// Node A dies; the address now leads to node B.
	ub, _ := url.Parse(b.URL)
	target.Store(ub)
	a.Kill() // SIGKILL
	w2 := b.Send(b.Key, b.Phone().ID, "254712345679")
	out.waitFor(t, "Ready!", 2)
	rcv.Wait(t, "statuses through node B, in order", func() bool {
		got := rcv.statusesOfLocked(w2)
		return len(got) == 3 && got[0] == "sent" && got[1] == "delivered" && got[2] == "read"
	})
	eventually(t, "every delivery finished", func() (bool, string) {
		for _, d := range b.Deliveries(b.Key, "") {
			if d["state"] != "delivered" && d["state"] != "superseded" {
				return false, d["id"].(string) + " " + d["state"].(string)
			}
		}
		return true, ""
	})
}
