// Package sqlstore is what the SQL drivers of the store (sqlite, postgres)
// share: the column lists and row scanners of their common schema, the
// encoding of times as Unix milliseconds, and the reading of versioned
// migration files. Drivers translate the scanners' errors themselves.
package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/sdk/webhook"
)

// Scanner is a row: *sql.Row, *sql.Rows, pgx.Row and pgx.Rows all are.
type Scanner interface{ Scan(dest ...any) error }

// Column lists, in the order the scanners read them.
const (
	AccountColumns  = `a.id, a.name, a.app_secret, a.created_at`
	PhoneColumns    = `id, account_id, waba_id, display_phone_number, sandbox, created_at`
	EndpointColumns = `id, account_id, url, verify_token, verified_at, created_at, consecutive_failures, probe_at, failing_since, paused_until,
	scope_kind, scope_id, events, headers, rate_limit, enabled, is_primary, description, secret, prev_secret, prev_secret_until,
	kind, listen_node, last_seen_at, disabled_reason`
	// DeliveryColumns selects a delivery joined with its event (d, e).
	DeliveryColumns = `d.id, d.account_id, d.endpoint_id, d.event_id, d.state, d.attempts, coalesce(d.next_attempt_at, 0),
	d.window_start, d.last_status_code, d.last_error, d.last_attempt_at, d.last_duration_us, d.last_response,
	d.created_at, d.updated_at, d.delivered_at,
	e.producer_id, e.kind, e.waba_id, e.phone_number_id, e.display_phone_number, e.wamid, e.status, e.message_type,
	e.payload, e.contact, e.created_at, e.available_at`
	// ClaimColumns selects what the delivery engine needs of a due
	// delivery and its event (d, e): ScanClaimed reads them.
	ClaimColumns = `d.id, d.endpoint_id, d.event_id, d.attempts, coalesce(d.next_attempt_at, 0), d.window_start,
	e.producer_id, e.kind, e.waba_id, e.phone_number_id, e.display_phone_number, e.wamid, e.status, e.message_type,
	e.payload, e.contact, e.created_at, e.available_at`
)

// MS encodes a time as Unix milliseconds; the zero time is 0.
func MS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// FromMS decodes MS; 0 is the zero time.
func FromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// ScanAccount reads AccountColumns.
func ScanAccount(row Scanner) (bahasha.Account, error) {
	var a bahasha.Account
	var created int64
	if err := row.Scan(&a.ID, &a.Name, &a.AppSecret, &created); err != nil {
		return bahasha.Account{}, err
	}
	a.CreatedAt = FromMS(created)
	return a, nil
}

// ScanPhone reads PhoneColumns.
func ScanPhone(row Scanner) (bahasha.PhoneNumber, error) {
	var n bahasha.PhoneNumber
	var created int64
	if err := row.Scan(&n.ID, &n.AccountID, &n.WABAID, &n.DisplayPhoneNumber, &n.Sandbox, &created); err != nil {
		return bahasha.PhoneNumber{}, err
	}
	n.CreatedAt = FromMS(created)
	return n, nil
}

// ScanEndpoint reads EndpointColumns, then any extra columns into extra.
func ScanEndpoint(row Scanner, extra ...any) (bahasha.Endpoint, error) {
	var e bahasha.Endpoint
	var verified, created, probe, failing, paused, prevUntil, seen int64
	var kind, events, headers, epKind string
	var enabled bool
	dest := append([]any{&e.ID, &e.AccountID, &e.URL, &e.VerifyToken, &verified, &created, &e.ConsecutiveFailures, &probe, &failing, &paused,
		&kind, &e.Scope.ID, &events, &headers, &e.RateLimit, &enabled, &e.Primary, &e.Description, &e.Secret, &e.PreviousSecret, &prevUntil,
		&epKind, &e.ListenNode, &seen, &e.DisabledReason}, extra...)
	if err := row.Scan(dest...); err != nil {
		return bahasha.Endpoint{}, err
	}
	e.VerifiedAt, e.CreatedAt, e.ProbeAt, e.FailingSince = FromMS(verified), FromMS(created), FromMS(probe), FromMS(failing)
	e.PausedUntil, e.PreviousSecretUntil = FromMS(paused), FromMS(prevUntil)
	e.Scope.Kind, e.Disabled = bahasha.ScopeKind(kind), !enabled
	e.Kind, e.LastSeenAt = bahasha.EndpointKind(epKind), FromMS(seen)
	if err := json.Unmarshal([]byte(events), &e.Events); err != nil {
		return bahasha.Endpoint{}, fmt.Errorf("endpoint %d: its events column: %w", e.ID, err)
	}
	if err := json.Unmarshal([]byte(headers), &e.Headers); err != nil {
		return bahasha.Endpoint{}, fmt.Errorf("endpoint %d: its headers column: %w", e.ID, err)
	}
	if e.Disabled && e.DisabledReason == "" {
		e.DisabledReason = DisabledByAPI
	}
	if len(e.Events) == 0 {
		e.Events = nil
	}
	if len(e.Headers) == 0 {
		e.Headers = nil
	}
	return e, nil
}

