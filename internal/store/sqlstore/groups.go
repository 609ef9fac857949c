package sqlstore

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const objGroup = "group"

// CreateGroup implements store.Groups.
func (s *Store) CreateGroup(ctx context.Context, g *store.Group) error {
	if g.UUID == uuid.Nil {
		g.UUID = uuid.Must(uuid.NewV7())
	}
	if g.Attributes == nil {
		g.Attributes = store.Attributes{}
	}
	if g.Parent != nil && *g.Parent == g.UUID {
		return fmt.Errorf("group %q cannot be its own parent: %w", g.Name, store.ErrInvalid)
	}
	_, err := s.w.NewInsert().Model(g).Exec(ctx)
	return mapErr(objGroup, err)
}

// GroupByUUID implements store.Groups.
func (s *Store) GroupByUUID(ctx context.Context, id uuid.UUID) (*store.Group, error) {
	g := new(store.Group)
	if err := s.r.NewSelect().Model(g).Where("uuid = ?", id).Scan(ctx); err != nil {
		return nil, mapErr(objGroup, err)
	}
	return g, nil
}

// GroupByName implements store.Groups.
func (s *Store) GroupByName(ctx context.Context, name string) (*store.Group, error) {
	return getBy[store.Group](ctx, s.r, objGroup, "name = ?", name)
}

// UpdateGroup implements store.Groups. The cycle check and the write run in
// one transaction, so two concurrent re-parentings cannot build a loop.
func (s *Store) UpdateGroup(ctx context.Context, g *store.Group) error {
	if g.Attributes == nil {
		g.Attributes = store.Attributes{}
	}
	return s.InTx(ctx, func(tx store.Store) error {
		t := tx.(*Store)
		if g.Parent != nil {
			ancestors, err := t.ancestors(ctx, *g.Parent)
			if err != nil {
				return err
			}
			for _, a := range ancestors {
				if a == g.UUID {
					return fmt.Errorf("group %q: parent would make a cycle: %w", g.Name, store.ErrInvalid)
				}
			}
		}
		res, err := t.w.NewUpdate().Model(g).WherePK().Exec(ctx)
		return affected(objGroup, res, err)
	})
}

// ancestors returns id and every group above it (nothing for a missing id).
func (s *Store) ancestors(ctx context.Context, id uuid.UUID) ([]uuid.UUID, error) {
	var out []uuid.UUID
	err := s.r.NewRaw(`WITH RECURSIVE up(uuid) AS (
		SELECT uuid FROM groups WHERE uuid = ?
		UNION
		SELECT g.parent_uuid FROM groups g JOIN up ON g.uuid = up.uuid WHERE g.parent_uuid IS NOT NULL
	) SELECT uuid FROM up`, id).Scan(ctx, &out)
	return out, mapErr(objGroup, err)
}

// DeleteGroup implements store.Groups. Child groups lose their parent.
func (s *Store) DeleteGroup(ctx context.Context, id uuid.UUID) error {
	res, err := s.w.NewDelete().Model((*store.Group)(nil)).Where("uuid = ?", id).Exec(ctx)
	return affected(objGroup, res, err)
}

// ListGroups implements store.Groups.
func (s *Store) ListGroups(ctx context.Context, f store.GroupFilter) ([]*store.Group, int, error) {
	var groups []*store.Group
	q := restrict(searchAny(s.r.NewSelect().Model(&groups), f.Search, "name"), "uuid", f.Only)
	if f.Parent != nil {
		q = q.Where("parent_uuid = ?", *f.Parent)
	}
	if f.HasParent != nil {
		if *f.HasParent {
			q = q.Where("parent_uuid IS NOT NULL")
		} else {
			q = q.Where("parent_uuid IS NULL")
		}
	}
	if f.Ordering == "tree" {
		// The count needs no tree: only the page pays for the walk.
		n, err := q.Count(ctx)
		if err != nil {
			return nil, 0, mapErr(objGroup, err)
		}
		off, lim := pageOf(f.Page)
		if err := s.groupTree(q).OrderExpr(s.treeOrder()).Offset(off).Limit(lim).Scan(ctx); err != nil {
			return nil, 0, mapErr(objGroup, err)
		}
		return groups, int(n), nil
	}
	order, err := orderClause(objGroup, f.Ordering, "name", map[string]string{"name": "name", "is_superuser": "is_superuser"})
	if err != nil {
		return nil, 0, err
	}
	n, err := listPage(ctx, q, objGroup, order+", uuid ASC", f.Page)
	return groups, n, err
}

// groupTree joins q to every group's tree key: the keys of its ancestors
// and its own, root first, each the lowercased name and the UUID (which
// keeps two groups of one lowercased name and their subtrees apart),
// separated by characters below any printable one. Ordered by it, each
// group comes before its subtree and after its previous sibling's
// subtree. The walk starts at the roots, so it ends (UpdateGroup keeps
// the parents acyclic); a group it does not reach sorts last.
func (s *Store) groupTree(q *bun.SelectQuery) *bun.SelectQuery {
	sep, part := "char(1)", "char(2)"
	if s.eng.dialect == dialect.PG {
		sep, part = "chr(1)", "chr(2)"
	}
	key := func(alias string) string {
		return "LOWER(" + alias + "name) || " + part + " || CAST(" + alias + "uuid AS TEXT)"
	}
	return q.WithRecursive("group_tree", s.r.NewRaw(`SELECT uuid AS tree_uuid, `+key("")+` AS tree_key
		FROM groups WHERE parent_uuid IS NULL
		UNION ALL
		SELECT g.uuid, t.tree_key || `+sep+` || `+key("g.")+`
		FROM groups g JOIN group_tree t ON g.parent_uuid = t.tree_uuid`)).
		Join("LEFT JOIN group_tree ON group_tree.tree_uuid = ?TableAlias.uuid")
}

