package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// foreignKeysVersion is the migration from which the foreign keys are
// enforced; applying it checks the data written before.
const foreignKeysVersion = 6

// checkForeignKeys fails, saying which rows and how to remove them, when
// the database holds rows that refer to rows that do not exist.
func checkForeignKeys(ctx context.Context, tx *sql.Tx, path string) error {
	fail := func(err error) error { return fmt.Errorf("sqlite: checking the foreign keys of %s: %w", path, err) }
	type violation struct {
		table, parent, from, to string
		n                       int
	}
	rows, err := tx.QueryContext(ctx, `SELECT c."table", c.parent, l."from", coalesce(l."to", 'rowid'), count(*)
		FROM pragma_foreign_key_check c, pragma_foreign_key_list(c."table") l
		WHERE l.id = c.fkid GROUP BY 1, 2, 3, 4 ORDER BY 1`)
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	var vs []violation
	total := 0
	for rows.Next() {
		var v violation
		if err := rows.Scan(&v.table, &v.parent, &v.from, &v.to, &v.n); err != nil {
			return fail(err)
		}
		vs = append(vs, v)
		total += v.n
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	if total == 0 {
		return nil
	}
	var found, fix []string
	for _, v := range vs {
		found = append(found, fmt.Sprintf("%d in %s refer to missing %s", v.n, v.table, v.parent))
		fix = append(fix, fmt.Sprintf("DELETE FROM %s WHERE %s NOT IN (SELECT %s FROM %s);", v.table, v.from, v.to, v.parent))
	}
	return fmt.Errorf("sqlite: %s holds %d rows that refer to rows that do not exist (%s); nothing was changed. "+
		"Back the file up, remove them with the sqlite3 shell (%s), then start again",
		path, total, strings.Join(found, "; "), strings.Join(fix, " "))
}
