// Package dashboard is the web dashboard that bahasha serve serves at /, for
// an account's owner: server-rendered HTML pages (html/template, embedded
// with the stylesheet and a small script) that work with a keyboard and
// without JavaScript, which only adds live updates.
//
// Pages:
//
//	GET  /signin, POST /signin, POST /signout   sign in with an API key; a session cookie
//	GET  /                                      overview: last hour and day, each endpoint's health and backlog
//	GET  /settings/webhooks                     Settings → Webhooks: URL and verify token,
//	POST /settings/webhooks                       "Verify and save" runs the handshake
//	POST /settings/webhooks/secret[/rotate]     reveal or rotate the app secret
//	POST /settings/webhooks/remove              remove the webhook (after a confirm step)
//	POST /settings/webhooks/endpoints           add an endpoint (as POST /v1/webhooks): scope, events,
//	                                              custom headers, rate limit; the handshake first
//	GET  /settings/webhooks/endpoints/{id}      one endpoint (wh_12): its configuration and health;
//	POST /settings/webhooks/endpoints/{id}        edit it (a new URL or token is verified first)
//	POST …/endpoints/{id}/verify|disable|enable  verify it again; stop or resume its deliveries
//	POST …/endpoints/{id}/remove                remove it (after a confirm step)
//	POST …/endpoints/{id}/secret[/rotate]       reveal or rotate its Standard Webhooks signing secret
//	GET  /deliveries[/stream]                   recent deliveries, filtered (state, endpoint, time); live
//	                                              (server-sent events)
//	GET  /deliveries/{id}, POST …/{id}/retry    one delivery: payload, headers, attempts; retry
//	GET  /replay, POST /replay                  preview and start a replay of a time range
//	GET  /replay/{id}[/stream]                  a replay's progress, live
//	GET  /sandbox, POST /sandbox/send|inbound   send a test message, simulate a customer reply
//	GET  /operator[/signin], POST …/signin|signout  the operator's page (with BAHASHA_ADMIN_KEY):
//	                                              the platform's health, as GET /admin/v1/health
//
// Security: signing in turns an API key (sent in a form body, never in a
// URL, never logged) into a random session token in an HttpOnly, SameSite
// cookie (Secure over TLS); the store keeps only the token's SHA-256 hash.
// Every state-changing request passes http.CrossOriginProtection. Every
// response carries a strict Content-Security-Policy (no inline script or
// style; the script and stylesheet come from /static/), and pages with data
// are not cached. Secrets (the app secret, an endpoint's signing secret)
// appear only in the body of the POST response that reveals them; verify
// tokens never, and custom header values only masked ("••••" and, for
// values of 16 characters or more, their last 4).
//
// Errors go through one table (classify): bad input is a message on the page
// with a 4xx status and changes nothing; a store error is a friendly
// message with its status, its cause only in the log.
package dashboard
