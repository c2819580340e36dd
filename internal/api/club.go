package api

import (
	"net/http"
	"strings"

	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/crm"
)

// The customer club (internal/club): programs, tiers and earn rules,
// members with their points and history, adjustments, rewards and
// redemptions, coupons, referrals and reports. The routes exist when the
// API was given the club service.

func init() {
	moduleRoutes = append(moduleRoutes, clubRoutes)
	tagDescriptions["club"] = "The customer club: programs with their earn rate, return window, expiry and tier policy; tiers; earn rules; reports."
	tagDescriptions["club-members"] = "Club members: enrolment, member number and card code, balances (available, pending, reserved), the points ledger, adjustments, referrals."
	tagDescriptions["club-rewards"] = "The rewards catalogue and redemptions: reserve points, then capture (a voucher is issued) or cancel (the points come back)."
	tagDescriptions["club-coupons"] = "Coupons and vouchers: single codes and batches, validation and redemption with total and per-person limits."
	for k, v := range map[string]string{
		"ClubProgram":     "A loyalty program. earn_points points are earned per earn_amount minor units of currency (after the tier multiplier), rounded by rounding; points stay pending for pending_days (the return window) and expire expiry_months after the purchase (0: never). point_value minor units are what value_points points are worth (the liability in reports).",
		"ProgramInput":    "A program's settings. rounding: down, nearest or up; tier_window: calendar_year, jalali_year or rolling_12m; downgrade: never, window_end or after_days (with downgrade_days), grace_days keeping the tier after a failed review; signup opens the public join form /join/{id}.",
		"ProgramDetail":   "A program with its tiers (by threshold) and its earn rules (highest priority first).",
		"ClubTier":        "A tier: reached when the qualifying spend in the window reaches threshold (minor units); multiplier is in hundredths (200 = 2×) of the earn rate.",
		"TierInput":       "A tier: name, threshold (qualifying spend in minor units), multiplier in hundredths (100 to 100000), fee of a paid year (0: not for sale).",
		"ClubRule":        "An earn rule: multiplier (value in hundredths, adds value/100 − 1 times the base rate on what it matches), bonus (value points per order, or per unit of matching lines), first_purchase or birthday (value points). Rules apply highest priority first; stacking stop ends the evaluation after the rule applies.",
		"RuleInput":       "An earn rule. kind: multiplier, bonus, first_purchase, birthday; stacking: stack (default) or stop; sku or category narrow it to matching lines; tier_id to one tier's members; starts_at/ends_at to a period (by the order's time).",
		"ClubMember":      "A member: number (10 digits with a check digit) and card_code (16 digits, what the card's QR code carries), tier, and balances: available (may be negative by debt after a return took back spent points), pending (in the return window), reserved (for redemptions not yet captured).",
		"MemberRow":       "A member with the person's name.",
		"MemberDetail":    "A member with the person's name and language, the program, the tier they earn at, the next tier and the spend still needed, and points expiring soon.",
		"Enrolment":       "Make a person a member: program_id and the person, by contact_id or by customer (phone, email, first_name, last_name: found by phone, then email, or created), via (staff, web or api) and optionally the referral_code of the member who referred them.",
		"Enrolled":        "The new member and the token of their private page (/m/{token}), shown only here; new_person when the person was created by the enrolment.",
		"PaidTier":        "The tier (with a fee) to give a paid year in.",
		"ClubEntry":       "A ledger entry: points is the change of the member's total; available_delta, pending_delta and reserved_delta say which balances moved; spend is the change of qualifying spend. kind: earn, release, reserve, capture, cancel, expire, reverse, adjust, referral.",
		"Adjustment":      "A staff correction: points (positive adds, negative takes away, never below what is available) and the reason, which is required.",
		"ClubReward":      "A reward: gift_card (value), free_product (sku) or coupon (value or percent), its cost in points, stock (absent: unlimited), per_member_limit and valid_days of the voucher it issues.",
		"RewardInput":     "A reward of a program's catalogue.",
		"RedeemRequest":   "Redeem a reward for a member: the cost is reserved from available points; capture gives it at once.",
		"ClubRedemption":  "A redemption: reserved, then captured (coupon_code is the voucher issued) or cancelled (points back to their lots, stock returned).",
		"ClubCoupon":      "A coupon: percent, fixed (minor units of currency) or product (sku); min_spend; max_uses in all and per_member_limit per person (0: no limit); uses so far; member_id when it is one member's voucher.",
		"CouponInput":     "A coupon: without a code one is drawn.",
		"BatchInput":      "A batch of count unique codes (prefix + 8 characters) with the same terms.",
		"ClubCouponBatch": "A batch of codes made together.",
		"CouponCheck":     "A code to check or use on an amount in a currency, by a person (contact_id, needed for per-person limits and vouchers). reference (the order's source:external_id) makes a redemption safe to retry and links it to the order.",
		"CouponVerdict":   "Whether the code can be used now; reason when not (unknown, inactive, not_started, ended, currency, min_spend, used_up, member_limit, not_yours); the discount it gives.",
		"ClubCouponUse":   "One use of a coupon.",
		"ClubReferral":    "A member brought in by another; rewarded after the referee's first purchase clears the return window.",
		"Report":          "A program's report: points per month (issued, reversed, redeemed, expired, outstanding with its money value), members per tier, tier movements, top rewards, redemption rate (basis points) and coupon use.",
		"SweepResult":     "What a sweep did: lots released, expired, members reminded, tier reviews, reservations cancelled.",
		"LedgerCheck":     "The ledger invariants (problems) and the recomputation from orders and returns (differences); both empty when all is well.",
		"PageLink":        "A member's new private page: token and path. The old link stops working.",
		"MemberStatus":    "active or closed.",
		"CouponPatch":     "Switch a coupon on or off.",
	} {
		schemaDescriptions[k] = v
	}
}

