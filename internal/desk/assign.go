package desk

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Assignment. A ticket has at most one agent. Nobody is given more
// active tickets than their capacity: every assignment locks the rows of
// the agents it considers (store.LockAgents) before counting their load,
// so assignments that race for the same agent queue up and the second
// sees the first's ticket. Automatic assignment (a team's round robin or
// least-busy mode) skips agents marked away and agents at capacity.

// canWork reports whether a user may be given tickets: active, with
// service:write.
func canWork(u *crm.User) bool { return u != nil && u.Active && u.Role.Can(crm.PermServiceWrite) }

// Assign gives a ticket to an agent (0: nobody), within the agent's
// capacity. Needs service:write.
func (s *Service) Assign(ctx context.Context, id, userID, version int64) (*crm.Ticket, error) {
	if err := crm.Authorize(ctx, crm.PermServiceWrite, true); err != nil {
		return nil, err
	}
	var out *crm.Ticket
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		t, err := s.lockTicket(ctx, tx, id, version)
		if err != nil {
			return err
		}
		if err := s.assignTx(ctx, tx, t, userID, crm.AssignManual); err != nil {
			return err
		}
		out, err = s.reload(ctx, tx, id)
		return err
	})
	return out, err
}

// assignTx gives t to userID (0 unassigns) and saves t.
func (s *Service) assignTx(ctx context.Context, tx *store.Tx, t *crm.Ticket, userID int64, how string) error {
	if userID == t.AssigneeID {
		return nil
	}
	if userID != 0 {
		u, err := tx.FindUserByID(ctx, userID)
		if crm.ErrorCode(err) == crm.ENOTFOUND || err == nil && !canWork(u) {
			return fieldErr(crm.EINVALID, "assignee_id", "User %d cannot work tickets (not an active admin, manager or support user).", userID)
		}
		if err != nil {
			return err
		}
		if err := tx.LockAgents(ctx, []int64{userID}); err != nil {
			return err
		}
		agents, err := tx.Agents(ctx, []int64{userID})
		if err != nil {
			return err
		}
		if len(agents) == 1 && crm.TicketActive(t.Status) && agents[0].Load >= agents[0].Capacity {
			a := agents[0]
			return &crm.Error{Code: crm.ECONFLICT, Key: "service.error.capacity",
				Message: fmt.Sprintf("%s already has %d active tickets, their capacity; raise it or choose someone else.", nameOr(a.Name, a.Email), a.Load),
				Fields:  map[string]string{"assignee_id": fmt.Sprintf("At capacity (%d).", a.Capacity)}}
		}
		if err := tx.TouchAgentAssigned(ctx, userID); err != nil {
			return err
		}
	}
	from := t.AssigneeID
	if err := tx.InsertTicketChange(ctx, t.ID, "assignee", idText(from), idText(userID), actor(ctx)); err != nil {
		return err
	}
	t.AssigneeID = userID
	if err := s.save(ctx, tx, t, false); err != nil {
		return err
	}
	if err := tx.Audit(ctx, "ticket.assign", "ticket", t.ID, map[string]int64{"assignee_id": from}, map[string]any{"assignee_id": userID, "how": how}); err != nil {
		return err
	}
	p, err := ticketPayload(ctx, tx, t)
	if err != nil {
		return err
	}
	ap := AssignedPayload{TicketPayload: p, FromID: from, How: how}
	if from != 0 {
		names, err := tx.DeskUserNames(ctx, []int64{from})
		if err != nil {
			return err
		}
		ap.From = names[from]
	}
	return emit(ctx, tx, crm.EventTicketAssigned, t, ap)
}

func nameOr(name, email string) string {
	if name != "" {
		return name
	}
	return email
}

func idText(id int64) string {
	if id == 0 {
		return ""
	}
	return fmt.Sprint(id)
}

