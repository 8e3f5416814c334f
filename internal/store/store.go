// Package store defines the Store interface that every database driver
// implements (internal/store/sqlite, internal/store/postgres), its parameter
// types and its errors. Drivers translate their own errors at their edge:
// a missing row is ErrNotFound, a uniqueness violation ErrConflict; anything
// else is wrapped with %w and means the store is in trouble.
//
// Times cross this interface as time.Time and are stored with millisecond
// precision in UTC. No method reads the clock: callers pass Now.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
)

// Errors every driver returns for the conditions they name. Test with
// errors.Is.
var (
	// ErrNotFound: no such row, or not one the given account may see.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: the row already exists.
	ErrConflict = errors.New("store: conflict")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
	// ErrUnavailable: the database cannot be reached right now (a server
	// database that is down or unreachable); retrying later may succeed.
	ErrUnavailable = errors.New("store: database unavailable")
	// ErrTooMany: the account already has as many endpoints as it may.
	ErrTooMany = errors.New("store: too many endpoints")
	// ErrLastOwner: the change would leave the account without an owner
	// who can sign in.
	ErrLastOwner = errors.New("store: the account's last owner")
)

// Store is the platform's durable state. Every method is safe for concurrent
// use. Methods that take an account id never return another account's rows:
// a row of another account is ErrNotFound.
type Store interface {
	// CreateAccount creates an account with its first API key (stored as
	// the given hash) and its phone numbers. ErrConflict if the account id,
	// the key hash or a phone number id exists.
	CreateAccount(ctx context.Context, p CreateAccountParams) error
	// Account returns an account, or ErrNotFound.
	Account(ctx context.Context, accountID string) (bahasha.Account, error)
	// CountAccounts returns how many accounts exist.
	CountAccounts(ctx context.Context) (int, error)
	// SetAppSecret replaces an account's app secret. ErrNotFound if there is
	// no such account.
	SetAppSecret(ctx context.Context, p SetAppSecretParams) error

	// PhoneNumbers returns an account's phone numbers, oldest first.
	PhoneNumbers(ctx context.Context, accountID string) ([]bahasha.PhoneNumber, error)
	// PhoneNumber returns one of an account's phone numbers, or ErrNotFound
	// (also when the number belongs to another account).
	PhoneNumber(ctx context.Context, p GetPhoneNumberParams) (bahasha.PhoneNumber, error)

	// LookupNumbers returns the phone numbers, of every account, whose id
	// is one of IDs or whose WABA is one of WABAIDs: the routing table of
	// one POST of Meta's webhooks.
	LookupNumbers(ctx context.Context, p LookupNumbersParams) ([]bahasha.PhoneNumber, error)
	// AddUnrouted keeps changes of Meta's webhooks that no account owns; a
	// change whose Digest is kept already is skipped.
	AddUnrouted(ctx context.Context, changes []Unrouted) error
	// ListUnrouted lists up to Limit kept changes with an id above After,
	// oldest first.
	ListUnrouted(ctx context.Context, p ListUnroutedParams) ([]Unrouted, error)
	// RemoveUnrouted deletes kept changes (routed since); ids that are
	// gone are skipped.
	RemoveUnrouted(ctx context.Context, ids []int64) error
	// SetNumberToken stores the sealed access token of one of an
	// account's numbers (empty removes it). ErrNotFound if the number is
	// not the account's.
	SetNumberToken(ctx context.Context, p NumberTokenParams) error
	// NumberToken returns the sealed access token of one of an account's
	// numbers, or ErrNotFound when it has none (or is not the account's).
	NumberToken(ctx context.Context, p GetPhoneNumberParams) ([]byte, error)
	// AddPhoneNumber adds a phone number to an account. ErrNotFound if
	// there is no such account; ErrConflict if the number's id exists or
	// its WABA is another account's.
	AddPhoneNumber(ctx context.Context, n bahasha.PhoneNumber) error

	// Endpoint returns an account's primary endpoint (the one PUT
	// /v1/webhook manages), or ErrNotFound.
	Endpoint(ctx context.Context, accountID string) (bahasha.Endpoint, error)
	// PutEndpoint creates or replaces an account's verified primary
	// endpoint, at account scope, and enables it (a disabled one's
	// pending deliveries become due at once, as when UpdateEndpoint
	// enables it). Deliveries still pending go to the new URL. Secret is
	// its signing secret when it is created (a replaced one keeps its
	// own).
	PutEndpoint(ctx context.Context, p PutEndpointParams) (bahasha.Endpoint, error)
	// DeleteEndpoint removes an account's primary endpoint and marks its
	// pending deliveries failed with the given reason. ErrNotFound if it
	// has none.
	DeleteEndpoint(ctx context.Context, p DeleteEndpointParams) error

	// Endpoints lists an account's endpoints, oldest first.
	Endpoints(ctx context.Context, accountID string) ([]bahasha.Endpoint, error)
	// EndpointByID returns one of an account's endpoints, or ErrNotFound
	// (also when it is another account's).
	EndpointByID(ctx context.Context, p GetEndpointParams) (bahasha.Endpoint, error)
	// CreateEndpoint adds a verified endpoint (not primary) with the
	// configuration of p.Endpoint. ErrTooMany if the account has Max
	// endpoints already; ErrNotFound if there is no such account, or the
	// scope names a WABA or phone number the account does not have.
	CreateEndpoint(ctx context.Context, p CreateEndpointParams) (bahasha.Endpoint, error)
	// UpdateEndpoint replaces the configuration of one of an account's
	// endpoints (URL, VerifyToken, VerifiedAt, Scope, Events, Headers,
	// RateLimit, Disabled and Description of p.Endpoint — not its secrets,
	// see RotateEndpointSecret; the lane's state is kept, and its breaker
	// reset when the URL changes).
	// Pending deliveries go to the new URL; a disabled endpoint's wait and
	// flow again, in order, once it is enabled. ErrNotFound as for
	// CreateEndpoint, or if the endpoint is not the account's.
	UpdateEndpoint(ctx context.Context, p UpdateEndpointParams) (bahasha.Endpoint, error)
	// MarkEndpointVerified records that the endpoint passed a handshake
	// At, changing nothing else. ErrNotFound if it is not the account's;
	// ErrConflict if its URL or token is no longer the one verified.
	MarkEndpointVerified(ctx context.Context, p MarkVerifiedParams) (bahasha.Endpoint, error)
	// RotateEndpointSecret makes Secret the endpoint's signing secret, in
	// one write: the secret it replaces keeps signing too until
	// PreviousUntil (a rotation within another's overlap retires the
	// oldest at once). ErrNotFound if it is not the account's.
	RotateEndpointSecret(ctx context.Context, p RotateSecretParams) (bahasha.Endpoint, error)
	// OpenListenSession connects node to the account's listen session
	// named Name, creating it (an endpoint of KindListen, URL
	// bahasha.ListenURLPrefix+Name, with Secret) when there is none, and
	// sets its scope and filter. A session another node held is taken
	// over. Its pending deliveries become claimable by node (unless it
	// was disabled: that stays as it was, with its breaker reset).
	// ErrTooMany and ErrNotFound as for CreateEndpoint.
	OpenListenSession(ctx context.Context, p OpenListenParams) (bahasha.Endpoint, error)
	// TouchListenSession records that node still holds the session's
	// connection at Now (ListenHeld), or reports that another node took
	// it over (ListenTakenOver) or that it was removed (ListenRemoved).
	TouchListenSession(ctx context.Context, p ListenSessionParams) (ListenHold, error)
	// CloseListenSession disconnects node from the session (if it still
	// holds it): its work waits for the next connection.
	CloseListenSession(ctx context.Context, p ListenSessionParams) error
	// RemoveStaleListenSessions removes up to Limit listen sessions last
	// connected before Before (a held session is touched every
	// listen.PingInterval, so one older than that is offline, or held by
	// a node that died), failing their pending deliveries with Reason, and
	// returns how many.
	RemoveStaleListenSessions(ctx context.Context, p StaleSessionsParams) (int, error)
	// TrimListenBacklogs fails, in every listen session holding more than
	// Max pending deliveries, the oldest of them (by event) beyond the
	// newest Max, at most Limit in all, with Reason, counting them in the
	// statistics as failed, and returns how many. Two nodes trimming at
	// once fail no more than one would.
	TrimListenBacklogs(ctx context.Context, p TrimBacklogsParams) (int, error)
	// AddNotices records operational events (bahasha.NewNotice) to be
	// routed by FlushNotices.
	AddNotices(ctx context.Context, notices []bahasha.Event) error
	// RecentNotices lists an account's latest operational events that
	// were routed (FlushNotices), newest first, at most limit: ID, Kind,
	// MessageType (the type), Payload and CreatedAt.
	RecentNotices(ctx context.Context, accountID string, limit int) ([]bahasha.Event, error)
	// FlushNotices turns up to Limit recorded operational events, oldest
	// first, into events routed over their accounts' endpoints (as
	// InsertEvents does; an event already stored is not stored twice),
	// and returns how many it took.
	FlushNotices(ctx context.Context, p FlushNoticesParams) (int, error)
	// RemoveEndpoint deletes one of an account's endpoints (the primary
	// one too) and marks its pending deliveries failed with Reason.
	// ErrNotFound if it is not the account's.
	RemoveEndpoint(ctx context.Context, p RemoveEndpointParams) error

	// InsertEvents durably stores events of one account, in order, in one
	// transaction, and for each new event creates a pending delivery to
	// each endpoint bahasha.Route sends it to, due at the event's
	// AvailableAt (one event row, however many deliveries). An
	// event whose (account, producer id) exists is not stored again: its
	// result has Duplicate set and the existing id. When InsertEvents
	// returns nil, the events are on disk.
	InsertEvents(ctx context.Context, p InsertEventsParams) ([]InsertResult, error)

	// ClaimLanes hands out due work: up to MaxLanes endpoints that have
	// deliveries due at Now and are not already claimed (nor paused, nor
	// waiting for their breaker's probe), least recently served first, each
	// with up to MaxPerLane of its due deliveries in order (next attempt
	// time, then ingest order). A claimed lane is leased until Now+LeaseFor:
	// no other claim returns it until CompleteLane releases it or the lease
	// expires (a crashed node's work is then claimed again, Recovered).
	//
	// When a lane is Recovered, the deliveries its previous claim handed
	// out that are still pending may have reached the endpoint unrecorded:
	// before the claim returns they are durably marked possibly delivered
	// (as DeliveryResult.MaybeDelivered does), so that the ordering rule
	// (Lane.DeliveredRanks) never forgets them, in this claim or any later
	// one, on any node.
	ClaimLanes(ctx context.Context, p ClaimParams) ([]Lane, error)
	// CompleteLane records the outcome of a claimed lane's attempts in one
	// transaction and releases the lane. Deliveries of the lane without a
	// result stay pending and due.
	CompleteLane(ctx context.Context, p CompleteParams) error
	// NextDue returns the earliest time a lane becomes claimable by node
	// (due, not leased, not paused, its breaker's probe due, enabled, and
	// for a listen session connected to node), and false when there is no
	// such pending work.
	NextDue(ctx context.Context, node string) (time.Time, bool, error)
	// ReleaseAllLanes ends every lane lease (at the start of a single-node
	// store, no lane can be in flight). The lanes' next claims are
	// Recovered: their previous workers died.
	ReleaseAllLanes(ctx context.Context) error
	// ExpireDeliveries marks failed up to Limit pending deliveries whose
	// retry window began before Before (they waited too long, e.g. behind an
	// open breaker), and returns how many.
	ExpireDeliveries(ctx context.Context, p ExpireParams) (int, error)
	// Prune deletes up to Limit finished deliveries (delivered, failed,
	// superseded) last updated before Before, with their attempts and
	// their events when no delivery of them remains, and returns how many
	// deliveries it deleted. Pending work is never pruned. It also deletes
	// up to Limit events ingested before Before that have no delivery (they
	// came while no webhook was registered), statistics older than Before,
	// finished replays created before Before, and sessions expired at Now.
	Prune(ctx context.Context, p PruneParams) (int, error)

	// Deliveries lists an account's deliveries, newest first.
	Deliveries(ctx context.Context, p ListDeliveriesParams) ([]bahasha.Delivery, error)
	// Delivery returns one of an account's deliveries with its attempts
	// (oldest first), or ErrNotFound.
	Delivery(ctx context.Context, p GetDeliveryParams) (bahasha.Delivery, []bahasha.Attempt, error)
	// RetryDelivery makes a delivery pending and due at now, with a fresh
	// retry window, whatever its state, and ends the endpoint's pause and
	// open breaker's wait (a manual retry is sent at once). It keeps
	// counting for the ordering rule what it did (a retried status is sent
	// again, the earlier statuses of its message stay superseded). It goes
	// to its own endpoint: ErrNotFound if it is not the account's, or its
	// endpoint was removed (a replay re-sends its event to another).
	RetryDelivery(ctx context.Context, p RetryDeliveryParams) (bahasha.Delivery, error)

	// CountReplay returns how many events a replay with these parameters
	// would cover now, at most: the events with a delivery to the
	// endpoint that qualifies, and the account's events with no delivery
	// to it (of which the replay queues those routed to it). ErrNotFound if
	// EndpointID is not the account's (without one and without a primary
	// endpoint, the account's events that have no delivery).
	CountReplay(ctx context.Context, p ReplayParams) (int, error)
	// CreateReplay records a replay (Total counted now; To is capped at
	// Now) for AdvanceReplays to queue. ErrNotFound if the account has no
	// such endpoint (no primary one, for EndpointID 0).
	CreateReplay(ctx context.Context, p ReplayParams) (bahasha.Replay, error)
	// Replay returns one of an account's replays with its progress, or
	// ErrNotFound.
	Replay(ctx context.Context, p GetReplayParams) (bahasha.Replay, error)
	// Replays lists an account's replays with their progress, newest first,
	// at most Limit (1..100).
	Replays(ctx context.Context, p ListReplaysParams) ([]bahasha.Replay, error)
	// AdvanceReplays queues up to Limit more events of the replays still
	// queuing, oldest replay first, in ingest order: each covered event's
	// delivery to the replay's endpoint becomes pending, due at Now, with a
	// fresh retry window, and no longer counts as having reached it
	// (DeliveredRanks: a replay re-sends a message's statuses in order); an
	// event without a delivery to it that bahasha.Route would send to it
	// now gets a new one. It returns how many it queued. A replay whose
	// endpoint was removed ends its queuing.
	AdvanceReplays(ctx context.Context, p AdvanceReplaysParams) (int, error)

	// Stats returns an account's delivery statistics per minute for the
	// minutes starting in [Since, Until), oldest first, or with EndpointID
	// one of its endpoints'; minutes with nothing recorded are absent.
	// CompleteLane and ExpireDeliveries record them.
	Stats(ctx context.Context, p StatsParams) ([]bahasha.DeliveryStats, error)
	// Backlog counts an account's pending deliveries (all of which are
	// its endpoints': removing an endpoint fails its own).
	Backlog(ctx context.Context, accountID string) (int, error)
	// EndpointBacklog counts one of an account's endpoints' pending
	// deliveries (0 for another account's).
	EndpointBacklog(ctx context.Context, p GetEndpointParams) (int, error)
	// Snapshot is the platform-wide picture at now, for the metrics and
	// the operator: every account's backlog, the oldest due lane, and the
	// endpoints by health.
	Snapshot(ctx context.Context, now time.Time) (Snapshot, error)
	// UnhealthyEndpoints lists, across accounts, up to limit endpoints
	// that are not healthy at now (failing, probing or disabled), those
	// failing longest first, then the disabled.
	UnhealthyEndpoints(ctx context.Context, now time.Time, limit int) ([]bahasha.Endpoint, error)

	// CreateSession stores a dashboard session.
	CreateSession(ctx context.Context, s Session) error
	// SessionAccount returns the account of the session with this token
	// hash if it has not expired at now, or ErrNotFound.
	SessionAccount(ctx context.Context, p SessionAccountParams) (bahasha.Account, error)
	// DeleteSession removes a session; no error if there is none.
	DeleteSession(ctx context.Context, tokenHash []byte) error
	// CreateOperatorSession stores a session of the operator's dashboard.
	CreateOperatorSession(ctx context.Context, s OperatorSession) error
	// CheckOperatorSession returns nil if the operator session with this
	// token hash was opened with the admin key of KeyHash and has not
	// expired at Now, else ErrNotFound.
	CheckOperatorSession(ctx context.Context, p OperatorSessionParams) error
	// DeleteOperatorSession removes an operator session; no error if
	// there is none.
	DeleteOperatorSession(ctx context.Context, tokenHash []byte) error

	// People: members, their one-time links, sessions, API keys and the
	// audit log (people.go).
	People

	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the store. Calls after Close return ErrClosed.
	Close() error
}