// treeOrder orders by the tree key, byte-wise on both engines.
func (s *Store) treeOrder() string {
	key := "group_tree.tree_key"
	if s.eng.dialect == dialect.PG {
		key += ` COLLATE "C"`
	}
	return "(group_tree.tree_key IS NULL), " + key + ", ?TableAlias.uuid ASC"
}

// AddGroupMember implements store.Groups.
func (s *Store) AddGroupMember(ctx context.Context, group uuid.UUID, userPK int64) error {
	_, err := s.w.NewRaw(`INSERT INTO group_members (group_uuid, user_pk) VALUES (?, ?)
		ON CONFLICT (group_uuid, user_pk) DO NOTHING`, group, userPK).Exec(ctx)
	return mapErr("group membership", err)
}

// RemoveGroupMember implements store.Groups.
func (s *Store) RemoveGroupMember(ctx context.Context, group uuid.UUID, userPK int64) error {
	res, err := s.w.NewRaw(`DELETE FROM group_members WHERE group_uuid = ? AND user_pk = ?`, group, userPK).Exec(ctx)
	return affected("group membership", res, err)
}

// GroupMembers implements store.Groups.
func (s *Store) GroupMembers(ctx context.Context, group uuid.UUID) ([]int64, error) {
	var pks []int64
	err := s.r.NewRaw(`SELECT user_pk FROM group_members WHERE group_uuid = ? ORDER BY user_pk`, group).Scan(ctx, &pks)
	return pks, mapErr("group membership", err)
}

// UserGroups implements store.Groups.
func (s *Store) UserGroups(ctx context.Context, userPK int64, inherited bool) ([]*store.Group, error) {
	var groups []*store.Group
	var err error
	if inherited {
		err = s.queryPrepared(ctx, &groups, `WITH RECURSIVE up(uuid) AS (
			SELECT group_uuid FROM group_members WHERE user_pk = ?
			UNION
			SELECT g.parent_uuid FROM groups g JOIN up ON g.uuid = up.uuid WHERE g.parent_uuid IS NOT NULL
		) SELECT uuid, name, parent_uuid, is_superuser, attributes FROM groups WHERE uuid IN (SELECT uuid FROM up)
		ORDER BY name`, userPK)
	} else {
		err = s.queryPrepared(ctx, &groups, `SELECT uuid, name, parent_uuid, is_superuser, attributes FROM groups
		WHERE uuid IN (SELECT group_uuid FROM group_members WHERE user_pk = ?) ORDER BY name`, userPK)
	}
	return groups, mapErr(objGroup, err)
}

// UserIsSuperuser implements store.Groups.
func (s *Store) UserIsSuperuser(ctx context.Context, userPK int64) (bool, error) {
	var n []int
	err := s.queryPrepared(ctx, &n, `WITH RECURSIVE up(uuid) AS (
			SELECT group_uuid FROM group_members WHERE user_pk = ?
			UNION
			SELECT g.parent_uuid FROM groups g JOIN up ON g.uuid = up.uuid WHERE g.parent_uuid IS NOT NULL
		) SELECT COUNT(*) FROM groups WHERE is_superuser AND uuid IN (SELECT uuid FROM up)`, userPK)
	if err != nil {
		return false, mapErr(objGroup, err)
	}
	return len(n) == 1 && n[0] > 0, nil
}

// GroupsOfUsers implements store.Groups.
func (s *Store) GroupsOfUsers(ctx context.Context, userPKs []int64, inherited bool) (map[int64][]*store.Group, error) {
	out := map[int64][]*store.Group{}
	if len(userPKs) == 0 {
		return out, nil
	}
	type row struct {
		UserPK int64 `bun:"user_pk"`
		store.Group
	}
	var rows []row
	var err error
	if inherited {
		err = s.r.NewRaw(`WITH RECURSIVE up(user_pk, uuid) AS (
				SELECT user_pk, group_uuid FROM group_members WHERE user_pk IN (?)
				UNION
				SELECT up.user_pk, g.parent_uuid FROM groups g JOIN up ON g.uuid = up.uuid WHERE g.parent_uuid IS NOT NULL
			)
			SELECT up.user_pk, g.uuid, g.name, g.parent_uuid, g.is_superuser, g.attributes
			FROM up JOIN groups g ON g.uuid = up.uuid ORDER BY up.user_pk, g.name`, bun.List(userPKs)).Scan(ctx, &rows)
	} else {
		err = s.r.NewRaw(`SELECT gm.user_pk, g.uuid, g.name, g.parent_uuid, g.is_superuser, g.attributes
			FROM group_members gm JOIN groups g ON g.uuid = gm.group_uuid
			WHERE gm.user_pk IN (?) ORDER BY gm.user_pk, g.name`, bun.List(userPKs)).Scan(ctx, &rows)
	}
	if err != nil {
		return nil, mapErr(objGroup, err)
	}
	for i := range rows {
		g := rows[i].Group
		out[rows[i].UserPK] = append(out[rows[i].UserPK], &g)
	}
	return out, nil
}
