package sqlite

import (
	"context"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlstore"
)

// CreateSession implements store.Store.
func (s *Store) CreateSession(ctx context.Context, se store.Session) error {
	return s.write(ctx, func(tx *wtx) error {
		var user any
		if se.UserID != "" {
			user = se.UserID
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, account_id, created_at, expires_at, id, user_id, key_id, addr, user_agent)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			se.TokenHash, se.AccountID, ms(se.CreatedAt), ms(se.ExpiresAt), sqlstore.SessionID(se.TokenHash), user, se.KeyID, se.Addr, se.UserAgent)
		return err
	})
}

// SessionAccount implements store.Store.
func (s *Store) SessionAccount(ctx context.Context, p store.SessionAccountParams) (bahasha.Account, error) {
	tokenHash, now := p.TokenHash, p.Now
	if s.isClosed() {
		return bahasha.Account{}, store.ErrClosed
	}
	a, err := scanAccount(s.rdb.QueryRowContext(ctx, `SELECT `+sqlstore.AccountColumns+` FROM sessions se JOIN accounts a ON a.id = se.account_id
		WHERE se.token_hash = ? AND se.expires_at > ?`, tokenHash, ms(now)))
	return a, translate(err)
}

// DeleteSession implements store.Store.
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
		return err
	})
}

// CreateOperatorSession implements store.Store.
func (s *Store) CreateOperatorSession(ctx context.Context, se store.OperatorSession) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO operator_sessions (token_hash, key_hash, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			se.TokenHash, se.KeyHash, ms(se.CreatedAt), ms(se.ExpiresAt))
		return err
	})
}

// CheckOperatorSession implements store.Store.
func (s *Store) CheckOperatorSession(ctx context.Context, p store.OperatorSessionParams) error {
	if s.isClosed() {
		return store.ErrClosed
	}
	var one int
	err := s.rdb.QueryRowContext(ctx, `SELECT 1 FROM operator_sessions WHERE token_hash = ? AND key_hash = ? AND expires_at > ?`,
		p.TokenHash, p.KeyHash, ms(p.Now)).Scan(&one)
	return translate(err)
}

// DeleteOperatorSession implements store.Store.
func (s *Store) DeleteOperatorSession(ctx context.Context, tokenHash []byte) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM operator_sessions WHERE token_hash = ?`, tokenHash)
		return err
	})
}