// AutoAssign gives a ticket to an agent of its team by the team's mode
// (round robin or least busy), skipping agents away or at capacity. A
// team in manual mode, or one with nobody free, leaves the ticket as it
// is: assigned reports whether someone got it. Needs service:write.
func (s *Service) AutoAssign(ctx context.Context, id int64) (t *crm.Ticket, assigned bool, err error) {
	if err := crm.Authorize(ctx, crm.PermServiceWrite, true); err != nil {
		return nil, false, err
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		t, err = tx.FindTicket(ctx, id, true)
		if err != nil {
			return err
		}
		before := t.AssigneeID
		if err := s.autoAssignTx(ctx, tx, t); err != nil {
			return err
		}
		assigned = t.AssigneeID != before
		t, err = s.reload(ctx, tx, id)
		return err
	})
	return t, assigned, err
}

// autoAssignTx assigns t by its team's mode; nothing when the team is
// manual or nobody is free.
func (s *Service) autoAssignTx(ctx context.Context, tx *store.Tx, t *crm.Ticket) error {
	if t.TeamID == 0 || t.AssigneeID != 0 || !crm.TicketActive(t.Status) {
		return nil
	}
	mode, err := tx.DeskTeamMode(ctx, t.TeamID)
	if err != nil || mode == crm.AssignManual {
		return err
	}
	team, err := tx.FindTeamByID(ctx, t.TeamID)
	if err != nil {
		return err
	}
	// Lock every member first, in id order, then read their loads: two
	// assignments at once cannot both see the same free slot.
	if err := tx.LockAgents(ctx, team.MemberIDs); err != nil {
		return err
	}
	agents, err := tx.Agents(ctx, team.MemberIDs)
	if err != nil {
		return err
	}
	var free []*crm.Agent
	for _, a := range agents {
		if a.Away || a.Load >= a.Capacity {
			continue
		}
		u, err := tx.FindUserByID(ctx, a.UserID)
		if err != nil || !canWork(u) {
			continue
		}
		free = append(free, a)
	}
	pick := pickAgent(free, mode)
	if pick == nil {
		return nil
	}
	return s.assignTx(ctx, tx, t, pick.UserID, mode)
}

// pickAgent chooses among free agents: round robin takes the one given a
// ticket longest ago (never first); least busy the one with the fewest
// active tickets, then longest ago; ties by user id.
func pickAgent(free []*crm.Agent, mode string) *crm.Agent {
	if len(free) == 0 {
		return nil
	}
	earlier := func(a, b *crm.Agent) int {
		switch {
		case a.LastAssignedAt == nil && b.LastAssignedAt != nil:
			return -1
		case a.LastAssignedAt != nil && b.LastAssignedAt == nil:
			return 1
		case a.LastAssignedAt != nil && !a.LastAssignedAt.Equal(*b.LastAssignedAt):
			return a.LastAssignedAt.Compare(*b.LastAssignedAt)
		}
		return 0
	}
	slices.SortStableFunc(free, func(a, b *crm.Agent) int {
		if mode == crm.AssignLeastBusy && a.Load != b.Load {
			return a.Load - b.Load
		}
		if c := earlier(a, b); c != 0 {
			return c
		}
		return int(a.UserID - b.UserID)
	})
	return free[0]
}

// SetTeam moves a ticket to a team (0: none) and, when the team assigns
// automatically and the ticket has nobody, assigns it. Needs
// service:write.
func (s *Service) SetTeam(ctx context.Context, id, teamID, version int64) (*crm.Ticket, error) {
	if err := crm.Authorize(ctx, crm.PermServiceWrite, true); err != nil {
		return nil, err
	}
	var out *crm.Ticket
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		t, err := s.lockTicket(ctx, tx, id, version)
		if err != nil {
			return err
		}
		if err := s.setTeamTx(ctx, tx, t, teamID); err != nil {
			return err
		}
		if err := s.autoAssignTx(ctx, tx, t); err != nil {
			return err
		}
		out, err = s.reload(ctx, tx, id)
		return err
	})
	return out, err
}