// CreateAccountParams are the arguments of CreateAccount.
type CreateAccountParams struct {
	Account    bahasha.Account
	APIKeyHash []byte
	// APIKeyHint is the first key's hint (see bahasha.APIKey.Hint); the
	// key is named "Bootstrap key", with scope full.
	APIKeyHint   string
	PhoneNumbers []bahasha.PhoneNumber
	// Owner, when its Email is set, is the account's first member (role
	// owner, no password yet), created with it.
	Owner bahasha.User
}

// PutEndpointParams are the arguments of PutEndpoint.
type PutEndpointParams struct {
	AccountID   string
	URL         string
	VerifyToken string
	VerifiedAt  time.Time
	// Secret is the Standard Webhooks secret of a new primary endpoint.
	Secret string
	Now    time.Time
	// IfDisabled, when set, makes the write conditional as in
	// UpdateEndpointParams: ErrConflict unless the primary endpoint exists
	// and is disabled or enabled as *IfDisabled says.
	IfDisabled *bool
	// Notices are recorded in the same write (see AddNotices).
	Notices []bahasha.Event
}

// MaxEndpoints is how many endpoints an account may have.
const MaxEndpoints = 50

// GetEndpointParams are the arguments of EndpointByID.
type GetEndpointParams struct {
	AccountID  string
	EndpointID int64
}