// EndpointJSON encodes an endpoint's events and headers columns.
func EndpointJSON(e bahasha.Endpoint) (events, headers string) {
	ev, _ := json.Marshal(e.Events)
	if e.Events == nil {
		ev = []byte("[]")
	}
	h, _ := json.Marshal(e.Headers)
	if e.Headers == nil {
		h = []byte("{}")
	}
	return string(ev), string(h)
}

// ScanDelivery reads DeliveryColumns.
func ScanDelivery(row Scanner) (bahasha.Delivery, error) {
	var d bahasha.Delivery
	var state, kind string
	var next, window, lastAt, lastDur, created, updated, delivered, eCreated, eAvailable int64
	var payload, contact []byte
	err := row.Scan(&d.ID, &d.AccountID, &d.EndpointID, &d.EventID, &state, &d.Attempts, &next,
		&window, &d.LastStatusCode, &d.LastError, &lastAt, &lastDur, &d.LastResponse, &created, &updated, &delivered,
		&d.Event.ProducerID, &kind, &d.Event.WABAID, &d.Event.PhoneNumberID, &d.Event.DisplayPhoneNumber,
		&d.Event.WAMID, &d.Event.Status, &d.Event.MessageType, &payload, &contact, &eCreated, &eAvailable)
	if err != nil {
		return bahasha.Delivery{}, err
	}
	d.State, d.Event.Kind = bahasha.DeliveryState(state), bahasha.EventKind(kind)
	d.NextAttemptAt, d.WindowStart = FromMS(next), FromMS(window)
	d.LastAttemptAt, d.LastDuration = FromMS(lastAt), time.Duration(lastDur)*time.Microsecond
	d.CreatedAt, d.UpdatedAt, d.DeliveredAt = FromMS(created), FromMS(updated), FromMS(delivered)
	d.Event.ID, d.Event.AccountID = d.EventID, d.AccountID
	d.Event.Payload, d.Event.Contact = payload, contact
	d.Event.CreatedAt, d.Event.AvailableAt = FromMS(eCreated), FromMS(eAvailable)
	return d, nil
}

// ScanClaimed reads ClaimColumns into a pending delivery of accountID: the
// fields a claim fills (see store.Lane), half of ScanDelivery's. accountID
// may be left "" and set later with SetAccount.
func ScanClaimed(row Scanner, accountID string) (bahasha.Delivery, error) {
	d := bahasha.Delivery{AccountID: accountID, State: bahasha.DeliveryPending}
	var kind string
	var next, window, eCreated, eAvailable int64
	var payload, contact []byte
	err := row.Scan(&d.ID, &d.EndpointID, &d.EventID, &d.Attempts, &next, &window,
		&d.Event.ProducerID, &kind, &d.Event.WABAID, &d.Event.PhoneNumberID, &d.Event.DisplayPhoneNumber,
		&d.Event.WAMID, &d.Event.Status, &d.Event.MessageType, &payload, &contact, &eCreated, &eAvailable)
	if err != nil {
		return bahasha.Delivery{}, err
	}
	d.Event.Kind = bahasha.EventKind(kind)
	d.NextAttemptAt, d.WindowStart = FromMS(next), FromMS(window)
	d.Event.ID, d.Event.AccountID = d.EventID, accountID
	d.Event.Payload, d.Event.Contact = payload, contact
	d.Event.CreatedAt, d.Event.AvailableAt = FromMS(eCreated), FromMS(eAvailable)
	return d, nil
}

// SetAccount sets the account of a delivery read by ScanClaimed, and of its
// event.
func SetAccount(d *bahasha.Delivery, accountID string) {
	d.AccountID, d.Event.AccountID = accountID, accountID
}

// Migration is one versioned migration file ("0001_init.sql").
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations reads fsys's migrations/*.sql, in version order.
func Migrations(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []Migration
	for _, name := range names {
		version, err := strconv.Atoi(strings.SplitN(path.Base(name), "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s has no version number", name)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: version, Name: name, SQL: string(body)})
	}
	return out, nil
}

// SecretBackfill is what BackfillSecrets needs of a driver's migration
// transaction.
type SecretBackfill interface {
	// Missing returns the endpoints that have no signing secret.
	Missing(ctx context.Context) ([]int64, error)
	// Set gives one its secret.
	Set(ctx context.Context, id int64, secret string) error
}

