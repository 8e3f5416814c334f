package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlstore"
)

// CreateSession implements store.Store.
func (s *Store) CreateSession(ctx context.Context, se store.Session) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var user any
		if se.UserID != "" {
			user = se.UserID
		}
		_, err := tx.Exec(ctx, `INSERT INTO sessions (token_hash, account_id, created_at, expires_at, id, user_id, key_id, addr, user_agent)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			se.TokenHash, se.AccountID, ms(se.CreatedAt), ms(se.ExpiresAt), sqlstore.SessionID(se.TokenHash), user, se.KeyID, se.Addr, se.UserAgent)
		return err
	})
}

// SessionAccount implements store.Store.
func (s *Store) SessionAccount(ctx context.Context, p store.SessionAccountParams) (bahasha.Account, error) {
	tokenHash, now := p.TokenHash, p.Now
	var a bahasha.Account
	var created int64
	err := s.queryRow(ctx, `SELECT `+sqlstore.AccountColumns+` FROM sessions se JOIN accounts a ON a.id = se.account_id
		WHERE se.token_hash = $1 AND se.expires_at > $2`, []any{tokenHash, ms(now)}, &a.ID, &a.Name, &a.AppSecret, &created)
	a.CreatedAt = fromMS(created)
	return a, err
}

// DeleteSession implements store.Store.
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash)
		return err
	})
}

// CreateOperatorSession implements store.Store.
func (s *Store) CreateOperatorSession(ctx context.Context, se store.OperatorSession) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO operator_sessions (token_hash, key_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
			se.TokenHash, se.KeyHash, ms(se.CreatedAt), ms(se.ExpiresAt))
		return err
	})
}

// CheckOperatorSession implements store.Store.
func (s *Store) CheckOperatorSession(ctx context.Context, p store.OperatorSessionParams) error {
	var one int
	return s.queryRow(ctx, `SELECT 1 FROM operator_sessions WHERE token_hash = $1 AND key_hash = $2 AND expires_at > $3`,
		[]any{p.TokenHash, p.KeyHash, ms(p.Now)}, &one)
}

// DeleteOperatorSession implements store.Store.
func (s *Store) DeleteOperatorSession(ctx context.Context, tokenHash []byte) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM operator_sessions WHERE token_hash = $1`, tokenHash)
		return err
	})
}