// CreateEndpointParams are the arguments of CreateEndpoint.
type CreateEndpointParams struct {
	// Endpoint is the new endpoint's configuration: AccountID, URL,
	// VerifyToken, VerifiedAt, Scope, Events, Headers, RateLimit,
	// Disabled, Description and Secret.
	Endpoint bahasha.Endpoint
	// Max is how many endpoints the account may have (MaxEndpoints).
	Max int
	Now time.Time
}

// UpdateEndpointParams are the arguments of UpdateEndpoint. Endpoint.ID
// and Endpoint.AccountID name the endpoint.
type UpdateEndpointParams struct {
	Endpoint bahasha.Endpoint
	Now      time.Time
	// Notices are operational events about the change, recorded in the
	// same write (see AddNotices).
	Notices []bahasha.Event
	// IfDisabled, when set, makes the write conditional: ErrConflict
	// (nothing changed) unless the endpoint is still disabled or enabled
	// as *IfDisabled says, so that an edit prepared from an older copy
	// never undoes a disabling that happened meanwhile.
	IfDisabled *bool
}

// MarkVerifiedParams are the arguments of MarkEndpointVerified.
type MarkVerifiedParams struct {
	AccountID   string
	EndpointID  int64
	URL         string
	VerifyToken string
	At          time.Time
}