func (s *Service) setTeamTx(ctx context.Context, tx *store.Tx, t *crm.Ticket, teamID int64) error {
	if teamID == t.TeamID {
		return nil
	}
	if teamID != 0 {
		if _, err := tx.FindTeamByID(ctx, teamID); err != nil {
			if crm.ErrorCode(err) == crm.ENOTFOUND {
				return fieldErr(crm.EINVALID, "team_id", "Team %d does not exist.", teamID)
			}
			return err
		}
	}
	if err := tx.InsertTicketChange(ctx, t.ID, "team", idText(t.TeamID), idText(teamID), actor(ctx)); err != nil {
		return err
	}
	if err := tx.Audit(ctx, "ticket.team", "ticket", t.ID, map[string]int64{"team_id": t.TeamID}, map[string]int64{"team_id": teamID}); err != nil {
		return err
	}
	t.TeamID = teamID
	return s.save(ctx, tx, t, false)
}

// Agents returns the users who may work tickets with their capacity,
// presence and load. Needs service:read.
func (s *Service) Agents(ctx context.Context) ([]*crm.Agent, error) {
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return nil, err
	}
	var out []*crm.Agent
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.Agents(ctx, nil)
		return err
	})
	return out, err
}

// AgentInput changes an agent's capacity and presence.
type AgentInput struct {
	Capacity int
	Away     bool
}

// SaveAgent sets an agent's capacity and presence. Agents may mark
// themselves away; changing someone else, or a capacity, needs
// users:manage. Needs service:write.
func (s *Service) SaveAgent(ctx context.Context, userID int64, in AgentInput) (*crm.Agent, error) {
	if err := crm.Authorize(ctx, crm.PermServiceWrite, true); err != nil {
		return nil, err
	}
	if in.Capacity < 0 || in.Capacity > MaxCapacity {
		return nil, fieldErr(crm.EINVALID, "capacity", "Use a number of tickets from 0 to %d.", MaxCapacity)
	}
	var out *crm.Agent
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		u, err := tx.FindUserByID(ctx, userID)
		if err != nil {
			return err
		}
		if !canWork(u) {
			return fieldErr(crm.EINVALID, "user_id", "%s cannot work tickets.", nameOr(u.Name, u.Email))
		}
		agents, err := tx.Agents(ctx, []int64{userID})
		if err != nil {
			return err
		}
		old := agents[0]
		if me := crm.UserFromContext(ctx); me != nil && (me.ID != userID || in.Capacity != old.Capacity) && !me.Can(crm.PermUsersManage) {
			return crm.Errorf(crm.EFORBIDDEN, "You may mark yourself away or back; other changes need users:manage.")
		}
		if err := tx.SaveAgent(ctx, userID, in.Capacity, in.Away); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "desk.agent", "user", userID, old, in); err != nil {
			return err
		}
		agents, err = tx.Agents(ctx, []int64{userID})
		if err == nil {
			out = agents[0]
		}
		return err
	})
	return out, err
}

// Teams returns every team with its assignment mode. Needs service:read.
func (s *Service) Teams(ctx context.Context) ([]*crm.DeskTeam, error) {
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return nil, err
	}
	var out []*crm.DeskTeam
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.DeskTeams(ctx)
		return err
	})
	return out, err
}

// SetTeamMode sets how a team's new tickets are assigned: manual, round
// robin or least busy. Needs settings:manage.
func (s *Service) SetTeamMode(ctx context.Context, teamID int64, mode string) error {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return err
	}
	if !slices.Contains(crm.AssignmentModes, mode) {
		return fieldErr(crm.EINVALID, "assignment", "Use one of %s.", strings.Join(crm.AssignmentModes, ", "))
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.FindTeamByID(ctx, teamID); err != nil {
			return err
		}
		old, err := tx.DeskTeamMode(ctx, teamID)
		if err != nil {
			return err
		}
		if err := tx.SaveDeskTeam(ctx, teamID, mode); err != nil {
			return err
		}
		return tx.Audit(ctx, "desk.team", "team", teamID, map[string]string{"assignment": old}, map[string]string{"assignment": mode})
	})
}
