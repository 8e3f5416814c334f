package sqlite

import (
	"context"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlstore"
)

func qmark(int) string { return "?" }

// all reads every row of a query with scan.
func all[T any](ctx context.Context, s *Store, scan func(sqlstore.Scanner) (T, error), q string, args ...any) ([]T, error) {
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, v)
	}
	return out, translate(rows.Err())
}

// one reads one row with scan; ErrNotFound when there is none.
func one[T any](ctx context.Context, s *Store, scan func(sqlstore.Scanner) (T, error), q string, args ...any) (T, error) {
	if s.isClosed() {
		var zero T
		return zero, store.ErrClosed
	}
	v, err := scan(s.rdb.QueryRowContext(ctx, q, args...))
	return v, translate(err)
}

func insertUser(ctx context.Context, tx *wtx, u bahasha.User) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO users (id, account_id, email, name, role, password_hash, created_at, created_by, password_set_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, u.ID, u.AccountID, u.Email, u.Name, string(u.Role), u.PasswordHash,
		ms(u.CreatedAt), u.CreatedBy, ms(u.PasswordSetAt))
	return err
}

// CreateUser implements store.Store.
func (s *Store) CreateUser(ctx context.Context, u bahasha.User) error {
	return s.write(ctx, func(tx *wtx) error { return insertUser(ctx, tx, u) })
}

// Users implements store.Store.
func (s *Store) Users(ctx context.Context, accountID string) ([]bahasha.User, error) {
	return all(ctx, s, sqlstore.ScanUser, `SELECT `+sqlstore.UserColumns+` FROM users u WHERE u.account_id = ? ORDER BY u.created_at, u.id`, accountID)
}

// User implements store.Store.
func (s *Store) User(ctx context.Context, p store.GetUserParams) (bahasha.User, error) {
	return one(ctx, s, sqlstore.ScanUser, `SELECT `+sqlstore.UserColumns+` FROM users u WHERE u.id = ? AND u.account_id = ?`, p.UserID, p.AccountID)
}

// UserByEmail implements store.Store.
func (s *Store) UserByEmail(ctx context.Context, email string) (bahasha.User, error) {
	return one(ctx, s, sqlstore.ScanUser, `SELECT `+sqlstore.UserColumns+` FROM users u WHERE u.email = ?`, email)
}

// lastOwner reports whether removing the owner rights of the member would
// leave the account without an owner who can sign in.
func lastOwner(ctx context.Context, tx *wtx, accountID, userID string) (bool, error) {
	u, err := sqlstore.ScanUser(tx.QueryRowContext(ctx, `SELECT `+sqlstore.UserColumns+` FROM users u WHERE u.id = ? AND u.account_id = ?`, userID, accountID))
	if err != nil {
		return false, err
	}
	if u.Role != bahasha.RoleOwner || u.Invited() {
		return false, nil
	}
	var n int
	err = tx.QueryRowContext(ctx, sqlstore.OtherActiveOwners(qmark), accountID, userID).Scan(&n)
	return n == 0, err
}