// BackfillSecrets draws a Standard Webhooks signing secret for every
// endpoint that has none: the endpoints a database written before they
// existed holds (SQL has no source of secure randomness to draw them in a
// migration).
func BackfillSecrets(ctx context.Context, b SecretBackfill) error {
	ids, err := b.Missing(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		secret, err := webhook.NewSigningSecret(nil)
		if err != nil {
			return err
		}
		if err := b.Set(ctx, id, secret); err != nil {
			return err
		}
	}
	return nil
}

// ListenBacklogsOver is the query of the listen sessions holding more
// than its one parameter's number of pending deliveries, by id: their id
// and account_id. deliveries names the deliveries table aliased d, with
// the driver's index hint; param is the driver's first placeholder.
func ListenBacklogsOver(deliveries, param string) string {
	return `SELECT e.id, e.account_id FROM endpoints e WHERE e.kind = 'listen'
		AND (SELECT count(*) FROM ` + deliveries + ` WHERE d.endpoint_id = e.id AND d.state = 'pending') > ` + param + ` ORDER BY e.id`
}

// TrimListenBacklog is the statement that fails one listen session's
// pending deliveries beyond its newest ones, oldest event first; its
// parameters, numbered by the driver's placeholder: the reason, the time,
// the endpoint, how many at most, and how many newest stay.
func TrimListenBacklog(deliveries string, ph func(int) string) string {
	return `UPDATE deliveries SET state = 'failed', next_attempt_at = NULL, last_error = ` + ph(1) + `, updated_at = ` + ph(2) + `
		WHERE id IN (SELECT id FROM ` + deliveries + ` WHERE endpoint_id = ` + ph(3) + ` AND state = 'pending'
			ORDER BY event_id DESC LIMIT ` + ph(4) + ` OFFSET ` + ph(5) + `)`
}

// BacklogLane is a listen session over its bound (ListenBacklogsOver).
type BacklogLane struct {
	ID        int64
	AccountID string
}

// The queries of Store.Snapshot; ph is the driver's placeholder for now
// (used several times, so numbered the same).
const SnapshotPending = `SELECT count(*) FROM deliveries WHERE state = 'pending'`

// SnapshotUnrouted counts the kept unrouted changes of Meta's webhooks.
const SnapshotUnrouted = `SELECT count(*) FROM unrouted`

// SnapshotOldestDue is the earliest due lane some node could claim at now.
func SnapshotOldestDue(ph func(int) string) string {
	now := ph(1)
	return `SELECT coalesce(min(lane_due_at), 0) FROM endpoints WHERE lane_due_at IS NOT NULL AND lane_due_at <= ` + now + `
		AND probe_at <= ` + now + ` AND paused_until <= ` + now + ` AND enabled = TRUE AND (kind = 'http' OR listen_node <> '')`
}

// SnapshotHealth counts endpoints by health at now.
func SnapshotHealth(ph func(int) string) string {
	return `SELECT CASE WHEN enabled = FALSE THEN 'disabled' WHEN probe_at > 0 THEN 'probing' WHEN paused_until > ` + ph(1) + ` THEN 'paused'
		WHEN consecutive_failures > 0 THEN 'failing' ELSE 'healthy' END AS health, count(*) FROM endpoints GROUP BY 1`
}

// DisabledByAPI is the reason of an endpoint disabled from the API or the
// dashboard.
const DisabledByAPI = "disabled from the API or the dashboard"

// SnapshotLeases counts the lanes leased at now by node.
func SnapshotLeases(ph func(int) string) string {
	return `SELECT lane_node, count(*) FROM endpoints WHERE lane_leased_until > ` + ph(1) + ` GROUP BY lane_node`
}

// UnhealthyEndpoints selects (EndpointColumns) up to the second
// parameter's number of endpoints not healthy: failing ones first, the
// longest failing first, then the disabled.
func UnhealthyEndpoints(ph func(int) string) string {
	return `SELECT ` + EndpointColumns + ` FROM endpoints WHERE consecutive_failures > 0 OR enabled = FALSE
		ORDER BY CASE WHEN enabled = FALSE THEN 1 ELSE 0 END, failing_since, id LIMIT ` + ph(1)
}

// RecentNotices selects an account's latest operational events (first
// placeholder) at most the second's number: id, message_type, payload,
// created_at.
func RecentNotices(ph func(int) string) string {
	return `SELECT id, message_type, payload, created_at FROM events WHERE account_id = ` + ph(1) + ` AND kind = 'operational'
		ORDER BY created_at DESC, id DESC LIMIT ` + ph(2)
}
