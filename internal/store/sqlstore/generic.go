package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// hasNUL tells whether a string argument holds a NUL byte: no stored value
// can (PostgreSQL text refuses it, and so does the SQLite driver's
// statement text), so such a lookup finds nothing instead of failing.
func hasNUL(args []any) bool {
	for _, a := range args {
		if s, ok := a.(string); ok && strings.IndexByte(s, 0) >= 0 {
			return true
		}
	}
	return false
}

// getBy loads one row of T matching where.
func getBy[T any](ctx context.Context, db bun.IDB, object, where string, args ...any) (*T, error) {
	if hasNUL(args) {
		return nil, fmt.Errorf("%s: %w", object, store.ErrNotFound)
	}
	v := new(T)
	if err := db.NewSelect().Model(v).Where(where, args...).Limit(1).Scan(ctx); err != nil {
		return nil, mapErr(object, err)
	}
	return v, nil
}

// deleteBy deletes the rows of T matching where; none is ErrNotFound.
func deleteBy[T any](ctx context.Context, db bun.IDB, object, where string, args ...any) error {
	res, err := db.NewDelete().Model((*T)(nil)).Where(where, args...).Exec(ctx)
	return affected(object, res, err)
}

// updateByPK writes every column of v but the excluded ones.
func updateByPK[T any](ctx context.Context, db bun.IDB, object string, v *T, exclude ...string) error {
	q := db.NewUpdate().Model(v).WherePK()
	if len(exclude) > 0 {
		q = q.ExcludeColumn(exclude...)
	}
	res, err := q.Exec(ctx)
	return affected(object, res, err)
}

// orderClause maps an API ordering ("name", "-created") to an ORDER BY
// expression through an allow-list of field -> column. Unknown fields are
// ErrInvalid: request text never reaches SQL.
func orderClause(object, ordering, def string, allowed map[string]string) (string, error) {
	if ordering == "" {
		ordering = def
	}
	var parts []string
	for _, f := range strings.Split(ordering, ",") {
		f = strings.TrimSpace(f)
		dir := "ASC"
		if strings.HasPrefix(f, "-") {
			dir, f = "DESC", f[1:]
		}
		col, ok := allowed[f]
		if !ok {
			return "", fmt.Errorf("%s: cannot order by %q: %w", object, f, store.ErrInvalid)
		}
		parts = append(parts, col+" "+dir)
	}
	return strings.Join(parts, ", "), nil
}

// searchAny adds (col1 LIKE pat OR col2 LIKE pat ...) for a case-insensitive substring search.
func searchAny(q *bun.SelectQuery, search string, cols ...string) *bun.SelectQuery {
	search = strings.ReplaceAll(search, "\x00", "")
	if search == "" {
		return q
	}
	pat := like(search)
	return q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
		for _, c := range cols {
			q = q.WhereOr(`LOWER(?) LIKE ? ESCAPE '\'`, bun.Ident(c), pat)
		}
		return q
	})
}

// listPage runs q ordered and paginated and returns the total count.
func listPage(ctx context.Context, q *bun.SelectQuery, object, order string, p store.Page) (int, error) {
	off, lim := pageOf(p)
	n, err := q.OrderExpr(order).Offset(off).Limit(lim).ScanAndCount(ctx)
	if err != nil {
		return 0, mapErr(object, err)
	}
	return int(n), nil
}

// restrict limits q to the given primary keys; nil leaves it alone.
func restrict(q *bun.SelectQuery, pkCol string, only []string) *bun.SelectQuery {
	if only == nil {
		return q
	}
	if len(only) == 0 {
		return q.Where("1 = 0")
	}
	return q.Where("? IN (?)", bun.Ident(pkCol), bun.List(only))
}