func clubRoutes(a *API) []route {
	if a.club == nil {
		return nil
	}
	read, write, manage := crm.PermClubRead, crm.PermClubWrite, crm.PermSettingsManage
	return []route{
		{"GET /api/v1/club/programs", a.handleClubPrograms, op{ID: "listClubPrograms", Tag: "club", Perm: read, Paged: true,
			Summary: "List the club's programs", Out: list[*club.Program]{}}},
		{"POST /api/v1/club/programs", a.handleClubProgramCreate, op{ID: "createClubProgram", Tag: "club", Perm: manage, Status: http.StatusCreated,
			Summary: "Create a program", In: club.ProgramInput{}, Out: &club.Program{}}},
		{"GET /api/v1/club/programs/{id}", a.handleClubProgram, op{ID: "getClubProgram", Tag: "club", Perm: read,
			Summary: "Read a program with its tiers and rules", Out: &club.ProgramDetail{}}},
		{"PUT /api/v1/club/programs/{id}", a.handleClubProgramUpdate, op{ID: "updateClubProgram", Tag: "club", Perm: manage,
			Summary: "Change a program's settings; they apply from now on", In: club.ProgramInput{}, Out: &club.Program{}}},
		{"POST /api/v1/club/programs/{id}/tiers", a.handleClubTierCreate, op{ID: "createClubTier", Tag: "club", Perm: manage, Status: http.StatusCreated,
			Summary: "Add a tier to a program", In: club.TierInput{}, Out: &club.Tier{}}},
		{"PUT /api/v1/club/programs/{id}/tiers/{tier_id}", a.handleClubTierUpdate, op{ID: "updateClubTier", Tag: "club", Perm: manage,
			Summary: "Change a tier", In: club.TierInput{}, Out: &club.Tier{}}},
		{"DELETE /api/v1/club/programs/{id}/tiers/{tier_id}", a.handleClubTierDelete, op{ID: "deleteClubTier", Tag: "club", Perm: manage, Status: http.StatusNoContent,
			Summary: "Delete a tier; its members are placed again by their next purchase"}},
		{"POST /api/v1/club/programs/{id}/rules", a.handleClubRuleCreate, op{ID: "createClubRule", Tag: "club", Perm: manage, Status: http.StatusCreated,
			Summary: "Add an earn rule", In: club.RuleInput{}, Out: &club.Rule{}}},
		{"PUT /api/v1/club/programs/{id}/rules/{rule_id}", a.handleClubRuleUpdate, op{ID: "updateClubRule", Tag: "club", Perm: manage,
			Summary: "Change an earn rule", In: club.RuleInput{}, Out: &club.Rule{}}},
		{"DELETE /api/v1/club/programs/{id}/rules/{rule_id}", a.handleClubRuleDelete, op{ID: "deleteClubRule", Tag: "club", Perm: manage, Status: http.StatusNoContent,
			Summary: "Delete an earn rule"}},
		{"GET /api/v1/club/programs/{id}/report", a.handleClubReport, op{ID: "getClubReport", Tag: "club", Perm: crm.PermReportsRead,
			Summary: "A program's report: points per month, liability, tiers, movements, rewards, coupons", Out: &club.Report{}}},
		{"POST /api/v1/club/sweep", a.handleClubSweep, op{ID: "runClubSweep", Tag: "club", Perm: write,
			Summary: "Work what is due now: releases, expiry, reminders, tier reviews, held reservations", Out: club.SweepResult{},
			Description: "The sweep also runs by itself as a job whenever something falls due; this runs it at once."}},
		{"GET /api/v1/club/check", a.handleClubCheck, op{ID: "checkClubLedger", Tag: "club", Perm: read,
			Summary: "Check the ledger's invariants and recompute it from orders and returns", Out: ledgerCheck{}}},

		{"POST /api/v1/club/members", a.handleClubEnrol, op{ID: "enrolClubMember", Tag: "club-members", Perm: write, Status: http.StatusCreated,
			Summary: "Enrol a person in a program", In: club.Enrolment{}, Out: &club.Enrolled{},
			Description: "Draws a member number, a card code, a referral code and the private page's token (returned only here). A person already a member of the program is a conflict."}},
		{"GET /api/v1/club/members", a.handleClubMembers, op{ID: "listClubMembers", Tag: "club-members", Perm: read, Paged: true, Query: clubMemberParams,
			Summary: "List members, newest first", Out: list[club.MemberRow]{}}},
		{"GET /api/v1/club/members/{id}", a.handleClubMember, op{ID: "getClubMember", Tag: "club-members", Perm: read,
			Summary: "Read a member with balances, tier progress and points expiring soon", Out: &club.MemberDetail{}}},
		{"GET /api/v1/club/member-numbers/{number}", a.handleClubMemberByNumber, op{ID: "findClubMember", Tag: "club-members", Perm: read,
			Summary: "Find a member by member number or card code (spaces, dashes, Persian digits accepted)", Out: &club.MemberDetail{}}},
		{"GET /api/v1/club/members/{id}/history", a.handleClubHistory, op{ID: "listClubMemberHistory", Tag: "club-members", Perm: read, Paged: true,
			Summary: "A member's points ledger, newest first", Out: list[*club.Entry]{}}},
		{"POST /api/v1/club/members/{id}/adjustments", a.handleClubAdjust, op{ID: "adjustClubMember", Tag: "club-members", Perm: write,
			Summary: "Correct a member's available points, with a reason (audited)", In: club.Adjustment{}, Out: &club.Member{}}},
		{"POST /api/v1/club/members/{id}/page-link", a.handleClubPageLink, op{ID: "newClubPageLink", Tag: "club-members", Perm: write,
			Summary: "Make a new private page link for a member; the old one stops working", Out: pageLink{}}},
		{"POST /api/v1/club/members/{id}/card", a.handleClubNewCard, op{ID: "newClubCard", Tag: "club-members", Perm: write,
			Summary: "Give a member a new card code (a lost card); the old one stops working", Out: &club.Member{}}},
		{"PUT /api/v1/club/members/{id}/status", a.handleClubStatus, op{ID: "setClubMemberStatus", Tag: "club-members", Perm: write,
			Summary: "Close or reopen a membership", In: memberStatus{}, Out: &club.Member{}}},
		{"POST /api/v1/club/members/{id}/paid-tier", a.handleClubPaidTier, op{ID: "sellClubPaidTier", Tag: "club-members", Perm: write,
			Summary:     "Give a member a paid year in a tier that has a fee",
			Description: "From now, or from the end of the year already paid for the same tier. The member earns at the higher of the tier they qualify for and the paid one until paid_until. The fee is taken at the till (record it as an order to count it as a sale).",
			In:          paidTier{}, Out: &club.Member{}}},
		{"GET /api/v1/club/members/{id}/referrals", a.handleClubReferrals, op{ID: "listClubReferrals", Tag: "club-members", Perm: read, Paged: true,
			Summary: "The members this member referred", Out: list[club.Referral]{}}},
		{"GET /api/v1/contacts/{id}/club", a.handleContactMemberships, op{ID: "listContactMemberships", Tag: "club-members", Perm: read, Paged: true,
			Summary: "A person's club memberships", Out: list[*club.Member]{}}},

		{"GET /api/v1/club/rewards", a.handleClubRewards, op{ID: "listClubRewards", Tag: "club-rewards", Perm: read, Paged: true,
			Query:   []param{{Name: "program_id", Type: "integer", Description: "Only this program's rewards."}, {Name: "active", Type: "boolean", Description: "Only rewards that can be redeemed."}},
			Summary: "The rewards catalogue, cheapest first", Out: list[*club.Reward]{}}},
		{"POST /api/v1/club/rewards", a.handleClubRewardCreate, op{ID: "createClubReward", Tag: "club-rewards", Perm: write, Status: http.StatusCreated,
			Summary: "Add a reward to a program's catalogue", In: club.RewardInput{}, Out: &club.Reward{}}},
		{"GET /api/v1/club/rewards/{id}", a.handleClubReward, op{ID: "getClubReward", Tag: "club-rewards", Perm: read,
			Summary: "Read a reward", Out: &club.Reward{}}},
		{"PUT /api/v1/club/rewards/{id}", a.handleClubRewardUpdate, op{ID: "updateClubReward", Tag: "club-rewards", Perm: write,
			Summary: "Change a reward", In: club.RewardInput{}, Out: &club.Reward{}}},
		{"POST /api/v1/club/redemptions", a.handleClubRedeem, op{ID: "redeemClubReward", Tag: "club-rewards", Perm: write, Status: http.StatusCreated,
			Summary: "Reserve (and with capture, give) a reward for a member", In: club.RedeemRequest{}, Out: &club.Redemption{},
			Description: "Concurrent redemptions are safe: with balance B and cost X exactly ⌊B/X⌋ succeed. Not enough points, no stock or the per-member limit reached is a conflict (409)."}},
		{"GET /api/v1/club/redemptions", a.handleClubRedemptions, op{ID: "listClubRedemptions", Tag: "club-rewards", Perm: read, Paged: true, Query: clubRedemptionParams,
			Summary: "List redemptions, newest first", Out: list[*club.Redemption]{}}},
		{"GET /api/v1/club/redemptions/{id}", a.handleClubRedemption, op{ID: "getClubRedemption", Tag: "club-rewards", Perm: read,
			Summary: "Read a redemption", Out: &club.Redemption{}}},
		{"POST /api/v1/club/redemptions/{id}/capture", a.handleClubCapture, op{ID: "captureClubRedemption", Tag: "club-rewards", Perm: write,
			Summary: "Give a reserved reward: the points are spent and a voucher issued", Out: &club.Redemption{}}},
		{"POST /api/v1/club/redemptions/{id}/cancel", a.handleClubCancel, op{ID: "cancelClubRedemption", Tag: "club-rewards", Perm: write,
			Summary: "Cancel a reserved redemption: the points go back", Out: &club.Redemption{}}},

		{"GET /api/v1/club/coupons", a.handleClubCoupons, op{ID: "listClubCoupons", Tag: "club-coupons", Perm: read, Paged: true,
			Query: []param{{Name: "batch_id", Type: "integer", Description: "Only the codes of this batch."},
				{Name: "member_id", Type: "integer", Description: "Only this member's vouchers."}},
			Summary: "List coupons, newest first", Out: list[*club.Coupon]{}}},
		{"POST /api/v1/club/coupons", a.handleClubCouponCreate, op{ID: "createClubCoupon", Tag: "club-coupons", Perm: write, Status: http.StatusCreated,
			Summary: "Create a coupon", In: club.CouponInput{}, Out: &club.Coupon{}}},
		{"PATCH /api/v1/club/coupons/{id}", a.handleClubCouponPatch, op{ID: "updateClubCoupon", Tag: "club-coupons", Perm: write,
			Summary: "Switch a coupon on or off", In: couponPatch{}, Out: &club.Coupon{}}},
		{"GET /api/v1/club/coupon-batches", a.handleClubBatches, op{ID: "listClubCouponBatches", Tag: "club-coupons", Perm: read, Paged: true,
			Summary: "List coupon batches, newest first", Out: list[*club.CouponBatch]{}}},
		{"POST /api/v1/club/coupon-batches", a.handleClubBatchCreate, op{ID: "createClubCouponBatch", Tag: "club-coupons", Perm: write, Status: http.StatusCreated,
			Summary: "Create a batch of unique codes (all or none)", In: club.BatchInput{}, Out: &club.CouponBatch{}}},
		{"POST /api/v1/club/coupons/validate", a.handleClubCouponValidate, op{ID: "validateClubCoupon", Tag: "club-coupons", Perm: read,
			Summary: "Can this code be used now, and for what discount? (changes nothing)", In: club.CouponCheck{}, Out: &club.CouponVerdict{}}},
		{"POST /api/v1/club/coupons/redeem", a.handleClubCouponRedeem, op{ID: "redeemClubCoupon", Tag: "club-coupons", Perm: write, Status: http.StatusCreated,
			Summary: "Use a code", In: club.CouponCheck{}, Out: &club.CouponUse{},
			Description: "Safe under concurrency: a code with a limit of N is used at most N times, per person too. A refusal is a conflict (409) whose code field names the reason. The same reference again returns the first use."}},
	}
}