// OpenListenParams are the arguments of OpenListenSession.
type OpenListenParams struct {
	AccountID string
	Name      string
	Node      string
	Scope     bahasha.Scope
	Events    []string
	// Secret is the signing secret of a new session.
	Secret string
	Max    int
	Now    time.Time
}

// ListenSessionParams name a listen session and the node holding it.
type ListenSessionParams struct {
	EndpointID int64
	Node       string
	Now        time.Time
}

// Snapshot is the platform-wide picture (Store.Snapshot).
type Snapshot struct {
	// Pending counts the pending deliveries of every endpoint.
	Pending int
	// OldestDue is the earliest time at which a lane that some node could
	// claim now became due (zero when none is due): now minus it is how
	// far behind delivery is. Lanes that wait by design are left out:
	// disabled endpoints, open breakers before their probe, pauses, and
	// listen sessions whose CLI is offline.
	OldestDue time.Time
	// Endpoints counts endpoints by health: "healthy", "failing",
	// "probing", "paused" (as bahasha.Endpoint.Health) and "disabled".
	Endpoints map[string]int
	// Leases counts the lanes leased at now by node (ClaimParams.Node).
	Leases map[string]int
	// Unrouted counts the changes of Meta's webhooks kept because no
	// account owned their number or WABA (AddUnrouted).
	Unrouted int
}