// SetUserRole implements store.Store.
func (s *Store) SetUserRole(ctx context.Context, p store.SetUserRoleParams) error {
	return s.write(ctx, func(tx *wtx) error {
		last, err := lastOwner(ctx, tx, p.AccountID, p.UserID)
		if err != nil {
			return err
		}
		if last && p.Role != bahasha.RoleOwner {
			return store.ErrLastOwner
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET role = ? WHERE id = ? AND account_id = ?`, string(p.Role), p.UserID, p.AccountID)
		return affected(res, err)
	})
}

// DeleteUser implements store.Store.
func (s *Store) DeleteUser(ctx context.Context, p store.GetUserParams) error {
	return s.write(ctx, func(tx *wtx) error {
		last, err := lastOwner(ctx, tx, p.AccountID, p.UserID)
		if err != nil {
			return err
		}
		if last {
			return store.ErrLastOwner
		}
		for _, q := range []string{`DELETE FROM sessions WHERE user_id = ?`, `DELETE FROM user_links WHERE user_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, p.UserID); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ? AND account_id = ?`, p.UserID, p.AccountID)
		return affected(res, err)
	})
}

// setPassword sets a member's password and ends their sessions but keep's
// and their links.
func setPassword(ctx context.Context, tx *wtx, accountID, userID, hash string, now int64, keep []byte) error {
	res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, password_set_at = ? WHERE id = ? AND account_id = ?`, hash, now, userID, accountID)
	if err := affected(res, err); err != nil {
		return err
	}
	if keep == nil {
		keep = []byte{}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?`, userID, keep); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM user_links WHERE user_id = ?`, userID)
	return err
}

// SetPassword implements store.Store.
func (s *Store) SetPassword(ctx context.Context, p store.SetPasswordParams) error {
	return s.write(ctx, func(tx *wtx) error {
		return setPassword(ctx, tx, p.AccountID, p.UserID, p.PasswordHash, ms(p.Now), p.KeepSession)
	})
}

// CreateUserLink implements store.Store.
func (s *Store) CreateUserLink(ctx context.Context, l store.UserLink) error {
	return s.write(ctx, func(tx *wtx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id = ? AND account_id = ?`, l.UserID, l.AccountID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO user_links (token_hash, account_id, user_id, purpose, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
			l.TokenHash, l.AccountID, l.UserID, l.Purpose, ms(l.CreatedAt), ms(l.ExpiresAt))
		return err
	})
}

// UserLink implements store.Store.
func (s *Store) UserLink(ctx context.Context, p store.UserLinkParams) (store.UserLink, bahasha.User, error) {
	if s.isClosed() {
		return store.UserLink{}, bahasha.User{}, store.ErrClosed
	}
	l, u, err := sqlstore.ScanLinkUser(s.rdb.QueryRowContext(ctx, sqlstore.LinkQuery(qmark), p.TokenHash, ms(p.Now)))
	return l, u, translate(err)
}

// UseUserLink implements store.Store.
func (s *Store) UseUserLink(ctx context.Context, p store.UseUserLinkParams) (bahasha.User, error) {
	var u bahasha.User
	err := s.write(ctx, func(tx *wtx) error {
		_, lu, err := sqlstore.ScanLinkUser(tx.QueryRowContext(ctx, sqlstore.LinkQuery(qmark), p.TokenHash, ms(p.Now)))
		if err != nil {
			return err
		}
		if err := setPassword(ctx, tx, lu.AccountID, lu.ID, p.PasswordHash, ms(p.Now), nil); err != nil {
			return err
		}
		u, err = sqlstore.ScanUser(tx.QueryRowContext(ctx, `SELECT `+sqlstore.UserColumns+` FROM users u WHERE u.id = ?`, lu.ID))
		return err
	})
	return u, err
}

// SessionByToken implements store.Store.
func (s *Store) SessionByToken(ctx context.Context, p store.SessionAccountParams) (store.SessionView, error) {
	if s.isClosed() {
		return store.SessionView{}, store.ErrClosed
	}
	v, err := sqlstore.ScanSessionView(s.rdb.QueryRowContext(ctx, sqlstore.SessionByTokenQuery(qmark), p.TokenHash, ms(p.Now)))
	return v, translate(err)
}

func scanSession(row sqlstore.Scanner) (store.Session, error) { return sqlstore.ScanSession(row) }

// UserSessions implements store.Store.
func (s *Store) UserSessions(ctx context.Context, p store.UserSessionsParams) ([]store.Session, error) {
	return all(ctx, s, scanSession, `SELECT `+sqlstore.SessionColumns+` FROM sessions se
		WHERE se.account_id = ? AND se.user_id = ? AND se.expires_at > ? ORDER BY se.created_at DESC, se.id`, p.AccountID, p.UserID, ms(p.Now))
}

// DeleteUserSession implements store.Store.
func (s *Store) DeleteUserSession(ctx context.Context, p store.DeleteUserSessionParams) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id = ? AND account_id = ? AND user_id = ?`, p.SessionID, p.AccountID, p.UserID)
		return affected(res, err)
	})
}

