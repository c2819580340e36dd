package store

import (
	"context"

	"github.com/pivand/pivand/internal/crm"
)

// CreateTeam inserts a team.
func (tx *Tx) CreateTeam(ctx context.Context, t *crm.Team) error {
	t.CreatedAt = tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO teams (name, created_at) VALUES (?, ?) RETURNING id`, t.Name, tx.now)
	if err != nil {
		if crm.ErrorCode(err) == crm.ECONFLICT {
			return &crm.Error{Code: crm.ECONFLICT, Message: "A team with this name already exists.",
				Fields: map[string]string{"name": "A team with this name already exists."}}
		}
		return err
	}
	t.ID = id
	return nil
}

// FindTeamByID returns a team with its members, or ENOTFOUND.
func (tx *Tx) FindTeamByID(ctx context.Context, id int64) (*crm.Team, error) {
	var t crm.Team
	if err := tx.QueryRow(ctx, `SELECT id, name, created_at FROM teams WHERE id = ?`, id).Scan(&t.ID, &t.Name, &t.CreatedAt); err != nil {
		return nil, tx.NotFound(err, "Team")
	}
	rows, err := tx.Query(ctx, `SELECT user_id FROM team_members WHERE team_id = ? ORDER BY user_id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	t.MemberIDs = []int64{}
	for rows.Next() {
		var uid int64
		if err := rows.Scan(&uid); err != nil {
			return nil, tx.db.wrap("scan team", err)
		}
		t.MemberIDs = append(t.MemberIDs, uid)
	}
	return &t, tx.db.wrap("team members", rows.Err())
}

// ListTeams returns every team with its members, ordered by name.
func (tx *Tx) ListTeams(ctx context.Context) ([]*crm.Team, error) {
	rows, err := tx.Query(ctx, `SELECT t.id, t.name, t.created_at, m.user_id
		FROM teams t LEFT JOIN team_members m ON m.team_id = t.id ORDER BY t.name, t.id, m.user_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*crm.Team
	for rows.Next() {
		var (
			t   crm.Team
			uid *int64
		)
		if err := rows.Scan(&t.ID, &t.Name, &t.CreatedAt, &uid); err != nil {
			return nil, tx.db.wrap("scan teams", err)
		}
		if len(out) == 0 || out[len(out)-1].ID != t.ID {
			t.MemberIDs = []int64{}
			out = append(out, &t)
		}
		if uid != nil {
			last := out[len(out)-1]
			last.MemberIDs = append(last.MemberIDs, *uid)
		}
	}
	return out, tx.db.wrap("list teams", rows.Err())
}

// SetTeamMembers replaces a team's members.
func (tx *Tx) SetTeamMembers(ctx context.Context, teamID int64, userIDs []int64) error {
	if _, err := tx.Exec(ctx, `DELETE FROM team_members WHERE team_id = ?`, teamID); err != nil {
		return err
	}
	for _, uid := range userIDs {
		if _, err := tx.Exec(ctx, `INSERT INTO team_members (team_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, teamID, uid); err != nil {
			return err
		}
	}
	return nil
}

// UserTeams returns the teams a user belongs to.
func (tx *Tx) UserTeams(ctx context.Context, userID int64) ([]*crm.Team, error) {
	all, err := tx.ListTeams(ctx)
	if err != nil {
		return nil, err
	}
	var out []*crm.Team
	for _, t := range all {
		for _, id := range t.MemberIDs {
			if id == userID {
				out = append(out, t)
				break
			}
		}
	}
	return out, nil
}

// DeleteTeam removes a team; memberships go with it.
func (tx *Tx) DeleteTeam(ctx context.Context, id int64) error {
	res, err := tx.Exec(ctx, `DELETE FROM teams WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return crm.Errorf(crm.ENOTFOUND, "Team was not found.")
	}
	return nil
}
