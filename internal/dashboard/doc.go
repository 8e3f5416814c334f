// Package dashboard is the web dashboard that bahasha serve serves at /, for
// an account's owner: server-rendered HTML pages (html/template, embedded
// with the stylesheet and a small script) that work with a keyboard and
// without JavaScript, which only adds live updates.
//
// Pages:
//
//	GET  /signin, POST /signin, POST /signout   sign in with an API key; a session cookie
//	GET  /                                      overview: last hour and day, endpoint health
//	GET  /settings/webhooks                     Settings → Webhooks: URL and verify token,
//	POST /settings/webhooks                       "Verify and save" runs the handshake
//	POST /settings/webhooks/secret[/rotate]     reveal or rotate the app secret
//	POST /settings/webhooks/remove              remove the webhook (after a confirm step)
//	GET  /deliveries[/stream]                   recent deliveries, filtered; live (server-sent events)
//	GET  /deliveries/{id}, POST …/{id}/retry    one delivery: payload, headers, attempts; retry
//	GET  /replay, POST /replay                  preview and start a replay of a time range
//	GET  /replay/{id}[/stream]                  a replay's progress, live
//	GET  /sandbox, POST /sandbox/send|inbound   send a test message, simulate a customer reply
//
// Security: signing in turns an API key (sent in a form body, never in a
// URL, never logged) into a random session token in an HttpOnly, SameSite
// cookie (Secure over TLS); the store keeps only the token's SHA-256 hash.
// Every state-changing request passes http.CrossOriginProtection. Every
// response carries a strict Content-Security-Policy (no inline script or
// style; the script and stylesheet come from /static/), and pages with data
// are not cached. Secrets (the app secret, the verify token) appear only in
// the body of the POST response that reveals them.
//
// Errors go through one table (classify): bad input is a message on the page
// with a 4xx status and changes nothing; a store error is a friendly
// message with its status, its cause only in the log.
package dashboard