func insertKey(ctx context.Context, tx *wtx, p store.CreateAPIKeyParams) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (key_hash, account_id, created_at, id, name, scope, hint, created_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, p.KeyHash, p.AccountID, ms(p.Now), sqlstore.KeyID(p.KeyHash), p.Name, string(p.Scope), p.Hint, p.CreatedBy)
	return err
}

// CreateAPIKey implements store.Store.
func (s *Store) CreateAPIKey(ctx context.Context, p store.CreateAPIKeyParams) (bahasha.APIKey, error) {
	if err := s.write(ctx, func(tx *wtx) error { return insertKey(ctx, tx, p) }); err != nil {
		return bahasha.APIKey{}, err
	}
	return bahasha.APIKey{ID: sqlstore.KeyID(p.KeyHash), AccountID: p.AccountID, Name: p.Name, Scope: p.Scope, Hint: p.Hint,
		CreatedBy: p.CreatedBy, CreatedAt: sqlstore.FromMS(ms(p.Now))}, nil
}

func scanKey(row sqlstore.Scanner) (bahasha.APIKey, error) { return sqlstore.ScanKey(row) }

// APIKeys implements store.Store.
func (s *Store) APIKeys(ctx context.Context, accountID string) ([]bahasha.APIKey, error) {
	return all(ctx, s, scanKey, `SELECT `+sqlstore.KeyColumns+` FROM api_keys k WHERE k.account_id = ? ORDER BY k.created_at DESC, k.id`, accountID)
}

// KeyByHash implements store.Store.
func (s *Store) KeyByHash(ctx context.Context, keyHash []byte) (bahasha.APIKey, bahasha.Account, error) {
	if s.isClosed() {
		return bahasha.APIKey{}, bahasha.Account{}, store.ErrClosed
	}
	k, a, err := sqlstore.ScanKeyAccount(s.rdb.QueryRowContext(ctx, sqlstore.KeyByHashQuery(qmark), keyHash))
	return k, a, translate(err)
}

// RevokeAPIKey implements store.Store.
func (s *Store) RevokeAPIKey(ctx context.Context, p store.RevokeAPIKeyParams) (bahasha.APIKey, error) {
	var k bahasha.APIKey
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = ? AND account_id = ? AND revoked_at = 0`, ms(p.Now), p.KeyID, p.AccountID)
		if err := affected(res, err); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE key_id = ?`, p.KeyID); err != nil {
			return err
		}
		k, err = sqlstore.ScanKey(tx.QueryRowContext(ctx, `SELECT `+sqlstore.KeyColumns+` FROM api_keys k WHERE k.id = ?`, p.KeyID))
		return err
	})
	return k, err
}

// TouchAPIKey implements store.Store.
func (s *Store) TouchAPIKey(ctx context.Context, p store.TouchAPIKeyParams) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ? AND last_used_at < ?`, ms(p.Now), p.KeyID, ms(p.Now))
		return err
	})
}

// AppendAudit implements store.Store.
func (s *Store) AppendAudit(ctx context.Context, e *bahasha.AuditEntry) error {
	return s.write(ctx, func(tx *wtx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO audit_log (account_id, at, actor_kind, actor_id, actor, addr, action, target, details)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, e.AccountID, ms(e.At), string(e.ActorKind), e.ActorID, e.Actor, e.Addr,
			e.Action, e.Target, sqlstore.AuditDetails(e.Details)).Scan(&e.ID)
	})
}

// AuditLog implements store.Store.
func (s *Store) AuditLog(ctx context.Context, p store.AuditLogParams) ([]bahasha.AuditEntry, error) {
	q, args := sqlstore.AuditQuery(p, qmark)
	return all(ctx, s, sqlstore.ScanAudit, q, args...)
}