// EndpointHealths are the keys of Snapshot.Endpoints, in order.
var EndpointHealths = []string{"healthy", "failing", "probing", "paused", "disabled"}

// FlushNoticesParams are the arguments of FlushNotices.
type FlushNoticesParams struct {
	Limit int
	Now   time.Time
}

// ListenHold is what TouchListenSession found.
type ListenHold int

const (
	// ListenHeld: the node holds the session.
	ListenHeld ListenHold = iota + 1
	// ListenTakenOver: another connection holds it now (or none does).
	ListenTakenOver
	// ListenRemoved: the session is gone (removed from the API or the
	// dashboard, or offline past its window).
	ListenRemoved
)

// StaleSessionsParams are the arguments of RemoveStaleListenSessions.
type StaleSessionsParams struct {
	Before time.Time
	Limit  int
	Reason string
	Now    time.Time
}

// TrimBacklogsParams are the arguments of TrimListenBacklogs.
type TrimBacklogsParams struct {
	Max    int
	Limit  int
	Reason string
	Now    time.Time
}

// MaxListenBacklog is how many pending deliveries a listen session holds
// at most: beyond it, the oldest are failed.
const MaxListenBacklog = 10000

// RotateSecretParams are the arguments of RotateEndpointSecret.
type RotateSecretParams struct {
	AccountID     string
	EndpointID    int64
	Secret        string
	PreviousUntil time.Time
}