var clubMemberParams = []param{
	{Name: "program_id", Type: "integer", Description: "Only this program's members."},
	{Name: "tier_id", Type: "integer", Description: "Only members of this tier."},
	{Name: "status", Enum: []string{club.StatusActive, club.StatusClosed}, Description: "Only members in this state."},
	{Name: "q", Description: "A member number, card code or referral code."},
}

var clubRedemptionParams = []param{
	{Name: "member_id", Type: "integer", Description: "Only this member's redemptions."},
	{Name: "reward_id", Type: "integer", Description: "Only redemptions of this reward."},
	{Name: "status", Enum: []string{club.RedemptionReserved, club.RedemptionCaptured, club.RedemptionCancelled}, Description: "Only redemptions in this state."},
}

// ledgerCheck is the answer of GET /club/check.
type ledgerCheck struct {
	Problems    []string `json:"problems" openapi:"nonnull"`
	Differences []string `json:"differences" openapi:"nonnull"`
}

// pageLink is a member's new private page.
type pageLink struct {
	Token string `json:"token"`
	Path  string `json:"path"`
}

// paidTier is the body of POST /club/members/{id}/paid-tier.
type paidTier struct {
	TierID int64 `json:"tier_id"`
}

// memberStatus is the body of PUT /club/members/{id}/status.
type memberStatus struct {
	Status string `json:"status"`
}

