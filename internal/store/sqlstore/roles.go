package sqlstore

import (
	"context"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const objRole = "role"

// CreateRole implements store.Roles.
func (s *Store) CreateRole(ctx context.Context, r *store.Role) error {
	if r.UUID == uuid.Nil {
		r.UUID = uuid.Must(uuid.NewV7())
	}
	_, err := s.w.NewInsert().Model(r).Exec(ctx)
	return mapErr(objRole, err)
}

// RoleByUUID implements store.Roles.
func (s *Store) RoleByUUID(ctx context.Context, id uuid.UUID) (*store.Role, error) {
	return getBy[store.Role](ctx, s.r, objRole, "uuid = ?", id)
}

// UpdateRole implements store.Roles.
func (s *Store) UpdateRole(ctx context.Context, r *store.Role) error {
	return updateByPK(ctx, s.w, objRole, r)
}

// DeleteRole implements store.Roles.
func (s *Store) DeleteRole(ctx context.Context, id uuid.UUID) error {
	return deleteBy[store.Role](ctx, s.w, objRole, "uuid = ?", id)
}

// ListRoles implements store.Roles.
func (s *Store) ListRoles(ctx context.Context, o store.ListOptions) ([]*store.Role, int, error) {
	order, err := orderClause(objRole, o.Ordering, "name", map[string]string{"name": "name"})
	if err != nil {
		return nil, 0, err
	}
	var roles []*store.Role
	n, err := listPage(ctx, restrict(searchAny(s.r.NewSelect().Model(&roles), o.Search, "name"), "uuid", o.Only), objRole, order, o.Page)
	return roles, n, err
}

// SetGroupRoles implements store.Roles.
func (s *Store) SetGroupRoles(ctx context.Context, group uuid.UUID, roles []uuid.UUID) error {
	return s.InTx(ctx, func(tx store.Store) error {
		t := tx.(*Store)
		if _, err := t.w.NewRaw("DELETE FROM group_roles WHERE group_uuid = ?", group).Exec(ctx); err != nil {
			return mapErr("group roles", err)
		}
		for _, r := range roles {
			if _, err := t.w.NewRaw(`INSERT INTO group_roles (group_uuid, role_uuid) VALUES (?, ?)
				ON CONFLICT DO NOTHING`, group, r).Exec(ctx); err != nil {
				return mapErr("group roles", err)
			}
		}
		return nil
	})
}

// GroupRoles implements store.Roles.
func (s *Store) GroupRoles(ctx context.Context, group uuid.UUID) ([]*store.Role, error) {
	var roles []*store.Role
	err := s.r.NewSelect().Model(&roles).
		Where("uuid IN (SELECT role_uuid FROM group_roles WHERE group_uuid = ?)", group).Order("name").Scan(ctx)
	return roles, mapErr(objRole, err)
}

// SetUserRoles implements store.Roles.
func (s *Store) SetUserRoles(ctx context.Context, userPK int64, roles []uuid.UUID) error {
	return s.InTx(ctx, func(tx store.Store) error {
		t := tx.(*Store)
		if _, err := t.w.NewRaw("DELETE FROM user_roles WHERE user_pk = ?", userPK).Exec(ctx); err != nil {
			return mapErr("user roles", err)
		}
		for _, r := range roles {
			if _, err := t.w.NewRaw(`INSERT INTO user_roles (user_pk, role_uuid) VALUES (?, ?)
				ON CONFLICT DO NOTHING`, userPK, r).Exec(ctx); err != nil {
				return mapErr("user roles", err)
			}
		}
		return nil
	})
}

// UserRoles implements store.Roles.
func (s *Store) UserRoles(ctx context.Context, userPK int64) ([]*store.Role, error) {
	var roles []*store.Role
	err := s.queryPrepared(ctx, &roles, `SELECT uuid, name FROM roles
		WHERE uuid IN (SELECT role_uuid FROM user_roles WHERE user_pk = ?) ORDER BY name`, userPK)
	return roles, mapErr(objRole, err)
}

// AssignPermission implements store.Roles.
func (s *Store) AssignPermission(ctx context.Context, p store.RolePermission) error {
	_, err := s.w.NewRaw(`INSERT INTO role_permissions (role_uuid, permission, object_pk) VALUES (?, ?, ?)
		ON CONFLICT DO NOTHING`, p.RoleUUID, p.Permission, p.ObjectPK).Exec(ctx)
	return mapErr("role permission", err)
}

// UnassignPermission implements store.Roles.
func (s *Store) UnassignPermission(ctx context.Context, p store.RolePermission) error {
	res, err := s.w.NewRaw(`DELETE FROM role_permissions WHERE role_uuid = ? AND permission = ? AND object_pk = ?`,
		p.RoleUUID, p.Permission, p.ObjectPK).Exec(ctx)
	return affected("role permission", res, err)
}

// RolePermissions implements store.Roles.
func (s *Store) RolePermissions(ctx context.Context, role uuid.UUID) ([]store.RolePermission, error) {
	var out []store.RolePermission
	err := s.r.NewSelect().Model(&out).ModelTableExpr("role_permissions AS role_permission").
		Where("role_uuid = ?", role).Order("permission", "object_pk").Scan(ctx)
	return out, mapErr("role permission", err)
}

// UserPermissions implements store.Roles. Roles come from the user itself
// and from every group it is in, including the ancestors of those groups.
func (s *Store) UserPermissions(ctx context.Context, userPK int64, objectPK string) ([]store.RolePermission, error) {
	var out []store.RolePermission
	err := s.queryPrepared(ctx, &out, `WITH RECURSIVE up(uuid) AS (
			SELECT group_uuid FROM group_members WHERE user_pk = ?
			UNION
			SELECT g.parent_uuid FROM groups g JOIN up ON g.uuid = up.uuid WHERE g.parent_uuid IS NOT NULL
		), user_role(uuid) AS (
			SELECT role_uuid FROM user_roles WHERE user_pk = ?
			UNION
			SELECT role_uuid FROM group_roles WHERE group_uuid IN (SELECT uuid FROM up)
		)
		SELECT DISTINCT role_uuid, permission, object_pk FROM role_permissions
		WHERE role_uuid IN (SELECT uuid FROM user_role) AND (object_pk = '' OR object_pk = ? OR ? = '*')
		ORDER BY permission, object_pk`, userPK, userPK, objectPK, objectPK)
	return out, mapErr("role permission", err)
}

// RolesOfUsers implements store.Roles.
func (s *Store) RolesOfUsers(ctx context.Context, userPKs []int64) (map[int64][]*store.Role, error) {
	out := map[int64][]*store.Role{}
	if len(userPKs) == 0 {
		return out, nil
	}
	type row struct {
		UserPK int64 `bun:"user_pk"`
		store.Role
	}
	var rows []row
	err := s.r.NewRaw(`SELECT ur.user_pk, r.uuid, r.name FROM user_roles ur JOIN roles r ON r.uuid = ur.role_uuid
		WHERE ur.user_pk IN (?) ORDER BY ur.user_pk, r.name`, bun.List(userPKs)).Scan(ctx, &rows)
	if err != nil {
		return nil, mapErr(objRole, err)
	}
	for i := range rows {
		r := rows[i].Role
		out[rows[i].UserPK] = append(out[rows[i].UserPK], &r)
	}
	return out, nil
}