// RemoveEndpointParams are the arguments of RemoveEndpoint.
type RemoveEndpointParams struct {
	AccountID  string
	EndpointID int64
	// Reason is recorded as the last error of the pending deliveries
	// failed.
	Reason string
	Now    time.Time
}

// InsertEventsParams are the arguments of InsertEvents. Every event's
// AccountID must be AccountID.
type InsertEventsParams struct {
	AccountID string
	Events    []bahasha.Event
	Now       time.Time
	// Source says where the events came from, for the metrics ("api",
	// "sandbox", "inbound"; see internal/metrics).
	Source string
}

// InsertResult is the outcome of one event of InsertEvents.
type InsertResult struct {
	EventID   int64
	Duplicate bool
	// DeliveryIDs are the deliveries created, one per endpoint the event
	// was routed to, in endpoint order; none for a duplicate, or when no
	// endpoint takes it. DeliveryID is the first, 0 when none.
	DeliveryIDs []int64
	DeliveryID  int64
}

// ClaimParams are the arguments of ClaimLanes. A lane whose breaker is open
// (Endpoint.ProbeAt set) is claimable from ProbeAt on, with one delivery.
type ClaimParams struct {
	// Node is the claiming node: of listen sessions, only the lanes
	// connected to it are claimed.
	Node       string
	Now        time.Time
	MaxLanes   int
	MaxPerLane int
	LeaseFor   time.Duration
}

// Lane is a claimed endpoint with the deliveries due for it.
type Lane struct {
	Endpoint  bahasha.Endpoint
	AppSecret string
	// Deliveries are the lane's due deliveries in order. A claim fills what
	// delivering needs: ID, AccountID, EndpointID, EventID, State (pending),
	// Attempts, NextAttemptAt, WindowStart and the whole Event; the fields
	// about earlier attempts and the row's own times are left zero.
	Deliveries []bahasha.Delivery
	// DeliveredRanks holds, for the messages (wamids) of the claimed status
	// deliveries, the highest bahasha.StatusRank that has or may have
	// reached this endpoint: of its deliveries delivered, or possibly
	// delivered (see ClaimLanes and DeliveryResult.MaybeDelivered), in any
	// state; absent when none has.
	DeliveredRanks map[string]int
	// LeasedUntil is when this claim's lease ends; pass it back to
	// CompleteLane.
	LeasedUntil time.Time
	// ClaimedAt is the claim's Now; pass it back to CompleteLane.
	ClaimedAt time.Time
	// Recovered is true when the lane's previous lease ran out instead of
	// being released: its worker died mid-turn, so some of these deliveries
	// may already have reached the endpoint without being recorded (the
	// claim marked them possibly delivered, and DeliveredRanks counts them).
	Recovered bool
}