// couponPatch is the body of PATCH /club/coupons/{id}.
type couponPatch struct {
	Active bool `json:"active"`
}

// clubAnswer writes v with status, or the error.
func (a *API) clubAnswer(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	a.writeJSON(w, r, status, v)
}

// clubIDs reads the path ids named.
func clubIDs(r *http.Request, names ...string) ([]int64, error) {
	out := make([]int64, len(names))
	for i, n := range names {
		id, err := pathID(r, n)
		if err != nil {
			return nil, err
		}
		out[i] = id
	}
	return out, nil
}

// clubPaged answers a complete list one page at a time.
func clubPaged[T any](a *API, w http.ResponseWriter, r *http.Request, items []T, err error, id func(T) int64) {
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	page, err := parsePage(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out, next, err := pageByID(items, id, page)
	if err != nil {
		a.writeError(w, r, crm.Errorf(crm.EINVALID, "The cursor is not valid."))
		return
	}
	writeList(a, w, r, out, next)
}

func (a *API) handleClubPrograms(w http.ResponseWriter, r *http.Request) {
	ps, err := a.club.Programs(r.Context())
	clubPaged(a, w, r, ps, err, func(p *club.Program) int64 { return p.ID })
}

func (a *API) handleClubProgramCreate(w http.ResponseWriter, r *http.Request) {
	var in club.ProgramInput
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	p, err := a.club.CreateProgram(r.Context(), in)
	a.clubAnswer(w, r, http.StatusCreated, p, err)
}

func (a *API) handleClubProgram(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	p, err := a.club.Program(r.Context(), id)
	a.clubAnswer(w, r, http.StatusOK, p, err)
}

func (a *API) handleClubProgramUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in club.ProgramInput
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	p, err := a.club.UpdateProgram(r.Context(), id, in)
	a.clubAnswer(w, r, http.StatusOK, p, err)
}

