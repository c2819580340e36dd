package activity

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// LogInteraction records a contact with a customer on any channel and puts
// it on the person's and/or company's timeline. The channel must be one of
// crm.InteractionChannels and the direction one of crm.Directions; a
// person or a company (or both) is required; OccurredAt defaults to now and
// may be at most MaxFuture ahead; UserID (who had the interaction)
// defaults to the acting user.
func (s *Service) LogInteraction(ctx context.Context, in crm.Interaction) (*crm.Interaction, error) {
	if err := crm.Authorize(ctx, crm.PermContactsWrite, true); err != nil {
		return nil, err
	}
	in.ID = 0
	in.Channel = strings.ToLower(strings.TrimSpace(in.Channel))
	in.Direction = strings.ToLower(strings.TrimSpace(in.Direction))
	in.Subject = strings.TrimSpace(in.Subject)
	in.Body = strings.TrimSpace(in.Body)
	if in.UserID == 0 {
		in.UserID = crm.UserIDFromContext(ctx)
	}

	var v crm.Validation
	switch {
	case in.Channel == "":
		v.Add("channel", "Choose a channel.")
	case !slices.Contains(crm.InteractionChannels, in.Channel):
		v.Add("channel", "Choose one of %s.", strings.Join(crm.InteractionChannels, ", "))
	}
	switch {
	case in.Direction == "":
		v.Add("direction", "Choose inbound or outbound.")
	case !slices.Contains(crm.Directions, in.Direction):
		v.Add("direction", "Choose inbound or outbound.")
	}
	if runeLen(in.Subject) > MaxSubjectLen {
		v.Add("subject", "Subject is longer than %d characters.", MaxSubjectLen)
	}
	if runeLen(in.Body) > MaxInteractionBodyLen {
		v.Add("body", "Text is longer than %d characters.", MaxInteractionBodyLen)
	}
	switch {
	case in.DurationSeconds < 0:
		v.Add("duration_seconds", "Duration must not be negative.")
	case time.Duration(in.DurationSeconds)*time.Second > MaxDuration:
		v.Add("duration_seconds", "Duration must be at most %d seconds.", int(MaxDuration/time.Second))
	}

	var userName string
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		now := tx.Now()
		if in.OccurredAt.IsZero() {
			in.OccurredAt = now
		} else if in.OccurredAt.After(now.Add(MaxFuture)) {
			v.Add("occurred_at", "Must not be more than a day in the future.")
		}
		if err := checkTargets(ctx, tx, &v, in.ContactID, in.CompanyID, true); err != nil {
			return err
		}
		if in.UserID != 0 {
			users, err := tx.UserRefs(ctx, []int64{in.UserID})
			if err != nil {
				return err
			}
			u, ok := users[in.UserID]
			if !ok {
				v.Add("user_id", "This user does not exist.")
			}
			userName = u.Name
		}
		if err := v.Err(); err != nil {
			return err
		}
		if err := tx.InsertInteraction(ctx, &in); err != nil {
			return err
		}
		p := InteractionPayload{
			InteractionID:   in.ID,
			Channel:         in.Channel,
			Direction:       in.Direction,
			Subject:         in.Subject,
			OccurredAt:      in.OccurredAt,
			DurationSeconds: in.DurationSeconds,
			UserID:          in.UserID,
			UserName:        userName,
		}
		p.Excerpt, p.Truncated = excerpt(in.Body, ExcerptLen)
		return emit(ctx, tx, crm.EventInteraction, "interaction", in.ID, in.ContactID, in.CompanyID, p)
	})
	if err != nil {
		return nil, err
	}
	return &in, nil
}

// FindInteraction returns one interaction.
func (s *Service) FindInteraction(ctx context.Context, id int64) (*crm.Interaction, error) {
	if err := crm.Authorize(ctx, crm.PermContactsRead, false); err != nil {
		return nil, err
	}
	var in *crm.Interaction
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		in, err = tx.FindInteraction(ctx, id)
		return err
	})
	return in, err
}