// CompleteParams are the arguments of CompleteLane.
type CompleteParams struct {
	EndpointID int64
	Now        time.Time
	Results    []DeliveryResult
	// Breaker is the outcome of the lane's turn for the endpoint's breaker.
	Breaker BreakerUpdate
	// AccountID is the endpoint's account, whose statistics for the minute
	// of Now get Stats added (Start is ignored).
	AccountID string
	Stats     bahasha.DeliveryStats
	// ClaimedAt is the claim's Lane.ClaimedAt. When a delivery of the lane
	// was retried by hand since then, a failure does not postpone the
	// breaker's probe past that retry (a manual retry probes at once).
	// Zero leaves the probe as Breaker says.
	ClaimedAt time.Time
	// LeasedUntil is the claim's Lane.LeasedUntil: the lease is released
	// only if it is still that one (a worker that outlived its lease must
	// not release the lane another node has claimed since). Zero releases
	// unconditionally.
	LeasedUntil time.Time
	// Notices are operational events about the turn (the breaker opened,
	// deliveries given up…), recorded in the same write (see AddNotices).
	Notices []bahasha.Event
}

// BreakerUpdate moves an endpoint's breaker.
type BreakerUpdate struct {
	// Turn is how the lane's turn went for the breaker.
	Turn TurnOutcome
	// ProbeAt, with TurnFailed, opens the breaker (or keeps it open)
	// until then.
	ProbeAt time.Time
	// PauseUntil, when after Now, pauses the endpoint as a whole: its lane
	// is not claimed before then (it asked for it with Retry-After).
	PauseUntil time.Time
	// Disable, when set, disables the endpoint with this reason: its
	// pending deliveries wait until it is enabled again.
	Disable string
}

// TurnOutcome is how a lane turn went, for the endpoint's breaker.
type TurnOutcome int

const (
	// TurnNeutral leaves the breaker as it is (nothing was attempted, or
	// the engine stopped waiting).
	TurnNeutral TurnOutcome = iota
	// TurnSucceeded: a POST succeeded; the breaker closes and the failure
	// count resets.
	TurnSucceeded
	// TurnFailed: the turn ended with a failed POST; the failure count
	// grows.
	TurnFailed
)

// DeliveryResult is the outcome of one claimed delivery.
type DeliveryResult struct {
	DeliveryID int64
	// Attempt is the attempt made; Number 0 means none was (a superseded
	// delivery).
	Attempt bahasha.Attempt
	// State is the delivery's new state; for DeliveryPending, NextAttemptAt
	// is when the next attempt is due.
	State         bahasha.DeliveryState
	NextAttemptAt time.Time
	// Error is recorded as the last error when no attempt was made.
	Error string
	// MaybeDelivered: the attempt's request went out but its answer is not
	// known (a timeout, a connection lost after the request was written, a
	// shutdown that stopped waiting), so the event may have reached the
	// endpoint. From then on the delivery counts for the ordering rule as
	// delivered (Lane.DeliveredRanks), whatever happens to it.
	MaybeDelivered bool
}

// ExpireParams are the arguments of ExpireDeliveries.
type ExpireParams struct {
	Now    time.Time
	Before time.Time
	Limit  int
	Reason string
	// Exhausted, when set, is called inside the write once for each
	// endpoint whose expired deliveries include some that are not
	// operational events; what it returns is recorded as notices in the
	// same write (see AddNotices).
	Exhausted func(Expired) []bahasha.Event
}

// Expired is what ExpireDeliveries gave up on one endpoint: Count
// deliveries other than operational events, the first MaxExpiredIDs of
// them (by id) in DeliveryIDs.
type Expired struct {
	Endpoint    bahasha.Endpoint
	Count       int
	DeliveryIDs []int64
}

// MaxExpiredIDs caps Expired.DeliveryIDs.
const MaxExpiredIDs = 100

// PruneParams are the arguments of Prune.
type PruneParams struct {
	Before time.Time
	Limit  int
	// Now removes expired sessions and one-time links; zero leaves them.
	Now time.Time
	// AuditBefore, when not zero, deletes up to Limit audit entries
	// recorded before it.
	AuditBefore time.Time
}

// ReplayChunk is how many events one AdvanceReplays call should queue: one
// short write.
const ReplayChunk = 1000

// ReplayParams are the arguments of CountReplay and CreateReplay.
type ReplayParams struct {
	AccountID string
	// EndpointID is the endpoint the replay re-sends to; 0 is the
	// account's primary endpoint.
	EndpointID int64
	From, To   time.Time
	OnlyFailed bool
	Now        time.Time
}