func (a *API) saveClubTier(w http.ResponseWriter, r *http.Request, status int, names ...string) {
	id, err := clubIDs(r, names...)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in club.TierInput
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	tierID := int64(0)
	if len(id) > 1 {
		tierID = id[1]
	}
	t, err := a.club.SaveTier(r.Context(), id[0], tierID, in)
	a.clubAnswer(w, r, status, t, err)
}

func (a *API) handleClubTierCreate(w http.ResponseWriter, r *http.Request) {
	a.saveClubTier(w, r, http.StatusCreated, "id")
}

func (a *API) handleClubTierUpdate(w http.ResponseWriter, r *http.Request) {
	a.saveClubTier(w, r, http.StatusOK, "id", "tier_id")
}

func (a *API) handleClubTierDelete(w http.ResponseWriter, r *http.Request) {
	id, err := clubIDs(r, "id", "tier_id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.clubAnswer(w, r, http.StatusNoContent, nil, a.club.DeleteTier(r.Context(), id[0], id[1]))
}

func (a *API) saveClubRule(w http.ResponseWriter, r *http.Request, status int, names ...string) {
	id, err := clubIDs(r, names...)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in club.RuleInput
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	ruleID := int64(0)
	if len(id) > 1 {
		ruleID = id[1]
	}
	rule, err := a.club.SaveRule(r.Context(), id[0], ruleID, in)
	a.clubAnswer(w, r, status, rule, err)
}

func (a *API) handleClubRuleCreate(w http.ResponseWriter, r *http.Request) {
	a.saveClubRule(w, r, http.StatusCreated, "id")
}

func (a *API) handleClubRuleUpdate(w http.ResponseWriter, r *http.Request) {
	a.saveClubRule(w, r, http.StatusOK, "id", "rule_id")
}

func (a *API) handleClubRuleDelete(w http.ResponseWriter, r *http.Request) {
	id, err := clubIDs(r, "id", "rule_id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.clubAnswer(w, r, http.StatusNoContent, nil, a.club.DeleteRule(r.Context(), id[0], id[1]))
}

func (a *API) handleClubReport(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	rep, err := a.club.Report(r.Context(), id)
	a.clubAnswer(w, r, http.StatusOK, rep, err)
}

func (a *API) handleClubSweep(w http.ResponseWriter, r *http.Request) {
	res, err := a.club.Sweep(r.Context())
	a.clubAnswer(w, r, http.StatusOK, res, err)
}

func (a *API) handleClubCheck(w http.ResponseWriter, r *http.Request) {
	out := ledgerCheck{Problems: []string{}, Differences: []string{}}
	probs, err := a.club.Check(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	diffs, err := a.club.Recompute(r.Context())
	out.Problems = append(out.Problems, probs...)
	out.Differences = append(out.Differences, diffs...)
	a.clubAnswer(w, r, http.StatusOK, out, err)
}

func (a *API) handleClubEnrol(w http.ResponseWriter, r *http.Request) {
	var in club.Enrolment
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	if in.Via == "" {
		in.Via = club.ViaAPI
	}
	res, err := a.club.Enrol(r.Context(), in)
	a.clubAnswer(w, r, http.StatusCreated, res, err)
}

func (a *API) handleClubMembers(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	page := readPage(r, &v)
	f := club.MemberFilter{ProgramID: queryInt64(r, "program_id", &v), TierID: queryInt64(r, "tier_id", &v),
		Query: r.URL.Query().Get("q"), Status: r.URL.Query().Get("status"), Limit: page.Limit, After: page.After}
	if f.Status != "" && f.Status != club.StatusActive && f.Status != club.StatusClosed {
		v.Add("status", "Choose active or closed.")
	}
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	ms, next, err := a.club.Members(r.Context(), f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, ms, next)
}

func (a *API) handleClubMember(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	d, err := a.club.Member(r.Context(), id)
	a.clubAnswer(w, r, http.StatusOK, d, err)
}

func (a *API) handleClubMemberByNumber(w http.ResponseWriter, r *http.Request) {
	d, err := a.club.MemberByNumber(r.Context(), r.PathValue("number"))
	a.clubAnswer(w, r, http.StatusOK, d, err)
}

func (a *API) handleClubHistory(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	page, err := parsePage(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	es, next, err := a.club.History(r.Context(), id, page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, es, next)
}

func (a *API) handleClubAdjust(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in club.Adjustment
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	m, err := a.club.Adjust(r.Context(), id, in)
	a.clubAnswer(w, r, http.StatusOK, m, err)
}

func (a *API) handleClubPageLink(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	token, err := a.club.NewPageLink(r.Context(), id)
	a.clubAnswer(w, r, http.StatusOK, pageLink{Token: token, Path: "/m/" + token}, err)
}

func (a *API) handleClubNewCard(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	m, err := a.club.NewCard(r.Context(), id)
	a.clubAnswer(w, r, http.StatusOK, m, err)
}

func (a *API) handleClubStatus(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in memberStatus
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	m, err := a.club.SetStatus(r.Context(), id, strings.TrimSpace(in.Status))
	a.clubAnswer(w, r, http.StatusOK, m, err)
}

func (a *API) handleClubPaidTier(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in paidTier
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	m, err := a.club.SellPaidTier(r.Context(), id, in.TierID)
	a.clubAnswer(w, r, http.StatusOK, m, err)
}

func (a *API) handleClubReferrals(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	rs, err := a.club.Referrals(r.Context(), id)
	clubPaged(a, w, r, rs, err, func(x club.Referral) int64 { return x.RefereeID })
}

func (a *API) handleContactMemberships(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	ms, err := a.club.MembersOfContact(r.Context(), id)
	clubPaged(a, w, r, ms, err, func(m *club.Member) int64 { return m.ID })
}

func (a *API) handleClubRewards(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	program := queryInt64(r, "program_id", &v)
	active := false
	switch r.URL.Query().Get("active") {
	case "", "false":
	case "true":
		active = true
	default:
		v.Add("active", "Use true or false.")
	}
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	rs, err := a.club.Rewards(r.Context(), program, active)
	clubPaged(a, w, r, rs, err, func(x *club.Reward) int64 { return x.ID })
}

func (a *API) handleClubRewardCreate(w http.ResponseWriter, r *http.Request) {
	var in club.RewardInput
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	rw, err := a.club.CreateReward(r.Context(), in)
	a.clubAnswer(w, r, http.StatusCreated, rw, err)
}

func (a *API) handleClubReward(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	rw, err := a.club.Reward(r.Context(), id)
	a.clubAnswer(w, r, http.StatusOK, rw, err)
}

func (a *API) handleClubRewardUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in club.RewardInput
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	rw, err := a.club.UpdateReward(r.Context(), id, in)
	a.clubAnswer(w, r, http.StatusOK, rw, err)
}

func (a *API) handleClubRedeem(w http.ResponseWriter, r *http.Request) {
	var in club.RedeemRequest
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	d, err := a.club.Redeem(r.Context(), in)
	a.clubAnswer(w, r, http.StatusCreated, d, err)
}

func (a *API) handleClubRedemptions(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	page := readPage(r, &v)
	f := club.RedemptionFilter{MemberID: queryInt64(r, "member_id", &v), RewardID: queryInt64(r, "reward_id", &v),
		Status: r.URL.Query().Get("status"), Limit: page.Limit, After: page.After}
	switch f.Status {
	case "", club.RedemptionReserved, club.RedemptionCaptured, club.RedemptionCancelled:
	default:
		v.Add("status", "Choose reserved, captured or cancelled.")
	}
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	ds, next, err := a.club.Redemptions(r.Context(), f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, ds, next)
}

func (a *API) handleClubRedemption(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	d, err := a.club.Redemption(r.Context(), id)
	a.clubAnswer(w, r, http.StatusOK, d, err)
}

func (a *API) handleClubCapture(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	d, err := a.club.Capture(r.Context(), id)
	a.clubAnswer(w, r, http.StatusOK, d, err)
}

func (a *API) handleClubCancel(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	d, err := a.club.Cancel(r.Context(), id)
	a.clubAnswer(w, r, http.StatusOK, d, err)
}

func (a *API) handleClubCoupons(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	page := readPage(r, &v)
	f := club.CouponFilter{BatchID: queryInt64(r, "batch_id", &v), MemberID: queryInt64(r, "member_id", &v), Limit: page.Limit, After: page.After}
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	cs, next, err := a.club.Coupons(r.Context(), f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, cs, next)
}

func (a *API) handleClubCouponCreate(w http.ResponseWriter, r *http.Request) {
	var in club.CouponInput
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	c, err := a.club.CreateCoupon(r.Context(), in)
	a.clubAnswer(w, r, http.StatusCreated, c, err)
}

func (a *API) handleClubCouponPatch(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in couponPatch
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	c, err := a.club.SetCouponActive(r.Context(), id, in.Active)
	a.clubAnswer(w, r, http.StatusOK, c, err)
}

func (a *API) handleClubBatches(w http.ResponseWriter, r *http.Request) {
	bs, err := a.club.Batches(r.Context())
	clubPaged(a, w, r, bs, err, func(b *club.CouponBatch) int64 { return b.ID })
}

func (a *API) handleClubBatchCreate(w http.ResponseWriter, r *http.Request) {
	var in club.BatchInput
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	b, err := a.club.CreateBatch(r.Context(), in)
	a.clubAnswer(w, r, http.StatusCreated, b, err)
}

func (a *API) handleClubCouponValidate(w http.ResponseWriter, r *http.Request) {
	var in club.CouponCheck
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	v, err := a.club.ValidateCoupon(r.Context(), in)
	a.clubAnswer(w, r, http.StatusOK, v, err)
}

func (a *API) handleClubCouponRedeem(w http.ResponseWriter, r *http.Request) {
	var in club.CouponCheck
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	u, err := a.club.RedeemCoupon(r.Context(), in)
	a.clubAnswer(w, r, http.StatusCreated, u, err)
}
