package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// foreignKeysVersion is the migration from which the foreign keys are
// enforced; applying it checks the data written before.
const foreignKeysVersion = 6

// depth orders the tables that refer to others, parents before children:
// deliveries refer to events, attempts to deliveries.
var depth = map[string]int{"api_keys": 1, "phone_numbers": 1, "endpoints": 1, "sessions": 1, "deliveries": 1, "attempts": 2}

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
	}
	// Parents first: removing orphan deliveries orphans their attempts,
	// which the attempts statement, last, then removes too.
	slices.SortStableFunc(vs, func(a, b violation) int { return cmp.Compare(depth[a.table], depth[b.table]) })
	fixed := map[string]bool{}
	for _, v := range vs {
		fixed[v.table] = true
		fix = append(fix, fmt.Sprintf("DELETE FROM %s WHERE %s NOT IN (SELECT %s FROM %s);", v.table, v.from, v.to, v.parent))
	}
	if fixed["deliveries"] && !fixed["attempts"] {
		fix = append(fix, "DELETE FROM attempts WHERE delivery_id NOT IN (SELECT id FROM deliveries);")
	}
	return fmt.Errorf("sqlite: %s holds %d rows that refer to rows that do not exist (%s); nothing was changed. "+
		"Back the file up, remove them with the sqlite3 shell (%s), then start again",
		path, total, strings.Join(found, "; "), strings.Join(fix, " "))
}