// Session is a dashboard sign-in: the cookie carries the token, the store
// keeps only its hash.
type Session struct {
	// ID is "ses_" and the first 8 bytes of TokenHash in hex (set by the
	// store).
	ID        string
	TokenHash []byte
	AccountID string
	// UserID is the member signed in; empty for a session opened with an
	// API key (serve --dashboard-key-signin), whose id KeyID is.
	UserID string
	KeyID  string
	// Addr and UserAgent are where the sign-in came from.
	Addr      string
	UserAgent string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// OperatorSession is a session of the operator's dashboard, opened with
// the admin key whose hash is KeyHash.
type OperatorSession struct {
	TokenHash []byte
	KeyHash   []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// OperatorSessionParams are the arguments of CheckOperatorSession.
type OperatorSessionParams struct {
	TokenHash []byte
	KeyHash   []byte
	Now       time.Time
}

// ListDeliveriesParams are the arguments of Deliveries.
type ListDeliveriesParams struct {
	AccountID string
	// EndpointID, when not 0, keeps one endpoint's deliveries.
	EndpointID int64
	// State filters by state when not empty.
	State bahasha.DeliveryState
	// Before is a cursor: only deliveries with a smaller id (0: from the
	// newest).
	Before int64
	// Since and Until, when not zero, keep deliveries created in
	// [Since, Until).
	Since, Until time.Time
	// Limit caps the result (1..1000).
	Limit int
}

// SetAppSecretParams are the arguments of SetAppSecret.
type SetAppSecretParams struct {
	AccountID string
	Secret    string
}

// NumberTokenParams are the arguments of SetNumberToken.
type NumberTokenParams struct {
	AccountID     string
	PhoneNumberID string
	Sealed        []byte
}

// LookupNumbersParams are the arguments of LookupNumbers.
type LookupNumbersParams struct {
	IDs     []string
	WABAIDs []string
}

// Unrouted is a change of Meta's webhooks that no account owned when it
// arrived.
type Unrouted struct {
	ID int64
	// Digest is the change's deduplication key (the producer id its
	// events get).
	Digest     string
	ReceivedAt time.Time
	Field      string
	// EntryID is the entry's id (a WABA id); PhoneNumberID and
	// DisplayPhoneNumber what the change names, when it does.
	EntryID            string
	PhoneNumberID      string
	DisplayPhoneNumber string
	// Reason says why it could not be routed.
	Reason string
	// Body is the change in its entry, as Meta sent it:
	// {"id":…,"time":…,"changes":[{"field":…,"value":…}]}.
	Body json.RawMessage
}

// ListUnroutedParams are the arguments of ListUnrouted.
type ListUnroutedParams struct {
	After int64
	Limit int
}

// GetPhoneNumberParams are the arguments of PhoneNumber.
type GetPhoneNumberParams struct {
	AccountID     string
	PhoneNumberID string
}

// DeleteEndpointParams are the arguments of DeleteEndpoint.
type DeleteEndpointParams struct {
	AccountID string
	// Reason is recorded as the last error of the pending deliveries
	// failed.
	Reason string
	Now    time.Time
}

// GetDeliveryParams are the arguments of Delivery.
type GetDeliveryParams struct {
	AccountID  string
	DeliveryID int64
}

// RetryDeliveryParams are the arguments of RetryDelivery.
type RetryDeliveryParams struct {
	AccountID  string
	DeliveryID int64
	Now        time.Time
}

// GetReplayParams are the arguments of Replay.
type GetReplayParams struct {
	AccountID string
	ReplayID  int64
}

// ListReplaysParams are the arguments of Replays.
type ListReplaysParams struct {
	AccountID string
	// EndpointID, when not 0, keeps the replays to one endpoint.
	EndpointID int64
	// Limit caps the result (1..100).
	Limit int
}

// AdvanceReplaysParams are the arguments of AdvanceReplays.
type AdvanceReplaysParams struct {
	Now time.Time
	// Limit is how many events to queue at most (ReplayChunk).
	Limit int
}

// StatsParams are the arguments of Stats: the minutes starting in
// [Since, Until).
type StatsParams struct {
	AccountID string
	// EndpointID, when not 0, narrows them to one endpoint.
	EndpointID   int64
	Since, Until time.Time
}

// SessionAccountParams are the arguments of SessionAccount.
type SessionAccountParams struct {
	TokenHash []byte
	Now       time.Time
}
